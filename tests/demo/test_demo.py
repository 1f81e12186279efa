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


def test_the_assistant_was_served_through_the_sdk_over_http(demo_home, monkeypatch) -> None:
    """Its records arrived through the API: traces carry the SDK's process and attested
    digest, jailbreaks were blocked, personal data never reached the database, and the
    system page counts the guard's events and shows the live attestation."""
    import re
    import sqlite3

    from fastapi.testclient import TestClient

    from charter.api.app import create_app
    from charter.demo import assistant
    from charter.services.context import Charter
    from charter.store.db import Database

    home, tokens = demo_home
    prompts = assistant.traffic(assistant.REQUESTS + assistant.MORNING, seed=5)
    with sqlite3.connect(home / "charter.db") as db:
        traces = {
            row[0]: row[1:]
            for row in db.execute(
                "select t.inference_id, t.served, t.process_id, t.attested_digest, t.guard,"
                " t.record from inference_traces t join systems s on s.id = t.system_id"
                " where s.name = 'support-assistant'"
            )
        }
        indexed = db.execute(
            "select count(*) from inference_index i join systems s on s.id = i.system_id"
            " where s.name = 'support-assistant' and i.labelled"
        ).fetchone()[0]
        digest = db.execute(
            "select r.digest from releases r join systems s on s.id = r.system_id"
            " where s.name = 'support-assistant'"
        ).fetchone()[0]
    # One trace per request, under the ids the demo gave the SDK, from one SDK process
    # attesting the approved release's digest; every record got its late label.
    assert set(traces) == {f"chat-{i}" for i in range(len(prompts))}
    assert len({t[1] for t in traces.values()}) == 1
    assert {t[2] for t in traces.values()} == {digest}
    assert indexed == len(prompts)
    # The jailbreaks from the attack set were blocked at the input (the guard's recall on
    # the held-out set is about 0.9) and got no answer; no ordinary question was blocked.
    attacks = {i for i, p in enumerate(prompts) if p in set(assistant.attack_texts())}
    blocked_attacks = [i for i in attacks if traces[f"chat-{i}"][0] == "blocked"]
    assert len(attacks) > 20 and len(blocked_attacks) >= 0.8 * len(attacks)
    for i in blocked_attacks:
        _, _, _, guard, record = traces[f"chat-{i}"]
        assert json.loads(guard)["input"]["blocked"] is True
        assert "output" not in json.loads(record)
    questions = [i for i, p in enumerate(prompts) if p in assistant.QUESTIONS]
    assert questions and all(traces[f"chat-{i}"][0] == "release" for i in questions)
    # The card number and the e-mail address were redacted before anything was logged.
    card = next(i for i, p in enumerate(prompts) if "4111 1111 1111 1111" in p)
    assert "[CREDIT_CARD]" in json.loads(traces[f"chat-{card}"][4])["input"]
    stored = b"".join(p.read_bytes() for p in home.glob("charter.db*"))
    for secret in ("4111 1111 1111 1111", "sam.okafor@example.net", "GB82 WEST 1234"):
        assert any(secret in p for p in prompts)
        assert secret.encode() not in stored, secret
    # The console's page counts the guard's events and shows the live attestation.
    monkeypatch.setenv("CHARTER_SESSION_KEY", "k" * 40)
    app = create_app(Charter(Database(f"sqlite:///{home / 'charter.db'}")))
    with TestClient(app) as client:
        form = client.get("/signin").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        client.post("/signin", data={"token": tokens["rita"], "csrf_token": csrf, "next": "/"})
        page = client.get("/systems/support-assistant").text
    blocked = sum(t[0] == "blocked" for t in traces.values())
    redacted = sum(bool(json.loads(t[3])["input"].get("redacted_text")) for t in traces.values())
    assert blocked > 20 and redacted > 40
    assert f"<strong>{blocked}</strong> blocked at input" in page
    assert f"<strong>{redacted}</strong> with personal data redacted" in page
    assert "matches: 1 process(es)" in page
    assert f"{assistant.REQUESTS} rows" in page  # the day's window, closed on event time


def test_the_credit_risks_are_mitigated_by_controls_that_passed_not_by_waivers(
    demo_home,
) -> None:
    """The credit team's three risks: each mitigating control passed in the newest prod gate
    run, and the register itself was not waived (the demo waives what still fails)."""
    home, tokens = demo_home
    assessment = as_json(home, "risk", "assessment", "credit-limit", token=tokens["audrey"])[
        "assessment"
    ]
    assert len(assessment["risks"]) == 3
    for risk in assessment["risks"]:
        statuses = {e["control"]: e["status"] for e in risk["evidence"] if e["environment"]}
        assert statuses and set(statuses.values()) == {"pass"}, (risk["title"], statuses)
        assert risk["gaps"] == []
    waived = as_json(home, "exception", "list", "--system", "credit-limit", token=tokens["audrey"])[
        "items"
    ]
    assert waived and "risk-register" not in {x["control_id"] for x in waived}
