"""`charter policy questions`: the intake questions with help text, listed and asked."""

from __future__ import annotations

import json
import os
import subprocess
from importlib.resources import files
from pathlib import Path

import yaml
from tests.cli_runner import run_charter

from charter.domain.policy import load_policy

PACK = Path(str(files("charter.policies").joinpath("default.yaml")))


def charter(*args: str, stdin: str = "", home: Path, **env: str) -> subprocess.CompletedProcess:
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    run_env.update(CHARTER_HOME=str(home), COLUMNS="200", **env)
    return run_charter(list(args), run_env, input=stdin)


def test_the_listing_shows_every_question_with_its_help(tmp_path: Path) -> None:
    text = charter("policy", "questions", "--file", str(PACK), home=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "annex_iii (list)" in text.stdout
    assert "NOT biometric verification" in text.stdout  # the Annex III 1(a) scope limit
    assert "LIFE and HEALTH insurance only" in text.stdout
    listed = json.loads(
        charter(
            "policy", "questions", "--file", str(PACK), "--format", "json", home=tmp_path
        ).stdout
    )
    policy = load_policy(PACK.read_bytes())
    assert [q["id"] for q in listed] == [q.id for q in policy.intake.questions]
    annex = next(q for q in listed if q["id"] == "annex_iii")
    assert len(annex["options"]) == 25 and "5(c)" in annex["help"]


def test_interactive_mode_asks_checks_and_writes_an_intake_file(tmp_path: Path) -> None:
    policy = load_policy(PACK.read_bytes())
    replies = {
        "role": "3",  # provider_and_deployer, by number
        "annex_iii": "4a_recruitment_selection, 4b_work_decisions_monitoring",
        "profiling": "maybe\ny",  # a bad answer is asked again
        "interacts_with_people": "yes",
    }
    stdin = "".join(replies.get(q.id, "") + "\n" for q in policy.intake.questions)
    out = tmp_path / "intake.yaml"
    result = charter(
        "policy", "questions", "--file", str(PACK), "--interactive", "--out", str(out),
        "--format", "json", stdin=stdin, home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "answer y or n" in result.stderr
    assert "Art. 6(3), last subparagraph" in result.stderr  # help text shown while asking
    summary = json.loads(result.stdout)
    assert (summary["tier"], summary["rule"]) == ("high", "annex-iii-4a")
    assert {"provider", "deployer", "workplace-deployer", "art50-interaction"} <= set(
        summary["flags"]
    )
    assert "transparency-disclosure" in summary["controls"]
    written = yaml.safe_load(out.read_text())["answers"]
    assert written == {
        "role": "provider_and_deployer",
        "annex_iii": ["4a_recruitment_selection", "4b_work_decisions_monitoring"],
        "profiling": True,
        "interacts_with_people": True,
    }


def test_interactive_mode_refuses_an_unfinished_walk_through(tmp_path: Path) -> None:
    result = charter(
        "policy", "questions", "--file", str(PACK), "--interactive", stdin="\n\n", home=tmp_path
    )
    assert result.returncode == 2
    assert "input ended" in result.stderr
