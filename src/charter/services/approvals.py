"""The approval rule as the services apply it: decisions, the policy in force, one fold.

:func:`approval_for` is what decisions, ``release show``, status, deploy, rollback, resume
and the route call; the gate's controls call the same domain fold on the same facts
(:func:`decision_facts`), with the same requirements (:func:`requirements_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from charter.domain.approvals import (
    APPROVING,
    DEFAULT_REQUIREMENT,
    ApprovalRequirement,
    ApprovalState,
    DecisionFact,
    approval_in_force,
    author_provisioned_reason,
    before_tier_lowered,
)
from charter.domain.policy_facts import recorded_flags
from charter.domain.text import iso_utc
from charter.services import policies
from charter.services.context import Context
from charter.store.models import Decision, Release


def requirements_for(
    ctx: Context, tier: str, environment: str | None, flags: frozenset[str] | None = None
) -> tuple[ApprovalRequirement, ...]:
    """What approval needs for ``tier`` in ``environment`` under the policy in force.

    ``flags``: the system's intake flags (:func:`charter.services.systems.flags_of`).
    """
    active = policies.in_force(ctx)
    if active is None:
        return (DEFAULT_REQUIREMENT,)
    return active[1].approval_requirements(tier, environment, flags)


def author_provisioned(decision: Decision, author: str | None = None) -> str | None:
    """Why the release's author may control the account that made ``decision``, or None.

    The author created the account, granted its role, or last rotated its token (and so
    held a working token for it). Accounts with unknown provenance are not suspected.
    """
    author = author if author is not None else decision.release.created_by.name
    actor = decision.actor
    return author_provisioned_reason(
        account=actor.name,
        role=actor.role,
        created_by=actor.created_by,
        role_granted_by=actor.role_granted_by,
        token_rotated_by=actor.token_rotated_by,
        author=author,
    )


def provenance_of(decision: Decision) -> dict[str, Any]:
    """Who provisioned the deciding account, and when: recorded with every decision."""
    actor = decision.actor
    return {
        "account": actor.name,
        "created_by": actor.created_by,
        "created_at": iso_utc(actor.created_at) if actor.created_at else None,
        "role_granted_by": actor.role_granted_by,
        "role_granted_at": iso_utc(actor.role_granted_at) if actor.role_granted_at else None,
        "token_rotated_by": actor.token_rotated_by,
        "token_rotated_at": iso_utc(actor.token_rotated_at) if actor.token_rotated_at else None,
    }


def _before_tier_lowered(
    decision: Decision, assessment: Mapping[str, Any] | None = None
) -> str | None:
    """Why an approval granted before the system's tier was lowered no longer counts."""
    if decision.verdict not in APPROVING:
        return None
    if assessment is None:
        assessment = decision.release.system.assessment or {}
    return before_tier_lowered(decision.verdict, decision.created_at, assessment)


def decision_facts(
    decisions: list[Decision],
    *,
    author: str | None = None,
    assessment: Mapping[str, Any] | None = None,
) -> tuple[DecisionFact, ...]:
    """The parts of stored decisions the approval rule reads, oldest first.

    ``author`` (the release creator's name) and ``assessment`` (its system's) are given by
    callers that read decisions without their release, for speed (``status``).
    """
    return tuple(
        DecisionFact(
            id=d.id,
            verdict=d.verdict,
            actor=d.actor.name,
            actor_role=d.actor_role,
            environments=tuple(d.environments),
            expires_at=d.expires_at,
            created_at=d.created_at,
            fallback=d.fallback,
            policy_version=d.policy_version,
            contract=d.contract,
            excluded=_before_tier_lowered(d, assessment),
            author_provisioned=author_provisioned(d, author) if d.verdict in APPROVING else None,
        )
        for d in sorted(decisions, key=lambda d: d.id)
    )


def release_decisions(ctx: Context, release: Release) -> list[Decision]:
    """All decisions on a release, oldest first."""
    return list(
        ctx.session.scalars(
            select(Decision).where(Decision.release_id == release.id).order_by(Decision.id)
        ).all()
    )


def approval_for(
    ctx: Context,
    release: Release,
    environment: str,
    *,
    facts: tuple[DecisionFact, ...] | None = None,
) -> ApprovalState:
    """The release's approval state in ``environment`` right now (no permission check)."""
    if facts is None:
        facts = decision_facts(release_decisions(ctx, release))
    return approval_in_force(
        facts,
        environment=environment,
        now=ctx.now(),
        requirements=requirements_for(
            ctx, release.system.tier, environment, recorded_flags(release.system.assessment)
        ),
    )


def approvals_of(ctx: Context, release: Release) -> list[ApprovalState]:
    """The release's approval state in every environment any of its decisions names."""
    facts = decision_facts(release_decisions(ctx, release))
    environments = sorted({env for d in facts for env in d.environments})
    return [approval_for(ctx, release, env, facts=facts) for env in environments]
