"""Automatic intervention: a drift breach makes the worker roll back, as the policy says;
two workers never act twice on one alert; a human resume overrides an automatic kill."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from tests.helpers import actor_of

from charter.services import deployments, incidents, ingest
from charter.services import worker as monitors
from charter.services.interventions import act_on_alerts
from charter.services.operations.deployments import resume
from charter.store.models import AuditEvent, Route
from charter.store.monitoring_models import Alert
from charter.store.runtime_models import Incident, Intervention

from .support import release_from, write_release


def _drifted(n: int, shift: float, start: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(11 + start)
    return [
        {
            "inference_id": f"d{start + i}",
            "features": {"x": float(rng.normal() + shift)},
            "prediction": int(rng.integers(0, 2)),
        }
        for i in range(n)
    ]


def two_releases(charter: Any, act: Any, tmp_path: Path) -> tuple[str, str]:
    first = release_from(charter, act, write_release(tmp_path / "v1", seed="1"))
    second = release_from(charter, act, write_release(tmp_path / "v2", seed="2"))
    return first, second


def breach(charter: Any, act: Any, clock: Any, digest: str, shift: float = 3.0) -> None:
    """One window of drifted traffic on ``digest``, closed by the clock."""
    with act("service") as ctx:
        ingest.ingest_records(
            ctx,
            "credit-limit",
            "prod",
            f"b{clock().timestamp()}",
            _drifted(400, shift),
            release=digest,
        )
    clock.advance(hours=2)


def test_a_drift_breach_rolls_back_to_the_previous_approved_release(
    tmp_path: Path, charter: Any, act: Any, tokens: dict[str, str], system: str, clock: Any
) -> None:
    first, second = two_releases(charter, act, tmp_path)
    breach(charter, act, clock, second.split("@")[1])
    worker = actor_of(charter, tokens["service"])
    summary = monitors.run_once(charter, worker, deliver=False)
    assert summary["opened"] >= 1 and summary["interventions"] >= 1, summary
    with charter.db.transaction(write=False) as session:
        route = session.scalar(select(Route))
        assert route.release.digest == first.split("@")[1] and route.state == "serving"
        done = session.scalars(select(Intervention).where(Intervention.action == "rollback"))
        row = next(iter(done))
        assert row.status == "done" and row.policy_version == 1
        assert row.release_from == second.split("@")[1]
        assert row.release_to == first.split("@")[1]
        alert = session.get(Alert, row.alert_id)
        assert alert.monitor == "drift"
        incident = session.get(Incident, row.incident_id)
        assert incident.status == "mitigated" and incident.source == "intervention"
        assert incident.links["interventions"] == [row.id]
        actions = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.action.in_(
                    ["deployment.rollback", "intervention.automatic", "incident.mitigated"]
                )
            )
        ).all()
        assert sorted(set(actions)) == [
            "deployment.rollback",
            "incident.mitigated",
            "intervention.automatic",
        ]
    with act("risk_engineer", write=False) as ctx:
        view = incidents.show(ctx, row.incident_id)
        # MTTD: start of the breaching window to the alert; MTTM: alert to mitigation.
        assert view["mttd_seconds"] is not None and view["mttd_seconds"] > 0
        assert view["mttm_seconds"] == 0.0  # the worker mitigated in the same pass
        assert [e["kind"] for e in view["timeline"]] == ["detected", "mitigated"]
        report = incidents.postmortem(ctx, row.incident_id)
        assert "Time to detect (MTTD)" in report and "| mitigated |" in report
        metrics = incidents.metrics(ctx)
        assert metrics["mttd_seconds"]["n"] >= 1 and metrics["mttm_seconds"]["n"] >= 1
    # Nothing left to do on the next pass.
    again = monitors.run_once(charter, worker, deliver=False)
    assert again["interventions"] == 0


def test_rollback_without_a_previous_release_kills_and_resume_overrides(
    tmp_path: Path, charter: Any, act: Any, tokens: dict[str, str], system: str, clock: Any
) -> None:
    only = release_from(charter, act, write_release(tmp_path / "v1"))
    breach(charter, act, clock, only.split("@")[1])
    monitors.run_once(charter, actor_of(charter, tokens["service"]), deliver=False)
    with charter.db.transaction(write=False) as session:
        route = session.scalar(select(Route))
        assert route.state == "killed"
        row = session.scalar(select(Intervention).where(Intervention.action == "rollback"))
        assert "rollback impossible (there is no previous release)" in row.outcome
    with act("developer") as ctx:
        resume(ctx, "credit-limit", "prod", "false positive: drift from a new campaign")
    with charter.db.transaction(write=False) as session:
        row = session.scalar(select(Intervention).where(Intervention.action == "rollback"))
        assert row.status == "overridden" and "developer" in row.outcome
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "intervention.overridden")
            )
            == 1
        )


def test_two_workers_never_intervene_twice_for_one_alert(
    tmp_path: Path, charter: Any, act: Any, tokens: dict[str, str], system: str, clock: Any
) -> None:
    _, second = two_releases(charter, act, tmp_path)
    breach(charter, act, clock, second.split("@")[1])
    worker = actor_of(charter, tokens["service"])
    monitors.run_once(charter, worker, deliver=False)  # opens alerts and intervenes
    with charter.db.transaction(write=True) as session:  # forget the interventions...
        session.query(Intervention).delete()
        session.query(Incident).update({Incident.status: "open"})
    with act("developer") as ctx:  # ...and put the alerting release back, by hand
        route = deployments.rollback(ctx, "credit-limit", "prod", reason="back to v2")
        assert route.release.digest == second.split("@")[1]
    with charter.db.transaction(write=True) as session:  # the alerts are open again
        session.query(Alert).update({Alert.status: "open", Alert.resolved_at: None})
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        try:
            barrier.wait()
            results.append(act_on_alerts(charter, worker))
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with charter.db.transaction(write=False) as session:
        alerts = session.scalar(select(func.count()).select_from(Alert))
        rows = session.scalars(select(Intervention)).all()
        rollbacks = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "deployment.rollback")
        )
    assert len(rows) == alerts and len({r.alert_id for r in rows}) == alerts
    assert sum(r["interventions"] for r in results) == alerts
    # One automatic rollback in this round (plus the first pass's and the manual one).
    assert rollbacks == 3
