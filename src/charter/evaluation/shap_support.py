"""``method: shap``: the ``shap`` package's exact explainers, for the models that have one.

Optional (``pip install 'charter[explain]'``): the suite's own exact and sampling methods
always run. Two explainers are used, both interventional against the suite's background
sample, so their values answer the same question as :mod:`charter.evaluation.shapley`:

- ``shap.TreeExplainer`` (interventional Tree SHAP, exact) for scikit-learn tree models,
  explaining the probability of the positive class;
- ``shap.LinearExplainer`` (exact for linear models) for estimators with ``coef_``,
  explaining the log-odds (``output: log_odds``).

Both read the model's own input matrix, so the features must be numeric columns the
estimator takes as they are (no pipeline in front).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation.models import Model
from charter.evaluation.shapley import Explanation

INSTALL_HINT = "pip install 'charter[explain]'"


def _estimator(model: Model, features: list[str], rows: pd.DataFrame) -> Any:
    estimator = getattr(model, "estimator", None)
    if estimator is None or getattr(estimator, "steps", None) is not None:
        raise BadInput(
            "method 'shap' explains a scikit-learn estimator on its own numeric inputs (no "
            "pipeline or function in front); use method exact or sampling",
            location="options.method",
        )
    if not all(pd.api.types.is_numeric_dtype(rows[c]) for c in features):
        raise BadInput(
            "method 'shap' needs numeric feature columns; use method exact or sampling",
            location="options.method",
        )
    return estimator


def _class_values(values: Any, positive_index: int, n_rows: int) -> np.ndarray:
    """The positive class's values from shap's per-class output (list or 3-D array)."""
    if isinstance(values, list):
        return np.asarray(values[positive_index], dtype=np.float64)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 3:
        return array[:, :, positive_index]
    return array.reshape(n_rows, -1)


def shap_explanations(
    model: Model,
    rows: pd.DataFrame,
    background: pd.DataFrame,
    features: list[str],
    output: str,
    positive_index: int | None,
    model_output: Any,
) -> tuple[list[Explanation], str]:
    """Shapley values of ``rows`` from shap's exact explainers, and the method's name."""
    try:
        import shap
    except ImportError as exc:
        raise BadInput(
            f"method 'shap' needs the shap package: {INSTALL_HINT}", location="options.method"
        ) from exc
    if positive_index is None:
        raise BadInput("method 'shap' needs a model with probabilities", location="options.method")
    estimator = _estimator(model, features, rows)
    x = rows[features].to_numpy(dtype=np.float64)
    data = background[features].to_numpy(dtype=np.float64)
    is_tree = hasattr(estimator, "tree_") or hasattr(estimator, "estimators_")
    if is_tree and output == "probability":
        explainer = shap.TreeExplainer(
            estimator, data=data, feature_perturbation="interventional", model_output="probability"
        )
        values = _class_values(explainer.shap_values(x), positive_index, len(x))
        expected = np.atleast_1d(explainer.expected_value)
        base = float(expected[positive_index] if len(expected) > 1 else expected[0])
        name = "shap-tree (interventional)"
    elif hasattr(estimator, "coef_") and not is_tree and output == "log_odds":
        explainer = shap.LinearExplainer(estimator, shap.maskers.Independent(data, len(data)))
        values = np.asarray(explainer.shap_values(x), dtype=np.float64).reshape(len(x), -1)
        base = float(np.atleast_1d(explainer.expected_value)[0])
        if positive_index == 0:  # the margin is the log-odds of classes_[1]
            values, base = -values, -base
        name = "shap-linear"
    else:
        raise BadInput(
            f"shap has no exact explainer for {type(estimator).__name__} with output "
            f"{output!r} (trees: probability; linear models: log_odds); use method exact "
            "or sampling",
            location="options.method",
        )
    outputs = np.asarray(model_output(rows), dtype=np.float64)
    return [
        Explanation(output=float(outputs[i]), base_value=base, values=values[i], stderr=None)
        for i in range(len(x))
    ], name
