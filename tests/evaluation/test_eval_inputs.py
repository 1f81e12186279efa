"""Every bad-input case of the input spec, options and cohorts, with clear messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from charter.domain.errors import BadInput
from charter.evaluation import InputSpec, RunOptions
from charter.evaluation.classification import ClassificationSuite
from charter.evaluation.cohorts import build_dimensions


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": [0, 1] * 20,
            "p": np.linspace(0.05, 0.95, 40),
            "yhat": [0, 1, 1, 0] * 10,
            "sex": ["f", "m"] * 20,
            "age": np.arange(20, 60),
            "text": ["a"] * 40,
        }
    )


def run(data: pd.DataFrame, **spec: object) -> dict:
    return ClassificationSuite().run(data, InputSpec(**spec), RunOptions(n_bootstrap=0))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "spec", "message"),
    [
        (
            None,
            {"target": "nope", "score": "p"},
            r"target column 'nope' is not in the data; available columns: y, p",
        ),
        (None, {"target": "y", "score": "nope"}, "score column 'nope' is not in the data"),
        (None, {"target": "y"}, "give a prediction column, a score column or class_scores"),
        (None, {"score": "p"}, "needs a target"),
        ({"y": [1] * 40}, {"target": "y", "score": "p"}, r"single class \(1\) in 40 rows"),
        ({"p": [np.nan] + [0.5] * 39}, {"target": "y", "score": "p"}, "missing value.*row 1"),
        ({"p": [np.inf] + [0.5] * 39}, {"target": "y", "score": "p"}, "infinite"),
        ({"p": ["x"] * 40}, {"target": "y", "score": "p"}, "not numeric"),
        ({"p": [1.5] * 40}, {"target": "y", "score": "p"}, r"probabilities in \[0, 1\]"),
        (
            {"yhat": [np.nan] * 40},
            {"target": "y", "prediction": "yhat"},
            "prediction column 'yhat' has 40 missing",
        ),
        (
            {"y": [np.nan] + [0, 1] * 19 + [1]},
            {"target": "y", "score": "p"},
            "target column 'y' has 1 missing",
        ),
        ({"y": ["a", "b"] * 20}, {"target": "y", "score": "p"}, "set positive_label"),
        (
            {"y": ["a", "b"] * 20},
            {"target": "y", "score": "p", "positive_label": "c"},
            "positive_label 'c' is not one of",
        ),
        ({"yhat": ["x", "z"] * 20}, {"target": "y", "prediction": "yhat"}, "share no value"),
        ({"y": [0, 1, 2, 3] * 10}, {"target": "y", "score": "p"}, "use class_scores"),
        (
            None,
            {"target": "y", "score": "p", "cohorts": ["age"]},
            "numeric with 40 distinct values; give bin edges",
        ),
        (
            None,
            {"target": "y", "score": "p", "cohorts": ["age"], "bins": {"age": [20, 30, 50]}},
            "fall outside the bin edges",
        ),
        (
            None,
            {"target": "y", "score": "p", "cohorts": ["age"], "bins": {"age": [0, 10, 20, 60]}},
            r"cohort age=\[0, 10\) has zero rows",
        ),
        (
            None,
            {"target": "y", "score": "p", "cohorts": ["text"], "bins": {"text": [0, 1]}},
            "not numeric",
        ),
        (
            None,
            {"target": "y", "score": "p", "cohorts": ["nope"]},
            "cohort column 'nope' is not in the data",
        ),
        (
            {"sex": [None] * 40},
            {"target": "y", "score": "p", "cohorts": ["sex"]},
            "zero rows with a value",
        ),
    ],
)
def test_bad_inputs(change: dict | None, spec: dict, message: str) -> None:
    data = frame()
    for column, values in (change or {}).items():
        data[column] = values
    with pytest.raises(BadInput, match=message):
        run(data, **spec)


def test_class_scores_must_cover_classes_and_sum_to_one() -> None:
    data = pd.DataFrame(
        {"y": list("abc") * 10, "pa": [0.5] * 30, "pb": [0.3] * 30, "pc": [0.2] * 30}
    )
    with pytest.raises(BadInput, match="class 'c' has no probability column"):
        run(data, target="y", class_scores={"a": "pa", "b": "pb"})
    data["pc"] = 0.3
    with pytest.raises(BadInput, match="must sum to 1"):
        run(data, target="y", class_scores={"a": "pa", "b": "pb", "c": "pc"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": 3}, "target must be a column name"),
        ({"cohorts": ["a", "a"]}, "listed twice"),
        ({"score": "p", "class_scores": {"a": "pa"}}, "not both"),
        ({"cohorts": ["a"], "bins": {"a": [1]}}, "at least two bin edges"),
        ({"cohorts": ["a"], "bins": {"a": [2, 1]}}, "strictly increasing"),
        ({"cohorts": ["a"], "bins": {"a": [0, "x"]}}, "not a finite number"),
        ({"bins": {"b": [0, 1]}}, "not a cohort column"),
        ({"threshold": 2}, r"threshold must be in \[0, 1\]"),
    ],
)
def test_bad_specs(kwargs: dict, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        InputSpec(**kwargs)


def test_spec_and_options_from_mappings() -> None:
    spec = InputSpec.from_mapping({"target": "y", "cohorts": "sex"})
    assert spec.cohorts == ("sex",)
    with pytest.raises(BadInput, match="unknown key.*'targte'"):
        InputSpec.from_mapping({"targte": "y"})
    options = RunOptions.from_mapping({"n_bootstrap": 10, "thresholds": [0.7, 0.2, 0.7]})
    assert options.thresholds == (0.2, 0.7)
    with pytest.raises(BadInput, match="n_bootstrap must be an integer"):
        RunOptions(n_bootstrap=-1)
    with pytest.raises(BadInput, match="confidence must be a number in"):
        RunOptions(confidence=1.0)
    with pytest.raises(BadInput, match="unknown key"):
        RunOptions.from_mapping({"bootstrap": 3})
    with pytest.raises(BadInput, match="expected a mapping"):
        RunOptions.from_mapping([1])


def test_bins_and_missing_cohort_values() -> None:
    data = frame()
    data.loc[0, "age"] = np.nan
    data.loc[1, "sex"] = None
    spec = InputSpec(cohorts=["age", "sex"], bins={"age": [20, 40, 59]})
    age, sex, both = build_dimensions(data, spec)
    assert [g["age"] for g in age.groups] == ["[20, 40)", "[40, 59]", "(missing)"]
    assert age.sizes.tolist() == [19, 20, 1]  # 59 joins the top bin
    assert "(missing)" in [g["sex"] for g in sex.groups]
    assert both.name == "age, sex" and both.sizes.sum() == 40


def test_data_must_be_a_nonempty_frame() -> None:
    with pytest.raises(BadInput, match="DataFrame"):
        ClassificationSuite().run([1, 2], InputSpec(target="y", score="p"))  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="no rows"):
        ClassificationSuite().run(frame().head(0), InputSpec(target="y", score="p"))
