"""Policy in force, intake tiering, gates, exceptions, deployments and status, on the real database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from tests.services.support import (
    CREDIT,
    approve_twice,
    failing,
    gate,
    make_release,
    satisfy_evidence,
)

from charter.domain.errors import BadInput, Conflict, Forbidden, NotFound
from charter.domain.systems import IntakeFile
from charter.services import deployments, exceptions, gates, policies, portfolio, systems
from charter.store.models import AuditEvent, PolicyVersion


def test_intake_assigns_the_tier_and_prohibited_practices_are_refused(policy, act, charter) -> None:
    with act("developer") as ctx:
        system = systems.register_system(
            ctx, "credit-limit", owner="x", intake=IntakeFile(answers=CREDIT)
        )
        assert system.tier == "high"
        assessment = systems.assessment_of(ctx, system)
        assert assessment["rule"] == "annex-iii-5b"
        assert "approval-quorum-high" in assessment["controls"]
        assert {"provider", "deployer", "fria-required"} <= set(assessment["flags"])
        assert "fundamental-rights-impact-assessment" in assessment["controls"]
    with charter.db.transaction(write=False) as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))
    with act("developer") as ctx, pytest.raises(Forbidden, match="refused at intake"):
        systems.register_system(
            ctx,
            "scorer",
            owner="x",
            intake=IntakeFile(answers={"domain": "other", "practices": ["social_scoring"]}),
        )
    with charter.db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before
    with act("developer") as ctx, pytest.raises(BadInput):
        systems.register_system(ctx, "bad", owner="x", intake=IntakeFile(answers={"colour": "red"}))


def test_reintake_retiers_and_is_audited(system, act) -> None:
    with act("risk_engineer") as ctx:
        updated, assessment = systems.reassess(
            ctx, "credit-limit", IntakeFile(answers={"domain": "other"})
        )
        assert (updated.tier, assessment["tier"]) == ("minimal", "minimal")
    with act("auditor", write=False) as ctx:
        from charter.services import audit

        events, _ = audit.events(ctx, action="system.intake_updated")
        payload = json.loads(events[0].payload)
        assert (payload["from_tier"], payload["to_tier"]) == ("high", "minimal")


def test_gate_fails_then_passes_once_every_control_is_met(system, act, charter) -> None:
    ref = make_release(act, guardrails=["prompt_injection", "pii"])
    first = gate(act, ref)
    assert first["passed"] is False
    assert {"eval-performance", "approval-quorum-high", "fallback-tested"} <= failing(first)
    satisfy_evidence(charter, ref)
    approve_twice(act, ref)
    second = gate(act, ref)
    assert failing(second) == set(), second["results"]
    assert second["passed"] is True
    # Not applicable controls are reported, not silently dropped (no LLM components here).
    assert any(r["status"] == "not_applicable" for r in second["results"])
    assert second["policy_version"] == 1
    with charter.db.transaction(write=False) as session:
        from charter.store.models import GateRun

        assert session.scalar(select(func.count()).select_from(GateRun)) == 2


def test_gate_needs_a_policy(act, tokens, charter) -> None:
    with act("developer") as ctx:
        systems.register_system(ctx, "credit-limit", owner="x")
    ref = make_release(act)
    with act("developer") as ctx, pytest.raises(BadInput, match="no policy"):
        gates.run_gate(ctx, ref, "prod")


def test_exception_waives_until_it_expires(system, act, charter, clock) -> None:
    ref = make_release(act, guardrails=["pii"])
    satisfy_evidence(charter, ref, skip=("robustness",))
    approve_twice(act, ref)
    assert failing(gate(act, ref)) == {"eval-robustness"}
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
    assert failing(gate(act, ref)) == {"eval-robustness"}  # requested is not approved
    with act("developer") as ctx, pytest.raises(Forbidden):
        exceptions.decide_exception(ctx, item.id, "approve")
    with act("approver") as ctx:
        exceptions.decide_exception(ctx, item.id, "approve", note="ok for 20 days")
    report = gate(act, ref)
    assert report["passed"] is True
    (waived,) = [r for r in report["results"] if r["status"] == "waived"]
    assert waived["control_id"] == "eval-robustness"
    assert waived["waiver"]["exception_id"] == item.id
    with act("developer") as ctx:  # an exception for another environment does not count
        other = exceptions.request_exception(
            ctx,
            ref,
            control_id="eval-data-quality",
            justification="j",
            compensating="c",
            expires="5d",
            environment="staging",
        )
    with act("auditor", write=False) as ctx:
        soon, _ = exceptions.list_exceptions(ctx, expiring_within=exceptions.parse_window("30d"))
        assert [x.id for x in soon] == [item.id]
        assert other.status == "requested"
    clock.advance(days=21)
    assert failing(gate(act, ref)) == {"eval-robustness"}


def test_non_waivable_controls_cannot_be_excepted(system, act) -> None:
    ref = make_release(act)
    with act("developer") as ctx, pytest.raises(Forbidden, match="waived"):
        exceptions.request_exception(
            ctx,
            ref,
            control_id="contract-offline",
            justification="j",
            compensating="c",
            expires="5d",
        )


def test_exception_rules(system, act) -> None:
    ref = make_release(act)
    base = {"control_id": "eval-robustness", "justification": "j", "compensating": "c"}
    with act("developer") as ctx:
        with pytest.raises(BadInput, match="maximum of 30 days"):
            exceptions.request_exception(ctx, ref, **base, expires="45d")
        with pytest.raises(NotFound, match="no control"):
            exceptions.request_exception(ctx, ref, **{**base, "control_id": "nope"}, expires="5d")
        with pytest.raises(BadInput, match="compensating"):
            exceptions.request_exception(ctx, ref, **{**base, "compensating": " "}, expires="5d")
        item = exceptions.request_exception(ctx, ref, **base, expires="5d")
    with act("auditor") as ctx, pytest.raises(Forbidden):
        exceptions.decide_exception(ctx, item.id, "approve")
    with act("risk_engineer") as ctx:
        exceptions.decide_exception(ctx, item.id, "reject", note="fix it")
        with pytest.raises(Conflict):
            exceptions.decide_exception(ctx, item.id, "approve")


def test_deploy_rollback_kill_resume(system, act, charter, clock) -> None:
    ref1 = make_release(act, "1", guardrails=["pii"])
    with act("developer") as ctx, pytest.raises(Forbidden, match="deploy refused"):
        deployments.deploy(ctx, ref1, "prod")
    satisfy_evidence(charter, ref1)
    approve_twice(act, ref1)
    with act("developer") as ctx:
        deployments.deploy(ctx, ref1, "prod", reason="CHG-1")
        with pytest.raises(Conflict, match="already live"):
            deployments.deploy(ctx, ref1, "prod")
        route = deployments.route_view(ctx, "credit-limit", "prod")
    assert route["serve"] == {"kind": "release", "ref": ref1}
    ref2 = make_release(act, "2")
    satisfy_evidence(charter, ref2)
    approve_twice(act, ref2, fallback=ref1)
    with act("developer") as ctx:
        deployments.deploy(ctx, ref2, "prod")
        assert deployments.route_view(ctx, "credit-limit", "prod")["previous_release"] == ref1
    with act("developer") as ctx:
        killed = deployments.kill(ctx, "credit-limit", "prod", reason="drift alert")
        assert killed.state == "killed"
        assert deployments.route_view(ctx, "credit-limit", "prod")["serve"] == {
            "kind": "release",
            "ref": ref1,
        }
        deployments.resume(ctx, "credit-limit", "prod", reason="fixed")
        deployments.rollback(ctx, "credit-limit", "prod", reason="bad calibration")
        view = deployments.route_view(ctx, "credit-limit", "prod")
    assert view["release"] == ref1
    assert view["previous_release"] == ref2
    assert view["serve"]["ref"] == ref1
    # Once the approval lapses, the route serves the fallback and resume/rollback refuse.
    clock.advance(days=91)
    with act("developer") as ctx:
        lapsed = deployments.route_view(ctx, "credit-limit", "prod")
        assert lapsed["approval"]["state"] == "expired"
        assert lapsed["serve"] == {"kind": "static", "ref": "manual-review"}
        with pytest.raises(Forbidden):
            deployments.rollback(ctx, "credit-limit", "prod", reason="again")
    with act("auditor", write=False) as ctx:
        (entry,) = [s for s in portfolio.portfolio(ctx) if s["name"] == "credit-limit"]
        assert entry["needs_attention"]
        assert any("re-approval" in flag for flag in entry["environments"][0]["flags"])


def test_kill_without_fallback_is_refused(system, act, charter) -> None:
    ref = make_release(act)
    satisfy_evidence(charter, ref)
    approve_twice(act, ref, fallback=None)
    with act("developer") as ctx:
        # fallback-tested needs a defined fallback, so the gate (and the deploy) refuse.
        with pytest.raises(Forbidden, match="fallback"):
            deployments.deploy(ctx, ref, "prod")


def test_status_flags_policy_that_requires_more(system, act, charter, tokens) -> None:
    ref = make_release(act, guardrails=["pii"])
    satisfy_evidence(charter, ref)
    approve_twice(act, ref)
    with act("developer") as ctx:
        deployments.deploy(ctx, ref, "prod")
    stricter = (
        policies.default_pack()
        .decode()
        .replace(
            "controls:\n",
            "controls:\n  - id: extra-doc\n    description: extra\n    kind: documentation\n"
            "    tiers: [high]\n    params: {fields: [owner]}\n",
            1,
        )
    )
    with act("risk_engineer") as ctx:
        version, created = policies.apply_policy(ctx, stricter.encode(), "stricter.yaml")
        assert (version.version, created) == (2, True)
        diff = policies.diff(ctx, None, None)
        assert any("extra-doc" in change for change in diff["changes"])
    with act("auditor", write=False) as ctx:
        (entry,) = portfolio.portfolio(ctx)
        assert any("requires more than v1" in f for f in entry["environments"][0]["flags"])


def test_invalid_policy_changes_nothing(policy, act, charter) -> None:
    broken = policies.default_pack().decode().replace("kind: documentation", "kind: astrology", 1)
    with act("admin") as ctx, pytest.raises(BadInput, match="astrology|kind"):
        policies.apply_policy(ctx, broken.encode(), "broken.yaml")
    with act("admin") as ctx:
        _, created = policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
        assert not created
    with charter.db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 1
    with act("developer") as ctx, pytest.raises(Forbidden):
        policies.apply_policy(ctx, policies.default_pack(), "x")
