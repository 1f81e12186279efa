"""The approvals queue: releases waiting for a decision, with their latest gate result.

A release waits when it has no decision yet and is newer than every decided release of
its system (older undecided ones have been overtaken), or when an environment its
approvals name is still short of the tier's quorum. Retired systems take no decisions, so
their releases never wait. A read model over the decisions; ``decisions.decide`` remains
the only way to act on it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from charter.domain.policy_facts import recorded_flags
from charter.domain.roles import Permission
from charter.services import approvals
from charter.services import decisions as decision_service
from charter.services.context import Context
from charter.store.models import Decision, GateRun, Release, System

#: Most entries returned (oldest first); a longer queue says so with ``truncated``.
MAX_ENTRIES = 500
#: The environment a first decision is assumed to be for (the queue's form defaults to it).
DEFAULT_ENVIRONMENT = "prod"


def waiting(ctx: Context, *, limit: int = MAX_ENTRIES) -> dict[str, Any]:
    """Releases waiting for a decision, oldest first: why, the approvals so far, the gate.

    Each entry also says whether the actor's role may approve or reject it under the
    policy in force (separation of duties is left to ``decide``, which refuses the author).
    """
    ctx.require(Permission.DECISION_READ)
    systems = {
        s.id: s for s in ctx.session.scalars(select(System).where(System.status != "retired"))
    }
    by_release: dict[int, list[Decision]] = defaultdict(list)
    for decision in ctx.session.scalars(
        select(Decision)
        .join(Release, Release.id == Decision.release_id)
        .where(Release.system_id.in_(systems))
        .order_by(Decision.id)
    ):
        by_release[decision.release_id].append(decision)
    newest_decided: dict[int, int] = {}
    for release_id, decided in by_release.items():
        system_id = decided[0].release.system_id
        newest_decided[system_id] = max(newest_decided.get(system_id, 0), release_id)
    candidates = ctx.session.scalars(
        select(Release).where(Release.system_id.in_(systems)).order_by(Release.id)
    )
    entries: list[dict[str, Any]] = []
    truncated = False
    for release in candidates:
        system = systems[release.system_id]
        decided = by_release.get(release.id, [])
        pending = []
        if decided:
            facts = approvals.decision_facts(decided)
            for env in sorted({e for d in facts for e in d.environments}):
                state = approvals.approval_for(ctx, release, env, facts=facts)
                if state.state == "pending":
                    pending.append(state)
            if not pending:
                continue
            why = "; ".join(
                f"{s.approvals} of {s.quorum} approvals for {s.environment}" for s in pending
            )
        elif release.id > newest_decided.get(release.system_id, 0):
            why = "awaiting a first decision"
        else:
            continue
        if len(entries) == limit:
            truncated = True
            break
        environments = [state.environment for state in pending] or [DEFAULT_ENVIRONMENT]
        intake_flags = recorded_flags(system.assessment)
        requirements = [
            r
            for env in environments
            for r in approvals.requirements_for(ctx, system.tier, env, intake_flags)
        ]
        entries.append(
            {
                "release": release,
                "system": system,
                "ref": f"{system.name}@{release.digest}",
                "why": why,
                "environments": environments,
                "quorum": max(r.quorum for r in requirements),
                "requirements": [r.describe() for r in requirements],
                "unmet": [line for state in pending for line in state.unmet],
                "pending": pending,
                "decisions": decided,
                "may_approve": decision_service.role_may_decide(
                    ctx, release, "approve", environments
                ),
                "may_reject": decision_service.role_may_decide(
                    ctx, release, "reject", environments
                ),
            }
        )
    gates: dict[int, GateRun] = {}
    if entries:
        for run in ctx.session.scalars(
            select(GateRun)
            .where(GateRun.release_id.in_([e["release"].id for e in entries]))
            .order_by(GateRun.id)
        ):
            gates[run.release_id] = run
    for entry in entries:
        entry["gate"] = gates.get(entry["release"].id)
    return {"entries": entries, "truncated": truncated}
