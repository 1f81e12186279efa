"""The risk register: records rated on the pack's scales, versioned and audited; refusals
that write nothing; separation of duties; incidents; the gate control; the assessment."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text
from tests.services.support import approve_twice, make_release, satisfy_evidence

from charter.domain.errors import BadInput, Conflict, Forbidden
from charter.domain.risks import RiskChange
from charter.services import audit, exceptions, gates, incidents, risks
from charter.store.models import AuditEvent, Risk, RiskRevision

UNOWNED = RiskChange(
    title="Scores drift for new-to-bank applicants",
    category="robustness",
    nist_ai_rmf=["MEASURE 2.4"],
    cause="a new acquisition channel",
    failure_mode="limits set on inputs the model never saw",
    affected_population="new-to-bank applicants",
    likelihood=4,
    impact=4,
    residual_likelihood=3,
    residual_impact=4,
    controls=["monitor-drift"],
    remediation="roll back, retrain on the new channel",
)


def counts(charter) -> tuple[int, int, int]:
    with charter.db.transaction(write=False) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model))
            for model in (Risk, RiskRevision, AuditEvent)
        )


def test_a_risk_is_rated_versioned_and_audited(system, act, charter) -> None:
    with act("developer") as ctx:
        risk = risks.add_risk(ctx, system, UNOWNED)
        view = risks.risk_view(ctx, risk)
    assert (view["inherent_score"], view["inherent_rating"]) == (16, "high")
    assert (view["residual_score"], view["residual_rating"]) == (12, "high")
    assert (view["likelihood_label"], view["impact_label"]) == ("likely", "major")
    assert view["version"] == 1 and view["policy_version"] == 1
    assert "no owner" in view["gaps"] and "no watching signal" in view["gaps"]
    with act("developer") as ctx:
        changed = risks.update_risk(
            ctx,
            system,
            risk.id,
            RiskChange(owner="risk-engineer", signals=["drift"], residual_impact=3),
            note="owner named",
        )
        assert (changed.version, changed.residual_rating) == (2, "medium")
        shown = risks.risk_view(ctx, changed, with_history=True)
    assert [h["change"] for h in shown["history"]] == ["created", "updated"]
    assert shown["history"][0]["content"]["owner"] is None
    assert shown["history"][1]["content"]["owner"] == "risk-engineer"
    with act("auditor", write=False) as ctx:
        events, _ = audit.events(ctx, entity_type="risk", entity_id=str(risk.id))
        assert [e.action for e in events] == ["risk.updated", "risk.created"]
        assert json.loads(events[0].payload)["risk"]["residual_rating"] == "medium"
        assert audit.verify(ctx).ok


def test_audit_verify_names_a_risk_edited_with_sql(system, act, charter) -> None:
    with act("developer") as ctx:
        risk = risks.add_risk(ctx, system, UNOWNED)
    with charter.db.transaction(write=True) as session:
        session.execute(
            text("UPDATE risks SET residual_rating = 'low' WHERE id = :id"), {"id": risk.id}
        )
        session.execute(text("DELETE FROM risk_revisions WHERE risk_id = :id"), {"id": risk.id})
    with act("auditor", write=False) as ctx:
        report = audit.verify(ctx)
    named = {finding.row for finding in report.row_findings}
    assert f"risks/{risk.id}" in named
    assert any(row.startswith("risk_revisions/") for row in named)
    assert not report.ok


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"controls": ["no-such-control"]}, "unknown control 'no-such-control'"),
        ({"controls": ["derogation-assessment"]}, "does not apply to tier 'high'"),
        ({"signals": ["vibes"]}, "unknown signal 'vibes'"),
        ({"likelihood": 9}, "likelihood 9 is not on the policy's scale"),
        ({"residual_impact": 0}, "residual_impact 0 is not on the policy's scale"),
        ({"residual_likelihood": 4, "residual_impact": 5}, "cannot exceed the inherent"),
        ({"nist_ai_rmf": ["MEASURE 9.9"]}, "not a NIST AI RMF 1.0 subcategory"),
        ({"owasp_llm": ["LLM11"]}, "not a OWASP LLM Top 10 id"),
        ({"category": "astrology"}, "unknown category 'astrology'"),
        ({"owner": "nobody"}, "'nobody' is not an active Charter user"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(system, act, charter, change, message):
    before = counts(charter)
    bad = UNOWNED.model_copy(update=change)
    with act("developer") as ctx, pytest.raises(BadInput, match=message):
        risks.add_risk(ctx, system, bad)
    assert counts(charter) == before


def test_an_update_off_the_scale_changes_nothing(system, act, charter) -> None:
    with act("developer") as ctx:
        risk = risks.add_risk(ctx, system, UNOWNED)
    before = counts(charter)
    with act("developer") as ctx, pytest.raises(BadInput, match="impact 6"):
        risks.update_risk(ctx, system, risk.id, RiskChange(impact=6, signals=["drift"]))
    assert counts(charter) == before
    with act("developer") as ctx:
        assert risks.get_risk(ctx, system, risk.id).signals == []


def test_reviews_and_acceptances_keep_separation_of_duties(system, act) -> None:
    with act("developer") as ctx:
        risk = risks.add_risk(ctx, system, UNOWNED.model_copy(update={"owner": "approver"}))
    with act("developer") as ctx, pytest.raises(Forbidden, match="may not risk.review"):
        risks.review_risk(ctx, system, risk.id, note="looked")
    with act("risk_engineer") as ctx:
        with pytest.raises(BadInput, match="needs a note"):
            risks.review_risk(ctx, system, risk.id, note=" ")
        reviewed = risks.review_risk(ctx, system, risk.id, note="drift monitor checked")
        assert reviewed.reviewed_by == "risk-engineer"
    with act("approver") as ctx, pytest.raises(Forbidden, match="you own this risk"):
        risks.accept_risk(ctx, system, risk.id, note="fine")
    with act("risk_engineer") as ctx:
        risks.update_risk(ctx, system, risk.id, RiskChange(residual_likelihood=2))
    with act("risk_engineer") as ctx, pytest.raises(Forbidden, match="you set this risk's ratings"):
        risks.accept_risk(ctx, system, risk.id, note="fine")
    with act("approver2") as ctx:
        accepted = risks.accept_risk(ctx, system, risk.id, note="within appetite")
        assert accepted.accepted_by == "approver-2"
    with act("approver2") as ctx, pytest.raises(Conflict, match="already accepted"):
        risks.accept_risk(ctx, system, risk.id, note="again")
    # What was accepted no longer stands once the rating changes.
    with act("developer") as ctx:
        changed = risks.update_risk(ctx, system, risk.id, RiskChange(residual_impact=3))
        assert changed.accepted_by is None


def test_seeding_follows_tier_and_intake_once(system, act) -> None:
    with act("developer") as ctx:
        seeded = risks.seed_register(ctx, system)
        again = risks.seed_register(ctx, system)
    templates = {r.template for r in seeded}
    # A credit model (high tier, no LLM in its intake) gets the statistical templates only.
    assert templates == {
        "performance-degradation",
        "input-drift",
        "unfair-outcomes",
        "data-quality",
    }
    assert again == []
    assert all(r.owner is None and r.reviewed_at is None for r in seeded)


def test_seeding_an_llm_system_maps_owasp(policy, act) -> None:
    from charter.domain.systems import IntakeFile
    from charter.services import systems

    with act("developer") as ctx:
        systems.register_system(
            ctx,
            "helpdesk",
            owner="Support",
            intake=IntakeFile(
                answers={"domain": "customer_service", "interacts_with_people": True}
            ),
        )
        seeded = risks.seed_register(ctx, "helpdesk")
        tier = systems.find_system(ctx, "helpdesk").tier
    assert tier == "limited"
    assert {r.template: r.owasp_llm for r in seeded} == {
        "prompt-injection": ["LLM01"],
        "sensitive-information-disclosure": ["LLM02"],
    }


def test_an_incident_that_realised_a_risk_shows_on_the_register(system, act) -> None:
    with act("developer") as ctx:
        risk = risks.add_risk(ctx, system, UNOWNED)
    with act("risk_engineer") as ctx:
        incident = incidents.open_incident(ctx, system, "prod", "drift on new channel")
        risks.link_incident(ctx, incident.id, risk.id)
        with pytest.raises(Conflict, match="already linked"):
            risks.link_incident(ctx, incident.id, risk.id)
        shown = incidents.show(ctx, incident.id)
    assert shown["links"]["risks"] == [risk.id]
    assert shown["timeline"][-1]["kind"] == "linked"
    with act("auditor", write=False) as ctx:
        (item,) = risks.register_view(ctx, system)["items"]
    assert [i["id"] for i in item["realised_incidents"]] == [incident.id]


def failing(report) -> dict[str, str]:
    return {r["control_id"]: r["reason"] for r in report["results"] if r["status"] == "fail"}


def test_the_gate_names_an_unowned_or_unwatched_risk(system, act, charter, clock) -> None:
    ref = make_release(act)
    satisfy_evidence(charter, ref, skip=("risks",))
    approve_twice(act, ref)
    with act("developer") as ctx:
        empty = failing(gates.evaluate(ctx, gates.find_release(ctx, ref), "prod"))
    assert set(empty) == {"risk-register"} and "0 open risk" in empty["risk-register"]

    with act("developer") as ctx:
        risk = risks.add_risk(ctx, system, UNOWNED)
        report = failing(gates.evaluate(ctx, gates.find_release(ctx, ref), "prod"))
    reason = report["risk-register"]
    assert f"risk #{risk.id}" in reason and UNOWNED.title in reason
    for gap in ("no owner", "no watching signal", "never reviewed", "not been accepted"):
        assert gap in reason

    # A signal production does not watch for this release does not count.
    with act("developer") as ctx:
        risks.update_risk(
            ctx, system, risk.id, RiskChange(owner="risk-engineer", signals=["fallback"])
        )
        reason = failing(gates.evaluate(ctx, gates.find_release(ctx, ref), "prod"))["risk-register"]
    assert "are not monitored for this release" in reason and "no owner" not in reason

    with act("developer") as ctx:
        risks.update_risk(ctx, system, risk.id, RiskChange(signals=["drift"]))
    with act("risk_engineer") as ctx:
        risks.review_risk(ctx, system, risk.id, note="drift monitor and rollback drilled")
    with act("approver") as ctx:
        risks.accept_risk(ctx, system, risk.id, note="within appetite until retraining")
    with act("developer") as ctx:
        passed = gates.evaluate(ctx, gates.find_release(ctx, ref), "prod")
    assert failing(passed) == {} and passed["passed"] is True

    clock.advance(days=91)  # the high tier's cadence is 90 days
    with act("developer") as ctx:
        reason = failing(gates.evaluate(ctx, gates.find_release(ctx, ref), "prod"))["risk-register"]
    assert "more than 90 days ago" in reason


def test_a_mitigation_counts_only_when_its_control_passes_in_the_same_gate(
    system, act, charter, clock
) -> None:
    from tests.services.support import add_evidence

    ref = make_release(act)
    satisfy_evidence(charter, ref, skip=("risks", "robustness"))
    approve_twice(act, ref)
    with act("developer") as ctx:
        # Owned, watched, low residual: only the mitigation can stop it from counting.
        risk = risks.add_risk(
            ctx,
            system,
            UNOWNED.model_copy(
                update={
                    "owner": "risk-engineer",
                    "signals": ["drift"],
                    "residual_likelihood": 1,
                    "controls": ["eval-robustness"],
                }
            ),
        )
    with act("risk_engineer") as ctx:
        risks.review_risk(ctx, system, risk.id, note="robustness suite named as mitigation")
    named = f"risk #{risk.id} {UNOWNED.title!r}"

    def gate() -> dict[str, str]:
        with act("developer") as ctx:
            return failing(gates.run_gate(ctx, ref, "prod").report)

    # Named, in the pack for the tier, but failed in this very gate: not a mitigation.
    first = gate()
    assert set(first) == {"eval-robustness", "risk-register"}
    assert first["risk-register"] == f"{named}: mitigating control eval-robustness failed"
    with act("developer") as ctx:  # a control the release does not get is no better
        risks.update_risk(
            ctx,
            system,
            risk.id,
            RiskChange(controls=["guardrails-prompt-injection", "eval-robustness"]),
        )
    assert gate()["risk-register"] == (
        f"{named}: mitigating controls guardrails-prompt-injection not applicable, "
        "eval-robustness failed"
    )

    # A waiver in force mitigates, and the register says it is a waiver.
    with act("developer") as ctx:
        item = exceptions.request_exception(
            ctx,
            ref,
            control_id="eval-robustness",
            justification="perturbation suite being rebuilt",
            compensating="manual stress review by the model risk team",
            expires="20d",
            environment="prod",
        )
    with act("approver") as ctx:
        exceptions.decide_exception(ctx, item.id, "approve", note="ok for 20 days")
    with act("developer") as ctx:
        report = gates.run_gate(ctx, ref, "prod").report
    result = {r["control_id"]: r for r in report["results"]}["risk-register"]
    assert report["passed"] is True and result["status"] == "pass"
    assert (
        f"{named} mitigated by a waiver: eval-robustness (exception #{item.id} until"
        in (result["reason"])
    )

    clock.advance(days=21)  # the waiver lapses: the risk is unmitigated again
    assert gate()["risk-register"] == (
        f"{named}: mitigating controls guardrails-prompt-injection not applicable, "
        "eval-robustness failed"
    )

    # Performed: the robustness suite's evidence makes the control, and the risk, pass.
    add_evidence(charter, ref, "robustness")
    with act("developer") as ctx:
        report = gates.run_gate(ctx, ref, "prod").report
    result = {r["control_id"]: r for r in report["results"]}["risk-register"]
    assert failing(report) == {} and result["status"] == "pass"
    assert "waiver" not in result["reason"]
    assert result["evidence"]["mitigations"] == {
        str(risk.id): {"guardrails-prompt-injection": "not_applicable", "eval-robustness": "pass"}
    }


def test_the_register_control_cannot_mitigate_a_risk(system, act) -> None:
    with act("developer") as ctx, pytest.raises(BadInput, match="checks the register itself"):
        risks.add_risk(ctx, system, UNOWNED.model_copy(update={"controls": ["risk-register"]}))


def test_the_assessment_renders_the_register_with_its_evidence(system, act, charter) -> None:
    from charter.documents.risk_assessment import render_assessment
    from charter.services.risk_assessment import build_assessment

    ref = make_release(act)
    satisfy_evidence(charter, ref)
    approve_twice(act, ref)
    with act("developer") as ctx:
        gates.run_gate(ctx, ref, "prod")
    with act("approver") as ctx:
        (risk,) = risks.list_risks(ctx, system)
    with act("auditor", write=False) as ctx:
        data = build_assessment(ctx, system)
    (item,) = data["risks"]
    assert item["id"] == risk.id and item["reviewed_by"] == "risk-engineer"
    assert item["evidence"][0]["control"] == "eval-performance"
    assert item["evidence"][0]["status"] == "pass"
    markdown = render_assessment(data, "md").decode()
    html = render_assessment(data, "html").decode()
    assert f"Risk #{risk.id}: {risk.title}" in markdown
    assert "Residual risk accepted" in markdown and "eval-performance" in html
