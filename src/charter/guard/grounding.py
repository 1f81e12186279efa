"""Grounding: is an answer supported by the passages it was given?

The scorer shared by the ``llm`` evaluation suite and the output guardrail: an answer is
split into sentences (:func:`split_sentences`), the context into passages and their
sentences (:func:`context_chunks`); a sentence is *supported* when its highest cosine
similarity to any chunk reaches a threshold (:data:`DEFAULT_GROUNDING_THRESHOLDS`, per
embedding backend). Pure Python and NumPy: the SDK imports it in serving processes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from charter.guard.embeddings import Embedder

#: Default support threshold per embedding backend (cosine similarity). MiniLM cosines
#: of a sentence and a passage that states it are typically 0.7-0.95, of an unrelated
#: claim on the same topic 0.3-0.55; TF-IDF cosines are lower for the same overlap.
DEFAULT_GROUNDING_THRESHOLDS: dict[str, float] = {"minilm": 0.55, "lexical": 0.35}

_SENTENCE_END = re.compile(
    # a sentence end, closing quotes, white space, then a capital or a digit
    "(?:(?<=[.!?\u2026])|(?<=[.!?\u2026][\"'\u201d\u2019)\\]]))"
    "(?<!\\bDr\\.)(?<!\\bMr\\.)(?<!\\bMs\\.)(?<!\\bMrs\\.)(?<!\\bProf\\.)(?<!\\bSt\\.)(?<!\\bvs\\.)"
    "\\s+(?=[\"'\u201c\u2018(\\[]?[A-Z0-9\u00c0-\u00dd])"
    "|\\n\\s*\\n"  # a blank line
    "|\\n(?=\\s*(?:[-*\u2022]|\\d+[.)])\\s)"  # before a list item
)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_WORD = re.compile(r"\w", re.UNICODE)


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences.

    Breaks after ``.``, ``!``, ``?`` or ``…`` followed by white space and an upper-case
    letter or digit (so "e.g. this" and "3.5 kg" stay whole), at blank lines, and before
    list items; list markers are stripped and fragments without a word character dropped.
    """
    parts = _SENTENCE_END.split(text.strip()) if text else []
    out = []
    for part in parts:
        cleaned = _BULLET.sub("", " ".join(part.split()))
        if _WORD.search(cleaned):
            out.append(cleaned)
    return out


class TextVectors:
    """Embeds a set of texts once and looks vectors up by text."""

    def __init__(self, embedder: Embedder, texts: Sequence[str]) -> None:
        unique = list(dict.fromkeys(texts))
        self.index = {text: i for i, text in enumerate(unique)}
        self.matrix = embedder.encode(unique) if unique else np.zeros((0, 1), np.float32)

    def of(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Rows of the given texts (each must have been embedded)."""
        return self.matrix[[self.index[t] for t in texts]]


def context_chunks(passages: Sequence[str]) -> list[str]:
    """Chunks a sentence is compared with: each passage and each of its sentences."""
    chunks: list[str] = []
    for passage in passages:
        sentences = split_sentences(passage)
        chunks.extend(sentences)
        if len(sentences) != 1:
            whole = " ".join(passage.split())
            if whole:
                chunks.append(whole)
    return list(dict.fromkeys(chunks))


@dataclass(frozen=True)
class Support:
    """Per-sentence support of one answer: the best chunk similarity and the verdict."""

    best: NDArray[np.float32]
    supported: NDArray[np.bool_]


def sentence_support(
    sentences: NDArray[np.float32], chunks: NDArray[np.float32], threshold: float
) -> Support:
    """Support of each answer sentence (rows of unit vectors) by the context chunks."""
    best = (sentences @ chunks.T).max(axis=1)
    return Support(best=best, supported=best >= threshold)
