"""Shared helpers for the spine benchmarks: paths, statistics, tables, prepared homes."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The interpreter running the benchmark; the ``charter`` script sits beside it in a venv.
PYTHON = sys.executable
CHARTER = str(Path(PYTHON).with_name("charter"))

#: Environment variables that would redirect a CLI call away from the prepared home.
_CHARTER_VARS = ("CHARTER_HOME", "CHARTER_DATABASE_URL", "CHARTER_URL", "CHARTER_TOKEN")


def charter_env(home: Path, **extra: str) -> dict[str, str]:
    """A copy of the environment that points the CLI at ``home`` and nothing else."""
    env = {k: v for k, v in os.environ.items() if k not in _CHARTER_VARS}
    env["CHARTER_HOME"] = str(home)
    env.update(extra)
    return env


def run_charter(args: Sequence[str], env: dict[str, str], timeout: float = 300) -> str:
    """Run the ``charter`` console script, fail loudly on a non-zero exit, return stdout."""
    proc = subprocess.run(
        [CHARTER, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"charter {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc.stdout


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Print (and return) a Markdown table, so that the output pastes into the docs."""
    cells = [[str(c) for c in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [f"\n### {title}\n"]
    lines.append(
        "| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |"
    )
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def machine_info() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in ("sqlalchemy", "fastapi", "pydantic", "typer", "uvicorn", "alembic", "psycopg"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:
            versions[dist] = "-"
    import charter

    head = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "charter imported from": str(Path(charter.__file__).parent),
        "repository HEAD": head[:72] or "-",
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load average (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", "-"),
        **versions,
    }


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def init_home(home: Path, database_url: str | None = None) -> str:
    """``charter init`` a fresh home (as a real CLI call); return the admin token."""
    home.mkdir(parents=True, exist_ok=True)
    extra = {"CHARTER_DATABASE_URL": database_url} if database_url else {}
    run_charter(["init"], charter_env(home, **extra))
    token: str = json.loads((home / "config.json").read_text())["token"]
    return token


def populate(home: Path, admin_token: str, *, systems: int, database_url: str | None = None) -> Any:
    """Add a developer, an approver, ``systems`` systems and one release of the first.

    Runs the service layer in-process (the same code the CLI and the API call) because a
    CLI call per object would make preparation slower than the measurement.
    Returns a namespace with the tokens, the system names and the release digest.
    """
    from types import SimpleNamespace

    from charter.domain.releases import ReleaseManifest
    from charter.domain.systems import IntakeFile
    from charter.services import releases, users
    from charter.services import systems as system_svc
    from charter.services.context import Charter
    from charter.store.db import Database

    url = database_url or f"sqlite:///{home / 'charter.db'}"
    charter = Charter(Database(url))
    names = [f"system-{i:03d}" for i in range(systems)]
    with charter.act(admin_token, write=True) as ctx:
        _, dev_token = users.create_user(ctx, "dev", "developer")
        _, approver_token = users.create_user(ctx, "approver", "approver")
        # A policy pack may require intake answers: a low-risk domain keeps the system's
        # tier (and so what an approval needs) simple.
        intake = IntakeFile(answers={"domain": "internal_operations"})
        for i, name in enumerate(names):
            system_svc.register_system(
                ctx,
                name,
                owner=f"team-{i % 3}",
                purpose=f"Benchmark system {i}: routes internal tickets.",
                population="employees",
                surfaces=["web", "batch"],
                intake=intake,
            )
    manifest = ReleaseManifest.model_validate(
        {
            "label": "v1",
            "components": [
                {
                    "kind": "model",
                    "name": "scorer",
                    "uri": "s3://models/scorer.pkl",
                    "sha256": "a" * 64,
                },
                {"kind": "prompt", "name": "system", "text": "You are a careful assistant."},
            ],
            "config": {"threshold": 0.5},
            "contract": {"offline": {"roc_auc": ">= 0.75"}},
        }
    )
    with charter.act(dev_token, write=True) as ctx:
        release, _ = releases.create_release(ctx, names[0], manifest, base_dir=None)
        digest = release.digest
    charter.db.dispose()
    return SimpleNamespace(
        admin_token=admin_token,
        dev_token=dev_token,
        approver_token=approver_token,
        systems=names,
        digest=digest,
    )


def pooled_sqlite_database(url: str) -> Any:
    """What-if: a ``Database`` whose SQLite engine keeps connections in a pool.

    Charter opens SQLite with ``NullPool``: every transaction opens a connection, runs the
    connect-time PRAGMAs, and closes it again (the last close also checkpoints the WAL).
    This builds the same ``Database`` and swaps in SQLAlchemy's default pool for file
    databases, with the same connect and begin hooks. Benchmark-only: it reaches into
    private names of ``charter.store.db`` and returns None if they have changed.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from charter.store import db as store_db

    database = store_db.Database(url)
    hooks = getattr(store_db, "_install_sqlite_hooks", None)
    option = getattr(store_db, "_WRITE_OPTION", None)
    if not database.is_sqlite or hooks is None or option is None:
        return None
    database.dispose()
    engine = create_engine(database.url)  # QueuePool for a file database
    hooks(engine)
    database.engine = engine
    database._read_sessions = sessionmaker(bind=engine, expire_on_commit=False)
    database._write_sessions = sessionmaker(
        bind=engine.execution_options(**{option: True}), expire_on_commit=False
    )
    return database


def bytecode_env(env: dict[str, str], cache_dir: Path) -> dict[str, str]:
    """``env`` with Python's bytecode cache on, written under ``cache_dir`` (not in src/)."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    return env
