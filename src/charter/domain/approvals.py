"""The one approval rule: is a release approved for an environment, by whom, until when.

Every reader of approvals — the gate's quorum, validity and fallback controls, decisions
and ``release show``, status, deploy, rollback, resume and the route the SDK reads — calls
:func:`approval_in_force` with the requirements the policy in force sets for the system's
tier *in that environment* (:func:`requirements_from`), so they cannot disagree.

The fold: decisions are read oldest first; each approver's latest approval that covers the
environment counts once; a rejection covering the environment (a rejection naming no
environment covers all) voids every approval before it. An approval counts while it is
unexpired, was made in a role a requirement accepts, and is not excluded (for example
because the release's author granted the approver's role; see ``DecisionFact.excluded``).
The release is approved while every requirement has its quorum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal


@dataclass(frozen=True)
class DecisionFact:
    """One decision on the release (oldest first in ReleaseFacts.decisions)."""

    id: int
    verdict: str
    actor: str
    actor_role: str
    environments: tuple[str, ...]
    expires_at: datetime | None
    created_at: datetime
    fallback: dict[str, Any] | None
    policy_version: int | None
    #: The contract the approval was granted under (the release's, or a tightened one).
    contract: dict[str, Any] | None = None
    #: Why this approval does not count towards quorum (None: it counts).
    excluded: str | None = None
    #: Set when the release's author created the approver's account, granted its role or
    #: last rotated its token: the author could be acting through it. Requirements with
    #: ``independent`` do not count such an approval.
    author_provisioned: str | None = None


APPROVING: frozenset[str] = frozenset({"approve", "approve_with_conditions"})
#: Approvals needed when no policy sets a tier-dependent quorum.
DEFAULT_QUORUM = 1
#: Roles whose approvals count when no policy names them.
DEFAULT_ROLES: tuple[str, ...] = ("approver",)

State = Literal["approved", "pending", "rejected", "expired"]


@dataclass(frozen=True)
class ApprovalRequirement:
    """``quorum`` distinct approvals from ``roles``; ``control_id`` is the pack control."""

    quorum: int
    roles: tuple[str, ...]
    control_id: str | None = None
    #: Approvals through accounts the release's author provisioned do not count.
    independent: bool = False

    def describe(self) -> str:
        """``2 approval(s) from approver, risk_engineer``."""
        return f"{self.quorum} approval(s) from {', '.join(self.roles)}"


DEFAULT_REQUIREMENT = ApprovalRequirement(DEFAULT_QUORUM, DEFAULT_ROLES)


@dataclass(frozen=True)
class ApprovalState:
    """Whether a release is approved for an environment right now, and until when."""

    environment: str
    state: State
    #: Distinct unexpired approvals that count towards some requirement.
    approvals: int
    #: The largest quorum required (for display; ``requirements`` has them all).
    quorum: int
    valid_until: datetime | None
    approvers: tuple[str, ...]
    requirements: tuple[ApprovalRequirement, ...] = (DEFAULT_REQUIREMENT,)
    #: Ids of the approvals that count, oldest first.
    counted: tuple[int, ...] = ()
    #: What is still missing, one line per unmet requirement.
    unmet: tuple[str, ...] = ()
    #: Approvals that would count but do not, with the reason: ``(id, actor, why)``.
    excluded: tuple[tuple[int, str, str], ...] = ()
    #: The fallback named by the newest approval that counts (or, when none counts, by the
    #: newest approval covering the environment).
    fallback: dict[str, Any] | None = None
    #: The decision that named ``fallback``.
    fallback_from: int | None = None

    @property
    def approved(self) -> bool:
        """True while every requirement has its quorum."""
        return self.state == "approved"

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role whose approvals count."""
        seen: list[str] = []
        for requirement in self.requirements:
            seen.extend(r for r in requirement.roles if r not in seen)
        return tuple(seen)


