"""Run every benchmark (``make bench``), or each in its quick mode (``make bench-quick``).

    .venv/bin/python benchmarks/run_all.py               # the recorded sizes, ~30-40 minutes
    .venv/bin/python benchmarks/run_all.py --quick       # each one small, ~3-4 minutes
    .venv/bin/python benchmarks/run_all.py --only status,gate --json-dir benchmarks/out

Each benchmark runs as its own process (``benchmarks/NAME/run.py``), one after the other
(they time whole processes and would disturb each other), and prints its own tables. A
benchmark that fails does not stop the others; the summary at the end names it and the
exit code is 1. The experiments under ``benchmarks/experiments`` are not run.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import subprocess
import time

from benchmarks.common import PYTHON, ROOT, parts, print_table

#: Every benchmark, cheapest first.
BENCHMARKS = ("status", "guard", "ingest", "evaluation", "llm", "drift", "gate", "spine")


def main() -> None:
    """Run the chosen benchmarks in turn; print a summary; exit 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's --quick mode")
    parser.add_argument(
        "--only", type=parts(BENCHMARKS), default=list(BENCHMARKS), help=", ".join(BENCHMARKS)
    )
    parser.add_argument("--json-dir", type=Path, help="write NAME.json with each one's figures")
    args = parser.parse_args()
    results = []
    for name in args.only:
        argv = [PYTHON, "-m", f"benchmarks.{name}.run"]
        if args.quick:
            argv.append("--quick")
        if args.json_dir:
            argv += ["--json", str(args.json_dir.resolve() / f"{name}.json")]
        print(f"\n## {name}: {' '.join(argv[1:])}\n", flush=True)
        start = time.perf_counter()
        code = subprocess.run(argv, cwd=ROOT, check=False).returncode
        results.append(
            [name, "ok" if code == 0 else f"FAILED (exit {code})", time.perf_counter() - start]
        )
    print_table(
        "Benchmarks run" + (" (quick mode)" if args.quick else ""),
        ["benchmark", "result", "seconds"],
        results,
    )
    sys.exit(1 if any(r[1] != "ok" for r in results) else 0)


if __name__ == "__main__":
    main()
