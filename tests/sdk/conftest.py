"""Fixtures of the SDK tests: a deployed high-tier system behind the real API, and a
misbehaving control plane (a separate process) in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from charter.api.app import create_app
from charter.services import policies
from tests.conftest import FakeClock
from tests.helpers import ThreadedServer
from tests.services.runtime.support import register, release_from, write_release

from .support import FaultProxy


@pytest.fixture
def deployed(charter: Any, act: Any, tokens: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """The default pack, credit-limit (high tier) deployed in prod; its release file."""
    with charter.act(tokens["admin"], write=True) as ctx:
        policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
    register(act)
    path = write_release(tmp_path / "release")
    ref = release_from(charter, act, path)
    return {"ref": ref, "digest": ref.split("@")[1], "path": path}


@pytest.fixture
def server(charter: Any) -> Iterator[ThreadedServer]:
    running = ThreadedServer(create_app(charter))
    yield running
    running.close()


@pytest.fixture
def proxy(server: ThreadedServer) -> Iterator[FaultProxy]:
    faulty = FaultProxy(server.url)
    yield faulty
    faulty.close()


@pytest.fixture
def dead_end() -> Iterator[FaultProxy]:
    """A misbehaving server with nothing behind it."""
    faulty = FaultProxy()
    yield faulty
    faulty.close()


@pytest.fixture
def clock() -> FakeClock:
    """The server's clock starts at the real time here: the SDK stamps records with the
    wall clock, and the server refuses event times more than minutes in its future."""
    return FakeClock(datetime.now(UTC))
