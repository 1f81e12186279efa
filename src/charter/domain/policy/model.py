"""The policy pack model: intake questions and rules, tiers, controls, exception limits.

A pack (``apiVersion: charter.policy/v1``) is validated as a whole by
:func:`charter.domain.policy.loading.parse_policy`; these models are what a loaded pack is.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, model_validator

from charter.domain.approvals import ApprovalRequirement
from charter.domain.canonical import content_digest
from charter.domain.controls import ApprovalQuorumParams, ControlParams
from charter.domain.interventions import InterventionsPolicy
from charter.domain.policy.risk import RiskPolicy
from charter.domain.policy_facts import (
    approval_requirements,
    control_applies,
    independent_provisioning,
)
from charter.domain.roles import Role
from charter.domain.rollout import RolloutPolicy
from charter.domain.runbooks import Runbook
from charter.domain.text import SLUG_PATTERN

API_VERSION = "charter.policy/v1"
QUESTION_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
#: Approvers when a tier has no ``approval_quorum`` control.
DEFAULT_APPROVER_ROLES: tuple[str, ...] = (Role.APPROVER.value,)

QuestionType = Literal["enum", "bool", "string", "number", "list"]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
QuestionId = Annotated[str, Field(pattern=QUESTION_ID_PATTERN, max_length=64)]
FrameworkKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Option = Annotated[str, Field(min_length=1, max_length=200)]
Clause = Annotated[str, Field(min_length=1, max_length=200)]
ComponentKind = Literal["model", "prompt", "retrieval", "tool", "vendor_model", "dataset"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Strict):
    """One intake question; its ``id`` is the name CEL rules use for the answer."""

    id: QuestionId
    text: str = Field(min_length=1, max_length=2000)
    type: QuestionType
    options: list[Option] | None = Field(default=None, min_length=1, max_length=200)
    required: bool = False
    help: str = Field(default="", max_length=5000)

    @model_validator(mode="after")
    def _check_options(self) -> Question:
        if self.type == "enum" and not self.options:
            raise ValueError("an enum question needs `options`")
        if self.type in ("bool", "string", "number") and self.options is not None:
            raise ValueError(f"a {self.type} question takes no `options`")
        if self.options and len(set(self.options)) != len(self.options):
            raise ValueError("an option is listed twice")
        return self


class Rule(_Strict):
    """An intake rule: when the CEL expression is true, the system gets ``tier``."""

    id: Slug
    when: str = Field(min_length=1, max_length=4000)
    tier: Slug
    reason: str = Field(min_length=1, max_length=2000)


class Flag(_Strict):
    """An intake flag: set whenever its CEL expression is true (every flag is evaluated).

    Flags carry obligations that sit on top of the tier (transparency on top of high
    risk, general-purpose model duties, materiality): a control with ``when_flags``
    applies only to systems that intake gave one of those flags.
    """

    id: Slug
    when: str = Field(min_length=1, max_length=4000)
    reason: str = Field(min_length=1, max_length=2000)


class Intake(_Strict):
    """Questions, rules (first match wins), the tier when no rule matches, and flags."""

    questions: list[Question] = Field(min_length=1, max_length=200)
    rules: list[Rule] = Field(default_factory=list, max_length=500)
    default_tier: Slug
    flags: list[Flag] = Field(default_factory=list, max_length=200)


class Tier(_Strict):
    """A risk tier. ``refused`` tiers make intake refuse the registration."""

    id: Slug
    refused: bool = False
    description: str = Field(default="", max_length=5000)
    eu_ai_act: str = Field(default="", max_length=500)


class Control(_Strict):
    """A required control: what it checks (``kind`` + ``params``), for which tiers and where.

    ``params`` is the kind's own parameter model once the pack is loaded (see
    ``charter.domain.controls``), so ``control.params.notice_days`` reads naturally.
    """

    id: Slug
    description: str = Field(min_length=1, max_length=2000)
    kind: str = Field(min_length=1, max_length=64)
    tiers: list[Slug] = Field(min_length=1, max_length=20)
    environments: list[Slug] | None = Field(default=None, min_length=1, max_length=50)
    params: SerializeAsAny[ControlParams] = Field(default_factory=ControlParams)
    waivable: bool = False
    when_components: list[ComponentKind] | None = Field(default=None, min_length=1)
    #: Applies only to systems intake gave at least one of these flags.
    when_flags: list[Slug] | None = Field(default=None, min_length=1, max_length=50)
    maps_to: dict[FrameworkKey, list[Clause]] = Field(default_factory=dict)

    def applies_to(
        self, tier: str, environment: str | None, flags: Collection[str] | None = None
    ) -> bool:
        """Whether the control applies to ``tier`` in ``environment`` (None: any).

        ``flags`` are the system's intake flags; None means unknown (a system assessed
        before its pack had flags), and then flag-conditioned controls apply: unknown
        fails closed.
        """
        return control_applies(
            self.tiers,
            self.environments,
            self.when_flags,
            tier=tier,
            environment=environment,
            flags=flags,
        )


class ExceptionLimits(_Strict):
    """How long an exception may last per tier, and who may approve one."""

    max_days: dict[Slug, Annotated[int, Field(ge=1, le=3650)]] = Field(default_factory=dict)
    approver_roles: list[str] = Field(
        default_factory=lambda: list(DEFAULT_APPROVER_ROLES), min_length=1
    )


#: Environments a pack has when it declares none.
DEFAULT_ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "prod")
#: Roles that may never approve a release or an exception, whatever a pack says: the people
#: who build (developer), the machines that serve (service) and those who audit (auditor).
FORBIDDEN_APPROVER_ROLES = frozenset({Role.DEVELOPER.value, Role.SERVICE.value, Role.AUDITOR.value})


class Duties(_Strict):
    """Who may do what beyond the role grants: separation of duties the pack decides.

    ``status_roles`` may suspend, retire or resume a system; ``intake_roles`` accept an
    intake change proposed by someone else (a system's developers can only propose);
    ``independent_provisioning_tiers`` are the tiers where an approval by an account whose
    approver role was granted, or whose token was last rotated, by the release's author does
    not count towards quorum; ``external_evidence`` lists the suites a gate accepts from
    outside Charter's runner (evidence posted as JSON), per tier; ``service_evidence_tiers``
    require evidence produced by a ``service`` identity (CI) or reproduced by someone other
    than its author.
    """

    status_roles: list[str] = Field(
        default_factory=lambda: [Role.ADMIN.value, Role.RISK_ENGINEER.value], min_length=1
    )
    intake_roles: list[str] = Field(
        default_factory=lambda: [Role.RISK_ENGINEER.value, Role.ADMIN.value], min_length=1
    )
    independent_provisioning_tiers: list[Slug] | None = None
    external_evidence: dict[Slug, list[str]] = Field(default_factory=dict)
    service_evidence_tiers: list[Slug] = Field(default_factory=list)


class Policy(_Strict):
    """A validated policy pack. Build one with :func:`load_policy` or :func:`parse_policy`."""

    api_version: Literal["charter.policy/v1"] = Field(alias="apiVersion")
    name: Slug
    description: str = Field(default="", max_length=10_000)
    intake: Intake
    tiers: list[Tier] = Field(min_length=1, max_length=20)
    controls: list[Control] = Field(default_factory=list, max_length=1000)
    exceptions: ExceptionLimits = Field(default_factory=ExceptionLimits)
    interventions: InterventionsPolicy = Field(default_factory=InterventionsPolicy)
    environments: list[Slug] = Field(
        default_factory=lambda: list(DEFAULT_ENVIRONMENTS), min_length=1, max_length=50
    )
    duties: Duties = Field(default_factory=Duties)
    rollout: RolloutPolicy = Field(default_factory=RolloutPolicy)
    #: Alert type (the monitor that raised it, or ``attestation``) -> what to do about it.
    #: Types left out get Charter's default runbook (``charter.services.runbooks``).
    runbooks: dict[str, Runbook] = Field(default_factory=dict, max_length=50)
    #: The risk register: scales, ratings, review cadence, acceptance, templates.
    risk: RiskPolicy = Field(default_factory=RiskPolicy)

    def independent_provisioning(self, tier: str) -> bool:
        """Whether approvals by accounts the author provisioned are discounted for ``tier``.

        ``duties.independent_provisioning_tiers`` when the pack sets it; otherwise on for
        the top tier only (the most severe tier that is not refused outright).
        """
        return independent_provisioning(
            tier,
            self.duties.independent_provisioning_tiers,
            ((t.id, t.refused) for t in self.tiers),
        )

    # -- lookups -------------------------------------------------------------------------

    def tier(self, tier_id: str) -> Tier | None:
        """The tier called ``tier_id``, or None."""
        return next((t for t in self.tiers if t.id == tier_id), None)

    @property
    def tier_ids(self) -> list[str]:
        """Tier ids from most to least severe."""
        return [t.id for t in self.tiers]

    def question(self, question_id: str) -> Question | None:
        """The intake question called ``question_id``, or None."""
        return next((q for q in self.intake.questions if q.id == question_id), None)

    def control(self, control_id: str) -> Control | None:
        """The control called ``control_id``, or None."""
        return next((c for c in self.controls if c.id == control_id), None)

    def controls_for(
        self, tier: str, environment: str | None = None, flags: Collection[str] | None = None
    ) -> list[Control]:
        """Controls required for ``tier`` in ``environment`` (None: in any environment).

        ``flags``: the system's intake flags (None: unknown, every flag counts as set).
        """
        return [c for c in self.controls if c.applies_to(tier, environment, flags)]

    def flag(self, flag_id: str) -> Flag | None:
        """The intake flag called ``flag_id``, or None."""
        return next((f for f in self.intake.flags if f.id == flag_id), None)

    def max_exception_days(self, tier: str) -> int | None:
        """Longest exception allowed for ``tier``; None when the tier allows no exceptions."""
        return self.exceptions.max_days.get(tier)

    @property
    def exception_approver_roles(self) -> tuple[str, ...]:
        """Roles that may approve an exception."""
        return tuple(self.exceptions.approver_roles)

    def approval_requirements(
        self, tier: str, environment: str | None = None, flags: Collection[str] | None = None
    ) -> tuple[ApprovalRequirement, ...]:
        """What approval needs for ``tier`` in ``environment`` (None: in any environment).

        One requirement per applicable ``approval_quorum`` control; without one, a single
        approval from the ``approver`` role. The one approval rule
        (:func:`charter.domain.approvals.approval_in_force`) reads these.
        """
        return approval_requirements(
            (
                (c.params.quorum, c.params.roles, c.id)
                for c in self.controls_for(tier, environment, flags)
                if isinstance(c.params, ApprovalQuorumParams)
            ),
            self.independent_provisioning(tier),
        )

    # -- identity and comparison ---------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The normalised pack (defaults filled in, params per kind) as JSON-able data."""
        return self.model_dump(mode="json", by_alias=True)

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict`: comments and layout don't count."""
        return content_digest(self.to_dict())

    @property
    def content_digest(self) -> str:
        """Alias of :attr:`digest`."""
        return self.digest

    def diff(self, other: Policy) -> list[str]:
        """Human-readable changes from this pack to ``other`` (``charter policy diff``)."""
        from charter.domain.policy.diff import policy_changes

        return policy_changes(self.to_dict(), other.to_dict())
