"""Benchmark: classification and fairness suites vs fairlearn's MetricFrame on synthetic data.

Usage::

    .venv/bin/python benchmarks/bench_evaluation.py [--rows 1000000] [--bootstrap 100]

Builds ``--rows`` synthetic scored rows with three cohort columns (sex: 2 groups,
age_band: 5, region: 8; 80 intersection groups), then runs, on the same data in the same
process:

- Charter's classification suite (10 metrics, overall + 3 columns + intersection);
- Charter's fairness suite (group rates and disparities, same dimensions);
- fairlearn's MetricFrame computing the same classification metrics per dimension, plus
  the fairness group rates and its demographic parity / equalized odds functions.

Each task runs once in a fresh Python process that first builds the same data (seeded):
wall-clock time of the task, and peak memory as the rise of the peak resident set (Linux
``VmHWM``, reset after the data is built through ``/proc/self/clear_refs``) over the
resident set before the task. Where that is unavailable, the task runs a second time under
tracemalloc instead. Charter runs with and without bootstrap intervals;
fairlearn without (its MetricFrame bootstrap re-evaluates every metric on every resample,
which is impractical at this size).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
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

from charter.evaluation import InputSpec, RunOptions
from charter.evaluation.classification import ClassificationSuite
from charter.evaluation.fairness import FairnessSuite

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
    """The benchmarked tasks by name, in table order."""
    classification = InputSpec(target="outcome", score="score", cohorts=COHORTS)
    fairness = InputSpec(target="outcome", prediction="decision", cohorts=COHORTS)
    no_ci = RunOptions(n_bootstrap=0)
    with_ci = RunOptions(n_bootstrap=bootstrap)
    return {
        "charter classification, no CI": lambda: ClassificationSuite().run(
            frame, classification, no_ci
        ),
        f"charter classification, {bootstrap} resamples": lambda: ClassificationSuite().run(
            frame, classification, with_ci
        ),
        "fairlearn MetricFrame, classification metrics": lambda: fairlearn_classification(frame),
        "charter fairness, no CI": lambda: FairnessSuite().run(frame, fairness, no_ci),
        f"charter fairness, {bootstrap} resamples": lambda: FairnessSuite().run(
            frame, fairness, with_ci
        ),
        "fairlearn MetricFrame + disparity functions": lambda: fairlearn_fairness(frame),
    }


def main() -> None:
    """Run every task in its own process and print a Markdown table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", type=int, default=100, help="resamples for Charter's CIs")
    parser.add_argument("--task", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task is not None:  # child process: run one task and report as JSON
        frame = synthetic(args.rows)
        task = list(tasks(frame, args.bootstrap).values())[args.task]
        seconds, peak = measure(task)
        print(json.dumps({"seconds": seconds, "peak_mib": peak}))
        return
    print(f"rows: {args.rows:,}; cohort columns: {', '.join(COHORTS)} (+ intersection, 80 groups)")
    print()
    print("| task | wall time (s) | peak memory (MiB) |")
    print("|---|---:|---:|")
    names = list(tasks(pd.DataFrame(), args.bootstrap))
    for index, name in enumerate(names):
        command = [
            sys.executable,
            __file__,
            "--rows",
            str(args.rows),
            "--bootstrap",
            str(args.bootstrap),
            "--task",
            str(index),
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        figures = json.loads(output.strip().splitlines()[-1])
        print(f"| {name} | {figures['seconds']:.2f} | {figures['peak_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
