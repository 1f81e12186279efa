"""Meta-tests on the codebase: module size, the generated CLI reference."""

from __future__ import annotations

import re
from pathlib import Path

from charter.cli.reference import BEGIN, END, generated

REPO = Path(__file__).resolve().parents[1]
LIMIT = 600
#: A module over the limit says, near its top, why it must stay whole.
STAYS_WHOLE = re.compile(r"^#\s*(stays|kept) whole\b.{20,}", re.IGNORECASE | re.MULTILINE)


def test_modules_hold_one_idea() -> None:
    long = []
    for path in sorted((REPO / "src").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        head = "\n".join(lines[:40])
        if len(lines) > LIMIT and not STAYS_WHOLE.search(head):
            long.append(f"{path.relative_to(REPO)} ({len(lines)} lines)")
    assert not long, (
        f"modules over {LIMIT} lines without a '# Stays whole: <why>' comment at the top: "
        + ", ".join(long)
    )


def test_the_cli_reference_is_current() -> None:
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert BEGIN in page and END in page
    committed = BEGIN + page.split(BEGIN, 1)[1].split(END, 1)[0] + END
    assert committed == generated(), "docs/cli.md is stale: run `python -m charter.cli.reference`"
