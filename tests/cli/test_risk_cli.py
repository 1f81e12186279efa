"""`charter risk ...` in a subprocess: add, a refusal with exit 2, review, list, assessment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(env: dict[str, str], token: str, *args: str, expect: int = 0) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "charter", *args],
        env={**env, "CHARTER_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == expect, (args, result.returncode, result.stdout, result.stderr)
    return result.stdout if expect == 0 else result.stderr


def test_the_register_from_the_command_line(act, tokens, database_url, tmp_path) -> None:
    from tests.services.support import CREDIT

    from charter.domain.systems import IntakeFile
    from charter.services import policies, systems

    with act("admin") as ctx:
        policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
    with act("developer") as ctx:
        system = systems.register_system(
            ctx, "credit-limit", owner="Retail Credit Risk", intake=IntakeFile(answers=CREDIT)
        ).name
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env.update(CHARTER_HOME=str(tmp_path / "home"), CHARTER_DATABASE_URL=database_url)
    env["COLUMNS"] = "200"
    flags = ["--title", "Thin-file applicants declined", "--category", "fairness"]
    flags += ["--likelihood", "3", "--impact", "4", "--owner", "risk-engineer"]
    flags += ["--control", "eval-fairness", "--signal", "fairness", "--nist", "MEASURE 2.11"]
    refused = run(
        env, tokens["developer"], "risk", "add", system, *flags, "--signal", "vibes", expect=2
    )
    assert "unknown signal 'vibes'" in refused
    added = json.loads(
        run(env, tokens["developer"], "risk", "add", system, *flags, "--format", "json")
    )
    assert added["inherent_rating"] == "high" and added["id"] == 1
    run(env, tokens["risk_engineer"], "risk", "review", system, "1", "--note", "cohorts checked")
    assert "Risks of credit-limit" in run(env, tokens["auditor"], "risk", "list", system)
    listing = json.loads(run(env, tokens["auditor"], "risk", "list", system, "--format", "json"))
    (item,) = listing["items"]
    assert item["reviewed_by"] == "risk-engineer"
    assert item["gaps"] == ["residual rating high has not been accepted"]
    out = Path(tmp_path / "assessment.html")
    run(env, tokens["auditor"], "risk", "assessment", system, "--format", "html", "--out", str(out))
    assert "Model risk assessment: credit-limit" in out.read_text()
