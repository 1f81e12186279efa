"""What every benchmark repeats: arguments, timed processes, statistics, tables, homes.

Only the standard library is imported at module level, so that any interpreter can import
this module (the drift benchmark runs its peer tools under another venv's Python).
Charter itself is imported inside the functions that need it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The interpreter running the benchmark; the ``charter`` script sits beside it in a venv.
PYTHON = sys.executable
CHARTER = str(Path(PYTHON).with_name("charter"))
#: Real public data sets, when the project's shared folder is beside the checkout.
DATASETS = ROOT.parent / "shared" / "datasets"

#: Environment variables that would point a CLI call away from the prepared home.
_CHARTER_VARS = ("CHARTER_HOME", "CHARTER_DATABASE_URL", "CHARTER_URL", "CHARTER_TOKEN")
_LIBRARIES = ("sqlalchemy", "fastapi", "pydantic", "typer", "uvicorn", "numpy", "pandas")


# --- entry points -------------------------------------------------------------------------


def main(
    doc: str,
    configure: Callable[[argparse.ArgumentParser], None],
    body: Callable[[argparse.Namespace], dict[str, Any]],
    *,
    quick: dict[str, Any],
    check: Callable[[argparse.Namespace], str | None] | None = None,
    argv: Sequence[str] | None = None,
) -> None:
    """The shared ``run.py`` flow: parse, print the machine, run ``body``, save figures.

    Every benchmark takes ``--quick`` (the defaults in ``quick`` replace the full ones;
    options given on the command line still win) and ``--json PATH`` (all figures).
    ``check`` returns a reason to refuse arguments that are valid one by one but not
    together (exit 2, before anything runs).
    """
    parser = argparse.ArgumentParser(
        description=doc.strip().splitlines()[0],
        epilog="--quick runs small sizes to check that the benchmark works; its figures "
        "are not the recorded ones.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    configure(parser)
    given = list(sys.argv[1:] if argv is None else argv)
    if parser.parse_known_args(given)[0].quick:
        parser.set_defaults(**quick)
    args = parser.parse_args(given)
    reason = check(args) if check else None
    if reason:
        parser.error(reason)
    machine = machine_info()
    print_table("Machine", ["key", "value"], list(machine.items()))
    started = time.perf_counter()
    figures = {"machine": machine, "quick": args.quick, **body(args)}
    figures["total_s"] = time.perf_counter() - started
    print(f"\nTotal benchmark time: {figures['total_s']:.0f} s", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")


def bounded(kind: type, low: float, high: float) -> Callable[[str], Any]:
    """An argparse ``type`` that accepts ``kind`` values in ``[low, high]`` only."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {text!r}") from None
        if not low <= value <= high:  # also refuses NaN
            raise argparse.ArgumentTypeError(f"{text} is outside [{low:,}, {high:,}]")
        return value

    parse.__name__ = kind.__name__
    return parse


