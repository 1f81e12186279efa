"""Classification and fairness on UCI Adult (../shared/datasets), checked against sklearn and
fairlearn to 1e-9. Skipped when the shared data sets are absent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from tests.evaluation.support import check_against_fairlearn, close

from charter.evaluation import InputSpec, RunOptions
from charter.evaluation.classification import ClassificationSuite
from charter.evaluation.fairness import FairnessSuite

pytestmark = pytest.mark.datasets


def test_classification_on_adult(adult: pd.DataFrame) -> None:
    spec = InputSpec(target="income", score="score", positive_label=">50K", cohorts=["sex", "race"])
    result = ClassificationSuite().run(adult, spec, RunOptions(n_bootstrap=50, min_group_size=0))
    y = (adult["income"] == ">50K").astype(int)
    s = adult["score"]
    p = (s >= 0.5).astype(int)
    overall = result["metrics"]["overall"]
    assert close(overall["roc_auc"]["value"], skm.roc_auc_score(y, s))
    assert close(overall["pr_auc"]["value"], skm.average_precision_score(y, s))
    assert close(overall["log_loss"]["value"], skm.log_loss(y, s))
    assert close(overall["brier_score"]["value"], skm.brier_score_loss(y, s))
    assert close(overall["f1"]["value"], skm.f1_score(y, p))
    assert close(overall["balanced_accuracy"]["value"], skm.balanced_accuracy_score(y, p))
    assert (
        overall["roc_auc"]["ci_lower"]
        < overall["roc_auc"]["value"]
        < overall["roc_auc"]["ci_upper"]
    )
    intersection = result["metrics"]["cohorts"][2]
    assert intersection["columns"] == ["sex", "race"]
    for group in intersection["groups"]:
        mask = (adult["sex"] == group["values"]["sex"]) & (adult["race"] == group["values"]["race"])
        yg, sg = y[mask], s[mask]
        expected = skm.roc_auc_score(yg, sg) if yg.nunique() == 2 else np.nan
        assert close(group["metrics"]["roc_auc"]["value"], expected), group["key"]
        assert close(
            group["metrics"]["recall"]["value"],
            skm.recall_score(yg, (sg >= 0.5).astype(int), zero_division=np.nan),
        )


def test_fairness_on_adult(adult: pd.DataFrame) -> None:
    spec = InputSpec(
        target="income", prediction="decision", positive_label=">50K", cohorts=["sex", "race"]
    )
    result = FairnessSuite().run(adult, spec, RunOptions(n_bootstrap=0, min_group_size=0))
    check_against_fairlearn(result, adult, "income", "decision", ">50K")
