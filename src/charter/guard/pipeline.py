"""Running a configured set of scanners and applying the policy's actions.

A :class:`GuardConfig` lists, per stage, the scanners to run and what a finding does
(:class:`ScannerRule`): ``block`` the request, ``redact`` the spans (typed placeholders),
or only ``flag`` it; and what an erroring scanner does (``on_error``: ``block`` = fail
closed, ``flag`` or ``pass`` = fail open). A scanner's own ``flag`` verdict (a weak
signal) never blocks. Every scanner sees the original text; the redactions of all
redacting scanners are merged into one redacted text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from charter.domain.errors import BadInput
from charter.guard.base import (
    EMPTY_CONTEXT,
    STAGES,
    ScanContext,
    Scanner,
    ScanResult,
    Span,
    Stage,
    redact,
    replace_surrogates,
)

Action = Literal["block", "redact", "flag"]
OnError = Literal["block", "flag", "pass"]
ACTIONS: tuple[Action, ...] = ("block", "redact", "flag")
ON_ERROR: tuple[OnError, ...] = ("block", "flag", "pass")


@dataclass(frozen=True)
class ScannerRule:
    """One scanner at one stage: what its finding does, and what its failure does."""

    scanner: str
    action: Action = "block"
    on_error: OnError = "block"
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardConfig:
    """The scanners of each stage, in the order they run."""

    input: tuple[ScannerRule, ...] = ()
    output: tuple[ScannerRule, ...] = ()

    def rules(self, stage: Stage) -> tuple[ScannerRule, ...]:
        """The rules of ``stage``."""
        return self.input if stage == "input" else self.output

    @classmethod
    def from_mapping(cls, raw: Any, location: str = "guardrails") -> GuardConfig:
        """Build from ``{input: [{scanner, action, on_error, settings}], output: [...]}``."""
        if not isinstance(raw, Mapping):
            raise BadInput("expected a mapping with input and output lists", location=location)
        unknown = sorted(set(raw) - set(STAGES))
        if unknown:
            raise BadInput(f"unknown stage(s) {', '.join(unknown)}", location=location)
        stages: dict[str, tuple[ScannerRule, ...]] = {}
        for stage in STAGES:
            entries = raw.get(stage) or []
            if not isinstance(entries, Sequence) or isinstance(entries, str):
                raise BadInput("expected a list of scanners", location=f"{location}.{stage}")
            parsed = []
            for index, entry in enumerate(entries):
                where = f"{location}.{stage}[{index}]"
                if isinstance(entry, str):
                    entry = {"scanner": entry}
                if not isinstance(entry, Mapping) or not isinstance(entry.get("scanner"), str):
                    raise BadInput("each entry needs a `scanner` name", location=where)
                extra = sorted(set(entry) - {"scanner", "action", "on_error", "settings"})
                if extra:
                    raise BadInput(f"unknown field(s) {', '.join(extra)}", location=where)
                action = entry.get("action", "block")
                on_error = entry.get("on_error", "block")
                if action not in ACTIONS:
                    raise BadInput(f"action must be one of {', '.join(ACTIONS)}", location=where)
                if on_error not in ON_ERROR:
                    raise BadInput(f"on_error must be one of {', '.join(ON_ERROR)}", location=where)
                settings = entry.get("settings") or {}
                if not isinstance(settings, Mapping):
                    raise BadInput("settings must be a mapping", location=f"{where}.settings")
                parsed.append(ScannerRule(entry["scanner"], action, on_error, dict(settings)))
            names = [r.scanner for r in parsed]
            if len(set(names)) != len(names):
                raise BadInput("a scanner is listed twice", location=f"{location}.{stage}")
            stages[stage] = tuple(parsed)
        return cls(input=stages["input"], output=stages["output"])


#: Without a policy (``charter guard scan`` with no ``--system``): every built-in
#: scanner that needs no configuration, failing closed on injection and secrets.
DEFAULT_CONFIG = GuardConfig(
    input=(
        ScannerRule("prompt_injection", "block", "block"),
        ScannerRule("pii", "redact", "block"),
        ScannerRule("secrets", "block", "block"),
        ScannerRule("toxicity", "flag", "flag"),
    ),
    output=(
        ScannerRule("pii", "redact", "block"),
        ScannerRule("secrets", "redact", "block"),
        ScannerRule("toxicity", "block", "flag"),
        ScannerRule("echo", "block", "block"),
    ),
)


@dataclass(frozen=True)
class Finding:
    """One scanner's result and what the policy made of it."""

    result: ScanResult
    action: Action | Literal["none"]
    blocked: bool
    flagged: bool


