"""Every endpoint against every role, and without a token: who may do what over HTTP.

The expected matrix is written out here by hand, on purpose: deriving it from
``charter.domain.roles.GRANTS`` would make a wrong grant pass. A route under ``/api/v1``
without a row fails :func:`test_matrix_covers_every_route`, so a new endpoint cannot be
added without deciding who may call it.

Each request is valid for its endpoint, so an allowed role must get a 2xx; a refused one
gets a 403 naming the missing permission (not some other refusal, such as separation of
duties, that could hide a wrong grant) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.api.support import API, APPROVAL, REJECTION, SYSTEM, assert_problem, manifest_body
from tests.conftest import FakeClock, users_per_role
from tests.helpers import BACKEND

from charter.api.app import create_app
from charter.domain.roles import Role
from charter.services.context import Charter
from charter.store.db import Database
from charter.store.models import AuditEvent, PolicyException, Release

ROLES = ("admin", "risk_engineer", "developer", "approver", "auditor", "service")
ALL = frozenset(ROLES)
PUBLIC = "public"  # no token needed at all
NO_TOKEN = "no-token"


@dataclass(frozen=True)
class Case:
    """One row of the matrix: a request and the roles allowed to make it."""

    method: str
    path: str  # the route's template, as FastAPI lists it
    allowed: frozenset[str] | str
    #: Build the concrete URL and JSON body from the seeded world.
    request: Callable[[World], tuple[str, Any]] = field(compare=False)
    #: What a refused role is told (tells a role refusal apart from any other 403).
    needs: str = ""
    #: True: an allowed role gets a 2xx. False: the request needs state the fixture does not
    #: build (a policy in force, a live route...), so an allowed role only has to get past
    #: authorization: no 401, and no 403 naming its role.
    strict: bool = True
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}{f' [{self.variant}]' if self.variant else ''}"


@dataclass(frozen=True)
class World:
    """What the matrix requests refer to: a release (by the developer) and an exception."""

    digest: str
    exception_id: int


def _plain(url: str) -> Callable[[World], tuple[str, Any]]:
    return lambda _world: (url, None)


def _with(url: str, body: Any) -> Callable[[World], tuple[str, Any]]:
    return lambda _world: (url, body)


def _on_release(suffix: str, body: Any = None) -> Callable[[World], tuple[str, Any]]:
    return lambda w: (f"{API}/systems/{SYSTEM}/releases/{w.digest[:12]}{suffix}", body)


def _on_exception(suffix: str, body: Any = None) -> Callable[[World], tuple[str, Any]]:
    return lambda w: (f"{API}/exceptions/{w.exception_id}{suffix}", body)


P = API  # shorter rows below
HUMANS = ALL - {"service"}
BUILDERS = frozenset({"admin", "risk_engineer", "developer"})
AUDIT_READERS = frozenset({"admin", "risk_engineer", "approver", "auditor"})
INTERVENTION = {"environment": "prod", "reason": "incident 42"}

#: The expected matrix. Releases are created by the developer; approving needs the approver
#: role (deliberately not admin); a risk engineer may also reject; the audit log is for
#: humans other than developers; only admins manage users, auditors read them; without a
#: policy, exceptions are decided by approvers and risk engineers, and revoked by those,
#: admins or the requester (here the developer).
MATRIX: tuple[Case, ...] = (
    # --- meta
    Case("GET", f"{P}/health", PUBLIC, _plain(f"{P}/health")),
    Case("GET", f"{P}/openapi.json", PUBLIC, _plain(f"{P}/openapi.json")),
    Case("GET", f"{P}/docs", PUBLIC, _plain(f"{P}/docs")),
    Case("GET", f"{P}/me", ALL, _plain(f"{P}/me")),
    Case("GET", f"{P}/status", HUMANS, _plain(f"{P}/status"), "may not status.read"),
    # --- users
    Case(
        "POST",
        f"{P}/users",
        frozenset({"admin"}),
        _with(f"{P}/users", {"name": "new-user", "role": "developer"}),
        "may not user.manage",
    ),
    Case(
        "GET",
        f"{P}/users",
        frozenset({"admin", "auditor"}),
        _plain(f"{P}/users"),
        "may not user.read",
    ),
    Case(
        "POST",
        f"{P}/users/{{name}}/token",
        frozenset({"admin"}),
        _plain(f"{P}/users/service/token"),
        "may not user.manage",
    ),
    # --- systems
    Case(
        "POST",
        f"{P}/systems",
        BUILDERS,
        _with(f"{P}/systems", {"name": "fraud-score", "owner": "fraud team"}),
        "may not system.write",
    ),
    Case("GET", f"{P}/systems", HUMANS, _plain(f"{P}/systems"), "may not system.read"),
    Case(
        "GET",
        f"{P}/systems/{{name}}",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}"),
        "may not system.read",
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/status",
        BUILDERS,
        _with(f"{P}/systems/{SYSTEM}/status", {"status": "active", "reason": "go-live"}),
        "may not system.write",
    ),
    Case(
        "PUT",
        f"{P}/systems/{{name}}/intake",
        BUILDERS,
        _with(f"{P}/systems/{SYSTEM}/intake", {"owner": "risk team", "answers": {}}),
        "may not system.write",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/intake/accept",
        BUILDERS,
        _plain(f"{P}/systems/{SYSTEM}/intake/accept"),
        "may not system.write",
        strict=False,  # no proposal is pending; developers are refused by duties, later
    ),
    # --- releases and decisions
    Case(
        "POST",
        f"{P}/systems/{{name}}/releases",
        BUILDERS,
        _with(f"{P}/systems/{SYSTEM}/releases", manifest_body("matrix")),
        "may not release.create",
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/releases",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}/releases"),
        "may not release.read",
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/releases/{{digest}}",
        HUMANS,
        _on_release(""),
        "may not release.read",
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/releases/{{digest}}/decisions",
        frozenset({"approver"}),
        _on_release("/decisions", APPROVAL),
        "may not decision.approve",
        variant="approve",
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/releases/{{digest}}/decisions",
        frozenset({"approver"}),
        _on_release(
            "/decisions",
            {**APPROVAL, "verdict": "approve_with_conditions", "conditions": ["review"]},
        ),
        "may not decision.approve",
        variant="approve_with_conditions",
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/releases/{{digest}}/decisions",
        frozenset({"approver", "risk_engineer"}),
        _on_release("/decisions", REJECTION),
        "may not decision.reject",
        variant="reject",
    ),
    Case("GET", f"{P}/decisions", HUMANS, _plain(f"{P}/decisions"), "may not decision.read"),
    # --- audit
    Case(
        "GET", f"{P}/audit/events", AUDIT_READERS, _plain(f"{P}/audit/events"), "may not audit.read"
    ),
    Case("GET", f"{P}/audit/head", AUDIT_READERS, _plain(f"{P}/audit/head"), "may not audit.read"),
    Case(
        "GET", f"{P}/audit/verify", AUDIT_READERS, _plain(f"{P}/audit/verify"), "may not audit.read"
    ),
    # --- policy (no pack is in force in this world, so most answers are 404 or 422)
    Case(
        "POST",
        f"{P}/policies",
        frozenset({"admin", "risk_engineer"}),
        _with(f"{P}/policies", {"source": "not: a policy"}),
        "may not policy.manage",
        strict=False,
    ),
    Case("GET", f"{P}/policies", HUMANS, _plain(f"{P}/policies"), "may not policy.read"),
    Case(
        "GET",
        f"{P}/policies/current",
        HUMANS,
        _plain(f"{P}/policies/current"),
        "may not policy.read",
        strict=False,
    ),
    Case(
        "GET",
        f"{P}/policies/diff",
        HUMANS,
        _plain(f"{P}/policies/diff"),
        "may not policy.read",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/policies/diff",
        HUMANS,
        _with(f"{P}/policies/diff", {"source": "not: a policy"}),
        "may not policy.read",
        strict=False,
    ),
    Case(
        "GET",
        f"{P}/policies/{{version}}",
        HUMANS,
        _plain(f"{P}/policies/1"),
        "may not policy.read",
        strict=False,
    ),
    # --- gates and exceptions
    Case(
        "POST",
        f"{P}/systems/{{name}}/releases/{{digest}}/gate",
        frozenset({"admin", "risk_engineer", "developer", "approver"}),
        _on_release("/gate?env=prod"),
        "may not gate.run",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/releases/{{digest}}/exceptions",
        BUILDERS,
        _on_release(
            "/exceptions",
            {
                "control_id": "offline-evaluation",
                "justification": "vendor outage",
                "compensating": "manual review",
                "expires": "14d",
            },
        ),
        "may not exception.request",
        strict=False,
    ),
    Case("GET", f"{P}/exceptions", HUMANS, _plain(f"{P}/exceptions"), "may not exception.read"),
    Case(
        "GET",
        f"{P}/exceptions/{{exception_id}}",
        HUMANS,
        _on_exception(""),
        "may not exception.read",
    ),
    Case(
        "POST",
        f"{P}/exceptions/{{exception_id}}/{{verdict}}",
        frozenset({"approver", "risk_engineer"}),
        _on_exception("/approve", {"note": "ok"}),
        "may not decide exceptions",
        variant="approve",
    ),
    Case(
        "POST",
        f"{P}/exceptions/{{exception_id}}/{{verdict}}",
        frozenset({"approver", "risk_engineer"}),
        _on_exception("/reject", {"note": "no"}),
        "may not decide exceptions",
        variant="reject",
    ),
    Case(
        "POST",
        f"{P}/exceptions/{{exception_id}}/{{verdict}}",
        frozenset({"approver", "risk_engineer", "admin", "developer"}),
        _on_exception("/revoke", {"note": "withdrawn"}),
        "only an exception approver, an admin or the requester may revoke",
        variant="revoke",
    ),
    # --- evidence (the empty result is invalid: allowed roles get past authorization only)
    Case(
        "POST",
        f"{P}/systems/{{name}}/releases/{{digest}}/evidence",
        BUILDERS | {"service"},
        _on_release("/evidence", {}),
        "may not evidence.write",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/evidence/{{evidence_id}}/reproduce",
        BUILDERS | {"service"},
        _with(f"{P}/evidence/1/reproduce", {}),
        "may not evidence.write",
        strict=False,
    ),
    Case("GET", f"{P}/evidence", HUMANS, _plain(f"{P}/evidence"), "may not release.read"),
    Case(
        "GET",
        f"{P}/evidence/{{evidence_id}}",
        HUMANS,
        _plain(f"{P}/evidence/1"),
        "may not release.read",
        strict=False,
    ),
    # --- deployments (nothing is approved and live here, so allowed roles are refused later)
    Case(
        "POST",
        f"{P}/systems/{{name}}/releases/{{digest}}/deploy",
        BUILDERS,
        _on_release("/deploy", {"environment": "prod"}),
        "may not deployment.deploy",
        strict=False,
    ),
    *(
        Case(
            "POST",
            f"{P}/systems/{{name}}/{action}",
            BUILDERS,
            _with(f"{P}/systems/{SYSTEM}/{action}", INTERVENTION),
            "may not deployment.intervene",
            strict=False,
        )
        for action in ("rollback", "kill", "resume")
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/route",
        ALL,
        _plain(f"{P}/systems/{SYSTEM}/route?env=prod"),
        strict=False,
    ),
    # --- rollout (nothing is live here: allowed roles are refused after authorization)
    Case(
        "GET",
        f"{P}/systems/{{name}}/rollout",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}/rollout?env=prod"),
        "may not monitoring.read",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/rollout/promote",
        BUILDERS,
        _with(f"{P}/systems/{SYSTEM}/rollout/promote", INTERVENTION),
        "may not deployment.deploy",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/rollout/abort",
        BUILDERS,
        _with(f"{P}/systems/{SYSTEM}/rollout/abort", INTERVENTION),
        "may not deployment.intervene",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/shadow",
        frozenset({"admin", "developer", "service"}),
        _with(
            f"{P}/systems/{SYSTEM}/shadow?env=prod",
            {"batch_id": "matrix-shadow-1", "records": [{"inference_id": "i-1"}]},
        ),
        "may not monitoring.ingest",
        strict=False,
    ),
    # --- monitoring (no reference profile or live route here: writers get past authz only)
    Case(
        "PUT",
        f"{P}/systems/{{name}}/releases/{{digest}}/reference",
        BUILDERS,
        _on_release("/reference", {"profile": {}}),
        "may not monitoring.reference",
        strict=False,
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/releases/{{digest}}/reference",
        HUMANS,
        _on_release("/reference"),
        "may not release.read",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/observations",
        frozenset({"admin", "developer", "service"}),
        _with(
            f"{P}/systems/{SYSTEM}/observations?env=prod",
            {"batch_id": "matrix-1", "records": [{"inference_id": "i-1", "features": {}}]},
        ),
        "may not monitoring.ingest",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/labels",
        frozenset({"admin", "developer", "service"}),
        _with(
            f"{P}/systems/{SYSTEM}/labels?env=prod",
            {"batch_id": "matrix-labels-1", "labels": [{"inference_id": "i-1", "label": 1}]},
        ),
        "may not monitoring.ingest",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/profiles",
        frozenset({"admin", "developer", "service"}),
        _with(
            f"{P}/systems/{SYSTEM}/profiles?env=prod",
            {"batch_id": "matrix-profiles-1", "document": {"buckets": []}},
        ),
        "may not monitoring.ingest",
        strict=False,
    ),
    Case("GET", f"{P}/alerts", HUMANS, _plain(f"{P}/alerts"), "may not monitoring.read"),
    Case(
        "GET",
        f"{P}/alerts/{{alert_id}}",
        HUMANS,
        _plain(f"{P}/alerts/1"),
        "may not monitoring.read",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/alerts/channels",
        frozenset({"admin", "risk_engineer"}),
        _with(
            f"{P}/alerts/channels",
            {
                "name": "risk-hook",
                "kind": "webhook",
                "url": "https://hooks.example.org/charter",
                "secret": "matrix-hmac-key",
            },
        ),
        "may not monitoring.alerts",
    ),
    Case(
        "GET",
        f"{P}/alerts/channels",
        HUMANS,
        _plain(f"{P}/alerts/channels"),
        "may not monitoring.read",
    ),
    Case(
        "GET",
        f"{P}/monitoring/signals",
        HUMANS,
        _plain(f"{P}/monitoring/signals"),
        "may not monitoring.read",
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/windows",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}/windows"),
        "may not monitoring.read",
    ),
    # --- documents: every human reads cards and the report; packs and KPIs need audit.read
    Case(
        "GET",
        f"{P}/systems/{{name}}/card",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}/card"),
        "may not system.read",
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/card/history",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}/card/history"),
        "may not system.read",
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/card/document",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}/card/document?format=md"),
        "may not system.read",
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/evidence-pack",
        AUDIT_READERS,
        _with(f"{P}/systems/{SYSTEM}/evidence-pack", {}),
        "may not audit.read",
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/evidence-pack.zip",
        AUDIT_READERS,
        _with(f"{P}/systems/{SYSTEM}/evidence-pack.zip", {}),
        "may not audit.read",
    ),
    Case("GET", f"{P}/kpis", AUDIT_READERS, _plain(f"{P}/kpis"), "may not audit.read"),
    Case(
        "GET",
        f"{P}/reports/portfolio",
        HUMANS,
        _plain(f"{P}/reports/portfolio"),
        "may not system.read",
    ),
    Case(
        "GET",
        f"{P}/reports/portfolio/document",
        HUMANS,
        _plain(f"{P}/reports/portfolio/document?format=md"),
        "may not system.read",
    ),
    # --- the serving path: attestation, traces, incidents, interventions, drills
    Case(
        "POST",
        f"{P}/systems/{{name}}/attestations",
        frozenset({"admin", "developer", "service"}),
        _with(
            f"{P}/systems/{SYSTEM}/attestations",
            {"environment": "prod", "digest": "a" * 64, "process_id": "host:1:abc"},
        ),
        "may not monitoring.ingest",
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/traces",
        frozenset({"admin", "developer", "service"}),
        _with(
            f"{P}/systems/{SYSTEM}/traces?env=prod",
            {
                "traces": [
                    {"inference_id": "i1", "served": "release", "at": "2026-11-24T12:00:00+00:00"}
                ]
            },
        ),
        "may not monitoring.ingest",
    ),
    Case(
        "GET",
        f"{P}/traces/{{inference_id}}",
        HUMANS,
        _plain(f"{P}/traces/i1"),
        "may not monitoring.read",
        strict=False,
    ),
    Case("GET", f"{P}/incidents", HUMANS, _plain(f"{P}/incidents"), "may not monitoring.read"),
    Case(
        "GET",
        f"{P}/incidents/metrics",
        HUMANS,
        _plain(f"{P}/incidents/metrics"),
        "may not monitoring.read",
    ),
    Case(
        "POST",
        f"{P}/incidents",
        frozenset({"admin", "risk_engineer"}),
        _with(
            f"{P}/incidents",
            {"system": SYSTEM, "environment": "prod", "title": "customers report odd limits"},
        ),
        "may not monitoring.alerts",
    ),
    Case(
        "GET",
        f"{P}/incidents/{{incident_id}}",
        HUMANS,
        _plain(f"{P}/incidents/1"),
        "may not monitoring.read",
        strict=False,
    ),
    Case(
        "GET",
        f"{P}/incidents/{{incident_id}}/postmortem",
        HUMANS,
        _plain(f"{P}/incidents/1/postmortem"),
        "may not monitoring.read",
        strict=False,
    ),
    *(
        Case(
            "POST",
            f"{P}/incidents/{{incident_id}}/{step}",
            frozenset({"admin", "risk_engineer"}),
            _with(f"{P}/incidents/1/{step}", {"note": "on it"}),
            "may not monitoring.alerts",
            strict=False,
        )
        for step in ("ack", "mitigate", "resolve")
    ),
    *(
        Case(
            "POST",
            f"{P}/alerts/{{alert_id}}/{step}",
            frozenset({"admin", "risk_engineer"}),
            _with(f"{P}/alerts/1/{step}", {"note": "seen"}),
            "may not monitoring.alerts",
            strict=False,
        )
        for step in ("ack", "resolve")
    ),
    Case(
        "GET", f"{P}/interventions", HUMANS, _plain(f"{P}/interventions"), "may not monitoring.read"
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/releases/{{digest}}/drills",
        BUILDERS,
        _on_release("/drills", {"scenario": "drift"}),
        "may not deployment.intervene",
        strict=False,
    ),
    Case(
        "PUT",
        f"{P}/incidents/{{incident_id}}/postmortem",
        frozenset({"admin", "risk_engineer"}),
        _with(f"{P}/incidents/1/postmortem", {"markdown": "# Postmortem"}),
        "may not monitoring.alerts",
        strict=False,
    ),
    # --- the risk register: builders record risks, risk engineers and approvers review and
    # accept them (no pack is in force here, so writes get past authorization only)
    Case(
        "POST",
        f"{P}/systems/{{name}}/risks",
        BUILDERS,
        _with(
            f"{P}/systems/{SYSTEM}/risks",
            {"title": "drift", "category": "robustness", "likelihood": 3, "impact": 3},
        ),
        "may not risk.write",
        strict=False,
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/risks",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}/risks"),
        "may not risk.read",
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/risks/seed",
        BUILDERS,
        _plain(f"{P}/systems/{SYSTEM}/risks/seed"),
        "may not risk.write",
        strict=False,
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/risks/{{risk_id}}",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}/risks/1"),
        "may not risk.read",
        strict=False,
    ),
    Case(
        "PATCH",
        f"{P}/systems/{{name}}/risks/{{risk_id}}",
        BUILDERS,
        _with(f"{P}/systems/{SYSTEM}/risks/1", {"risk": {"owner": "risk-engineer"}}),
        "may not risk.write",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/risks/{{risk_id}}/review",
        frozenset({"risk_engineer", "approver"}),
        _with(f"{P}/systems/{SYSTEM}/risks/1/review", {"note": "checked"}),
        "may not risk.review",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/systems/{{name}}/risks/{{risk_id}}/accept",
        frozenset({"risk_engineer", "approver"}),
        _with(f"{P}/systems/{SYSTEM}/risks/1/accept", {"note": "within appetite"}),
        "may not risk.accept",
        strict=False,
    ),
    Case(
        "POST",
        f"{P}/incidents/{{incident_id}}/risks",
        frozenset({"admin", "risk_engineer"}),
        _with(f"{P}/incidents/1/risks", {"risk_id": 1}),
        "may not monitoring.alerts",
        strict=False,
    ),
    Case(
        "GET",
        f"{P}/drills",
        HUMANS,
        _plain(f"{P}/drills"),
        "may not release.read",
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/risk-assessment",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}/risk-assessment"),
        "may not risk.read",
    ),
    Case(
        "GET",
        f"{P}/systems/{{name}}/risk-assessment/document",
        HUMANS,
        _plain(f"{P}/systems/{SYSTEM}/risk-assessment/document?format=md"),
        "may not risk.read",
    ),
)


def _request_exception(charter: Charter, digest: str) -> int:
    """An exception to the release requested by the developer (its id)."""
    with charter.db.transaction(write=True) as session:
        stored = session.scalar(select(Release).where(Release.digest == digest))
        requested_at = charter.clock()
        item = PolicyException(
            release_id=stored.id,
            control_id="offline-evaluation",
            environment="prod",
            justification="vendor outage",
            compensating="manual review",
            status="requested",
            expires_at=requested_at + timedelta(days=14),
            policy_version=1,
            requested_by="developer",
            requested_at=requested_at,
            decided_by=None,
            decided_at=None,
            decision_note="",
        )
        session.add(item)
        session.flush()
        return item.id


@pytest.fixture
def world(charter, release: str) -> World:
    """The seeded release, and an exception to it requested by the developer."""
    return World(digest=release, exception_id=_request_exception(charter, release))


@dataclass(frozen=True)
class Seeded:
    """The matrix's world built once: a SQLite file to copy, its users' tokens."""

    path: Path
    tokens: dict[str, str]
    world: World


@pytest.fixture(scope="module")
def seeded_world(tmp_path_factory: pytest.TempPathFactory, migrated_template: Any) -> Seeded | None:
    """On SQLite, the world seeded once for the module (users, a system and a release made
    over HTTP, an exception) and copied for each test: seeding was most of each of the
    ~550 tests' time. None on PostgreSQL, where each test seeds its own schema."""
    if BACKEND != "sqlite":
        return None
    path = tmp_path_factory.mktemp("matrix") / "seeded.db"
    _copy_sqlite(migrated_template, path)
    database = Database(f"sqlite:///{path}")
    charter = Charter(database, clock=FakeClock())
    tokens = users_per_role(charter, charter.clock)  # type: ignore[arg-type]
    developer = {"Authorization": f"Bearer {tokens['developer']}"}
    with TestClient(create_app(charter), base_url="http://testserver") as client:
        body = {"name": SYSTEM, "owner": "risk team", "purpose": "credit limits"}
        assert client.post(f"{API}/systems", json=body, headers=developer).status_code == 201
        made = client.post(
            f"{API}/systems/{SYSTEM}/releases", json=manifest_body("1"), headers=developer
        )
        assert made.status_code == 201, made.text
    digest = made.json()["digest"]
    world = World(digest=digest, exception_id=_request_exception(charter, digest))
    database.dispose()
    return Seeded(path=path, tokens=tokens, world=world)


