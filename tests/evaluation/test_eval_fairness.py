"""The fairness suite against fairlearn (German credit, in-repo copy)."""

from __future__ import annotations

import pandas as pd
import pytest
from fairlearn.metrics import (
    demographic_parity_ratio,
)
from tests.evaluation.support import check_against_fairlearn, close

from charter.domain.canonical import content_digest
from charter.domain.errors import BadInput
from charter.evaluation import InputSpec, RunOptions
from charter.evaluation.fairness import FairnessSuite

SPEC = InputSpec(target="risk", prediction="decision", cohorts=["sex", "housing"])


def test_equals_fairlearn_on_german(german: pd.DataFrame) -> None:
    result = FairnessSuite().run(german, SPEC, RunOptions(n_bootstrap=0, min_group_size=0))
    assert [c["name"] for c in result["metrics"]["cohorts"]] == ["sex", "housing", "sex, housing"]
    check_against_fairlearn(result, german, "risk", "decision", 1)


def test_four_fifths_rule_and_impact_ratio(german: pd.DataFrame) -> None:
    frame = german.assign(decision=(german["score"] >= 0.75).astype(int))
    result = FairnessSuite().run(frame, SPEC, RunOptions(n_bootstrap=0))
    sex = result["metrics"]["cohorts"][0]
    rates = {g["key"]: g["metrics"]["selection_rate"]["value"] for g in sex["groups"]}
    top = max(rates.values())
    for group in sex["groups"]:
        assert close(group["metrics"]["impact_ratio"]["value"], rates[group["key"]] / top)
    rule = sex["four_fifths_rule"]
    assert rule["passed"] == (min(rates.values()) / top >= 0.8)
    assert rule["groups_below"] == [k for k, v in rates.items() if v / top < 0.8]


def test_small_groups_take_no_part_in_the_gaps(german: pd.DataFrame) -> None:
    result = FairnessSuite().run(
        german,
        InputSpec(target="risk", prediction="decision", cohorts=["purpose"]),
        RunOptions(n_bootstrap=0, min_group_size=100),
    )
    cohort = result["metrics"]["cohorts"][0]
    scored = [g for g in cohort["groups"] if g["scored"]]
    assert len(scored) < len(cohort["groups"])
    rates = [g["metrics"]["selection_rate"]["value"] for g in scored]
    assert close(
        cohort["metrics"]["demographic_parity_difference"]["value"], max(rates) - min(rates)
    )
    # fairlearn on the scored groups only gives the same number
    keep = german["purpose"].isin([g["values"]["purpose"] for g in scored])
    sub = german[keep]
    assert close(
        cohort["metrics"]["demographic_parity_ratio"]["value"],
        demographic_parity_ratio(sub["risk"], sub["decision"], sensitive_features=sub["purpose"]),
    )


def test_bootstrap_intervals_for_gaps(german: pd.DataFrame) -> None:
    result = FairnessSuite().run(german, SPEC, RunOptions(n_bootstrap=200, seed=1))
    gap = result["metrics"]["cohorts"][0]["metrics"]["demographic_parity_difference"]
    assert gap["ci_lower"] <= gap["value"] <= gap["ci_upper"]
    content_digest(result)


def test_without_target_only_selection_rates(german: pd.DataFrame) -> None:
    spec = InputSpec(prediction="decision", cohorts=["sex"])
    result = FairnessSuite().run(german, spec, RunOptions(n_bootstrap=10))
    cohort = result["metrics"]["cohorts"][0]
    assert cohort["metrics"]["demographic_parity_ratio"]["value"] is not None
    assert cohort["metrics"]["equalized_odds_difference"]["value"] is None
    assert "no target" in cohort["metrics"]["equalized_odds_difference"]["reason"]
    assert result["warnings"]


def test_needs_a_cohort_and_binary_decisions(german_multiclass: pd.DataFrame) -> None:
    with pytest.raises(BadInput, match="at least one cohort"):
        FairnessSuite().run(german_multiclass, InputSpec(target="housing", prediction="predicted"))
    spec = InputSpec(target="housing", prediction="predicted", cohorts=["sex"])
    with pytest.raises(BadInput, match="positive_label"):
        FairnessSuite().run(german_multiclass, spec)
    # one-vs-rest with a positive label works and equals fairlearn
    spec = InputSpec(
        target="housing", prediction="predicted", cohorts=["sex"], positive_label="own"
    )
    result = FairnessSuite().run(german_multiclass, spec, RunOptions(n_bootstrap=0))
    check_against_fairlearn(result, german_multiclass, "housing", "predicted", "own")