@dataclass(frozen=True)
class GuardOutcome:
    """The verdict on one text: blocked, flagged, the redacted text, and every finding."""

    stage: Stage
    blocked: bool
    flagged: bool
    text: str
    findings: tuple[Finding, ...]

    @property
    def redacted(self) -> bool:
        """Whether any redaction was applied."""
        return any(f.action == "redact" and f.result.found for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: blocked, flagged, scanners that fired with scores and spans, text."""
        fired = [f for f in self.findings if f.result.verdict != "pass"]
        return {
            "stage": self.stage,
            "blocked": self.blocked,
            "flagged": self.flagged,
            "scanners": [r.result.scanner for r in fired],
            "results": [{**f.result.to_dict(), "action": f.action} for f in fired],
            "redacted_text": self.text if self.redacted else None,
        }


class Guard:
    """A configured scanner set; :meth:`scan` never raises on any text."""

    def __init__(self, config: GuardConfig, scanners: Mapping[str, Scanner]) -> None:
        self.config = config
        self._stages: dict[Stage, list[tuple[ScannerRule, Scanner]]] = {}
        for stage in STAGES:
            chosen = []
            for index, rule in enumerate(config.rules(stage)):
                where = f"guardrails.{stage}[{index}]"
                if rule.scanner not in scanners:
                    raise BadInput(
                        f"unknown scanner {rule.scanner!r}; available: "
                        f"{', '.join(sorted(scanners))}",
                        location=where,
                    )
                scanner = scanners[rule.scanner].configured(rule.settings)
                if stage not in scanner.stages:
                    raise BadInput(
                        f"the {scanner.name} scanner runs at the "
                        f"{' and '.join(scanner.stages)} stage only",
                        location=where,
                    )
                if rule.action == "redact" and not scanner.can_redact:
                    raise BadInput(
                        f"the {scanner.name} scanner cannot redact; use block or flag",
                        location=where,
                    )
                chosen.append((rule, scanner))
            self._stages[stage] = chosen

    @classmethod
    def from_config(cls, config: GuardConfig) -> Guard:
        """A guard over the scanners the plugins provide."""
        from charter.guard.registry import available_scanners

        return cls(config, available_scanners())

    def scanner_names(self, stage: Stage) -> list[str]:
        """The scanners that run at ``stage``, in order."""
        return [s.name for _, s in self._stages[stage]]

    def scan(
        self, text: str, stage: Stage = "input", context: ScanContext = EMPTY_CONTEXT
    ) -> GuardOutcome:
        """Run the stage's scanners on ``text`` and apply the policy's actions."""
        text = replace_surrogates(text)
        findings: list[Finding] = []
        redactions: list[Span] = []
        for rule, scanner in self._stages[stage]:
            try:
                result = scanner.scan(text, context)
            except Exception as exc:  # a scanner is plugin code: report, never crash
                result = ScanResult(
                    scanner=scanner.name,
                    verdict="error",
                    score=0.0,
                    reason=f"{type(exc).__name__}: {str(exc)[:200]}",
                )
            if result.verdict == "error":
                findings.append(
                    Finding(result, "none", rule.on_error == "block", rule.on_error == "flag")
                )
                continue
            if result.verdict == "block":
                if rule.action == "redact" and result.redacted is not None:
                    redactions.extend(result.spans)
                    findings.append(Finding(result, "redact", False, True))
                elif rule.action == "redact":  # nothing to redact with: fail closed
                    findings.append(Finding(result, "block", True, True))
                else:
                    findings.append(Finding(result, rule.action, rule.action == "block", True))
            else:
                findings.append(Finding(result, "none", False, result.verdict == "flag"))
        final = _merge_redactions(text, redactions) if redactions else text
        return GuardOutcome(
            stage=stage,
            blocked=any(f.blocked for f in findings),
            flagged=any(f.flagged or f.blocked for f in findings),
            text=final,
            findings=tuple(findings),
        )


def _merge_redactions(text: str, spans: list[Span]) -> str:
    """One redacted text from the spans of several scanners (overlaps merged)."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            if span.end > last.end:
                merged[-1] = Span(last.start, span.end, last.label)
            continue
        merged.append(span)
    return redact(text, merged)
