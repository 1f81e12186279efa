"""CLI start-up: wall time of ``charter --help`` and a read command, and where it goes."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spine_common import (
    CHARTER,
    PYTHON,
    bytecode_env,
    charter_env,
    init_home,
    percentile,
    populate,
    print_table,
)

#: Modules worth knowing about when they load on a CLI path (root package names).
HEAVY = (
    "sqlalchemy",
    "alembic",
    "mako",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "pydantic_core",
    "numpy",
    "pandas",
    "scipy",
    "sklearn",
    "pyarrow",
    "rich",
    "markdown_it",
    "pygments",
    "yaml",
    "httpx",
    "rfc8785",
    "pluggy",
)

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


@dataclass
class Imported:
    """One line of ``-X importtime``: self and cumulative microseconds, nesting depth."""

    name: str
    self_us: int
    cumulative_us: int
    depth: int


def parse_importtime(stderr: str) -> list[Imported]:
    """Parse ``python -X importtime`` output (stderr) into records, in output order."""
    records = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            self_us, cum_us, indent, name = match.groups()
            records.append(Imported(name, int(self_us), int(cum_us), len(indent) // 2))
    return records


def _importtime(argv: list[str], env: dict[str, str], repeats: int) -> list[Imported]:
    """Run ``argv`` under ``-X importtime`` ``repeats`` times; median times per module."""
    runs = []
    for _ in range(repeats):
        proc = subprocess.run(
            [PYTHON, "-X", "importtime", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{argv} exited {proc.returncode}: {proc.stderr[-2000:]}")
        runs.append(parse_importtime(proc.stderr))
    first = runs[0]
    merged = []
    for i, rec in enumerate(first):
        same = [r[i] for r in runs if i < len(r) and r[i].name == rec.name]
        merged.append(
            Imported(
                rec.name,
                int(statistics.median(r.self_us for r in same)),
                int(statistics.median(r.cumulative_us for r in same)),
                rec.depth,
            )
        )
    return merged


def heavy_summary(records: list[Imported]) -> dict[str, tuple[int, float]]:
    """Per heavy root package: number of modules loaded and summed self time (ms)."""
    counts: dict[str, int] = defaultdict(int)
    self_ms: dict[str, float] = defaultdict(float)
    for rec in records:
        root = rec.name.split(".", 1)[0]
        if root in HEAVY:
            counts[root] += 1
            self_ms[root] += rec.self_us / 1000
    return {root: (counts[root], self_ms[root]) for root in HEAVY if root in counts}


def _run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user+sys) milliseconds of one run of ``argv``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=False
    )
    assert proc.stderr is not None
    err = proc.stderr.read()  # small; read to EOF before reaping with wait4
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}: {err.decode()[-2000:]}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def _time_commands(
    cases: list[tuple[str, list[str], dict[str, str]]], runs: int, warmup: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Wall and CPU times (ms) per case; runs interleave the cases round-robin, so that
    load from other processes on the machine falls on every case alike."""
    for _label, argv, env in cases:
        for _ in range(warmup):
            _run_once(argv, env)
    times: dict[str, tuple[list[float], list[float]]] = {c[0]: ([], []) for c in cases}
    for _ in range(runs):
        for label, argv, env in cases:
            wall, cpu = _run_once(argv, env)
            times[label][0].append(wall)
            times[label][1].append(cpu)
    return times


