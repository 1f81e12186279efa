"""Take the console's screenshots for the docs (docs/images/console-*.png).

    python scripts/screenshots.py            # or: make screenshots

The screenshots come from the browser tests themselves (tests/web/test_browser.py), run
against a real server with the seeded portfolio; CHARTER_SCREENSHOTS tells them where to
write copies. Needs Debian's chromium (`make install` installs it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Run the browser tests with screenshots going to docs/images."""
    images = ROOT / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CHARTER_SCREENSHOTS": str(images)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["tests/web/test_browser.py"]
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if done.returncode == 0:
        for path in sorted(images.glob("console-*.png")):
            print(path.relative_to(ROOT))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