def _copy_sqlite(source: Path, target: Path) -> None:
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@dataclass(frozen=True)
class Matrix:
    """What a matrix test talks to: the client, tokens by role, the world, an audit count."""

    client: Any
    auth: Callable[[str], dict[str, str]]
    world: World
    audit_count: Callable[[], int]


@pytest.fixture
def matrix(
    request: pytest.FixtureRequest, tmp_path: Path, seeded_world: Seeded | None
) -> Iterator[Matrix]:
    """A fresh copy of the seeded world behind the real app (on PostgreSQL: seeded anew)."""
    if seeded_world is None:
        yield Matrix(
            request.getfixturevalue("client"),
            request.getfixturevalue("auth"),
            request.getfixturevalue("world"),
            request.getfixturevalue("audit_count"),
        )
        return
    path = tmp_path / "charter.db"
    _copy_sqlite(seeded_world.path, path)
    database = Database(f"sqlite:///{path}")
    charter = Charter(database, clock=FakeClock())

    def count() -> int:
        with charter.db.transaction(write=False) as session:
            return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)

    tokens = seeded_world.tokens
    with TestClient(create_app(charter), base_url="http://testserver") as client:
        yield Matrix(
            client,
            lambda role: {"Authorization": f"Bearer {tokens[role]}"},
            seeded_world.world,
            count,
        )
    database.dispose()


