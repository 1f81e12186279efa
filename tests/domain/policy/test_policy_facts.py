"""What `charter status` reads of a stored pack (``PolicyFacts``, no pydantic) agrees with
the validated ``Policy`` model, for every tier, environment and flag set of several packs."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import yaml
from tests.domain.policy.packs import dump, load, pack
from tests.web.seed import PACK as CONSOLE_PACK

from charter.domain.policy import Policy
from charter.domain.policy_facts import DEFAULT_VENDOR_NOTICE_DAYS, PolicyFacts, policy_facts
from charter.services.policies import default_pack


def _with_flags_and_duties() -> dict[str, Any]:
    """The test pack with a flag-conditioned control, a quorum without roles (default), a
    vendor control without a notice period (default), independence set per tier and
    rollout requirements (one per environment list, one everywhere without hours)."""
    data = pack()
    data["intake"]["flags"] = [{"id": "chat", "when": "chatbot", "reason": "Art. 50(1)"}]
    data["controls"] += [
        {
            "id": "two-for-chat",
            "description": "two approvals for chatbots in prod",
            "kind": "approval_quorum",
            "tiers": ["limited"],
            "environments": ["prod"],
            "when_flags": ["chat"],
            "params": {"quorum": 2},
        },
        {
            "id": "vendor-default-notice",
            "description": "vendor models not deprecated",
            "kind": "vendor_not_deprecated",
            "tiers": ["high", "limited"],
        },
    ]
    data.setdefault("duties", {})["independent_provisioning_tiers"] = ["limited"]
    data["rollout"] = {
        "requirements": [
            {"tiers": ["high"], "environments": ["prod"], "min_hours": 24},
            {"tiers": ["high", "limited"], "kinds": ["shadow"]},
        ]
    }
    return data


PACKS = {
    "default": default_pack(),
    "test": dump(pack()),
    "console": yaml.safe_dump(CONSOLE_PACK).encode(),
    "flags and duties": dump(_with_flags_and_duties()),
}


def _policy(source: bytes) -> Policy:
    return load(yaml.safe_load(source))


@pytest.mark.parametrize("name", list(PACKS))
def test_policy_facts_agree_with_the_model(name: str) -> None:
    source = PACKS[name]
    policy = _policy(source)
    facts = policy_facts(policy.digest, source.decode("utf-8"))
    flag_ids = [f.id for f in policy.intake.flags]
    flag_sets: list[frozenset[str] | None] = [None, frozenset()]
    flag_sets += [frozenset(c) for c in itertools.combinations(flag_ids, 1)]
    flag_sets.append(frozenset(flag_ids))
    checked = 0
    for tier, environment, flags in itertools.product(
        [*policy.tier_ids, "unknown"], [*policy.environments, None], flag_sets
    ):
        assert [c.id for c in facts.controls_for(tier, environment, flags)] == [
            c.id for c in policy.controls_for(tier, environment, flags)
        ]
        assert facts.approval_requirements(
            tier, environment, flags
        ) == policy.approval_requirements(tier, environment, flags)
        if environment is not None:
            assert facts.notice_days(tier, environment, flags) == tuple(
                c.params.notice_days  # type: ignore[attr-defined]
                for c in policy.controls_for(tier, environment, flags)
                if c.kind == "vendor_not_deprecated"
            )
            requirement = policy.rollout.requirement_for(tier, environment)
            assert facts.rollout_min_hours(tier, environment) == (
                None if requirement is None else requirement.min_hours
            )
        checked += 1
    assert checked > 10


def test_the_defaults_a_pack_leaves_out_are_the_models() -> None:
    source = PACKS["flags and duties"]
    policy = _policy(source)
    facts = PolicyFacts.of(yaml.safe_load(source))
    (requirement,) = facts.approval_requirements("limited", "prod", frozenset({"chat"}))
    assert requirement.roles == ("approver",) and requirement.quorum == 2
    assert requirement.independent
    assert facts.notice_days("high", "prod", None)[-1] == DEFAULT_VENDOR_NOTICE_DAYS
    assert policy.approval_requirements("limited", "prod", frozenset({"chat"})) == (requirement,)
    assert facts.rollout_min_hours("high", "prod") == 24.0
    assert facts.rollout_min_hours("limited", "prod") == 0.0  # covered, no hours set
    assert facts.rollout_min_hours("minimal", "prod") is None
