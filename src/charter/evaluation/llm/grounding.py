"""The grounding metrics of the ``llm`` suite over a set of records.

The per-answer scorer (sentences, chunks, support threshold) is
:mod:`charter.guard.grounding`, shared with the output guardrail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from charter.evaluation._numeric import FloatArray
from charter.guard.grounding import TextVectors, sentence_support


@dataclass
class GroundingScores:
    """Per-record support and groundedness (NaN where a record has no context or answer)."""

    support: FloatArray
    grounded: FloatArray
    empty_answers: int = 0
    sentences: int = 0
    sentences_supported: int = 0
    #: Unsupported sentences, least similar first: record (1-based), sentence, similarity.
    least_supported: list[dict[str, Any]] = field(default_factory=list)


def score_grounding(
    answer_sentences: Sequence[Sequence[str]],
    chunks: Sequence[Sequence[str]],
    vectors: TextVectors,
    threshold: float,
) -> GroundingScores:
    """Score every record whose context has chunks; ``vectors`` holds all the texts."""
    n = len(answer_sentences)
    scores = GroundingScores(support=np.full(n, np.nan), grounded=np.full(n, np.nan))
    unsupported: list[dict[str, Any]] = []
    for i in range(n):
        if not chunks[i]:
            continue
        sentences = answer_sentences[i]
        if not sentences:
            scores.empty_answers += 1
            continue
        found = sentence_support(vectors.of(sentences), vectors.of(chunks[i]), threshold)
        scores.support[i] = float(found.supported.mean())
        scores.grounded[i] = float(found.supported.all())
        scores.sentences += len(sentences)
        scores.sentences_supported += int(found.supported.sum())
        for sentence, score in zip(sentences, found.best, strict=True):
            if score < threshold:
                unsupported.append(
                    {"record": i + 1, "sentence": sentence[:300], "similarity": float(score)}
                )
    unsupported.sort(key=lambda u: u["similarity"])
    scores.least_supported = unsupported
    return scores
