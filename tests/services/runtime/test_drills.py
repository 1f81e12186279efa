"""Drills run for real in the sandbox: one passes, one fails (no fallback), the outage drill
times the SDK's switch, and the result is the evidence the gate's fallback control reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from charter.domain.errors import Forbidden
from charter.services import drills, evidence, gates
from charter.store.models import Evidence, Release, Route
from charter.store.runtime_models import Incident

from .support import release_from, write_release


def _fallback_control(act: Any, ref: str) -> dict[str, Any]:
    with act("developer") as ctx:
        release = ctx.session.scalar(select(Release).where(Release.digest == ref.split("@")[1]))
        report = gates.evaluate(ctx, release, "prod")
    return next(r for r in report["results"] if r["control_id"] == "fallback-tested")


def test_a_drift_drill_passes_and_satisfies_fallback_tested(
    tmp_path: Path, charter: Any, act: Any, system: str, clock: Any
) -> None:
    ref = release_from(charter, act, write_release(tmp_path / "v1"))
    with charter.db.transaction(write=True) as session:  # no drill yet: only hand-made evidence
        for row in session.scalars(select(Evidence).where(Evidence.suite == "fallback-drill")):
            session.delete(row)
    assert _fallback_control(act, ref)["status"] == "fail"
    with act("developer") as ctx:
        result = drills.run_drill(ctx, ref, "drift")
    assert result["passed"], result["steps"]
    steps = result["steps"]
    assert steps["detection"]["ok"] and steps["detection"]["mttd_seconds"] > 0
    assert steps["intervention"]["ok"] and steps["fallback"]["ok"]
    with charter.db.transaction(write=False) as session:
        row = session.get(Evidence, result["evidence_id"])
        assert row.suite == "fallback-drill" and row.created_by == drills.RUNNER and row.passed
        assert json.loads(row.result)["runner"] == drills.RUNNER
        prod = session.scalar(select(Route).where(Route.environment == "prod"))
        assert prod.state == "serving"  # production untouched
        sandbox = session.scalar(select(Route).where(Route.environment == drills.SANDBOX))
        assert sandbox.state == "killed"
        assert all(i.status == "resolved" for i in session.scalars(select(Incident)))
    control = _fallback_control(act, ref)
    assert control["status"] == "pass", control


def test_a_drill_of_a_release_without_a_fallback_fails(
    tmp_path: Path, charter: Any, act: Any, system: str
) -> None:
    ref = release_from(charter, act, write_release(tmp_path / "v1"), deploy=False, fallback=None)
    with act("developer") as ctx:
        result = drills.run_drill(ctx, ref, "drift")
    assert not result["passed"]
    assert not result["steps"]["fallback"]["ok"]
    assert any("names a fallback" in n for n in result["notes"])


def test_the_outage_drill_times_the_sdk_switch_to_the_fallback(
    tmp_path: Path, charter: Any, act: Any, system: str
) -> None:
    ref = release_from(charter, act, write_release(tmp_path / "v1"))
    with act("developer") as ctx:
        result = drills.run_drill(ctx, ref, "outage")
    steps = result["steps"]
    assert result["passed"], steps
    assert steps["rule"] == "fail_closed"
    assert 0 < steps["fallback"]["seconds"] < 3.0
    assert "fallback" in steps["fallback"]["detail"]


def test_fallback_drill_evidence_cannot_be_posted_by_hand(
    tmp_path: Path, charter: Any, act: Any, system: str
) -> None:
    ref = release_from(charter, act, write_release(tmp_path / "v1"), deploy=False)
    posted = {
        "schema": "charter.evaluation.result/1",
        "suite": {"name": "fallback-drill", "version": "1"},
        "dataset": {},
        "metrics": {"overall": {}, "cohorts": []},
    }
    with act("developer") as ctx, pytest.raises(Forbidden, match="charter drill"):
        evidence.record_evidence(ctx, ref, posted)


def test_the_sandbox_name_is_the_drills_own() -> None:
    from charter.services import drills, environments

    assert environments.SANDBOX == drills.SANDBOX
