"""Control kinds and gate evaluation: pure functions of a control and a release's facts.

- :mod:`.base`: parameter models, outcomes, the :data:`KINDS` registry, shared helpers
- :mod:`.evidence`: ``evaluation_evidence``, ``contract_metric``
- :mod:`.approvals`: ``approval_quorum``, ``approval_validity``, ``fallback_defined``
- :mod:`.monitoring`: ``live_monitors``
- :mod:`.guardrails`: ``guardrails``
- :mod:`.release`: ``documentation``, ``vendor_not_deprecated``
- :mod:`.records`: ``documented_values``
- :mod:`.risks`: ``risk_register``
- :mod:`.gate`: evaluating a control, applying exceptions, a gate's controls in order

Importing the package registers every built-in kind.
"""

from charter.domain.controls import (
    approvals,
    evidence,
    guardrails,
    monitoring,
    records,
    release,
    risks,
)
from charter.domain.controls.approvals import ApprovalQuorumParams
from charter.domain.controls.base import (
    KINDS,
    ControlKind,
    ControlParams,
    EvaluatedControl,
    Outcome,
    StrictParams,
    bound_status,
    register_kind,
)
from charter.domain.controls.gate import (
    apply_exceptions,
    evaluate_control,
    evaluate_controls,
    evaluate_gate,
)

__all__ = [
    "KINDS",
    "ApprovalQuorumParams",
    "ControlKind",
    "ControlParams",
    "EvaluatedControl",
    "Outcome",
    "StrictParams",
    "apply_exceptions",
    "approvals",
    "bound_status",
    "evaluate_control",
    "evaluate_controls",
    "evaluate_gate",
    "evidence",
    "guardrails",
    "monitoring",
    "records",
    "register_kind",
    "release",
    "risks",
]
