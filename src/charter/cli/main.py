"""The ``charter`` command line: thin commands over a backend (local database or server).

Exit codes: 0 success; 1 a check failed (e.g. the audit chain is broken); 2 bad input or a
refused operation, with a one-line reason on stderr. Heavy modules are imported inside
the commands so that ``charter --help`` starts fast. Each command group lives in its own
module, imported by :func:`run` to register its commands.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from charter.cli import render
from charter.domain.errors import CharterError

# The Typer app (charter.cli.app) is imported when a command needs it: `charter status
# --format json` runs without it (charter.cli.fast_status).

#: The modules that define commands, in the order ``charter --help`` lists them.
COMMAND_MODULES = (
    "setup",
    "inventory",
    "decisions",
    "audit",
    "governance",
    "evaluation",
    "monitoring",
    "guard",
    "demo",
    "runtime",
    "documents",
    "rollout",
    "risks",
)

#: The command-line flag that sets each request field a service error can name.
FLAGS = {
    "use_case": "--use-case",
    "population": "--population",
    "environments": "--env",
    "expires": "--expires",
    "conditions": "--condition",
    "note": "--note",
    "reason": "--reason",
    "justification": "--justification",
    "compensating": "--compensating",
    "owner": "--owner",
    "pii": "--pii",
    "canary": "--canary",
    "shadow": "--shadow",
}


def with_flag_hint(exc: CharterError) -> str:
    """The error's message, plus the flags that set the fields it names (services name
    request fields, as HTTP clients see them; the CLI user needs the flag)."""
    flags = [FLAGS[name] for name in exc.fields if name in FLAGS]
    return f"{exc} (set {', '.join(flags)})" if flags else str(exc)


#: The modules that define each top-level command or group. A command imports only its
#: own modules: Typer turns every registered command into a click command at start-up,
#: which with every module loaded is a tenth of a command's start-up. A test checks this
#: table against what the modules register.
ENTRY_MODULES: dict[str, tuple[str, ...]] = {
    "init": ("setup",),
    "serve": ("setup",),
    "whoami": ("setup",),
    "db": ("setup",),
    "user": ("inventory",),
    "system": ("inventory", "governance"),
    "release": ("inventory",),
    "approve": ("decisions",),
    "reject": ("decisions",),
    "decisions": ("decisions",),
    "audit": ("audit",),
    "policy": ("governance",),
    "exception": ("governance",),
    "gate": ("governance",),
    "deploy": ("governance",),
    "rollback": ("governance",),
    "kill": ("governance",),
    "resume": ("governance",),
    "route": ("governance",),
    "status": ("governance",),
    "evaluate": ("evaluation",),
    "evidence": ("evaluation", "documents"),
    "reference": ("monitoring",),
    "log": ("monitoring",),
    "windows": ("monitoring",),
    "worker": ("monitoring",),
    "alerts": ("monitoring", "runtime"),
    "guard": ("guard",),
    "demo": ("demo",),
    "trace": ("runtime",),
    "interventions": ("runtime",),
    "drill": ("runtime",),
    "incident": ("runtime",),
    "card": ("documents",),
    "kpis": ("documents",),
    "report": ("documents",),
    "rollout": ("rollout",),
    "risk": ("risks",),
}


def load_commands(modules: tuple[str, ...] = COMMAND_MODULES) -> Any:
    """The Typer app with ``modules`` imported (default: every command module)."""
    from charter.cli.app import app

    for module in modules:
        importlib.import_module(f"charter.cli.{module}")
    return app


def _entry(argv: list[str]) -> tuple[str, ...]:
    """The command modules the invocation needs: all of them for help or an unknown name."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return ENTRY_MODULES.get(first or "", COMMAND_MODULES)


def invoke(argv: list[str]) -> int:
    """Run one command line in this process and return its exit code: Charter's errors
    map to 2 with a one-line reason on stderr, database errors likewise.

    `charter status --format json` on a local database takes a path without the ORM
    (:mod:`charter.cli.fast_status`) when it can, with the same output.
    """
    from charter.cli import fast_status

    fast = fast_status.run(argv)
    if fast is not None:
        return fast
    app = load_commands(_entry(argv))
    from charter.cli.app import close_backends

    try:
        return _invoke(app, argv)
    finally:
        close_backends()


def _invoke(app: Any, argv: list[str]) -> int:
    try:
        app(args=argv, prog_name="charter")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        render.error(str(exc.code))
        return 1
    except CharterError as exc:
        render.error(with_flag_hint(exc))
        return 2
    except KeyboardInterrupt:
        render.error("interrupted")
        return 130
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            render.error(f"database error: {str(exc).splitlines()[0]}")
            return 2
        raise
    return 0


def run() -> None:
    """Console-script entry point: :func:`invoke` on the process's arguments."""
    import gc

    # Importing SQLAlchemy, pydantic and the ORM models allocates hundreds of thousands of
    # objects that live until exit; with the default threshold (700) the collector walks
    # them again and again (~0.1 s per command, measured in benchmarks/bench_gate.py). A
    # higher first threshold keeps collecting in long-running commands (serve, worker).
    gc.set_threshold(20_000, 10, 10)
    try:
        code = invoke(sys.argv[1:])
    finally:
        # Exit without the collector visiting every object one last time (~0.1 s).
        gc.freeze()
    sys.exit(code)
