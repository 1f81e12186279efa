"""Child process: one `charter gate` in a fresh interpreter, timed phase by phase.

Run by ``gate_cli.py`` as ``python gate_phases.py OUT.json REF ENV [--profile N]`` with
CHARTER_HOME and CHARTER_TOKEN set. It does what the ``charter`` console script does, in
this order:

1. imports ``charter.cli.main`` and the command modules (what ``run()`` imports);
2. imports, up front, the modules the gate command imports lazily (SQLAlchemy and the ORM
   models, the policy engine, the services), so that the phases below measure work, not
   imports; it records any module that still loads later;
3. calls the real ``charter.cli.main.run()`` with ``gate REF --env ENV --format json``.

During step 3, thin wrappers around a few functions (``LocalBackend.__init__``,
``users.authenticate``, ``gates.run_gate``, ``gates.find_release``,
``policies.current_version``, ``domain.policy.load_policy`` and its YAML, CEL environment
and CEL compile steps, ``gates.gather_facts``, ``controls.evaluate_control``,
``audit.record``, ``GateReportView.model_validate``) add up wall and CPU time per phase.
The wrappers replace module attributes only in this process; nothing on disk changes.
With ``--profile N`` it also writes the N most expensive functions of step 3 (cProfile,
by own time) into the output. Results go to OUT.json as seconds.
"""

from __future__ import annotations

import time

STARTED = (time.perf_counter(), time.process_time())

import contextlib  # noqa: E402
import functools  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Any  # noqa: E402

TIMES: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # wall, cpu, calls


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(label: str, start: tuple[float, float]) -> None:
    wall, cpu = _clock()
    entry = TIMES[label]
    entry[0] += wall - start[0]
    entry[1] += cpu - start[1]
    entry[2] += 1


def _wrap(owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = _clock()
        try:
            return original(*args, **kwargs)
        finally:
            _since(label, start)

    setattr(owner, name, timed)


#: Modules the gate command imports inside functions, grouped by what they bring in.
LAZY_GROUPS = {
    "SQLAlchemy + ORM models (charter.services.context, charter.store.*)": [
        "charter.settings",
        "charter.cli.local",
        "charter.services.context",
        "charter.store.db",
        "charter.store.migrate",
        "charter.services.users",
    ],
    "policy engine (charter.domain.policy: celpy, lark, pydantic models)": [
        "charter.domain.policy",
        "charter.domain.controls",
    ],
    "gate services + views (charter.services.gates, .views, .audit)": [
        "charter.services.gates",
        "charter.services.policies",
        "charter.services.releases",
        "charter.services.audit",
        "charter.services.views",
        "charter.domain.gate_report",
    ],
}


def main() -> None:
    out, ref, environment = sys.argv[1], sys.argv[2], sys.argv[3]
    profile_top = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--profile" else 0
    phases: dict[str, tuple[float, float]] = {}

    start = _clock()
    import importlib

    import charter.cli.evaluation
    import charter.cli.governance
    import charter.cli.main
    import charter.cli.monitoring

    end = _clock()
    phases["import: charter.cli.main + command modules (typer)"] = (
        end[0] - start[0],
        end[1] - start[1],
    )
    for label, modules in LAZY_GROUPS.items():
        start = _clock()
        for module in modules:
            importlib.import_module(module)
        end = _clock()
        phases[f"import: {label}"] = (end[0] - start[0], end[1] - start[1])
    before = set(sys.modules)

    from charter.cli import local
    from charter.domain import controls, policy
    from charter.services import audit, gates, policies, users, views

    _wrap(local.LocalBackend, "__init__", "open database (engine, ensure_current)")
    _wrap(users, "authenticate", "connect + BEGIN IMMEDIATE + authenticate")
    _wrap(gates, "run_gate", "run_gate (total)")
    _wrap(gates, "find_release", "find release")
    _wrap(policies, "current_version", "policy version (SELECT)")
    _wrap(policy, "load_policy", "policy load (total)")
    _wrap(policy, "load_yaml_document", "policy load: YAML parse")
    _wrap(policy, "_cel_environment", "policy load: CEL environment (lark grammar)")
    _wrap(policy, "_cel_compile", "policy load: CEL compile incl. environment")
    _wrap(gates, "gather_facts", "gather facts (3 SELECTs, JSON)")
    _wrap(controls, "evaluate_control", "evaluate controls")
    _wrap(audit, "record", "audit record (hash chain, INSERT)")
    _wrap(local.LocalBackend, "gate", "backend.gate (total)")

    class _View:
        original = views.GateReportView

        @staticmethod
        def model_validate(data: Any) -> Any:
            start = _clock()
            try:
                return _View.original.model_validate(data)
            finally:
                _since("report view (pydantic)", start)

    views.GateReportView = _View  # type: ignore[misc,assignment]

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
    end = _clock()
    if profiler is not None:
        profiler.disable()
    phases["run(): the gate command"] = (end[0] - start[0], end[1] - start[1])
    report = json.loads(stdout.getvalue())
    late = sorted(set(sys.modules) - before)
    figures: dict[str, Any] = {
        "exit_code": code,
        "passed": report["passed"],
        "controls": len(report["results"]),
        "counts": report["counts"],
        "phases": phases,
        "wrapped": {k: v for k, v in TIMES.items()},
        "modules_total": len(sys.modules),
        "modules_imported_during_run": late,
        "script_total": (time.perf_counter() - STARTED[0], time.process_time() - STARTED[1]),
    }
    if profiler is not None:
        import pstats

        stats = pstats.Stats(profiler)
        rows = []
        for (path, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            rows.append((tottime, cumtime, calls, f"{path}:{line}({func})"))
        rows.sort(reverse=True)
        figures["profile_tottime"] = rows[:profile_top]
        rows.sort(key=lambda r: -r[1])
        figures["profile_cumtime"] = rows[: profile_top * 3]
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(figures, handle)


if __name__ == "__main__":
    main()
