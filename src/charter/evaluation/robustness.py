"""The ``robustness`` suite: does the model's decision survive small input changes?

The model is queried on (a seeded sample of up to ``max_rows``) evaluation rows, then on
perturbed copies:

- ``numeric_noise``: every numeric feature gets Gaussian noise with standard deviation
  ``noise_scale`` times the column's standard deviation (integer columns become floats);
- ``category_swap``: every categorical (text or boolean) cell is, with probability
  ``swap_rate``, replaced by a *different* category drawn with the column's frequencies;
- ``combined``: both at once.

A decision *flips* when the predicted label differs from the unperturbed one. Flip rates
are averaged over ``n_repeats`` rounds, reported overall and per cohort group with
bootstrap intervals; per-feature flip rates (perturbing one feature at a time) are in the
details. ``mean_score_change`` is the mean over rows of the largest absolute change of any
class probability (when the model exposes probabilities).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation._numeric import FloatArray, json_float, safe_ratio
from charter.evaluation._results import GroupMetrics, cohort_section, overall_section, stack
from charter.evaluation.bootstrap import Bootstrap
from charter.evaluation.cohorts import Dimension, build_dimensions, overall
from charter.evaluation.models import Model
from charter.evaluation.prepare import require_columns
from charter.evaluation.spec import InputSpec, RunOptions
from charter.evaluation.suites import MetricInfo, Suite

PERTURBATIONS = ("combined", "numeric_noise", "category_swap")
NAMES = ("flip_rate", "flip_rate_numeric_noise", "flip_rate_category_swap", "mean_score_change")

METRICS: dict[str, MetricInfo] = {
    "flip_rate": MetricInfo("group", False, "share of decisions flipped by noise and swaps"),
    "flip_rate_numeric_noise": MetricInfo("group", False, "flips under numeric noise alone"),
    "flip_rate_category_swap": MetricInfo("group", False, "flips under category swaps alone"),
    "mean_score_change": MetricInfo("group", False, "mean largest probability change"),
}
REASONS = {
    "flip_rate": "no rows",
    "flip_rate_numeric_noise": "no numeric features",
    "flip_rate_category_swap": "no categorical features",
    "mean_score_change": "the model gives no probabilities",
}


def _feature_columns(data: pd.DataFrame, spec: InputSpec) -> list[str]:
    if spec.features is not None:
        require_columns(data, [("feature", f) for f in spec.features])
        return list(spec.features)
    excluded = set(spec.role_columns()) - set(spec.cohorts)
    # Cohort columns stay features: a model may legitimately (or not) use them.
    return [c for c in data.columns if c not in excluded]


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def add_noise(
    frame: pd.DataFrame, columns: list[str], scale: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Copy of ``frame`` with Gaussian noise (``scale`` x column std) on ``columns``."""
    out = frame.copy()
    for column in columns:
        values = out[column].to_numpy(dtype=np.float64, na_value=np.nan)
        std = float(np.nanstd(values)) if np.isfinite(values).any() else 0.0
        out[column] = values + rng.normal(0.0, scale * std, size=len(values))
    return out


