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
#: The pages docs/dashboard.md shows, as the browser tests name their screenshots. A new
#: page adds its name here and a ``shots(page, NAME)`` call in its browser test.
PAGES = (
    "signin",
    "portfolio",
    "system",
    "system-killed",
    "system-monitoring",
    "approvals",
    "audit",
    "incidents",
    "incident",
    "drills",
    "kpis",
    "api-docs",
)


def main() -> int:
    """Run the browser tests with screenshots going to docs/images."""
    images = ROOT / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CHARTER_SCREENSHOTS": str(images)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["tests/web/test_browser.py"]
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if done.returncode != 0:
        return done.returncode
    missing = [name for name in PAGES if not (images / f"console-{name}.png").exists()]
    for name in PAGES:
        print(f"docs/images/console-{name}.png")
    if missing:
        print(f"no screenshot taken of: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
