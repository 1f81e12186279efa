"""A CHARTER_HOME ready for `charter gate`: high-tier systems, releases, evidence, approvals.

``charter init`` runs as a real CLI call (it applies the default policy pack). Everything
else goes through the service layer in-process, the code the CLI and the API call, because
one CLI process per object would make preparing 1,000 releases take far longer than
measuring them.

The evidence is real: the classification, fairness, data-quality and robustness suites run
once on ``tests/data/german_credit.csv`` with a logistic-regression score fitted here, and
the results are stored on every release through ``services.evidence.record_evidence``
(which checks them against each release's own contract). No drill is run per release
(fallback-drill evidence comes only from `charter drill`, which takes seconds a release),
so every gate evaluates, and fails, the fallback-tested control. A reference profile of
the same hold-out data is set on every release (the high tier's live monitors need one).
Two approvers approve every release for prod with a fallback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, Home, init_home

GERMAN = ROOT / "tests" / "data" / "german_credit.csv"

#: Intake answers that put a system in the default pack's ``high`` tier (EU AI Act Annex III 5(b)).
CREDIT = {
    "domain": "credit_scoring",
    "role": "provider_and_deployer",
    "annex_iii": ["5b_creditworthiness"],
    "profiling": True,
    "automated_decision": True,
    "affects_natural_persons": True,
    "uses_personal_data": True,
}

#: The documents the default high tier reads from ``config.docs`` (Arts. 9-15, 26, 47-49,
#: 72, 73): references, as an organisation would record them.
HIGH_RISK_DOCS = {
    "risk_management": {
        "file": "mrm/risk-file.pdf",
        "foreseeable_misuse": "limit increases used for marketing",
        "vulnerable_groups": "customers in financial difficulty",
    },
    "data_governance": {
        "provenance": "German credit data",
        "representativeness": "by age band and sex",
        "bias_examination": "fairness suite",
    },
    "technical_documentation": "mrm/annex-iv.pdf",
    "instructions_for_use": "mrm/instructions.pdf",
    "logging": {"events": "every scored application", "retention_days": 365},
    "oversight": {"design": "officers review declines", "overseers": ["credit-officer"]},
    "post_market_monitoring_plan": "mrm/pmm.pdf",
    "serious_incident": {
        "procedure": "IR-7",
        "report_days": 15,
        "death_report_days": 10,
        "widespread_report_days": 2,
    },
    "eu_declaration_of_conformity": "doc/declaration.pdf",
    "ce_marking": "digital CE marking",
    "eu_database_registration": "EU-DB-0001",
    "affected_persons_notice": "decision letters",
}
#: Evidence the default high tier needs that no statistical suite produces.
RECORD_SUITES = ("security", "fria", "conformity-assessment")

APPROVAL = {
    "verdict": "approve",
    "use_case": "credit limit increases",
    "population": "UK retail",
    "environments": ["prod"],
    "expires": "90d",
    "fallback": "static:manual-review",
}


@dataclass
class GateHome:
    """A prepared home: its tokens, and the refs (``SYSTEM@DIGEST``) of its releases."""

    home: Home
    dev_token: str
    approver_tokens: tuple[str, str]
    systems: list[str]
    refs: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _manifest(seed: int) -> Any:
    """A credit-limit release declaring what the high tier asks for; ``seed`` makes it unique."""
    from charter.domain.releases import ReleaseManifest

    sha = f"{seed:064x}"
    return ReleaseManifest.model_validate(
        {
            "label": f"v{seed}",
            "description": "credit limit model",
            "components": [
                {
                    "kind": "model",
                    "name": "scorer",
                    "uri": f"s3://m/scorer-{seed}.pkl",
                    "sha256": sha,
                },
                {"kind": "dataset", "name": "train", "uri": "s3://d/train.parquet", "sha256": sha},
            ],
            "config": {"threshold": 0.5, "seed": seed, "docs": HIGH_RISK_DOCS},
            "contract": {
                "offline": {"roc_auc": ">= 0.6", "demographic_parity_ratio[sex]": ">= 0.5"},
                "live": {"monitors": ["performance", "drift", "fairness", "latency", "guardrails"]},
            },
        }
    )


class _Model:
    """A fitted scikit-learn pipeline behind the ``predict``/``predict_proba`` protocol."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def predict(self, frame: Any) -> Any:
        return self.pipeline.predict(frame)

    def predict_proba(self, frame: Any) -> Any:
        return self.pipeline.predict_proba(frame)


