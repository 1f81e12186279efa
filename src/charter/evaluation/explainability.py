"""The ``explainability`` suite: which features drive the model's decisions, and how much.

**Global importance** is scikit-learn's permutation importance
(:func:`sklearn.inspection.permutation_importance`): each feature column is shuffled
``n_repeats`` times (seeded with ``seed``) and the drop of the suite's ``scoring`` metric
is the feature's importance. The interval is a Student-t interval over the repeats
(``mean +- t_{(1+c)/2, R-1} * sd / sqrt(R)``, ``sd`` with ``ddof=1``), so it measures the
shuffling's randomness on these rows, not the sampling error of the data set. Features are
ranked by mean importance; the *top-k drivers* are the ``top_k`` highest-ranked features
whose mean importance is positive (a feature whose shuffling does not hurt drives nothing).
The same is computed within every scored cohort group (``min_group_size`` rows or more).

**Local explanations** are interventional Shapley values (:mod:`charter.evaluation.shapley`)
of the model's output for a seeded sample of decisions, ``local_rows`` overall plus up to
``local_rows_per_group`` from every cohort group, against a seeded background sample of
``background_rows`` rows. The output explained is the probability of the positive class
(``output: probability``), its log-odds (``output: log_odds``) or, for a model without
probabilities, the 0/1 decision. ``method: exact`` enumerates every coalition (the default
up to 10 features), ``sampling`` averages ``n_permutations`` antithetic permutations, and
``shap`` uses the ``shap`` package's exact tree or linear explainers (the ``explain`` extra).
The sample is named by row number (counted from 1, as in a spreadsheet); feature values
stay in the data file, which the evidence identifies by its SHA-256.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation import shapley
from charter.evaluation._numeric import FloatArray, json_float, label_text, metric_entry
from charter.evaluation._results import GroupMetrics, cohort_section, overall_section
from charter.evaluation.cohorts import Dimension, build_dimensions, overall
from charter.evaluation.models import Model
from charter.evaluation.prepare import require_columns
from charter.evaluation.robustness import _feature_columns
from charter.evaluation.spec import InputSpec, RunOptions, _check_int, _from_mapping
from charter.evaluation.suites import MetricInfo, Suite

Scoring = Literal[
    "roc_auc", "average_precision", "neg_log_loss", "accuracy", "balanced_accuracy", "f1"
]
SCORINGS: tuple[str, ...] = (
    "roc_auc",
    "average_precision",
    "neg_log_loss",
    "accuracy",
    "balanced_accuracy",
    "f1",
)
#: Scorings that read probabilities (the others read decisions).
PROBABILISTIC = ("roc_auc", "average_precision", "neg_log_loss")
METHODS = ("auto", "exact", "sampling", "shap")
OUTPUTS = ("probability", "log_odds")
#: ``method: auto`` enumerates coalitions exactly up to this many features.
AUTO_EXACT_FEATURES = 10
#: Probabilities are clipped this far from 0 and 1 before taking log-odds.
LOGIT_EPS = 1e-12

METRICS: dict[str, MetricInfo] = {
    "baseline_score": MetricInfo("group", True, "the scoring metric on the unshuffled rows"),
    "additivity_gap": MetricInfo(
        "dataset", False, "largest |base value + sum of contributions - output| explained"
    ),
    "explained_rows": MetricInfo("dataset", None, "decisions given a local explanation"),
}
REASONS = {
    "baseline_score": "the scoring metric is undefined on these rows (one class only?)",
    "additivity_gap": "no row was explained",
    "explained_rows": "no row was explained",
}


@dataclass(frozen=True, kw_only=True)
class ExplainOptions:
    """The suite's settings (``charter evaluate --options FILE``); see the module docstring.

    ``scoring`` defaults to ``roc_auc`` when the model gives probabilities, else
    ``accuracy``. ``n_repeats``, ``seed``, ``confidence``, ``min_group_size``,
    ``intersections`` and ``max_rows`` come from the run options.
    """

    scoring: str | None = None
    top_k: int = 5
    local_rows: int = 10
    local_rows_per_group: int = 3
    background_rows: int = 20
    method: str = "auto"
    n_permutations: int = 32
    output: str = "probability"

    def __post_init__(self) -> None:
        if self.scoring is not None and self.scoring not in SCORINGS:
            raise BadInput(
                f"scoring must be one of {', '.join(SCORINGS)}, got {self.scoring!r}",
                location="options.scoring",
            )
        if self.method not in METHODS:
            raise BadInput(
                f"method must be one of {', '.join(METHODS)}, got {self.method!r}",
                location="options.method",
            )
        if self.output not in OUTPUTS:
            raise BadInput(
                f"output must be one of {', '.join(OUTPUTS)}, got {self.output!r}",
                location="options.output",
            )
        _check_int(self.top_k, "top_k", 1, 1000)
        _check_int(self.local_rows, "local_rows", 0, 10_000)
        _check_int(self.local_rows_per_group, "local_rows_per_group", 0, 1000)
        _check_int(self.background_rows, "background_rows", 1, 10_000)
        _check_int(self.n_permutations, "n_permutations", 2, 100_000)

    @classmethod
    def from_mapping(cls, raw: Any) -> ExplainOptions:
        """Build settings from a mapping, naming unknown keys."""
        options: ExplainOptions = _from_mapping(cls, raw, "options")
        return options

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form recorded in the result's details."""
        return dataclasses.asdict(self)


