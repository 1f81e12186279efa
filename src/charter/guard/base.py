"""The scanner interface: what a guardrail scanner takes and what it returns.

A scanner is pure and in-process: it looks at one text (and, at the output stage, the
prompt, the retrieved context, the system prompt and any canary tokens) and returns a
:class:`ScanResult`: a verdict (``pass``, ``flag`` or ``block``), a score in [0, 1], the
character spans it found and, when it can, the text with those spans redacted. What a
finding *does* (block the request, redact it, or only flag it) is the policy's decision,
applied by :mod:`charter.guard.pipeline`, not the scanner's.

Nothing here imports server-side modules: the SDK imports this package in serving
processes.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from charter.domain.errors import BadInput

Stage = Literal["input", "output"]
Verdict = Literal["pass", "flag", "block", "error"]
STAGES: tuple[Stage, ...] = ("input", "output")


@dataclass(frozen=True, slots=True)
class Span:
    """A finding's place in the scanned text: ``text[start:end]``, and what it is."""

    start: int
    end: int
    label: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the matched text itself is never included: it may be personal)."""
        return {"start": self.start, "end": self.end, "label": self.label}


@dataclass(frozen=True, slots=True)
class ScanContext:
    """What an output scanner may compare the answer with; empty for input scans."""

    prompt: str | None = None
    context: tuple[str, ...] = ()
    system_prompt: str | None = None
    canaries: tuple[str, ...] = ()


EMPTY_CONTEXT = ScanContext()

_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes read with ``surrogateescape``)
    replaced by U+FFFD, one for one, so offsets hold and every scanner can encode it."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


@dataclass(frozen=True, slots=True)
class ScanResult:
    """One scanner's verdict on one text."""

    scanner: str
    verdict: Verdict
    score: float
    spans: tuple[Span, ...] = ()
    #: The text with the spans replaced by typed placeholders (redacting scanners only).
    redacted: str | None = None
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """True when the scanner found something (a flag or a block)."""
        return self.verdict in ("flag", "block")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (used by the CLI and the guardrails suite)."""
        return {
            "scanner": self.scanner,
            "verdict": self.verdict,
            "score": round(float(self.score), 6),
            "spans": [s.to_dict() for s in self.spans],
            "reason": self.reason,
            "details": dict(self.details),
        }


class Scanner(abc.ABC):
    """Base class of guardrail scanners (built-in and plugins).

    Subclasses set ``name``, ``stages`` (where the scanner may run), ``can_redact`` and
    implement :meth:`scan`. A scanner must not raise on any text (the pipeline turns an
    exception into an ``error`` verdict anyway) and must take time linear in its length.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    stages: ClassVar[tuple[Stage, ...]] = STAGES
    can_redact: ClassVar[bool] = False
    summary: ClassVar[str] = ""

    @abc.abstractmethod
    def scan(self, text: str, context: ScanContext = EMPTY_CONTEXT) -> ScanResult:
        """Scan ``text``; ``context`` carries the prompt and retrieval for output scans."""

    def configured(self, settings: Mapping[str, Any]) -> Scanner:
        """This scanner with policy settings applied; scanners without settings take none."""
        if settings:
            raise BadInput(
                f"the {self.name} scanner takes no settings; got "
                f"{', '.join(map(repr, sorted(settings)))}",
                location=f"guardrails.scanners.{self.name}",
            )
        return self

    def result(
        self,
        verdict: Verdict,
        score: float,
        spans: Sequence[Span] = (),
        *,
        redacted: str | None = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> ScanResult:
        """Build this scanner's result."""
        return ScanResult(
            scanner=self.name,
            verdict=verdict,
            score=min(1.0, max(0.0, float(score))),
            spans=tuple(spans),
            redacted=redacted,
            reason=reason,
            details=details or {},
        )


def check_settings(name: str, settings: Mapping[str, Any], known: Sequence[str]) -> None:
    """Refuse unknown setting keys, naming the known ones."""
    if not isinstance(settings, Mapping):
        raise BadInput("scanner settings must be a mapping", location=f"guardrails.{name}")
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise BadInput(
            f"unknown setting(s) {', '.join(map(repr, unknown))} for the {name} scanner; "
            f"known: {', '.join(known)}",
            location=f"guardrails.scanners.{name}",
        )


def number_setting(
    name: str, settings: Mapping[str, Any], key: str, default: float, low: float, high: float
) -> float:
    """A finite number setting within [low, high]."""
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadInput(
            f"{key} must be a number in [{low:g}, {high:g}], got {value!r}",
            location=f"guardrails.scanners.{name}.{key}",
        )
    return float(value)


def redact(text: str, spans: Sequence[Span]) -> str:
    """``text`` with each (non-overlapping, sorted) span replaced by ``[LABEL]``."""
    out: list[str] = []
    last = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < last:
            continue
        out.append(text[last : span.start])
        out.append(f"[{span.label.upper()}]")
        last = span.end
    out.append(text[last:])
    return "".join(out)
