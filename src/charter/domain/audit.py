"""The audit chain: how an event's hash is computed and how a chain is checked.

Each event's hash covers every stored field and the previous event's hash::

    hash = SHA-256( JCS([seq, at, actor, action, entity_type, entity_id, prev_hash])
                    || "\\n" || payload )

where ``payload`` is the event's canonical JSON text (RFC 8785) exactly as stored, and
the first event's ``prev_hash`` is 64 zeros. Changing, deleting, inserting or reordering
any row breaks a link that :func:`verify_chain` reports. Rewriting the whole tail is only
caught against a head anchored outside the database (``charter audit head``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS_HASH = "0" * 64
#: Encodes the hashed header. It holds only strings and integers, for which this encoder
#: writes exactly the RFC 8785 form, much faster than a general canonicaliser.
_HEADER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def event_hash(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    payload: str,
    prev_hash: str,
) -> str:
    """Return the hex hash of one audit event (the formula is in the module docstring)."""
    header = _HEADER.encode([seq, at, actor, action, entity_type, entity_id, prev_hash])
    return hashlib.sha256(f"{header}\n{payload}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of verifying a chain: ok, or the first broken link and why."""

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None


def verify_chain(
    rows: Iterable[tuple[int, str, str, str, str, str, str, str, str]],
    *,
    anchor: tuple[int, str] | None = None,
) -> ChainReport:
    """Recompute the chain from rows in ``seq`` order and report the first broken link.

    ``rows`` yields ``(seq, at, actor, action, entity_type, entity_id, payload, prev_hash,
    hash)``. ``anchor`` is an optional ``(seq, hash)`` recorded outside the database: the
    event at ``seq`` must still carry that hash.
    """
    expected_seq = 1
    prev = GENESIS_HASH
    count = 0
    anchor_seen = anchor is None
    sha256 = hashlib.sha256
    encode = _HEADER.encode
    for seq, at, actor, action, entity_type, entity_id, payload, prev_hash, stored in rows:
        if seq != expected_seq:
            reason = (
                f"sequence jumps from {expected_seq - 1} to {seq}: event(s) deleted"
                if seq > expected_seq
                else f"sequence {seq} out of order after {expected_seq - 1}"
            )
            return _broken(count, expected_seq - 1, prev, seq, reason)
        if prev_hash != prev:
            return _broken(
                count,
                seq - 1,
                prev,
                seq,
                "prev_hash does not match the previous event's hash: an event was "
                "inserted, deleted or reordered before this one",
            )
        header = encode([seq, at, actor, action, entity_type, entity_id, prev_hash])
        computed = sha256(f"{header}\n{payload}".encode()).hexdigest()
        if computed != stored:
            return _broken(
                count,
                seq - 1,
                prev,
                seq,
                "stored hash does not match the event's content: the event was changed",
            )
        if anchor is not None and seq == anchor[0]:
            if stored != anchor[1]:
                return _broken(
                    count,
                    seq - 1,
                    prev,
                    seq,
                    "the event's hash differs from the anchored hash: the chain was rewritten",
                )
            anchor_seen = True
        prev = stored
        expected_seq += 1
        count += 1
    if not anchor_seen:
        assert anchor is not None
        return _broken(
            count,
            count,
            prev,
            anchor[0],
            f"anchored event {anchor[0]} is missing: the chain was truncated",
        )
    return ChainReport(ok=True, events=count, head_seq=count, head_hash=prev)


def _broken(count: int, head_seq: int, head_hash: str, seq: int, reason: str) -> ChainReport:
    return ChainReport(
        ok=False,
        events=count,
        head_seq=head_seq,
        head_hash=head_hash,
        broken_seq=seq,
        reason=reason,
    )
