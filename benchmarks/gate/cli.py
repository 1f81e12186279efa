"""`charter gate` from process start to exit: wall/CPU, `-X importtime`, and where it goes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import gate_setup
from spine_common import CHARTER, PYTHON, bytecode_env, charter_env, percentile, print_table
from spine_startup import _importtime, heavy_summary

PHASES_SCRIPT = str(Path(__file__).with_name("gate_phases.py"))
WHATIF_SCRIPT = str(Path(__file__).with_name("gate_whatif.py"))


def _run_once(argv: list[str], env: dict[str, str], ok: tuple[int, ...]) -> tuple[float, float]:
    """Wall and CPU (user+sys, from ``wait4``) milliseconds of one run of ``argv``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in ok:
        raise RuntimeError(f"{argv} exited {code}: {err.decode()[-2000:]}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p90": percentile(values, 90),
        "min": min(values),
        "max": max(values),
    }


def _phase_runs(
    env: dict[str, str], ref: str, runs: int, profile_top: int, workdir: Path
) -> tuple[list[dict[str, Any]], list[float], dict[str, Any]]:
    """Run ``gate_phases.py`` ``runs`` times (+1 profiled); the results and parent wall ms."""
    results, walls = [], []
    out = workdir / "phases.json"
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [PYTHON, PHASES_SCRIPT, str(out), ref, "prod"],
            env=env,
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )
        walls.append((time.perf_counter() - start) * 1000)
        results.append(json.loads(out.read_text()))
    subprocess.run(
        [PYTHON, PHASES_SCRIPT, str(out), ref, "prod", "--profile", str(profile_top)],
        env=env,
        check=True,
        timeout=120,
        stdout=subprocess.DEVNULL,
    )
    return results, walls, json.loads(out.read_text())


def _median_pair(values: list[list[float]] | list[tuple[float, float]]) -> tuple[float, float]:
    return (
        statistics.median(v[0] for v in values) * 1000,
        statistics.median(v[1] for v in values) * 1000,
    )


