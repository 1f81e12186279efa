"""Row digests on write (a flush hook feeding the next audit event) and on verify.

Every flush of a session notes the governed rows it inserted, updated or deleted
(:func:`_collect`, an ``after_flush`` hook on every session); the next audit event
appended in that session records their digests, read back from the database so they are
exactly what :func:`cross_check` will recompute. Changes flushed after the transaction's
last event are recorded at commit by one more event by the same actor (``audit.rows``),
so no audited transaction leaves a governed row unrecorded. A write with no audit event
at all is left unrecorded on purpose: ``audit verify`` names the row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import Table, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from charter.domain.errors import CharterError
from charter.domain.row_hashes import GOVERNED_TABLES, row_digest, row_key
from charter.store.models import Base

ROWS_KEY = "row_digests"
_PENDING = "charter_pending_rows"
_GOVERNED = frozenset(GOVERNED_TABLES)
#: Rows digested per query when verifying.
_BATCH = 5_000


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    pending: dict[tuple[str, int], None] | None = session.info.get(_PENDING)
    for obj in chain(session.new, session.dirty, session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in _GOVERNED:
            # Identities are assigned after this hook; the primary key is already set.
            row_id = getattr(obj, "id", None)
            if row_id is None:
                continue
            if pending is None:
                pending = session.info[_PENDING] = {}
            pending[(table, int(row_id))] = None


def take_pending(session: Session) -> dict[str, str | None]:
    """The digests of the governed rows flushed since the last event (None: deleted)."""
    pending: dict[tuple[str, int], None] | None = session.info.pop(_PENDING, None)
    if not pending:
        return {}
    by_table: dict[str, list[int]] = {}
    for table, row_id in pending:
        by_table.setdefault(table, []).append(row_id)
    connection = session.connection()
    out: dict[str, str | None] = {}
    for name, ids in by_table.items():
        found = {key: value for key, value in digests(connection, name, ids)}
        for row_id in sorted(ids):
            key = row_key(name, row_id)
            out[key] = found.get(key)
    return out


def take_pending_keys(session: Session) -> None:
    """Forget the rows noted so far (their transaction rolled back)."""
    session.info.pop(_PENDING, None)


def has_pending(session: Session) -> bool:
    """True when governed rows were flushed after the session's last audit event."""
    return bool(session.info.get(_PENDING))


def digests(
    connection: Connection,
    name: str,
    ids: Iterable[int] | None = None,
    *,
    columns: Iterable[str] | None = None,
) -> Iterator[tuple[str, str]]:
    """Yield ``(key, digest)`` for rows of table ``name`` (all of them without ``ids``).

    ``columns`` limits the model's columns to those a database has (a migration reads a
    schema older than the models).
    """
    table = _table(name)
    chosen = list(table.columns)
    if columns is not None:
        keep = set(columns)
        chosen = [column for column in chosen if column.name in keep]
    query = select(*chosen).order_by(table.c.id)
    if ids is not None:
        query = query.where(table.c.id.in_(list(ids)))
    result = connection.execute(query.execution_options(yield_per=_BATCH))
    for row in result.mappings():
        yield row_key(name, int(row["id"])), safe_digest(name, row)


def safe_digest(name: str, row: Any) -> str:
    """A row's digest; a value no canonical JSON can hold (planted with SQL) still yields
    a digest, one that matches nothing recorded."""
    try:
        return row_digest(name, row)
    except (CharterError, TypeError, ValueError):
        return "invalid:" + hashlib.sha256(repr(dict(row)).encode()).hexdigest()


@dataclass(frozen=True)
class RowFinding:
    """One governed row that does not match the chain."""

    row: str
    problem: str
    seq: int | None


