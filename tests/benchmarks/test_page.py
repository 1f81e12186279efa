"""docs/benchmarks.md names only files that exist, and every benchmark has its section."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "benchmarks.md"


def test_every_path_and_link_on_the_page_exists() -> None:
    text = PAGE.read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:benchmarks|tests|docs)/[\w./-]+)`", text))
    links = {m for m in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text) if "://" not in m}
    assert paths, "the page names the scripts that produce its figures"
    missing = sorted(p for p in paths if not (REPO / p.rstrip("/")).exists())
    missing += sorted(link for link in links if not (PAGE.parent / link).exists())
    assert missing == []


def test_every_benchmark_folder_has_a_run_script_and_a_place_on_the_page() -> None:
    text = PAGE.read_text(encoding="utf-8")
    folders = sorted(
        p.name for p in (REPO / "benchmarks").iterdir() if (p / "__init__.py").is_file()
    )
    assert "spine" in folders
    for name in folders:
        assert f"`benchmarks/{name}/" in text, name
        if name != "experiments":
            assert (REPO / "benchmarks" / name / "run.py").is_file(), name
