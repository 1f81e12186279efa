"""The `charter` command line as tests run it: in this process by default, or in a subprocess.

Both paths go through :func:`charter.cli.main.invoke`, the function the console script
calls, so exit codes, the one-line error on stderr and the output are the same. In-process
runs save the interpreter start and imports of a subprocess (~1.5 s a command on 2 cores,
most of the CLI tests' time). Tests that need a real process (start-up without a
database, file modes, a server) pass ``subprocess=True``; ``CHARTER_TEST_CLI=subprocess``
runs every CLI test in a subprocess, as a user's shell does.
"""

from __future__ import annotations

import json
import os
import subprocess as sp
import sys
from pathlib import Path
from typing import Any

ALWAYS_SUBPROCESS = os.environ.get("CHARTER_TEST_CLI") == "subprocess"


class Cli:
    """Runs `charter` with its own CHARTER_HOME on the test's database."""

    def __init__(self, home: Path, database_url: str, *, subprocess: bool = False) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
        self.env.update(CHARTER_HOME=str(home), CHARTER_DATABASE_URL=database_url, COLUMNS="200")
        self.subprocess = subprocess or ALWAYS_SUBPROCESS

    def __call__(
        self,
        *args: str,
        token: str | None = None,
        expect: int = 0,
        input: str | None = None,
        **env: str,
    ) -> sp.CompletedProcess[str]:
        """Run the command and assert its exit code."""
        run_env = dict(self.env, **env)
        if token:
            run_env["CHARTER_TOKEN"] = token
        if self.subprocess:
            result = sp.run(
                [sys.executable, "-m", "charter", *args],
                env=run_env,
                input=input,
                capture_output=True,
                text=True,
                timeout=60,
            )
        else:
            result = _in_process(list(args), run_env, input)
        assert result.returncode == expect, (args, result.returncode, result.stdout, result.stderr)
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        """Run with ``--format json`` and parse stdout."""
        return json.loads(self(*args, "--format", "json", **kwargs).stdout)


def _in_process(
    args: list[str], env: dict[str, str], input: str | None
) -> sp.CompletedProcess[str]:
    """One command through the console script's own function, with the process's streams
    and environment swapped for the call (as a subprocess would see them)."""
    from click.testing import CliRunner

    from charter.cli.main import invoke

    overrides: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    overrides.update({k: v for k, v in env.items() if os.environ.get(k) != v})
    runner = CliRunner()
    with runner.isolation(input=input, env=overrides) as (stdout, stderr, _):
        code = invoke(args)
        sys.stdout.flush()
        sys.stderr.flush()
    return sp.CompletedProcess(
        ["charter", *args],
        code,
        stdout.getvalue().decode("utf-8", "replace"),
        stderr.getvalue().decode("utf-8", "replace"),
    )
