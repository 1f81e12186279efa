"""`charter gate` from process start to exit: wall/CPU, `-X importtime`, and where it goes."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CHARTER,
    PYTHON,
    ROOT,
    bytecode_env,
    expect,
    heavy_packages,
    importtime,
    print_table,
    print_timings,
    run_charter,
    run_process,
    time_commands,
)
from benchmarks.gate import setup
from benchmarks.gate.phases import PHASES
from benchmarks.spine.startup import HEAVY


def run(*, runs: int, warmup: int, phase_runs: int, repeats: int) -> dict[str, Any]:
    """Time `charter gate` as a subprocess and split its time; print tables; return figures."""
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="charter-bench-gate-cli-") as tmp:
        workdir = Path(tmp)
        prepared = setup.prepare(workdir, releases=1)
        system, digest = prepared.refs[0].split("@")
        ref = f"{system}@{digest[:12]}"
        inherited = prepared.home.env(CHARTER_TOKEN=prepared.dev_token)
        env = bytecode_env(inherited, workdir / "pycache")
        gate = [CHARTER, "gate", ref, "--env", "prod", "--format", "json"]

        checked = run_charter(gate[1:], env, ok=(0, 1))
        report = json.loads(checked.stdout)
        figures["report"] = {
            "exit_code": checked.returncode,
            "controls": len(report["results"]),
            "counts": report["counts"],
            "tier": report["tier"],
        }
        print(
            f"\n`charter gate {ref} --env prod`: exit {checked.returncode}, tier "
            f"{report['tier']}, {len(report['results'])} controls, {report['counts']}",
            flush=True,
        )
        failed = [
            f"{r['control_id']}: {r['reason']}" for r in report["results"] if r["status"] == "fail"
        ]
        expect(checked.returncode == 0, f"the prepared release passes its gate; failed: {failed}")
        flag = os.environ.get("PYTHONDONTWRITEBYTECODE", "-")
        timings = time_commands(
            [
                ("python -c pass", [PYTHON, "-c", "pass"], env),
                ("charter --help", [CHARTER, "--help"], env),
                (
                    "charter whoami --format json (opens the database)",
                    [CHARTER, "whoami", "--format", "json"],
                    env,
                ),
                (f"charter gate ... --format json ({len(report['results'])} controls)", gate, env),
                (
                    f"charter gate ... (PYTHONDONTWRITEBYTECODE={flag} as inherited)",
                    gate,
                    inherited,
                ),
            ],
            runs=runs,
            warmup=warmup,
        )
        print_timings(
            f"`charter gate` process start to exit ({runs} interleaved runs after {warmup} "
            "warm-up runs; bytecode cached unless the row says otherwise)",
            timings,
        )
        figures["wall_ms"] = timings

        records = importtime(gate, env, repeats)
        roots = sorted((r for r in records if r.depth == 0), key=lambda r: -r.cumulative_ms)
        print_table(
            f"`charter gate`: top-level imports (-X importtime, median of {repeats})",
            ["module", "cumulative ms"],
            [[r.name, r.cumulative_ms] for r in roots[:12]],
        )
        heavy = heavy_packages(records, HEAVY)
        total = sum(r.self_ms for r in records)
        print_table(
            "`charter gate`: heavy packages",
            ["package", "modules", "self ms"],
            [[root, int(n), ms] for root, (n, ms) in heavy.items()]
            + [["**all imports**", len(records), total]],
        )
        figures["importtime"] = {"total_ms": total, "modules": len(records), "heavy": heavy}
        figures["phases"] = _phases(env, ref, phase_runs, timings["python -c pass"], workdir)
        figures["preparation_s"] = prepared.seconds
    return figures


def _phases(
    env: dict[str, str], ref: str, runs: int, baseline: dict[str, float], workdir: Path
) -> dict[str, Any]:
    """Run ``phases.py`` ``runs`` times (the last one profiled); print the phase table."""
    out = workdir / "phases.json"
    results, walls = [], []
    for i in range(runs + 1):
        profile = ["--profile", "15"] if i == runs else []
        argv = [PYTHON, "-m", "benchmarks.gate.phases", str(out), ref, "prod", *profile]
        done = run_process(argv, env, cwd=ROOT)
        if not profile:  # the profiled run is slower: it only names the hot functions
            walls.append(done.wall_s * 1000)
            results.append(json.loads(out.read_text()))
    profiled = json.loads(out.read_text())

    def median_ms(pairs: list[list[float]]) -> list[float]:
        return [statistics.median(p[i] for p in pairs) * 1000 for i in (0, 1)]

    rows: list[list[Any]] = []
    for label in results[0]["imports"]:
        rows.append([label, *median_ms([r["imports"][label] for r in results]), ""])
    rows.append(["run(): the gate command", *median_ms([r["command"] for r in results]), 1])
    for _module, _path, label, depth in PHASES:
        calls = [r["wrapped"].get(label, [0, 0, 0]) for r in results]
        if calls[0][2]:
            rows.append(["  " * depth + label, *median_ms(calls), int(calls[0][2])])
        else:
            rows.append(["  " * depth + label, float("nan"), float("nan"), "not reached"])
    script = median_ms([r["script_total"] for r in results])
    rows.append(["script total (inside the interpreter)", *script, ""])
    parent = statistics.median(walls)
    rows.append(
        [
            f"interpreter start + exit (`python -c pass`: {baseline['median']:.0f} ms)",
            parent - script[0],
            float("nan"),
            "",
        ]
    )
    rows.append(["**whole process**", parent, float("nan"), ""])
    print_table(
        f"Where `charter gate` spends its time (fresh process, median of {runs}; lazy imports "
        "done up front so that the phases time work)",
        ["phase", "wall ms", "CPU ms", "calls"],
        rows,
    )
    if results[0]["missing"]:
        print(f"\nPhases not timed (target moved): {', '.join(results[0]['missing'])}")
    late = results[0]["modules_imported_during_run"]
    print(f"\nModules still imported during the command ({len(late)}): {', '.join(late)}")
    print_table(
        "cProfile of the command (after the imports), top functions by own time",
        ["own ms", "cumulative ms", "calls", "function"],
        [[r[0] * 1000, r[1] * 1000, r[2], _short(r[3])] for r in profiled["profile_tottime"]],
    )
    return {"rows": rows, "missing": results[0]["missing"], "late_imports": late}


def _short(where: str) -> str:
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in where:
            return where.split(marker, 1)[1]
    return where
