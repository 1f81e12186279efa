"""What a release gate looks at: the facts the service layer gathers for one release.

Control evaluation (``charter.domain.controls``) is a pure function of a policy control
and these facts, so every control can be tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from charter.domain.approvals import DEFAULT_REQUIREMENT, ApprovalRequirement, DecisionFact
from charter.domain.contracts import Contract, MonitoringPlan
from charter.domain.risks import RegisterFacts

ControlStatus = Literal["pass", "fail", "waived", "not_applicable"]


@dataclass(frozen=True)
class EvidenceFact:
    """One evaluation result attached to the release."""

    id: int
    suite: str
    suite_version: str
    digest: str
    created_at: datetime
    #: Contract bounds checked by the evaluation: {"bound": "roc_auc >= 0.75", "passed": bool, ...}
    bounds: tuple[dict[str, Any], ...] = ()
    #: Metric name -> value (overall), for controls that read a metric directly.
    metrics: dict[str, Any] = field(default_factory=dict)
    #: The result's ``details`` (what the suite ran, its counts), for controls that need it.
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExceptionFact:
    """An exception (waiver) of one control for this release."""

    id: int
    control_id: str
    environment: str | None
    status: Literal["requested", "approved", "rejected", "revoked"]
    expires_at: datetime
    approved_by: str | None
    justification: str
    compensating: str


@dataclass(frozen=True)
class ReferenceFact:
    """The release's current reference profile, which live monitoring compares with."""

    digest: str
    rows: int
    features: tuple[str, ...]
    prediction: str | None
    score: str | None
    label: str | None
    cohort: str | None
    #: Realised accuracy on the reference rows (None without labels and predictions).
    baseline_accuracy: float | None


@dataclass(frozen=True)
class ReleaseFacts:
    """Everything a gate run evaluates, gathered by the service layer."""

    system: str
    tier: str
    #: System fields that documentation controls may require.
    system_fields: dict[str, Any]
    digest: str
    #: The release's canonical document: components, config, contract.
    document: dict[str, Any]
    environment: str
    now: datetime
    decisions: tuple[DecisionFact, ...] = ()
    evidence: tuple[EvidenceFact, ...] = ()
    exceptions: tuple[ExceptionFact, ...] = ()
    #: The policy version each decision was made under is in DecisionFact; this is the
    #: version the gate runs under.
    policy_version: int = 0
    #: The contract in force in ``environment``: the release's, tightened by the
    #: approvals that count there.
    contract: Contract = field(default_factory=Contract)
    #: What the monitoring worker will watch in ``environment`` (same plan as the worker).
    monitoring: MonitoringPlan | None = None
    #: The release's current reference profile, if one is set.
    reference: ReferenceFact | None = None
    #: What approval needs for the tier in ``environment`` under the policy in force.
    approval_requirements: tuple[ApprovalRequirement, ...] = (DEFAULT_REQUIREMENT,)
    #: The system's intake flags; None when unknown (assessed before its pack had flags):
    #: then every flag-conditioned control applies.
    flags: frozenset[str] | None = None
    #: Evidence the policy does not let the gate count (provenance), with the reason:
    #: ``{"id", "suite", "reason"}``; it is not in ``evidence``.
    ignored_evidence: tuple[dict[str, Any], ...] = ()
    #: The system's risk register under the pack in force (None: not gathered).
    risk_register: RegisterFacts | None = None
    #: This gate's results (exceptions applied) of every control whose kind does not read
    #: them, for the kinds that do (the risk register: a mitigation counts when its control
    #: passed). Set by the gate evaluation for those kinds only; None outside a gate.
    outcomes: tuple[ControlResult, ...] | None = None

    @property
    def components(self) -> list[dict[str, Any]]:
        """The release's components."""
        return list(self.document.get("components", []))

    def vendor_deprecations(self) -> list[tuple[str, date]]:
        """(component name, deprecation date) for every vendor model that declares one."""
        result = []
        for component in self.components:
            if component.get("kind") == "vendor_model" and component.get("deprecation_date"):
                result.append(
                    (component["name"], date.fromisoformat(component["deprecation_date"]))
                )
        return result


@dataclass(frozen=True)
class ControlResult:
    """The outcome of one control in one gate run."""

    control_id: str
    kind: str
    description: str
    status: ControlStatus
    reason: str
    #: What the control looked at (evidence ids, decision ids, dates...), JSON-able.
    evidence: dict[str, Any] = field(default_factory=dict)
    #: When waived: the exception id and until when.
    waiver: dict[str, Any] | None = None
    #: Regulatory clauses the control serves, copied from the pack.
    maps_to: dict[str, list[str]] = field(default_factory=dict)