def swap_categories(
    frame: pd.DataFrame, columns: list[str], rate: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Copy of ``frame`` where a ``rate`` share of cells of ``columns`` get another category."""
    out = frame.copy()
    for column in columns:
        series = out[column]
        counts = series.value_counts(dropna=True)
        if len(counts) < 2:
            continue
        categories = counts.index.to_numpy(dtype=object)
        shares = counts.to_numpy(dtype=np.float64) / counts.sum()
        chosen = rng.random(len(series)) < rate
        drawn = rng.choice(len(categories), size=len(series), p=shares)
        current = pd.Index(categories).get_indexer(series.to_numpy(dtype=object))
        # Drawing the current value is no swap: move such draws to the next category.
        drawn = np.where(drawn == current, (drawn + 1) % len(categories), drawn)
        values = series.to_numpy(dtype=object).copy()
        values[chosen] = categories[drawn[chosen]]
        out[column] = pd.Series(values, index=series.index).astype(series.dtype)
    return out


def _query(model: Model, frame: pd.DataFrame) -> tuple[np.ndarray, FloatArray | None]:
    try:
        labels = np.asarray(model.predict(frame))
        proba = model.predict_proba(frame)
    except BadInput:
        raise
    except Exception as exc:  # the model is user code: report its failure as bad input
        raise BadInput(
            f"the model failed on the evaluation rows: {type(exc).__name__}: {exc}"
        ) from exc
    if labels.shape[0] != len(frame):
        raise BadInput(f"the model returned {labels.shape[0]} predictions for {len(frame)} rows")
    return labels, proba


class RobustnessSuite(Suite):
    """Decision stability under numeric noise and category swaps."""

    name = "robustness"
    version = "1.0.0"
    summary = "Share of decisions flipped by small numeric noise and category swaps."
    metrics = METRICS
    needs_model = True

    def compute(
        self, data: pd.DataFrame, spec: InputSpec, options: RunOptions, *, model: Model | None
    ) -> dict[str, Any]:
        """Perturb the features, query the model and measure flipped decisions."""
        assert model is not None  # Suite.run enforces needs_model
        features = _feature_columns(data, spec)
        if not features:
            raise BadInput("no feature columns to perturb", location="features")
        bootstrap = Bootstrap(options.n_bootstrap, options.confidence, options.seed)
        rng = bootstrap.rng("robustness:perturb")
        sample = data
        if len(data) > options.max_rows:
            sample = data.iloc[np.sort(rng.choice(len(data), options.max_rows, replace=False))]
        sample = sample.reset_index(drop=True)
        inputs = sample[features]
        numeric = [c for c in features if _is_numeric(inputs[c])]
        categorical = [c for c in features if c not in numeric]
        base_labels, base_proba = _query(model, inputs)

        def perturb(frame: pd.DataFrame, noise: list[str], swap: list[str]) -> pd.DataFrame:
            noisy = add_noise(frame, noise, options.noise_scale, rng) if noise else frame
            return swap_categories(noisy, swap, options.swap_rate, rng) if swap else noisy

        def flips(noise: list[str], swap: list[str]) -> tuple[FloatArray, FloatArray | None]:
            flipped = np.zeros(len(inputs))
            change = np.zeros(len(inputs)) if base_proba is not None else None
            for _ in range(options.n_repeats):
                labels, proba = _query(model, perturb(inputs, noise, swap))
                flipped += labels != base_labels
                if change is not None and proba is not None and base_proba is not None:
                    change += np.abs(proba - base_proba).max(axis=1)
            scale = 1.0 / options.n_repeats
            return flipped * scale, None if change is None else change * scale

        combined, score_change = flips(numeric, categorical)
        nan_rows = np.full(len(inputs), np.nan)
        rows = {
            "flip_rate": combined,
            "flip_rate_numeric_noise": flips(numeric, [])[0] if numeric else nan_rows,
            "flip_rate_category_swap": flips([], categorical)[0] if categorical else nan_rows,
            "mean_score_change": score_change if score_change is not None else nan_rows,
        }
        per_feature: list[dict[str, Any]] = []
        for column in features:
            as_noise, as_swap = ([column], []) if column in numeric else ([], [column])
            flip, change = flips(as_noise, as_swap)
            per_feature.append(
                {
                    "feature": column,
                    "perturbation": "numeric_noise" if as_noise else "category_swap",
                    "flip_rate": json_float(flip.mean()),
                    "mean_score_change": None if change is None else json_float(change.mean()),
                }
            )
        per_feature.sort(key=lambda r: -(r["flip_rate"] or 0.0))

        dimensions = [
            overall(len(sample)),
            *build_dimensions(sample, spec, intersections=options.intersections),
        ]
        results = [GroupMetrics(point=_group_means(rows, d)) for d in dimensions]
        if bootstrap.enabled:
            samples = [
                [_group_means(rows, d, w) for d in dimensions]
                for w in bootstrap.row_weights(len(sample), "robustness:rows")
            ]
            for index, group in enumerate(results):
                group.add_intervals(bootstrap, stack([s[index] for s in samples]))
        return {
            "task": "robustness",
            "metrics": {
                "overall": overall_section(results[0], NAMES, REASONS),
                "cohorts": [
                    cohort_section(d, r, NAMES, REASONS, min_group_size=options.min_group_size)
                    for d, r in zip(dimensions[1:], results[1:], strict=True)
                ],
            },
            "details": {
                "rows_queried": len(sample),
                "numeric_features": numeric,
                "categorical_features": categorical,
                "noise_scale": options.noise_scale,
                "swap_rate": options.swap_rate,
                "n_repeats": options.n_repeats,
                "per_feature": per_feature,
            },
            "warnings": (
                [f"evaluated a seeded sample of {len(sample)} of {len(data)} rows"]
                if len(sample) < len(data)
                else []
            ),
            "rows_evaluated": len(sample),
        }


def _group_means(
    rows: dict[str, FloatArray], dimension: Dimension, weights: FloatArray | None = None
) -> dict[str, FloatArray]:
    codes, g = dimension.codes, dimension.n_groups
    w = np.ones(len(codes)) if weights is None else weights
    count = np.bincount(codes, weights=w, minlength=g)
    out = {}
    for name, values in rows.items():
        if np.isnan(values).all():
            out[name] = np.full(g, np.nan)
        else:
            out[name] = safe_ratio(np.bincount(codes, weights=w * values, minlength=g), count)
    return out
