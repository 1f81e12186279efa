"""Fixtures for the HTTP API tests: the real ASGI app behind a TestClient, plus seeders.

Every test gets a fresh, migrated database (see ``tests/conftest.py``) with one user per
role; ``auth("developer")`` gives the headers that act as that user. Seeding goes through
HTTP too, so these tests exercise only the public interface.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.exceptions import StarletteDeprecationWarning
from tests.api.support import API, SYSTEM, Headers, manifest_body

from charter.api.app import create_app
from charter.services.context import Charter
from charter.store.models import AuditEvent

with warnings.catch_warnings():
    # Starlette 1.x warns at import when its TestClient finds `httpx` rather than `httpx2`.
    # The project depends on httpx; the client works the same. Silence only that warning
    # (it disappears once httpx2 is installed).
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient` is deprecated",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient


@pytest.fixture
def app(charter: Charter) -> FastAPI:
    """The API app around the test database and fake clock."""
    return create_app(charter)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client speaking to the ASGI app in-process (server errors raise in the test)."""
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def auth(tokens: dict[str, str]) -> Callable[[str], Headers]:
    """``auth("approver")``: the Authorization header of that role's user."""

    def _auth(role: str) -> Headers:
        return {"Authorization": f"Bearer {tokens[role]}"}

    return _auth


@pytest.fixture
def audit_count(charter: Charter) -> Callable[[], int]:
    """Count audit events straight from the database (to prove a request wrote nothing)."""

    def _count() -> int:
        with charter.db.transaction(write=False) as session:
            return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)

    return _count


@pytest.fixture
def seed_system(client: TestClient, auth: Callable[[str], Headers]) -> Callable[..., str]:
    """Register a system over HTTP (as the developer by default) and return its name."""

    def _seed(name: str = SYSTEM, role: str = "developer", **fields: Any) -> str:
        body = {"name": name, "owner": "risk team", "purpose": "credit limits", **fields}
        response = client.post(f"{API}/systems", json=body, headers=auth(role))
        assert response.status_code == 201, response.text
        return name

    return _seed


@pytest.fixture
def seed_release(client: TestClient, auth: Callable[[str], Headers]) -> Callable[..., str]:
    """Create a release over HTTP (as the developer by default) and return its full digest."""

    def _seed(seed: str = "1", system: str = SYSTEM, role: str = "developer") -> str:
        response = client.post(
            f"{API}/systems/{system}/releases", json=manifest_body(seed), headers=auth(role)
        )
        assert response.status_code == 201, response.text
        digest: str = response.json()["digest"]
        return digest

    return _seed


@pytest.fixture
def release(seed_system: Callable[..., str], seed_release: Callable[..., str]) -> str:
    """The digest of a release of ``credit-limit`` created by the developer."""
    seed_system()
    return seed_release()
