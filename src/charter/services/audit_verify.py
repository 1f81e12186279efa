"""``audit verify``: the chain recomputed (across cores when it is long), then the state.

The chain is read in ranges of ``seq``, one per worker process, each on its own database
connection: every event's own hash depends only on its row, so the workers recompute
them independently and :func:`charter.domain.audit.join_segments` compares the links
between ranges afterwards. Short chains (and platforms without ``fork``) are checked in
this process. Then every governed row is compared with the digest the chain last
recorded for it (:mod:`charter.services.row_hashes`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from charter.domain.audit import ChainReport, Segment, join_segments, verify_segment
from charter.services import row_hashes

_COLUMNS = "seq, at, actor, action, entity_type, entity_id, payload, prev_hash, hash"
#: Below this many events one process is faster than starting workers.
PARALLEL_MIN_EVENTS = 150_000
_FETCH = 20_000


@dataclass(frozen=True)
class VerifyReport:
    """The chain's report and, when the state was checked, the rows that do not match."""

    chain: ChainReport
    rows_checked: int | None = None
    row_findings: list[row_hashes.RowFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the chain is intact and every governed row matches it."""
        return self.chain.ok and not self.row_findings

    @property
    def events(self) -> int:
        """Events verified."""
        return self.chain.events

    @property
    def head_seq(self) -> int:
        """The last good event's seq."""
        return self.chain.head_seq

    @property
    def head_hash(self) -> str:
        """The last good event's hash."""
        return self.chain.head_hash

    @property
    def broken_seq(self) -> int | None:
        """The first broken event, or the event that recorded the first differing row."""
        if not self.chain.ok:
            return self.chain.broken_seq
        return self.row_findings[0].seq if self.row_findings else None

    @property
    def reason(self) -> str | None:
        """What is wrong, first problem first."""
        if not self.chain.ok:
            return self.chain.reason
        if not self.row_findings:
            return None
        first = self.row_findings[0]
        more = len(self.row_findings) - 1
        return f"{first.row}: {first.problem}" + (f" (and {more} more rows)" if more else "")


def default_workers() -> int:
    """Worker processes: ``CHARTER_VERIFY_WORKERS``, else the machine's cores (at most 8)."""
    configured = os.environ.get("CHARTER_VERIFY_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, min(os.cpu_count() or 1, 8))


def run(
    connection: Connection,
    *,
    anchors: Mapping[int, str] | None = None,
    state: bool = True,
    workers: int | None = None,
) -> VerifyReport:
    """Verify the chain on ``connection``'s database, then (``state``) every governed row."""
    anchors = dict(anchors or {})
    workers = default_workers() if workers is None else workers
    high, total = connection.exec_driver_sql("SELECT max(seq), count(*) FROM audit_events").one()
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    url = connection.engine.url
    if (
        workers > 1
        and can_fork
        and int(total or 0) >= PARALLEL_MIN_EVENTS
        and url.database not in (None, "", ":memory:")
    ):
        ranges = _ranges(int(high), workers)
        address = url.render_as_string(hide_password=False)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=len(ranges), mp_context=context) as pool:
            futures = [
                pool.submit(_segment_task, address, lo, hi, _within(anchors, lo, hi), state)
                for lo, hi in ranges
            ]
            results = [future.result() for future in futures]
        segments = [segment for segment, _ in results]
        recorded: dict[str, tuple[str | None, int]] = {}
        for _, part in results:
            recorded.update(part)
    else:
        segment = _read_segment(connection, None, None, anchors, state)
        segments = [segment]
        recorded = row_hashes.recorded_rows(segment.row_payloads) if state else {}
        segment.row_payloads.clear()
    report = join_segments(segments, anchors=anchors)
    if not state or not report.ok:
        return VerifyReport(report)
    checked, findings = row_hashes.cross_check(connection, recorded)
    return VerifyReport(report, checked, findings)


def _ranges(high: int, workers: int) -> list[tuple[int | None, int | None]]:
    """``workers`` seq ranges covering everything; the first and last are open-ended so
    rows planted outside 1..high are read (and refused) too."""
    size = -(-high // workers)
    bounds = [(1 + i * size, min(high, (i + 1) * size)) for i in range(workers)]
    bounds = [b for b in bounds if b[0] <= b[1]]
    out: list[tuple[int | None, int | None]] = [(lo, hi) for lo, hi in bounds]
    out[0] = (None, out[0][1])
    out[-1] = (out[-1][0], None)
    return out


def _within(anchors: Mapping[int, str], lo: int | None, hi: int | None) -> dict[int, str]:
    return {s: h for s, h in anchors.items() if (lo is None or s >= lo) and (hi is None or s <= hi)}


def _query(lo: int | None, hi: int | None, marker: str) -> tuple[str, list[int]]:
    clauses, params = [], []
    for op, value in ((">=", lo), ("<=", hi)):
        if value is not None:
            clauses.append(f"seq {op} {marker}")
            params.append(value)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    # Only the placeholders and fixed column names are formatted in; values are bound.
    return f"SELECT {_COLUMNS} FROM audit_events{where} ORDER BY seq", params  # noqa: S608


def _read_segment(
    connection: Connection,
    lo: int | None,
    hi: int | None,
    anchors: Mapping[int, str],
    collect: bool,
) -> Segment:
    """Stream one range through a plain DB-API cursor (server-side on PostgreSQL), so
    memory stays flat and no ORM rows are built."""
    raw: Any = connection.connection.dbapi_connection
    postgres = connection.dialect.name == "postgresql"
    return _scan(raw, postgres, lo, hi, anchors, collect)


def _scan(
    raw: Any,
    postgres: bool,
    lo: int | None,
    hi: int | None,
    anchors: Mapping[int, str],
    collect: bool,
) -> Segment:
    if postgres:
        cursor = raw.cursor(name=f"charter_audit_verify_{lo or 0}")
        cursor.itersize = _FETCH
    else:
        cursor = raw.cursor()
    try:
        sql, params = _query(lo, hi, "%s" if postgres else "?")
        cursor.execute(sql, params)
        return verify_segment(
            cursor, start_seq=1 if lo is None else lo, anchors=anchors, collect_rows=collect
        )
    finally:
        cursor.close()


def _segment_task(
    url: str, lo: int | None, hi: int | None, anchors: dict[int, str], collect: bool
) -> tuple[Segment, dict[str, tuple[str | None, int]]]:
    """One worker's range, on a connection of its own; returns the segment and the row
    digests it recorded (parsed here, so only the small map crosses back)."""
    postgres = url.startswith("postgresql")
    if postgres:
        import psycopg

        raw: Any = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    else:
        import sqlite3

        raw = sqlite3.connect(url.split("///", 1)[1].split("?", 1)[0])
    try:
        segment = _scan(raw, postgres, lo, hi, anchors, collect)
        if postgres:
            raw.rollback()
    finally:
        raw.close()
    recorded = row_hashes.recorded_rows(segment.row_payloads) if collect else {}
    segment.row_payloads.clear()
    return segment, recorded
