"""Evidence: suite results stored on releases, checked against the release's own contract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from charter.domain.errors import BadInput, Forbidden
from charter.domain.releases import ReleaseManifest
from charter.evaluation import InputSpec, RunOptions, evaluate_file
from charter.services import evidence, releases, systems

GERMAN = Path(__file__).resolve().parents[1] / "data" / "german_credit.csv"


@pytest.fixture(scope="module")
def holdout(tmp_path_factory) -> Path:
    """German credit with a logistic-regression score, as a model team would hand it over."""
    frame = pd.read_csv(GERMAN)
    features = frame[["credit_amount", "duration", "age"]]
    model = LogisticRegression(max_iter=1000).fit(features[:600], frame["risk"][:600])
    test = frame.iloc[600:].copy()
    test["score"] = model.predict_proba(features[600:])[:, 1]
    test["pred"] = (test["score"] >= 0.5).astype(int)
    path = tmp_path_factory.mktemp("data") / "holdout.csv"
    test.to_csv(path, index=False)
    return path


@pytest.fixture
def ref(act) -> str:
    with act("developer") as ctx:
        systems.register_system(ctx, "credit-limit", owner="team")
        manifest = ReleaseManifest.model_validate(
            {
                "components": [{"kind": "model", "name": "m", "sha256": "a" * 64}],
                "contract": {"offline": {"roc_auc": ">= 0.55", "accuracy": ">= 0.99"}},
            }
        )
        release, _ = releases.create_release(ctx, "credit-limit", manifest, base_dir=None)
        return f"credit-limit@{release.digest}"


def run(holdout: Path, suite: str = "classification") -> dict:
    spec = InputSpec(target="risk", score="score", prediction="pred", cohorts=("sex",))
    return evaluate_file(holdout, suite, spec, RunOptions(n_bootstrap=20))


def test_result_is_checked_against_the_release_contract(act, ref, holdout) -> None:
    result = run(holdout)
    with act("developer") as ctx:
        item, created = evidence.record_evidence(ctx, ref, result)
    assert created
    assert item.passed is False  # accuracy >= 0.99 is not met
    statuses = {b["bound"]: b["status"] for b in item.bounds}
    assert statuses == {"roc_auc >= 0.55": "pass", "accuracy >= 0.99": "fail"}
    assert item.dataset_sha256 == result["dataset"]["sha256"]
    with act("developer") as ctx:
        again, created_again = evidence.record_evidence(ctx, ref, result)
    assert (again.id, created_again) == (item.id, False)
    with act("auditor", write=False) as ctx:
        rows, total = evidence.list_evidence(ctx, ref=ref)
        assert total == 1
        assert rows[0].digest == item.digest


def test_a_forged_contract_verdict_is_ignored(act, ref, holdout) -> None:
    result = run(holdout)
    result["contract"] = {"passed": True}  # whatever a client claims, the server re-checks
    with act("developer") as ctx:
        item, _ = evidence.record_evidence(ctx, ref, result)
    assert item.passed is False


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.update(schema="something/9"), "unsupported result schema"),
        (lambda r: r.pop("suite"), "suite"),
        (lambda r: r.update(metrics=None), "no metrics"),
        (
            lambda r: r["metrics"]["overall"]["accuracy"].update(value=float("nan")),
            "not a finite number",
        ),
    ],
)
def test_malformed_results_are_refused(act, ref, holdout, mutate, message) -> None:
    result = run(holdout)
    mutate(result)
    with act("developer") as ctx, pytest.raises(BadInput, match=message):
        evidence.record_evidence(ctx, ref, result)


def test_only_writers_attach_evidence(act, ref, holdout) -> None:
    with act("auditor") as ctx, pytest.raises(Forbidden):
        evidence.record_evidence(ctx, ref, run(holdout))
