"""The decision spine through HTTP: every endpoint's behaviour and every error's shape.

Requests go through the real ASGI app (FastAPI over httpx's in-process transport) onto
the test database. Every refused or failed request is also checked to have written
nothing: the audit log, which every state change appends to in the same transaction,
keeps its length.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from tests.api.support import API, APPROVAL, REJECTION, SYSTEM, assert_problem, manifest_body
from tests.helpers import SHA_A

from charter.api.app import MAX_BODY_BYTES
from charter.store.models import Release, User

# --- meta and authentication -------------------------------------------------------------


def test_health_needs_no_token(client) -> None:
    response = client.get(f"{API}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_me_names_the_token_owner(client, auth) -> None:
    response = client.get(f"{API}/me", headers=auth("risk_engineer"))
    assert response.status_code == 200
    assert response.json() == {"name": "risk-engineer", "role": "risk_engineer"}


def test_missing_token_is_401_problem(client) -> None:
    response = client.get(f"{API}/systems")
    body = assert_problem(response, 401, "unauthenticated")
    assert "bearer" in body["detail"].lower()
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer chtr_not-a-real-token", "Bearer ", "Basic YWRtaW46YWRtaW4=", "chtr_no-scheme"],
)
def test_bad_or_malformed_token_is_401_problem(client, authorization) -> None:
    response = client.get(f"{API}/systems", headers={"Authorization": authorization})
    assert_problem(response, 401, "unauthenticated")


def test_refused_write_without_token_writes_nothing(client, tokens, audit_count) -> None:
    before = audit_count()
    response = client.post(f"{API}/systems", json={"name": "x", "owner": "y"})
    assert_problem(response, 401)
    assert audit_count() == before


def test_unknown_route_and_wrong_method_are_problems(client, auth) -> None:
    assert_problem(client.get(f"{API}/nowhere", headers=auth("admin")), 404, "not-found")
    response = client.delete(f"{API}/systems", headers=auth("admin"))
    assert_problem(response, 405, "method-not-allowed")
    # Starlette names the methods of the first route matching the path only (GET and POST
    # are separate routes here), so just check an Allow header is there.
    assert response.headers["allow"]


# --- systems -----------------------------------------------------------------------------


def test_register_list_and_show_systems(client, auth, audit_count) -> None:
    before = audit_count()
    response = client.post(
        f"{API}/systems",
        json={
            "name": SYSTEM,
            "owner": " risk team ",
            "purpose": "credit limits",
            "surfaces": ["web"],
            "intake": {"population": "UK retail", "answers": {"automated": True, "users": 3}},
        },
        headers=auth("developer"),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == SYSTEM
    assert created["owner"] == "risk team"
    assert created["population"] == "UK retail"
    assert created["surfaces"] == ["web"]
    assert created["intake"] == {"automated": True, "users": 3}
    assert created["status"] == "proposed" and created["tier"] == "unassessed"
    assert created["created_by"] == "developer"
    assert audit_count() == before + 1

    listing = client.get(f"{API}/systems", headers=auth("auditor")).json()
    assert listing["total"] == 1 and listing["limit"] == 50 and listing["offset"] == 0
    assert [s["name"] for s in listing["items"]] == [SYSTEM]

    shown = client.get(f"{API}/systems/{SYSTEM}", headers=auth("auditor"))
    assert shown.status_code == 200
    assert shown.json() == created


def test_system_status_moves_through_lifecycle(client, auth, seed_system, audit_count) -> None:
    seed_system()
    url = f"{API}/systems/{SYSTEM}/status"
    response = client.post(
        url, json={"status": "active", "reason": "go-live"}, headers=auth("admin")
    )
    assert response.status_code == 200 and response.json()["status"] == "active"
    before = audit_count()
    refused = client.post(url, json={"status": "proposed", "reason": "oops"}, headers=auth("admin"))
    assert "cannot become" in assert_problem(refused, 422, "invalid-input")["detail"]
    blank = client.post(url, json={"status": "suspended", "reason": " "}, headers=auth("admin"))
    assert_problem(blank, 422, "invalid-input")
    assert audit_count() == before


def test_duplicate_system_is_409_and_writes_nothing(client, auth, seed_system, audit_count) -> None:
    seed_system()
    before = audit_count()
    response = client.post(
        f"{API}/systems", json={"name": SYSTEM, "owner": "someone"}, headers=auth("admin")
    )
    assert "already exists" in assert_problem(response, 409, "conflict")["detail"]
    assert audit_count() == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Credit Limit", "owner": "x"},  # not a slug
        {"name": "no-owner"},  # no owner anywhere
        {"name": "blank-owner", "owner": "   "},
        {"name": "extra", "owner": "x", "colour": "blue"},  # unknown field
        {"name": "bad-intake", "owner": "x", "intake": {"answers": {"a": {"nested": 1}}}},
        {"name": 7, "owner": "x"},
        {"name": "x" * 65, "owner": "x"},
    ],
    ids=["not-slug", "no-owner", "blank-owner", "unknown-field", "bad-intake", "int-name", "long"],
)
def test_invalid_system_is_422_and_writes_nothing(client, auth, tokens, audit_count, body) -> None:
    before = audit_count()
    response = client.post(f"{API}/systems", json=body, headers=auth("admin"))
    assert_problem(response, 422, "invalid-input")
    assert audit_count() == before


def test_unknown_system_is_404(client, auth) -> None:
    for url in (f"{API}/systems/missing", f"{API}/systems/missing/releases"):
        assert "missing" in assert_problem(client.get(url, headers=auth("admin")), 404)["detail"]


# --- releases ----------------------------------------------------------------------------


def test_create_release_then_identical_content_is_200_not_created(
    client, auth, seed_system, audit_count
) -> None:
    seed_system()
    url = f"{API}/systems/{SYSTEM}/releases"
    first = client.post(url, json=manifest_body("1"), headers=auth("developer"))
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["created"] is True
    assert created["system"] == SYSTEM and created["created_by"] == "developer"
    assert len(created["digest"]) == 64
    assert created["ref"] == f"{SYSTEM}@{created['digest'][:12]}"
    assert created["label"] == "v1"
    assert created["config"] == {"threshold": 0.5}
    assert created["contract"] == {"offline": {"roc_auc": ">= 0.75"}}
    assert [(c["kind"], c["name"]) for c in created["components"]] == [
        ("model", "scorer"),
        ("prompt", "system"),
    ]

    before = audit_count()
    again = client.post(url, json=manifest_body("1"), headers=auth("risk_engineer"))
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert again.json()["digest"] == created["digest"]
    assert again.json()["created_by"] == "developer"  # the first creator stays the creator
    assert audit_count() == before

    # Label and description are metadata outside the digest; the content is what counts.
    relabelled = client.post(
        url, json=manifest_body("1", label="renamed"), headers=auth("developer")
    )
    assert relabelled.status_code == 200 and relabelled.json()["digest"] == created["digest"]
    other = client.post(url, json=manifest_body("2"), headers=auth("developer"))
    assert other.status_code == 201 and other.json()["digest"] != created["digest"]


def test_list_releases_newest_first_with_paging(client, auth, seed_system, seed_release) -> None:
    seed_system()
    digests = [seed_release(str(i)) for i in range(3)]
    url = f"{API}/systems/{SYSTEM}/releases"
    page = client.get(url, headers=auth("auditor")).json()
    assert page["total"] == 3
    assert [r["digest"] for r in page["items"]] == digests[::-1]
    second = client.get(url, params={"limit": 1, "offset": 1}, headers=auth("auditor")).json()
    assert [r["digest"] for r in second["items"]] == [digests[1]]
    assert (second["total"], second["limit"], second["offset"]) == (3, 1, 1)


def test_show_release_by_prefix_with_approvals(client, auth, release) -> None:
    url = f"{API}/systems/{SYSTEM}/releases/{release[:12]}"
    shown = client.get(url, headers=auth("auditor"))
    assert shown.status_code == 200
    assert shown.json()["digest"] == release and shown.json()["approvals"] == []
    assert shown.json()["created"] is None
    also = client.get(f"{API}/systems/{SYSTEM}/releases/sha256:{release}", headers=auth("auditor"))
    assert also.status_code == 200 and also.json()["digest"] == release

    decided = client.post(f"{url}/decisions", json=APPROVAL, headers=auth("approver"))
    assert decided.status_code == 201, decided.text
    (state,) = client.get(url, headers=auth("auditor")).json()["approvals"]
    assert state["environment"] == "prod" and state["state"] == "approved"
    assert state["approvals"] == 1 and state["quorum"] == 1
    assert state["approvers"] == ["approver"]
    assert state["valid_until"].startswith("2027-02-22")  # 90 days after the fake clock's now


def test_unknown_release_is_404_and_short_prefix_422(client, auth, release) -> None:
    missing = "0" * 12 if not release.startswith("0" * 12) else "f" * 12
    url = f"{API}/systems/{SYSTEM}/releases/{missing}"
    assert_problem(client.get(url, headers=auth("admin")), 404, "not-found")
    not_hex = f"{API}/systems/{SYSTEM}/releases/{'z' * 12}"
    assert_problem(client.get(not_hex, headers=auth("admin")), 422, "invalid-input")
    too_short = f"{API}/systems/{SYSTEM}/releases/{release[:11]}"
    assert_problem(client.get(too_short, headers=auth("admin")), 422, "invalid-input")
    other_system = f"{API}/systems/missing/releases/{release[:12]}"
    assert_problem(client.get(other_system, headers=auth("admin")), 404, "not-found")


def test_ambiguous_prefix_is_409(client, auth, charter, seed_system, seed_release) -> None:
    seed_system()
    first, second = seed_release("1"), seed_release("2")
    # Force two digests to share a 12-character prefix by rewriting one stored digest.
    with charter.db.transaction(write=True) as session:
        stored = session.scalar(select(Release).where(Release.digest == second))
        stored.digest = first[:12] + "0" * 52
    url = f"{API}/systems/{SYSTEM}/releases/{first[:12]}"
    body = assert_problem(client.get(url, headers=auth("admin")), 409, "conflict")
    assert "ambiguous" in body["detail"]
    assert client.get(f"{API}/systems/{SYSTEM}/releases/{first}", headers=auth("admin")).is_success


def _post_release(client, auth, content: str | bytes | dict, role: str = "developer"):
    url = f"{API}/systems/{SYSTEM}/releases"
    if isinstance(content, dict):
        return client.post(url, json=content, headers=auth(role))
    headers = {**auth(role), "Content-Type": "application/json"}
    return client.post(url, content=content, headers=headers)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param('{"components": [', "JSON decode error", id="malformed-json"),
        pytest.param("[1, 2]", "body", id="not-an-object"),
        pytest.param({**manifest_body(), "colour": "blue"}, "colour", id="unknown-top-field"),
        pytest.param(
            {
                **manifest_body(),
                "components": [{"kind": "model", "name": "m", "sha256": SHA_A, "colour": "x"}],
            },
            "colour",
            id="unknown-component-field",
        ),
        pytest.param(
            {**manifest_body(), "components": [{"kind": "spreadsheet", "name": "m"}]},
            "kind",
            id="unknown-kind",
        ),
        pytest.param({**manifest_body(), "components": []}, "components", id="no-components"),
        pytest.param(
            '{"components": [{"kind": "prompt", "name": "p", "text": "hi"}],'
            ' "config": {"threshold": NaN}}',
            "finite",
            id="nan-in-config",
        ),
        pytest.param(
            '{"components": [{"kind": "prompt", "name": "p", "text": "hi"}],'
            ' "config": {"threshold": Infinity}}',
            "finite",
            id="infinity-in-config",
        ),
        pytest.param(
            '{"components": [{"kind": "prompt", "name": "p", "text": "hi"}],'
            ' "config": {"threshold": 1e400}}',
            "finite",
            id="overflowing-float-in-config",
        ),
        pytest.param(
            {**manifest_body(), "config": {"rows": 2**63}}, "integer", id="huge-int-in-config"
        ),
        pytest.param(
            {**manifest_body(), "contract": {"offline": {"n": [1, -(2**60)]}}},
            "integer",
            id="huge-int-in-contract",
        ),
        pytest.param(
            {**manifest_body(), "components": [{"kind": "model", "name": "m", "path": "m.pkl"}]},
            "local file",
            id="local-model-path",
        ),
        pytest.param(
            {
                **manifest_body(),
                "components": [{"kind": "prompt", "name": "p", "path": "/etc/passwd"}],
            },
            "local file",
            id="local-prompt-path",
        ),
        pytest.param(
            {**manifest_body(), "system": "another-system"}, "not 'credit-limit'", id="wrong-system"
        ),
        pytest.param(
            {
                "components": [
                    {"kind": "prompt", "name": "p", "text": "a"},
                    {"kind": "prompt", "name": "p", "text": "b"},
                ]
            },
            "named",
            id="duplicate-component",
        ),
    ],
)
def test_invalid_manifest_is_422_and_writes_nothing(
    client, auth, seed_system, audit_count, content, expected
) -> None:
    seed_system()
    before = audit_count()
    body = assert_problem(_post_release(client, auth, content), 422, "invalid-input")
    assert expected in json.dumps(body), body
    assert audit_count() == before
    listing = client.get(f"{API}/systems/{SYSTEM}/releases", headers=auth("admin")).json()
    assert listing["total"] == 0


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            b'{"components": [{"kind": "prompt", "name": "p", "text": "hi"}], "config": {"n": '
            + b"9" * 5000
            + b"}}",
            id="integer-too-long-to-parse",
        ),
        pytest.param(b'{"label": "\xff\xfe"}', id="not-utf-8"),
        pytest.param(b"", id="empty"),
    ],
)
def test_unparseable_body_is_422(client, auth, seed_system, audit_count, content) -> None:
    seed_system()
    before = audit_count()
    assert_problem(_post_release(client, auth, content), 422, "invalid-input")
    assert audit_count() == before


def test_release_of_retired_system_is_refused(client, auth, seed_system, audit_count) -> None:
    seed_system()
    retire = {"status": "retired", "reason": "replaced"}
    client.post(f"{API}/systems/{SYSTEM}/status", json=retire, headers=auth("admin"))
    before = audit_count()
    response = _post_release(client, auth, manifest_body())
    assert "retired" in assert_problem(response, 422)["detail"]
    assert audit_count() == before


def test_nul_characters_never_cause_a_server_error(client, auth, release, audit_count) -> None:
    """PostgreSQL text cannot hold NUL, SQLite can: both refuse it with a 422 that writes
    nothing (the JSON bounds check refuses a NUL anywhere in a body), never a 5xx."""
    writes = [
        ("/systems", {"name": "nul", "owner": "a\x00b"}, "admin"),
        ("/systems", {"name": "nul-purpose", "owner": "x", "purpose": "\x00"}, "admin"),
        (
            f"/systems/{SYSTEM}/releases",
            {**manifest_body("nul"), "description": "a\x00"},
            "developer",
        ),
        (
            f"/systems/{SYSTEM}/releases/{release[:12]}/decisions",
            {**REJECTION, "note": "a\x00"},
            "risk_engineer",
        ),
    ]
    for path, body, role in writes:
        before = audit_count()
        response = client.post(API + path, json=body, headers=auth(role))
        assert "NUL" in assert_problem(response, 422, "invalid-input")["detail"]
        assert audit_count() == before
    for path in ("/systems/a%00b", "/audit/events?action=a%00b", "/decisions?system=a%00b"):
        response = client.get(API + path, headers=auth("admin"))
        assert response.status_code < 500
        if not response.is_success:
            assert_problem(response, response.status_code)


# --- body size limit ---------------------------------------------------------------------


def _oversized_manifest() -> bytes:
    body = manifest_body(description="")
    body["config"] = {"padding": "x" * (MAX_BODY_BYTES + 1)}
    return json.dumps(body).encode()


def test_body_over_limit_with_content_length_is_413(client, auth, seed_system, audit_count) -> None:
    seed_system()
    before = audit_count()
    content = _oversized_manifest()
    response = _post_release(client, auth, content)
    assert response.request.headers["content-length"] == str(len(content))
    assert_problem(response, 413, "payload-too-large")
    assert audit_count() == before


def test_body_over_limit_without_content_length_is_413(
    client, auth, seed_system, audit_count
) -> None:
    seed_system()
    before = audit_count()
    content = _oversized_manifest()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 256 * 1024):
            yield content[start : start + 256 * 1024]

    response = _post_release(client, auth, chunks())  # type: ignore[arg-type]
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload-too-large")
    assert audit_count() == before


def test_body_just_under_limit_is_accepted(client, auth, seed_system) -> None:
    seed_system()
    body = manifest_body()
    # The description is capped at 10 000 characters, so pad the config instead.
    body["config"] = {"padding": ""}
    overhead = len(json.dumps(body).encode())
    body["config"]["padding"] = "x" * (MAX_BODY_BYTES - overhead)
    content = json.dumps(body).encode()
    assert len(content) == MAX_BODY_BYTES
    response = _post_release(client, auth, content)
    assert response.status_code == 201, response.text[:500]


# --- decisions ---------------------------------------------------------------------------


def _decide(client, auth, digest: str, body: dict, role: str):
    url = f"{API}/systems/{SYSTEM}/releases/{digest[:12]}/decisions"
    return client.post(url, json=body, headers=auth(role))


def test_approve_reject_and_approve_with_conditions(client, auth, release, audit_count) -> None:
    before = audit_count()
    approved = _decide(client, auth, release, APPROVAL, "approver")
    assert approved.status_code == 201, approved.text
    first = approved.json()
    assert first["verdict"] == "approve" and first["actor"] == "approver"
    assert first["actor_role"] == "approver"
    assert first["digest"] == release and first["system"] == SYSTEM
    assert first["fallback"] == {"kind": "static", "ref": "manual-review"}
    assert first["contract"] == {"offline": {"roc_auc": ">= 0.75"}}  # the release's own
    assert first["environments"] == ["prod"] and first["supersedes"] is None
    assert first["expires_at"].startswith("2027-02-22")

    rejected = _decide(client, auth, release, REJECTION, "risk_engineer")
    assert rejected.status_code == 201, rejected.text
    assert rejected.json()["supersedes"] == first["id"]
    assert rejected.json()["note"] == "calibration drifted"

    url = f"{API}/systems/{SYSTEM}/releases/{release}"
    (state,) = client.get(url, headers=auth("auditor")).json()["approvals"]
    assert state["state"] == "rejected"

    conditional = {
        **APPROVAL,
        "verdict": "approve_with_conditions",
        "conditions": ["weekly review", "  "],
        "environments": ["prod", "staging"],
    }
    third = _decide(client, auth, release, conditional, "approver2")
    assert third.status_code == 201, third.text
    assert third.json()["conditions"] == ["weekly review"]
    states = {
        s["environment"]: s for s in client.get(url, headers=auth("auditor")).json()["approvals"]
    }
    assert set(states) == {"prod", "staging"}
    assert states["prod"]["state"] == "approved"
    assert states["prod"]["approvers"] == ["approver-2"]
    assert audit_count() == before + 3


def test_approval_with_release_fallback_and_explicit_contract(
    client, auth, release, seed_release
) -> None:
    other = seed_release("2")
    stricter = {"offline": {"roc_auc": ">= 0.8"}, "live": {"latency_p95_ms": "<= 500"}}
    body = {**APPROVAL, "fallback": f"{SYSTEM}@{other[:12]}", "contract": stricter}
    response = _decide(client, auth, release, body, "approver")
    assert response.status_code == 201, response.text
    assert response.json()["fallback"] == {"kind": "release", "ref": f"{SYSTEM}@{other}"}
    assert response.json()["contract"] == stricter
    for bad, why in (
        ({"online": {"p95": 1}}, "unknown key"),
        ({"offline": {"roc_auc": ">= 0.5"}}, "loosens or drops the bound 'roc_auc >= 0.75'"),
        ({"offline": {"roc_auc": ">= 0.8", "nope": "> 1"}}, "unknown metric 'nope'"),
    ):
        refused = _decide(client, auth, release, {**body, "contract": bad}, "approver2")
        assert why in assert_problem(refused, 422)["detail"]


def test_wrong_role_is_403_and_writes_nothing(client, auth, release, audit_count) -> None:
    before = audit_count()
    for role in ("admin", "risk_engineer", "developer", "auditor", "service"):
        body = assert_problem(_decide(client, auth, release, APPROVAL, role), 403, "forbidden")
        assert "may not decision.approve" in body["detail"]
    for role in ("admin", "developer", "auditor", "service"):
        body = assert_problem(_decide(client, auth, release, REJECTION, role), 403, "forbidden")
        assert "may not decision.reject" in body["detail"]
    create = client.post(
        f"{API}/systems/{SYSTEM}/releases", json=manifest_body("2"), headers=auth("approver")
    )
    assert "may not release.create" in assert_problem(create, 403, "forbidden")["detail"]
    assert audit_count() == before


def test_separation_of_duties_is_403_and_writes_nothing(
    client, auth, charter, release, audit_count
) -> None:
    # The default roles never both create and approve; a policy may name roles that do, so
    # the rule is checked on the creator itself: make the approver the creator and try.
    with charter.db.transaction(write=True) as session:
        stored = session.scalar(select(Release).where(Release.digest == release))
        stored.created_by_id = session.scalar(select(User.id).where(User.name == "approver"))
    before = audit_count()
    body = assert_problem(_decide(client, auth, release, APPROVAL, "approver"), 403, "forbidden")
    assert "separation of duties" in body["detail"]
    assert audit_count() == before
    # Another approver may approve it, and the creator may still reject it.
    assert _decide(client, auth, release, APPROVAL, "approver2").status_code == 201
    assert _decide(client, auth, release, REJECTION, "approver").status_code == 201


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"environments": []}, "environments"),
        ({"expires": None}, "expires"),
        ({"expires": "2020-01-01"}, "not in the future"),
        ({"expires": "soon"}, "invalid expiry"),
        ({"fallback": "nowhere"}, "invalid fallback"),
        ({"fallback": "static:Not A Slug"}, "invalid static fallback"),
        ({"fallback": "credit-limit@xyz"}, "invalid digest"),
        ({"environments": ["Prod!"]}, "invalid environment"),
        ({"environments": ["prod", "prod"]}, "twice"),
        ({"verdict": "approve_with_conditions"}, "condition"),
        ({"verdict": "approve_if_you_like"}, "verdict"),
        ({"reviewer": "me"}, "reviewer"),
        ({"use_case": " "}, "use_case"),
    ],
)
def test_invalid_decision_is_422_and_writes_nothing(
    client, auth, release, audit_count, change, expected
) -> None:
    before = audit_count()
    response = _decide(client, auth, release, {**APPROVAL, **change}, "approver")
    body = assert_problem(response, 422, "invalid-input")
    assert expected in json.dumps(body), body
    assert audit_count() == before


def test_expiry_past_the_last_representable_time_is_422(client, auth, release, audit_count) -> None:
    # Year 9999 at UTC-5 is after 9999-12-31T23:59:59Z: converting it to UTC overflows.
    before = audit_count()
    body = {**APPROVAL, "expires": "9999-12-31T23:59:59-05:00"}
    response = _decide(client, auth, release, body, "approver")
    assert "out of range" in assert_problem(response, 422, "invalid-input")["detail"]
    assert audit_count() == before
    far = _decide(client, auth, release, {**APPROVAL, "expires": "9999-12-31"}, "approver")
    assert far.status_code == 201 and far.json()["expires_at"].startswith("9999-12-31T23:59:59")


def test_rejection_needs_a_note(client, auth, release, audit_count) -> None:
    before = audit_count()
    response = _decide(client, auth, release, {"verdict": "reject"}, "risk_engineer")
    detail = assert_problem(response, 422)["detail"]
    assert "note" in detail and "--" not in detail  # no CLI flag in an API error
    assert audit_count() == before


def test_decision_on_unknown_release_or_fallback_is_404(client, auth, release, audit_count) -> None:
    before = audit_count()
    missing = "0" * 12 if not release.startswith("0" * 12) else "f" * 12
    assert_problem(_decide(client, auth, missing, APPROVAL, "approver"), 404, "not-found")
    to_missing = {**APPROVAL, "fallback": f"{SYSTEM}@{missing}"}
    assert_problem(_decide(client, auth, release, to_missing, "approver"), 404, "not-found")
    own = {**APPROVAL, "fallback": f"{SYSTEM}@{release}"}
    assert (
        "own fallback"
        in assert_problem(_decide(client, auth, release, own, "approver"), 422)["detail"]
    )
    assert audit_count() == before


def test_list_decisions_with_filters(client, auth, release, seed_system, seed_release) -> None:
    seed_system("fraud-score")
    other = seed_release("9", system="fraud-score")
    first = _decide(client, auth, release, APPROVAL, "approver").json()
    second = _decide(client, auth, release, REJECTION, "risk_engineer").json()
    url = f"{API}/systems/fraud-score/releases/{other[:12]}/decisions"
    third = client.post(url, json=APPROVAL, headers=auth("approver2")).json()

    everything = client.get(f"{API}/decisions", headers=auth("auditor")).json()
    assert [d["id"] for d in everything["items"]] == [third["id"], second["id"], first["id"]]
    assert everything["total"] == 3

    by_system = client.get(
        f"{API}/decisions", params={"system": SYSTEM}, headers=auth("auditor")
    ).json()
    assert [d["id"] for d in by_system["items"]] == [second["id"], first["id"]]
    by_release = client.get(
        f"{API}/decisions", params={"release": f"fraud-score@{other[:12]}"}, headers=auth("auditor")
    ).json()
    assert [d["id"] for d in by_release["items"]] == [third["id"]]
    assert by_release["total"] == 1
    paged = client.get(
        f"{API}/decisions", params={"limit": 1, "offset": 2}, headers=auth("auditor")
    ).json()
    assert [d["id"] for d in paged["items"]] == [first["id"]] and paged["total"] == 3

    unknown = client.get(f"{API}/decisions", params={"system": "nope"}, headers=auth("admin"))
    assert_problem(unknown, 404, "not-found")
    bad_ref = client.get(
        f"{API}/decisions", params={"release": "no-at-sign"}, headers=auth("admin")
    )
    assert_problem(bad_ref, 422, "invalid-input")


# --- audit -------------------------------------------------------------------------------


def test_audit_events_head_and_verify(client, auth, release) -> None:
    _decide(client, auth, release, APPROVAL, "approver")
    events = client.get(f"{API}/audit/events", headers=auth("auditor")).json()
    # Bootstrap admin, 6 created users, the system, the release, the decision.
    assert events["total"] == 10
    seqs = [e["seq"] for e in events["items"]]
    assert seqs == sorted(seqs, reverse=True)
    newest = events["items"][0]
    assert newest["action"] == "decision.approve" and newest["actor"] == "approver"
    assert newest["entity_id"] == f"{SYSTEM}@{release}"
    assert newest["payload"]["role"] == "approver"
    assert newest["prev_hash"] == events["items"][1]["hash"]

    filtered = client.get(
        f"{API}/audit/events",
        params={"entity_type": "release", "action": "release.created"},
        headers=auth("risk_engineer"),
    ).json()
    assert filtered["total"] == 1 and filtered["items"][0]["payload"]["digest"] == release
    by_id = client.get(
        f"{API}/audit/events", params={"entity_id": SYSTEM}, headers=auth("approver")
    ).json()
    assert [e["action"] for e in by_id["items"]] == ["system.registered"]

    head = client.get(f"{API}/audit/head", headers=auth("admin")).json()
    assert head["seq"] == 10 and head["hash"] == newest["hash"]
    assert head["anchor"] == f"10:{newest['hash']}"

    verified = client.get(
        f"{API}/audit/verify", params={"anchor": head["anchor"]}, headers=auth("auditor")
    )
    assert verified.status_code == 200
    assert verified.json() == {
        "ok": True,
        "events": 10,
        "head_seq": 10,
        "head_hash": newest["hash"],
        "broken_seq": None,
        "reason": None,
        "anchors": 1,
        "covered_seq": 10,
        "rows_checked": verified.json()["rows_checked"],
        "row_findings": [],
        "row_findings_total": 0,
    }
    assert verified.json()["rows_checked"] > 0
    wrong = client.get(
        f"{API}/audit/verify", params={"anchor": f"3:{'0' * 64}"}, headers=auth("auditor")
    ).json()
    assert wrong["ok"] is False and wrong["broken_seq"] == 3
    beyond = client.get(
        f"{API}/audit/verify", params={"anchor": f"99:{'0' * 64}"}, headers=auth("auditor")
    ).json()
    assert beyond["ok"] is False and "truncated" in beyond["reason"]
    malformed = client.get(
        f"{API}/audit/verify", params={"anchor": "latest"}, headers=auth("auditor")
    )
    assert "invalid anchor" in assert_problem(malformed, 422, "invalid-input")["detail"]


def test_reads_write_nothing(client, auth, release, audit_count) -> None:
    before = audit_count()
    for url in (
        "/me",
        "/systems",
        f"/systems/{SYSTEM}",
        f"/systems/{SYSTEM}/releases",
        f"/systems/{SYSTEM}/releases/{release}",
        "/decisions",
        "/audit/events",
        "/audit/head",
        "/audit/verify",
        "/users",
    ):
        assert client.get(API + url, headers=auth("admin")).status_code == 200, url
    assert audit_count() == before


# --- users -------------------------------------------------------------------------------


def test_create_user_shows_token_once(client, auth, audit_count) -> None:
    before = audit_count()
    response = client.post(
        f"{API}/users", json={"name": "dana", "role": "approver"}, headers=auth("admin")
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == "dana" and created["role"] == "approver"
    token = created["token"]
    assert token.startswith("chtr_")
    assert audit_count() == before + 1

    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"name": "dana", "role": "approver"}

    listing = client.get(f"{API}/users", headers=auth("auditor"))
    assert listing.status_code == 200
    assert token not in listing.text and "token" not in listing.text
    users = {u["name"]: u for u in listing.json()["items"]}
    assert users["dana"]["role"] == "approver" and users["dana"]["disabled"] is False
    assert listing.json()["total"] == 8  # 7 fixture users and dana
    events = client.get(
        f"{API}/audit/events", params={"entity_id": "dana"}, headers=auth("auditor")
    )
    assert token not in events.text


def test_users_are_listed_by_name_with_paging(client, auth) -> None:
    page = client.get(f"{API}/users", params={"limit": 3}, headers=auth("admin")).json()
    assert [u["name"] for u in page["items"]] == ["admin", "approver", "approver-2"]
    rest = client.get(f"{API}/users", params={"offset": 3}, headers=auth("admin")).json()
    assert [u["name"] for u in rest["items"]] == [
        "auditor",
        "developer",
        "risk-engineer",
        "service",
    ]
    assert rest["total"] == 7


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "developer", "role": "developer"}, 409),
        ({"name": "dana", "role": "overlord"}, 422),
        ({"name": "Dana Scully", "role": "approver"}, 422),
        ({"name": "dana"}, 422),
        ({"name": "dana", "role": "approver", "admin": True}, 422),
    ],
    ids=["duplicate", "unknown-role", "not-slug", "no-role", "unknown-field"],
)
def test_invalid_user_is_refused_and_writes_nothing(
    client, auth, audit_count, body, status
) -> None:
    before = audit_count()
    response = client.post(f"{API}/users", json=body, headers=auth("admin"))
    assert_problem(response, status)
    assert audit_count() == before


def test_rotate_token_revokes_the_old_one(client, auth, tokens, audit_count) -> None:
    old = {"Authorization": f"Bearer {tokens['developer']}"}
    assert client.get(f"{API}/me", headers=old).status_code == 200
    before = audit_count()
    response = client.post(f"{API}/users/developer/token", headers=auth("admin"))
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["name"] == "developer" and rotated["token"] != tokens["developer"]
    assert audit_count() == before + 1
    assert_problem(client.get(f"{API}/me", headers=old), 401, "unauthenticated")
    new = {"Authorization": f"Bearer {rotated['token']}"}
    assert client.get(f"{API}/me", headers=new).json()["name"] == "developer"


def test_rotate_unknown_user_is_404(client, auth, audit_count) -> None:
    before = audit_count()
    assert_problem(client.post(f"{API}/users/nobody/token", headers=auth("admin")), 404)
    assert audit_count() == before


def test_non_admin_cannot_manage_users(client, auth, audit_count) -> None:
    before = audit_count()
    for role in ("risk_engineer", "developer", "approver", "auditor", "service"):
        create = client.post(
            f"{API}/users", json={"name": "mallory", "role": "admin"}, headers=auth(role)
        )
        assert "may not user.manage" in assert_problem(create, 403, "forbidden")["detail"]
        rotate = client.post(f"{API}/users/admin/token", headers=auth(role))
        assert_problem(rotate, 403, "forbidden")
    assert audit_count() == before


# --- pagination --------------------------------------------------------------------------


def test_pagination_limit_offset_total(client, auth, seed_system) -> None:
    names = [f"system-{i}" for i in range(5)]
    for name in names:
        seed_system(name)
    url = f"{API}/systems"
    first = client.get(url, params={"limit": 2}, headers=auth("auditor")).json()
    assert [s["name"] for s in first["items"]] == names[:2]
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    last = client.get(url, params={"limit": 2, "offset": 4}, headers=auth("auditor")).json()
    assert [s["name"] for s in last["items"]] == names[4:]
    beyond = client.get(url, params={"offset": 50}, headers=auth("auditor")).json()
    assert beyond["items"] == [] and beyond["total"] == 5
    widest = client.get(url, params={"limit": 500}, headers=auth("auditor")).json()
    assert len(widest["items"]) == 5 and widest["limit"] == 500


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": -1},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": 10_000_001},
        {"offset": "1.5"},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
@pytest.mark.parametrize("path", ["/systems", "/users", "/decisions", "/audit/events"])
def test_pagination_bounds_are_422(client, auth, path, params) -> None:
    response = client.get(API + path, params=params, headers=auth("admin"))
    body = assert_problem(response, 422, "invalid-input")
    assert next(iter(params)) in body["detail"]
    assert body["errors"][0]["location"].startswith("query.")


def test_openapi_schema_is_served(client) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert f"{API}/systems/{{name}}/releases/{{digest}}/decisions" in paths
    assert "bearer" in json.dumps(response.json()["components"]["securitySchemes"]).lower()
