"""The release gate: `charter gate` from process start to exit, and 1,000 gates in one process.

    .venv/bin/python benchmarks/gate/run.py                    # both parts, ~5 minutes
    .venv/bin/python benchmarks/gate/run.py --quick            # a smoke run, ~1 minute
    .venv/bin/python benchmarks/gate/run.py --only bulk --releases 1000 --systems 10

``cli`` prepares a home (``charter init`` applies the default policy pack; one high-tier
credit-scoring system, one release with five pieces of evidence and two approvals), then
times the real ``charter gate REF --env prod --format json``, lists its imports and splits
one gate into phases in a fresh interpreter (``phases.py``). ``bulk`` prepares
``--releases`` releases the same way and calls ``services.gates.run_gate`` for each in
one process (one transaction per gate, as the CLI does), then ``gates.evaluate`` alone,
the controls alone and ``gather_facts`` alone. SQLite; nothing listens on the network.
Figures: docs/benchmarks.md, "Release gate".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from argparse import ArgumentParser, Namespace
from typing import Any

from benchmarks.common import bounded, main, parts

PARTS = ("cli", "bulk")
QUICK = {"runs": 3, "phase_runs": 1, "importtime_repeats": 1, "releases": 20, "systems": 2}


def configure(parser: ArgumentParser) -> None:
    """The gate benchmark's options."""
    parser.add_argument("--only", type=parts(PARTS), default=list(PARTS), help=", ".join(PARTS))
    parser.add_argument("--runs", type=bounded(int, 1, 200), default=20, help="timed gate runs")
    parser.add_argument("--phase-runs", type=bounded(int, 1, 50), default=7)
    parser.add_argument("--importtime-repeats", type=bounded(int, 1, 50), default=5)
    parser.add_argument("--releases", type=bounded(int, 1, 20_000), default=1000)
    parser.add_argument("--systems", type=bounded(int, 1, 1000), default=10)


def body(args: Namespace) -> dict[str, Any]:
    """Run the chosen parts."""
    from benchmarks.gate import bulk, cli

    figures: dict[str, Any] = {}
    if "cli" in args.only:
        figures["cli"] = cli.run(
            runs=args.runs,
            warmup=1 if args.quick else 2,
            phase_runs=args.phase_runs,
            repeats=args.importtime_repeats,
        )
    if "bulk" in args.only:
        figures["bulk"] = bulk.run(releases=args.releases, systems=args.systems)
    return figures


def check(args: Namespace) -> str | None:
    """Refuse more systems than releases (each system needs one)."""
    return "--systems must not exceed --releases" if args.systems > args.releases else None


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK, check=check)
