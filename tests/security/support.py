"""Builders for the attack tests: a CLI runner and hostile inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


class Cli:
    """Runs `python -m charter` with its own CHARTER_HOME on the test's database."""

    def __init__(self, home: Path, database_url: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
        self.env.update(CHARTER_HOME=str(home), CHARTER_DATABASE_URL=database_url, COLUMNS="200")

    def __call__(
        self, *args: str, token: str | None = None, expect: int = 0, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run the command and assert its exit code."""
        run_env = dict(self.env, **env)
        if token:
            run_env["CHARTER_TOKEN"] = token
        result = subprocess.run(
            [sys.executable, "-m", "charter", *args],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == expect, (args, result.returncode, result.stdout, result.stderr)
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        """Run with ``--format json`` and parse stdout."""
        return json.loads(self(*args, "--format", "json", **kwargs).stdout)


def nested_json(depth: int) -> str:
    """JSON text nested ``depth`` levels deep (built as text: too deep for ``json.dumps``)."""
    return "[" * depth + "1" + "]" * depth