def recorded_rows(payloads: Iterable[tuple[int, str]]) -> dict[str, tuple[str | None, int]]:
    """The latest recorded digest of every row, with the seq of the event that recorded it."""
    recorded: dict[str, tuple[str | None, int]] = {}
    for seq, payload in payloads:
        try:
            rows = json.loads(payload).get(ROWS_KEY)
        except (ValueError, AttributeError):
            continue
        if isinstance(rows, dict):
            for key, value in rows.items():
                recorded[str(key)] = (value if isinstance(value, str) else None, seq)
    return recorded


def cross_check(
    connection: Connection, recorded: dict[str, tuple[str | None, int]]
) -> tuple[int, list[RowFinding]]:
    """Compare every governed row with the chain: ``(rows checked, findings)``.

    A row differs (its content is not what the last event about it recorded), has no
    event (it was inserted or changed without one), or is missing (the chain recorded it
    and nothing recorded its deletion).
    """
    findings: list[RowFinding] = []
    checked = 0
    seen: set[str] = set()
    for name in GOVERNED_TABLES:
        for key, value in digests(connection, name):
            checked += 1
            seen.add(key)
            entry = recorded.get(key)
            if entry is None:
                findings.append(RowFinding(key, "no audit event recorded this row", None))
            elif entry[0] != value:
                findings.append(
                    RowFinding(
                        key,
                        "the row differs from what the audit chain recorded"
                        if entry[0] is not None
                        else "the chain recorded this row's deletion, but it exists",
                        entry[1],
                    )
                )
    for name, (recorded_digest, seq) in recorded.items():
        if recorded_digest is not None and name not in seen and name.split("/", 1)[0] in _GOVERNED:
            findings.append(RowFinding(name, "the row was deleted without an audit event", seq))
    findings.sort(key=lambda f: (GOVERNED_TABLES.index(f.row.split("/", 1)[0]), _num(f.row)))
    return checked, findings


def _num(key: str) -> int:
    tail = key.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 0


BASELINE_CHUNK = 5_000


def record_baseline(connection: Connection, reason: str) -> int:
    """Append ``audit.baseline`` events recording the digest of every governed row.

    For migrations: one that adds rows or back-fills a governed column outside the
    services calls this last, so the chain records the migrated state (and says why).
    Reads only the tables and columns the database has. Returns the events appended.
    """
    from datetime import UTC, datetime

    from sqlalchemy import inspect, text

    from charter.domain.audit import GENESIS_HASH, event_hash
    from charter.domain.canonical import canonical_json
    from charter.domain.text import iso_utc

    inspector = inspect(connection)
    found: dict[str, str] = {}
    for name in GOVERNED_TABLES:
        if not inspector.has_table(name):
            continue  # a governed table a later migration creates
        columns = [column["name"] for column in inspector.get_columns(name)]
        found.update(digests(connection, name, columns=columns))
    if not found:
        return 0
    head = connection.execute(
        text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    ).first()
    seq, prev = (0, GENESIS_HASH) if head is None else (int(head[0]), str(head[1]))
    at = iso_utc(datetime.now(UTC))
    keys = list(found)
    appended = 0
    for start in range(0, len(keys), BASELINE_CHUNK):
        chunk = {key: found[key] for key in keys[start : start + BASELINE_CHUNK]}
        seq += 1
        fields = {
            "seq": seq,
            "at": at,
            "actor": "charter",
            "action": "audit.baseline",
            "entity_type": "audit",
            "entity_id": "baseline",
            "payload": canonical_json({"reason": reason, ROWS_KEY: chunk}),
            "prev_hash": prev,
        }
        digest = event_hash(**fields)  # type: ignore[arg-type]
        connection.execute(
            text(
                "INSERT INTO audit_events (seq, at, actor, action, entity_type, entity_id, "
                "payload, prev_hash, hash) VALUES (:seq, :at, :actor, :action, :entity_type, "
                ":entity_id, :payload, :prev_hash, :hash)"
            ),
            {**fields, "hash": digest},
        )
        prev = digest
        appended += 1
    return appended
