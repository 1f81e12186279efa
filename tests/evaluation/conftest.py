"""Shared fixtures for the evaluation tests: the in-repo German credit copy, scored models,
and the optional ../shared/datasets folder (tests that need it skip when it is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.evaluation.support import ADULT_COLUMNS, GERMAN_CSV, GERMAN_FEATURES, SHARED_DATASETS


@pytest.fixture(scope="session")
def german() -> pd.DataFrame:
    """The German credit data with a logistic model's score and decision for ``risk``."""
    frame = pd.read_csv(GERMAN_CSV)
    model = LogisticRegression(max_iter=2000).fit(frame[GERMAN_FEATURES], frame["risk"])
    frame["score"] = model.predict_proba(frame[GERMAN_FEATURES])[:, 1]
    frame["decision"] = model.predict(frame[GERMAN_FEATURES])
    return frame


@pytest.fixture(scope="session")
def german_multiclass() -> pd.DataFrame:
    """German credit with a 3-class model predicting ``housing`` (own / rent / free)."""
    frame = pd.read_csv(GERMAN_CSV)
    features = ["credit_amount", "duration", "age"]
    model = LogisticRegression(max_iter=5000).fit(frame[features], frame["housing"])
    proba = model.predict_proba(frame[features])
    for index, label in enumerate(model.classes_):
        frame[f"p_{label}"] = proba[:, index]
    frame["predicted"] = model.classes_[proba.argmax(axis=1)]
    return frame


def _read_adult(path: Path, *, skip_first: bool) -> pd.DataFrame:
    frame = pd.read_csv(
        path,
        header=None,
        names=ADULT_COLUMNS,
        na_values="?",
        skipinitialspace=True,
        skiprows=1 if skip_first else 0,
    )
    frame = frame.dropna(subset=["income"])
    frame["income"] = frame["income"].str.rstrip(".")
    return frame


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    """adult.test scored by a logistic model trained on adult.data (skips when absent)."""
    folder = SHARED_DATASETS / "adult"
    if not (folder / "adult.data").is_file() or not (folder / "adult.test").is_file():
        pytest.skip("../shared/datasets/adult is not available")
    train = _read_adult(folder / "adult.data", skip_first=False)
    test = _read_adult(folder / "adult.test", skip_first=True).reset_index(drop=True)
    features = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss"]
    model = LogisticRegression(max_iter=5000).fit(train[features], train["income"] == ">50K")
    test["score"] = model.predict_proba(test[features])[:, 1]
    test["decision"] = np.where(test["score"] >= 0.5, ">50K", "<=50K")
    return test
