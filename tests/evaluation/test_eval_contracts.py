"""Contracts: parsing (both forms), clear errors with locations, and checking results."""

from __future__ import annotations

import pandas as pd
import pytest

from charter.domain.errors import BadInput
from charter.evaluation import (
    InputSpec,
    RunOptions,
    StaticSuite,
    evaluate_contract,
    parse_bound,
    parse_contract,
)
from charter.evaluation.classification import ClassificationSuite
from charter.evaluation.fairness import FairnessSuite


def test_string_and_mapping_forms_agree() -> None:
    contract = parse_contract(
        {
            "offline": [
                "roc_auc >= 0.75",
                "ci_lower(recall[sex=female]) >= 0.6",
                'precision[sex=female, age_band="[25, 35)"] > 0.5',
                "demographic_parity_ratio[sex, age_band] >= 0.8",
                {
                    "metric": "recall",
                    "cohort": {"sex": "female"},
                    "op": ">=",
                    "value": 0.6,
                    "use": "ci_lower",
                },
                {
                    "metric": "log_loss",
                    "op": "<=",
                    "value": 0.5,
                    "use": "ci",
                    "suite": "classification",
                },
            ],
            "live": {"accuracy": ">= 0.9", "open_after": 2},
        }
    )
    assert [str(b) for b in contract.live.bounds] == ["accuracy >= 0.9"]
    assert contract.live.open_after == 2 and contract.live.monitors == frozenset()
    first, second, third, fourth, fifth, sixth = contract.offline
    assert first.metric == "roc_auc" and first.op == ">=" and first.threshold == 0.75
    assert second == fifth.__class__(**{**fifth.__dict__, "location": second.location})
    assert second.text == "ci_lower(recall[sex=female]) >= 0.6"
    assert third.group == {"sex": "female", "age_band": "[25, 35)"}
    assert third.text == 'precision[sex=female, age_band="[25, 35)"] > 0.5'
    assert fourth.dimension == ("sex", "age_band") and fourth.level == "dimension"
    assert sixth.suites == ("classification",)
    assert parse_bound(third.text).group == third.group  # text round-trips
    assert contract.to_dict()["offline"][0] == "roc_auc >= 0.75"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("roc_auc >= ", r"expected a number at column 12"),
        ("roc_auc = 0.7", r"expected an operator \(>=, <=, >, <\) at column 9"),
        ("roc_aux >= 0.7", "unknown metric 'roc_aux' .*did you mean roc_auc"),
        ("recall[sex=female >= 0.6", "expected"),
        ("recall[sex=female, age] >= 0.6", "value for every cohort column"),
        ("recall[sex, sex] >= 0.6", "repeated"),
        ("mean(roc_auc) >= 0.6", "unknown function 'mean'"),
        ("ci_lower(roc_auc >= 0.6", r"expected '\)'"),
        ("roc_auc >= 0.6 please", "unexpected text"),
        ("recall[sex='female] >= 0.6", "unterminated"),
        ("demographic_parity_ratio[sex=female] >= 0.8", "one value per cohort dimension"),
        ("duplicate_row_share[sex] <= 0.1", "whole-data metric"),
        ({"metric": "roc_auc", "op": "=>", "value": 1}, "op must be one of"),
        ({"metric": "roc_auc", "op": ">=", "value": "high"}, "value must be a finite number"),
        ({"metric": "roc_auc", "op": ">=", "value": 0.7, "use": "lower"}, "use must be one of"),
        ({"metric": "roc_auc", "op": ">="}, "needs 'value'"),
        ({"metric": "roc_auc", "op": ">=", "value": 0.7, "colour": 1}, "unknown key"),
        ({"metric": "roc_auc", "op": ">=", "value": 0.7, "suite": "fairness"}, "does not measure"),
        ({"metric": "roc_auc", "op": ">=", "value": 0.7, "cohort": 3}, "cohort must be"),
        (42, "string or a mapping"),
    ],
)
def test_syntax_errors_name_the_location(raw: object, message: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        parse_contract(["accuracy >= 0.5", raw])
    assert caught.value.location is not None and caught.value.location.startswith("contract[1]")


def test_contract_shape_errors() -> None:
    with pytest.raises(BadInput, match="unknown key"):
        parse_contract({"offline": [], "typo": []})
    with pytest.raises(BadInput, match="list of bounds"):
        parse_contract("roc_auc >= 0.7")
    assert parse_contract(None).offline == ()
    with pytest.raises(BadInput) as caught:
        parse_contract({"offline": ["roc_auc >= 0.7", "nope > 1"]})
    assert str(caught.value).startswith("contract.offline[1]: unknown metric 'nope'")


@pytest.fixture(scope="module")
def classification(german: pd.DataFrame) -> dict:
    spec = InputSpec(target="risk", score="score", cohorts=["sex", "purpose"])
    return ClassificationSuite().run(german, spec, RunOptions(n_bootstrap=100, min_group_size=50))


def test_checks_against_a_classification_result(classification: dict) -> None:
    overall = classification["metrics"]["overall"]
    auc, low = overall["roc_auc"]["value"], overall["roc_auc"]["ci_lower"]
    contract = parse_contract(
        [
            f"roc_auc >= {auc - 0.01}",  # pass
            f"ci_lower(roc_auc) >= {low + 0.001}",  # fail: only the estimate clears it
            f"ci(roc_auc) >= {low - 0.001}",  # pass: ci -> lower end for >=
            "recall[sex=female] >= 0.0",  # pass
            "recall[sex=nobody] >= 0.0",  # undefined: no such group
            "recall[purpose] >= 0.0",  # pass, small groups skipped
            "recall[race] >= 0.0",  # undefined: no such dimension
            "demographic_parity_ratio[sex] >= 0.8",  # skipped: a fairness metric
        ]
    )
    outcome = evaluate_contract(contract, classification)
    statuses = [b["status"] for b in outcome["bounds"]]
    assert statuses == ["pass", "fail", "pass", "pass", "undefined", "pass", "undefined", "skipped"]
    assert outcome["passed"] is False and outcome["applicable"] == 7
    assert outcome["counts"] == {"pass": 4, "fail": 1, "undefined": 2, "skipped": 1}
    purpose_checks = outcome["bounds"][5]["checks"]
    assert {c["status"] for c in purpose_checks} == {"pass", "skipped"}
    assert "no group" in outcome["bounds"][4]["checks"][0]["reason"]
    only_passing = parse_contract([contract.offline[0].text, contract.offline[3].text])
    assert evaluate_contract(only_passing, classification)["passed"] is True


def test_ci_bounds_without_bootstrap_are_undefined(german: pd.DataFrame) -> None:
    result = ClassificationSuite().run(
        german, InputSpec(target="risk", score="score"), RunOptions(n_bootstrap=0)
    )
    outcome = evaluate_contract(parse_contract(["ci_lower(roc_auc) >= 0.5"]), result)
    assert outcome["bounds"][0]["status"] == "undefined"
    assert "no confidence interval" in outcome["bounds"][0]["checks"][0]["reason"]


def test_fairness_dimension_bounds(german: pd.DataFrame) -> None:
    spec = InputSpec(target="risk", prediction="decision", cohorts=["sex", "housing"])
    result = FairnessSuite().run(german, spec, RunOptions(n_bootstrap=50))
    ratio = result["metrics"]["cohorts"][0]["metrics"]["demographic_parity_ratio"]["value"]
    outcome = evaluate_contract(
        parse_contract(
            [
                f"demographic_parity_ratio[sex] >= {ratio - 0.01}",
                f"demographic_parity_ratio[sex] >= {ratio + 0.01}",
                "demographic_parity_ratio >= 0.0",  # every dimension
                "equalized_odds_difference[housing, sex] <= 1",  # column order does not matter
                "roc_auc >= 0.5",  # skipped: classification metric
            ]
        ),
        result,
    )
    assert [b["status"] for b in outcome["bounds"]] == ["pass", "fail", "pass", "pass", "skipped"]
    assert len(outcome["bounds"][2]["checks"]) == 3


def test_static_suite_stands_in_for_tests() -> None:
    result = StaticSuite({"accuracy": 0.9, "recall": None}).run(
        pd.DataFrame({"x": [1]}), InputSpec()
    )
    assert result["suite"]["name"] == "static"
    # Relabelled as a classification result, its fixed values are checked like real ones.
    relabelled = {**result, "suite": {"name": "classification", "version": "test"}}
    outcome = evaluate_contract(parse_contract(["accuracy >= 0.8", "recall >= 0.1"]), relabelled)
    assert [b["status"] for b in outcome["bounds"]] == ["pass", "undefined"]
