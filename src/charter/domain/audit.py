"""The audit chain: how an event's hash is computed and how a chain is checked.

Each event's hash covers every stored field and the previous event's hash::

    hash = SHA-256( JCS([seq, at, actor, action, entity_type, entity_id, prev_hash])
                    || "\\n" || payload )

where ``payload`` is the event's canonical JSON text (RFC 8785) exactly as stored, and
the first event's ``prev_hash`` is 64 zeros. Changing, deleting, inserting or reordering
any row breaks a link that :func:`verify_chain` reports. Deleting the tail, deleting
everything, or rewriting the chain and re-hashing it are only caught against heads
recorded outside the database: anchors (``charter audit head``) or signed checkpoints
(``charter audit checkpoint``, see :mod:`charter.domain.checkpoints`).

A chain can also be checked in pieces (:func:`verify_segment`, one per range of ``seq``,
e.g. one per core) and the pieces joined (:func:`join_segments`): each event's own hash
depends only on its row, so only the links between pieces are left to compare.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring

GENESIS_HASH = "0" * 64
#: Encodes the hashed header when an event is written (any string, any integer).
_HEADER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: Marks a payload that records row digests (see :mod:`charter.domain.row_hashes`). A key
#: inside a JSON string has its quotes escaped, so only a real key matches.
ROWS_MARK = '"row_digests":{'

Row = tuple[int, str, str, str, str, str, str, str, str]


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
    #: Anchors and checkpoints the chain was checked against, and the newest seq they cover.
    anchors: int = 0
    covered_seq: int = 0


@dataclass
class Segment:
    """What checking one run of consecutive rows found (see :func:`verify_segment`)."""

    first_seq: int | None = None
    first_prev: str | None = None
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    count: int = 0
    #: The first problem inside the segment: (seq, reason, rows checked before it).
    error: tuple[int, str, int] | None = None
    #: Anchors met: seq -> True when the hash matched.
    anchors_seen: dict[int, bool] = field(default_factory=dict)
    #: Payloads recording row digests: (seq, payload).
    row_payloads: list[tuple[int, str]] = field(default_factory=list)


_DELETED = "event(s) deleted"
_LINK = (
    "prev_hash does not match the previous event's hash: an event was "
    "inserted, deleted or reordered before this one"
)
_CHANGED = "stored hash does not match the event's content: the event was changed"
_REWRITTEN = (
    "the event's hash differs from the one recorded outside the database: the chain was "
    "rewritten and re-hashed from this event or before it"
)


def verify_segment(
    rows: Iterable[Row],
    *,
    start_seq: int = 1,
    anchors: Mapping[int, str] | None = None,
    collect_rows: bool = False,
) -> Segment:
    """Check rows in ``seq`` order that should start at ``start_seq``.

    Checks that seq numbers are consecutive, that each ``prev_hash`` is the previous row's
    hash (the first row's is left to :func:`join_segments`), that each stored hash is the
    row's own, and that anchored events carry their anchored hash. Stops at the first
    problem. The loop is the hot path of ``audit verify``: one f-string and one SHA-256 per
    row. ``prev_hash`` is compared with a known hex hash before it is hashed, so it can be
    placed in the header without escaping.
    """
    out = Segment()
    anchors = anchors or {}
    expected_seq = start_seq
    prev: str | None = None
    sha256 = hashlib.sha256
    q = encode_basestring
    mark = ROWS_MARK
    payloads = out.row_payloads
    for seq, at, actor, action, entity_type, entity_id, payload, prev_hash, stored in rows:
        if seq != expected_seq:
            reason = (
                f"sequence jumps from {expected_seq - 1} to {seq}: {_DELETED}"
                if seq > expected_seq
                else f"sequence {seq} out of order after {expected_seq - 1}"
            )
            out.error = (seq, reason, out.count)
            break
        if prev is None:
            out.first_seq, out.first_prev = seq, prev_hash
            if len(prev_hash) != 64 or prev_hash.strip("0123456789abcdef"):
                out.error = (seq, _LINK, out.count)
                break
        elif prev_hash != prev:
            out.error = (seq, _LINK, out.count)
            break
        computed = sha256(
            f'[{seq},{q(at)},{q(actor)},{q(action)},{q(entity_type)},{q(entity_id)},"{prev_hash}"]'
            f"\n{payload}".encode()
        ).hexdigest()
        if computed != stored:
            out.error = (seq, _CHANGED, out.count)
            break
        if seq in anchors:
            matched = anchors[seq] == stored
            out.anchors_seen[seq] = matched
            if not matched:
                out.error = (seq, _REWRITTEN, out.count)
                break
        if collect_rows and mark in payload:
            payloads.append((seq, payload))
        prev = stored
        out.last_seq, out.last_hash = seq, stored
        expected_seq += 1
        out.count += 1
    return out


def join_segments(
    segments: Sequence[Segment],
    *,
    anchors: Mapping[int, str] | None = None,
    describe: Callable[[int], str] | None = None,
) -> ChainReport:
    """Join consecutive segments (in order) into one report on the whole chain.

    ``describe(seq)`` names where an anchor came from (e.g. "the checkpoint of 12:00").
    """
    anchors = anchors or {}
    count = 0
    head_seq, prev = 0, GENESIS_HASH

    def broken(seq: int, reason: str, before: int) -> ChainReport:
        return ChainReport(
            ok=False,
            events=count + before,
            head_seq=head_seq,
            head_hash=prev,
            broken_seq=seq,
            reason=reason,
            anchors=len(anchors),
            covered_seq=max(anchors, default=0),
        )

    for segment in segments:
        first = segment.first_seq
        if first is not None and first != head_seq + 1:
            # Rows missing between two ranges: named as one pass would name them.
            reason = (
                f"sequence jumps from {head_seq} to {first}: {_DELETED}"
                if first > head_seq + 1
                else f"sequence {first} out of order after {head_seq}"
            )
            return broken(first, reason, 0)
        if first is not None and segment.first_prev != prev:
            return broken(first, _LINK, 0)
        if segment.count:
            head_seq, prev = segment.last_seq, segment.last_hash
        if segment.error is not None:
            seq, reason, before = segment.error
            if before == 0 and reason.startswith("sequence jumps"):
                reason = f"sequence jumps from {head_seq} to {seq}: {_DELETED}"
            return broken(seq, reason, before)
        count += segment.count
    missing = sorted(s for s in anchors if s > head_seq)
    if missing:
        newest = missing[-1]
        source = (
            describe(newest)
            if describe
            else "a head recorded outside the database (a checkpoint or `audit head`)"
        )
        what = (
            "every event was deleted: the log is empty"
            if head_seq == 0
            else f"events {head_seq + 1}..{newest} (at least) were deleted: the log ends at "
            f"event {head_seq}"
        )
        return broken(
            head_seq + 1,
            f"the chain was truncated: {what}, but {source} shows event {newest} existed",
            0,
        )
    return ChainReport(
        ok=True,
        events=count,
        head_seq=head_seq,
        head_hash=prev,
        anchors=len(anchors),
        covered_seq=max(anchors, default=0),
    )


def verify_chain(
    rows: Iterable[Row],
    *,
    anchor: tuple[int, str] | None = None,
    anchors: Mapping[int, str] | None = None,
) -> ChainReport:
    """Recompute the chain from rows in ``seq`` order and report the first broken link.

    ``rows`` yields ``(seq, at, actor, action, entity_type, entity_id, payload, prev_hash,
    hash)``. ``anchor`` (one ``(seq, hash)``) and ``anchors`` (``{seq: hash}``) are heads
    recorded outside the database: each anchored event must still carry that hash.
    """
    merged = dict(anchors or {})
    if anchor is not None:
        merged[anchor[0]] = anchor[1]
    return join_segments([verify_segment(rows, anchors=merged)], anchors=merged)
