"""A system's share of the audit chain, for evidence packs.

The pack carries the system's own events in full and the links (``[seq, prev_hash,
hash]``) of every event from the first of them to the head: enough for a verifier with no
database to check that the events sit in one unbroken chain, without other systems'
payloads.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from charter.services.context import Context
from charter.services.dossier import Row
from charter.store.models import AuditEvent, PolicyException, Release, System


def audit_rows(ctx: Context, system: System) -> tuple[list[Row], list[list[Any]]]:
    """The system's audit events in full, and the chain's links from its first event on.

    Events are the system's own (entity ``SYSTEM`` or ``SYSTEM@...``, its exceptions) and
    the policy versions applied. The links are ``[seq, prev_hash, hash]`` of every event
    from the first of those to the head, so a verifier with no database can check that
    they sit in one unbroken chain ending at the head, without seeing other systems'
    payloads.
    """
    name = system.name
    exception_ids = [
        str(i)
        for i in ctx.session.scalars(
            select(PolicyException.id)
            .join(Release, Release.id == PolicyException.release_id)
            .where(Release.system_id == system.id)
        )
    ]
    mine = (
        AuditEvent.entity_id.startswith(f"{name}@")
        | ((AuditEvent.entity_id == name) & AuditEvent.entity_type.in_(("system", "release")))
        | (AuditEvent.entity_type == "policy")
    )
    if exception_ids:
        mine = mine | (
            (AuditEvent.entity_type == "exception") & AuditEvent.entity_id.in_(exception_ids)
        )
    events: list[Row] = [
        {
            "seq": e.seq,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "entity_type": e.entity_type,
            "entity_id": e.entity_id,
            "payload": e.payload,
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }
        for e in ctx.session.scalars(select(AuditEvent).where(mine).order_by(AuditEvent.seq))
    ]
    if not events:
        return [], []
    return events, chain_links(ctx, int(events[0]["seq"]))


def chain_links(ctx: Context, first_seq: int) -> list[list[Any]]:
    """``[seq, prev_hash, hash]`` of every event from ``first_seq`` to the head."""
    return [
        [int(seq), prev, current]
        for seq, prev, current in ctx.session.execute(
            select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash)
            .where(AuditEvent.seq >= first_seq)
            .order_by(AuditEvent.seq)
        )
    ]
