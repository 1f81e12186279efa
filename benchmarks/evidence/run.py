"""Evidence-pack export and offline verification for a system with a year of hourly windows.

    .venv/bin/python benchmarks/evidence/run.py            # 8,760 hourly windows, 3 runs
    .venv/bin/python benchmarks/evidence/run.py --quick    # 500 windows, 1 run

Builds a SQLite database through the services for the governed part (policy, a high-tier
system, a release with evidence, two approvals, a gate run, a deployment), then writes
``--windows`` closed hourly monitoring windows in bulk, each with a judged result shaped
like the worker's (signals, drift per column, realised and estimated performance,
fairness, breaches). Times, best and median of ``--repeat`` runs: building the pack
(``evidence_pack.export_pack``), writing the zip, and verifying it with no database
(``verify_pack``). The issue's target: seconds, not minutes.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import statistics
import tempfile
import time
from argparse import ArgumentParser, Namespace
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.common import bounded, main, print_table

QUICK = {"windows": 500, "repeat": 1}
COLUMNS = [f"f{i}" for i in range(12)]


def window_result(i: int) -> dict[str, Any]:
    """A judged window as the worker stores it (sizes match real ones)."""
    drifted = ["f3"] if i % 97 == 0 else []
    return {
        "rows": 1200,
        "labelled": 300,
        "drift": {
            "verdict": "drift" if drifted else "no drift",
            "columns": drifted,
            "details": {
                c: {
                    "status": "drift" if c in drifted else "ok",
                    "p_adjusted": 0.4,
                    "effect": "wasserstein",
                    "effect_value": 0.02,
                }
                for c in COLUMNS
            },
        },
        "quality": {},
        "realised": {"n": 300, "metrics": {"accuracy": 0.81, "f1": 0.7}, "cohorts": {}},
        "estimated": {
            "n": 1200,
            "accuracy": 0.8,
            "lower": 0.78,
            "upper": 0.82,
            "assumptions": ["calibrated scores"],
        },
        "fairness": {"accuracy_ratio": 0.93, "cohorts": {"f": 0.8, "m": 0.82}},
        "selection": None,
        "signals": {
            "latency_ms": {"p50": 5.0, "p95": 9.0, "p99": 11.0, "n": 1200},
            "accuracy": {"value": 0.81, "source": "realised", "realised": 0.81, "estimated": 0.8},
            "drift": {"verdict": "drift" if drifted else "no drift", "columns": drifted},
            "block_rate": 0.01,
            "fallback_rate": 0.0,
        },
        "breaches": [
            {
                "monitor": "performance",
                "subject": "accuracy",
                "severity": "warning",
                "breached": False,
                "n": 300,
                "value": 0.81,
                "bound": "accuracy >= 0.7",
            }
        ],
    }


def build(url: str, windows: int) -> Any:
    """The database; returns the Charter and the auditor's token."""
    from sqlalchemy import select

    from charter.domain.decisions import DecisionRequest
    from charter.domain.releases import ReleaseManifest
    from charter.domain.systems import IntakeFile
    from charter.services import decisions, evidence, policies, releases, systems
    from charter.services.context import Charter
    from charter.services.users import bootstrap_admin, create_user
    from charter.store.db import Database
    from charter.store.migrate import upgrade
    from charter.store.models import Release
    from charter.store.monitoring_models import MonitorWindow

    start = datetime(2025, 12, 1, tzinfo=UTC)
    db = Database(url)
    upgrade(db)
    charter = Charter(db, clock=lambda: start)
    with db.transaction(write=True) as session:
        _, admin = bootstrap_admin(session, "admin", start)
    tokens = {}
    with charter.act(admin, write=True) as ctx:
        policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
        for name, role in (
            ("dev", "developer"),
            ("a1", "approver"),
            ("a2", "approver"),
            ("aud", "auditor"),
        ):
            tokens[name] = create_user(ctx, name, role)[1]
    sha = "c" * 64
    with charter.act(tokens["dev"], write=True) as ctx:
        systems.register_system(
            ctx,
            "credit-limit",
            owner="Retail Credit Risk",
            purpose="limits",
            population="UK retail",
            surfaces=["web"],
            intake=IntakeFile(
                answers={
                    "domain": "credit_scoring",
                    "automated_decision": True,
                    "affects_natural_persons": True,
                    "uses_personal_data": True,
                }
            ),
        )
        manifest = ReleaseManifest.model_validate(
            {
                "components": [
                    {"kind": "model", "name": "scorer", "sha256": sha},
                    {"kind": "dataset", "name": "train", "sha256": sha},
                ],
                "contract": {"offline": {"roc_auc": ">= 0.75"}},
            }
        )
        release, _ = releases.create_release(ctx, "credit-limit", manifest, base_dir=None)
        evidence.record_evidence(
            ctx,
            f"credit-limit@{release.digest}",
            {
                "schema": "charter.evaluation.result/1",
                "suite": {"name": "classification", "version": "1"},
                "dataset": {"sha256": sha, "rows": 10_000},
                "metrics": {
                    "overall": {"roc_auc": {"value": 0.8, "ci_lower": 0.78, "ci_upper": 0.82}},
                    "cohorts": [],
                },
            },
        )
    body = DecisionRequest(
        verdict="approve",
        use_case="limits",
        population="UK retail",
        environments=["prod"],
        expires="180d",
        fallback="static:manual-review",
    )
    for who in ("a1", "a2"):
        with charter.act(tokens[who], write=True) as ctx:
            decisions.decide(ctx, f"credit-limit@{release.digest}", body)
    with db.transaction(write=True) as session:
        release_id = session.scalar(select(Release.id))
        system_id = session.scalar(select(Release.system_id))
        session.bulk_insert_mappings(
            MonitorWindow,
            [  # type: ignore[arg-type]
                {
                    "system_id": system_id,
                    "release_id": release_id,
                    "environment": "prod",
                    "window_start": start + timedelta(hours=i),
                    "window_end": start + timedelta(hours=i + 1),
                    "rows": 1200,
                    "labelled": 300,
                    "result": window_result(i),
                    "evaluated_at": start + timedelta(hours=i + 1),
                }
                for i in range(windows)
            ],
        )
    return charter, tokens["aud"]


