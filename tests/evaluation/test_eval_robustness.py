"""The robustness suite with a real scikit-learn pipeline and an in-memory function model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from tests.evaluation.support import GERMAN_CSV

from charter.domain.canonical import content_digest
from charter.domain.errors import BadInput
from charter.evaluation import FunctionModel, InputSpec, RunOptions
from charter.evaluation.robustness import RobustnessSuite

FEATURES = ["credit_amount", "duration", "age", "housing", "checking_account"]


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, object]:
    frame = pd.read_csv(GERMAN_CSV)
    pipeline = make_pipeline(
        make_column_transformer(
            (StandardScaler(), ["credit_amount", "duration", "age"]),
            (OneHotEncoder(handle_unknown="ignore"), ["housing", "checking_account"]),
        ),
        LogisticRegression(max_iter=2000),
    )
    pipeline.fit(frame[FEATURES], frame["risk"])
    return frame, pipeline


def test_flip_rates_with_a_pipeline(fitted: tuple[pd.DataFrame, object]) -> None:
    frame, model = fitted
    spec = InputSpec(target="risk", cohorts=["sex"], features=FEATURES)
    result = RobustnessSuite().run(
        frame, spec, RunOptions(n_bootstrap=50, n_repeats=2), model=model
    )
    overall = result["metrics"]["overall"]
    assert 0.0 < overall["flip_rate"]["value"] < 0.5
    assert overall["mean_score_change"]["value"] > 0
    rounds = len(frame) * 2  # rows x n_repeats: every rate is a whole number of flips over it
    for name in ("flip_rate", "flip_rate_numeric_noise", "flip_rate_category_swap"):
        entry = overall[name]
        assert 0.0 < entry["value"] < 0.5, name
        assert entry["value"] * rounds == pytest.approx(round(entry["value"] * rounds)), name
        assert entry["ci_lower"] <= entry["value"] <= entry["ci_upper"], name
        # The cohorts partition the rows: their size-weighted rates are the overall rate.
        groups = result["metrics"]["cohorts"][0]["groups"]
        assert sum(g["n"] for g in groups) == len(frame)
        weighted = sum(g["n"] * g["metrics"][name]["value"] for g in groups) / len(frame)
        assert weighted == pytest.approx(entry["value"]), name
    features = {row["feature"] for row in result["details"]["per_feature"]}
    assert features == set(FEATURES)
    again = RobustnessSuite().run(frame, spec, RunOptions(n_bootstrap=50, n_repeats=2), model=model)
    assert content_digest(result) == content_digest(again)  # seeded


def test_flip_rates_match_a_model_with_known_flips() -> None:
    """A model that reads one two-valued category flips exactly when that cell is swapped,
    so its flip rate is the swap rate (binomial error), and noise never flips it."""
    n, rate, repeats = 4000, 0.2, 3
    frame = pd.DataFrame({"c": ["a", "b"] * (n // 2), "x": np.linspace(-1.0, 1.0, n)})
    model = FunctionModel(lambda f: (f["c"] == "a").to_numpy().astype(int))
    result = RobustnessSuite().run(
        frame,
        InputSpec(features=["c", "x"]),
        RunOptions(n_bootstrap=0, n_repeats=repeats, swap_rate=rate),
        model=model,
    )
    overall = result["metrics"]["overall"]
    sigma = (rate * (1 - rate) / (n * repeats)) ** 0.5
    assert abs(overall["flip_rate_category_swap"]["value"] - rate) < 4 * sigma
    assert abs(overall["flip_rate"]["value"] - rate) < 4 * sigma
    assert overall["flip_rate_numeric_noise"]["value"] == 0.0
    assert result["details"]["numeric_features"] == ["x"]
    assert result["details"]["categorical_features"] == ["c"]


def test_a_model_ignoring_inputs_never_flips() -> None:
    frame = pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    model = FunctionModel(lambda f: np.zeros(len(f), dtype=int))
    result = RobustnessSuite().run(frame, InputSpec(), RunOptions(n_bootstrap=10), model=model)
    assert result["metrics"]["overall"]["flip_rate"]["value"] == 0.0
    assert result["metrics"]["overall"]["mean_score_change"]["value"] is None


def test_samples_large_data_and_requires_a_model() -> None:
    frame = pd.DataFrame({"x": np.arange(500.0)})
    model = FunctionModel(lambda f: (f["x"] > 250).astype(int).to_numpy())
    result = RobustnessSuite().run(
        frame, InputSpec(), RunOptions(max_rows=100, n_bootstrap=0), model=model
    )
    assert result["rows"]["evaluated"] == 100 and result["warnings"]
    with pytest.raises(BadInput, match="needs a model"):
        RobustnessSuite().run(frame, InputSpec())


def test_a_failing_model_is_bad_input() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})

    def broken(f: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("boom")

    with pytest.raises(BadInput, match="model failed.*boom"):
        RobustnessSuite().run(frame, InputSpec(), model=broken)
