"""The whole loop through the real CLI: intake, evaluate, gate, exception, approve, deploy, kill."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import joblib
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from tests.cli_runner import Cli
from tests.helpers import EXAMPLE

GERMAN = Path(__file__).resolve().parents[1] / "data" / "german_credit.csv"
RELEASE = """
label: v1
components:
  - {kind: model, name: scorer, path: model.joblib, framework: scikit-learn}
config:
  threshold: 0.5
  docs:
    risk_management: {file: risk.pdf, foreseeable_misuse: marketing use, vulnerable_groups: arrears}
    data_governance: {provenance: german credit, representativeness: by sex, bias_examination: fairness suite}
    technical_documentation: annex-iv.pdf
    instructions_for_use: instructions.pdf
    logging: {events: every scored application, retention_days: 365}
    oversight: {design: officers review declines, overseers: [credit-officer]}
    post_market_monitoring_plan: pmm.pdf
    serious_incident: {procedure: IR-7, report_days: 15, death_report_days: 10, widespread_report_days: 2}
    eu_declaration_of_conformity: declaration.pdf
    ce_marking: digital
    eu_database_registration: EU-DB-1
    affected_persons_notice: decision letters
contract:
  offline:
    roc_auc: ">= 0.6"
    demographic_parity_ratio[sex]: ">= 0.5"
    protected_not_in_top_k: {attributes: [sex], k: 2}
  live:
    monitors: [performance, drift, fairness, latency, guardrails]
"""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A scikit-learn pipeline on German credit, its holdout scores, and a release file."""
    folder = tmp_path_factory.mktemp("model")
    frame = pd.read_csv(GERMAN)
    features = frame.drop(columns=["risk"])
    categorical = [c for c in features if not pd.api.types.is_numeric_dtype(features[c])]
    numeric = [c for c in features if c not in categorical]
    pipeline = make_pipeline(
        ColumnTransformer(
            [
                ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("num", StandardScaler(), numeric),
            ]
        ),
        LogisticRegression(max_iter=1000),
    ).fit(features[:600], frame["risk"][:600])
    joblib.dump(pipeline, folder / "model.joblib")
    holdout = frame.iloc[600:].copy()
    holdout["score"] = pipeline.predict_proba(features[600:])[:, 1]
    holdout["pred"] = (holdout["score"] >= 0.5).astype(int)
    holdout.to_csv(folder / "holdout.csv", index=False)
    (folder / "release.yaml").write_text(RELEASE)
    (folder / "explain.yaml").write_text(
        "local_rows: 3\nlocal_rows_per_group: 1\nbackground_rows: 8\n"
    )
    return folder


def token(cli: Cli, name: str, role: str) -> str:
    return cli.json("user", "add", name, "--role", role)["token"]


