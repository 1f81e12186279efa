"""KPIs against a hand-built history whose answers are worked out by hand below."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.services.documents.support import (
    CLASSIFICATION,
    FAIRNESS,
    LIVE,
    build_reference,
    frame,
    suite_result,
)
from tests.services.support import CREDIT, release_body, satisfy_risks

from charter.domain.decisions import DecisionRequest
from charter.domain.errors import BadInput
from charter.domain.releases import ReleaseManifest
from charter.domain.systems import IntakeFile
from charter.domain.window_results import Breach
from charter.services import (
    alerts,
    decisions,
    deployments,
    drills,
    evidence,
    evidence_pack,
    exceptions,
    gates,
    kpis,
    policies,
    references,
    releases,
    systems,
)
from charter.store.models import Route


def by_id(result):
    return {k["id"]: k for k in result["kpis"]}


@pytest.fixture
def q4(charter, act, clock):
    """In 2026Q4 (the clock starts on 2026-11-24):

    - credit-limit (high) registered, re-assessed 2 h later; release A1 with evidence
      (including a passing fallback drill); its first gate run fails (no approvals yet),
      then it is approved and deployed to prod (a second, passing run);
    - help-desk (minimal) registered, release B1 without evidence, first gate run passes
      in dev; never in production;
    - exceptions on A1: one revoked a day after approval, one left to expire (both due in
      the quarter);
    - two alerts on A1 in prod: a drift alert followed by a kill, and a performance alert
      resolved as a false alarm.
    """
    with act("admin") as ctx:
        policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
    with act("developer") as ctx:
        systems.register_system(
            ctx,
            "credit-limit",
            owner="Retail Credit Risk",
            purpose="limits",
            population="UK retail",
            surfaces=["web"],
            intake=IntakeFile(answers=CREDIT),
        )
        systems.register_system(
            ctx,
            "help-desk",
            owner="Support",
            purpose="answers",
            intake=IntakeFile(answers={"domain": "other"}),
        )
    clock.advance(hours=2)
    with act("risk_engineer") as ctx:
        systems.reassess(ctx, "credit-limit", IntakeFile(answers={**CREDIT, "profiling": True}))
    with act("developer") as ctx:
        a1, _ = releases.create_release(ctx, "credit-limit", release_body("1", LIVE), base_dir=None)
        plain = ReleaseManifest.model_validate(
            {"components": [{"kind": "model", "name": "faq", "sha256": "e" * 64}]}
        )
        b1, _ = releases.create_release(ctx, "help-desk", plain, base_dir=None)
        ref = f"credit-limit@{a1.digest}"
        evidence.record_evidence(ctx, ref, CLASSIFICATION)
        evidence.record_evidence(ctx, ref, FAIRNESS)
        for suite in (
            "robustness",
            "data-quality",
            "explainability",
            "security",
            "fria",
            "conformity-assessment",
        ):
            evidence.record_evidence(ctx, ref, suite_result(suite, {}))
        profile = build_reference(
            frame(500, 1), features=["x", "colour"], prediction="pred", score="score", label="label"
        )
        references.set_reference(ctx, ref, profile.to_dict())
        assert not gates.run_gate(ctx, ref, "prod").passed
        assert gates.run_gate(ctx, f"help-desk@{b1.digest}", "dev").passed
    body = {
        "verdict": "approve",
        "use_case": "limits",
        "population": "UK retail",
        "environments": ["prod"],
        "expires": "90d",
        "fallback": "static:manual-review",
    }
    for who in ("approver", "approver2"):
        with act(who) as ctx:
            decisions.decide(ctx, ref, DecisionRequest(**body))
    ids = []
    for control in ("monitor-fairness", "eval-performance-prod-fresh"):
        with act("developer") as ctx:
            ids.append(
                exceptions.request_exception(
                    ctx,
                    ref,
                    control_id=control,
                    justification="late labels",
                    compensating="manual review",
                    expires="14d",
                ).id
            )
        with act("approver") as ctx:
            exceptions.decide_exception(ctx, ids[-1], "approve")
    satisfy_risks(charter, ref)  # the high tier's risk-register control
    with act("developer") as ctx:
        drills.run_drill(ctx, ref, "drift")  # the fallback is tested by a drill that ran
        deployments.deploy(ctx, ref, "prod", reason="launch")
    clock.advance(days=1)
    with act("approver") as ctx:
        exceptions.revoke_exception(ctx, ids[0], note="labels arrived")
    with act("risk_engineer") as ctx:
        route = ctx.session.scalar(select(Route).where(Route.environment == "prod"))
        window = {"start": "2026-11-25T00:00:00+00:00", "end": "2026-11-26T00:00:00+00:00"}
        opened = {}
        for monitor in ("drift", "performance"):
            breach = Breach(
                monitor=monitor,
                subject="x",
                severity="critical",
                breached=True,
                n=500,
                value=0.4,
                bound="x <= 0.2",
            )
            opened[monitor] = alerts.open_alert(ctx, route, f"k-{monitor}", breach, clock(), window)
        # Resolved by a person as a false alarm (the resolution the KPI reads).
        alerts._resolve(ctx, opened["performance"], "false alarm: label feed was late")
    clock.advance(hours=1)
    with act("developer") as ctx:
        deployments.kill(ctx, "credit-limit", "prod", reason="drift")
    return ref


def test_known_answers(q4, act) -> None:
    with act("auditor") as ctx:
        evidence_pack.export_pack(ctx, "credit-limit")
    with act("auditor", write=False) as ctx:
        result = kpis.compute(ctx, "2026Q4")
    assert result["period"] == {
        "label": "2026Q4",
        "from": "2026-10-01T00:00:00.000000Z",
        "to": "2027-01-01T00:00:00.000000Z",
    }
    k = by_id(result)
    assert k["inventory_coverage"]["value"] == 1.0  # 1 of 1 in production
    assert (
        k["releases_with_evaluation_evidence"]["numerator"],
        k["releases_with_evaluation_evidence"]["denominator"],
    ) == (1, 2)
    assert k["gate_first_pass_rate"]["value"] == 0.5  # A1 failed first, B1 passed
    assert k["median_intake_to_tier"]["value"] == 3600.0  # median of 7200 s and 0 s
    assert k["mttd"]["value"] is None and "no incident" in k["mttd"]["note"]
    assert k["incidents_by_severity"]["value"] == {}
    assert k["top_tier_drift_monitoring"]["value"] == 0.0  # no window judged
    assert k["false_positive_alert_share"]["value"] == 0.5
    assert k["drift_to_action_rate"]["value"] == 1.0  # the kill after the drift alert
    assert k["exceptions_closed_before_expiry"]["value"] == 0.5
    assert k["validated_fallback_share"]["value"] == 1.0  # the passing fallback drill
    assert k["evidence_pack_turnaround"]["denominator"] == 1
    assert 0 <= k["evidence_pack_turnaround"]["value"] < 60


def test_a_quarter_with_no_releases(q4, act) -> None:
    with act("auditor", write=False) as ctx:
        k = by_id(kpis.compute(ctx, "2026Q3"))
    assert k["releases_with_evaluation_evidence"]["value"] is None
    assert k["releases_with_evaluation_evidence"]["note"] == "no releases in the period"
    assert k["gate_first_pass_rate"]["value"] is None
    assert k["inventory_coverage"]["value"] is None
    assert k["evidence_pack_turnaround"]["value"] is None


def test_incidents_when_the_table_exists(q4, act, charter) -> None:
    from datetime import datetime

    from charter.store.runtime_models import Incident

    rows = [  # detect: 600, 1200, 3000 s; mitigate: 60, 180 s (one not mitigated)
        ("critical", "2026-11-25 10:00:00", "2026-11-25 10:10:00", "2026-11-25 10:11:00"),
        ("warning", "2026-11-26 10:00:00", "2026-11-26 10:20:00", "2026-11-26 10:23:00"),
        ("critical", "2026-12-01 09:00:00", "2026-12-01 09:50:00", None),
        ("critical", "2026-09-01 09:00:00", "2026-09-01 09:50:00", None),  # Q3
    ]

    def at(text_: str | None) -> datetime | None:
        return datetime.fromisoformat(text_ + "+00:00") if text_ else None

    with charter.db.transaction(write=True) as session:
        for severity, breach, detected, mitigated in rows:
            session.add(
                Incident(
                    system_id=1,
                    environment="prod",
                    release_id=None,
                    title="breach",
                    severity=severity,
                    status="open",
                    source="alert",
                    alert_id=None,
                    links={},
                    breach_started_at=at(breach),
                    detected_at=at(detected),
                    acknowledged_at=None,
                    mitigated_at=at(mitigated),
                    resolved_at=None,
                    opened_by="worker",
                )
            )
        # A drill's incident is a rehearsal in the sandbox environment: never counted.
        session.add(
            Incident(
                system_id=1,
                environment="drill",
                release_id=None,
                title="drill",
                severity="critical",
                status="resolved",
                source="drill",
                alert_id=None,
                links={},
                breach_started_at=at("2026-11-27 10:00:00"),
                detected_at=at("2026-11-27 12:00:00"),
                acknowledged_at=None,
                mitigated_at=at("2026-11-27 13:00:00"),
                resolved_at=None,
                opened_by="drill",
            )
        )
    with act("auditor", write=False) as ctx:
        k = by_id(kpis.compute(ctx, "2026Q4"))
    assert k["mttd"]["value"] == 1200.0
    assert k["mttm"]["value"] == 120.0
    assert k["incidents_by_severity"]["value"] == {"critical": 2, "warning": 1}


def test_periods() -> None:
    assert kpis.parse_period("2026q1").start.month == 1
    assert kpis.parse_period("2026Q1").previous().label == "2025Q4"
    assert kpis.parse_period("2026").end.year == 2027
    for bad in ("2026Q5", "Q4", "last quarter", ""):
        with pytest.raises(BadInput, match="unknown period"):
            kpis.parse_period(bad)
