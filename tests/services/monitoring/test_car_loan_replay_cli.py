"""The car-loan replay from the real CLI in subprocesses, on the wall clock (no test clock):
reference from the reference file, the whole analysis file logged in one command, its labels
in another, one `charter worker --once`, then `charter windows --format json|html`.

Records carry their own timestamps (2018-2019), so windows follow event time: the history
is judged in one pass, in order, and the drift alert opens at the window where the streak
started. The release is set up in process (system, approvals, deployment); everything the
issue asks a user to run is run as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import CAR_LOAN, deploy_release, needs_car_loan

# The slowest single test (~40 s on 2 cores): the file's 7,268 hours are profiled in one
# pass per batch (docs/benchmarks.md, "Replay"); it runs in CI's late slot.
pytestmark = [pytest.mark.datasets, pytest.mark.replay, needs_car_loan, pytest.mark.timeout(900)]
LIVE = {
    "window": "5000 rows",
    "min_sample": 500,
    "open_after": 2,
    "close_after": 2,
    "monitors": ["performance", "drift"],
    "accuracy": ">= 0.85",
}


def cli(database_url: str, token: str, *args: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    environ.update(CHARTER_DATABASE_URL=database_url, CHARTER_TOKEN=token, COLUMNS="200")
    result = subprocess.run(
        [sys.executable, "-m", "charter", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=3000,
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def test_car_loan_replay_from_the_cli(
    charter, act, policy, tokens, database_url, tmp_path: Path
) -> None:
    digest = deploy_release(charter, act, live=LIVE)
    ref = f"credit-limit@{digest[:12]}"
    out = json.loads(
        cli(
            database_url,
            tokens["developer"],
            "reference",
            "set",
            ref,
            "--data",
            str(CAR_LOAN / "synthetic_car_loan_reference.csv"),
            "--prediction",
            "y_pred",
            "--score",
            "y_pred_proba",
            "--label",
            "repaid",
            "--cohort",
            "salary_range",
            "--format",
            "json",
        )
    )
    # Ids and timestamps are not features (they would drift by construction).
    assert set(out["left_out"]) == {"id", "timestamp"}
    assert "car_value" in out["features"] and "timestamp" not in out["features"]

    started = time.perf_counter()
    logged = json.loads(
        cli(
            database_url,
            tokens["service"],
            "log",
            "credit-limit",
            "--env",
            "prod",
            "--data",
            str(CAR_LOAN / "synthetic_car_loan_analysis.csv"),
            "--id-column",
            "id",
            "--batch-size",
            "10000",
            "--format",
            "json",
        )
    )
    assert logged == {"batches": 5, "rows": 50_000, "duplicates": 0}
    labels = json.loads(
        cli(
            database_url,
            tokens["service"],
            "log",
            "credit-limit",
            "--env",
            "prod",
            "--labels",
            str(CAR_LOAN / "synthetic_car_loan_analysis_target.csv"),
            "--id-column",
            "id",
            "--label-column",
            "repaid",
            "--format",
            "json",
        )
    )
    assert labels["rows"] == 50_000
    summary = json.loads(
        cli(database_url, tokens["service"], "worker", "--once", "--format", "json")
    )
    replay_seconds = time.perf_counter() - started
    # 50,000 rows in hourly buckets of ~7: nine complete windows of 5,000 rows and a bit
    # (a window ends at the first hour boundary past 5,000); the tenth is still short.
    assert summary["windows"] == 9, summary
    windows = json.loads(
        cli(database_url, tokens["auditor"], "windows", "credit-limit", "--format", "json")
    )["items"][::-1]
    assert len(windows) == 9
    assert all(5_000 <= w["rows"] < 5_020 and w["labelled"] == w["rows"] for w in windows)
    assert all(w["late"] == 0 for w in windows)
    starts = [w["window_start"] for w in windows]
    assert starts == sorted(starts) and starts[0].startswith("2018-10-30")
    flagged = ["car_value" in w["drift"]["columns"] for w in windows]
    assert flagged == [False] * 5 + [True] * 4, flagged
    detail = windows[-1]["drift"]["details"]["car_value"]
    assert detail["test"] == "ks" and detail["p_adjusted"] < 0.01
    # What KS and PSI compared is in the JSON: the window's mass moved to the top bins.
    shares = detail["distribution"]
    assert len(shares["labels"]) == len(shares["reference"]) == len(shares["window"]) <= 12
    assert shares["window"][-2] > 2 * shares["reference"][-2]
    realised = [w["realised"]["metrics"]["accuracy"] for w in windows]
    estimated = [w["estimated"]["accuracy"] for w in windows]
    assert min(realised[:5]) > max(realised[5:])
    assert min(estimated[:5]) > max(estimated[5:])
    # The drift alert on car_value opens at the second breaching window (open_after: 2),
    # dated from the first.
    opened = [
        i
        for i, w in enumerate(windows)
        for change in w["transitions"]
        if "opened" in change and change["subject"] == "car_value"
    ]
    assert opened == [6]
    alerts = json.loads(
        cli(database_url, tokens["auditor"], "alerts", "--open", "--format", "json")
    )["items"]
    (car_value,) = [a for a in alerts if a["subject"] == "car_value"]
    assert car_value["breach_started_at"][:19] == windows[5]["window_start"][:19]

    report = tmp_path / "report.html"
    cli(
        database_url,
        tokens["auditor"],
        "windows",
        "credit-limit",
        "--format",
        "html",
        "--output",
        str(report),
    )
    html = report.read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html and "<script" not in html
    assert "car_value" in html
    # One reference-vs-window chart per monitored column for the latest window.
    latest = html.partition("<h2>Windows</h2>")[0]
    assert latest.count('aria-label="Distribution of ') == len(windows[-1]["drift"]["details"])
    text = cli(database_url, tokens["auditor"], "windows", "credit-limit", "--last", "2")
    assert "drift: drift (car_value" in text and "alert" not in text.split("\n")[0]
    print(f"replay of 50,000 rows (log + labels + worker): {replay_seconds:.1f} s")
