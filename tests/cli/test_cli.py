"""The real `charter` CLI (in process, and in a subprocess where the process matters), on the
local database and against a real server."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.cli_runner import Cli
from tests.helpers import EXAMPLE


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path / "home", database_url)


@pytest.fixture
def release_file(tmp_path: Path) -> Path:
    """The example release with a stand-in model file (the demo trains the real one)."""
    folder = tmp_path / "release"
    folder.mkdir()
    for name in ("release.yaml", "prompt.txt"):
        (folder / name).write_bytes((EXAMPLE / name).read_bytes())
    (folder / "model.joblib").write_bytes(b"stand-in model bytes for the CLI tests\n")
    return folder / "release.yaml"


@pytest.fixture
def seeded(cli: Cli, release_file: Path):
    """An initialised Charter with a developer, an approver, a system and a release."""
    cli("init", "--admin", "root-admin")
    dev = cli.json("user", "add", "dana", "--role", "developer")["token"]
    approver = cli.json("user", "add", "avery", "--role", "approver")["token"]
    approver2 = cli.json("user", "add", "blake", "--role", "approver")["token"]
    cli("system", "register", "credit-limit", "--intake", str(EXAMPLE / "intake.yaml"), token=dev)
    release = cli.json("release", "create", "credit-limit", "-f", str(release_file), token=dev)
    return {"dev": dev, "approver": approver, "approver2": approver2, "digest": release["digest"]}


def test_help_runs_without_a_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "charter", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "CHARTER_HOME": str(tmp_path)},
    )
    assert result.returncode == 0
    for verb in ("init", "approve", "reject", "decisions", "audit", "release", "system", "serve"):
        assert verb in result.stdout


def test_init_stores_a_private_token_and_is_safe_to_rerun(cli: Cli, tmp_path: Path) -> None:
    result = cli("init")
    assert "Initialised" in result.stdout
    config = tmp_path / "home" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["token"].startswith("chtr_")
    assert "Already initialised" in cli("init").stdout
    assert cli.json("whoami") == {"name": "admin", "role": "admin"}
    # Someone else's home on the same database cannot bootstrap a second admin.
    other = Cli(tmp_path / "other", cli.env["CHARTER_DATABASE_URL"])
    assert "already initialised" in other("init", expect=2).stderr


def test_user_add_prints_name_and_token(cli: Cli) -> None:
    cli("init")
    data = cli.json("user", "add", "bob", "--role", "approver")
    assert data["name"] == "bob"
    assert data["token"].startswith("chtr_")
    users = cli.json("user", "list")
    assert {u["name"] for u in users["items"]} == {"admin", "bob"}
    assert "unknown role" in cli("user", "add", "eve", "--role", "god", expect=2).stderr
    assert "already exists" in cli("user", "add", "bob", "--role", "auditor", expect=2).stderr


def test_release_digest_is_stable_and_decisions_flow(cli: Cli, seeded, release_file: Path) -> None:
    again = cli.json(
        "release",
        "create",
        "credit-limit",
        "-f",
        str(release_file),
        token=seeded["dev"],
    )
    assert again["digest"] == seeded["digest"]
    assert again["created"] is False
    ref = f"credit-limit@{seeded['digest'][:12]}"
    refused = cli(
        "approve",
        ref,
        "--use-case",
        "u",
        "--population",
        "p",
        "--env",
        "prod",
        "--expires",
        "30d",
        token=seeded["dev"],
        expect=2,
    )
    assert refused.stderr.startswith("error: ")
    assert len(refused.stderr.strip().splitlines()) == 1
    decision = cli.json(
        "approve",
        ref,
        "--use-case",
        "limits",
        "--population",
        "UK retail",
        "--env",
        "prod",
        "--expires",
        "2099-01-01",
        "--fallback",
        "static:manual-review",
        "--condition",
        "monthly review",
        token=seeded["approver"],
    )
    assert decision["verdict"] == "approve_with_conditions"
    assert decision["actor"] == "avery"
    # The default policy tiers credit scoring as high: two approvals are the quorum.
    assert cli.json("system", "show", "credit-limit")["tier"] == "high"
    assert cli.json("release", "show", ref)["approvals"][0]["state"] == "pending"
    cli(
        "approve",
        ref,
        "--use-case",
        "limits",
        "--population",
        "UK retail",
        "--env",
        "prod",
        "--expires",
        "90d",
        token=seeded["approver2"],
    )
    shown = cli.json("release", "show", ref)
    assert shown["approvals"][0]["state"] == "approved"
    assert shown["approvals"][0]["approvers"] == ["avery", "blake"]
    assert shown["contract"]["offline"]["demographic_parity_ratio[sex]"] == ">= 0.8"
    assert cli.json("decisions", "credit-limit")["total"] == 2
    assert "demographic_parity_ratio[sex]" in cli("release", "show", ref).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("system", "show", "nope"), "no system named 'nope'"),
        (("release", "show", "credit-limit@zz"), "invalid digest"),
        (("release", "show", "credit-limit@000000000000"), "no release"),
        (("release", "create", "credit-limit", "-f", "/nonexistent.yaml"), "does not exist"),
        (("system", "list", "--format", "xml"), "unknown format"),
        (("audit", "verify", "--anchor", "nonsense"), "invalid anchor"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli: Cli, seeded, args, message) -> None:
    result = cli(*args, expect=2)
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_manifest_writes_nothing(cli: Cli, seeded, tmp_path: Path) -> None:
    before = cli.json("audit", "head")["seq"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("components:\n  - kind: prompt\n    name: p\n    text: hi\n    colour: red\n")
    result = cli("release", "create", "credit-limit", "-f", str(bad), token=seeded["dev"], expect=2)
    assert "components.0.prompt.colour: unknown field" in result.stderr
    assert cli.json("audit", "head")["seq"] == before


def test_forbidden_role_exits_2(cli: Cli, seeded) -> None:
    result = cli("user", "add", "mallory", "--role", "admin", token=seeded["dev"], expect=2)
    assert "may not user.manage" in result.stderr
    assert "not valid" in cli("system", "list", token="chtr_wrong", expect=2).stderr


def test_audit_verify_exits_1_on_tampering(cli: Cli, seeded, database_url: str) -> None:
    assert cli.json("audit", "verify")["ok"] is True
    if not database_url.startswith("sqlite"):
        pytest.skip("raw tampering on PostgreSQL is covered in tests/store/test_tamper.py")
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
    result = cli("audit", "verify", expect=1)
    assert "BROKEN at event 3" in result.stdout
    assert cli.json("audit", "verify", expect=1)["broken_seq"] == 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_remote_mode_prints_the_same_as_local(cli: Cli, seeded, release_file: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "charter", "serve", "--port", str(port)],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        ref = f"credit-limit@{seeded['digest'][:12]}"
        for args in (
            ("system", "show", "credit-limit"),
            ("release", "show", ref),
            ("system", "list"),
            ("decisions",),
        ):
            local = cli.json(*args)
            remote = cli.json(*args, CHARTER_URL=url)
            assert remote == local, args
        # Creating through the server: same digest as locally, local files resolved client-side.
        remote_release = cli.json(
            "release",
            "create",
            "credit-limit",
            "-f",
            str(release_file),
            token=seeded["dev"],
            CHARTER_URL=url,
        )
        assert remote_release["digest"] == seeded["digest"]
        approved = cli.json(
            "approve",
            ref,
            "--use-case",
            "u",
            "--population",
            "p",
            "--env",
            "prod",
            "--expires",
            "30d",
            token=seeded["approver"],
            CHARTER_URL=url,
        )
        assert approved["verdict"] == "approve"
        refused = cli(
            "approve",
            ref,
            "--use-case",
            "u",
            "--population",
            "p",
            "--env",
            "prod",
            "--expires",
            "30d",
            token=seeded["dev"],
            CHARTER_URL=url,
            expect=2,
        )
        assert "may not decision.approve" in refused.stderr
        assert "no system named" in cli("system", "show", "nope", CHARTER_URL=url, expect=2).stderr
        assert cli.json("audit", "verify", CHARTER_URL=url)["ok"] is True
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()
        if server.stderr:
            server.stderr.close()


def test_unreachable_server_is_a_clean_error(cli: Cli) -> None:
    result = cli(
        "system",
        "list",
        CHARTER_URL=f"http://127.0.0.1:{_free_port()}",
        CHARTER_TOKEN="chtr_x",
        expect=2,
    )
    assert "cannot reach Charter" in result.stderr
