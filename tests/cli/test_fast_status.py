"""`charter status --format json` without the ORM prints what the status operation returns.

The fast path (:mod:`charter.cli.fast_status`) reads the database with its DB-API driver;
the operation runs the same read-model on a SQLAlchemy session. On a seeded portfolio
(approvals, an expiring exception, a killed system with an open alert, an incident, an
attestation of an unapproved configuration, an active canary) both must give the same JSON, byte for byte,
on SQLite and PostgreSQL; and whatever the fast path cannot vouch for falls back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli_runner import Cli
from tests.web.seed import approval, manifest, seed

from charter.cli import fast_status
from charter.cli.status_text import COLUMNS
from charter.services import attestation, decisions, deployments, incidents, releases
from charter.services.context import Charter
from charter.services.operations import find
from charter.store.db import Database


def _status_of_the_operation(charter: Charter, token: str) -> str:
    """What LocalBackend (and so the API and the remote CLI) returns for ``status``."""
    with charter.act(token, write=False) as ctx:
        view = find("status").function(ctx)
        return json.dumps(view.model_dump(mode="json", by_alias=True))


@pytest.fixture
def seeded(db: Database) -> tuple[Charter, dict[str, str]]:
    """The console's seeded portfolio (real clock), plus an incident, attestations and a
    canary of the forecast's next release on a tenth of the traffic."""
    charter = Charter(db)
    tokens = seed(charter).tokens
    with charter.act(tokens["rita"], write=True) as ctx:
        incidents.open_incident(ctx, "support-assistant", "prod", "Slow answers")
    with charter.act(tokens["admin"], write=True) as ctx:
        attestation.attest(ctx, "churn-forecast", "prod", "0" * 64, "worker-1")
    with charter.act(tokens["dev"], write=True) as ctx:
        churn, _ = releases.create_release(
            ctx, "churn-forecast", manifest("v13", "churn-arima-2"), base_dir=None
        )
    candidate = f"churn-forecast@{churn.digest}"
    with charter.act(tokens["bob"], write=True) as ctx:
        decisions.decide(ctx, candidate, approval(use_case="retention planning", fallback=None))
    with charter.act(tokens["dev"], write=True) as ctx:
        deployments.deploy(ctx, candidate, "prod", canary=0.1, reason="a tenth first")
    return charter, tokens


def test_the_fast_path_prints_the_operations_json(seeded, database_url: str) -> None:
    charter, tokens = seeded
    for user in ("admin", "ann"):
        expected = _status_of_the_operation(charter, tokens[user])
        systems = fast_status.read_status(database_url, tokens[user])
        assert systems is not None, "the fast path fell back on a plain local database"
        assert json.dumps({"systems": systems}) == expected
    data = json.loads(expected)
    # The comparison covers what the seed was built for (else it compares little).
    flags = [f for s in data["systems"] for e in s["environments"] for f in e["flags"]]
    assert "killed: serving the fallback" in flags
    assert "unapproved configuration live" in flags
    assert any("open incident" in f for f in flags)
    assert any(s["open_exceptions"] for s in data["systems"])
    assert any(e["valid_until"] for s in data["systems"] for e in s["environments"])
    rollouts = [e["rollout"] for s in data["systems"] for e in s["environments"] if e["rollout"]]
    assert [(r["kind"], r["share"]) for r in rollouts] == [("canary", 0.1)]
    assert any(f.startswith("canary: 10% to churn-forecast@") for f in flags)


def test_what_the_fast_path_cannot_vouch_for_falls_back(seeded, database_url: str) -> None:
    charter, tokens = seeded
    assert fast_status.read_status(database_url, "chtr_not-a-token") is None
    with charter.db.transaction(write=True) as session:
        session.connection().exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    assert fast_status.read_status(database_url, tokens["admin"]) is None
    assert fast_status.read_status("sqlite:///does-not-exist.db", tokens["admin"]) is None


def test_only_plain_status_takes_the_fast_path(monkeypatch, tmp_path: Path) -> None:
    assert fast_status.requested(["status", "--format", "json"])
    assert fast_status.requested(["status", "--format=json"])
    assert fast_status.requested(["status"])
    assert fast_status.requested(["status", "--format", "text"])
    assert not fast_status.requested(["status", "--format", "json", "--help"])
    assert not fast_status.requested(["status", "--format", "yaml"])
    # A server configured: the remote backend answers, never the local file.
    monkeypatch.setenv("CHARTER_HOME", str(tmp_path))
    monkeypatch.setenv("CHARTER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CHARTER_TOKEN", "chtr_x")
    assert fast_status.run(["status", "--format", "json"]) is None


def test_the_command_prints_the_same_either_way(
    seeded, database_url: str, tmp_path: Path, monkeypatch
) -> None:
    """The whole command (settings, backend, rendering): fast, then the ordinary way."""
    _, tokens = seeded
    cli = Cli(tmp_path / "home", database_url)
    fast = cli("status", "--format", "json", token=tokens["ann"]).stdout
    monkeypatch.setattr(fast_status, "run", lambda argv: None)
    ordinary = cli("status", "--format", "json", token=tokens["ann"]).stdout
    assert fast == ordinary
    assert len(json.loads(fast)["systems"]) == 5


def test_the_text_table_is_the_same_either_way(
    seeded, database_url: str, tmp_path: Path, monkeypatch
) -> None:
    """Text output: one fixed-width line per system and environment, from either path."""
    _, tokens = seeded
    cli = Cli(tmp_path / "home", database_url)
    data = json.loads(cli("status", "--format", "json", token=tokens["ann"]).stdout)
    fast = cli("status", token=tokens["ann"]).stdout
    monkeypatch.setattr(fast_status, "run", lambda argv: None)
    ordinary = cli("status", token=tokens["ann"]).stdout
    assert fast == ordinary
    lines = fast.splitlines()
    assert lines[0] == "Status"
    assert lines[1].split() == list(COLUMNS)
    assert set(lines[2]) == {"-", " "}
    expected = sum(max(1, len(s["environments"])) for s in data["systems"])
    assert len(lines) == 3 + expected
    # Columns line up: every cell starts where its header starts.
    starts = [lines[1].index(column) for column in COLUMNS]
    for line in lines[3:]:
        assert all(i == 0 or line[i - 2 : i] == "  " for i in starts if i < len(line))
    names = {line.split()[0] for line in lines[3:]}
    assert names == {s["name"] for s in data["systems"]}
    (churn,) = [line for line in lines[3:] if line.startswith("churn-forecast")]
    assert "canary: 10% to churn-forecast@" in churn
