"""`charter audit verify` over a long chain: build N valid events fast, time the verifier.

The chain is appended directly to a database made by a real ``charter init`` (hashes from
``charter.domain.audit.event_hash``, one bulk insert), so the verifier reads exactly what
the service layer would have written. Then the real CLI verifies it, and an in-process
breakdown separates reading the rows from hashing them.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import Home, expect, init_home, print_table, run_charter

COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "payload",
    "prev_hash",
    "hash",
)
_INSERT = f"INSERT INTO audit_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 9)})"
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM audit_events ORDER BY seq"

Row = tuple[int, str, str, str, str, str, str, str, str]


def _canon(value: dict[str, Any]) -> str:
    # For strings, integers, lists and dicts this is exactly the RFC 8785 form.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _event(i: int) -> tuple[str, str, str, str, str]:
    """(actor, action, entity_type, entity_id, payload) of synthetic event ``i``: 60%
    decisions (the largest payloads), 30% registrations, 10% user changes."""
    kind = i % 10
    if kind < 6:
        digest = hashlib.sha256(str(i // 7).encode()).hexdigest()
        payload = {
            "conditions": [],
            "contract": {"offline": {"roc_auc": ">= 0.75"}},
            "decision_id": i,
            "environments": ["prod"],
            "expires_at": "2027-02-22T15:28:36.213644+00:00",
            "fallback": None,
            "note": "",
            "population": "retail customers",
            "role": "approver",
            "supersedes": i - 1,
            "use_case": "credit line increase",
            "verdict": "approve",
        }
        entity = f"system-{i % 97:03d}@{digest}"
        return "approver", "decision.approve", "release", entity, _canon(payload)
    if kind < 9:
        payload = {
            "intake": {},
            "owner": f"team-{i % 13}",
            "population": "retail customers",
            "purpose": f"Scores applications, variant {i}.",
            "role": "admin",
            "surfaces": ["web", "batch"],
            "tier": "unassessed",
        }
        return "admin", "system.registered", "system", f"system-{i}", _canon(payload)
    payload = {"name": f"user-{i}", "role": "admin", "user_role": "developer"}
    return "admin", "user.created", "user", f"user-{i}", _canon(payload)


def generate_rows(start_seq: int, prev_hash: str, count: int) -> Iterator[Row]:
    """Yield ``count`` valid chained events following ``(start_seq - 1, prev_hash)``."""
    from charter.domain.audit import event_hash

    base = 1_795_000_000  # a fixed instant, so that builds are reproducible
    for seq in range(start_seq, start_seq + count):
        actor, action, entity_type, entity_id, payload = _event(seq)
        ts = base + seq / 50
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}Z"
        digest = event_hash(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            payload=payload,
            prev_hash=prev_hash,
        )
        yield (seq, at, actor, action, entity_type, entity_id, payload, prev_hash, digest)
        prev_hash = digest


def _build_sqlite(home: Home, events: int) -> int:
    conn = sqlite3.connect(home.path / "charter.db", isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")  # build speed only; the verifier reads it back
        head = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        seq, digest = head.fetchone()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_INSERT, generate_rows(seq + 1, digest, events))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total: int = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        return total
    finally:
        conn.close()


def _build_postgres(url: str, events: int) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        seq, digest = conn.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        columns = ", ".join(COLUMNS)
        with conn.cursor() as cur, cur.copy(f"COPY audit_events ({columns}) FROM STDIN") as copy:
            for row in generate_rows(seq + 1, digest, events):
                copy.write_row(row)
        conn.execute("ANALYZE audit_events")
        total: int = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]  # type: ignore[index]
        return total


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s of this process, fn()): CPU time is robust to a busy machine."""
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - start, time.process_time() - cpu, value


