"""Group-wise, weighted ROC AUC and average precision from one up-front sort.

The rows are sorted once by (group, score descending); rows of a group with equal scores
form a *tie block*. For any vector of row weights (ones for the point estimate, bootstrap
multiplicities for a resample), per-block positive/negative weights come from two
``bincount`` calls and both metrics follow from within-group cumulative sums, so a
resample costs O(n) with no further sorting.

- ROC AUC is the Mann-Whitney statistic with ties counted one half, which is exactly the
  area under scikit-learn's trapezoidal ROC curve.
- Average precision is scikit-learn's step-wise sum, ``sum_k (R_k - R_{k-1}) P_k`` over
  distinct thresholds in descending order.
"""

from __future__ import annotations

import numpy as np

from charter.evaluation._numeric import FloatArray, IntArray, safe_ratio


class GroupRanking:
    """Precomputed sort of one score against one binary outcome, within groups."""

    def __init__(
        self, score: FloatArray, positive: np.ndarray, codes: IntArray, n_groups: int
    ) -> None:
        order = np.lexsort((-score, codes))
        sorted_score = score[order]
        sorted_codes = codes[order]
        new_block = np.empty(len(order), dtype=bool)
        new_block[:1] = True
        new_block[1:] = (sorted_score[1:] != sorted_score[:-1]) | (
            sorted_codes[1:] != sorted_codes[:-1]
        )
        self.order = order
        self.n_groups = n_groups
        self.block = np.cumsum(new_block) - 1
        self.n_blocks = int(self.block[-1]) + 1 if len(order) else 0
        self.block_group = sorted_codes[new_block]
        self.positive_sorted = np.asarray(positive, dtype=np.float64)[order]
        # First block of every group that has rows, for the within-group cumulative sums.
        first = np.ones(self.n_blocks, dtype=bool)
        first[1:] = self.block_group[1:] != self.block_group[:-1]
        self.group_start = np.flatnonzero(first)
        self.group_length = np.diff(np.append(self.group_start, self.n_blocks))

    def _within_group_cumsum(self, block_values: np.ndarray) -> FloatArray:
        """Inclusive cumulative sum of per-block values, restarting in each group."""
        total = np.cumsum(block_values, dtype=np.float64)
        before_group = (total - block_values)[self.group_start]
        result: FloatArray = total - np.repeat(before_group, self.group_length)
        return result

    def auc_and_ap(self, weights: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
        """ROC AUC and average precision per group (NaN where undefined)."""
        if weights is None:
            pos_rows = self.positive_sorted
            neg_rows = 1.0 - self.positive_sorted
        else:
            w = weights[self.order]
            pos_rows = w * self.positive_sorted
            neg_rows = w - pos_rows
        pos = np.bincount(self.block, weights=pos_rows, minlength=self.n_blocks)
        neg = np.bincount(self.block, weights=neg_rows, minlength=self.n_blocks)
        cum_pos = self._within_group_cumsum(pos)
        cum_neg = self._within_group_cumsum(neg)
        # Each negative in a block beats nobody above it and ties with the block's positives.
        auc_terms = neg * (cum_pos - pos + 0.5 * pos)
        precision = safe_ratio(cum_pos, cum_pos + cum_neg)
        ap_terms = np.where(pos > 0, pos * np.nan_to_num(precision), 0.0)
        g = self.n_groups
        n_pos = np.bincount(self.block_group, weights=pos, minlength=g)
        n_neg = np.bincount(self.block_group, weights=neg, minlength=g)
        auc = safe_ratio(
            np.bincount(self.block_group, weights=auc_terms, minlength=g), n_pos * n_neg
        )
        ap = safe_ratio(np.bincount(self.block_group, weights=ap_terms, minlength=g), n_pos)
        return auc, ap


def roc_points(
    score: FloatArray, positive: np.ndarray, max_points: int = 201
) -> dict[str, list[float]]:
    """ROC curve (FPR, TPR) at every distinct threshold, thinned to ``max_points``."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    y = np.asarray(positive, dtype=np.float64)[order]
    last_of_block = np.r_[s[1:] != s[:-1], True]
    tps = np.cumsum(y)[last_of_block]
    fps = np.cumsum(1.0 - y)[last_of_block]
    thresholds = s[last_of_block]
    tpr = np.r_[0.0, safe_ratio(tps, tps[-1]) if len(tps) else []]
    fpr = np.r_[0.0, safe_ratio(fps, fps[-1]) if len(fps) else []]
    cut = np.r_[1.0, thresholds] if len(thresholds) else np.array([1.0])
    if len(tpr) > max_points:
        keep = np.unique(np.linspace(0, len(tpr) - 1, max_points).round().astype(np.int64))
        tpr, fpr, cut = tpr[keep], fpr[keep], cut[keep]
    return {
        "fpr": [float(v) for v in np.nan_to_num(fpr)],
        "tpr": [float(v) for v in np.nan_to_num(tpr)],
        "threshold": [float(v) for v in cut],
    }