def run(*, runs: int = 20, warmup: int = 2, systems: int = 5) -> dict[str, Any]:
    """Time the CLI's start-up paths; print the tables; return the figures."""
    with tempfile.TemporaryDirectory(prefix="charter-bench-startup-") as tmp:
        home = Path(tmp) / "home"
        token = init_home(home)
        populate(home, token, systems=systems)
        inherited = charter_env(home)
        # Bytecode cached, as after a pip install; the cache lives in tmp, never in src/.
        env = bytecode_env(inherited, Path(tmp) / "pycache")
        no_rich = {**env, "TYPER_USE_RICH": "0"}
        flag = os.environ.get("PYTHONDONTWRITEBYTECODE", "-")
        as_is = f"as inherited: PYTHONDONTWRITEBYTECODE={flag}"
        read = [CHARTER, "system", "list", "--format", "json"]
        cases: list[tuple[str, list[str], dict[str, str]]] = [
            ("python -c pass", [PYTHON, "-c", "pass"], env),
            (
                'python -c "import charter.cli.main"',
                [PYTHON, "-c", "import charter.cli.main"],
                env,
            ),
            ("charter --help", [CHARTER, "--help"], env),
            ("charter --help (TYPER_USE_RICH=0)", [CHARTER, "--help"], no_rich),
            (f"charter system list --format json ({systems} systems)", read, env),
            (f"charter --help ({as_is})", [CHARTER, "--help"], inherited),
            (f"charter system list --format json ({as_is})", read, inherited),
        ]
        figures: dict[str, Any] = {"wall_ms": {}}
        rows = []
        measured = _time_commands(cases, runs, warmup)
        for label, (walls, cpus) in measured.items():
            stats = {
                "median": statistics.median(walls),
                "p90": percentile(walls, 90),
                "min": min(walls),
                "max": max(walls),
                "cpu_median": statistics.median(cpus),
            }
            figures["wall_ms"][label] = stats
            rows.append(
                [
                    label,
                    runs,
                    stats["median"],
                    stats["p90"],
                    stats["min"],
                    stats["max"],
                    stats["cpu_median"],
                ]
            )
        print_table(
            f"CLI start-up, wall time in ms ({runs} interleaved runs after {warmup} warm-up "
            "runs; bytecode cached unless the row says otherwise)",
            ["command", "runs", "median", "p90", "min", "max", "CPU median"],
            rows,
        )

        repeats = 5
        profiles = {
            "import charter.cli.main": (["-c", "import charter.cli.main"], env),
            "charter --help": ([CHARTER, "--help"], env),
            "charter system list --format json": (read, env),
        }
        parsed = {label: _importtime(argv, e, repeats) for label, (argv, e) in profiles.items()}

        top = sorted(parsed["import charter.cli.main"], key=lambda r: -r.cumulative_us)[:15]
        print_table(
            "Top imports of `import charter.cli.main` by cumulative time "
            f"(-X importtime, median of {repeats})",
            ["module", "depth", "self ms", "cumulative ms"],
            [[r.name, r.depth, r.self_us / 1000, r.cumulative_us / 1000] for r in top],
        )
        for label in ("charter --help", "charter system list --format json"):
            roots = [r for r in parsed[label] if r.depth == 0]
            top_roots = sorted(roots, key=lambda r: -r.cumulative_us)[:10]
            print_table(
                f"`{label}`: top-level imports by cumulative time (-X importtime, "
                f"median of {repeats})",
                ["module", "cumulative ms"],
                [[r.name, r.cumulative_us / 1000] for r in top_roots],
            )
        heavy = {label: heavy_summary(records) for label, records in parsed.items()}
        names = [root for root in HEAVY if any(root in h for h in heavy.values())]
        print_table(
            "Heavy packages loaded: modules imported / summed self import time in ms",
            ["package", *parsed],
            [
                [
                    root,
                    *(
                        f"{h[root][0]} / {h[root][1]:.1f}" if root in h else "-"
                        for h in heavy.values()
                    ),
                ]
                for root in names
            ],
        )
        totals = {
            label: sum(r.self_us for r in records) / 1000 for label, records in parsed.items()
        }
        print_table(
            "Total import time (sum of self times, ms)",
            ["path", "modules", "import ms"],
            [[label, len(parsed[label]), totals[label]] for label in parsed],
        )
        figures["importtime_total_ms"] = totals
        figures["heavy"] = {
            label: {root: {"modules": n, "self_ms": ms} for root, (n, ms) in h.items()}
            for label, h in heavy.items()
        }
        figures["top_imports"] = [
            {"module": r.name, "cumulative_ms": r.cumulative_us / 1000} for r in top
        ]
        return figures
