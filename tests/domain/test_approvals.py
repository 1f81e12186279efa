"""The one approval rule: how decisions fold into an approval state for an environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from charter.domain.approvals import (
    ApprovalRequirement,
    DecisionFact,
    approval_in_force,
    counted_approvals,
)

NOW = datetime(2026, 11, 24, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
MUCH_LATER = NOW + timedelta(days=90)
APPROVERS = (ApprovalRequirement(1, ("approver",)),)


def fact(
    id_: int,
    verdict: str,
    actor: str,
    envs: tuple[str, ...] = ("prod",),
    expires: datetime | None = LATER,
    role: str = "approver",
    fallback: dict | None = None,
    excluded: str | None = None,
) -> DecisionFact:
    return DecisionFact(
        id=id_,
        verdict=verdict,
        actor=actor,
        actor_role=role,
        environments=envs,
        expires_at=expires,
        created_at=NOW - timedelta(days=1),
        fallback=fallback,
        policy_version=1,
        excluded=excluded,
    )


def state(decisions, env="prod", quorum=1, now=NOW, roles=("approver",), requirements=None):
    return approval_in_force(
        decisions,
        environment=env,
        now=now,
        requirements=requirements or (ApprovalRequirement(quorum, roles),),
    )


def test_no_decisions_is_pending() -> None:
    result = state([])
    assert result.state == "pending" and result.unmet == ("0 of 1 approval(s) from approver",)


def test_one_approval_meets_default_quorum_until_it_expires() -> None:
    result = state([fact(1, "approve", "ann")])
    assert (result.state, result.valid_until, result.approvers) == ("approved", LATER, ("ann",))
    assert state([fact(1, "approve", "ann")], now=LATER).state == "expired"


def test_quorum_counts_distinct_approvers_and_valid_until_is_the_quorum_th_expiry() -> None:
    decisions = [fact(1, "approve", "ann", expires=MUCH_LATER), fact(2, "approve", "ann")]
    assert state(decisions, quorum=2).state == "pending"
    decisions.append(fact(3, "approve_with_conditions", "bob", expires=MUCH_LATER))
    result = state(decisions, quorum=2)
    # ann's newer approval (expiring LATER) supersedes her older one.
    assert result.state == "approved"
    assert result.valid_until == LATER
    assert result.counted == (2, 3)
    assert state(decisions, quorum=2, now=LATER).state == "pending"


def test_an_approval_without_expiry_never_ends_the_quorum() -> None:
    decisions = [fact(1, "approve", "ann", expires=None), fact(2, "approve", "bob")]
    assert state(decisions, quorum=1).valid_until is None
    assert state(decisions, quorum=2).valid_until == LATER


def test_rejection_voids_earlier_approvals_only() -> None:
    decisions = [fact(1, "approve", "ann"), fact(2, "reject", "rita", envs=())]
    assert state(decisions).state == "rejected"
    decisions.append(fact(3, "approve", "bob"))
    assert state(decisions).approvers == ("bob",)


def test_environments_are_separate() -> None:
    decisions = [
        fact(1, "approve", "ann", envs=("staging",)),
        fact(2, "reject", "rita", envs=("prod",)),
    ]
    assert state(decisions, env="staging").state == "approved"
    assert state(decisions, env="prod").state == "rejected"
    assert state(decisions, env="dev").state == "pending"


def test_order_is_by_id_not_by_list_position() -> None:
    decisions = [fact(2, "reject", "rita", envs=()), fact(1, "approve", "ann")]
    assert state(decisions).state == "rejected"


def test_only_roles_a_requirement_accepts_count() -> None:
    decisions = [fact(1, "approve", "ann"), fact(2, "approve", "rex", role="risk_engineer")]
    assert state(decisions, quorum=2).state == "pending"
    assert state(decisions, quorum=2, roles=("approver", "risk_engineer")).approved


def test_every_requirement_must_hold() -> None:
    requirements = (
        ApprovalRequirement(1, ("approver",), "quorum"),
        ApprovalRequirement(1, ("risk_engineer",), "validation"),
    )
    only_approver = [fact(1, "approve", "ann")]
    result = state(only_approver, requirements=requirements)
    assert result.state == "pending"
    assert result.unmet == ("0 of 1 approval(s) from risk_engineer",)
    both = [*only_approver, fact(2, "approve", "rex", role="risk_engineer", expires=MUCH_LATER)]
    result = state(both, requirements=requirements)
    assert result.approved and result.approvals == 2 and result.valid_until == LATER
    assert result.roles == ("approver", "risk_engineer")


def test_excluded_approvals_do_not_count_and_say_why() -> None:
    decisions = [fact(1, "approve", "ann", excluded="role granted by the release's author")]
    result = state(decisions)
    assert result.state == "pending"
    assert result.excluded == ((1, "ann", "role granted by the release's author"),)


def test_the_fallback_comes_from_the_newest_counting_approval() -> None:
    decisions = [
        fact(1, "approve", "ann", fallback={"kind": "static", "ref": "old"}),
        fact(2, "approve", "bob", fallback={"kind": "static", "ref": "new"}),
        fact(3, "approve", "cy"),
    ]
    result = state(decisions)
    assert result.fallback == {"kind": "static", "ref": "new"}
    assert [d.id for d in counted_approvals(decisions, result)] == [1, 2, 3]
    # A lapsed approval's fallback is still known, so a route can fall back to it.
    assert state(decisions, now=LATER).fallback == {"kind": "static", "ref": "new"}