def _flatten(routes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, looking inside included routers and mounts."""
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            # Recent FastAPI keeps an included router as one lazy entry of app.routes.
            yield from _flatten(route.effective_route_contexts())
        elif getattr(route, "routes", None) is not None:
            yield from _flatten(route.routes)
        elif getattr(route, "path", None) is not None:
            for method in route.methods or ():
                yield method, route.path


def test_matrix_covers_every_route(app, client) -> None:
    served = {
        (method, path)
        for method, path in _flatten(app.routes)
        if path.startswith(API + "/") and method != "HEAD"
    }
    # The OpenAPI document is a second, public view of the routes: the walk must see them all.
    schema = client.get(f"{API}/openapi.json").json()
    documented = {
        (m.upper(), path)
        for path, ops in schema["paths"].items()
        if path.startswith(API + "/")
        for m in ops
    }
    assert documented <= served, documented - served
    in_matrix = {(case.method, case.path) for case in MATRIX}
    assert served - in_matrix == set(), "routes without a row in the authorization matrix"
    assert in_matrix - served == set(), "matrix rows for routes the app does not serve"


def test_matrix_names_every_role() -> None:
    # A new role must be added to ROLES (and so to every row's decision) by hand.
    assert set(ROLES) == {role.value for role in Role}
    for case in MATRIX:
        if case.allowed != PUBLIC:
            assert case.allowed <= ALL, case.id
        if case.allowed not in (PUBLIC, ALL):
            assert case.needs, f"say what a refused role is told for {case.id}"


def _call(client, case: Case, world: World, headers: dict[str, str]):
    url, body = case.request(world)
    if body is None:
        return client.request(case.method, url, headers=headers)
    return client.request(case.method, url, json=body, headers=headers)


@pytest.mark.parametrize("who", [*ROLES, NO_TOKEN])
@pytest.mark.parametrize("case", MATRIX, ids=[case.id for case in MATRIX])
def test_role_matrix(matrix: Matrix, case: Case, who: str) -> None:
    client, auth, world, audit_count = matrix.client, matrix.auth, matrix.world, matrix.audit_count
    headers = {} if who == NO_TOKEN else auth(who)
    before = audit_count()
    response = _call(client, case, world, headers)
    assert response.status_code < 500, response.text
    if case.allowed == PUBLIC:
        assert response.status_code == 200, response.text
    elif who == NO_TOKEN:
        assert_problem(response, 401, "unauthenticated")
        assert audit_count() == before
    elif who in case.allowed:
        assert response.status_code != 401, response.text
        if case.strict:
            assert 200 <= response.status_code < 300, response.text
        elif response.status_code == 403:
            assert "may not" not in response.json()["detail"], response.text
    else:
        body = assert_problem(response, 403, "forbidden")
        assert case.needs in body["detail"], body
        assert audit_count() == before
