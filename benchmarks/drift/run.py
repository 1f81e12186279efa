"""Drift benchmark: Charter side by side with Evidently and whylogs on the same data.

For each shape (rows x columns, 60% numeric and 40% categorical, a fifth of the columns
shifted in the current data) the script writes a reference and a current data set of that
many rows to Parquet, then runs every tool in its own subprocess, so the peak memory of one
never counts against another:

* Charter: ``build_reference`` + ``profile_window`` + ``detect_drift``;
* Evidently: ``Report([DataDriftPreset()]).run(current, reference)``;
* whylogs: ``why.log`` of both data sets + ``calculate_drift_scores``.

Evidently and whylogs pin older pandas/numpy than Charter, so they run with another
interpreter (``--peers-python``, default ``$CHARTER_PEERS_PYTHON`` or
``/tmp/peers-venv/bin/python``); set one up with::

    python3.11 -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install evidently whylogs "pandas<3" ipython

A peer whose interpreter or package is missing is reported as "not installed".

Usage: ``python benchmarks/bench_drift.py [--shapes 1000000x25,100000x200] [--no-peers]``.
This file imports only the standard library at module level, so any interpreter can run
its ``--run`` mode.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_PEERS = os.environ.get("CHARTER_PEERS_PYTHON", "/tmp/peers-venv/bin/python")
SHIFTED_SHARE = 0.2
NUMERIC_SHARE = 0.6


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def generate(rows: int, columns: int, directory: Path, seed: int = 0) -> None:
    """Write ``reference.parquet`` and ``current.parquet`` with a known shift."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_numeric = round(columns * NUMERIC_SHARE)
    shifted = set(range(0, columns, round(1 / SHIFTED_SHARE)))
    for name, is_current in (("reference", False), ("current", True)):
        data: dict[str, Any] = {}
        for j in range(columns):
            shift = 0.25 if is_current and j in shifted else 0.0
            if j < n_numeric:
                data[f"num_{j}"] = rng.normal(shift, 1.0, rows) * (1 + j % 3) + j
            else:
                k = 5 + j % 15
                weights = np.linspace(1.0, 2.0 + 4 * shift, k)
                codes = rng.choice(k, rows, p=weights / weights.sum())
                labels = np.asarray([f"cat_{j}_{i}" for i in range(k)])
                data[f"cat_{j}"] = labels[codes]
        pd.DataFrame(data).to_parquet(directory / f"{name}.parquet")


def _load(directory: Path) -> tuple[Any, Any]:
    import pandas as pd

    return (
        pd.read_parquet(directory / "reference.parquet"),
        pd.read_parquet(directory / "current.parquet"),
    )


def run_charter(directory: Path) -> dict[str, Any]:
    """Charter: profile the reference, profile the window, test."""
    from charter.monitoring import build_reference, detect_drift, profile_window

    reference, current = _load(directory)
    loaded = _rss_mb()
    start = time.perf_counter()
    profile = build_reference(reference)
    built = time.perf_counter()
    window = profile_window(profile, current)
    report = detect_drift(profile, window)
    end = time.perf_counter()
    return {
        "seconds": end - start,
        "detail": f"reference {built - start:.1f}s, window+drift {end - built:.1f}s",
        "drifted": len(report.drifted),
        "rss_after_load_mb": loaded,
    }


def run_evidently(directory: Path) -> dict[str, Any]:
    """Evidently's DataDriftPreset (its defaults: KS / chi-square below 1,000 rows,
    Wasserstein / Jensen-Shannon distances above)."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference, current = _load(directory)
    loaded = _rss_mb()
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    result = snapshot.dict()
    end = time.perf_counter()
    count = result["metrics"][0]["value"]["count"]
    return {"seconds": end - start, "drifted": int(count), "rss_after_load_mb": loaded}


def run_whylogs(directory: Path) -> dict[str, Any]:
    """whylogs: log (profile) both data sets, then its drift scores (KS / chi-square)."""
    os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")
    import whylogs as why
    from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

    reference, current = _load(directory)
    loaded = _rss_mb()
    start = time.perf_counter()
    reference_view = why.log(reference).view()
    current_view = why.log(current).view()
    scores = calculate_drift_scores(
        target_view=current_view, reference_view=reference_view, with_thresholds=True
    )
    end = time.perf_counter()
    drifted = sum(1 for s in scores.values() if s and s.get("drift_category") == "DRIFT")
    return {"seconds": end - start, "drifted": drifted, "rss_after_load_mb": loaded}


RUNNERS = {"charter": run_charter, "evidently": run_evidently, "whylogs": run_whylogs}


def _child(tool: str, directory: Path) -> None:
    try:
        result = RUNNERS[tool](directory)
    except ImportError as exc:
        print(json.dumps({"error": f"not installed ({exc})"}))
        return
    result["peak_rss_mb"] = _peak_mb()
    print(json.dumps(result))


def _run(tool: str, python: str, directory: Path, timeout: float) -> dict[str, Any]:
    if not Path(python).exists():
        return {"error": f"not installed (no interpreter at {python})"}
    env = dict(os.environ)
    if tool == "charter":
        src = Path(__file__).resolve().parents[1] / "src"
        env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
    command = [python, str(Path(__file__).resolve()), "--run", tool, "--data", str(directory)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"failed: {tail[:200]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="1000000x25,100000x200")
    parser.add_argument("--peers-python", default=DEFAULT_PEERS)
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--run", choices=sorted(RUNNERS))
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    if args.run:
        _child(args.run, args.data)
        return

    tools = ["charter"] if args.no_peers else ["charter", "evidently", "whylogs"]
    print(
        f"{'shape':>14} {'tool':>10} {'seconds':>9} {'rows/s':>10} {'peak RSS':>10}"
        f" {'data RSS':>9} {'drifted':>8}  notes"
    )
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as tmp:
        for shape in args.shapes.split(","):
            rows, columns = (int(v) for v in shape.lower().split("x"))
            directory = Path(tmp) / shape
            directory.mkdir()
            generate(rows, columns, directory)
            for tool in tools:
                python = sys.executable if tool == "charter" else args.peers_python
                result = _run(tool, python, directory, args.timeout)
                if "error" in result:
                    print(
                        f"{shape:>14} {tool:>10} {'-':>9} {'-':>10} {'-':>10} {'-':>9}"
                        f" {'-':>8}  {result['error']}"
                    )
                    continue
                # Rows processed: the reference and the current data set.
                rate = 2 * rows / result["seconds"]
                print(
                    f"{shape:>14} {tool:>10} {result['seconds']:>9.2f} {rate:>10,.0f}"
                    f" {result['peak_rss_mb']:>8,.0f}MB {result['rss_after_load_mb']:>7,.0f}MB"
                    f" {result['drifted']:>8}  {result.get('detail', '')}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
