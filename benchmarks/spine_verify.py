"""Audit verify over a large chain: build N valid events fast, then time the verifier.

The chain is built directly in the database (hashes from ``charter.domain.audit.event_hash``,
one bulk insert in one transaction) on top of a schema made by a real ``charter init``, so
the verifier sees exactly what the service layer would have written.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spine_common import CHARTER, charter_env, init_home, print_table

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
    """(actor, action, entity_type, entity_id, payload) of synthetic event ``i``.

    A realistic mix: mostly decisions (the largest payloads), some registrations and
    user changes, with contents that differ from event to event.
    """
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
        return (
            "approver",
            "decision.approve",
            "release",
            f"system-{i % 97:03d}@{digest}",
            _canon(payload),
        )
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

    base = 1_795_000_000  # a fixed instant, so builds are reproducible
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


def build_sqlite(home: Path, events: int) -> dict[str, Any]:
    """``charter init`` in ``home``, then append ``events`` events; return build figures."""
    init_home(home)
    path = home / "charter.db"
    start = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")  # build speed only; the verifier reads it back
        head_seq, head_hash = conn.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_INSERT, generate_rows(head_seq + 1, head_hash, events))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    finally:
        conn.close()
    elapsed = time.perf_counter() - start
    return {
        "events": total,
        "build_s": elapsed,
        "db_mb": path.stat().st_size / 2**20,
    }


def cli_verify_once(env: dict[str, str]) -> dict[str, Any]:
    """One ``charter audit verify`` subprocess: wall time, user+sys CPU, peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [CHARTER, "audit", "verify", "--format", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    # The report is one short JSON document, so reading stdout to EOF cannot deadlock on
    # stderr (which stays empty unless something fails).
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"audit verify exited {proc.returncode}: {err.decode()[-2000:]}")
    return {
        "wall_s": elapsed,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_mb": usage.ru_maxrss / 1024,
        "report": json.loads(out),
    }


def _timed(fn: Any) -> tuple[tuple[float, float], Any]:
    """((wall s, CPU s of this process), fn()): CPU time is robust to a busy machine."""
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return (time.perf_counter() - start, time.process_time() - cpu), value


def verify_chain_reused_encoder(rows: Any) -> Any:
    """What-if: ``verify_chain``'s loop with one JSON encoder built once, not per event.

    ``json.dumps`` with non-default arguments builds a new ``JSONEncoder`` for every call;
    binding ``encode`` once gives byte-identical headers. Benchmark-only copy, not used by
    Charter; it exists to size that suggestion.
    """
    from charter.domain.audit import GENESIS_HASH

    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    sha256 = hashlib.sha256
    prev = GENESIS_HASH
    expected = 1
    for seq, at, actor, action, entity_type, entity_id, payload, prev_hash, stored in rows:
        if seq != expected or prev_hash != prev:
            return False, seq
        header = encode([seq, at, actor, action, entity_type, entity_id, prev_hash])
        if sha256(f"{header}\n{payload}".encode()).hexdigest() != stored:
            return False, seq
        prev = stored
        expected += 1
    return True, expected - 1


def in_process_breakdown(url: str, admin_token: str, sqlite_path: Path | None) -> list[list[Any]]:
    """Separate reading the rows from hashing them, in this process."""
    from sqlalchemy import select

    from charter.domain.audit import verify_chain
    from charter.services import audit
    from charter.services.context import Charter
    from charter.store.db import Database
    from charter.store.models import AuditEvent

    rows_out: list[list[Any]] = []
    charter = Charter(Database(url))

    def sqla_stream_only() -> int:
        # The same query and execution options as services.audit.verify, without hashing.
        query = select(*(getattr(AuditEvent, c) for c in COLUMNS)).order_by(AuditEvent.seq)
        with charter.act(admin_token, write=False) as ctx:
            result = ctx.session.execute(
                query, execution_options={"yield_per": 20_000, "stream_results": True}
            )
            n = 0
            for _seq, *_rest in result:
                n += 1
            result.close()
            return n

    def service_verify() -> Any:
        with charter.act(admin_token, write=False) as ctx:
            return audit.verify(ctx)

    t_sqla, n = _timed(sqla_stream_only)
    rows_out.append(
        ["read: SQLAlchemy stream (the query of services.audit.verify), no hashing", t_sqla]
    )

    plain = url.replace("postgresql+psycopg://", "postgresql://")

    def raw_rows() -> Iterator[Row]:
        """Rows straight from the DB-API driver, streamed like the service streams them."""
        if sqlite_path is not None:
            conn = sqlite3.connect(sqlite_path)
            try:
                yield from conn.execute(_SELECT)
            finally:
                conn.close()
        else:
            import psycopg

            with psycopg.connect(plain) as pg, pg.cursor(name="bench") as cur:
                cur.itersize = 20_000
                cur.execute(_SELECT)
                yield from cur  # type: ignore[misc]

    def raw_stream_only() -> int:
        n = 0
        for _row in raw_rows():
            n += 1
        return n

    driver = "sqlite3 cursor" if sqlite_path is not None else "psycopg server-side cursor"
    t_raw, n_raw = _timed(raw_stream_only)
    assert n_raw == n, (n_raw, n)
    rows_out.append([f"read: raw {driver}, streamed, no hashing", t_raw])

    t_raw_verify, report = _timed(lambda: verify_chain(raw_rows()))
    assert report.ok, report
    rows_out.append([f"both: verify_chain over the raw {driver} (what-if)", t_raw_verify])

    # Hashing alone: rows held in memory first. The collector is frozen while they are
    # held, or its full passes over a million live tuples would be timed as "hashing".
    gc.disable()
    try:
        rows = list(raw_rows())
        gc.freeze()
        t_hash, report = _timed(lambda: verify_chain(rows))
        assert report.ok, report
        rows_out.append(["hash: domain.audit.verify_chain over rows in memory", t_hash])
        t_enc, (ok, _) = _timed(lambda: verify_chain_reused_encoder(rows))
        assert ok
        rows_out.append(["hash: what-if, same loop with one reused JSONEncoder", t_enc])
        rows = []
    finally:
        gc.unfreeze()
        gc.enable()
        gc.collect()

    t_full, report = _timed(service_verify)
    assert report.ok, report
    assert report.events == n, report
    rows_out.append(["both: services.audit.verify in-process (what the CLI runs)", t_full])
    charter.db.dispose()
    return rows_out


