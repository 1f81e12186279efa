"""Status: the portfolio read-model for 1,000 live systems, in-process and as `charter status`.

    .venv/bin/python benchmarks/status/run.py                # 1,000 systems x 720 hours
    .venv/bin/python benchmarks/status/run.py --quick        # 50 systems x 48 hours
    .venv/bin/python benchmarks/status/run.py --systems 1000 --hours 720 --cli-runs 5

A home made by ``charter init`` (the default policy in force) is filled with ``--systems``
systems, each with a release serving in prod, ``--hours`` hourly monitor buckets (a month
by default) and a monitor state with the latest signals; every tenth system has a canary
of a second release active. These rows are inserted in bulk
through the ORM tables: ingesting a month of traffic for 1,000 systems through the service
would take hours. Then ``services.signals_view.monitoring_signals`` and
``services.portfolio.portfolio`` are timed in-process (best of 3), and the real
``charter status --format json`` and the text table from process start to exit. SQLite.
Figures: docs/benchmarks.md, "Status".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import json
import time
from argparse import ArgumentParser, Namespace
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.common import (
    CHARTER,
    Home,
    bounded,
    expect,
    main,
    print_table,
    print_timings,
    run_charter,
    temporary_home,
    time_commands,
)

QUICK = {"systems": 50, "hours": 48, "cli_runs": 2}

#: The latest window of every system: what the worker would have stored.
LATEST = {
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


def fill(home: Home, systems: int, hours: int) -> None:
    """Insert ``systems`` live systems with ``hours`` hourly buckets each."""
    from sqlalchemy import insert, select

    from charter.store.models import Release, Rollout, Route, System, User
    from charter.store.monitoring_models import MonitorBucket, MonitorState

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    ids = range(1, systems + 1)
    charter = home.charter()
    with charter.db.transaction(write=True) as session:
        user_id = session.scalar(select(User.id))
        session.execute(
            insert(System),
            [
                {
                    "id": i,
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
                for i in ids
            ],
        )
        session.execute(
            insert(Release),
            [
                {
                    "id": i,
                    "system_id": i,
                    "digest": f"{i:064x}",
                    "manifest": "{}",
                    "label": None,
                    "description": "",
                    "created_at": now,
                    "created_by_id": user_id,
                }
                for i in ids
            ],
        )
        canaries = range(10, systems + 1, 10)
        if canaries:
            session.execute(
                insert(Release),
                [
                    {
                        "id": systems + i,
                        "system_id": i,
                        "digest": f"{systems + i:064x}",
                        "manifest": "{}",
                        "label": None,
                        "description": "",
                        "created_at": now,
                        "created_by_id": user_id,
                    }
                    for i in canaries
                ],
            )
            session.execute(
                insert(Rollout),
                [
                    {
                        "system_id": i,
                        "environment": "prod",
                        "kind": "canary",
                        "release_id": systems + i,
                        "baseline_release_id": i,
                        "share": 0.1,
                        "status": "active",
                        "gate_run_id": None,
                        "reason": "",
                        "started_at": now,
                        "started_by": "admin",
                        "ended_at": None,
                        "ended_by": None,
                        "outcome": "",
                    }
                    for i in canaries
                ],
            )
        session.execute(
            insert(Route),
            [
                {
                    "system_id": i,
                    "environment": "prod",
                    "release_id": i,
                    "previous_release_id": None,
                    "state": "serving",
                    "fallback": None,
                    "reason": "",
                    "updated_at": now,
                    "updated_by": "admin",
                }
                for i in ids
            ],
        )
        session.execute(
            insert(MonitorState),
            [
                {
                    "system_id": i,
                    "environment": "prod",
                    "last_window_end": now,
                    "states": {},
                    "latest": LATEST,
                }
                for i in ids
            ],
        )
        for i in ids:
            session.execute(
                insert(MonitorBucket),
                [
                    {
                        "release_id": i,
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
    charter.db.dispose()


def body(args: Namespace) -> dict[str, Any]:
    """Fill a home, time the read-model in-process and through the CLI; one table each."""
    from charter.services import portfolio, signals_view

    figures: dict[str, Any] = {"systems": args.systems, "hours": args.hours}
    with temporary_home("status") as home:
        start = time.perf_counter()
        fill(home, args.systems, args.hours)
        print(
            f"\nfilled {args.systems:,} systems x {args.hours} hours in "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )
        charter = home.charter()
        rows = []
        for label, call in (
            ("services.signals_view.monitoring_signals", signals_view.monitoring_signals),
            ("services.portfolio.portfolio (with the signals)", portfolio.portfolio),
        ):
            timings = []
            for _ in range(3):
                with charter.act(home.token, write=False) as ctx:
                    start = time.perf_counter()
                    found = call(ctx)
                    timings.append((time.perf_counter() - start) * 1000)
            expect(len(found) == args.systems, f"{label} found {len(found)} systems")
            figures[label] = min(timings)
            rows.append([label, min(timings)])
        charter.db.dispose()
        print_table(
            f"In-process, best of 3: {args.systems:,} live systems x {args.hours} hourly "
            "buckets, default policy in force",
            ["call", "ms"],
            rows,
        )
        env = home.env(CHARTER_TOKEN=home.token)
        listed = json.loads(run_charter(["status", "--format", "json"], env).stdout)
        expect(len(listed["systems"]) == args.systems, "charter status lists every system")
        shown = sum(1 for s in listed["systems"] for e in s["environments"] if e["rollout"])
        expect(shown == args.systems // 10, f"charter status shows {shown} canaries")
        cli = time_commands(
            [
                ("charter status --format json", [CHARTER, "status", "--format", "json"], env),
                ("charter status (the text table)", [CHARTER, "status"], env),
            ],
            runs=args.cli_runs,
            warmup=1,
        )
        print_timings(f"The real CLI, process start to exit ({args.cli_runs} runs)", cli)
        figures["cli_ms"] = cli
    return figures


def configure(parser: ArgumentParser) -> None:
    """The status benchmark's options."""
    parser.add_argument("--systems", type=bounded(int, 1, 100_000), default=1_000)
    parser.add_argument("--hours", type=bounded(int, 1, 24 * 366), default=720)
    parser.add_argument("--cli-runs", type=bounded(int, 1, 100), default=5)


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK)
