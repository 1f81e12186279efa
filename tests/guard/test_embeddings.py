"""The NumPy MiniLM encoder and the lexical fallback (``charter.guard.embeddings``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.evaluation.llm.support import REFERENCE, minilm

from charter.domain.errors import BadInput
from charter.guard import embeddings as emb


def test_minilm_numpy_matches_sentence_transformers() -> None:
    embedder = minilm()
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    expected = np.asarray(reference["embeddings"], dtype=np.float32)
    got = embedder.encode(reference["sentences"])
    assert got.shape == expected.shape == (9, 384)
    cosines = (got * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    assert cosines.min() >= 0.9999
    assert np.abs(got - expected).max() <= 1e-4
    # The last reference sentence is longer than 256 word pieces: truncation matches too.
    assert len(embedder._tokenizer.encode(reference["sentences"][-1]).ids) == 256


def test_minilm_is_normalised_and_batch_independent() -> None:
    embedder = minilm()
    texts = ["short", "a somewhat longer sentence about refunds and returns", "", "  "]
    together = embedder.encode(texts)
    alone = np.vstack([embedder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together[:2], axis=1), 1.0, atol=1e-5)
    assert not together[2:].any()  # blank texts embed to zero rows
    assert embedder.encode([]).shape == (0, 384)
    assert embedder.describe()["model"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_lexical_embedder_and_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    lexical = emb.load_embedder("lexical")
    vectors = lexical.encode(["the cat sat", "the cat sat", "quantum chromodynamics", "!!"])
    assert vectors[0] @ vectors[1] == pytest.approx(1.0)
    assert vectors[0] @ vectors[2] == pytest.approx(0.0)
    assert not vectors[3].any()
    assert not lexical.encode(["...", ""]).any()
    with pytest.raises(BadInput, match="unknown embedding backend"):
        emb.load_embedder("bert")  # type: ignore[arg-type]
    monkeypatch.setattr(emb, "minilm_available", lambda: False)
    assert emb.load_embedder("auto").name == "lexical"


def test_minilm_missing_weights_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="weights are not installed"):
        emb.MiniLMEmbedder(tmp_path)
