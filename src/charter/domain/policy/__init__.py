"""Policy packs: the model, CEL rules, loading and validation, the JSON Schema, intake.

A pack (``apiVersion: charter.policy/v1``) holds the intake questions and the CEL rules
that assign a risk tier, the tiers (most severe first), the controls each tier requires
and the limits on exceptions. The format, the control kinds and the default pack are
documented in ``docs/policy.md``.

- :mod:`.model`: the pydantic models of a pack (``Policy``, ``Control``, ``Tier``...)
- :mod:`.cel`: compiling, inspecting and evaluating CEL expressions
- :mod:`.loading`: ``load_policy`` / ``parse_policy``, whole-pack validation
- :mod:`.schema`: the published JSON Schema
- :mod:`.intake`: answers checked and a tier assigned
- :mod:`.diff`: human-readable changes between packs
"""

from charter.domain.policy.intake import IntakeAssessment, assess_intake, normalize_answers
from charter.domain.policy.loading import load_policy, parse_policy
from charter.domain.policy.model import (
    API_VERSION,
    DEFAULT_APPROVER_ROLES,
    Control,
    ExceptionLimits,
    Intake,
    Policy,
    Question,
    Rule,
    Tier,
)
from charter.domain.policy.schema import policy_json_schema, render_policy_schema

__all__ = [
    "API_VERSION",
    "DEFAULT_APPROVER_ROLES",
    "Control",
    "ExceptionLimits",
    "Intake",
    "IntakeAssessment",
    "Policy",
    "Question",
    "Rule",
    "Tier",
    "assess_intake",
    "load_policy",
    "normalize_answers",
    "parse_policy",
    "policy_json_schema",
    "render_policy_schema",
]
