"""Benchmarks of Charter's decision spine: CLI start-up, audit verify, API throughput.

Usage (from the repository root, with the project's venv)::

    .venv/bin/python benchmarks/bench_spine.py                   # everything, ~4 minutes
    .venv/bin/python benchmarks/bench_spine.py --only startup
    .venv/bin/python benchmarks/bench_spine.py --only verify --events 200000
    .venv/bin/python benchmarks/bench_spine.py --only verify --pg   # also on PostgreSQL
    .venv/bin/python benchmarks/bench_spine.py --only api --api-workers 1,2 --loadgen python

Every part prints Markdown tables (see docs/benchmarks.md for recorded figures). These are
measurements, not tests: nothing here asserts a speed. Each part works in its own
temporary CHARTER_HOME; servers bind 127.0.0.1 only and are stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import spine_api
import spine_startup
import spine_verify
from spine_common import machine_info, print_table

PARTS = ("startup", "verify", "api")
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)}"
    )
    parser.add_argument("--startup-runs", type=int, default=20, help="timed runs per command")
    parser.add_argument("--events", type=int, default=1_000_000, help="audit events to verify")
    parser.add_argument("--verify-runs", type=int, default=3, help="`charter audit verify` runs")
    parser.add_argument(
        "--pg",
        nargs="?",
        const=DEFAULT_PG_URL,
        default=None,
        metavar="URL",
        help=f"also verify on PostgreSQL (default URL {DEFAULT_PG_URL}; a schema is "
        "created and dropped)",
    )
    parser.add_argument("--api-workers", default="1,2", help="uvicorn worker counts to run")
    parser.add_argument("--api-concurrency", type=int, default=16, help="open connections")
    parser.add_argument("--api-duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--api-warmup", type=float, default=2.0, help="unmeasured seconds")
    parser.add_argument(
        "--no-what-if",
        action="store_true",
        help="skip the what-if API run (a pooled SQLite engine, 1 worker)",
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--json", type=Path, help="also write all figures to this JSON file")
    args = parser.parse_args()
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}: choose from {PARTS}")
    if not 1 <= args.events <= 20_000_000:
        parser.error("--events must be between 1 and 20,000,000")
    if not 0 < args.api_duration <= 120 or not 1 <= args.api_concurrency <= 256:
        parser.error("--api-duration must be in (0, 120] and --api-concurrency in [1, 256]")
    args.workers = [int(w) for w in args.api_workers.split(",") if w.strip()]
    return args


def main() -> None:
    """Run the selected parts and print their tables."""
    args = _parse()
    machine = machine_info()
    print_table("Machine", ["key", "value"], list(machine.items()))
    figures: dict[str, Any] = {"machine": machine}
    started = time.perf_counter()
    if "startup" in args.parts:
        figures["startup"] = spine_startup.run(runs=args.startup_runs)
    if "verify" in args.parts:
        figures["verify"] = [spine_verify.run_sqlite(events=args.events, cli_runs=args.verify_runs)]
        if args.pg:
            figures["verify"].append(
                spine_verify.run_postgres(
                    events=args.events, cli_runs=args.verify_runs, base_url=args.pg
                )
            )
    if "api" in args.parts:
        figures["api"] = spine_api.run(
            workers=args.workers,
            concurrency=args.api_concurrency,
            duration=args.api_duration,
            warmup=args.api_warmup,
            loadgen=args.loadgen,
            pooled_what_if=not args.no_what_if,
        )
    print(f"\nTotal benchmark time: {time.perf_counter() - started:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