def timed(function: Any, repeat: int) -> tuple[list[float], Any]:
    values, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        values.append(time.perf_counter() - began)
    return values, result


def body(args: Namespace) -> dict[str, Any]:
    """Build, then time export, zip and verify."""
    from charter.domain.evidence_pack import verify_pack, write_pack
    from charter.services import evidence_pack

    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        charter, token = build(f"sqlite:///{tmp}/charter.db", args.windows)
        print(f"built {args.windows:,} windows in {time.perf_counter() - began:.1f} s")

        def export() -> Any:
            with charter.act(token, write=True) as ctx:
                return evidence_pack.export_pack(ctx, "credit-limit")

        export_s, (members, header, _) = timed(export, args.repeat)
        path = Path(tmp) / "pack.zip"
        zip_s, _ = timed(lambda: write_pack(path, members, header), args.repeat)
        verify_s, report = timed(lambda: verify_pack(path), args.repeat)
        assert report.ok, report.problems
        size = path.stat().st_size
        charter.db.dispose()
    rows = [
        [label, min(v), statistics.median(v)]
        for label, v in (
            ("build the pack (service)", export_s),
            ("write the zip", zip_s),
            ("verify offline", verify_s),
        )
    ]
    print_table(
        f"Evidence pack, {args.windows:,} hourly windows, {args.repeat} runs "
        f"(zip {size / 1e6:.1f} MB, {len(members) + 1} members)",
        ["step", "best s", "median s"],
        rows,
    )
    return {
        "windows": args.windows,
        "zip_bytes": size,
        "seconds": {"export": export_s, "zip": zip_s, "verify": verify_s},
    }


def configure(parser: ArgumentParser) -> None:
    """The evidence benchmark's options."""
    parser.add_argument("--windows", type=bounded(int, 1, 100_000), default=8_760)
    parser.add_argument("--repeat", type=bounded(int, 1, 100), default=3)


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK)
