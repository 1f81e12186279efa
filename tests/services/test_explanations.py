"""Explanation bounds at the service layer: the previous release's explainability evidence
is looked up when evidence is recorded and when the gate re-checks it."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from charter.domain.releases import ReleaseManifest
from charter.evaluation import InputSpec, RunOptions, evaluate_file
from charter.evaluation.explainability import ExplainabilitySuite, ExplainOptions
from charter.services import evidence, explanations, gates, policies, releases
from charter.services.releases import find_release

GERMAN = Path(__file__).resolve().parents[1] / "data" / "german_credit.csv"
FEATURES = ["credit_amount", "duration", "age", "job"]
CONTRACT = {
    "offline": [
        {"top_k_stable": {"k": 2, "min_overlap": 0.5}},
        {"protected_not_in_top_k": {"attributes": ["age"], "k": 1}},
    ]
}
STABLE = "top_k_stable(k=2, min_overlap=0.5)"
PROTECTED = "protected_not_in_top_k(attributes=[age], k=1)"


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> dict:
    """A real explainability result on German credit, as `charter evaluate` makes it."""
    frame = pd.read_csv(GERMAN)[[*FEATURES, "sex", "risk"]]
    model = LogisticRegression(max_iter=2000).fit(frame[FEATURES], frame["risk"])
    path = tmp_path_factory.mktemp("data") / "holdout.csv"
    frame.to_csv(path, index=False)
    suite = ExplainabilitySuite(ExplainOptions(local_rows=2, local_rows_per_group=0))
    spec = InputSpec(target="risk", features=FEATURES)
    return evaluate_file(path, suite, spec, RunOptions(n_repeats=2, n_bootstrap=0), model=model)


def release(act, seed: str) -> str:
    manifest = ReleaseManifest.model_validate(
        {
            "label": seed,
            "components": [{"kind": "model", "name": "m", "sha256": seed * 64}],
            "contract": CONTRACT,
        }
    )
    with act("developer") as ctx:
        created, _ = releases.create_release(ctx, "credit-limit", manifest, base_dir=None)
        return f"credit-limit@{created.digest}"


def record(act, ref: str, result: dict) -> dict[str, str]:
    with act("developer") as ctx:
        item, _ = evidence.record_evidence(ctx, ref, result)
        return {b["bound"]: (b["status"], b["reason"]) for b in item.bounds}


def test_stability_is_judged_against_the_previous_releases_evidence(act, system, result):
    first = release(act, "a")
    statuses = record(act, first, result)
    assert statuses[STABLE][0] == "undefined"
    assert "no previous release of credit-limit" in statuses[STABLE][1]
    age_leads = result["details"]["importance"]["top"][:1] == ["age"]
    assert statuses[PROTECTED][0] == ("fail" if age_leads else "pass")

    second = release(act, "b")
    # Evidence from outside the runner on the first release is no baseline.
    external = copy.deepcopy(result)
    external["dataset"]["sha256"] = None
    external["details"]["importance"]["ranking"] = [
        {"feature": "job", "rank": 1, "importance": {"value": 1.0}},
        {"feature": "sex", "rank": 2, "importance": {"value": 0.5}},
    ]
    record(act, first, external)
    with act("developer") as ctx:
        found = explanations.previous_explanations(ctx, find_release(ctx, second))
    assert found.ref == first[: len("credit-limit@") + 12]
    top = result["details"]["importance"]["ranking"][0]["feature"]
    assert found.ranking is not None and found.ranking[0]["feature"] == top
    assert record(act, second, result)[STABLE] == ("pass", None)

    # The gate re-checks stored evidence the same way (the contract-offline control).
    with act("developer") as ctx:
        _, policy = policies.in_force(ctx)
        facts = gates.gather_facts(ctx, find_release(ctx, second), "staging", policy)
    (fact,) = [e for e in facts.evidence if e.suite == "explainability"]
    checked = {b["bound"]: b for b in fact.bounds}
    assert checked[STABLE]["status"] == "pass"
    assert checked[STABLE]["checks"][0]["observed"] == 1.0
    assert checked[STABLE]["checks"][0]["previous"]["ref"] == found.ref


def test_an_earlier_release_without_explainability_evidence_is_passed_over(act, system, result):
    first = release(act, "c")
    record(act, first, result)
    release(act, "d")  # no explainability evidence
    third = release(act, "e")
    with act("developer") as ctx:
        found = explanations.previous_explanations(ctx, find_release(ctx, third))
    assert found.ref == first[: len("credit-limit@") + 12]
    assert record(act, third, result)[STABLE] == ("pass", None)


def test_no_runner_evidence_on_any_earlier_release_says_so(act, system, result):
    release(act, "7")
    second = release(act, "8")
    statuses = record(act, second, result)
    assert statuses[STABLE][0] == "undefined"
    assert "has explainability evidence from Charter's runner" in statuses[STABLE][1]


def test_the_model_card_shows_what_drives_the_decisions(act, system, result):
    from charter.documents.card import render_card
    from charter.services import cards

    ref = release(act, "9")
    record(act, ref, result)
    with act("developer") as ctx:
        card = cards.build_card(ctx, "credit-limit", ref.split("@")[1])
    (model,) = card["models"]
    summary = model["explanations"]
    ranking = result["details"]["importance"]["ranking"]
    assert [d["feature"] for d in summary["drivers"]] == [r["feature"] for r in ranking]
    assert summary["drivers"][0]["ci_lower"] == ranking[0]["importance"]["ci_lower"]
    text = render_card(card, "md").decode()
    assert "What drives the decisions" in text
    assert f"top 5: {', '.join(result['details']['importance']['top'])}" in text
