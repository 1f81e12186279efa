"""The SDK imports nothing from the server side (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers import REPO

SERVER_SIDE = ("fastapi", "starlette", "sqlalchemy", "alembic", "pandas", "uvicorn", "typer")


def _modules(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_importing_the_sdk_loads_no_server_module() -> None:
    loaded = _modules("import charter.sdk\nfrom charter.sdk import Serving, CharterLogger, Router")
    assert not loaded & set(SERVER_SIDE), sorted(loaded & set(SERVER_SIDE))
    assert "httpx" in loaded  # the check can fail: it sees what was imported


def test_attesting_and_guarding_load_no_server_module(tmp_path) -> None:
    (tmp_path / "m.bin").write_bytes(b"weights")
    (tmp_path / "release.yaml").write_text(
        "components:\n  - {kind: model, name: m, path: m.bin}\n", encoding="utf-8"
    )
    code = f"""
from charter.sdk import config_digest
from charter.guard import Guard, GuardConfig
from charter.domain.guard_policy import GuardrailsPolicy
print(config_digest({str(tmp_path / "release.yaml")!r}, "s"))
guard = Guard.from_config(GuardConfig.from_mapping(GuardrailsPolicy().config_mapping("high")))
assert guard.scan("my email is a@b.co").text != "my email is a@b.co"
"""
    loaded = _modules(code)
    assert not loaded & set(SERVER_SIDE), sorted(loaded & set(SERVER_SIDE))