class _Estimator:
    """The :class:`Model` as scikit-learn's permutation importance expects an estimator.

    ``permutation_importance`` only calls the scorer with it; ``fit`` exists because its
    parameter check asks for one, and refuses to be used.
    """

    def __init__(self, model: Model) -> None:
        self.model = model

    def fit(self, *args: Any, **kwargs: Any) -> _Estimator:
        raise NotImplementedError("the explainability suite never refits the model")


def _positive(model: Model, spec: InputSpec, proba: FloatArray | None) -> tuple[int | None, Any]:
    """The positive class's column in ``predict_proba`` and its label."""
    classes = list(model.classes) if model.classes is not None else None
    if classes is None and proba is not None:
        classes = list(range(proba.shape[1]))
    if classes is None:
        return None, spec.positive_label if spec.positive_label is not None else 1
    if spec.positive_label is not None:
        wanted = label_text(spec.positive_label)
        for index, label in enumerate(classes):
            if label_text(label) == wanted:
                return index, label
        raise BadInput(
            f"positive_label {spec.positive_label!r} is not one of the model's classes "
            f"{', '.join(label_text(c) for c in classes[:8])}",
            location="positive_label",
        )
    if len(classes) != 2:
        raise BadInput(
            "the explainability suite explains one class: set positive_label for a "
            f"model with {len(classes)} classes",
            location="positive_label",
        )
    return 1, classes[1]


def is_positive(values: Any, positive: Any) -> np.ndarray:
    """Whether each label equals ``positive``, as a value or as text (``1`` matches ``"1"``)."""
    array = np.asarray(values)
    if array.dtype.kind in "biuf" and isinstance(positive, int | float | np.number):
        return np.asarray(array == positive)
    want = label_text(positive)
    return np.array([label_text(v) == want for v in array], dtype=bool)


def _scorer(scoring: str, positive_index: int | None, positive: Any) -> Callable[..., float]:
    """A scikit-learn style scorer ``f(estimator, X, y)`` on the wrapped model.

    ``y`` is already boolean (the positive class), so the scorer never re-reads labels.
    """
    from sklearn import metrics

    def score(estimator: Any, frame: pd.DataFrame, y_true: np.ndarray) -> float:
        model: Model = estimator.model
        if scoring in PROBABILISTIC:
            proba = model.predict_proba(frame)
            assert proba is not None
            assert positive_index is not None
            p = proba[:, positive_index]
            if scoring == "roc_auc":
                return float(metrics.roc_auc_score(y_true, p))
            if scoring == "average_precision":
                return float(metrics.average_precision_score(y_true, p))
            return -float(metrics.log_loss(y_true, p, labels=[False, True]))
        predicted = is_positive(model.predict(frame), positive)
        if scoring == "accuracy":
            return float(metrics.accuracy_score(y_true, predicted))
        if scoring == "balanced_accuracy":
            return float(metrics.balanced_accuracy_score(y_true, predicted))
        return float(metrics.f1_score(y_true, predicted, zero_division=0.0))

    return score


def t_interval(values: FloatArray, confidence: float) -> tuple[float, float] | None:
    """Student-t interval of the mean of ``values``; None with fewer than two values."""
    from scipy import stats

    n = len(values)
    if n < 2:
        return None
    mean = float(np.mean(values))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * float(np.std(values, ddof=1))
    half /= math.sqrt(n)
    return mean - half, mean + half


