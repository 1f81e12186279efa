"""The explainability suite on German credit, checked against independent computations:
scikit-learn's own permutation importance, scipy's t interval, linear SHAP by hand and
Shapley values by brute-force enumeration; and the explanation contract bounds."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from tests.evaluation.support import GERMAN_CSV, GERMAN_FEATURES

from charter.domain.contracts import Previous, evaluate_contract, parse_contract
from charter.domain.contracts.contract import check_not_looser, strictest
from charter.domain.errors import BadInput
from charter.evaluation import InputSpec, RunOptions, render_html
from charter.evaluation.contracts import catalogue_of
from charter.evaluation.explainability import ExplainabilitySuite, ExplainOptions
from charter.evaluation.suites import find_suite


@pytest.fixture(scope="module")
def credit() -> tuple[pd.DataFrame, LogisticRegression]:
    """German credit (numeric features and sex) with a logistic model on the features."""
    frame = pd.read_csv(GERMAN_CSV)[[*GERMAN_FEATURES, "sex", "risk"]]
    model = LogisticRegression(max_iter=2000).fit(frame[GERMAN_FEATURES], frame["risk"])
    return frame, model


def run(frame, model, *, spec=None, n_repeats=3, seed=5, **settings):
    suite = ExplainabilitySuite(ExplainOptions(**settings))
    spec = spec or InputSpec(target="risk", features=GERMAN_FEATURES)
    options = RunOptions(n_repeats=n_repeats, seed=seed, n_bootstrap=0, min_group_size=30)
    return suite.run(frame, spec, options, model=model)


def by_feature(ranking):
    return {row["feature"]: row for row in ranking}


def test_permutation_importance_equals_scikit_learns_with_t_intervals(credit):
    frame, model = credit
    result = run(frame, model, local_rows=0, local_rows_per_group=0)
    importance = result["details"]["importance"]
    theirs = permutation_importance(
        model,
        frame[GERMAN_FEATURES],
        frame["risk"],
        scoring="roc_auc",
        n_repeats=3,
        random_state=5,
    )
    ours = by_feature(importance["ranking"])
    for index, feature in enumerate(GERMAN_FEATURES):
        row = ours[feature]
        assert np.allclose(row["repeats"], theirs.importances[index], rtol=0, atol=1e-12)
        mean = theirs.importances_mean[index]
        assert math.isclose(row["importance"]["value"], mean, abs_tol=1e-12)
        low, high = stats.t.interval(0.95, 2, loc=mean, scale=stats.sem(theirs.importances[index]))
        assert math.isclose(row["importance"]["ci_lower"], low, abs_tol=1e-12)
        assert math.isclose(row["importance"]["ci_upper"], high, abs_tol=1e-12)
    # Ranked by mean importance; the top drivers are the positive ones among the first k.
    means = [r["importance"]["value"] for r in importance["ranking"]]
    assert means == sorted(means, reverse=True)
    assert [r["rank"] for r in importance["ranking"]] == [1, 2, 3, 4]
    assert importance["top"] == [
        r["feature"] for r in importance["ranking"] if r["importance"]["value"] > 0
    ]
    baseline = result["metrics"]["overall"]["baseline_score"]["value"]
    from sklearn.metrics import roc_auc_score

    expected = roc_auc_score(frame["risk"], model.predict_proba(frame[GERMAN_FEATURES])[:, 1])
    assert math.isclose(baseline, expected, abs_tol=1e-12)


def test_importance_per_cohort_group_is_scikit_learns_on_the_groups_rows(credit):
    frame, model = credit
    spec = InputSpec(target="risk", features=GERMAN_FEATURES, cohorts=["sex"])
    result = run(frame, model, spec=spec, n_repeats=2, local_rows=0, local_rows_per_group=0)
    (cohort,) = result["details"]["importance"]["cohorts"]
    assert cohort["name"] == "sex"
    for group in cohort["groups"]:
        rows = frame[frame["sex"] == group["values"]["sex"]]
        theirs = permutation_importance(
            model, rows[GERMAN_FEATURES], rows["risk"], scoring="roc_auc", n_repeats=2,
            random_state=5,
        )  # fmt: skip
        ours = by_feature(group["ranking"])
        assert group["n"] == len(rows)
        for index, feature in enumerate(GERMAN_FEATURES):
            assert np.allclose(ours[feature]["repeats"], theirs.importances[index], atol=1e-12)
    # The baseline score per group is in the ordinary metrics layout (contracts read it).
    groups = result["metrics"]["cohorts"][0]["groups"]
    assert all(g["metrics"]["baseline_score"]["value"] is not None for g in groups)


def test_local_values_of_a_linear_model_in_log_odds_are_coef_times_deviation(credit):
    frame, model = credit
    for method in ("exact", "sampling"):
        result = run(
            frame, model, n_repeats=1, local_rows=4, local_rows_per_group=0,
            background_rows=15, output="log_odds", method=method, n_permutations=4,
        )  # fmt: skip
        local = result["details"]["local"]
        assert local["method"] == method
        background = frame.iloc[[r - 1 for r in local["background"]]][GERMAN_FEATURES]
        assert len(local["rows"]) == 4
        for row in local["rows"]:
            x = frame.iloc[row["row"] - 1][GERMAN_FEATURES].astype(float)
            expected = model.coef_[0] * (x.to_numpy() - background.mean().to_numpy())
            got = {c["feature"]: c["value"] for c in row["contributions"]}
            for feature, value in zip(GERMAN_FEATURES, expected, strict=True):
                assert math.isclose(got[feature], value, abs_tol=1e-9), (method, feature)
            logit = model.decision_function(frame.iloc[[row["row"] - 1]][GERMAN_FEATURES])[0]
            assert math.isclose(row["output"], logit, abs_tol=1e-9)
        assert result["metrics"]["overall"]["additivity_gap"]["value"] < 1e-9


def brute_force_shapley(f, x: pd.DataFrame, background: pd.DataFrame, features) -> list[float]:
    """Shapley values from their definition, one coalition at a time (the reference)."""
    m = len(features)

    def value(coalition) -> float:
        rows = background.copy()
        for feature in coalition:
            rows[feature] = x[feature].iloc[0]
        return float(np.mean(f(rows)))

    phi = []
    for feature in features:
        others = [g for g in features if g != feature]
        total = 0.0
        for size in range(m):
            weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            for subset in itertools.combinations(others, size):
                total += weight * (value((*subset, feature)) - value(subset))
        phi.append(total)
    return phi


def test_exact_local_values_of_a_tree_equal_the_shapley_definition(credit):
    frame, _ = credit
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(
        frame[GERMAN_FEATURES], frame["risk"]
    )
    result = run(
        frame, tree, n_repeats=1, local_rows=2, local_rows_per_group=0, background_rows=12,
        method="exact",
    )  # fmt: skip
    local = result["details"]["local"]
    background = frame.iloc[[r - 1 for r in local["background"]]][GERMAN_FEATURES]

    def positive(rows):
        return tree.predict_proba(rows[GERMAN_FEATURES])[:, 1]

    for row in local["rows"]:
        x = frame.iloc[[row["row"] - 1]][GERMAN_FEATURES]
        expected = brute_force_shapley(positive, x, background, GERMAN_FEATURES)
        got = {c["feature"]: c["value"] for c in row["contributions"]}
        for feature, value in zip(GERMAN_FEATURES, expected, strict=True):
            assert math.isclose(got[feature], value, abs_tol=1e-12)
        # Efficiency: the base value plus the contributions is the model's output.
        assert math.isclose(row["base_value"], float(positive(background).mean()), abs_tol=1e-12)
        assert math.isclose(row["output"], float(positive(x)[0]), abs_tol=1e-12)
    # Sampling estimates the same values; with every antithetic pair it has a standard error.
    sampled = run(
        frame, tree, n_repeats=1, local_rows=2, local_rows_per_group=0, background_rows=12,
        method="sampling", n_permutations=32,
    )  # fmt: skip
    for exact_row, sampled_row in zip(
        local["rows"], sampled["details"]["local"]["rows"], strict=True
    ):
        exact_values = {c["feature"]: c["value"] for c in exact_row["contributions"]}
        for c in sampled_row["contributions"]:
            assert abs(c["value"] - exact_values[c["feature"]]) <= 5 * c["stderr"] + 1e-9
        total = sum(c["value"] for c in sampled_row["contributions"])
        assert math.isclose(sampled_row["base_value"] + total, sampled_row["output"], abs_tol=1e-12)


def test_local_sample_covers_every_cohort_group_and_summarises_it(credit):
    frame, _ = credit
    spec = InputSpec(target="risk", features=[*GERMAN_FEATURES, "sex"], cohorts=["sex"])
    pipeline_free = LogisticRegression(max_iter=2000).fit(
        frame[GERMAN_FEATURES].assign(sex=(frame["sex"] == "male").astype(int)), frame["risk"]
    )

    def scorer(rows: pd.DataFrame) -> np.ndarray:
        encoded = rows[GERMAN_FEATURES].assign(sex=(rows["sex"] == "male").astype(int))
        return pipeline_free.predict_proba(encoded)

    result = run(
        frame, scorer, spec=spec, n_repeats=1, local_rows=2, local_rows_per_group=3,
        background_rows=10,
    )  # fmt: skip
    local = result["details"]["local"]
    explained = {row["cohorts"]["sex"] for row in local["rows"]}
    assert explained == {"sex=female", "sex=male"}
    (summary,) = local["cohorts"]
    assert all(g["explained"] >= 3 for g in summary["groups"])
    assert {c["feature"] for c in summary["groups"][0]["mean_abs_contribution"]} == {
        *GERMAN_FEATURES,
        "sex",
    }
    assert local["method"] == "exact"  # five features: every coalition enumerated
    # The report and the result's contract section render the drivers with their intervals.
    html = render_html(result)
    assert "Top drivers" in html and "Local explanations" in html and "sex=female" in html


def test_settings_and_inputs_are_checked(credit):
    frame, model = credit
    suite = find_suite("explainability")
    assert isinstance(suite.configured({"top_k": 3}), ExplainabilitySuite)
    with pytest.raises(BadInput, match="unknown key"):
        suite.configured({"topk": 3})
    with pytest.raises(BadInput, match="scoring must be one of"):
        ExplainOptions(scoring="auc")
    with pytest.raises(BadInput, match="needs the true labels"):
        suite.run(frame, InputSpec(features=GERMAN_FEATURES), model=model)
    with pytest.raises(BadInput, match="needs a model"):
        suite.run(frame, InputSpec(target="risk"))
    wide = pd.DataFrame(np.zeros((40, 13)), columns=[f"f{i}" for i in range(13)])
    wide["y"] = [0, 1] * 20
    with pytest.raises(BadInput, match="exact Shapley"):
        run(wide, lambda rows: np.full(len(rows), 0.5), spec=InputSpec(target="y"),
            n_repeats=1, method="exact", scoring="accuracy")  # fmt: skip


# -- contract bounds ----------------------------------------------------------------------


def ranked(*features: str, zero: tuple[str, ...] = ()) -> list[dict]:
    rows = [
        {"feature": f, "rank": i + 1, "importance": {"value": 1.0 / (i + 1)}}
        for i, f in enumerate(features)
    ]
    rows += [
        {"feature": f, "rank": len(features) + i + 1, "importance": {"value": 0.0}}
        for i, f in enumerate(zero)
    ]
    return rows


def explained(ranking, cohorts=()) -> dict:
    return {
        "suite": {"name": "explainability", "version": "1.0.0"},
        "metrics": {"overall": {}, "cohorts": []},
        "details": {"importance": {"ranking": ranking, "cohorts": list(cohorts)}},
    }


CONTRACT = {
    "offline": [
        {"protected_not_in_top_k": {"attributes": ["sex", "age"], "k": 2}},
        {"top_k_stable": {"k": 3, "min_overlap": 0.6}},
    ]
}


def statuses(outcome) -> list[str]:
    return [b["status"] for b in outcome["bounds"]]


def test_protected_attribute_bound_reads_the_ranking_overall_and_per_cohort():
    contract = parse_contract(CONTRACT, catalogue=catalogue_of())
    protected = contract.offline[:1]
    ok = explained(ranked("duration", "credit_amount", "age", "sex"))
    assert statuses(evaluate_contract(protected, ok)) == ["pass"]
    bad = explained(ranked("duration", "age", "sex"))
    outcome = evaluate_contract(protected, bad)
    assert statuses(outcome) == ["fail"]
    assert "age among the top 2 drivers" in outcome["bounds"][0]["checks"][0]["reason"]
    # A zero-importance feature drives nothing, whatever its rank.
    assert statuses(
        evaluate_contract(protected, explained(ranked("duration", zero=("sex", "age"))))
    ) == ["pass"]
    # An attribute the explanations do not cover cannot be judged: fail closed.
    assert statuses(evaluate_contract(protected, explained(ranked("duration", "sex")))) == [
        "undefined"
    ]
    # per_cohort also checks every scored group; unscored groups are skipped.
    per_cohort = parse_contract(
        [{"protected_not_in_top_k": {"attributes": ["sex", "age"], "k": 2, "per_cohort": True}}],
        catalogue=catalogue_of(),
    )
    groups = [
        {"key": "sex=female", "ranking": ranked("sex", "duration", "age")},
        {"key": "sex=male", "ranking": [], "reason": "fewer than 30 rows"},
    ]
    outcome = evaluate_contract(
        per_cohort,
        explained(ranked("duration", "credit_amount", "age", "sex"), [{"groups": groups}]),
    )
    assert statuses(outcome) == ["fail"]
    assert [c["status"] for c in outcome["bounds"][0]["checks"]] == ["pass", "fail", "skipped"]
    # Another suite's result is not judged by explanation bounds.
    other = {"suite": {"name": "fairness", "version": "1"}, "metrics": {"overall": {}}}
    assert statuses(evaluate_contract(protected, other)) == ["skipped"]


def test_stability_overlap_thresholds_and_undefined_without_a_previous_release():
    stable = parse_contract(
        [{"top_k_stable": {"k": 3, "min_overlap": 0.6}}], catalogue=catalogue_of()
    )
    now = explained(ranked("duration", "credit_amount", "purpose", "age"))
    same_two = Previous("credit@abc", 7, tuple(ranked("duration", "purpose", "job")))
    outcome = evaluate_contract(stable, now, previous=same_two)
    assert statuses(outcome) == ["pass"]
    assert outcome["bounds"][0]["checks"][0]["observed"] == pytest.approx(2 / 3)
    one = Previous("credit@abc", 7, tuple(ranked("job", "housing", "duration")))
    assert statuses(evaluate_contract(stable, now, previous=one)) == ["fail"]
    none = Previous(None, None, None, "no previous release of credit: nothing to compare with")
    outcome = evaluate_contract(stable, now, previous=none)
    assert statuses(outcome) == ["undefined"] and not outcome["passed"]
    assert "no previous release" in outcome["bounds"][0]["checks"][0]["reason"]
    assert statuses(evaluate_contract(stable, now)) == ["undefined"]  # not looked up


def test_explanation_bounds_parse_round_trip_and_tighten():
    contract = parse_contract(CONTRACT, catalogue=catalogue_of())
    assert [b.text for b in contract.offline] == [
        "protected_not_in_top_k(attributes=[age, sex], k=2)",
        "top_k_stable(k=3, min_overlap=0.6)",
    ]
    again = parse_contract(contract.to_dict(), catalogue=catalogue_of())
    assert again == contract
    stricter = parse_contract(
        {"offline": [CONTRACT["offline"][0], {"top_k_stable": {"k": 3, "min_overlap": 0.8}}]}
    )
    check_not_looser(contract, stricter)
    looser = parse_contract(
        {"offline": [CONTRACT["offline"][0], {"top_k_stable": {"k": 3, "min_overlap": 0.4}}]}
    )
    with pytest.raises(BadInput, match="loosens or drops"):
        check_not_looser(contract, looser)
    merged = strictest([contract, stricter])
    assert "top_k_stable(k=3, min_overlap=0.8)" in [b.text for b in merged.offline]
    # A different k or set of attributes is another bound: both are kept.
    other_k = parse_contract([{"protected_not_in_top_k": {"attributes": ["sex"], "k": 5}}])
    assert len(strictest([contract, other_k]).offline) == 3
    for bad, message in [
        ({"top_k_stable": {"k": 0, "min_overlap": 0.5}}, "k must be an integer"),
        ({"top_k_stable": {"k": 3}}, "min_overlap must be a number"),
        ({"top_k_stable": {"k": 3, "min_overlap": 1.5}}, "min_overlap must be a number"),
        ({"protected_not_in_top_k": {"k": 3}}, "attributes must be"),
        ({"protected_not_in_top_k": {"attributes": ["sex"], "k": 3, "top": 1}}, "unknown key"),
        ({"top_k_stable": [3]}, "takes a mapping"),
    ]:
        with pytest.raises(BadInput, match=message):
            parse_contract([bad], catalogue=catalogue_of())


def test_shap_explainers_agree_with_the_exact_method(credit):
    """With the optional ``explain`` extra: shap's exact explainers give the same values."""
    pytest.importorskip("shap")
    frame, model = credit
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(
        frame[GERMAN_FEATURES], frame["risk"]
    )
    for estimator, output in ((model, "log_odds"), (tree, "probability")):
        common = {
            "n_repeats": 1, "local_rows": 3, "local_rows_per_group": 0,
            "background_rows": 12, "output": output,
        }  # fmt: skip
        ours = run(frame, estimator, method="exact", **common)["details"]["local"]
        theirs = run(frame, estimator, method="shap", **common)["details"]["local"]
        assert theirs["method"].startswith("shap-")
        for mine, shaps in zip(ours["rows"], theirs["rows"], strict=True):
            assert mine["row"] == shaps["row"]
            expected = {c["feature"]: c["value"] for c in mine["contributions"]}
            for c in shaps["contributions"]:
                assert math.isclose(c["value"], expected[c["feature"]], abs_tol=1e-6)
            assert math.isclose(shaps["base_value"], mine["base_value"], abs_tol=1e-6)
    with pytest.raises(BadInput, match="no exact explainer"):
        run(frame, model, n_repeats=1, method="shap", output="probability")