def suite_results(workdir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the four built-in suites once on German credit with a fitted score.

    Returns the results and a reference profile of the same hold-out data (features,
    prediction, score, label, cohort ``sex``): what the live monitors of a high-tier
    release compare production windows with.
    """
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from charter.evaluation import InputSpec, RunOptions, evaluate_file
    from charter.monitoring import build_reference
    from charter.plugins.manager import evaluation_suites

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
    holdout = frame.iloc[600:].copy()
    holdout["score"] = pipeline.predict_proba(features[600:])[:, 1]
    holdout["pred"] = (holdout["score"] >= 0.5).astype(int)
    path = workdir / "holdout.csv"
    holdout.to_csv(path, index=False)

    suites: Any = evaluation_suites()
    options = RunOptions(n_bootstrap=20, seed=0)
    runs = [
        ("classification", InputSpec(target="risk", score="score", prediction="pred"), None),
        ("fairness", InputSpec(target="risk", prediction="pred", cohorts=("sex",)), None),
        ("data-quality", InputSpec(target="risk"), None),
        (
            "robustness",
            InputSpec(target="risk", score="score", prediction="pred"),
            _Model(pipeline),
        ),
    ]
    results = [
        evaluate_file(path, name, spec, options, model=model, suites=suites)
        for name, spec, model in runs
    ]
    results += [
        {
            "schema": "charter.evaluation.result/1",
            "suite": {"name": name, "version": "1"},
            "dataset": {"sha256": "d" * 64, "rows": 1},
            "metrics": {"completed": 1.0},
        }
        for name in RECORD_SUITES
    ]
    reference = build_reference(
        holdout,
        features=list(features.columns),
        prediction="pred",
        score="score",
        label="risk",
        cohort="sex",
    )
    return results, reference.to_dict()


def prepare(
    workdir: Path,
    *,
    releases: int,
    systems: int = 1,
    progress: bool = False,
) -> GateHome:
    """``charter init`` a home under ``workdir`` and fill it; returns what was made."""
    from charter.domain.decisions import DecisionRequest
    from charter.domain.systems import IntakeFile
    from charter.services import decisions, evidence, references, users
    from charter.services import releases as release_svc
    from charter.services import systems as system_svc

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    home = init_home(workdir / "home")
    seconds["charter init (CLI)"] = time.perf_counter() - started

    started = time.perf_counter()
    results, reference = suite_results(workdir)
    seconds["evaluation suites (once)"] = time.perf_counter() - started

    started = time.perf_counter()
    charter = home.charter()
    names = [f"credit-limit-{i:02d}" for i in range(systems)]
    with charter.act(home.token, write=True) as ctx:
        _, dev_token = users.create_user(ctx, "dana", "developer")
        _, approver_a = users.create_user(ctx, "avery", "approver")
        _, approver_b = users.create_user(ctx, "blake", "approver")
        for name in names:
            system = system_svc.register_system(
                ctx,
                name,
                owner="Retail Credit Risk",
                purpose="Credit limit increases for existing customers.",
                population="UK retail",
                surfaces=["web"],
                intake=IntakeFile(answers=CREDIT),
            )
            if system.tier != "high":
                raise RuntimeError(f"{name} was assessed {system.tier!r}, expected 'high'")
    request = DecisionRequest(**APPROVAL)
    refs = []
    for i in range(releases):
        with charter.act(dev_token, write=True) as ctx:
            release, _ = release_svc.create_release(
                ctx, names[i % systems], _manifest(i), base_dir=None
            )
            ref = f"{names[i % systems]}@{release.digest}"
            for result in results:
                evidence.record_evidence(ctx, ref, result)
            references.set_reference(ctx, ref, reference)
        for token in (approver_a, approver_b):
            with charter.act(token, write=True) as ctx:
                decisions.decide(ctx, ref, request)
        refs.append(ref)
        if progress and (i + 1) % 200 == 0:
            print(f"  prepared {i + 1:,} releases", flush=True)
    charter.db.dispose()
    seconds[f"{releases:,} releases + evidence + approvals (service layer)"] = (
        time.perf_counter() - started
    )
    return GateHome(
        home=home,
        dev_token=dev_token,
        approver_tokens=(approver_a, approver_b),
        systems=names,
        refs=refs,
        seconds=seconds,
    )
