"""The guardrails section of a policy pack: which scanners run per tier and stage, and what
their findings do.

```yaml
guardrails:
  banned_topics: {weapons: [pipe bomb, ghost gun]}   # read by the toxicity scanner
  tiers:
    high:
      input:
        - {scanner: prompt_injection, action: block, on_error: block}
        - {scanner: pii, action: redact}
      output:
        - {scanner: pii, action: redact}
        - {scanner: echo, action: block}
```

``action`` is ``block``, ``redact`` or ``flag``; ``on_error`` says what an erroring
scanner does (``block`` fails closed, ``flag``/``pass`` fail open). A tier the section
does not list uses :data:`DEFAULT_PROFILES`. The pack model references this with one
field (``guardrails: GuardrailsPolicy = Field(default_factory=GuardrailsPolicy)``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Phrase = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScannerPolicy(_Strict):
    """One scanner at one stage of one tier."""

    scanner: Name
    action: Literal["block", "redact", "flag"] = "block"
    on_error: Literal["block", "flag", "pass"] = "block"
    settings: dict[str, Any] = Field(default_factory=dict)


class StageProfile(_Strict):
    """The scanners of the input and output stages, in order."""

    input: list[ScannerPolicy] = Field(default_factory=list, max_length=50)
    output: list[ScannerPolicy] = Field(default_factory=list, max_length=50)


class GuardrailsPolicy(_Strict):
    """Per-tier scanner profiles and the policy's banned topics."""

    tiers: dict[Name, StageProfile] = Field(default_factory=dict)
    banned_topics: dict[Name, list[Phrase]] = Field(default_factory=dict)

    def profile(self, tier: str) -> StageProfile:
        """The tier's profile, else the built-in default for it (else for ``limited``)."""
        if tier in self.tiers:
            return self.tiers[tier]
        return DEFAULT_PROFILES.get(tier, DEFAULT_PROFILES["limited"])

    def config_mapping(self, tier: str) -> dict[str, Any]:
        """The tier's profile as ``charter.guard.GuardConfig.from_mapping`` reads it, with
        the banned topics handed to the toxicity scanner."""
        raw = self.profile(tier).model_dump()
        if self.banned_topics:
            for stage in ("input", "output"):
                for entry in raw[stage]:
                    if entry["scanner"] == "toxicity":
                        entry["settings"] = {
                            "banned_topics": self.banned_topics,
                            **entry["settings"],
                        }
        return raw


def _p(scanner: str, action: str = "block", on_error: str = "block") -> ScannerPolicy:
    return ScannerPolicy.model_validate(
        {"scanner": scanner, "action": action, "on_error": on_error}
    )


#: Built-in profiles: high-risk systems fail closed on every scanner; limited ones block
#: injection and secrets and redact personal data; minimal ones only flag.
DEFAULT_PROFILES: dict[str, StageProfile] = {
    "high": StageProfile(
        input=[_p("prompt_injection"), _p("pii", "redact"), _p("secrets"), _p("toxicity")],
        output=[_p("pii", "redact"), _p("secrets", "redact"), _p("toxicity"), _p("echo")],
    ),
    "limited": StageProfile(
        input=[
            _p("prompt_injection"),
            _p("pii", "redact"),
            _p("secrets"),
            _p("toxicity", "flag", "flag"),
        ],
        output=[
            _p("pii", "redact"),
            _p("secrets", "redact"),
            _p("toxicity", "block", "flag"),
            _p("echo"),
        ],
    ),
    "minimal": StageProfile(
        input=[
            _p("prompt_injection", "flag", "pass"),
            _p("pii", "redact", "pass"),
            _p("secrets", "block", "pass"),
        ],
        output=[_p("pii", "redact", "pass"), _p("secrets", "redact", "pass")],
    ),
}
