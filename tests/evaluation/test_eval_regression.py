"""The regression suite against scikit-learn (German credit: predict the credit amount)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression
from tests.evaluation.support import GERMAN_CSV, close

from charter.domain.canonical import content_digest
from charter.domain.errors import BadInput
from charter.evaluation import InputSpec, RunOptions
from charter.evaluation.regression import RegressionSuite


@pytest.fixture(scope="module")
def amounts() -> pd.DataFrame:
    frame = pd.read_csv(GERMAN_CSV)
    features = ["duration", "age", "job"]
    model = LinearRegression().fit(frame[features], frame["credit_amount"])
    return frame.assign(predicted=model.predict(frame[features]))


def test_equals_sklearn_overall_and_per_cohort(amounts: pd.DataFrame) -> None:
    spec = InputSpec(target="credit_amount", prediction="predicted", cohorts=["sex"])
    result = RegressionSuite().run(amounts, spec, RunOptions(n_bootstrap=100))
    y, p = amounts["credit_amount"], amounts["predicted"]
    reference = {
        "mae": skm.mean_absolute_error,
        "rmse": skm.root_mean_squared_error,
        "r2": skm.r2_score,
        "mape": skm.mean_absolute_percentage_error,
    }
    overall = result["metrics"]["overall"]
    for name, function in reference.items():
        assert close(overall[name]["value"], function(y, p), tol=1e-9 * max(1.0, function(y, p)))
        assert overall[name]["ci_lower"] <= overall[name]["value"] <= overall[name]["ci_upper"]
    for group in result["metrics"]["cohorts"][0]["groups"]:
        mask = amounts["sex"] == group["values"]["sex"]
        for name, function in reference.items():
            expected = function(y[mask], p[mask])
            assert close(group["metrics"][name]["value"], expected, tol=1e-9 * max(1.0, expected))
    quantiles = result["details"]["residual_quantiles"]
    assert close(quantiles["q50"], float(np.median(y - p)), tol=1e-6)
    content_digest(result)


def test_mape_excludes_zero_targets() -> None:
    frame = pd.DataFrame({"y": [0.0, 2.0, 4.0, 0.0], "p": [1.0, 1.0, 5.0, 0.5]})
    result = RegressionSuite().run(
        frame, InputSpec(target="y", prediction="p"), RunOptions(n_bootstrap=0)
    )
    nonzero = frame[frame.y != 0]
    assert close(
        result["metrics"]["overall"]["mape"]["value"],
        skm.mean_absolute_percentage_error(nonzero.y, nonzero.p),
    )
    assert result["details"]["mape_zero_target_rows"] == 2
    assert result["warnings"]


def test_constant_target_gives_undefined_r2() -> None:
    frame = pd.DataFrame({"y": [1.0] * 5, "p": [1.0, 2.0, 1.0, 0.0, 1.0]})
    result = RegressionSuite().run(
        frame, InputSpec(target="y", prediction="p"), RunOptions(n_bootstrap=0)
    )
    r2 = result["metrics"]["overall"]["r2"]
    assert r2["value"] is None and "constant" in r2["reason"]


def test_bad_inputs() -> None:
    frame = pd.DataFrame({"y": [1.0, 2.0], "p": ["a", "b"], "q": [1.0, np.nan]})
    with pytest.raises(BadInput, match="needs a target and a prediction"):
        RegressionSuite().run(frame, InputSpec(target="y"))
    with pytest.raises(BadInput, match="not numeric"):
        RegressionSuite().run(frame, InputSpec(target="y", prediction="p"))
    with pytest.raises(BadInput, match="missing value"):
        RegressionSuite().run(frame, InputSpec(target="y", prediction="q"))
