"""Ingestion throughput through the real uvicorn server, and the cost of live signals at scale.

    python benchmarks/bench_ingest.py [--rows 50000] [--batch 5000] [--systems 1000] [--hours 720]

1. Rows/s for JSON and Arrow IPC batches posted to ``/api/v1/systems/{name}/observations``
   on 127.0.0.1 (car-loan analysis rows when ../shared/datasets is present, else synthetic),
   on a fresh SQLite database.
2. ``monitoring_signals`` and ``status.portfolio`` for ``--systems`` live routes, each with
   ``--hours`` hourly buckets (a month by default) and a monitor state.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
CAR_LOAN = ROOT.parent / "shared" / "datasets" / "car_loan"


def _data(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    if CAR_LOAN.is_dir():
        reference = pd.read_csv(CAR_LOAN / "synthetic_car_loan_reference.csv")
        analysis = pd.read_csv(CAR_LOAN / "synthetic_car_loan_analysis.csv")
    else:
        rng = np.random.default_rng(0)
        reference = analysis = pd.DataFrame(
            {"car_value": rng.normal(3e4, 1e4, 50_000), "y_pred_proba": rng.random(50_000)}
        )
        analysis = analysis.assign(id=np.arange(50_000))
        for frame in (reference, analysis):
            frame["y_pred"] = (frame["y_pred_proba"] > 0.5).astype(int)
        reference["repaid"] = reference["y_pred"]
    analysis = analysis.drop(columns=["timestamp"], errors="ignore").rename(
        columns={"id": "inference_id"}
    )
    analysis["inference_id"] = analysis["inference_id"].astype(str)
    analysis["latency_ms"] = 12.5
    return reference, analysis.iloc[:rows].reset_index(drop=True)


def _setup(url: str, reference: pd.DataFrame) -> tuple[object, str, str]:
    from charter.domain.releases import ReleaseManifest
    from charter.monitoring import build_reference
    from charter.services import monitoring, releases, systems
    from charter.services.context import Charter
    from charter.services.users import bootstrap_admin, create_user
    from charter.store.db import Database
    from charter.store.migrate import upgrade

    db = Database(url)
    upgrade(db)
    charter = Charter(db)
    with db.transaction(write=True) as session:
        _, admin = bootstrap_admin(session, "admin", datetime.now(UTC))
    with charter.act(admin, write=True) as ctx:
        _, service = create_user(ctx, "svc", "service")
        systems.register_system(ctx, "car-loan", owner="bench", purpose="bench", population="x")
        manifest = ReleaseManifest.model_validate(
            {"components": [{"kind": "model", "name": "m", "uri": "s3://m", "sha256": "a" * 64}]}
        )
        release, _ = releases.create_release(ctx, "car-loan", manifest, base_dir=None)
        features = [
            c
            for c in reference.columns
            if c not in ("y_pred", "y_pred_proba", "repaid", "timestamp", "id")
        ]
        profile = build_reference(
            reference, features=features, prediction="y_pred", score="y_pred_proba", label="repaid"
        )
        monitoring.set_reference(ctx, f"car-loan@{release.digest}", profile.to_dict())
    return charter, service, release.digest


def _serve(charter: object) -> tuple[object, str]:
    import uvicorn

    from charter.api.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(
        uvicorn.Config(create_app(charter), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{port}"


def bench_ingest(rows: int, batch: int) -> dict[str, float]:
    """Rows/s for JSON and Arrow batches."""
    reference, analysis = _data(rows)
    with tempfile.TemporaryDirectory() as tmp:
        charter, token, digest = _setup(f"sqlite:///{tmp}/bench.db", reference)
        server, base = _serve(charter)
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
        results = {}
        for kind in ("json", "arrow"):
            env = f"bench-{kind}"
            start = time.perf_counter()
            for offset in range(0, len(analysis), batch):
                part = analysis.iloc[offset : offset + batch]
                url = f"/api/v1/systems/car-loan/observations?env={env}&release={digest}"
                if kind == "json":
                    records = json.loads(part.to_json(orient="records"))
                    body = json.dumps({"batch_id": f"{env}-{offset}", "records": records})
                    response = client.post(
                        url, content=body, headers={"Content-Type": "application/json"}
                    )
                else:
                    sink = io.BytesIO()
                    table = pa.Table.from_pandas(part, preserve_index=False)
                    with pa.ipc.new_stream(sink, table.schema) as writer:
                        writer.write_table(table)
                    response = client.post(
                        url,
                        content=sink.getvalue(),
                        headers={
                            "Content-Type": "application/vnd.apache.arrow.stream",
                            "X-Charter-Batch-Id": f"{env}-{offset}",
                        },
                    )
                response.raise_for_status()
            results[kind] = len(analysis) / (time.perf_counter() - start)
        server.should_exit = True  # type: ignore[attr-defined]
    return results


def bench_status(systems_n: int, hours: int) -> dict[str, float]:
    """Seconds for monitoring_signals and status.portfolio with many systems and buckets."""
    from sqlalchemy import insert

    from charter.services import monitoring, status
    from charter.services.context import Charter
    from charter.services.users import bootstrap_admin
    from charter.store.db import Database
    from charter.store.migrate import upgrade
    from charter.store.models import Release, Route, System, User
    from charter.store.monitoring_models import MonitorBucket, MonitorState

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    latest = {
        "release": "x",
        "window": {"start": "a", "end": "b"},
        "rows": 5000,
        "labelled": 0,
        "signals": {
            "latency_ms": {"p50": 10.0, "p95": 30.0, "p99": 50.0, "n": 5000},
            "accuracy": {"value": 0.9, "source": "estimated", "realised": None, "estimated": 0.9},
            "drift": {"verdict": "no drift", "columns": []},
            "block_rate": 0.01,
            "fallback_rate": 0.0,
        },
    }
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/status.db")
        upgrade(db)
        charter = Charter(db)
        with db.transaction(write=True) as session:
            _, admin = bootstrap_admin(session, "admin", now)
            user_id = session.query(User.id).scalar()
            session.execute(
                insert(System),
                [
                    {
                        "id": i + 1,
                        "name": f"sys-{i}",
                        "owner": "o",
                        "purpose": "",
                        "population": "",
                        "surfaces": [],
                        "intake": {},
                        "tier": "minimal",
                        "status": "active",
                        "created_at": now,
                        "created_by": "admin",
                    }
                    for i in range(systems_n)
                ],
            )
            session.execute(
                insert(Release),
                [
                    {
                        "id": i + 1,
                        "system_id": i + 1,
                        "digest": f"{i:064x}",
                        "manifest": "{}",
                        "label": None,
                        "description": "",
                        "created_at": now,
                        "created_by_id": user_id,
                    }
                    for i in range(systems_n)
                ],
            )
            session.execute(
                insert(Route),
                [
                    {
                        "system_id": i + 1,
                        "environment": "prod",
                        "release_id": i + 1,
                        "previous_release_id": None,
                        "state": "serving",
                        "fallback": None,
                        "reason": "",
                        "updated_at": now,
                        "updated_by": "admin",
                    }
                    for i in range(systems_n)
                ],
            )
            session.execute(
                insert(MonitorState),
                [
                    {
                        "system_id": i + 1,
                        "environment": "prod",
                        "last_window_end": now,
                        "states": {},
                        "latest": latest,
                    }
                    for i in range(systems_n)
                ],
            )
            for i in range(systems_n):
                session.execute(
                    insert(MonitorBucket),
                    [
                        {
                            "release_id": i + 1,
                            "environment": "prod",
                            "bucket_start": now - timedelta(hours=h),
                            "reference_digest": "r" * 64,
                            "rows": 100,
                            "profile": "{}",
                            "labels_profile": None,
                            "labelled": 0,
                            "signals": {},
                            "updated_at": now,
                        }
                        for h in range(hours)
                    ],
                )
        # The default policy in force, as after `charter init`: status reads it per route.
        from charter.services import policies

        with charter.act(admin, write=True) as ctx:
            policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
        results = {}
        for name, call in (
            ("monitoring_signals", monitoring.monitoring_signals),
            ("status.portfolio (with the signals)", status.portfolio),
        ):
            timings = []
            for _ in range(3):
                with charter.act(admin, write=False) as ctx:
                    start = time.perf_counter()
                    found = call(ctx)
                    timings.append(time.perf_counter() - start)
            assert len(found) == systems_n
            results[name] = min(timings)
        db.dispose()
        # The real CLI, process start to exit, on the same database.
        import os
        import subprocess

        env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
        env.update(
            CHARTER_HOME=tmp, CHARTER_DATABASE_URL=f"sqlite:///{tmp}/status.db", CHARTER_TOKEN=admin
        )
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "charter", "status", "--format", "json"],
                env=env,
                capture_output=True,
                check=True,
            )
            timings.append(time.perf_counter() - start)
        assert len(json.loads(done.stdout)["systems"]) == systems_n
        results["`charter status --format json` (process, median of 5)"] = float(np.median(timings))
    return results


def main() -> None:
    """Run both benchmarks and print the figures."""
    sys.path.insert(0, str(ROOT / "src"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--systems", type=int, default=1_000)
    parser.add_argument("--hours", type=int, default=720)
    parser.add_argument("--only", choices=("ingest", "status"), help="run one part")
    args = parser.parse_args()
    if args.only != "status":
        for kind, rate in bench_ingest(args.rows, args.batch).items():
            shape = f"{args.rows} rows, batches of {args.batch}"
            print(f"ingest {kind:5s}: {rate:10,.0f} rows/s ({shape})")
    if args.only == "ingest":
        return
    for name, seconds in bench_status(args.systems, args.hours).items():
        print(f"{name}: {seconds * 1000:8.1f} ms for {args.systems} systems x {args.hours} hours")


if __name__ == "__main__":
    main()
