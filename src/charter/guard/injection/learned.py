"""The learned layer of the prompt-injection scanner: a linear model over hashed text
features, evaluated in NumPy.

Features (:func:`features`) are read from the normalised skeleton of the text (as the
rules are): word unigrams and bigrams, and character 4-grams inside words, each hashed
with CRC-32 into :data:`N_FEATURES` buckets, counted, log-scaled and L2-normalised. The
model is a logistic regression trained by ``scripts/guard/train_injection.py`` on public
data (see ``docs/guardrails.md``) and shipped as ``charter/guard/data/injection.npz``:
the non-zero weights, the bias and the decision threshold chosen on a validation split.
Long texts are scored in windows; the worst window counts.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from charter.guard import normalise

N_FEATURES = 1 << 18
MASK = N_FEATURES - 1
#: Characters per scored window, and the most windows scored (head and tail of a huge text).
WINDOW = 2048
MAX_WINDOWS = 32

#: The tokeniser. Python's ``re`` is linear on this pattern (two disjoint character
#: classes, no nesting) and tokenises a 1 KB prompt in ~0.5 ms, where the ``re2`` module's
#: pure-Python ``findall`` wrapper (offset bookkeeping per match) took ~30 ms.
_WORD = re.compile(r"[a-z0-9']+|[^\sa-z0-9]")


def features(text: str) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Hashed feature indices and their values (log counts, L2-normalised) of one window."""
    tokens = _WORD.findall(normalise.skeleton(text))
    if not tokens:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    # Each distinct word, bigram and character 4-gram is hashed once and weighted by how
    # often it occurs: the same counts as hashing every occurrence, several times faster
    # on repetitive text (padding, lists, code).
    keys: list[bytes] = []
    weights: list[int] = []
    for token, n in Counter(tokens).items():
        keys.append(b"w" + token.encode())
        weights.append(n)
        if len(token) > 4 and token[0].isalnum():
            padded = f"<{token}>".encode()
            keys += [b"c" + padded[i : i + 4] for i in range(len(padded) - 3)]
            weights += [n] * (len(padded) - 3)
    pairs = zip(["<s>", *tokens[:-1]], tokens, strict=True)
    for (previous, token), n in Counter(pairs).items():
        keys.append(b"b" + f"{previous} {token}".encode())
        weights.append(n)
    hashes = np.fromiter(map(zlib.crc32, keys), dtype=np.int64, count=len(keys)) & MASK
    indices, inverse = np.unique(hashes, return_inverse=True)
    counts = np.bincount(inverse, weights=np.asarray(weights, dtype=np.float64))
    values = np.log1p(counts)
    values /= np.linalg.norm(values)
    return indices, values


def windows(text: str) -> list[str]:
    """The windows of ``text`` that are scored (all of a normal prompt)."""
    starts = list(range(0, max(len(text), 1), WINDOW))
    if len(starts) > MAX_WINDOWS:
        starts = starts[: MAX_WINDOWS // 2] + starts[-MAX_WINDOWS // 2 :]
    return [text[s : s + WINDOW] for s in starts]


@dataclass(frozen=True)
class LearnedModel:
    """Dense weights over the hashed features, a bias and the block threshold."""

    weights: NDArray[np.float32]
    bias: float
    threshold: float
    flag_threshold: float
    source: str

    def probability(self, text: str) -> float:
        """P(injection) of the worst window of ``text``."""
        best = 0.0
        for window in windows(text):
            indices, values = features(window)
            if not len(indices):
                continue  # no words: nothing to judge (the bias alone is not evidence)
            logit = float(self.weights[indices].astype(np.float64) @ values) + self.bias
            best = max(best, float(1.0 / (1.0 + np.exp(-logit))))
        return best


def model_available() -> bool:
    """True when the shipped weights file is present."""
    return (resources.files("charter.guard") / "data" / "injection.npz").is_file()


@functools.cache
def load_model() -> LearnedModel:
    """The shipped model (read once per process)."""
    path = resources.files("charter.guard") / "data" / "injection.npz"
    with resources.as_file(path) as file, np.load(file, allow_pickle=False) as data:
        weights = np.zeros(N_FEATURES, dtype=np.float32)
        weights[data["indices"]] = data["values"].astype(np.float32)
        return LearnedModel(
            weights=weights,
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            flag_threshold=float(data["flag_threshold"]),
            source=str(data["source"]),
        )
