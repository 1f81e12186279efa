"""`charter demo --no-serve` from a real CLI process: the portfolio it builds, read back
through the CLI as a visitor would, and a home it did not create left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def charter(home: Path, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env["CHARTER_HOME"] = str(home)
    if token:
        env["CHARTER_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "charter", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    home = tmp_path_factory.mktemp("demo") / "home"
    done = charter(home, "demo", "--home", str(home), "--no-serve")
    assert done.returncode == 0, done.stderr
    tokens = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("chtr_"):
            tokens[parts[0]] = parts[1]
    assert {"admin", "rita", "avery", "dana", "audrey"} <= set(tokens)
    return home, tokens


def as_json(home: Path, *args: str, token: str | None = None) -> dict:
    done = charter(home, *args, "--format", "json", token=token)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_portfolio_spans_every_tier_and_states(demo_home) -> None:
    home, _ = demo_home
    systems = {s["name"]: s for s in as_json(home, "status")["systems"]}
    assert {s["tier"] for s in systems.values()} >= {"high", "limited", "minimal"}
    # A prohibited practice is refused at intake: the system does not exist.
    assert "customer-score" not in systems
    assert systems["credit-limit"]["tier"] == "high"
    prod = {e["environment"]: e for e in systems["credit-limit"]["environments"]}["prod"]
    assert prod["state"] == "serving" and prod["approval"] == "approved"
    fraud = {e["environment"]: e for e in systems["fraud-screening"]["environments"]}["prod"]
    assert fraud["state"] == "killed"
    assert systems["cv-screener"]["environments"] == []
    # Two approvers and the independent validator (a material model), none the author.
    decisions = as_json(home, "decisions", "credit-limit")["items"]
    approvers = {d["actor"]: d["actor_role"] for d in decisions if d["verdict"] == "approve"}
    assert approvers == {"avery": "approver", "blake": "approver", "rita": "risk_engineer"}


def test_the_car_loan_replay_flags_drift_and_the_accuracy_drop(demo_home) -> None:
    home, _ = demo_home
    alerts = as_json(home, "alerts", "--open", "--system", "car-loan-approval")["items"]
    subjects = {(a["monitor"], a["subject"]) for a in alerts}
    assert ("performance", "accuracy") in subjects
    assert ("drift", "car_value") in subjects
    # The alerts open after a streak of breaching windows (hysteresis).
    assert all(a["breach_started_at"] < a["opened_at"] for a in alerts)
    # The policy's automatic intervention: no previous release to roll back to, so the
    # system is killed to its fallback, and an incident records when it was detected.
    route = as_json(home, "route", "car-loan-approval", "--env", "prod")
    assert route["state"] == "killed" and "automatic" in route["reason"]
    incidents = as_json(home, "incident", "list", "--system", "car-loan-approval")["items"]
    assert incidents and all(i["mttd_seconds"] > 0 for i in incidents)


def test_the_assistant_guard_blocked_attacks_and_the_chain_verifies(demo_home) -> None:
    home, tokens = demo_home
    evidence = as_json(home, "evidence", "list", "support-assistant")["items"]
    assert [e["suite"] for e in evidence] == ["guardrails"]
    assert evidence[0]["passed"]
    verified = as_json(home, "audit", "verify", token=tokens["audrey"])
    assert verified["ok"]


def test_a_home_the_demo_did_not_create_is_left_alone(tmp_path: Path) -> None:
    precious = tmp_path / "real"
    precious.mkdir()
    (precious / "charter.db").write_bytes(b"someone's data")
    done = charter(precious, "demo", "--home", str(precious), "--no-serve")
    assert done.returncode == 2
    assert "did not create" in done.stderr
    assert (precious / "charter.db").read_bytes() == b"someone's data"
