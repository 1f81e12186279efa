"""Every attack of issue 9, performed through the API and the CLI, and shown refused.

Each test names the attack it performs; docs/security.md describes what each now does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.support import API, SYSTEM, Headers, assert_problem, manifest_body
from tests.helpers import REPO
from tests.security.support import Cli, nested_json

Auth = Callable[[str], Headers]
INTAKE = str(REPO / "examples" / "credit-limit" / "intake.yaml")


# --- inputs confined ------------------------------------------------------------------------


def _release_dir(tmp_path: Path, prompt_path: str) -> Path:
    folder = tmp_path / "release"
    folder.mkdir(exist_ok=True)
    (folder / "release.yaml").write_text(
        "components:\n"
        "  - {kind: model, name: scorer, uri: s3://m/scorer.pkl, sha256: " + "a" * 64 + "}\n"
        f"  - {{kind: prompt, name: system, path: {json.dumps(prompt_path)}}}\n"
    )
    return folder / "release.yaml"


@pytest.fixture
def seeded_cli(cli: Cli, tmp_path: Path) -> dict[str, str]:
    """An initialised local Charter with a developer and a registered system."""
    cli("init", "--admin", "root-admin")
    dev = cli.json("user", "add", "dana", "--role", "developer")["token"]
    cli("system", "register", SYSTEM, "--owner", "risk", "--intake", INTAKE, token=dev)
    return {"dev": dev}


def test_release_paths_stay_inside_the_manifest_directory(
    cli: Cli, seeded_cli: dict[str, str], tmp_path: Path
) -> None:
    dev = seeded_cli["dev"]
    for prompt_path, reason in [
        ("../../etc/passwd", "'..'"),
        ("/proc/self/environ", "absolute"),
        ("link.txt", "outside"),
        ("fifo", "not a regular file"),
    ]:
        manifest = _release_dir(tmp_path, prompt_path)
        if not (manifest.parent / "link.txt").exists():
            (manifest.parent / "link.txt").symlink_to("/etc/passwd")
            os.mkfifo(manifest.parent / "fifo")
        refused = cli("release", "create", SYSTEM, "-f", str(manifest), token=dev, expect=2)
        assert "prompt 'system'" in refused.stderr and reason in refused.stderr, refused.stderr
    # An absolute path is read only inside a root the caller names.
    shared = tmp_path / "shared-prompts"
    shared.mkdir()
    (shared / "p.txt").write_text("You are careful.")
    manifest = _release_dir(tmp_path, str(shared / "p.txt"))
    created = cli.json(
        "release", "create", SYSTEM, "-f", str(manifest), "--allow-root", str(shared), token=dev
    )
    assert created["created"] is True
    assert cli.json("release", "list", SYSTEM, token=dev)["total"] == 1


def test_the_server_never_opens_a_client_path(
    client: TestClient, auth: Auth, seed_system: Callable[..., str]
) -> None:
    seed_system()
    body = manifest_body()
    body["components"][1] = {"kind": "prompt", "name": "system", "path": "/proc/self/environ"}
    response = client.post(f"{API}/systems/{SYSTEM}/releases", json=body, headers=auth("developer"))
    assert "local file" in assert_problem(response, 422)["detail"]


def test_a_deep_release_config_is_refused_before_it_is_stored(
    client: TestClient, auth: Auth, seed_system: Callable[..., str], audit_count: Callable[[], int]
) -> None:
    seed_system()
    before = audit_count()
    text = json.dumps(manifest_body()).replace('"threshold": 0.5', '"deep": ' + nested_json(1000))
    response = client.post(
        f"{API}/systems/{SYSTEM}/releases",
        content=text,
        headers={**auth("developer"), "content-type": "application/json"},
    )
    assert "deeper than" in assert_problem(response, 422, "invalid-input")["detail"]
    assert audit_count() == before
    listed = client.get(f"{API}/systems/{SYSTEM}/releases", headers=auth("developer"))
    assert listed.status_code == 200 and listed.json()["total"] == 0


def test_a_deep_release_config_in_a_file_exits_2(
    cli: Cli, seeded_cli: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "deep"
    folder.mkdir()
    # 100 levels: under the YAML parser's own limit, over Charter's.
    text = json.dumps(manifest_body()).replace('"threshold": 0.5', '"deep": ' + nested_json(100))
    (folder / "release.yaml").write_text(text)
    result = cli(
        "release",
        "create",
        SYSTEM,
        "-f",
        str(folder / "release.yaml"),
        token=seeded_cli["dev"],
        expect=2,
    )
    assert "nested deeper than 32 levels" in result.stderr


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (
            "/systems/credit-limit/observations?env=prod",
            '{"batch_id": "b1", "records": ' + nested_json(10_000) + "}",
        ),
        (
            "/systems/credit-limit/observations?env=prod",
            '{"batch_id": "b1", "records": [{"latency_ms": Infinity}]}',
        ),
        (
            "/systems/credit-limit/labels?env=prod",
            '{"batch_id": "b1", "labels": [{"inference_id": "1", "label": NaN}]}',
        ),
        ("/systems", '{"name": "x", "owner": 12345678901234567890123}'),
    ],
)
def test_hostile_json_bodies_are_422_not_500(
    client: TestClient, auth: Auth, seed_system: Callable[..., str], path: str, text: str
) -> None:
    seed_system()
    response = client.post(
        API + path, content=text, headers={**auth("admin"), "content-type": "application/json"}
    )
    assert_problem(response, 422, "invalid-input")


def test_a_nan_in_a_reference_profile_is_422(client: TestClient, auth: Auth, release: str) -> None:
    response = client.put(
        f"{API}/systems/{SYSTEM}/releases/{release}/reference",
        content='{"profile": {"rows": NaN}}',
        headers={**auth("developer"), "content-type": "application/json"},
    )
    assert "finite" in assert_problem(response, 422)["detail"]


def test_an_offset_beyond_64_bits_is_422(client: TestClient, auth: Auth) -> None:
    for path in ("/systems", "/alerts", "/decisions", "/audit/events"):
        response = client.get(f"{API}{path}?offset={2**64}", headers=auth("admin"))
        assert_problem(response, 422)


def test_a_nul_in_an_owner_name_is_refused(client: TestClient, auth: Auth) -> None:
    response = client.post(
        f"{API}/systems", json={"name": "nul-owner", "owner": "risk\x00team"}, headers=auth("admin")
    )
    assert "NUL" in assert_problem(response, 422)["detail"]
    assert client.get(f"{API}/systems/nul-owner", headers=auth("admin")).status_code == 404


def test_cli_output_escapes_terminal_controls(cli: Cli, seeded_cli: dict[str, str]) -> None:
    hostile = "risk\x1b[2J\x1b]0;pwned\x07 \u202eexe.txt"
    cli(
        "system",
        "register",
        "escapes",
        "--owner",
        hostile,
        "--intake",
        INTAKE,
        token=seeded_cli["dev"],
    )
    shown = cli("system", "show", "escapes", token=seeded_cli["dev"]).stdout
    assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert "\\x1b[2J" in shown and "\\u202e" in shown
    raw = cli("system", "show", "escapes", "--format", "json", token=seeded_cli["dev"]).stdout
    assert "\x1b" not in raw and "\u202e" not in raw
    assert json.loads(raw)["owner"] == hostile
