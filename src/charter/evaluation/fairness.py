"""The ``fairness`` suite: group rates and disparity metrics by cohort.

For every cohort column, and their intersection, each group gets its size, selection rate,
TPR, FPR, precision and *impact ratio* (its selection rate over the highest one). Each
dimension gets the disparities, computed over the groups that meet ``min_group_size``
(smaller groups are listed with ``scored: false`` and take no part):

- ``demographic_parity_difference``: max - min selection rate (fairlearn's, between groups)
- ``demographic_parity_ratio``: min / max selection rate
- ``equalized_odds_difference``: the larger of the TPR and FPR differences (worst case)
- ``equal_opportunity_difference``: max - min TPR
- the four-fifths rule: every group's impact ratio is at least 0.8.

Decisions are binary: the predicted label (or ``score >= threshold``) equals
``positive_label``; a multiclass task needs ``positive_label`` and is read one-vs-rest.
Without a target only selection rates and demographic parity are available.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation._confusion import binary_rates, confusion_tables
from charter.evaluation._numeric import FloatArray, metric_entry, nan_max, nan_min, safe_ratio
from charter.evaluation._results import GroupMetrics, cohort_section, overall_section
from charter.evaluation.bootstrap import Bootstrap
from charter.evaluation.cohorts import Dimension, build_dimensions, overall
from charter.evaluation.models import Model
from charter.evaluation.prepare import prepare_classification
from charter.evaluation.spec import InputSpec, RunOptions
from charter.evaluation.suites import MetricInfo, Suite

#: The four-fifths (80%) rule of the US Uniform Guidelines on Employee Selection.
FOUR_FIFTHS = 0.8

GROUP_METRICS = ("selection_rate", "tpr", "fpr", "precision", "impact_ratio")
DIMENSION_METRICS = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equal_opportunity_difference",
)

METRICS: dict[str, MetricInfo] = {
    "selection_rate": MetricInfo("group", None, "share of rows predicted positive"),
    "tpr": MetricInfo("group", True, "true positive rate (recall)"),
    "fpr": MetricInfo("group", False, "false positive rate"),
    "precision": MetricInfo("group", True, "TP/(TP+FP)"),
    "impact_ratio": MetricInfo("group", True, "selection rate / highest group selection rate"),
    "demographic_parity_difference": MetricInfo("dimension", False, "max - min selection rate"),
    "demographic_parity_ratio": MetricInfo("dimension", True, "min / max selection rate"),
    "equalized_odds_difference": MetricInfo("dimension", False, "max of TPR and FPR gaps"),
    "equal_opportunity_difference": MetricInfo("dimension", False, "max - min TPR"),
}

REASONS = {
    "selection_rate": "no rows",
    "tpr": "no positive rows",
    "fpr": "no negative rows",
    "precision": "no rows predicted positive",
    "impact_ratio": "no group has a positive selection rate",
    "demographic_parity_difference": "fewer than two scored groups",
    "demographic_parity_ratio": "fewer than two scored groups, or no group is selected",
    "equalized_odds_difference": "fewer than two scored groups with TPR and FPR defined",
    "equal_opportunity_difference": "fewer than two scored groups with TPR defined",
}
NO_TARGET = "no target column: needs true labels"


def _spread(values: FloatArray, scored: np.ndarray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Max, min and count of defined values over the scored groups (last axis)."""
    masked = np.where(scored, values, np.nan)
    defined = (~np.isnan(masked)).sum(axis=-1)
    return nan_max(masked), nan_min(masked), defined.astype(np.float64)


def disparities(rates: dict[str, FloatArray], scored: np.ndarray) -> dict[str, FloatArray]:
    """Dimension-level disparities from group rates ``(..., G)`` over the scored groups."""
    sel_max, sel_min, sel_n = _spread(rates["selection_rate"], scored)
    tpr_max, tpr_min, tpr_n = _spread(rates["tpr"], scored)
    fpr_max, fpr_min, fpr_n = _spread(rates["fpr"], scored)
    two = 2.0
    dp_diff = np.where(sel_n >= two, sel_max - sel_min, np.nan)
    tpr_gap = np.where(tpr_n >= two, tpr_max - tpr_min, np.nan)
    fpr_gap = np.where(fpr_n >= two, fpr_max - fpr_min, np.nan)
    return {
        "demographic_parity_difference": dp_diff,
        "demographic_parity_ratio": np.where(sel_n >= two, safe_ratio(sel_min, sel_max), np.nan),
        # np.maximum propagates NaN: undefined if either gap is undefined (fail closed).
        "equalized_odds_difference": np.maximum(tpr_gap, fpr_gap),
        "equal_opportunity_difference": tpr_gap,
    }


