"""Drift: Charter side by side with Evidently and whylogs on the same data.

    .venv/bin/python benchmarks/drift/run.py                 # 1,000,000x25 and 100,000x200
    .venv/bin/python benchmarks/drift/run.py --quick         # 20,000x10, seconds
    .venv/bin/python benchmarks/drift/run.py --shapes 200000x50 --no-peers

For each shape (rows x columns, 60% numeric and 40% categorical, a fifth of the columns
shifted in the current data) a reference and a current data set of that many rows are
written to Parquet, then every tool runs in its own subprocess, so that the peak memory of
one never counts against another:

* Charter: ``build_reference`` + ``profile_window`` + ``detect_drift``;
* Evidently: ``Report([DataDriftPreset()]).run(current, reference)``;
* whylogs: ``why.log`` of both data sets + ``calculate_drift_scores``.

Evidently 0.7 does not import with pandas 3, so the peers run under another interpreter:
``make bench-peers`` installs the ``bench`` extra into ``.venv-bench``, which is used when
present (or ``--peers-python``, or ``$CHARTER_PEERS_PYTHON``). A peer that is not
installed there gets a "skipped" line. Figures: docs/benchmarks.md, "Drift".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import json
import os
import resource
import tempfile
import time
from argparse import ArgumentParser, Namespace
from typing import Any

from benchmarks.common import PYTHON, ROOT, bounded, main, missing_peer, print_table, run_process

PEERS_VENV = ROOT / ".venv-bench" / "bin" / "python"
QUICK = {"shapes": [(20_000, 10)]}
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
    """In the child process: run one tool, print its figures as one JSON line."""
    result = RUNNERS[tool](directory)
    result["peak_rss_mb"] = _peak_mb()
    print(json.dumps(result))


def _shape(text: str) -> tuple[int, int]:
    rows, _, columns = text.lower().partition("x")
    return bounded(int, 100, 50_000_000)(rows), bounded(int, 2, 5000)(columns)


def configure(parser: ArgumentParser) -> None:
    """The drift benchmark's options."""
    parser.add_argument(
        "--shapes",
        type=lambda text: [_shape(s) for s in text.split(",")],
        default=[(1_000_000, 25), (100_000, 200)],
        help="ROWSxCOLUMNS,... (default 1000000x25,100000x200)",
    )
    default = os.environ.get("CHARTER_PEERS_PYTHON") or (
        str(PEERS_VENV) if PEERS_VENV.exists() else PYTHON
    )
    parser.add_argument("--peers-python", default=default, help=f"default {default}")
    parser.add_argument("--no-peers", action="store_true", help="Charter only")
    parser.add_argument("--timeout", type=bounded(float, 1, 7200), default=1800.0)


def body(args: Namespace) -> dict[str, Any]:
    """Each tool on each shape, in its own process; one table."""
    tools = {"charter": PYTHON}
    if not args.no_peers:
        for peer in ("evidently", "whylogs"):
            skipped = missing_peer(peer, args.peers_python, hint="make bench-peers")
            if skipped:
                print(skipped, flush=True)
            else:
                tools[peer] = args.peers_python
    rows, figures = [], []
    with tempfile.TemporaryDirectory(prefix="charter-bench-drift-") as tmp:
        for n_rows, columns in args.shapes:
            directory = Path(tmp) / f"{n_rows}x{columns}"
            directory.mkdir()
            generate(n_rows, columns, directory)
            for tool, python in tools.items():
                argv = [
                    python,
                    "-m",
                    "benchmarks.drift.run",
                    "--run",
                    tool,
                    "--data",
                    str(directory),
                ]
                done = run_process(argv, cwd=ROOT, timeout=args.timeout)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                result.update(tool=tool, rows=n_rows, columns=columns)
                figures.append(result)
                rate = 2 * n_rows / result["seconds"]  # both data sets are processed
                rows.append(
                    [
                        f"{n_rows:,} x {columns}",
                        tool,
                        result["seconds"],
                        rate,
                        result["peak_rss_mb"],
                        result["rss_after_load_mb"],
                        result["drifted"],
                        result.get("detail", ""),
                    ]
                )
                print(f"{n_rows:,} x {columns} {tool}: {result['seconds']:.2f} s", flush=True)
    print_table(
        "Drift: reference and current data sets of the given rows each, a fifth of the "
        "columns shifted (each tool in its own process)",
        [
            "shape",
            "tool",
            "seconds",
            "rows/s",
            "peak RSS MB",
            "RSS after loading MB",
            "columns flagged",
            "notes",
        ],
        rows,
    )
    return {"runs": figures}


if __name__ == "__main__":
    if "--run" in sys.argv:  # a child process: one tool, its figures as JSON
        child = ArgumentParser()
        child.add_argument("--run", choices=sorted(RUNNERS), required=True)
        child.add_argument("--data", type=Path, required=True)
        known = child.parse_args()
        _child(known.run, known.data)
    else:
        main(__doc__, configure, body, quick=QUICK)
