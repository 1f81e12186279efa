"""`charter card`, `evidence export|verify`, `kpis` and `report portfolio` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from tests.cli_runner import run_charter
from tests.services.documents.support import build_history


def run(env: dict[str, str], *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    result = run_charter(list(args), env)
    assert result.returncode == expect, (args, result.returncode, result.stdout, result.stderr)
    return result


@pytest.fixture
def world(charter, act, clock, tokens, database_url, tmp_path):
    refs = build_history(charter, act, clock, tokens, days=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env.update(
        CHARTER_HOME=str(tmp_path / "home"),
        CHARTER_DATABASE_URL=database_url,
        COLUMNS="200",
        CHARTER_TOKEN=tokens["auditor"],
    )
    return env, refs, tokens


def test_documents_from_the_command_line(world, tmp_path: Path) -> None:
    env, refs, tokens = world
    assert "System card: credit-limit@" in run(env, "card", "credit-limit").stdout
    run(env, "card", "credit-limit", "--format", "pdf", "--out", str(tmp_path / "card.pdf"))
    assert (tmp_path / "card.pdf").read_bytes().startswith(b"%PDF")
    html = run(env, "card", "credit-limit", "--format", "html").stdout
    assert "<svg" in html
    wrong = run(env, "card", "help-desk", "--release", refs["v1"].split("@")[1], expect=2)
    assert "help-desk" in wrong.stderr

    pack = tmp_path / "pack.zip"
    out = run(env, "evidence", "export", "credit-limit", "--out", str(pack)).stdout
    assert "manifest sha256" in out
    assert "OK:" in run(env, "evidence", "verify", str(pack)).stdout
    # verify needs no database at all
    offline = {k: v for k, v in env.items() if k != "CHARTER_DATABASE_URL"}
    offline["CHARTER_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    run(offline, "evidence", "verify", str(pack))

    with zipfile.ZipFile(pack) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members["records/decisions.json"] = members["records/decisions.json"].replace(
        b"UK retail", b"UK retaik", 1
    )
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    failed = run(env, "evidence", "verify", str(tampered), expect=1).stdout
    assert "CHANGED: records/decisions.json" in failed
    (tmp_path / "broken.zip").write_bytes(pack.read_bytes()[: pack.stat().st_size // 2])
    assert (
        "REFUSED" in run(env, "evidence", "verify", str(tmp_path / "broken.zip"), expect=1).stdout
    )
    developer = dict(env, CHARTER_TOKEN=tokens["developer"])
    refused = run(
        developer,
        "evidence",
        "export",
        "credit-limit",
        "--out",
        str(tmp_path / "dev.zip"),
        expect=2,
    )
    assert "audit.read" in refused.stderr and not (tmp_path / "dev.zip").exists()

    data = json.loads(run(env, "kpis", "--period", "2026Q4", "--format", "json").stdout)
    assert {k["id"] for k in data["kpis"]} >= {"inventory_coverage", "mttd"}
    assert "unknown period" in run(env, "kpis", "--period", "soon", expect=2).stderr
    text = run(env, "kpis", "--period", "2026Q4").stdout
    assert "no incident" in text
    run(env, "report", "portfolio", "--period", "2026Q4", "--out", str(tmp_path / "r.html"))
    assert "Risk status by system" in (tmp_path / "r.html").read_text()