def _group_rates(tables: FloatArray, scored: np.ndarray) -> dict[str, FloatArray]:
    rates = binary_rates(tables, positive=1)
    selection = rates["selection_rate"]
    highest = nan_max(np.where(scored, selection, np.nan))
    rates["impact_ratio"] = safe_ratio(selection, highest[..., np.newaxis])
    return rates


class FairnessSuite(Suite):
    """Group rates, demographic parity, equalized odds and the four-fifths rule by cohort."""

    name = "fairness"
    version = "1.0.0"
    summary = "Selection rate, TPR, FPR and precision by group; parity and odds gaps."
    metrics = METRICS

    def compute(
        self, data: pd.DataFrame, spec: InputSpec, options: RunOptions, *, model: Model | None
    ) -> dict[str, Any]:
        """Compute group rates and disparities for every cohort dimension."""
        if not spec.cohorts:
            raise BadInput(
                "the fairness suite needs at least one cohort column", location="cohorts"
            )
        inputs = prepare_classification(data, spec, require_target=False)
        if inputs.positive is None:
            raise BadInput(
                f"the fairness suite needs binary decisions; set positive_label to one of "
                f"{', '.join(inputs.class_names[:8])} to read the labels one-vs-rest",
                location="positive_label",
            )
        has_target = inputs.y_true is not None
        decided = (inputs.y_pred == inputs.positive).astype(np.int64)
        truth = (
            (inputs.y_true == inputs.positive).astype(np.int64)
            if inputs.y_true is not None
            else np.zeros(len(data), dtype=np.int64)
        )
        n = len(data)
        dimensions = [
            overall(n),
            *build_dimensions(data, spec, intersections=options.intersections),
        ]
        bootstrap = Bootstrap(options.n_bootstrap, options.confidence, options.seed)
        reasons = dict(REASONS)
        if not has_target:
            reasons.update({m: NO_TARGET for m in ("tpr", "fpr", "precision")})
            reasons["equalized_odds_difference"] = NO_TARGET
            reasons["equal_opportunity_difference"] = NO_TARGET

        cohorts = []
        overall_metrics: dict[str, Any] = {}
        for index, dimension in enumerate(dimensions):
            tables = confusion_tables(dimension.codes, dimension.n_groups, truth, decided, 2)
            # The overall "dimension" has one group, always scored.
            scored = dimension.sizes >= (options.min_group_size if index else 0)
            rates = _group_rates(tables, scored)
            group = GroupMetrics(point={m: rates[m] for m in GROUP_METRICS})
            point_gaps = disparities(rates, scored)
            gap_bounds: dict[str, tuple[FloatArray, FloatArray]] = {}
            if bootstrap.enabled:
                resampled = bootstrap.cell_counts(tables, f"fairness:{dimension.name}")
                sampled_rates = _group_rates(resampled, scored)
                group.add_intervals(bootstrap, {m: sampled_rates[m] for m in GROUP_METRICS})
                for metric, values in disparities(sampled_rates, scored).items():
                    lower, upper, _ = bootstrap.interval(values)
                    gap_bounds[metric] = (lower, upper)
            if index == 0:
                overall_metrics = overall_section(
                    group, ["selection_rate", "tpr", "fpr", "precision"], reasons
                )
                continue
            dimension_metrics = {
                metric: metric_entry(
                    point_gaps[metric],
                    gap_bounds[metric][0] if metric in gap_bounds else None,
                    gap_bounds[metric][1] if metric in gap_bounds else None,
                    reasons[metric],
                )
                for metric in DIMENSION_METRICS
            }
            section = cohort_section(
                dimension,
                group,
                GROUP_METRICS,
                reasons,
                min_group_size=options.min_group_size,
                dimension_metrics=dimension_metrics,
            )
            section["four_fifths_rule"] = _four_fifths(dimension, rates["impact_ratio"], scored)
            cohorts.append(section)

        return {
            "task": "binary-decisions",
            "metrics": {"overall": overall_metrics, "cohorts": cohorts},
            "details": {
                "positive_label": inputs.class_names[inputs.positive],
                "has_target": has_target,
                "four_fifths_threshold": FOUR_FIFTHS,
                "min_group_size": options.min_group_size,
            },
            "warnings": [] if has_target else ["no target column: only selection rates"],
            "rows_evaluated": n,
        }


def _four_fifths(dimension: Dimension, impact: FloatArray, scored: np.ndarray) -> dict[str, Any]:
    """The four-fifths rule over the scored groups of one dimension."""
    candidates = [i for i in range(dimension.n_groups) if scored[i] and not np.isnan(impact[i])]
    below = [dimension.group_key(i) for i in candidates if impact[i] < FOUR_FIFTHS]
    return {
        "threshold": FOUR_FIFTHS,
        "passed": (not below) if len(candidates) >= 2 else None,
        "groups_below": below,
        "reason": None if len(candidates) >= 2 else "fewer than two scored groups",
    }
