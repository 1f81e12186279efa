"""The ``toxicity`` scanner: a small shipped classifier plus policy-defined banned topics.

The classifier is alt-profanity-check's calibrated linear SVM over TF-IDF word
unigrams (MIT; trained on ~200k human-labelled comments), exported to
``charter/guard/data/toxicity.npz`` by ``scripts/guard/export_toxicity.py`` and evaluated
here in NumPy: lower-case tokens ``\\b\\w\\w+\\b``, term counts times IDF, L2 norm, the
five SVM decision values each through its Platt sigmoid, averaged. A text is blocked at
``block_threshold`` (0.8) and flagged at ``flag_threshold`` (0.5); the words the model
calls toxic on their own are the spans (and what redaction replaces).

Banned topics are the policy's: ``banned_topics: {topic: [phrase, ...]}``; a phrase
matches whole words of the normalised text (case, confusables, invisible characters and
accents do not hide it) and blocks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

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
    redact,
)

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
#: Texts longer than this are scored in windows of this many characters (the maximum
#: window probability counts), so one toxic sentence in a long document still shows.
WINDOW = 4096
MAX_WINDOWS = 64


@dataclass(frozen=True)
class ToxicityModel:
    """The exported classifier's arrays."""

    vocabulary: dict[str, int]
    idf: NDArray[np.float64]
    coef: NDArray[np.float64]
    intercept: NDArray[np.float64]
    a: NDArray[np.float64]
    b: NDArray[np.float64]
    toxic_word: NDArray[np.bool_]
    source: str

    def probability(self, text: str) -> tuple[float, list[tuple[int, int]]]:
        """P(toxic) of ``text`` and the spans of words that are toxic on their own."""
        counts: dict[int, int] = {}
        spans: list[tuple[int, int]] = []
        for match in _TOKEN.finditer(text.lower()):
            index = self.vocabulary.get(match.group(0))
            if index is None:
                continue
            counts[index] = counts.get(index, 0) + 1
            if self.toxic_word[index]:
                spans.append(match.span())
        if not counts:
            return self._empty, spans
        columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        values *= self.idf[columns]
        values /= np.linalg.norm(values)
        decision = self.coef[:, columns] @ values + self.intercept
        return float(np.mean(1.0 / (1.0 + np.exp(self.a * decision + self.b)))), spans

    @functools.cached_property
    def _empty(self) -> float:
        return float(np.mean(1.0 / (1.0 + np.exp(self.a * self.intercept + self.b))))


@functools.cache
def load_model() -> ToxicityModel:
    """The shipped classifier (read once per process)."""
    path = resources.files("charter.guard") / "data" / "toxicity.npz"
    with resources.as_file(path) as file, np.load(file, allow_pickle=False) as data:
        words = [str(w) for w in data["words"]]
        return ToxicityModel(
            vocabulary={w: i for i, w in enumerate(words)},
            idf=data["idf"].astype(np.float64),
            coef=data["coef"].astype(np.float64),
            intercept=data["intercept"].astype(np.float64),
            a=data["a"].astype(np.float64),
            b=data["b"].astype(np.float64),
            toxic_word=data["toxic_word"].astype(bool),
            source=str(data["source"]),
        )


def _topic_pattern(phrases: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(
        r"\s+".join(re.escape(w) for w in normalise.skeleton(p).split()) for p in phrases
    )
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


class ToxicityScanner(Scanner):
    """Toxic language (a shipped classifier) and banned topics (the policy's phrases)."""

    name = "toxicity"
    version = "1"
    can_redact = True
    summary = "Toxic language (shipped linear classifier) and policy-defined banned topics."

    def __init__(
        self,
        *,
        block_threshold: float = 0.8,
        flag_threshold: float = 0.5,
        banned_topics: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.block_threshold = block_threshold
        self.flag_threshold = flag_threshold
        self.banned_topics = dict(banned_topics or {})
        self._topics = {t: _topic_pattern(p) for t, p in self.banned_topics.items()}

    def configured(self, settings: Mapping[str, Any]) -> Scanner:
        """Settings: ``block_threshold``, ``flag_threshold``, ``banned_topics``."""
        check_settings(self.name, settings, ("block_threshold", "flag_threshold", "banned_topics"))
        topics = settings.get("banned_topics", self.banned_topics)
        where = "guardrails.scanners.toxicity.banned_topics"
        if not isinstance(topics, Mapping):
            raise BadInput("banned_topics must map a topic to a list of phrases", location=where)
        for topic, phrases in topics.items():
            if (
                not isinstance(topic, str)
                or isinstance(phrases, str)
                or not isinstance(phrases, list)
                or not phrases
                or not all(isinstance(p, str) and p.strip() and len(p) <= 200 for p in phrases)
                or len(phrases) > 1000
            ):
                raise BadInput(
                    f"topic {topic!r}: give a list of 1-1000 non-empty phrases",
                    location=f"{where}.{topic}",
                )
        return ToxicityScanner(
            block_threshold=number_setting(
                self.name, settings, "block_threshold", self.block_threshold, 0, 1
            ),
            flag_threshold=number_setting(
                self.name, settings, "flag_threshold", self.flag_threshold, 0, 1
            ),
            banned_topics=topics,
        )

    def scan(self, text: str, context: ScanContext = EMPTY_CONTEXT) -> ScanResult:
        """Score the text (the worst window of a long one) and look for banned topics."""
        model = load_model()
        probability = 0.0
        word_spans: list[Span] = []
        windows = range(0, max(len(text), 1), WINDOW)
        starts = list(windows)
        if len(starts) > MAX_WINDOWS:  # bounded work: the head and the tail of a huge text
            starts = starts[: MAX_WINDOWS // 2] + starts[-MAX_WINDOWS // 2 :]
        for start in starts:
            window = text[start : start + WINDOW]
            p, found = model.probability(window)
            probability = max(probability, p)
            word_spans += [Span(start + a, start + b, "toxic") for a, b in found]
        topic_spans: list[Span] = []
        if self._topics:
            plain = normalise.skeleton(text)
            origin: list[int] | None = None
            for topic, pattern in self._topics.items():
                for match in pattern.finditer(plain):
                    origin = origin or normalise.offset_map(text)
                    start, end = match.span()
                    topic_spans.append(Span(origin[start], origin[end - 1] + 1, f"topic:{topic}"))
        details = {"toxicity": round(probability, 6), "model": model.source}
        if topic_spans:
            topics = sorted({s.label.removeprefix("topic:") for s in topic_spans})
            spans = sorted(topic_spans + word_spans, key=lambda s: s.start)
            return self.result(
                "block",
                max(probability, 1.0),
                spans,
                redacted=redact(text, spans),
                reason=f"banned topic: {', '.join(topics)}",
                details={**details, "topics": topics},
            )
        if probability >= self.flag_threshold:
            verdict: Verdict = "block" if probability >= self.block_threshold else "flag"
            return self.result(
                verdict,
                probability,
                word_spans,
                redacted=redact(text, word_spans),
                reason=f"toxicity {probability:.2f}",
                details=details,
            )
        return self.result("pass", probability, details=details)
