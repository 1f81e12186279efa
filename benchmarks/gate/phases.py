"""Child process: one `charter gate` in a fresh interpreter, timed phase by phase.

``python -m benchmarks.gate.phases OUT.json REF ENV [--profile N]``, with CHARTER_HOME and
CHARTER_TOKEN set, does what the ``charter`` console script does:

1. imports ``charter.cli.main`` and its command modules (``load_commands``);
2. imports, up front, what the gate command imports lazily (SQLAlchemy and the models, the
   policy engine, the services), so that the phases below time work, not imports; any
   module that still loads later is listed;
3. calls the real ``charter.cli.main.run()`` with ``gate REF --env ENV --format json``.

During step 3, thin wrappers around the functions in ``PHASES`` add up wall and CPU time
and calls. They replace attributes in this process only. A target that no longer exists
(the code moved) or that is never called is reported as such, not guessed at. With
``--profile N`` the N functions with the most own time (cProfile) are added.
"""

from __future__ import annotations

import time

STARTED = (time.perf_counter(), time.process_time())

import contextlib  # noqa: E402
import functools  # noqa: E402
import importlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

#: (module, attribute path, label, depth): what is timed during the command, in table order.
#: A wrapper only sees the calls that look the name up at call time: a function captured
#: elsewhere beforehand (say, in a registry of operations) shows as "not reached".
PHASES = [
    ("charter.cli.local", "LocalBackend.__init__", "open database (engine, schema check)", 1),
    ("charter.cli.local", "LocalBackend.call", "backend call (transaction, view)", 1),
    ("charter.services.users", "authenticate", "authenticate", 2),
    ("charter.services.gates", "run_gate", "run_gate (total)", 2),
    ("charter.services.gates", "find_release", "find release", 3),
    ("charter.services.policies", "in_force", "policy in force (total)", 3),
    ("charter.domain.policy", "load_policy", "policy load (parse a stored pack)", 4),
    ("charter.services.gates", "gather_facts", "gather facts (SELECTs, JSON)", 3),
    ("charter.domain.controls", "evaluate_controls", "evaluate controls", 3),
    ("charter.services.gates", "record_run", "store the run (INSERT) + audit", 3),
    ("charter.services.audit", "record", "audit record (hash chain, INSERT)", 4),
]

#: Modules the gate command imports inside functions, grouped by what they bring in.
LAZY_GROUPS = {
    "SQLAlchemy + ORM models": [
        "charter.settings",
        "charter.cli.local",
        "charter.services.context",
        "charter.store.db",
        "charter.store.migrate",
        "charter.services.users",
    ],
    "policy engine (pydantic models)": ["charter.domain.policy", "charter.domain.controls"],
    "gate services and views": [
        "charter.services.operations",
        "charter.services.operations.governance",
        "charter.services.gates",
        "charter.services.policies",
        "charter.services.releases",
        "charter.services.audit",
        "charter.services.views",
        "charter.services.references",
        "charter.domain.gate_report",
    ],
}

TIMES: dict[str, list[float]] = {}  # label -> [wall s, CPU s, calls]


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _elapsed(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def _wrap(module: str, path: str, label: str) -> bool:
    """Time every call of ``module.path``; False when it no longer exists."""
    try:
        owner: Any = importlib.import_module(module)
        *parents, name = path.split(".")
        for part in parents:
            owner = getattr(owner, part)
        original = getattr(owner, name)
    except (ImportError, AttributeError):
        return False
    entry = TIMES.setdefault(label, [0.0, 0.0, 0])

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = _clock()
        try:
            return original(*args, **kwargs)
        finally:
            wall, cpu = _elapsed(start)
            entry[0] += wall
            entry[1] += cpu
            entry[2] += 1

    setattr(owner, name, timed)
    return True


def main() -> None:
    """Run the gate command once, timed; write the figures to the output file."""
    out, ref, environment = sys.argv[1], sys.argv[2], sys.argv[3]
    profile_top = int(sys.argv[5]) if sys.argv[4:5] == ["--profile"] else 0
    imports: dict[str, tuple[float, float]] = {}
    start = _clock()
    import charter.cli.main

    charter.cli.main.load_commands()
    imports["import: charter.cli.main + command modules (typer)"] = _elapsed(start)
    for label, modules in LAZY_GROUPS.items():
        start = _clock()
        for module in modules:
            with contextlib.suppress(ImportError):
                importlib.import_module(module)
        imports[f"import: {label}"] = _elapsed(start)
    before = set(sys.modules)
    missing = [f"{m}.{p}" for m, p, label, _ in PHASES if not _wrap(m, p, label)]

    sys.argv = ["charter", "gate", ref, "--env", environment, "--format", "json"]
    profiler = None
    if profile_top:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    stdout = io.StringIO()
    code: int | str | None = 0
    start = _clock()
    try:
        with contextlib.redirect_stdout(stdout):
            charter.cli.main.run()
    except SystemExit as exc:
        code = exc.code
    command = _elapsed(start)
    if profiler is not None:
        profiler.disable()
    report = json.loads(stdout.getvalue())
    figures: dict[str, Any] = {
        "exit_code": code,
        "counts": report["counts"],
        "imports": imports,
        "command": command,
        "wrapped": TIMES,
        "missing": missing,
        "modules_imported_during_run": sorted(set(sys.modules) - before),
        "script_total": _elapsed(STARTED),
    }
    if profiler is not None:
        import pstats

        stats: Any = pstats.Stats(profiler)
        rows = [
            (own, cumulative, calls, f"{path}:{line}({func})")
            for (path, line, func), (_, calls, own, cumulative, _) in stats.stats.items()
        ]
        figures["profile_tottime"] = sorted(rows, reverse=True)[:profile_top]
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(figures, handle)


if __name__ == "__main__":
    main()
