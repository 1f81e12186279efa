"""Evaluation: the classification and fairness suites beside fairlearn's MetricFrame.

    .venv/bin/python benchmarks/evaluation/run.py                        # 10^6 rows, ~10 min
    .venv/bin/python benchmarks/evaluation/run.py --quick                # 20,000 rows, seconds
    .venv/bin/python benchmarks/evaluation/run.py --rows 100000 --bootstrap 20

Builds ``--rows`` synthetic scored rows with three cohort columns (sex: 2 groups,
age_band: 5, region: 8; 80 intersection groups), then runs on the same data:

- Charter's classification suite (10 metrics, overall + 3 columns + intersection);
- Charter's fairness suite (group rates and disparities, same dimensions);
- fairlearn's MetricFrame computing the same classification metrics per dimension, plus
  the group rates and its demographic parity / equalized odds functions (skipped, with a
  line saying so, when fairlearn is not installed: it is in the ``dev`` extra).

Each task runs once in a fresh Python process that first builds the same (seeded) data:
wall time of the task, and peak memory as the rise of the peak resident set (Linux
``VmHWM``, reset after the data is built through ``/proc/self/clear_refs``; elsewhere the
task runs a second time under tracemalloc). Charter runs with and without bootstrap
intervals; fairlearn without (its bootstrap re-evaluates every metric on every resample).
Figures: docs/benchmarks.md, "Evaluation suites".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import gc
import json
import time
import tracemalloc
from argparse import ArgumentParser, Namespace
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import ROOT, bounded, main, missing_peer, print_table, run_process

QUICK = {"rows": 20_000, "bootstrap": 5}
COHORTS = ["sex", "age_band", "region"]


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """Scored rows whose outcome depends on a latent score and, a little, on the cohorts."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], size=rows)
    age_band = rng.choice(["18-25", "26-35", "36-45", "46-60", "60+"], size=rows)
    region = rng.choice([f"r{i}" for i in range(8)], size=rows)
    latent = rng.normal(size=rows) + 0.2 * (sex == "male") - 0.1 * (age_band == "18-25")
    outcome = (latent + rng.normal(size=rows) > 0.3).astype(np.int64)
    score = 1.0 / (1.0 + np.exp(-1.5 * latent))
    return pd.DataFrame(
        {
            "outcome": outcome,
            "score": score,
            "decision": (score >= 0.5).astype(np.int64),
            "sex": sex,
            "age_band": age_band,
            "region": region,
        }
    )


def fairlearn_classification(frame: pd.DataFrame) -> None:
    """The classification metrics per dimension with MetricFrame."""
    from fairlearn.metrics import MetricFrame
    from sklearn import metrics as skm

    y, p, s = frame["outcome"], frame["decision"], frame["score"]
    label_metrics = {
        "accuracy": skm.accuracy_score,
        "balanced_accuracy": skm.balanced_accuracy_score,
        "precision": skm.precision_score,
        "recall": skm.recall_score,
        "f1": skm.f1_score,
    }
    score_metrics = {
        "roc_auc": skm.roc_auc_score,
        "pr_auc": skm.average_precision_score,
        "log_loss": skm.log_loss,
        "brier_score": skm.brier_score_loss,
    }
    for sensitive in [*COHORTS, COHORTS]:
        features = frame[sensitive]
        MetricFrame(metrics=label_metrics, y_true=y, y_pred=p, sensitive_features=features)
        MetricFrame(metrics=score_metrics, y_true=y, y_pred=s, sensitive_features=features)


def fairlearn_fairness(frame: pd.DataFrame) -> None:
    """Group rates and disparities per dimension with fairlearn."""
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn import metrics as skm

    y, p = frame["outcome"], frame["decision"]
    rates = {
        "selection_rate": selection_rate,
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
        "precision": skm.precision_score,
    }
    for sensitive in [*COHORTS, COHORTS]:
        features = frame[sensitive]
        MetricFrame(metrics=rates, y_true=y, y_pred=p, sensitive_features=features)
        demographic_parity_difference(y, p, sensitive_features=features)
        demographic_parity_ratio(y, p, sensitive_features=features)
        equalized_odds_difference(y, p, sensitive_features=features)


