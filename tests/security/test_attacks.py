"""Every attack of issue 9, performed through the API and the CLI, and shown refused.

Each test names the attack it performs; docs/security.md describes what each now does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.support import API, APPROVAL, SYSTEM, Headers, assert_problem, manifest_body
from tests.cli_runner import Cli
from tests.helpers import REPO
from tests.security.support import nested_json
from tests.services.support import approve_twice, make_release, satisfy_evidence, set_reference

from charter.services import policies

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


# --- separation of duties with no side door ---------------------------------------------------

MINIMAL = {"domain": "other"}


def _ref_path(ref: str, suffix: str = "") -> str:
    name, digest = ref.split("@")
    return f"{API}/systems/{name}/releases/{digest[:12]}{suffix}"


def _approval_state(client: TestClient, auth: Auth, ref: str, env: str = "prod") -> dict[str, Any]:
    shown = client.get(_ref_path(ref), headers=auth("risk_engineer")).json()
    return next(a for a in shown["approvals"] if a["environment"] == env)


def test_a_developer_cannot_answer_a_system_down_a_tier(
    client: TestClient, auth: Auth, system: str, act: Any
) -> None:
    ref = make_release(act)
    approve_twice(act, ref)
    assert _approval_state(client, auth, ref)["state"] == "approved"
    # The developer's intake change is only a proposal: the tier does not move.
    proposed = client.put(
        f"{API}/systems/{system}/intake", json={"answers": MINIMAL}, headers=auth("developer")
    )
    assert proposed.status_code == 200, proposed.text
    assert proposed.json()["tier"] == "high"
    assert proposed.json()["intake_proposal"]["tier"] == "minimal"
    refused = client.post(f"{API}/systems/{system}/intake/accept", headers=auth("developer"))
    assert "intake_roles" in assert_problem(refused, 403)["detail"]
    # A risk engineer accepts it; the approvals granted under the high tier no longer count.
    accepted = client.post(f"{API}/systems/{system}/intake/accept", headers=auth("risk_engineer"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["tier"] == "minimal"
    state = _approval_state(client, auth, ref)
    assert state["state"] != "approved"
    assert state["approvals"] == 0


def test_a_developer_cannot_lift_a_suspension_and_a_suspended_system_serves_its_fallback(
    client: TestClient, auth: Auth, system: str, act: Any, charter: Any
) -> None:
    ref = make_release(act)
    satisfy_evidence(charter, ref)
    approve_twice(act, ref)
    deployed = client.post(
        _ref_path(ref, "/deploy"), json={"environment": "prod"}, headers=auth("developer")
    )
    assert deployed.status_code == 200, deployed.text
    live = {"status": "active", "reason": "go-live"}
    assert client.post(
        f"{API}/systems/{system}/status", json=live, headers=auth("developer")
    ).is_success
    suspend = {"status": "suspended", "reason": "incident 7"}
    refused = client.post(f"{API}/systems/{system}/status", json=suspend, headers=auth("developer"))
    assert "status_roles" in assert_problem(refused, 403)["detail"]
    done = client.post(
        f"{API}/systems/{system}/status", json=suspend, headers=auth("risk_engineer")
    )
    assert done.status_code == 200, done.text
    lift = {"status": "active", "reason": "looks fine to me"}
    refused = client.post(f"{API}/systems/{system}/status", json=lift, headers=auth("developer"))
    assert_problem(refused, 403)
    route = client.get(f"{API}/systems/{system}/route?env=prod", headers=auth("service")).json()
    assert route["serve"] == route["fallback"] and route["serve"]["kind"] != "release"
    assert "suspended" in route["why"]
    gate = client.post(_ref_path(ref, "/gate?env=prod"), headers=auth("developer")).json()
    assert gate["passed"] is False
    assert gate["results"][0]["control_id"] == "system-in-service"


def test_unknown_environment_names_are_refused_with_a_suggestion(
    client: TestClient, auth: Auth, system: str, act: Any
) -> None:
    ref = make_release(act)
    for method, path, body, role in [
        ("POST", _ref_path(ref, "/gate?env=prdo"), None, "developer"),
        ("POST", _ref_path(ref, "/deploy"), {"environment": "prdo"}, "developer"),
        ("POST", _ref_path(ref, "/decisions"), {**APPROVAL, "environments": ["prdo"]}, "approver"),
        ("GET", f"{API}/systems/{system}/route?env=prdo", None, "service"),
        (
            "POST",
            f"{API}/systems/{system}/observations?env=prdo",
            {"batch_id": "b", "records": [{"x": 1}]},
            "service",
        ),
    ]:
        response = client.request(method, path, json=body, headers=auth(role))
        assert "did you mean 'prod'" in assert_problem(response, 422)["detail"], path


def test_a_pack_cannot_give_approval_power_to_developers_services_or_auditors(
    client: TestClient, auth: Auth, policy: Any
) -> None:
    source = policies.default_pack().decode()
    for role in ("developer", "service", "auditor"):
        bad = source.replace(
            "params: {quorum: 2, roles: [approver]}", f"params: {{quorum: 2, roles: [{role}]}}"
        )
        response = client.post(f"{API}/policies", json={"source": bad}, headers=auth("admin"))
        assert "approval power" in assert_problem(response, 422)["detail"]
        bad = source.replace("environments: [prod]", "environments: [prdo]", 1)
        response = client.post(f"{API}/policies", json={"source": bad}, headers=auth("admin"))
        assert "unknown environment 'prdo'" in assert_problem(response, 422)["detail"]


def test_an_approver_account_provisioned_by_the_author_does_not_count(
    client: TestClient, auth: Auth, system: str
) -> None:
    created = client.post(
        f"{API}/systems/{system}/releases", json=manifest_body("sock"), headers=auth("admin")
    )
    ref = f"{system}@{created.json()['digest']}"
    sock = client.post(
        f"{API}/users", json={"name": "sock", "role": "approver"}, headers=auth("admin")
    )
    rotated = client.post(f"{API}/users/approver-2/token", headers=auth("admin"))
    for token in (sock.json()["token"], rotated.json()["token"]):
        decided = client.post(
            _ref_path(ref, "/decisions"),
            json=APPROVAL,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert decided.status_code == 201, decided.text
    state = _approval_state(client, auth, ref)
    assert state["state"] == "pending" and state["approvals"] == 0
    gate = client.post(_ref_path(ref, "/gate?env=prod"), headers=auth("admin")).json()
    quorum = next(r for r in gate["results"] if r["control_id"] == "approval-quorum-high")
    assert "role was granted by admin" in quorum["reason"]
    assert "token was last rotated by admin" in quorum["reason"]
    events = client.get(
        f"{API}/audit/events?action=decision.approve", headers=auth("auditor")
    ).json()["items"]
    assert events[0]["payload"]["approver_provenance"]["token_rotated_by"] == "admin"


def test_the_author_cannot_approve_an_exception_to_their_release(
    client: TestClient, auth: Auth, system: str
) -> None:
    created = client.post(
        f"{API}/systems/{system}/releases", json=manifest_body("own"), headers=auth("risk_engineer")
    )
    ref = f"{system}@{created.json()['digest']}"
    requested = client.post(
        _ref_path(ref, "/exceptions"),
        json={
            "control_id": "fallback-tested",
            "justification": "drill next week",
            "compensating": "manual review",
            "expires": "14d",
        },
        headers=auth("developer"),
    )
    assert requested.status_code == 201, requested.text
    decided = client.post(
        f"{API}/exceptions/{requested.json()['id']}/approve", json={}, headers=auth("risk_engineer")
    )
    assert "created this release" in assert_problem(decided, 403)["detail"]


def test_the_service_role_reads_nothing_but_its_route(
    client: TestClient, auth: Auth, release: str
) -> None:
    for path in (
        "/systems",
        f"/systems/{SYSTEM}",
        f"/systems/{SYSTEM}/releases",
        f"/systems/{SYSTEM}/releases/{release[:12]}",
        "/decisions",
        "/evidence",
        "/alerts/channels",
    ):
        assert_problem(client.get(API + path, headers=auth("service")), 403)


# --- evidence that is produced, not asserted --------------------------------------------------


def test_hand_made_drill_evidence_does_not_pass_a_high_tier_gate(
    client: TestClient, auth: Auth, system: str, act: Any, charter: Any
) -> None:
    ref = make_release(act)
    satisfy_evidence(charter, ref, skip=("fallback-drill",))
    approve_twice(act, ref)
    hand_made = {
        "schema": "charter.evaluation.result/1",
        "suite": {"name": "fallback-drill", "version": "1"},
        "dataset": {"sha256": "d" * 64},
        "metrics": {"overall": {"passed": {"value": 1}}, "cohorts": []},
    }
    posted = client.post(_ref_path(ref, "/evidence"), json=hand_made, headers=auth("developer"))
    # Refused outright: only `charter drill` produces fallback-drill evidence.
    assert posted.status_code == 403, posted.text
    assert "charter drill" in posted.json()["detail"]
    gate = client.post(_ref_path(ref, "/gate?env=prod"), headers=auth("developer")).json()
    assert gate["passed"] is False
    failing = {r["control_id"]: r for r in gate["results"] if r["status"] == "fail"}
    assert "fallback-tested" in failing


def test_evidence_reproduce_confirms_on_the_same_data_and_refuses_other_data(
    cli: Cli, seeded_cli: dict[str, str], tmp_path: Path
) -> None:
    import numpy as np

    dev = seeded_cli["dev"]
    manifest = tmp_path / "release.yaml"
    manifest.write_text(json.dumps(manifest_body("repro")))
    digest = cli.json("release", "create", SYSTEM, "-f", str(manifest), token=dev)["digest"]
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 400)
    score = np.clip(y * 0.6 + rng.normal(0.2, 0.25, 400), 0, 1)
    data = tmp_path / "holdout.csv"
    data.write_text("y,p\n" + "".join(f"{a},{b:.6f}\n" for a, b in zip(y, score, strict=True)))
    ref = f"{SYSTEM}@{digest}"
    stored = cli.json(
        "evaluate",
        ref,
        "--suite",
        "classification",
        "--data",
        str(data),
        "--target",
        "y",
        "--score",
        "p",
        "--bootstrap",
        "0",
        token=dev,
    )
    assert stored["provenance"]["source"] == "charter-runner"
    evidence_id = str(stored["id"])
    rae = cli.json("user", "add", "rae", "--role", "risk_engineer")["token"]
    other = tmp_path / "other.csv"
    other.write_text(data.read_text().replace("\n1,", "\n0,", 3))
    refused = cli("evidence", "reproduce", evidence_id, "--data", str(other), token=rae, expect=2)
    assert "SHA-256" in refused.stderr
    outcome = cli.json("evidence", "reproduce", evidence_id, "--data", str(data), token=rae)
    assert outcome["confirmed"] is True and outcome["independent"] is True
    assert outcome["reproduced_by"] == "rae"


def test_non_finite_latencies_and_foreign_labels_are_refused_naming_the_row(
    client: TestClient, auth: Auth, system: str, act: Any, charter: Any
) -> None:
    ref = make_release(act)
    set_reference(charter, ref)
    digest = ref.split("@")[1]
    url = f"{API}/systems/{system}/observations?env=prod&release={digest}"
    row = {"x": 0.1, "sex": "f", "pred": 1}
    bad = [{**row, "inference_id": "i0"}, {**row, "inference_id": "i1", "latency_ms": "inf"}]
    refused = client.post(url, json={"batch_id": "b0", "records": bad}, headers=auth("service"))
    body = assert_problem(refused, 422)
    assert body["location"] == "records[1].latency_ms" and "finite" in body["detail"]
    good = [{**row, "inference_id": "i1", "latency_ms": 12.5}]
    logged = client.post(url, json={"batch_id": "b1", "records": good}, headers=auth("service"))
    assert logged.status_code == 200, logged.text
    labels = f"{API}/systems/{system}/labels?env=prod"
    for value in ("yes", "NaN"):
        sent = {"batch_id": f"l-{value}", "labels": [{"inference_id": "i1", "label": value}]}
        refused = client.post(labels, json=sent, headers=auth("service"))
        assert "not one of the reference's classes" in assert_problem(refused, 422)["detail"]
    # The real label is still accepted: the refused ones marked nothing as labelled.
    sent = {"batch_id": "l-1", "labels": [{"inference_id": "i1", "label": 1}]}
    accepted = client.post(labels, json=sent, headers=auth("service"))
    assert accepted.status_code == 200 and accepted.json()["matched"] == 1, accepted.text
