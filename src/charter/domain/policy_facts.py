"""What read paths need of a policy pack, without the pack's validating model.

The pydantic model of a pack (:mod:`charter.domain.policy.model`) costs a fifth of a second
to import and a twentieth to build; `charter status` needs none of its validation (a
stored pack was validated when it was applied), only which controls apply where and what
approval needs. The rules those answers follow live here once: the model's methods call
the same functions, so the two cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from charter.domain.approvals import DEFAULT_REQUIREMENT, ApprovalRequirement

#: Roles whose approvals count when an ``approval_quorum`` control names none.
DEFAULT_QUORUM_ROLES: tuple[str, ...] = ("approver",)
#: ``vendor_not_deprecated``'s notice period when the control sets none.
DEFAULT_VENDOR_NOTICE_DAYS = 60


def recorded_flags(assessment: Mapping[str, Any] | None) -> frozenset[str] | None:
    """The intake flags a stored assessment records; None when it records none.

    None (a system assessed before flags existed) makes every flag-conditioned control
    apply, so a missing record fails closed.
    """
    recorded = (assessment or {}).get("flags")
    return frozenset(str(f) for f in recorded) if isinstance(recorded, list) else None


def control_applies(
    tiers: Collection[str],
    environments: Collection[str] | None,
    when_flags: Collection[str] | None,
    *,
    tier: str,
    environment: str | None,
    flags: Collection[str] | None,
) -> bool:
    """Whether a control (its ``tiers``, ``environments``, ``when_flags``) applies to
    ``tier`` in ``environment`` (None: any) for a system with intake ``flags``.

    ``flags`` None means unknown (a system assessed before its pack had flags), and then
    flag-conditioned controls apply: unknown fails closed.
    """
    if tier not in tiers:
        return False
    if flags is not None and when_flags is not None and not any(f in flags for f in when_flags):
        return False
    return environment is None or environments is None or environment in environments


def independent_provisioning(
    tier: str, independent_tiers: Collection[str] | None, tiers: Iterable[tuple[str, bool]]
) -> bool:
    """Whether approvals by accounts the author provisioned are discounted for ``tier``.

    ``independent_tiers`` (the pack's ``duties.independent_provisioning_tiers``) when set;
    otherwise on for the top tier only: the first of ``tiers`` (id, refused) not refused.
    """
    if independent_tiers is not None:
        return tier in independent_tiers
    top = next((tier_id for tier_id, refused in tiers if not refused), None)
    return tier == top


def approval_requirements(
    quorum_controls: Iterable[tuple[int, Sequence[str], str]], independent: bool
) -> tuple[ApprovalRequirement, ...]:
    """One requirement per applicable ``approval_quorum`` control (quorum, roles, id);
    without one, a single approval from the ``approver`` role."""
    found = tuple(
        ApprovalRequirement(quorum, tuple(roles), control_id, independent)
        for quorum, roles, control_id in quorum_controls
    )
    if found:
        return found
    if independent:
        return (replace(DEFAULT_REQUIREMENT, independent=True),)
    return (DEFAULT_REQUIREMENT,)


def rollout_applies(
    tiers: Sequence[str], environments: Sequence[str] | None, *, tier: str, environment: str
) -> bool:
    """Whether a ``rollout`` requirement covers a system of ``tier`` in ``environment``
    (no environments listed: every environment)."""
    return tier in tiers and (environments is None or environment in environments)


@dataclass(frozen=True)
class RolloutFacts:
    """A ``rollout`` requirement as read paths see it: where it applies, its hours."""

    tiers: tuple[str, ...]
    environments: tuple[str, ...] | None
    min_hours: float


@dataclass(frozen=True)
class ControlFacts:
    """A control as read paths see it: where it applies, its kind and raw params."""

    id: str
    kind: str
    tiers: tuple[str, ...]
    environments: tuple[str, ...] | None
    when_flags: tuple[str, ...] | None
    params: Mapping[str, Any]

    def applies_to(
        self, tier: str, environment: str | None, flags: Collection[str] | None = None
    ) -> bool:
        """See :func:`control_applies`."""
        return control_applies(
            self.tiers,
            self.environments,
            self.when_flags,
            tier=tier,
            environment=environment,
            flags=flags,
        )


@dataclass(frozen=True)
class PolicyFacts:
    """The parts of a stored (already validated) pack that `charter status` reads."""

    controls: tuple[ControlFacts, ...]
    tiers: tuple[tuple[str, bool], ...]
    independent_tiers: tuple[str, ...] | None
    rollout: tuple[RolloutFacts, ...] = ()

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> PolicyFacts:
        """The facts of a parsed pack document (its YAML as data)."""

        def strings(value: Any) -> tuple[str, ...] | None:
            return None if value is None else tuple(str(v) for v in value)

        duties = document.get("duties") or {}
        return cls(
            controls=tuple(
                ControlFacts(
                    id=c["id"],
                    kind=c["kind"],
                    tiers=tuple(c["tiers"]),
                    environments=strings(c.get("environments")),
                    when_flags=strings(c.get("when_flags")),
                    params=c.get("params") or {},
                )
                for c in document.get("controls") or []
            ),
            tiers=tuple((t["id"], bool(t.get("refused", False))) for t in document["tiers"]),
            independent_tiers=strings(duties.get("independent_provisioning_tiers")),
            rollout=tuple(
                RolloutFacts(
                    tiers=tuple(r["tiers"]),
                    environments=strings(r.get("environments")),
                    min_hours=float(r.get("min_hours", 0.0)),
                )
                for r in (document.get("rollout") or {}).get("requirements") or []
            ),
        )

    def controls_for(
        self, tier: str, environment: str | None = None, flags: Collection[str] | None = None
    ) -> list[ControlFacts]:
        """Controls required for ``tier`` in ``environment`` (as ``Policy.controls_for``)."""
        return [c for c in self.controls if c.applies_to(tier, environment, flags)]

    def approval_requirements(
        self, tier: str, environment: str | None = None, flags: Collection[str] | None = None
    ) -> tuple[ApprovalRequirement, ...]:
        """What approval needs (as ``Policy.approval_requirements``)."""
        independent = independent_provisioning(tier, self.independent_tiers, self.tiers)
        return approval_requirements(
            (
                (
                    int(c.params["quorum"]),
                    c.params.get("roles") or DEFAULT_QUORUM_ROLES,
                    c.id,
                )
                for c in self.controls_for(tier, environment, flags)
                if c.kind == "approval_quorum"
            ),
            independent,
        )

    def notice_days(
        self, tier: str, environment: str, flags: Collection[str] | None
    ) -> tuple[int, ...]:
        """The notice periods of the ``vendor_not_deprecated`` controls that apply."""
        return tuple(
            int(c.params.get("notice_days", DEFAULT_VENDOR_NOTICE_DAYS))
            for c in self.controls_for(tier, environment, flags)
            if c.kind == "vendor_not_deprecated"
        )

    def rollout_min_hours(self, tier: str, environment: str) -> float | None:
        """The hours of the first ``rollout`` requirement covering ``tier`` in
        ``environment`` (as ``RolloutPolicy.requirement_for``); None when none does."""
        return next(
            (
                r.min_hours
                for r in self.rollout
                if rollout_applies(r.tiers, r.environments, tier=tier, environment=environment)
            ),
            None,
        )


@functools.lru_cache(maxsize=64)
def policy_facts(digest: str, source: str) -> PolicyFacts:
    """The facts of a stored pack (cached per process: a version never changes)."""
    from charter.domain.text import load_yaml_document

    del digest  # the cache key; the source is what is read
    return PolicyFacts.of(load_yaml_document(source.encode("utf-8"), "policy"))