def _aware(moment: datetime) -> datetime:
    """Stored times may come back naive (SQLite); they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def covers(decision: DecisionFact, environment: str) -> bool:
    """Whether a decision applies to ``environment`` (a rejection naming none covers all)."""
    if decision.verdict == "reject" and not decision.environments:
        return True
    return environment in decision.environments


def latest_approvals(
    decisions: Iterable[DecisionFact], environment: str
) -> tuple[list[DecisionFact], bool]:
    """Each approver's latest approval covering ``environment`` since the last rejection.

    Returns them oldest first, and whether a rejection came after every approval.
    """
    latest: dict[str, DecisionFact] = {}
    rejected = False
    for decision in sorted(decisions, key=lambda d: d.id):
        if not covers(decision, environment):
            continue
        if decision.verdict == "reject":
            latest.clear()
            rejected = True
        elif decision.verdict in APPROVING:
            latest.pop(decision.actor, None)
            latest[decision.actor] = decision
            rejected = False
    return sorted(latest.values(), key=lambda d: d.id), rejected


def _valid_until(approvals: Sequence[DecisionFact], quorum: int) -> datetime | None:
    """When fewer than ``quorum`` of ``approvals`` remain unexpired (None: never)."""
    expiries = sorted((_aware(d.expires_at) for d in approvals if d.expires_at), reverse=True)
    unexpiring = sum(1 for d in approvals if d.expires_at is None)
    if unexpiring >= quorum:
        return None
    needed = quorum - unexpiring
    return expiries[needed - 1] if len(expiries) >= needed else None


def approval_in_force(
    decisions: Sequence[DecisionFact],
    *,
    environment: str,
    now: datetime,
    requirements: Sequence[ApprovalRequirement] = (DEFAULT_REQUIREMENT,),
) -> ApprovalState:
    """Fold a release's decisions into its approval state for one environment (see module)."""
    requirements = tuple(requirements) or (DEFAULT_REQUIREMENT,)
    latest, rejected = latest_approvals(decisions, environment)
    unexpired = [d for d in latest if d.expires_at is None or _aware(d.expires_at) > now]
    excluded = [(d.id, d.actor, d.excluded) for d in unexpired if d.excluded]
    eligible = [d for d in unexpired if not d.excluded]
    if any(r.independent for r in requirements):
        excluded += [
            (d.id, d.actor, d.author_provisioned) for d in eligible if d.author_provisioned
        ]
    counted: dict[int, DecisionFact] = {}
    unmet: list[str] = []
    ends: list[datetime] = []
    for requirement in requirements:
        mine = [
            d
            for d in eligible
            if d.actor_role in requirement.roles
            and not (requirement.independent and d.author_provisioned)
        ]
        counted.update((d.id, d) for d in mine)
        if len(mine) < requirement.quorum:
            unmet.append(f"{len(mine)} of {requirement.describe()}")
        else:
            end = _valid_until(mine, requirement.quorum)
            if end is not None:
                ends.append(end)
    chosen = sorted(counted.values(), key=lambda d: d.id)
    quorum = max(r.quorum for r in requirements)
    state: State
    if not unmet:
        state = "approved"
    elif rejected:
        state = "rejected"
    elif latest and not unexpired:
        state = "expired"
    else:
        state = "pending"
    named = [d for d in (chosen or latest) if d.fallback]
    return ApprovalState(
        environment=environment,
        state=state,
        approvals=len(chosen),
        quorum=quorum,
        valid_until=min(ends) if ends and state == "approved" else None,
        approvers=tuple(sorted(d.actor for d in chosen)),
        requirements=requirements,
        counted=tuple(d.id for d in chosen),
        unmet=tuple(unmet),
        excluded=tuple(excluded),
        fallback=dict(named[-1].fallback) if named and named[-1].fallback else None,
        fallback_from=named[-1].id if named else None,
    )


def counted_approvals(
    decisions: Sequence[DecisionFact], state: ApprovalState
) -> list[DecisionFact]:
    """The decisions ``state`` counted, oldest first."""
    wanted = set(state.counted)
    return [d for d in sorted(decisions, key=lambda d: d.id) if d.id in wanted]


def author_provisioned_reason(
    *,
    account: str,
    role: str,
    created_by: str | None,
    role_granted_by: str | None,
    token_rotated_by: str | None,
    author: str,
) -> str | None:
    """Why the release's ``author`` may control the deciding ``account``, or None.

    The author created the account, granted its role, or last rotated its token (and so
    held a working token for it). Accounts with unknown provenance are not suspected.
    """
    if token_rotated_by == author and account != author:
        return f"{account}'s token was last rotated by {author}, the release's author"
    if role_granted_by == author or created_by == author:
        return f"{account}'s {role} role was granted by {author}, the release's author"
    return None


def before_tier_lowered(verdict: str, made: datetime, assessment: Mapping[str, Any]) -> str | None:
    """Why an approval granted before the system's tier was lowered no longer counts."""
    if verdict not in APPROVING:
        return None
    lowered = assessment.get("tier_lowered_at")
    if not lowered:
        return None
    made = made if made.tzinfo is not None else made.replace(tzinfo=UTC)
    if made > datetime.fromisoformat(lowered.replace("Z", "+00:00")):
        return None
    return (
        f"granted before the tier was lowered from {assessment.get('from_tier')} to "
        f"{assessment.get('tier')} ({lowered}): approve again under the new tier"
    )