def run_sqlite(*, events: int, cli_runs: int) -> dict[str, Any]:
    """Build a SQLite chain of ``events`` events and time verifying it."""
    with tempfile.TemporaryDirectory(prefix="charter-bench-verify-") as tmp:
        home = Path(tmp) / "home"
        print(f"building {events:,} audit events in SQLite...", flush=True)
        build = build_sqlite(home, events)
        token = json.loads((home / "config.json").read_text())["token"]
        print_table(
            "Audit chain build (SQLite, not part of the aim)",
            ["events in chain", "build s (hash + insert)", "database MiB"],
            [[build["events"], build["build_s"], build["db_mb"]]],
        )
        env = charter_env(home)
        cli = [cli_verify_once(env) for _ in range(cli_runs)]
        for result in cli:
            assert result["report"]["ok"], result["report"]
            assert result["report"]["events"] == build["events"]
        breakdown = in_process_breakdown(
            f"sqlite:///{home / 'charter.db'}", token, home / "charter.db"
        )
    return _report("SQLite", build["events"], cli, breakdown)


def _report(
    backend: str, events: int, cli: list[dict[str, Any]], breakdown: list[list[Any]]
) -> dict[str, Any]:
    walls = sorted(r["wall_s"] for r in cli)
    best = min(cli, key=lambda r: r["wall_s"])
    print_table(
        f"`charter audit verify` over {events:,} events ({backend}), real CLI subprocess",
        ["run", "wall s", "CPU s (user+sys)", "peak RSS MiB", "events/s"],
        [
            [i + 1, r["wall_s"], r["cpu_s"], r["maxrss_mb"], events / r["wall_s"]]
            for i, r in enumerate(cli)
        ],
    )
    print_table(
        f"Where the time goes, in-process ({backend}, {events:,} events)",
        ["step", "wall s", "CPU s", "CPU us/event"],
        [[label, wall, cpu, cpu / events * 1e6] for label, (wall, cpu) in breakdown],
    )
    return {
        "backend": backend,
        "events": events,
        "cli_wall_s": walls,
        "cli_median_s": walls[len(walls) // 2],
        "cli_maxrss_mb": max(r["maxrss_mb"] for r in cli),
        "cli_best": {k: v for k, v in best.items() if k != "report"},
        "breakdown_s": {label: {"wall": w, "cpu": c} for label, (w, c) in breakdown},
    }


def run_postgres(*, events: int, cli_runs: int, base_url: str) -> dict[str, Any]:
    """The same on PostgreSQL, in a dedicated schema that is dropped afterwards."""
    import psycopg

    schema = f"bench_spine_{os.getpid()}"
    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    sep = "&" if "?" in plain else "?"
    url = f"{plain}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        with tempfile.TemporaryDirectory(prefix="charter-bench-verify-pg-") as tmp:
            home = Path(tmp) / "home"
            token = init_home(home, database_url=url)
            print(f"building {events:,} audit events in PostgreSQL ({schema})...", flush=True)
            start = time.perf_counter()
            with psycopg.connect(url) as conn:
                head_seq, head_hash = conn.execute(
                    "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
                ).fetchone()  # type: ignore[misc]
                with (
                    conn.cursor() as cur,
                    cur.copy(f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN") as copy,
                ):
                    for row in generate_rows(head_seq + 1, head_hash, events):
                        copy.write_row(row)
                conn.execute("ANALYZE audit_events")
                total = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]  # type: ignore[index]
            build_s = time.perf_counter() - start
            print_table(
                "Audit chain build (PostgreSQL COPY, not part of the aim)",
                ["events in chain", "build s (hash + COPY)"],
                [[total, build_s]],
            )
            env = charter_env(home, CHARTER_DATABASE_URL=url)
            cli = [cli_verify_once(env) for _ in range(cli_runs)]
            for result in cli:
                assert result["report"]["ok"], result["report"]
                assert result["report"]["events"] == total
            breakdown = in_process_breakdown(
                url.replace("postgresql://", "postgresql+psycopg://"), token, None
            )
        return _report("PostgreSQL", total, cli, breakdown)
    finally:
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