def run(*, runs: int = 20, warmup: int = 2, phase_runs: int = 7) -> dict[str, Any]:
    """Time `charter gate` as a subprocess and split its time; print tables; return figures."""
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="charter-bench-gate-cli-") as tmp:
        workdir = Path(tmp)
        prepared = gate_setup.prepare(workdir, releases=1)
        ref = prepared.refs[0]
        short = ref.split("@")[0] + "@" + ref.split("@")[1][:12]
        inherited = charter_env(prepared.home, CHARTER_TOKEN=prepared.dev_token)
        env = bytecode_env(inherited, workdir / "pycache")
        gate_argv = [CHARTER, "gate", short, "--env", "prod", "--format", "json"]

        check = subprocess.run(gate_argv, env=env, capture_output=True, text=True, check=False)
        report = json.loads(check.stdout)
        figures["report"] = {
            "exit_code": check.returncode,
            "passed": report["passed"],
            "controls": len(report["results"]),
            "counts": report["counts"],
            "tier": report["tier"],
        }
        print(
            f"\n`charter gate {short} --env prod`: exit {check.returncode}, tier "
            f"{report['tier']}, {len(report['results'])} controls, {report['counts']}",
            flush=True,
        )

        whatif_env = {**env, "GATE_WHATIF_LARK_CACHE": str(workdir / "cel-lark.cache")}
        whatif_args = gate_argv[1:]
        for fixes in ("freeze", "larkcache,cyaml", "freeze,larkcache,cyaml"):
            same = subprocess.run(
                [PYTHON, WHATIF_SCRIPT, fixes, *whatif_args],
                env=whatif_env,
                capture_output=True,
                text=True,
                check=False,
            )
            other = json.loads(same.stdout)
            if (same.returncode, other["counts"]) != (check.returncode, report["counts"]):
                raise RuntimeError(f"what-if {fixes} changed the gate's outcome: {other['counts']}")
        flag = os.environ.get("PYTHONDONTWRITEBYTECODE", "-")
        cases: list[tuple[str, list[str], dict[str, str]]] = [
            ("python -c pass", [PYTHON, "-c", "pass"], env),
            ("charter --help", [CHARTER, "--help"], env),
            (
                "charter whoami --format json (DB, no policy)",
                [CHARTER, "whoami", "--format", "json"],
                env,
            ),
            (f"charter gate ... --format json ({len(report['results'])} controls)", gate_argv, env),
            (
                f"charter gate ... --format json (as inherited: PYTHONDONTWRITEBYTECODE={flag})",
                gate_argv,
                inherited,
            ),
            (
                "what-if: gc.freeze() when run() returns",
                [PYTHON, WHATIF_SCRIPT, "freeze", *whatif_args],
                whatif_env,
            ),
            (
                "what-if: lark parser cache + libyaml (CSafeLoader)",
                [PYTHON, WHATIF_SCRIPT, "larkcache,cyaml", *whatif_args],
                whatif_env,
            ),
            (
                "what-if: all three",
                [PYTHON, WHATIF_SCRIPT, "freeze,larkcache,cyaml", *whatif_args],
                whatif_env,
            ),
        ]
        for _label, argv, case_env in cases:
            for _ in range(warmup):
                _run_once(argv, case_env, (0, 1))
        times: dict[str, tuple[list[float], list[float]]] = {c[0]: ([], []) for c in cases}
        for _ in range(runs):
            for label, argv, case_env in cases:
                wall, cpu = _run_once(argv, case_env, (0, 1))
                times[label][0].append(wall)
                times[label][1].append(cpu)
        rows = []
        figures["wall_ms"] = {}
        for label, (walls, cpus) in times.items():
            stats = _stats(walls)
            stats["cpu_median"] = statistics.median(cpus)
            stats["cpu_p90"] = percentile(cpus, 90)
            figures["wall_ms"][label] = stats
            rows.append(
                [
                    label,
                    stats["median"],
                    stats["p90"],
                    stats["min"],
                    stats["max"],
                    stats["cpu_median"],
                    stats["cpu_p90"],
                ]
            )
        print_table(
            f"`charter gate` process start to exit, ms ({runs} interleaved runs after {warmup} "
            "warm-up runs; bytecode cached unless the row says otherwise)",
            ["command", "median", "p90", "min", "max", "CPU median", "CPU p90"],
            rows,
        )

        repeats = 5
        records = _importtime(gate_argv, env, repeats)
        roots = sorted((r for r in records if r.depth == 0), key=lambda r: -r.cumulative_us)
        print_table(
            f"`charter gate`: top-level imports by cumulative time (-X importtime, median of "
            f"{repeats})",
            ["module", "cumulative ms"],
            [[r.name, r.cumulative_us / 1000] for r in roots[:12]],
        )
        offenders = sorted(records, key=lambda r: -r.self_us)[:15]
        print_table(
            "`charter gate`: modules with the largest self import time",
            ["module", "self ms", "cumulative ms"],
            [[r.name, r.self_us / 1000, r.cumulative_us / 1000] for r in offenders],
        )
        heavy = heavy_summary(records)
        total_import = sum(r.self_us for r in records) / 1000
        print_table(
            "`charter gate`: heavy packages (modules / summed self ms)",
            ["package", "modules", "self ms"],
            [[root, n, ms] for root, (n, ms) in heavy.items()]
            + [["**all imports**", len(records), total_import]],
        )
        figures["importtime"] = {
            "total_ms": total_import,
            "modules": len(records),
            "top_level": [
                {"module": r.name, "cumulative_ms": r.cumulative_us / 1000} for r in roots[:12]
            ],
            "heavy": {root: {"modules": n, "self_ms": ms} for root, (n, ms) in heavy.items()},
        }

        results, walls, profiled = _phase_runs(env, short, phase_runs, 20, workdir)
        baseline = statistics.median(times["python -c pass"][0])
        baseline_cpu = statistics.median(times["python -c pass"][1])
        parent_wall = statistics.median(walls)
        script_wall, script_cpu = _median_pair([r["script_total"] for r in results])
        phase_rows: list[list[Any]] = []
        for label in results[0]["phases"]:
            wall, cpu = _median_pair([r["phases"][label] for r in results])
            phase_rows.append([label, wall, cpu, ""])
        wrapped_labels = list(results[0]["wrapped"])
        wrapped = {
            label: (
                *_median_pair([r["wrapped"][label][:2] for r in results]),
                int(results[0]["wrapped"][label][2]),
            )
            for label in wrapped_labels
        }
        order = [
            "open database (engine, ensure_current)",
            "connect + BEGIN IMMEDIATE + authenticate",
            "find release",
            "policy version (SELECT)",
            "policy load (total)",
            "policy load: YAML parse",
            "policy load: CEL environment (lark grammar)",
            "policy load: CEL compile incl. environment",
            "gather facts (3 SELECTs, JSON)",
            "evaluate controls",
            "audit record (hash chain, INSERT)",
        ]
        for label in order:
            if label in wrapped:
                wall, cpu, calls = wrapped[label]
                indent = "    " if label.startswith("policy load:") else "  "
                phase_rows.append([f"{indent}{label}", wall, cpu, calls])
        run_gate = wrapped["run_gate (total)"]
        parts = (
            "find release",
            "policy version (SELECT)",
            "policy load (total)",
            "gather facts (3 SELECTs, JSON)",
            "evaluate controls",
            "audit record (hash chain, INSERT)",
        )
        rest = [run_gate[i] - sum(wrapped[p][i] for p in parts if p in wrapped) for i in (0, 1)]
        phase_rows.append(
            ["  rest of run_gate (GateRun INSERT, report assembly)", rest[0], rest[1], 1]
        )
        backend_gate = wrapped["backend.gate (total)"]
        auth = wrapped["connect + BEGIN IMMEDIATE + authenticate"]
        commit = [backend_gate[i] - run_gate[i] - auth[i] for i in (0, 1)]
        phase_rows.append(
            [
                "  commit + view + model_dump (backend.gate - run_gate - auth)",
                commit[0],
                commit[1],
                1,
            ]
        )
        run_total = _median_pair([r["phases"]["run(): the gate command"] for r in results])
        opened = wrapped["open database (engine, ensure_current)"]
        cli_rest = [run_total[i] - backend_gate[i] - opened[i] for i in (0, 1)]
        phase_rows.append(
            [
                "  CLI rest (typer parsing + its lazy imports, settings, JSON render)",
                cli_rest[0],
                cli_rest[1],
                1,
            ]
        )
        phase_rows.append(["script total (inside the interpreter)", script_wall, script_cpu, ""])
        phase_rows.append(
            [
                "interpreter start + exit (parent wall - script total; `python -c pass`: "
                f"{baseline:.0f} ms wall / {baseline_cpu:.0f} ms CPU)",
                parent_wall - script_wall,
                "",
                "",
            ]
        )
        phase_rows.append(["**whole process** (parent wall)", parent_wall, "", ""])
        print_table(
            f"Where `charter gate` spends its time (fresh process, median of {phase_runs} runs; "
            "lazily imported modules are imported up front so that the phases measure work)",
            ["phase", "wall ms", "CPU ms", "calls"],
            phase_rows,
        )
        late = results[0]["modules_imported_during_run"]
        print(
            f"\nModules still imported during the command ({len(late)}): {', '.join(late)}",
            flush=True,
        )
        print_table(
            "cProfile of the command (after the imports), top functions by own time",
            ["own ms", "cumulative ms", "calls", "function"],
            [
                [r[0] * 1000, r[1] * 1000, r[2], _short(r[3])]
                for r in profiled["profile_tottime"][:15]
            ],
        )
        figures["phases_ms"] = {row[0].strip(): row[1:3] for row in phase_rows}
        figures["modules_imported_during_run"] = late
        figures["profile_tottime"] = profiled["profile_tottime"]
        figures["preparation_s"] = prepared.seconds
    return figures


def _short(where: str) -> str:
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in where:
            return where.split(marker, 1)[1]
    return where
