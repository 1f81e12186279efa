"""Views of the governed records: users, systems, releases, decisions, audit, policy, gates.

Both adapters render these same models, so a command prints the same JSON whether it ran
against the local database or a server.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import ConfigDict

from charter.domain.approvals import ApprovalState
from charter.services.views.base import View
from charter.store.models import (
    AuditEvent,
    Decision,
    Evidence,
    PolicyException,
    PolicyVersion,
    Release,
    System,
    User,
)

T = TypeVar("T")


class Page(View, Generic[T]):
    """A page of a listing."""

    items: list[T]
    total: int
    limit: int
    offset: int


class UserView(View):
    """A user, without secrets."""

    name: str
    role: str
    created_at: datetime
    disabled: bool

    @classmethod
    def of(cls, user: User) -> UserView:
        """Build from a stored user."""
        return cls(
            name=user.name, role=user.role, created_at=user.created_at, disabled=user.disabled
        )


class NewTokenView(View):
    """A user with a freshly issued token: the only time the token is ever shown."""

    name: str
    role: str
    token: str


class SystemView(View):
    """An AI system in the inventory."""

    name: str
    owner: str
    purpose: str
    population: str
    surfaces: list[str]
    intake: dict[str, Any]
    tier: str
    status: str
    created_at: datetime
    created_by: str
    #: The intake assessment under the policy in force: tier, rule, controls that apply.
    assessment: dict[str, Any] | None = None
    #: An intake change proposed by a developer, waiting for a role the policy names.
    intake_proposal: dict[str, Any] | None = None

    @classmethod
    def of(cls, system: System, assessment: dict[str, Any] | None = None) -> SystemView:
        """Build from a stored system."""
        return cls(
            assessment=assessment,
            intake_proposal=system.intake_proposal,
            name=system.name,
            owner=system.owner,
            purpose=system.purpose,
            population=system.population,
            surfaces=list(system.surfaces),
            intake=dict(system.intake),
            tier=system.tier,
            status=system.status,
            created_at=system.created_at,
            created_by=system.created_by,
        )


class ComponentView(View):
    """One component of a release."""

    kind: str
    name: str
    digest: str
    spec: dict[str, Any]


class ApprovalView(View):
    """A release's approval state in one environment."""

    environment: str
    state: str
    approvals: int
    quorum: int
    valid_until: datetime | None
    approvers: list[str]

    @classmethod
    def of(cls, state: ApprovalState) -> ApprovalView:
        """Build from a computed approval state."""
        return cls(
            environment=state.environment,
            state=state.state,
            approvals=state.approvals,
            quorum=state.quorum,
            valid_until=state.valid_until,
            approvers=list(state.approvers),
        )


class ReleaseView(View):
    """A release: its digest, components, config and contract."""

    system: str
    digest: str
    ref: str
    label: str | None
    description: str
    created_at: datetime
    created_by: str
    components: list[ComponentView]
    config: dict[str, Any]
    contract: dict[str, Any]
    created: bool | None = None
    approvals: list[ApprovalView] | None = None

    @classmethod
    def of(
        cls,
        release: Release,
        *,
        created: bool | None = None,
        approvals: list[ApprovalState] | None = None,
    ) -> ReleaseView:
        """Build from a stored release."""
        document = json.loads(release.manifest)
        return cls(
            system=release.system.name,
            digest=release.digest,
            ref=f"{release.system.name}@{release.digest[:12]}",
            label=release.label,
            description=release.description,
            created_at=release.created_at,
            created_by=release.created_by.name,
            components=[
                ComponentView(kind=c.kind, name=c.name, digest=c.digest, spec=dict(c.spec))
                for c in release.components
            ],
            config=document.get("config", {}),
            contract=document.get("contract", {}),
            created=created,
            approvals=[ApprovalView.of(a) for a in approvals] if approvals is not None else None,
        )


class DecisionView(View):
    """A decision on a release."""

    id: int
    system: str
    digest: str
    verdict: str
    actor: str
    actor_role: str
    use_case: str
    population: str
    environments: list[str]
    contract: dict[str, Any]
    fallback: dict[str, Any] | None
    expires_at: datetime | None
    conditions: list[str]
    note: str
    policy_version: int | None
    supersedes: int | None
    created_at: datetime

    @classmethod
    def of(cls, decision: Decision) -> DecisionView:
        """Build from a stored decision."""
        return cls(
            id=decision.id,
            system=decision.release.system.name,
            digest=decision.release.digest,
            verdict=decision.verdict,
            actor=decision.actor.name,
            actor_role=decision.actor_role,
            use_case=decision.use_case,
            population=decision.population,
            environments=list(decision.environments),
            contract=dict(decision.contract),
            fallback=dict(decision.fallback) if decision.fallback else None,
            expires_at=decision.expires_at,
            conditions=list(decision.conditions),
            note=decision.note,
            policy_version=decision.policy_version,
            supersedes=decision.supersedes_id,
            created_at=decision.created_at,
        )


class AuditEventView(View):
    """One audit event, with its payload decoded."""

    seq: int
    at: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventView:
        """Build from a stored event."""
        return cls(
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            action=event.action,
            entity_type=event.entity_type,
            entity_id=event.entity_id,
            payload=json.loads(event.payload),
            prev_hash=event.prev_hash,
            hash=event.hash,
        )


