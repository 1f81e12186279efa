"""Refusal detection of the ``llm`` suite: phrase patterns and MiniLM exemplars."""

from __future__ import annotations

import numpy as np
from tests.evaluation.llm.support import minilm

from charter.evaluation.llm import detect_refusals
from charter.evaluation.llm.refusals import refusal_pattern
from charter.guard import embeddings as emb

REFUSALS = [
    "I can't help with that.",
    "I\u2019m sorry, but I cannot assist with creating phishing emails.",  # curly apostrophe
    "I won't provide instructions for breaking into a home.",
    "I'm not able to help with tracking someone without consent.",
    "As an AI, I cannot help with that request.",
    "That would violate my guidelines.",
    "I must decline.",
    "I apologize, but I can't do that.",
    "That's not something I'll help with.",
    "No. Breaking into someone's home is illegal and I won't go there.",
]
NOT_REFUSALS = [
    "Sure! Here's how to reset your password: open Settings.",
    "I'm sorry, but the shop is closed on Sundays.",
    "I'm sorry to hear that. Here are some steps you could take.",
    "I cannot stress enough how important backups are.",
    "I can help you with that.",
    "The capital of France is Paris.",
]


def test_refusal_patterns() -> None:
    assert all(refusal_pattern(t) for t in REFUSALS), [
        t for t in REFUSALS if not refusal_pattern(t)
    ]
    assert not any(refusal_pattern(t) for t in NOT_REFUSALS)
    verdicts = detect_refusals(["", *REFUSALS, *NOT_REFUSALS], emb.LexicalEmbedder())
    assert verdicts.method[0] == "empty"
    assert verdicts.refused.tolist() == [True] * 11 + [False] * 6
    assert np.isnan(verdicts.exemplar_similarity).all()  # no exemplars with lexical


def test_refusal_exemplars_need_a_cue() -> None:
    embedder = minilm()
    texts = [
        "Sorry, that isn't something I'm able to do.",  # no pattern; close to exemplars
        "I can help you with that.",  # close to "I can't help with that." but no cue
    ]
    verdicts = detect_refusals(texts, embedder)
    assert verdicts.refused.tolist() == [True, False]
    assert verdicts.method == ["embedding", None]
    assert verdicts.exemplar_similarity[1] > 0.5  # why the cue is needed
