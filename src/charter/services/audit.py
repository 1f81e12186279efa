"""Appending to and reading the hash-chained audit log.

Every state change calls :func:`record` inside its own transaction, so the event and
the change commit or roll back together. Appends are serialised because write
transactions are (see ``charter.store.db``); :func:`append` takes the PostgreSQL lock
again (it is re-entrant) so that it stays safe even in a transaction opened otherwise.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from charter.domain.audit import GENESIS_HASH, ChainReport, event_hash, verify_chain
from charter.domain.canonical import canonical_json
from charter.domain.errors import BadInput
from charter.domain.roles import Permission
from charter.domain.text import iso_utc
from charter.services.context import Context
from charter.store.db import WRITE_LOCK_KEY
from charter.store.models import AuditEvent


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})


def head(session: Session) -> tuple[int, str]:
    """Return ``(seq, hash)`` of the newest event, ``(0, GENESIS_HASH)`` for an empty log."""
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def append(
    session: Session,
    *,
    actor: str,
    at: str,
    action: str,
    entity_type: str,
    entity_id: str,
    payload: dict[str, Any],
) -> AuditEvent:
    """Append one event to the chain within the caller's transaction."""
    _lock_chain(session)
    session.flush()
    last_seq, last_hash = head(session)
    body = canonical_json(payload)
    event = AuditEvent(
        seq=last_seq + 1,
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        payload=body,
        prev_hash=last_hash,
    )
    event.hash = event_hash(
        seq=event.seq,
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        payload=body,
        prev_hash=last_hash,
    )
    session.add(event)
    session.flush()
    return event


def record(
    ctx: Context, action: str, entity_type: str, entity_id: str, payload: dict[str, Any]
) -> AuditEvent:
    """Append an event acting as the context's user, with its role in the payload."""
    return append(
        ctx.session,
        actor=ctx.actor.name,
        at=iso_utc(ctx.now()),
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        payload={"role": ctx.actor.role.value, **payload},
    )


_VERIFY_QUERY = (
    "SELECT seq, at, actor, action, entity_type, entity_id, payload, prev_hash, hash "
    "FROM audit_events ORDER BY seq"
)


def verify(ctx: Context, *, anchor: tuple[int, str] | None = None) -> ChainReport:
    """Recompute the whole chain and report the first broken link.

    Rows stream through a plain DB-API cursor (a server-side one on PostgreSQL), so memory
    stays flat however long the log is, and no ORM row objects are built for a million
    events. The cursor is closed even when verification stops early.
    """
    ctx.require(Permission.AUDIT_READ)
    connection = ctx.session.connection()
    raw: Any = connection.connection.dbapi_connection
    cursor: Any
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name="charter_audit_verify")
        cursor.itersize = 20_000
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(_VERIFY_QUERY)
        return verify_chain(cursor, anchor=anchor)
    finally:
        cursor.close()


def parse_anchor(value: str) -> tuple[int, str]:
    """Parse an anchor written as ``SEQ:HASH`` (what ``charter audit head`` prints)."""
    seq_text, _, hash_text = value.partition(":")
    if not seq_text.isdigit() or len(hash_text) != 64:
        raise BadInput(f"invalid anchor {value!r}: expected SEQ:HASH as printed by `audit head`")
    return int(seq_text), hash_text.lower()


def current_head(ctx: Context) -> tuple[int, str]:
    """Return the chain head for anchoring outside the database."""
    ctx.require(Permission.AUDIT_READ)
    return head(ctx.session)


def events(
    ctx: Context,
    *,
    limit: int = 50,
    offset: int = 0,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
) -> tuple[list[AuditEvent], int]:
    """Return a page of events, newest first, and the total count matching the filters."""
    ctx.require(Permission.AUDIT_READ)
    query = select(AuditEvent)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    if action:
        query = query.where(AuditEvent.action == action)
    total = ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = ctx.session.scalars(
        query.order_by(AuditEvent.seq.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total
