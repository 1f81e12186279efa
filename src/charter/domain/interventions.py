"""The ``interventions`` section of a policy pack: what a breach does, and what the SDK does
when the control plane cannot be reached.

```yaml
interventions:
  unreachable: {high: fail_closed, limited: fail_open, minimal: fail_open}
  rules:
    - {tiers: [high], monitors: [drift, performance], action: rollback}
    - {tiers: [high], monitors: [guardrails], action: kill}
    - {tiers: [high, limited, minimal], action: alert_only}
```

A rule matches an alert when the system's tier is in ``tiers``, the alert's monitor is in
``monitors`` (absent: any monitor) and its severity is in ``severities``; the first
matching rule decides. No matching rule means alert only. ``unreachable`` is the SDK's
rule when the control plane is down, slow or answers garbage: ``fail_closed`` serves the
approved fallback, ``fail_open`` keeps the last known route and flags every record. A tier
not listed fails open, except the built-in ``high`` which fails closed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")]
Action = Literal["alert_only", "kill", "rollback"]
Unreachable = Literal["fail_closed", "fail_open"]
Severity = Literal["info", "warning", "critical"]
ACTIONS: tuple[Action, ...] = ("alert_only", "kill", "rollback")
#: What a tier the section does not list does when the control plane is unreachable.
DEFAULT_UNREACHABLE: dict[str, Unreachable] = {"high": "fail_closed"}


_WARNING_UP: list[Severity] = ["warning", "critical"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InterventionRule(_Strict):
    """For alerts on systems of ``tiers`` (and these monitors and severities): an action."""

    tiers: list[Slug] = Field(min_length=1, max_length=20)
    monitors: list[Slug] | None = Field(default=None, min_length=1, max_length=50)
    severities: list[Severity] = Field(default_factory=lambda: list(_WARNING_UP), min_length=1)
    action: Action

    def matches(self, tier: str, monitor: str, severity: str) -> bool:
        """Whether an alert of ``monitor`` and ``severity`` on a ``tier`` system matches."""
        return (
            tier in self.tiers
            and (self.monitors is None or monitor in self.monitors)
            and severity in self.severities
        )


class InterventionsPolicy(_Strict):
    """The rules of automatic intervention and the SDK's unreachable rule, per tier."""

    unreachable: dict[Slug, Unreachable] = Field(default_factory=dict)
    rules: list[InterventionRule] = Field(default_factory=list, max_length=200)

    def decide(self, tier: str, monitor: str, severity: str) -> tuple[Action, int | None]:
        """The action for an alert and the index of the rule that chose it (None: default)."""
        for index, rule in enumerate(self.rules):
            if rule.matches(tier, monitor, severity):
                return rule.action, index
        return "alert_only", None

    def when_unreachable(self, tier: str) -> Unreachable:
        """What the SDK of a ``tier`` system does when the control plane cannot be reached."""
        if tier in self.unreachable:
            return self.unreachable[tier]
        return DEFAULT_UNREACHABLE.get(tier, "fail_open")