def breakdown(home: Home, events: int) -> list[list[Any]]:
    """Reading the rows vs hashing them, in this process (wall s, CPU s per step)."""
    from sqlalchemy import select

    from charter.domain.audit import verify_chain
    from charter.services import audit
    from charter.store.models import AuditEvent

    charter = home.charter()
    sqlite_path = home.path / "charter.db" if home.url.startswith("sqlite") else None
    plain = home.url.replace("postgresql+psycopg://", "postgresql://")

    def raw_rows() -> Iterator[Row]:
        """Rows straight from the DB-API driver, streamed as ``services.audit.verify`` does."""
        if sqlite_path is not None:
            conn = sqlite3.connect(sqlite_path)
            try:
                yield from conn.execute(_SELECT)
            finally:
                conn.close()
            return
        import psycopg

        with psycopg.connect(plain) as pg, pg.cursor(name="bench") as cur:
            cur.itersize = 20_000
            cur.execute(_SELECT)
            yield from cur  # type: ignore[misc]

    def orm_rows() -> int:
        query = select(*(getattr(AuditEvent, c) for c in COLUMNS)).order_by(AuditEvent.seq)
        with charter.act(home.token, write=False) as ctx:
            options = {"yield_per": 20_000, "stream_results": True}
            return sum(1 for _ in ctx.session.execute(query, execution_options=options))

    def service_verify() -> Any:
        with charter.act(home.token, write=False) as ctx:
            return audit.verify(ctx)

    steps = []
    driver = "sqlite3 cursor" if sqlite_path else "psycopg server-side cursor"
    wall, cpu, n = _timed(lambda: sum(1 for _ in raw_rows()))
    steps.append([f"read: raw {driver}, no hashing (what verify reads through)", wall, cpu])
    wall, cpu, n_orm = _timed(orm_rows)
    expect(n_orm == n == events, f"rows read: {n} raw, {n_orm} ORM, {events} in the chain")
    steps.append(["read: SQLAlchemy ORM stream, no hashing (for comparison)", wall, cpu])
    # Hashing alone, rows held in memory. The collector is frozen while they are held, or
    # its passes over a million live tuples would be timed as hashing.
    gc.disable()
    try:
        rows = list(raw_rows())
        gc.freeze()
        wall, cpu, report = _timed(lambda: verify_chain(rows))
        expect(report.ok, f"verify_chain: {report}")
        steps.append(["hash: domain.audit.verify_chain over rows in memory", wall, cpu])
        rows.clear()
    finally:
        gc.unfreeze()
        gc.enable()
        gc.collect()
    wall, cpu, report = _timed(service_verify)
    expect(report.ok and report.events == events, f"services.audit.verify: {report}")
    steps.append(["both: services.audit.verify in-process (what the CLI runs)", wall, cpu])
    charter.db.dispose()
    return steps


def run(*, events: int, cli_runs: int, pg_url: str | None = None) -> dict[str, Any]:
    """Build a chain of ``events`` appended events and time verifying it (SQLite, optionally
    PostgreSQL in a schema of its own, dropped afterwards)."""
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="charter-bench-verify-") as tmp:
        figures["SQLite"] = _measure(init_home(Path(tmp) / "sqlite"), events, cli_runs, "SQLite")
        if pg_url:
            import psycopg

            schema = f"bench_verify_{os.getpid()}"
            plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
            sep = "&" if "?" in plain else "?"
            with psycopg.connect(plain, autocommit=True) as admin:
                admin.execute(f'CREATE SCHEMA "{schema}"')
            try:
                home = init_home(Path(tmp) / "pg", f"{plain}{sep}options=-csearch_path%3D{schema}")
                figures["PostgreSQL"] = _measure(home, events, cli_runs, "PostgreSQL")
            finally:
                with psycopg.connect(plain, autocommit=True) as admin:
                    admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return figures


def _measure(home: Home, events: int, cli_runs: int, backend: str) -> dict[str, Any]:
    print(f"\nappending {events:,} audit events ({backend})...", flush=True)
    start = time.perf_counter()
    total = (
        _build_sqlite(home, events) if backend == "SQLite" else _build_postgres(home.url, events)
    )
    build_s = time.perf_counter() - start
    # Three ways: as shipped (across cores, the governed rows checked), the chain only
    # (--no-state), and in one process (CHARTER_VERIFY_WORKERS=1, how verify ran before).
    modes = [
        ("across cores, with the state check", [], {}),
        ("across cores, chain only (--no-state)", ["--no-state"], {}),
        ("one process, with the state check", [], {"CHARTER_VERIFY_WORKERS": "1"}),
    ]
    runs = []
    for label, flags, extra in modes:
        for i in range(cli_runs):
            env = {**home.env(), **extra}
            done = run_charter(["audit", "verify", *flags, "--format", "json"], env)
            report = json.loads(done.stdout)
            expect(report["ok"] and report["events"] == total, f"audit verify: {report}")
            runs.append((label, i + 1, done, report.get("rows_checked")))
    print_table(
        f"`charter audit verify` over {total:,} events ({backend}), real CLI subprocess "
        f"(chain built in {build_s:.0f} s, not part of the figure; {os.cpu_count()} cores)",
        ["mode", "run", "wall s", "CPU s", "peak RSS MiB", "events/s", "rows checked"],
        [
            [label, i, r.wall_s, r.cpu_s, r.maxrss_mb, total / r.wall_s, rows]
            for label, i, r, rows in runs
        ],
    )
    steps = breakdown(home, total)
    print_table(
        f"Where the time goes, in-process ({backend}, {total:,} events)",
        ["step", "wall s", "CPU s", "CPU us/event"],
        [[label, wall, cpu, cpu / total * 1e6] for label, wall, cpu in steps],
    )
    return {
        "events": total,
        "build_s": build_s,
        "cli": [
            {"mode": label, "wall_s": r.wall_s, "cpu_s": r.cpu_s, "maxrss_mb": r.maxrss_mb}
            for label, _, r, _ in runs
        ],
        "breakdown_s": {label: {"wall": wall, "cpu": cpu} for label, wall, cpu in steps},
    }
