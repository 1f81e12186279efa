"""The stored form of API tokens (a module of its own so that `charter status` checks a
token without importing the service layer)."""

from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