def parts(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse ``type`` for ``--only a,b``: a list of known part names."""

    def parse(text: str) -> list[str]:
        chosen = [p.strip() for p in text.split(",") if p.strip()]
        unknown = sorted(set(chosen) - set(choices))
        if unknown or not chosen:
            named = ", ".join(unknown) or "(none)"
            raise argparse.ArgumentTypeError(
                f"unknown part(s) {named}: choose from {', '.join(choices)}"
            )
        return chosen

    return parse


# --- statistics and tables ----------------------------------------------------------------


def expect(condition: object, what: str) -> None:
    """Stop the benchmark when a sanity check fails: a figure of a broken run is no figure."""
    if not condition:
        raise RuntimeError(f"benchmark check failed: {what}")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p90, p99, min and max of ``values``."""
    return {
        "median": statistics.median(values),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
    }


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Print (and return) a Markdown table, so that the output pastes into the docs."""
    cells = [[str(c) for c in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    text = "\n".join(
        [f"\n### {title}\n", line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(row) for row in cells[1:]]
    )
    print(text, flush=True)
    return text


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN: not measured
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def machine_info() -> dict[str, str]:
    """What the figures were measured on, and when."""
    cpu = "unknown"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    head = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    info = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "repository HEAD": head[:72] or "-",
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load average (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    for dist in _LIBRARIES:
        try:
            info[dist] = version(dist)
        except PackageNotFoundError:
            info[dist] = "-"
    return info


# --- processes ----------------------------------------------------------------------------


@dataclass
class Process:
    """One finished child process: its times, peak memory and output."""

    returncode: int
    wall_s: float
    cpu_s: float  # user + system, from wait4: robust to other load on the machine
    maxrss_mb: float
    stdout: str
    stderr: str


def run_process(
    argv: Sequence[str],
    env: dict[str, str] | None = None,
    *,
    ok: Sequence[int] = (0,),
    timeout: float = 900,
    cwd: Path | None = None,
) -> Process:
    """Run ``argv`` to its end; raise with its stderr if the exit code is not in ``ok``.

    Output goes to temporary files (no pipe can fill up and block the child), and the
    child is reaped with ``os.wait4`` to read its own CPU time and peak resident set.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = Process(
            returncode=proc.returncode,
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            maxrss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )
    if result.returncode not in ok:
        what = " ".join(argv[:6])
        if result.returncode == -9 and wall >= timeout:
            raise RuntimeError(f"{what} timed out after {timeout:.0f} s")
        raise RuntimeError(f"{what} exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def charter_env(home: Path, **extra: str) -> dict[str, str]:
    """A copy of the environment that points the CLI at ``home`` and nothing else."""
    env = {k: v for k, v in os.environ.items() if k not in _CHARTER_VARS}
    env["CHARTER_HOME"] = str(home)
    env.update(extra)
    return env


def run_charter(args: Sequence[str], env: dict[str, str], **kwargs: Any) -> Process:
    """Run the real ``charter`` console script (see ``run_process``)."""
    return run_process([CHARTER, *args], env, **kwargs)


def bytecode_env(env: dict[str, str], cache_dir: Path) -> dict[str, str]:
    """``env`` with Python's bytecode cache on, written under ``cache_dir`` (not in src/).

    This is how an installed Charter starts (pip compiles the bytecode); a sandbox with
    ``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile ``src/`` on every run.
    """
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    return env


Case = tuple[str, Sequence[str], dict[str, str]]


def time_commands(
    cases: Sequence[Case], *, runs: int, warmup: int, ok: Sequence[int] = (0,)
) -> dict[str, dict[str, float]]:
    """Wall and CPU milliseconds of each ``(label, argv, env)`` case, whole process.

    The runs interleave the cases round-robin, so that load from other processes on the
    machine falls on every case alike. Returns ``summary`` statistics of the wall times
    plus ``cpu_median`` per label.
    """
    for _label, argv, env in cases:
        for _ in range(warmup):
            run_process(argv, env, ok=ok)
    walls: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    cpus: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    for _ in range(runs):
        for label, argv, env in cases:
            done = run_process(argv, env, ok=ok)
            walls[label].append(done.wall_s * 1000)
            cpus[label].append(done.cpu_s * 1000)
    return {
        label: {**summary(walls[label]), "cpu_median": statistics.median(cpus[label])}
        for label in walls
    }


def print_timings(title: str, timings: dict[str, dict[str, float]]) -> None:
    """The table of ``time_commands``' result."""
    print_table(
        title,
        ["command", "median ms", "p90 ms", "min ms", "max ms", "CPU median ms"],
        [
            [label, t["median"], t["p90"], t["min"], t["max"], t["cpu_median"]]
            for label, t in timings.items()
        ],
    )


# --- import time ----------------------------------------------------------------------------

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


@dataclass
class Imported:
    """One line of ``python -X importtime``: self and cumulative ms, nesting depth."""

    name: str
    self_ms: float
    cumulative_ms: float
    depth: int


def importtime(argv: Sequence[str], env: dict[str, str], repeats: int) -> list[Imported]:
    """Run ``python -X importtime ARGV`` ``repeats`` times; the median times per module."""
    runs = []
    for _ in range(repeats):
        done = run_process([PYTHON, "-X", "importtime", *argv], env, ok=(0, 1))
        runs.append(
            [
                Imported(name, int(own) / 1000, int(cum) / 1000, len(indent) // 2)
                for own, cum, indent, name in (
                    m.groups() for m in map(_IMPORTTIME.match, done.stderr.splitlines()) if m
                )
            ]
        )
    merged = []
    for i, first in enumerate(runs[0]):
        same = [r[i] for r in runs if i < len(r) and r[i].name == first.name]
        merged.append(
            Imported(
                first.name,
                statistics.median(r.self_ms for r in same),
                statistics.median(r.cumulative_ms for r in same),
                first.depth,
            )
        )
    return merged


def heavy_packages(records: Sequence[Imported], roots: Sequence[str]) -> dict[str, list[float]]:
    """Per root package among ``roots`` that loaded: [modules imported, summed self ms]."""
    found: dict[str, list[float]] = {}
    for rec in records:
        root = rec.name.split(".", 1)[0]
        if root in roots:
            entry = found.setdefault(root, [0, 0.0])
            entry[0] += 1
            entry[1] += rec.self_ms
    return {root: found[root] for root in roots if root in found}


# --- Charter homes --------------------------------------------------------------------------


@dataclass
class Home:
    """A temporary ``CHARTER_HOME`` made by a real ``charter init``."""

    path: Path
    token: str  # the first admin's
    url: str

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a CLI call on this home (``charter_env``)."""
        return charter_env(self.path, CHARTER_DATABASE_URL=self.url, **extra)

    def charter(self) -> Any:
        """The service layer on this home's database, in this process."""
        from charter.services.context import Charter
        from charter.store.db import Database

        return Charter(Database(self.url))


def init_home(path: Path, database_url: str | None = None) -> Home:
    """``charter init`` (applies the default policy pack) in ``path``; the new home."""
    path.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{path / 'charter.db'}"
    run_charter(["init"], charter_env(path, CHARTER_DATABASE_URL=url))
    token: str = json.loads((path / "config.json").read_text())["token"]
    return Home(path, token, url)


@contextmanager
def temporary_home(name: str) -> Iterator[Home]:
    """A fresh home in a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"charter-bench-{name}-") as tmp:
        yield init_home(Path(tmp) / "home")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- peer tools -----------------------------------------------------------------------------


def missing_peer(module: str, python: str = PYTHON, hint: str = "") -> str | None:
    """None when ``module`` imports under ``python``, else a "skipped: ..." line to print.

    The import is tried in a child process (``python`` may be another venv's), which also
    catches a package that is installed but does not import.
    """
    suffix = f" ({hint})" if hint else ""
    if not Path(python).exists():
        return f"skipped: {module} not installed (no interpreter at {python}){suffix}"
    probe = subprocess.run(
        [python, "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    if probe.returncode == 0:
        return None
    reason = (probe.stderr.strip().splitlines() or ["import failed"])[-1][:160]
    where = "" if python == PYTHON else f" under {python}"
    return f"skipped: {module} not installed{where}: {reason}{suffix}"
