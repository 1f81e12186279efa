"""CLI start-up: `charter --help` and a read command from process start to exit, and why."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CHARTER,
    PYTHON,
    bytecode_env,
    heavy_packages,
    importtime,
    init_home,
    print_table,
    print_timings,
    time_commands,
)
from benchmarks.spine.prepare import populate

#: Packages worth knowing about when they load on a CLI path.
HEAVY = (
    "sqlalchemy",
    "alembic",
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
    "yaml",
    "httpx",
    "celpy",
    "lark",
    "pluggy",
)


def run(*, runs: int, warmup: int, repeats: int, systems: int = 5) -> dict[str, Any]:
    """Time the CLI's start-up paths; print the tables; return the figures."""
    with tempfile.TemporaryDirectory(prefix="charter-bench-startup-") as tmp:
        home = init_home(Path(tmp) / "home")
        populate(home, systems=systems)
        inherited = home.env()
        env = bytecode_env(inherited, Path(tmp) / "pycache")
        flag = os.environ.get("PYTHONDONTWRITEBYTECODE", "-")
        read = [CHARTER, "system", "list", "--format", "json"]
        timings = time_commands(
            [
                ("python -c pass", [PYTHON, "-c", "pass"], env),
                (
                    'python -c "import charter.cli.main"',
                    [PYTHON, "-c", "import charter.cli.main"],
                    env,
                ),
                ("charter --help", [CHARTER, "--help"], env),
                (
                    "charter --help (TYPER_USE_RICH=0)",
                    [CHARTER, "--help"],
                    {**env, "TYPER_USE_RICH": "0"},
                ),
                (f"charter system list --format json ({systems} systems)", read, env),
                (
                    f"charter --help (PYTHONDONTWRITEBYTECODE={flag} as inherited)",
                    [CHARTER, "--help"],
                    inherited,
                ),
                (
                    f"charter system list (PYTHONDONTWRITEBYTECODE={flag} as inherited)",
                    read,
                    inherited,
                ),
            ],
            runs=runs,
            warmup=warmup,
        )
        print_timings(
            f"CLI start-up ({runs} interleaved runs after {warmup} warm-up runs; bytecode "
            "cached unless the row says otherwise)",
            timings,
        )

        profiles = {
            "import charter.cli.main": importtime(["-c", "import charter.cli.main"], env, repeats),
            "charter --help": importtime([CHARTER, "--help"], env, repeats),
            "charter system list": importtime(read, env, repeats),
        }
        top = sorted(profiles["import charter.cli.main"], key=lambda r: -r.cumulative_ms)[:15]
        print_table(
            f"Top imports of `import charter.cli.main` (-X importtime, median of {repeats})",
            ["module", "depth", "self ms", "cumulative ms"],
            [[r.name, r.depth, r.self_ms, r.cumulative_ms] for r in top],
        )
        heavy = {label: heavy_packages(records, HEAVY) for label, records in profiles.items()}
        loaded = [root for root in HEAVY if any(root in h for h in heavy.values())]
        print_table(
            "Heavy packages loaded: modules imported / summed self import ms",
            ["package", *profiles],
            [
                [
                    root,
                    *(
                        f"{h[root][0]} / {h[root][1]:.1f}" if root in h else "-"
                        for h in heavy.values()
                    ),
                ]
                for root in loaded
            ],
        )
        totals = {label: sum(r.self_ms for r in recs) for label, recs in profiles.items()}
        print_table(
            "Total import time (sum of self times)",
            ["path", "modules", "import ms"],
            [[label, len(profiles[label]), totals[label]] for label in profiles],
        )
    return {"wall_ms": timings, "importtime_total_ms": totals, "heavy": heavy}
