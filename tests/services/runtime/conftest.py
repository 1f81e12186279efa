"""Fixtures of the serving-path tests: the default pack, a registered high-tier system, and
the real API under uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.conftest import FakeClock
from tests.helpers import ThreadedServer

from charter.api.app import create_app
from charter.services import policies

from .support import register


@pytest.fixture
def policy(charter: Any, tokens: dict[str, str]) -> None:
    with charter.act(tokens["admin"], write=True) as ctx:
        policies.apply_policy(ctx, policies.default_pack(), "default.yaml")


@pytest.fixture
def system(policy: None, act: Any) -> str:
    register(act)
    return "credit-limit"


@pytest.fixture
def server(charter: Any) -> Iterator[ThreadedServer]:
    running = ThreadedServer(create_app(charter))
    yield running
    running.close()


@pytest.fixture
def clock() -> FakeClock:
    """The server's clock starts at the real time here: the SDK stamps records with the
    wall clock, and the server refuses event times more than minutes in its future."""
    return FakeClock(datetime.now(UTC))