def test_governance_loop(tmp_path: Path, database_url: str, model_dir: Path) -> None:
    cli = Cli(tmp_path / "home", database_url)
    assert "default policy" in cli("init").stdout
    dev, risk = token(cli, "dana", "developer"), token(cli, "rita", "risk_engineer")
    approvers = [token(cli, "avery", "approver"), token(cli, "blake", "approver")]

    registered = cli.json(
        "system", "register", "credit-limit", "--intake", str(EXAMPLE / "intake.yaml"), token=dev
    )
    assert registered["tier"] == "high"
    assert "approval-quorum-high" in registered["assessment"]["controls"]
    refused = cli(
        "system",
        "register",
        "scorer",
        "--owner",
        "x",
        "--intake",
        str(_intake(tmp_path, "practices: [social_scoring]")),
        token=dev,
        expect=2,
    )
    assert "refused at intake" in refused.stderr

    digest = cli.json(
        "release", "create", "credit-limit", "-f", str(model_dir / "release.yaml"), token=dev
    )["digest"]
    ref = f"credit-limit@{digest[:12]}"
    common = ["--data", str(model_dir / "holdout.csv"), "--target", "risk", "--bootstrap", "20"]
    for suite, extra in (
        ("classification", ["--score", "score", "--prediction", "pred"]),
        ("fairness", ["--prediction", "pred", "--cohort", "sex"]),
        ("data-quality", []),
        (
            "robustness",
            [
                "--prediction",
                "pred",
                "--score",
                "score",
                "--model",
                str(model_dir / "model.joblib"),
            ],
        ),
        (
            "explainability",
            [
                "--prediction",
                "pred",
                "--score",
                "score",
                "--cohort",
                "sex",
                "--repeats",
                "2",
                "--model",
                str(model_dir / "model.joblib"),
                "--options",
                str(model_dir / "explain.yaml"),
            ],
        ),
    ):
        stored = cli.json("evaluate", ref, "--suite", suite, *common, *extra, token=dev)
        assert stored["passed"], (suite, stored["bounds"])
    # What the high tier needs done beyond statistics: records backed by a document.
    for record in ("security", "fria", "conformity-assessment"):
        document = tmp_path / f"{record}.txt"
        document.write_text(f"{record} report")
        cli("evidence", "record", ref, "--suite", record, "--document", str(document), token=dev)
    assert cli.json("evidence", "list", ref)["total"] == 8

    junit = cli("gate", ref, "--env", "prod", "--format", "junit", token=dev, expect=1).stdout
    failures = {
        case.get("name")
        for case in ET.fromstring(junit).iter("testcase")
        if case.find("failure") is not None
    }
    # Evidence is in; what is left is the decision itself, the untested fallback, and
    # monitoring, which needs a reference profile to compare production with, and the
    # risk register, still empty.
    assert failures == {
        "approval-quorum-high",
        "review-cadence-high",
        "fallback-tested",
        "monitor-performance",
        "monitor-drift",
        "monitor-fairness",
        "risk-register",
    }
    cli(
        "reference",
        "set",
        ref,
        "--data",
        str(model_dir / "holdout.csv"),
        "--prediction",
        "pred",
        "--score",
        "score",
        "--label",
        "risk",
        "--cohort",
        "sex",
        token=dev,
    )

    for approver in approvers:
        cli(
            "approve",
            ref,
            "--use-case",
            "limits",
            "--population",
            "UK retail",
            "--env",
            "prod",
            "--expires",
            "90d",
            "--fallback",
            "static:manual-review",
            token=approver,
        )
    exception = cli.json(
        "exception",
        "request",
        ref,
        "--control",
        "fallback-tested",
        "--justification",
        "drill scheduled",
        "--compensating",
        "manual review queue staffed",
        "--expires",
        "14d",
        "--env",
        "prod",
        token=dev,
    )
    cli("exception", "approve", str(exception["id"]), token=dev, expect=2)  # not your own
    cli("exception", "approve", str(exception["id"]), "--note", "ok", token=risk)
    # The high tier's risk register: a risk owned, mitigated, watched and reviewed.
    risk_flags = ["--title", "Approval rate drifts", "--category", "performance"]
    risk_flags += ["--likelihood", "3", "--impact", "3", "--owner", "rita"]
    risk_flags += ["--control", "eval-performance", "--signal", "performance"]
    added = cli.json("risk", "add", "credit-limit", *risk_flags, token=dev)
    cli("risk", "review", "credit-limit", str(added["id"]), "--note", "checked", token=risk)
    report = cli.json("gate", ref, "--env", "prod", token=dev)
    assert report["passed"], [r for r in report["results"] if r["status"] == "fail"]
    assert {r["control_id"] for r in report["results"] if r["status"] == "waived"} == {
        "fallback-tested"
    }
    github = cli("gate", ref, "--env", "prod", "--format", "github", token=dev).stdout
    assert "::warning" in github

    route = cli.json("deploy", ref, "--env", "prod", "--reason", "CHG-42", token=dev)
    assert route["serve"]["kind"] == "release"
    killed = cli.json("kill", "credit-limit", "--env", "prod", "--reason", "drift", token=dev)
    assert killed["serve"] == {"kind": "static", "ref": "manual-review"}
    cli("resume", "credit-limit", "--env", "prod", "--reason", "ok", token=dev)
    status = cli.json("status")
    (entry,) = status["systems"]
    assert entry["environments"][0]["state"] == "serving"
    assert entry["open_exceptions"] == 1
    assert cli.json("audit", "verify")["ok"] is True


def _intake(tmp_path: Path, answers: str) -> Path:
    path = tmp_path / "intake.yaml"
    path.write_text(f"owner: x\nanswers:\n  domain: other\n  {answers}\n")
    return path
