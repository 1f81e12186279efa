"""Row digests: the hash of one governed row's content, as recorded in the audit chain.

Every audit event that creates, changes or deletes a row of a governed table records the
row's digest in its payload (``"row_digests": {"decisions/7": DIGEST, ...}``, ``null`` for a
deleted row). ``audit verify`` recomputes every governed row's digest and compares it
with the latest one the chain recorded, so a row edited, inserted or deleted with SQL is
named even though the chain itself is intact.

The digest is SHA-256 of the JSON of ``[table, {column: value}]`` with sorted keys, no
whitespace, UTF-8, and NULL columns left out: a column added later as NULL leaves old
digests unchanged. Datetimes are written in UTC with microseconds, so SQLite (naive) and
PostgreSQL (aware) give the same digest. Python's C JSON encoder is used rather than
RFC 8785 (~10x slower per row): only Charter computes and compares these digests, and the
same encoder on both sides gives the same text for the same values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

#: The tables whose rows decide what Charter allows: who holds which role (users and
#: their tokens), systems and their intake, releases and their components, decisions,
#: exceptions, evidence and gate runs, policies, routes and deployments,
#: and each system's risk register with its history.
GOVERNED_TABLES: tuple[str, ...] = (
    "users",
    "api_tokens",
    "systems",
    "releases",
    "components",
    "decisions",
    "policy_exceptions",
    "evidence",
    "gate_runs",
    "policy_versions",
    "routes",
    "deployments",
    "rollouts",
    "risks",
    "risk_revisions",
)


def row_key(table: str, row_id: int) -> str:
    """The key a row's digest is recorded under: ``table/id``."""
    return f"{table}/{row_id}"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def row_digest(table: str, values: Mapping[str, Any]) -> str:
    """Return the digest of one row given its column values (NULLs are left out)."""
    content = {name: _plain(value) for name, value in values.items() if value is not None}
    text = _ENCODER.encode([table, content])
    return hashlib.sha256(text.encode()).hexdigest()


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
