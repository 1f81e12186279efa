"""Benchmarks of `charter gate`: one CLI process start to exit, and 1,000 gates in one process.

Usage (from the repository root, with the project's venv)::

    .venv/bin/python benchmarks/bench_gate.py                    # both parts, ~5 minutes
    .venv/bin/python benchmarks/bench_gate.py --only cli --runs 20
    .venv/bin/python benchmarks/bench_gate.py --only bulk --releases 1000 --systems 10

``cli`` prepares a CHARTER_HOME (``charter init`` applies the default policy pack; one
high-tier credit-scoring system, one release with five pieces of evidence and two
approvals), then times the real ``charter gate REF --env prod --format json`` subprocess,
lists ``-X importtime`` offenders, and splits one gate into phases in a fresh interpreter
(``gate_phases.py``). ``bulk`` prepares ``--releases`` releases the same way and calls
``charter.services.gates.run_gate`` for each in one process (one transaction per gate, as
the CLI does), then ``gates.evaluate`` alone and the controls alone.

Every part prints Markdown tables (see docs/benchmarks.md, section "Release gate"). These
are measurements, not tests. Each part works in its own temporary CHARTER_HOME on SQLite;
nothing listens on the network.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gate_bulk
import gate_cli
from spine_common import machine_info, print_table

PARTS = ("cli", "bulk")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)}"
    )
    parser.add_argument("--runs", type=int, default=20, help="timed `charter gate` runs")
    parser.add_argument("--phase-runs", type=int, default=7, help="phase-split runs (median)")
    parser.add_argument("--releases", type=int, default=1000, help="releases for the bulk part")
    parser.add_argument("--systems", type=int, default=10, help="systems the releases spread over")
    parser.add_argument("--json", type=Path, help="also write all figures to this JSON file")
    args = parser.parse_args()
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}: choose from {PARTS}")
    if not 1 <= args.runs <= 200 or not 1 <= args.phase_runs <= 50:
        parser.error("--runs must be in [1, 200] and --phase-runs in [1, 50]")
    if not 1 <= args.releases <= 20_000 or not 1 <= args.systems <= args.releases:
        parser.error("--releases must be in [1, 20000] and --systems in [1, releases]")
    return args


def main() -> None:
    """Run the selected parts and print their tables."""
    args = _parse()
    machine = machine_info()
    print_table("Machine", ["key", "value"], list(machine.items()))
    figures: dict[str, Any] = {"machine": machine}
    started = time.perf_counter()
    if "cli" in args.parts:
        figures["cli"] = gate_cli.run(runs=args.runs, phase_runs=args.phase_runs)
    if "bulk" in args.parts:
        figures["bulk"] = gate_bulk.run(releases=args.releases, systems=args.systems)
    print(f"\nTotal benchmark time: {time.perf_counter() - started:.0f} s", flush=True)
    print(f"Load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
