"""The ``prompt_injection`` scanner: the rules layer, and the learned layer when enabled.

Rules (:mod:`charter.guard.injection.rules`) are always on; ``learned`` (``auto``: when
the shipped weights are present) adds the linear model of
:mod:`charter.guard.injection.learned`. A text is blocked when the rules score reaches
``block_threshold`` or the model's probability reaches its validated threshold, and
flagged from ``flag_threshold`` (rules) or the model's flag threshold. The score is the
larger of the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from charter.domain.errors import BadInput
from charter.guard import normalise
from charter.guard.base import (
    EMPTY_CONTEXT,
    ScanContext,
    Scanner,
    ScanResult,
    Span,
    Verdict,
    check_settings,
    number_setting,
)
from charter.guard.injection import learned, rules


class PromptInjectionScanner(Scanner):
    """Prompt injection and jailbreak attempts in inputs (and in retrieved documents)."""

    name = "prompt_injection"
    version = "1"
    summary = "Instruction override, persona and mode jailbreaks, prompt extraction, "
    summary += "fake turns, encoded and hidden payloads; rules plus an optional linear model."

    def __init__(
        self,
        *,
        block_threshold: float = 0.75,
        flag_threshold: float = 0.4,
        learned_layer: bool | str = "auto",
    ) -> None:
        if learned_layer not in (True, False, "auto"):
            raise BadInput(
                "learned must be true, false or auto",
                location="guardrails.scanners.prompt_injection.learned",
            )
        self.block_threshold = block_threshold
        self.flag_threshold = flag_threshold
        self.learned_layer = learned_layer
        if learned_layer is True and not learned.model_available():
            raise BadInput(
                "the learned layer's weights (charter/guard/data/injection.npz) are missing",
                location="guardrails.scanners.prompt_injection.learned",
            )

    @property
    def uses_model(self) -> bool:
        """Whether the learned layer runs."""
        return self.learned_layer is True or (
            self.learned_layer == "auto" and learned.model_available()
        )

    def configured(self, settings: Mapping[str, Any]) -> Scanner:
        """Settings: ``block_threshold`` (0.75), ``flag_threshold`` (0.4), ``learned``."""
        check_settings(self.name, settings, ("block_threshold", "flag_threshold", "learned"))
        return PromptInjectionScanner(
            block_threshold=number_setting(
                self.name, settings, "block_threshold", self.block_threshold, 0, 1
            ),
            flag_threshold=number_setting(
                self.name, settings, "flag_threshold", self.flag_threshold, 0, 1
            ),
            learned_layer=settings.get("learned", self.learned_layer),
        )

    def scan(self, text: str, context: ScanContext = EMPTY_CONTEXT) -> ScanResult:
        """Score with the rules, then (if enabled) the model; spans are the rule matches."""
        hits, signals = rules.find_hits(text)
        rules_score = rules.combine(hits, signals)
        probability = None
        model_block = model_flag = False
        if self.uses_model:
            model = learned.load_model()
            probability = model.probability(text)
            model_block = probability >= model.threshold
            model_flag = probability >= model.flag_threshold
        score = max(rules_score, probability or 0.0)
        details: dict[str, Any] = {
            "rules_score": round(rules_score, 6),
            "learned_probability": None if probability is None else round(probability, 6),
            "rules": sorted({f"{h.rule}" for h in hits}),
            "variants": sorted({h.variant for h in hits}),
            "signals": signals,
        }
        verdict: Verdict
        if rules_score >= self.block_threshold or model_block:
            verdict = "block"
        elif rules_score >= self.flag_threshold or model_flag:
            verdict = "flag"
        else:
            return self.result("pass", score, details=details)
        spans = self._spans(text, hits)
        layer = "rules" if rules_score >= self.flag_threshold else "learned"
        why = ", ".join(details["rules"]) if hits else f"model {probability:.2f}"
        return self.result(verdict, score, spans, reason=f"{layer}: {why}", details=details)

    @staticmethod
    def _spans(text: str, hits: list[rules.Hit]) -> list[Span]:
        """Spans in the original text for hits on its skeleton; decoded ones cover all."""
        spans: list[Span] = []
        origin: list[int] | None = None
        for hit in hits:
            if hit.variant in ("text", "leetspeak", "rot13"):
                origin = origin or normalise.offset_map(text)
                start = origin[min(hit.start, len(origin) - 1)]
                end = origin[min(max(hit.end - 1, 0), len(origin) - 1)] + 1
                spans.append(Span(start, min(end, len(text)), hit.rule))
            else:
                spans.append(Span(0, len(text), hit.rule))
        return sorted(set(spans), key=lambda s: (s.start, s.end, s.label))
