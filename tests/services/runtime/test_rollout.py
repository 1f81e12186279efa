"""Safe rollout at the service layer: refusals write nothing, promotion goes through the gate
and is audited, the pack's period is performed (rows and windows that exist), a rollback
aborts the rollout and a kill overrides it."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import FakeClock

from charter.domain.errors import BadInput, Conflict, Forbidden
from charter.domain.releases import parse_manifest
from charter.services import audit, deployments, ingest, policies, releases, rollouts
from charter.services import shadow as shadow_service
from charter.services.worker import run_once
from charter.store.models import AuditEvent, Deployment, GateRun, Rollout
from charter.store.monitoring_models import MonitorWindow, ShadowObservation

from .support import register, release_from, write_release

REQUIREMENT = """
rollout:
  requirements:
    - {tiers: [high], environments: [prod], kinds: [canary, shadow],
       min_hours: 1, min_rows: 50, min_windows: 1}
"""


@pytest.fixture
def two(charter: Any, act: Any, system: str, tmp_path: Path) -> dict[str, str]:
    """credit-limit with r1 live in prod and r2 approved, not deployed."""
    live = release_from(charter, act, write_release(tmp_path / "r1"))
    candidate = release_from(charter, act, write_release(tmp_path / "r2", seed="2"), deploy=False)
    return {"live": live, "candidate": candidate}


def _counts(charter: Any) -> tuple[int, ...]:
    with charter.db.transaction(write=False) as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (Rollout, Deployment, GateRun, AuditEvent, ShadowObservation)
        )


def _actions(charter: Any) -> list[str]:
    with charter.db.transaction(write=False) as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_bad_input_is_refused_clearly_and_writes_nothing(
    charter: Any, act: Any, two: dict[str, str], tmp_path: Path
) -> None:
    register(act, "other-limit")
    with act("developer") as ctx:
        other, _ = releases.create_release(
            ctx,
            "other-limit",
            parse_manifest(write_release(tmp_path / "o", seed="o").read_bytes()),
            base_dir=tmp_path / "o",
        )
    before = _counts(charter)
    for share in (0, 1, 1.0, 1.5, -0.1, math.nan, math.inf, True):
        with act("developer") as ctx, pytest.raises(BadInput, match="canary share"):
            deployments.deploy(ctx, two["candidate"], "prod", canary=share)  # type: ignore[arg-type]
    with act("developer") as ctx, pytest.raises(BadInput, match="not both"):
        deployments.deploy(ctx, two["candidate"], "prod", canary=0.1, shadow=True)
    with act("developer") as ctx, pytest.raises(BadInput, match="releases of one system"):
        deployments.deploy(
            ctx, f"other-limit@{other.digest}", "prod", shadow=True, system="credit-limit"
        )
    with act("developer") as ctx, pytest.raises(Conflict, match="already the live release"):
        deployments.deploy(ctx, two["live"], "prod", shadow=True)
    with act("developer") as ctx, pytest.raises(Conflict, match="nothing of credit-limit"):
        deployments.deploy(ctx, two["candidate"], "staging", shadow=True)
    # Shadow records for a release that has no shadow rollout are refused whole.
    record = {"inference_id": "i1", "release": two["candidate"].split("@")[1], "live": {}}
    with act("service") as ctx, pytest.raises(BadInput, match="no shadow rollout"):
        shadow_service.ingest_shadow(ctx, "credit-limit", "prod", "s1", [record])
    # Promote or abort with nothing active.
    with act("developer") as ctx, pytest.raises(Conflict, match="no canary or shadow"):
        rollouts.promote(ctx, "credit-limit", "prod")
    assert _counts(charter) == before


def test_a_canary_is_promoted_through_the_gate_and_audited(
    charter: Any, act: Any, two: dict[str, str]
) -> None:
    with act("developer") as ctx:
        deployments.deploy(ctx, two["candidate"], "prod", canary=0.1, reason="ten percent")
    with act("service", write=False) as ctx:
        view = deployments.route_view(ctx, "credit-limit", "prod")
    assert view["rollout"]["kind"] == "canary" and view["rollout"]["share"] == 0.1
    assert view["rollout"]["release"] == two["candidate"]
    assert view["release"] == two["live"]  # the live release still takes the rest
    # One rollout at a time, and no plain deploy around it.
    with act("developer") as ctx, pytest.raises(Conflict, match="already active"):
        deployments.deploy(ctx, two["candidate"], "prod", shadow=True)
    with act("developer") as ctx, pytest.raises(Conflict, match="promote or abort"):
        deployments.deploy(ctx, two["candidate"], "prod")
    # The kill switch overrides the canary; resuming brings it back.
    with act("developer") as ctx:
        deployments.kill(ctx, "credit-limit", "prod", reason="drill")
        assert deployments.route_view(ctx, "credit-limit", "prod")["rollout"] is None
        with pytest.raises(Conflict, match="resume it before promoting"):
            rollouts.promote(ctx, "credit-limit", "prod")
    with act("developer") as ctx:
        deployments.resume(ctx, "credit-limit", "prod", reason="drill over")
        assert deployments.route_view(ctx, "credit-limit", "prod")["rollout"] is not None
    runs_before = _counts(charter)[2]
    with act("developer") as ctx:
        route = rollouts.promote(ctx, "credit-limit", "prod", reason="canary clean")
    assert route.release.digest == two["candidate"].split("@")[1]
    assert route.previous_release is not None
    assert route.previous_release.digest == two["live"].split("@")[1]
    assert _counts(charter)[2] == runs_before + 1  # the gate was evaluated again and stored
    with act("risk_engineer", write=False) as ctx:
        shown = rollouts.rollout_view(ctx, "credit-limit", "prod")
        assert deployments.route_view(ctx, "credit-limit", "prod")["rollout"] is None
    assert shown["status"] == "promoted" and shown["ended_by"] == "developer"
    actions = _actions(charter)
    assert "deployment.canary" in actions and actions[-1] == "deployment.promote"
    # Every governed row the rollout wrote is covered by the audit chain (the fixtures'
    # evidence rows are written without the services, so they are not).
    with act("auditor", write=False) as ctx:
        report = audit.verify(ctx, workers=1)
    assert report.chain.ok and report.rows_checked
    ours = ("rollouts/", "deployments/", "routes/", "gate_runs/")
    assert [f for f in report.row_findings if f.row.startswith(ours)] == []


def test_the_policy_period_is_performed_before_promotion(
    charter: Any, act: Any, tokens: dict[str, str], two: dict[str, str], clock: FakeClock
) -> None:
    pack = policies.default_pack().decode().replace("rollout:\n  requirements: []\n", REQUIREMENT)
    with charter.act(tokens["admin"], write=True) as ctx:
        policies.apply_policy(ctx, pack.encode(), "rollout.yaml")
    with act("developer") as ctx, pytest.raises(Forbidden, match="requires a canary or shadow"):
        deployments.deploy(ctx, two["candidate"], "prod")
    with act("developer") as ctx:
        deployments.deploy(ctx, two["candidate"], "prod", canary=0.5)
    with act("developer") as ctx, pytest.raises(Forbidden, match="promotion refused") as refused:
        rollouts.promote(ctx, "credit-limit", "prod")
    assert "0 rows monitored" in str(refused.value) and "0 windows judged" in str(refused.value)
    digest = two["candidate"].split("@")[1]
    records = [
        {"inference_id": f"c{i}", "x": 0.1 * (i % 7), "sex": "fm"[i % 2], "pred": i % 2}
        for i in range(60)
    ]
    with act("service") as ctx:
        ingest.ingest_records(ctx, "credit-limit", "prod", "canary-1", records, release=digest)
    clock.advance(hours=2)
    with charter.act(tokens["service"], write=False) as ctx:
        actor = ctx.actor
    summary = run_once(charter, actor, deliver=False)
    assert summary["windows"] >= 1, summary
    with charter.db.transaction(write=False) as session:
        judged = session.scalars(select(MonitorWindow)).all()
    assert [w.result["release"] for w in judged] == [two["candidate"]]  # the canary's own
    with act("risk_engineer", write=False) as ctx:
        shown = rollouts.rollout_view(ctx, "credit-limit", "prod")
    assert shown["monitored"]["rows"] == 60 and shown["monitored"]["windows"] == 1
    assert shown["promotion_blocked_by"] == [] and len(shown["canary_windows"]) == 1
    with act("developer") as ctx:
        route = rollouts.promote(ctx, "credit-limit", "prod")
    assert route.release.digest == digest


def test_a_rollback_aborts_a_shadow_and_abort_needs_a_reason(
    charter: Any, act: Any, two: dict[str, str], clock: FakeClock, tmp_path: Path
) -> None:
    third = release_from(charter, act, write_release(tmp_path / "r3", seed="3"), deploy=False)
    with act("developer") as ctx:
        deployments.deploy(ctx, third, "prod")  # r1 -> r3, so that a rollback has a target
        deployments.deploy(ctx, two["candidate"], "prod", shadow=True)
    digest = two["candidate"].split("@")[1]
    good = {
        "inference_id": "i1",
        "release": digest,
        "live": {"prediction": 1, "score": 0.7},
        "shadow": {"prediction": 0, "score": 0.4},
        "timestamp": clock().isoformat(),
    }
    bad = {**good, "inference_id": "i2", "shadow": {"score": math.inf}}
    with act("service") as ctx, pytest.raises(BadInput, match="finite"):
        shadow_service.ingest_shadow(ctx, "credit-limit", "prod", "s1", [good, bad])
    with act("service") as ctx:
        first = shadow_service.ingest_shadow(ctx, "credit-limit", "prod", "s2", [good])
        again = shadow_service.ingest_shadow(ctx, "credit-limit", "prod", "s2", [good])
    assert first["accepted"] == 1 and again["duplicate"] is True
    with act("developer") as ctx, pytest.raises(BadInput, match="needs a reason"):
        rollouts.abort(ctx, "credit-limit", "prod", reason=" ")
    with act("developer") as ctx:
        route = deployments.rollback(ctx, "credit-limit", "prod", reason="r3 misbehaves")
    assert route.release.digest == two["live"].split("@")[1]
    with act("risk_engineer", write=False) as ctx:
        shown = rollouts.rollout_view(ctx, "credit-limit", "prod")
    assert shown["status"] == "aborted" and "rolled back" in shown["outcome"]
    assert shown["comparison"]["requests"] == 1
    assert shown["comparison"]["overall"]["verdict"] == "insufficient data"
    assert _actions(charter)[-2:] == ["deployment.abort", "deployment.rollback"]
    clock.advance(minutes=1)
    assert timedelta(0) < clock() - shown["started_at"]


def test_a_breaching_canary_is_aborted_and_the_live_release_left_alone(
    charter: Any, act: Any, tokens: dict[str, str], two: dict[str, str], clock: FakeClock
) -> None:
    with act("developer") as ctx:
        deployments.deploy(ctx, two["candidate"], "prod", canary=0.5)
    digest = two["candidate"].split("@")[1]
    drifted = [
        {"inference_id": f"d{i}", "x": 3.0 + 0.01 * i, "sex": "fm"[i % 2], "pred": i % 2}
        for i in range(300)
    ]
    with act("service") as ctx:
        ingest.ingest_records(ctx, "credit-limit", "prod", "drift-1", drifted, release=digest)
    clock.advance(hours=2)
    with charter.act(tokens["service"], write=False) as ctx:
        actor = ctx.actor
    summary = run_once(charter, actor, deliver=False)
    with charter.db.transaction(write=False) as session:
        judged = session.scalars(select(MonitorWindow)).all()
    assert summary["opened"] >= 1, (summary, [w.result for w in judged])
    with act("risk_engineer", write=False) as ctx:
        shown = rollouts.rollout_view(ctx, "credit-limit", "prod")
        route = deployments.route_view(ctx, "credit-limit", "prod")
    assert shown["status"] == "aborted" and "automatic" in shown["outcome"]
    assert route["release"] == two["live"] and route["state"] == "serving"
    assert route["rollout"] is None