class AuditHeadView(View):
    """The head of the audit chain, to anchor outside the database."""

    seq: int
    hash: str
    anchor: str


class RowFindingView(View):
    """One governed row that does not match the audit chain."""

    row: str
    problem: str
    seq: int | None


class AuditVerifyView(View):
    """The result of recomputing the audit chain and checking the state against it."""

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    broken_seq: int | None
    reason: str | None
    #: Anchors / checkpoints checked, and the newest event they cover.
    anchors: int = 0
    covered_seq: int = 0
    #: Governed rows compared with the chain (None: the state was not checked).
    rows_checked: int | None = None
    #: The rows that differ, have no event, or were deleted without one (first 200).
    row_findings: list[RowFindingView] = []
    row_findings_total: int = 0

    @classmethod
    def of(cls, report: Any) -> AuditVerifyView:
        """Build from a :class:`charter.services.audit_verify.VerifyReport`."""
        findings = list(report.row_findings)
        return cls(
            ok=report.ok,
            events=report.events,
            head_seq=report.head_seq,
            head_hash=report.head_hash,
            broken_seq=report.broken_seq,
            reason=report.reason,
            anchors=report.chain.anchors,
            covered_seq=report.chain.covered_seq,
            rows_checked=report.rows_checked,
            row_findings=[
                RowFindingView(row=f.row, problem=f.problem, seq=f.seq) for f in findings[:200]
            ],
            row_findings_total=len(findings),
        )


class PolicyVersionView(View):
    """An applied policy version."""

    version: int
    name: str
    digest: str
    created_at: datetime
    created_by: str
    source: str | None = None
    created: bool | None = None

    @classmethod
    def of(
        cls, version: PolicyVersion, *, with_source: bool = False, created: bool | None = None
    ) -> PolicyVersionView:
        """Build from a stored version."""
        return cls(
            version=version.version,
            name=version.name,
            digest=version.digest,
            created_at=version.created_at,
            created_by=version.created_by,
            source=version.source if with_source else None,
            created=created,
        )


class ExceptionView(View):
    """A waiver of one control for one release."""

    id: int
    system: str
    digest: str
    control_id: str
    environment: str | None
    status: str
    justification: str
    compensating: str
    expires_at: datetime
    policy_version: int
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str

    @classmethod
    def of(cls, item: PolicyException) -> ExceptionView:
        """Build from a stored exception."""
        return cls(
            id=item.id,
            system=item.release.system.name,
            digest=item.release.digest,
            control_id=item.control_id,
            environment=item.environment,
            status=item.status,
            justification=item.justification,
            compensating=item.compensating,
            expires_at=item.expires_at,
            policy_version=item.policy_version,
            requested_by=item.requested_by,
            requested_at=item.requested_at,
            decided_by=item.decided_by,
            decided_at=item.decided_at,
            decision_note=item.decision_note,
        )


class RouteView(View):
    """What serves a system in one environment, as the SDK reads it."""

    system: str
    environment: str
    state: str
    release: str
    previous_release: str | None
    fallback: dict[str, Any] | None
    approval: dict[str, Any]
    serve: dict[str, Any] | None
    why: str
    reason: str
    updated_at: datetime
    updated_by: str
    #: What the SDK needs besides the routing decision (see services/attestation.py).
    tier: str | None = None
    policy_version: int | None = None
    unreachable: str | None = None
    guard: dict[str, Any] | None = None
    attestation: dict[str, Any] | None = None
    #: The active canary or shadow: {kind, release, share, started_at} (None: none, or
    #: overridden by a kill, a lapsed approval or the system's status).
    rollout: dict[str, Any] | None = None


class EvidenceView(View):
    """Evaluation evidence on a release."""

    id: int
    system: str
    digest: str
    suite: str
    suite_version: str
    evidence_digest: str
    dataset_sha256: str | None
    passed: bool
    bounds: list[dict[str, Any]]
    created_at: datetime
    created_by: str
    result: dict[str, Any] | None = None
    created: bool | None = None
    #: Produced by Charter's runner or submitted from outside, by whom (null: outside).
    provenance: dict[str, Any] | None = None
    reproduced_by: str | None = None
    reproduced_at: datetime | None = None

    @classmethod
    def of(
        cls, item: Evidence, *, with_result: bool = False, created: bool | None = None
    ) -> EvidenceView:
        """Build from stored evidence."""
        return cls(
            provenance=item.provenance,
            reproduced_by=item.reproduced_by,
            reproduced_at=item.reproduced_at,
            id=item.id,
            system=item.release.system.name,
            digest=item.release.digest,
            suite=item.suite,
            suite_version=item.suite_version,
            evidence_digest=item.digest,
            dataset_sha256=item.dataset_sha256,
            passed=item.passed,
            bounds=list(item.bounds),
            created_at=item.created_at,
            created_by=item.created_by,
            result=json.loads(item.result) if with_result else None,
            created=created,
        )


class GateReportView(View):
    """A gate run: per control pass, fail, waived or not applicable, and the overall verdict."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    system: str
    digest: str
    environment: str
    tier: str
    policy_version: int
    passed: bool
    counts: dict[str, int]
    results: list[dict[str, Any]]
    gate_run_id: int | None = None
