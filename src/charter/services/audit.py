"""Appending to and reading the hash-chained audit log.

Every state change calls :func:`record` inside its own transaction, so the event and
the change commit or roll back together. Appends are serialised because write
transactions are (see ``charter.store.db``); :func:`append` takes the PostgreSQL lock
again (it is re-entrant) so that it stays safe even in a transaction opened otherwise.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from charter.domain.audit import GENESIS_HASH, event_hash
from charter.domain.canonical import canonical_json
from charter.domain.errors import BadInput
from charter.domain.roles import Permission
from charter.domain.text import iso_utc
from charter.services import row_hashes
from charter.services.audit_verify import VerifyReport, run
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
    """Append one event to the chain within the caller's transaction.

    The digests of the governed rows flushed since the session's previous event are
    recorded in the payload (``row_digests``), so ``audit verify`` can check the state.
    """
    _lock_chain(session)
    session.flush()
    last_seq, last_hash = head(session)
    digests = row_hashes.take_pending(session)
    if digests:
        payload = {**payload, row_hashes.ROWS_KEY: digests}
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
    session.info[_LAST_EVENT] = (actor, at)
    return event


_LAST_EVENT = "charter_last_audit_event"


@orm_event.listens_for(Session, "before_commit")
def _rows_at_commit(session: Session) -> None:
    """Record rows changed after the transaction's last event in one more event."""
    last = session.info.get(_LAST_EVENT)
    if last is None:
        return
    session.flush()
    if row_hashes.has_pending(session):
        append(
            session,
            actor=last[0],
            at=last[1],
            action="audit.rows",
            entity_type="audit",
            entity_id="rows",
            payload={},
        )
    session.info.pop(_LAST_EVENT, None)


@orm_event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_LAST_EVENT, None)
    row_hashes.take_pending_keys(session)


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


def verify(
    ctx: Context,
    *,
    anchor: tuple[int, str] | None = None,
    anchors: dict[int, str] | None = None,
    state: bool = True,
    workers: int | None = None,
) -> VerifyReport:
    """Recompute the whole chain, check it against anchors recorded outside the database
    (``anchor`` and ``anchors``: heads from ``audit head`` or signed checkpoints) and, with
    ``state``, check every governed row against the digest the chain recorded for it.

    See :mod:`charter.services.audit_verify` for how it is read and spread over cores.
    """
    ctx.require(Permission.AUDIT_READ)
    merged = dict(anchors or {})
    if anchor is not None:
        merged[anchor[0]] = anchor[1]
    return run(ctx.session.connection(), anchors=merged, state=state, workers=workers)


def parse_anchor(value: str) -> tuple[int, str]:
    """Parse an anchor written as ``SEQ:HASH`` (what ``charter audit head`` prints)."""
    seq_text, _, hash_text = value.strip().partition(":")
    if not seq_text.isdigit() or len(hash_text) != 64 or hash_text.strip("0123456789abcdefABCDEF"):
        raise BadInput(f"invalid anchor {value!r}: expected SEQ:HASH as printed by `audit head`")
    return int(seq_text), hash_text.lower()


#: Anchors one verify accepts (a checkpoint sink is reduced to this many).
MAX_ANCHORS = 32


def parse_anchors(value: str) -> dict[int, str]:
    """Parse ``SEQ:HASH[,SEQ:HASH...]``; two different hashes for one seq are refused."""
    parts = [part for part in value.split(",") if part.strip()]
    if len(parts) > MAX_ANCHORS:
        raise BadInput(f"at most {MAX_ANCHORS} anchors, got {len(parts)}")
    out: dict[int, str] = {}
    for part in parts:
        seq, digest = parse_anchor(part)
        if out.get(seq, digest) != digest:
            raise BadInput(f"two different hashes are anchored at event {seq}")
        out[seq] = digest
    return out


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
