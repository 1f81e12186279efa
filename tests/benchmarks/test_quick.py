"""The benchmarks' quick modes run end to end, so that a benchmark cannot rot unnoticed.

Each test runs one benchmark's real entry point in a subprocess, as `make bench-quick`
does, and checks the figures it writes with ``--json``. Speeds are not asserted (they are
measured, not tested); what the runs must get right is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _quick(name: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    done = _run(f"benchmarks.{name}.run", "--quick", "--json", str(out), *args)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "### Machine" in done.stdout
    figures: dict[str, Any] = json.loads(out.read_text())
    assert figures["quick"] is True
    assert figures["machine"]["cores"]
    return figures


def test_status_quick(tmp_path: Path) -> None:
    figures = _quick("status", tmp_path)
    assert figures["systems"] == 50
    assert figures["hours"] == 48
    # The run checked that every system was listed; here: every call was timed.
    assert figures["services.portfolio.portfolio (with the signals)"] > 0
    assert figures["services.signals_view.monitoring_signals"] > 0
    assert figures["cli_ms"]["charter status --format json"]["median"] > 0


def test_ingest_quick(tmp_path: Path) -> None:
    figures = _quick("ingest", tmp_path)
    assert figures["rows"] == 5_000
    assert figures["batch"] == 1_000
    assert figures["json_rows_per_s"] > 0
    assert figures["arrow_rows_per_s"] > 0
    assert figures["json_rows_per_cpu_s"] > 0


def test_drift_quick_without_peers(tmp_path: Path) -> None:
    figures = _quick("drift", tmp_path, "--no-peers")
    (charter,) = figures["runs"]
    assert charter["tool"] == "charter"
    assert (charter["rows"], charter["columns"]) == (20_000, 10)
    # The generator shifts a fifth of the columns (num_0 and cat_5); both are flagged.
    assert charter["drifted"] == 2


def test_evidence_quick(tmp_path: Path) -> None:
    figures = _quick("evidence", tmp_path)
    assert figures["windows"] == 500
    assert set(figures["seconds"]) == {"export", "zip", "verify"}
    assert figures["zip_bytes"] > 0


def test_gate_bulk_quick(tmp_path: Path) -> None:
    # Three releases with real evidence, a reference and two approvals each: the run
    # itself checks that every gate passes and is stored, and that the chain verifies.
    figures = _quick("gate", tmp_path, "--only", "bulk", "--releases", "3", "--systems", "1")
    bulk = figures["bulk"]
    assert bulk["run_gate"]["n"] == 3
    assert bulk["controls_only"]["n"] == 3
    assert bulk["audit_ok"] is True
    assert bulk["statements_per_gate"] > 0


@pytest.mark.parametrize(
    ("module", "args", "reason"),
    [
        ("benchmarks.spine.run", ["--events", "0"], "--events: 0 is outside [1, 20,000,000]"),
        ("benchmarks.gate.run", ["--releases", "2", "--systems", "3"], "--systems must not"),
        ("benchmarks.run_all", ["--only", "spine,nope"], "unknown part(s) nope"),
        ("benchmarks.drift.run", ["--shapes", "10x5"], "10 is outside [100,"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(module: str, args: list[str], reason: str) -> None:
    done = _run(module, *args, timeout=60)
    assert done.returncode == 2
    assert reason in done.stderr
    assert done.stdout == ""  # refused before anything ran


def test_guard_quick(tmp_path: Path) -> None:
    figures = _quick("guard", tmp_path, "--no-peers")
    latency = {row[0]: row for row in figures["latency"]}
    assert latency["prompt_injection, rules only"][1] > 0  # p50 ms
    detection = {row[0]: row for row in figures["detection"]}
    assert float(detection["rules"][2]) >= 0.8  # recall on all held-out attacks
    assert float(detection["rules"][3]) == 0.0  # no ordinary prompt blocked
    pii = figures["pii"]["charter"]["scores"]
    assert set(pii) == {"email", "phone", "credit_card", "iban", "us_ssn", "uk_ni", "ip_address"}
    assert all(s["recall"] >= 0.9 and s["precision"] >= 0.9 for s in pii.values())


def test_sdk_quick(tmp_path: Path) -> None:
    figures = _quick("sdk", tmp_path, "--calls", "200", "--kills", "1")
    assert figures["calls"] == 200
    assert figures["kill_to_sdk_s"]["max"] > 0
    assert figures["drills"]["outage"]["passed"] is True
