"""The HTML report, the suite registry, the result envelope and the exported API."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from tests.evaluation.support import GERMAN_CSV

import charter.evaluation as evaluation
from charter.domain.canonical import content_digest
from charter.domain.errors import BadInput
from charter.evaluation import (
    RESULT_SCHEMA,
    InputSpec,
    RunOptions,
    Suite,
    builtin_suites,
    evaluate_contract,
    evaluate_file,
    find_suite,
    metric_catalogue,
    parse_contract,
    render_html,
)


def test_every_public_name_is_exported() -> None:
    for name in evaluation.__all__:
        assert getattr(evaluation, name) is not None, name
    public = {n for n in dir(evaluation) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(evaluation.__all__) | {"annotations"}


def test_builtin_suites_have_names_versions_and_metric_catalogues() -> None:
    suites = builtin_suites()
    names = [s.name for s in suites]
    assert names[:5] == ["classification", "regression", "fairness", "robustness", "data-quality"]
    for suite in suites:
        assert isinstance(suite, Suite) and suite.version and suite.summary and suite.metrics
        assert suite.__doc__
    catalogue = metric_catalogue()
    assert {s for s, _ in catalogue["precision"]} == {"classification", "fairness"}
    with pytest.raises(BadInput, match="unknown suite 'nope'; available suites: classification"):
        find_suite("nope")


def test_evaluate_file_records_provenance(tmp_path: Path) -> None:
    frame = pd.read_csv(GERMAN_CSV)
    frame["p"] = (frame["duration"] / frame["duration"].max()).round(3)
    path = tmp_path / "holdout.parquet"
    frame.to_parquet(path)
    spec = InputSpec(target="risk", score="p", cohorts=["sex"])
    result = evaluate_file(path, "classification", spec, RunOptions(n_bootstrap=20))
    assert result["schema"] == RESULT_SCHEMA
    assert result["suite"] == {"name": "classification", "version": "1.0.0"}
    assert result["dataset"]["format"] == "parquet" and len(result["dataset"]["sha256"]) == 64
    assert result["rows"] == {"total": 1000, "evaluated": 1000}
    assert result["environment"]["numpy"] and result["environment"]["scikit-learn"]
    assert result["spec"]["cohorts"] == ["sex"] and result["options"]["n_bootstrap"] == 20
    assert content_digest(result) == content_digest(
        evaluate_file(path, "classification", spec, RunOptions(n_bootstrap=20))
    )


def test_html_report_is_self_contained_and_escaped(german: pd.DataFrame) -> None:
    frame = german.assign(sex=german["sex"].replace({"female": "<script>alert(1)</script>"}))
    spec = InputSpec(target="risk", score="score", cohorts=["sex", "housing"])
    result = find_suite("classification").run(frame, spec, RunOptions(n_bootstrap=30))
    outcome = evaluate_contract(parse_contract(["roc_auc >= 0.9", "accuracy >= 0.5"]), result)
    page = render_html(result, outcome)
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<svg") >= 4  # ROC, reliability, one bar chart per cohort dimension
    assert "ROC curve" in page and "Reliability" in page and "FAIL" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)  # no external assets


@pytest.mark.parametrize("suite_name", ["fairness", "regression", "data-quality"])
def test_html_report_for_other_suites(german: pd.DataFrame, suite_name: str) -> None:
    spec = {
        "fairness": InputSpec(target="risk", prediction="decision", cohorts=["sex"]),
        "regression": InputSpec(target="credit_amount", prediction="duration", cohorts=["sex"]),
        "data-quality": InputSpec(target="risk"),
    }[suite_name]
    result = find_suite(suite_name).run(german, spec, RunOptions(n_bootstrap=10))
    page = render_html(result)
    assert "<table>" in page and suite_name in page
