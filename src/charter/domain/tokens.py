"""The stored form of API tokens (a module of its own so that `charter status` checks a
token without importing the service layer)."""

from __future__ import annotations

import hashlib


def token_is_live(disabled: bool, revoked_at: object) -> bool:
    """Whether a token found by its hash may act: not revoked, and its user not disabled
    (the rule of every login: the service layer's and `charter status`'s fast path)."""
    return not disabled and revoked_at is None


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