def _status_kib(field: str) -> int:
    """A ``Vm*`` field of /proc/self/status in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> bool:
    """Reset the peak resident set (Linux); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        _status_kib("VmHWM")
    except (OSError, KeyError):
        return False
    return True


def measure(task: Callable[[], Any]) -> tuple[float, float]:
    """Wall seconds and peak extra memory (MiB) of one run of ``task``."""
    gc.collect()
    if _reset_peak():
        before = _status_kib("VmRSS")
        start = time.perf_counter()
        task()
        seconds = time.perf_counter() - start
        return seconds, (_status_kib("VmHWM") - before) / 1024
    start = time.perf_counter()
    task()
    seconds = time.perf_counter() - start
    gc.collect()
    tracemalloc.start()
    task()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20


def tasks(frame: pd.DataFrame, bootstrap: int) -> dict[str, Callable[[], Any]]:
    """The benchmarked tasks by name, in table order; fairlearn's are named ``fairlearn ...``."""
    from charter.evaluation import InputSpec, RunOptions
    from charter.evaluation.classification import ClassificationSuite
    from charter.evaluation.fairness import FairnessSuite

    classification = InputSpec(target="outcome", score="score", cohorts=COHORTS)
    fairness = InputSpec(target="outcome", prediction="decision", cohorts=COHORTS)
    no_ci, with_ci = RunOptions(n_bootstrap=0), RunOptions(n_bootstrap=bootstrap)
    return {
        "charter classification (10 metrics x 4 dimensions + overall), no CI": (
            lambda: ClassificationSuite().run(frame, classification, no_ci)
        ),
        f"charter classification, {bootstrap} resamples": (
            lambda: ClassificationSuite().run(frame, classification, with_ci)
        ),
        "fairlearn MetricFrame, the same classification metrics (no CI)": (
            lambda: fairlearn_classification(frame)
        ),
        "charter fairness (rates + disparities, 4 dimensions), no CI": (
            lambda: FairnessSuite().run(frame, fairness, no_ci)
        ),
        f"charter fairness, {bootstrap} resamples": (
            lambda: FairnessSuite().run(frame, fairness, with_ci)
        ),
        "fairlearn MetricFrame + disparity functions (no CI)": lambda: fairlearn_fairness(frame),
    }


def configure(parser: ArgumentParser) -> None:
    """The evaluation benchmark's options."""
    parser.add_argument("--rows", type=bounded(int, 100, 20_000_000), default=1_000_000)
    parser.add_argument(
        "--bootstrap", type=bounded(int, 1, 10_000), default=100, help="Charter's resamples"
    )


def body(args: Namespace) -> dict[str, Any]:
    """Every task in its own process; one table."""
    skipped = missing_peer("fairlearn", hint="pip install -e '.[dev]'")
    if skipped:
        print(skipped, flush=True)
    rows, figures = [], {}
    for index, name in enumerate(tasks(pd.DataFrame(), args.bootstrap)):
        if skipped and name.startswith("fairlearn"):
            continue
        argv = [
            sys.executable,
            "-m",
            "benchmarks.evaluation.run",
            "--rows",
            str(args.rows),
            "--bootstrap",
            str(args.bootstrap),
            "--task",
            str(index),
        ]
        done = run_process(argv, cwd=ROOT)
        figures[name] = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append([name, figures[name]["seconds"], figures[name]["peak_mib"]])
        print(f"{name}: {figures[name]['seconds']:.2f} s", flush=True)
    print_table(
        f"Evaluation suites on {args.rows:,} rows; cohorts {', '.join(COHORTS)} "
        "(+ intersection, 80 groups); each task in a fresh process",
        ["task", "wall time s", "peak memory MiB"],
        rows,
    )
    return {"rows": args.rows, "bootstrap": args.bootstrap, "tasks": figures}


def _child() -> None:
    """In the child process: build the data, run one task, print its figures as JSON."""
    parser = ArgumentParser()
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--bootstrap", type=int, required=True)
    parser.add_argument("--task", type=int, required=True)
    args = parser.parse_args()
    frame = synthetic(args.rows)
    seconds, peak = measure(list(tasks(frame, args.bootstrap).values())[args.task])
    print(json.dumps({"seconds": seconds, "peak_mib": peak}))


if __name__ == "__main__":
    if "--task" in sys.argv:
        _child()
    else:
        main(__doc__, configure, body, quick=QUICK)