def ranking(
    features: list[str], importances: FloatArray, confidence: float, top_k: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Features ranked by mean importance (ties by name), and the top-k drivers."""
    means = importances.mean(axis=1)
    order = sorted(range(len(features)), key=lambda i: (-means[i], features[i]))
    rows: list[dict[str, Any]] = []
    for rank, i in enumerate(order, start=1):
        interval = t_interval(importances[i], confidence)
        rows.append(
            {
                "feature": features[i],
                "rank": rank,
                "importance": metric_entry(
                    means[i],
                    None if interval is None else interval[0],
                    None if interval is None else interval[1],
                    "undefined",
                ),
                "std": json_float(np.std(importances[i], ddof=1))
                if importances.shape[1] > 1
                else None,
                "repeats": [json_float(v) for v in importances[i]],
            }
        )
    top = [str(r["feature"]) for r in rows[:top_k] if (r["importance"]["value"] or 0.0) > 0.0]
    return rows, top


class ExplainabilitySuite(Suite):
    """Permutation importance with intervals, overall and per cohort; local Shapley values."""

    name = "explainability"
    version = "1.0.0"
    summary = "Permutation importance (t intervals) by cohort; Shapley values of decisions."
    metrics = METRICS
    needs_model = True

    def __init__(self, settings: ExplainOptions | None = None) -> None:
        self.settings = settings or ExplainOptions()

    def configured(self, settings: Mapping[str, Any], *, data_dir: Path | None = None) -> Suite:
        """A copy with :class:`ExplainOptions` read from a mapping; unknown keys refused."""
        return ExplainabilitySuite(
            ExplainOptions.from_mapping(dict(self.settings.to_dict(), **settings))
        )

    def compute(
        self, data: pd.DataFrame, spec: InputSpec, options: RunOptions, *, model: Model | None
    ) -> dict[str, Any]:
        """Rank the features globally and per cohort, and explain a sample of decisions."""
        from sklearn.inspection import permutation_importance

        assert model is not None  # Suite.run enforces needs_model
        settings = self.settings
        if spec.target is None:
            raise BadInput(
                "the explainability suite needs the true labels (target) to score "
                "permutation importance",
                location="target",
            )
        require_columns(data, [("target", spec.target)])
        features = _feature_columns(data, spec)
        if not features:
            raise BadInput("no feature columns to explain", location="features")
        rng = np.random.default_rng([options.seed, 0xE7])
        sample = data
        warnings: list[str] = []
        if len(data) > options.max_rows:
            sample = data.iloc[np.sort(rng.choice(len(data), options.max_rows, replace=False))]
            warnings.append(f"evaluated a seeded sample of {len(sample)} of {len(data)} rows")
        rows_in_file = sample.index.to_numpy()
        sample = sample.reset_index(drop=True)
        inputs = sample[features]
        y = sample[spec.target].to_numpy()
        proba = _query_proba(model, inputs)
        positive_index, positive = _positive(model, spec, proba)
        scoring = settings.scoring or ("roc_auc" if proba is not None else "accuracy")
        if scoring in PROBABILISTIC and proba is None:
            raise BadInput(
                f"scoring {scoring} needs probabilities and the model gives none; use "
                "accuracy, balanced_accuracy or f1",
                location="options.scoring",
            )
        scorer = _scorer(scoring, positive_index, positive)
        estimator = _Estimator(model)
        y = is_positive(y, positive)

        def importance(rows: np.ndarray | None) -> tuple[float, FloatArray]:
            frame = inputs if rows is None else inputs.iloc[rows]
            labels = y if rows is None else y[rows]
            baseline = scorer(estimator, frame, labels)
            found = permutation_importance(
                estimator,
                frame,
                labels,
                scoring=scorer,
                n_repeats=options.n_repeats,
                random_state=options.seed,
            )
            return baseline, np.asarray(found.importances, dtype=np.float64)

        try:
            baseline, importances = importance(None)
        except ValueError as exc:  # e.g. ROC AUC with one class in the labels
            raise BadInput(f"cannot score {scoring} on these rows: {exc}") from exc
        global_rows, global_top = ranking(features, importances, options.confidence, settings.top_k)

        dimensions = build_dimensions(sample, spec, intersections=options.intersections)
        cohort_rankings = []
        group_scores: list[FloatArray] = []
        for dimension in dimensions:
            groups, scores = [], np.full(dimension.n_groups, np.nan)
            for index in range(dimension.n_groups):
                members = np.flatnonzero(dimension.codes == index)
                entry: dict[str, Any] = {
                    "key": dimension.group_key(index),
                    "values": dict(dimension.groups[index]),
                    "n": len(members),
                    "scored": len(members) >= options.min_group_size,
                    "reason": None,
                    "baseline_score": None,
                    "ranking": [],
                    "top_k": [],
                }
                if not entry["scored"]:
                    entry["reason"] = f"fewer than {options.min_group_size} rows (min_group_size)"
                else:
                    try:
                        score, found = importance(members)
                    except ValueError as exc:
                        entry["reason"] = f"{scoring} is undefined in this group: {exc}"
                    else:
                        scores[index] = score
                        entry["baseline_score"] = json_float(score)
                        entry["ranking"], entry["top_k"] = ranking(
                            features, found, options.confidence, settings.top_k
                        )
                groups.append(entry)
            group_scores.append(scores)
            cohort_rankings.append(
                {"name": dimension.name, "columns": list(dimension.columns), "groups": groups}
            )

        local = _local(
            model,
            inputs,
            features,
            dimensions,
            rows_in_file,
            settings,
            positive_index,
            positive,
            rng,
        )
        all_dimensions = [overall(len(sample)), *dimensions]
        results = [GroupMetrics(point={"baseline_score": np.array([baseline])})]
        results += [GroupMetrics(point={"baseline_score": s}) for s in group_scores]
        overall_metrics = overall_section(results[0], ["baseline_score"], REASONS)
        gap = local["additivity_gap"]
        overall_metrics["additivity_gap"] = metric_entry(gap, reason=REASONS["additivity_gap"])
        overall_metrics["explained_rows"] = metric_entry(
            float(len(local["rows"])) if local["rows"] else None,
            reason=REASONS["explained_rows"],
        )
        return {
            "task": "explainability",
            "metrics": {
                "overall": overall_metrics,
                "cohorts": [
                    cohort_section(
                        d, r, ["baseline_score"], REASONS, min_group_size=options.min_group_size
                    )
                    for d, r in zip(all_dimensions[1:], results[1:], strict=True)
                ],
            },
            "details": {
                "settings": settings.to_dict(),
                "features": features,
                "importance": {
                    "method": "permutation",
                    "scoring": scoring,
                    "n_repeats": options.n_repeats,
                    "random_state": options.seed,
                    "interval": "student-t over repeats",
                    "confidence": options.confidence,
                    "top_k": settings.top_k,
                    "baseline_score": json_float(baseline),
                    "ranking": global_rows,
                    "top": global_top,
                    "cohorts": cohort_rankings,
                },
                "local": {k: v for k, v in local.items() if k != "additivity_gap"},
            },
            "warnings": warnings + local["warnings"],
            "rows_evaluated": len(sample),
        }


def _query_proba(model: Model, frame: pd.DataFrame) -> FloatArray | None:
    try:
        proba = model.predict_proba(frame)
    except BadInput:
        raise
    except Exception as exc:  # the model is user code: report its failure as bad input
        raise BadInput(
            f"the model failed on the evaluation rows: {type(exc).__name__}: {exc}"
        ) from exc
    return None if proba is None else np.asarray(proba, dtype=np.float64)


def _output_function(
    model: Model, settings: ExplainOptions, positive_index: int | None, positive: Any
) -> tuple[Callable[[pd.DataFrame], FloatArray], str]:
    """The model output explained, and its name."""
    want = label_text(positive)

    def probability(frame: pd.DataFrame) -> FloatArray:
        proba = model.predict_proba(frame)
        assert proba is not None
        assert positive_index is not None
        return np.asarray(proba[:, positive_index], dtype=np.float64)

    def log_odds(frame: pd.DataFrame) -> FloatArray:
        p = np.clip(probability(frame), LOGIT_EPS, 1 - LOGIT_EPS)
        return np.log(p) - np.log1p(-p)

    def decision(frame: pd.DataFrame) -> FloatArray:
        return is_positive(model.predict(frame), positive).astype(np.float64)

    if positive_index is None:
        return decision, f"decision = {want}"
    if settings.output == "log_odds":
        return log_odds, f"log-odds of {want}"
    return probability, f"probability of {want}"


def _local_sample(
    n: int, dimensions: list[Dimension], settings: ExplainOptions, rng: np.random.Generator
) -> list[int]:
    """Seeded positions to explain: ``local_rows`` overall, then some from every group."""
    chosen = set(rng.choice(n, min(settings.local_rows, n), replace=False).tolist())
    for dimension in dimensions:
        for index in range(dimension.n_groups):
            members = np.flatnonzero(dimension.codes == index)
            have = [m for m in members if m in chosen]
            missing = settings.local_rows_per_group - len(have)
            pool = np.setdiff1d(members, np.fromiter(chosen, dtype=np.int64))
            if missing > 0 and len(pool):
                chosen |= set(rng.choice(pool, min(missing, len(pool)), replace=False).tolist())
    return sorted(int(c) for c in chosen)


def _local(
    model: Model,
    inputs: pd.DataFrame,
    features: list[str],
    dimensions: list[Dimension],
    rows_in_file: np.ndarray,
    settings: ExplainOptions,
    positive_index: int | None,
    positive: Any,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Shapley values for a sample of decisions, and their summary per cohort group."""
    output, output_name = _output_function(model, settings, positive_index, positive)
    method = settings.method
    if method == "auto":
        method = "exact" if len(features) <= AUTO_EXACT_FEATURES else "sampling"
    n = len(inputs)
    background_at = np.sort(rng.choice(n, min(settings.background_rows, n), replace=False))
    background = inputs.iloc[background_at].reset_index(drop=True)
    positions = _local_sample(n, dimensions, settings, rng)
    warnings: list[str] = []
    explanations: list[shapley.Explanation]
    if method == "shap":
        from charter.evaluation.shap_support import shap_explanations

        explanations, note = shap_explanations(
            model,
            inputs.iloc[positions],
            background,
            features,
            settings.output,
            positive_index,
            output,
        )
        method = note
    else:
        explanations = [
            shapley.explain_row(
                output,
                inputs.iloc[[p]],
                background,
                features,
                method="exact" if method == "exact" else "sampling",
                n_permutations=settings.n_permutations,
                rng=rng,
            )
            for p in positions
        ]
    rows = []
    gap = 0.0
    for position, found in zip(positions, explanations, strict=True):
        gap = max(gap, abs(found.base_value + float(found.values.sum()) - found.output))
        order = sorted(range(len(features)), key=lambda i: (-abs(found.values[i]), features[i]))
        rows.append(
            {
                "row": int(rows_in_file[position]) + 1,
                "cohorts": {d.name: d.group_key(int(d.codes[position])) for d in dimensions},
                "output": json_float(found.output),
                "base_value": json_float(found.base_value),
                "contributions": [
                    {
                        "feature": features[i],
                        "value": json_float(found.values[i]),
                        "stderr": None if found.stderr is None else json_float(found.stderr[i]),
                    }
                    for i in order
                ],
            }
        )
    by_cohort = []
    for dimension in dimensions:
        groups = []
        for index in range(dimension.n_groups):
            members = [k for k, p in enumerate(positions) if dimension.codes[p] == index]
            mean_abs = (
                np.mean([np.abs(explanations[k].values) for k in members], axis=0)
                if members
                else None
            )
            groups.append(
                {
                    "key": dimension.group_key(index),
                    "explained": len(members),
                    "mean_abs_contribution": []
                    if mean_abs is None
                    else [
                        {"feature": features[i], "value": json_float(mean_abs[i])}
                        for i in sorted(
                            range(len(features)), key=lambda i: (-mean_abs[i], features[i])
                        )
                    ],
                }
            )
        by_cohort.append({"name": dimension.name, "groups": groups})
    if not positions:
        warnings.append("no decision was explained (local_rows and local_rows_per_group are 0)")
    return {
        "method": method,
        "output": output_name,
        "background_rows": len(background),
        "background": [int(rows_in_file[b]) + 1 for b in background_at],
        "n_permutations": settings.n_permutations if method == "sampling" else None,
        "rows": rows,
        "cohorts": by_cohort,
        "additivity_gap": gap if positions else None,
        "warnings": warnings,
    }


__all__ = ["ExplainOptions", "ExplainabilitySuite", "ranking", "t_interval"]
