"""`charter audit checkpoint` and `charter audit verify --checkpoints` as a user runs them."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from tests.cli_runner import run_charter
from tests.helpers import BACKEND, REPO

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="a local SQLite home")


def _charter(home: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env.update(CHARTER_HOME=str(home), PYTHONPATH=str(REPO / "src"), COLUMNS="200")
    done = run_charter(list(args), env)
    assert done.returncode == expect, (args, done.stdout, done.stderr)
    return done


def test_checkpoint_then_truncation_is_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sink = tmp_path / "sink" / "checkpoints.jsonl"
    sink.parent.mkdir()
    _charter(home, "init", "--no-policy")
    assert stat.S_IMODE((home / "audit.key").stat().st_mode) == 0o600
    _charter(home, "system", "register", "credit-limit", "--owner", "risk")
    written = json.loads(
        _charter(home, "audit", "checkpoint", "--sink", str(sink), "--format", "json").stdout
    )
    assert written["alg"] == "ed25519" and written["seq"] >= 2
    ok = _charter(home, "audit", "verify", "--checkpoints", str(sink))
    assert "OK" in ok.stdout and "1 anchor" in ok.stdout

    with sqlite3.connect(home / "charter.db") as conn:
        conn.execute("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)")
    # The chain alone is consistent; the state check names the row its last event recorded...
    assert "OK" in _charter(home, "audit", "verify", "--no-state").stdout
    state = _charter(home, "audit", "verify", expect=1).stdout
    assert "STATE DIFFERS" in state and "systems/1: no audit event recorded this row" in state
    # ...and the signed checkpoint names the truncation.
    caught = _charter(home, "audit", "verify", "--no-state", "--checkpoints", str(sink), expect=1)
    assert "the chain was truncated" in caught.stdout
    report = json.loads(
        _charter(
            home, "audit", "verify", "--checkpoints", str(sink), "--format", "json", expect=1
        ).stdout
    )
    assert report["ok"] is False and report["newest_checkpoint"]["seq"] == written["seq"]


def test_checkpoint_needs_a_sink(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _charter(home, "init")
    assert "no sink" in _charter(home, "audit", "checkpoint", expect=2).stderr
