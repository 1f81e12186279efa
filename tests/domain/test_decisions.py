"""How decisions fold into an approval state, and the request rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from charter.domain.decisions import DecisionFacts, DecisionRequest, approval_state, check_request
from charter.domain.errors import BadInput

NOW = datetime(2026, 11, 24, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
MUCH_LATER = NOW + timedelta(days=90)


def facts(id_: int, verdict: str, actor: str, envs=("prod",), expires=LATER) -> DecisionFacts:
    return DecisionFacts(id_, verdict, actor, envs, expires)


def state(decisions, env="prod", quorum=1, now=NOW):
    return approval_state(decisions, environment=env, now=now, quorum=quorum)


def test_no_decisions_is_pending() -> None:
    assert state([]).state == "pending"


def test_one_approval_meets_default_quorum_until_it_expires() -> None:
    result = state([facts(1, "approve", "ann")])
    assert (result.state, result.valid_until, result.approvers) == ("approved", LATER, ("ann",))
    assert state([facts(1, "approve", "ann")], now=LATER).state == "expired"


def test_quorum_counts_distinct_approvers_and_valid_until_is_the_quorum_th_expiry() -> None:
    decisions = [facts(1, "approve", "ann", expires=MUCH_LATER), facts(2, "approve", "ann")]
    assert state(decisions, quorum=2).state == "pending"
    decisions.append(facts(3, "approve_with_conditions", "bob", expires=MUCH_LATER))
    result = state(decisions, quorum=2)
    # ann's newer approval (expiring LATER) supersedes her older one.
    assert result.state == "approved"
    assert result.valid_until == LATER
    assert state(decisions, quorum=2, now=LATER).state == "pending"


def test_rejection_voids_earlier_approvals_only() -> None:
    decisions = [facts(1, "approve", "ann"), facts(2, "reject", "rita", envs=())]
    assert state(decisions).state == "rejected"
    decisions.append(facts(3, "approve", "bob"))
    assert state(decisions).approvers == ("bob",)


def test_environments_are_separate() -> None:
    decisions = [
        facts(1, "approve", "ann", envs=("staging",)),
        facts(2, "reject", "rita", envs=("prod",)),
    ]
    assert state(decisions, env="staging").state == "approved"
    assert state(decisions, env="prod").state == "rejected"
    assert state(decisions, env="dev").state == "pending"


def test_order_is_by_id_not_by_list_position() -> None:
    decisions = [facts(2, "reject", "rita", envs=()), facts(1, "approve", "ann")]
    assert state(decisions).state == "rejected"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"verdict": "approve"}, "--use-case, --population, --env, --expires"),
        ({"verdict": "reject"}, "--note"),
        (
            {
                "verdict": "approve_with_conditions",
                "use_case": "u",
                "population": "p",
                "environments": ["prod"],
                "expires": "9d",
                "conditions": [" "],
            },
            "condition",
        ),
        ({"verdict": "reject", "note": "n", "environments": ["prod", "prod"]}, "listed twice"),
    ],
)
def test_requests_missing_what_their_verdict_needs(fields, message) -> None:
    with pytest.raises(BadInput, match=message):
        check_request(DecisionRequest(**fields))
