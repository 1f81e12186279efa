"""Decision spine: CLI start-up, `charter audit verify` over a long chain, API throughput.

    .venv/bin/python benchmarks/spine/run.py                  # all three parts, ~5 minutes
    .venv/bin/python benchmarks/spine/run.py --quick          # a smoke run, ~1 minute
    .venv/bin/python benchmarks/spine/run.py --only verify --events 200000 --pg

Each part works in its own temporary CHARTER_HOME made by `charter init`. The API part
binds 127.0.0.1 only, limits every run by time and by request count, and stops its
servers at the end. Figures: docs/benchmarks.md, "Decision spine".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from argparse import ArgumentParser, Namespace
from typing import Any

from benchmarks.common import bounded, main, parts

PARTS = ("startup", "verify", "api")
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
QUICK = {
    "startup_runs": 3,
    "importtime_repeats": 1,
    "events": 20_000,
    "verify_runs": 1,
    "api_workers": [1],
    "api_duration": 2.0,
    "api_warmup": 0.5,
    "service_ops": 20,
}


def configure(parser: ArgumentParser) -> None:
    """The spine's options."""
    parser.add_argument("--only", type=parts(PARTS), default=list(PARTS), help=", ".join(PARTS))
    parser.add_argument("--startup-runs", type=bounded(int, 1, 500), default=20)
    parser.add_argument("--importtime-repeats", type=bounded(int, 1, 50), default=5)
    parser.add_argument("--events", type=bounded(int, 1, 20_000_000), default=1_000_000)
    parser.add_argument("--verify-runs", type=bounded(int, 1, 50), default=3)
    parser.add_argument(
        "--pg",
        nargs="?",
        const=DEFAULT_PG_URL,
        metavar="URL",
        help=f"also verify on PostgreSQL (default {DEFAULT_PG_URL}; own schema, dropped)",
    )
    parser.add_argument(
        "--api-workers",
        type=lambda text: [bounded(int, 1, 16)(w) for w in text.split(",")],
        default=[1, 2],
        help="uvicorn worker counts, comma-separated",
    )
    parser.add_argument("--api-concurrency", type=bounded(int, 1, 256), default=16)
    parser.add_argument("--api-duration", type=bounded(float, 0.1, 120), default=10.0)
    parser.add_argument("--api-warmup", type=bounded(float, 0, 60), default=2.0)
    parser.add_argument("--service-ops", type=bounded(int, 1, 100_000), default=200)
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")


def body(args: Namespace) -> dict[str, Any]:
    """Run the chosen parts."""
    from benchmarks.spine import api, startup, verify

    figures: dict[str, Any] = {}
    if "startup" in args.only:
        figures["startup"] = startup.run(
            runs=args.startup_runs, warmup=1 if args.quick else 2, repeats=args.importtime_repeats
        )
    if "verify" in args.only:
        figures["verify"] = verify.run(
            events=args.events, cli_runs=args.verify_runs, pg_url=args.pg
        )
    if "api" in args.only:
        figures["api"] = api.run(
            workers=args.api_workers,
            concurrency=args.api_concurrency,
            duration=args.api_duration,
            warmup=args.api_warmup,
            loadgen=args.loadgen,
            service_ops=args.service_ops,
        )
    return figures


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK)
