"""The ``rollout`` section of a policy pack and the pure rules of canary and shadow periods.

```yaml
rollout:
  requirements:
    - tiers: [high]
      environments: [prod]
      kinds: [shadow, canary]   # either period counts
      min_hours: 24             # since the period started
      min_rows: 5000            # monitored rows of the candidate (canary) or pairs (shadow)
      min_windows: 1            # canary: judged windows of the candidate; shadow: hours compared
```

A requirement applies to replacing a live release in its environments for its tiers: a
plain ``charter deploy`` over a live release is refused there, and promotion is refused
until the period has actually been monitored (rows and windows that exist, not a field
saying so). A first deploy (nothing live to compare with) needs no period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from charter.domain.errors import BadInput
from charter.domain.policy_facts import rollout_applies

Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")]
Kind = Literal["canary", "shadow"]
KINDS: tuple[Kind, ...] = ("canary", "shadow")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RolloutRequirement(_Strict):
    """A canary or shadow period the tier needs before a new release takes all traffic."""

    tiers: list[Slug] = Field(min_length=1, max_length=20)
    environments: list[Slug] | None = Field(default=None, min_length=1, max_length=50)
    kinds: list[Kind] = Field(default_factory=lambda: list(KINDS), min_length=1)
    min_hours: float = Field(default=0.0, ge=0.0, le=24 * 365)
    min_rows: int = Field(default=0, ge=0, le=10**9)
    min_windows: int = Field(default=1, ge=0, le=10_000)

    def applies_to(self, tier: str, environment: str) -> bool:
        """Whether the requirement covers a system of ``tier`` in ``environment``."""
        return rollout_applies(self.tiers, self.environments, tier=tier, environment=environment)


class RolloutPolicy(_Strict):
    """The pack's ``rollout`` section (no requirement: periods are optional)."""

    requirements: list[RolloutRequirement] = Field(default_factory=list, max_length=50)

    def requirement_for(self, tier: str, environment: str) -> RolloutRequirement | None:
        """The first requirement covering ``tier`` in ``environment``, or None."""
        return next((r for r in self.requirements if r.applies_to(tier, environment)), None)


def check_share(share: float | None) -> float:
    """A canary share strictly between 0 and 1; BadInput otherwise (nothing is written)."""
    if share is None or isinstance(share, bool) or not isinstance(share, (int, float)):
        raise BadInput("a canary share is a number between 0 and 1", fields=["canary"])
    value = float(share)
    if not math.isfinite(value) or not 0.0 < value < 1.0:
        raise BadInput(
            f"a canary share must lie strictly between 0 and 1, not {share!r} "
            "(0 is no canary, 1 is a plain deploy)",
            fields=["canary"],
        )
    return value


@dataclass(frozen=True)
class PeriodFacts:
    """What was monitored of a rollout so far (from rows that exist)."""

    kind: str
    hours: float
    rows: int
    windows: int
    open_alerts: int = 0


def promotion_problems(requirement: RolloutRequirement | None, facts: PeriodFacts) -> list[str]:
    """Why a rollout may not be promoted yet under ``requirement`` (empty: it may).

    Open alerts on a canary's candidate always block: promoting a breaching candidate
    is what the canary exists to prevent.
    """
    problems = []
    if facts.open_alerts:
        problems.append(f"{facts.open_alerts} open alert(s) on the candidate")
    if requirement is None:
        return problems
    if facts.kind not in requirement.kinds:
        problems.append(f"the policy requires a {' or '.join(requirement.kinds)} period")
    if facts.hours < requirement.min_hours:
        problems.append(
            f"{facts.hours:.1f} h of the {requirement.min_hours:g} h period required so far"
        )
    unit = "rows monitored" if facts.kind == "canary" else "requests compared"
    if facts.rows < requirement.min_rows:
        problems.append(f"{facts.rows} {unit}, {requirement.min_rows} required")
    what = "windows judged" if facts.kind == "canary" else "hours compared"
    if facts.windows < requirement.min_windows:
        problems.append(f"{facts.windows} {what}, {requirement.min_windows} required")
    return problems


def kinds_text(kinds: Sequence[str]) -> str:
    """``shadow or canary`` for messages."""
    return " or ".join(kinds)
