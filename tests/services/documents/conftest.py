"""Fixtures of the documents tests: the realistic history of :mod:`.support`."""

from __future__ import annotations

from typing import Any

import pytest
from tests.services.documents.support import build_history


@pytest.fixture
def history(charter: Any, act: Any, clock: Any, tokens: dict[str, str]) -> dict[str, str]:
    return build_history(charter, act, clock, tokens)
