"""Fixtures for the attack tests: the API fixtures (real app, one token per role) and a CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.api.conftest import app, audit_count, auth, client, release, seed_release, seed_system
from tests.cli_runner import Cli
from tests.services.conftest import policy, system

__all__ = [
    "app",
    "audit_count",
    "auth",
    "client",
    "policy",
    "release",
    "seed_release",
    "seed_system",
    "system",
]


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    """The real `charter` command in a subprocess, on this test's database."""
    return Cli(tmp_path / "home", database_url)
