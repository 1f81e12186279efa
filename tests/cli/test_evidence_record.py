"""`charter evidence record`: evidence that something was done, backed by a document digest."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from tests.cli_runner import run_charter
from tests.helpers import REPO

RELEASE = """
label: v1
components:
  - {kind: model, name: scorer, uri: "s3://m/scorer.pkl", sha256: "%s"}
contract: {offline: {roc_auc: ">= 0.7"}}
""" % ("a" * 64)


def run(home: Path, db: str, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env.update(CHARTER_HOME=str(home), CHARTER_DATABASE_URL=db, COLUMNS="200")
    if token:
        env["CHARTER_TOKEN"] = token
    return run_charter(list(args), env)


def test_a_record_is_stored_as_evidence_and_satisfies_the_control(
    tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "home"
    assert run(home, database_url, "init", "--admin", "root").returncode == 0
    made = run(home, database_url, "user", "add", "dana", "--role", "developer", "--format", "json")
    dev = json.loads(made.stdout)["token"]
    intake = REPO / "examples" / "credit-limit" / "intake.yaml"
    registered = run(home, database_url, "system", "register", "credit-limit", "--intake",
                     str(intake), token=dev)  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    (tmp_path / "release.yaml").write_text(RELEASE)
    created = run(home, database_url, "release", "create", "credit-limit", "-f",
                  str(tmp_path / "release.yaml"), "--format", "json", token=dev)  # fmt: skip
    ref = "credit-limit@" + json.loads(created.stdout)["digest"]
    report = tmp_path / "fria.pdf"
    report.write_bytes(b"fundamental-rights impact assessment, signed 2026-11-30")
    recorded = run(home, database_url, "evidence", "record", ref, "--suite", "fria",
                   "--document", str(report), "--note", "DPO and legal", "--format", "json",
                   token=dev)  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    stored = json.loads(recorded.stdout)
    assert stored["suite"] == "fria"
    shown = run(home, database_url, "evidence", "show", str(stored["id"]), "--format", "json",
                token=dev)  # fmt: skip
    assert hashlib.sha256(report.read_bytes()).hexdigest() in shown.stdout
    gate = run(home, database_url, "gate", ref, "--env", "prod", "--format", "json", token=dev)
    results = {r["control_id"]: r["status"] for r in json.loads(gate.stdout)["results"]}
    assert results["fundamental-rights-impact-assessment"] == "pass"
    assert results["conformity-assessment"] == "fail"  # not recorded
    missing = run(home, database_url, "evidence", "record", ref, "--suite", "fria", "--document",
                  str(tmp_path / "absent.pdf"), token=dev)  # fmt: skip
    assert missing.returncode == 2
