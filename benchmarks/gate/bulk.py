"""The gate for many releases in one process: `run_gate` per release, and evaluation alone."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import expect, percentile, print_table
from benchmarks.gate import setup


def _summary(label: str, walls: list[float], cpu: float, extra: str = "") -> list[Any]:
    total = sum(walls)
    return [
        label,
        len(walls),
        total,
        cpu,
        statistics.fmean(walls) * 1000,
        statistics.median(walls) * 1000,
        percentile(walls, 99) * 1000,
        max(walls) * 1000,
        len(walls) / total,
        extra,
    ]


def run(*, releases: int = 1000, systems: int = 10) -> dict[str, Any]:
    """Prepare ``releases`` releases, gate each in one process; print tables; return figures."""
    from sqlalchemy import event, func, select

    from charter.domain.controls import apply_exceptions, evaluate_control
    from charter.domain.gate_report import summarize
    from charter.services import audit, gates, policies
    from charter.services.releases import find_release
    from charter.store.models import GateRun

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="charter-bench-gate-bulk-") as tmp:
        print(f"\nPreparing {releases:,} releases of {systems} high-tier systems ...", flush=True)
        prepared = setup.prepare(Path(tmp), releases=releases, systems=systems, progress=True)
        print_table(
            "Preparation (not part of the measurement)",
            ["step", "seconds"],
            list(prepared.seconds.items()),
        )
        charter = prepared.home.charter()
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        event.listen(charter.db.engine, "before_cursor_execute", count)
        token, refs = prepared.dev_token, prepared.refs
        rows = []

        # (a) What the CLI does per release: one write transaction, run_gate, commit.
        # Preparation parsed the policy in this process; forget it, so that the first gate
        # pays the parse (celpy's CEL grammar, a process-wide singleton, stays built).
        policies._parse.cache_clear()
        walls, passed = [], 0
        cpu0, statements[0] = time.process_time(), 0
        for ref in refs:
            start = time.perf_counter()
            with charter.act(token, write=True) as ctx:
                passed += gates.run_gate(ctx, ref, "prod").passed
            walls.append(time.perf_counter() - start)
        cpu = time.process_time() - cpu0
        gate_statements = statements[0] / len(refs)
        rows.append(
            _summary(
                "run_gate: 1 write transaction each (auth, evaluate, store, audit, commit)",
                walls,
                cpu,
                f"{gate_statements:.0f} SQL/gate; first {walls[0] * 1000:.0f} ms",
            )
        )
        figures["run_gate"] = {
            "total_s": sum(walls),
            "cpu_s": cpu,
            "mean_ms": statistics.fmean(walls) * 1000,
            "median_ms": statistics.median(walls) * 1000,
            "p99_ms": percentile(walls, 99) * 1000,
            "max_ms": max(walls) * 1000,
            "first_ms": walls[0] * 1000,
            "per_s": len(walls) / sum(walls),
            "passed": passed,
            "statements_per_gate": gate_statements,
        }
        with charter.db.transaction(write=False) as session:
            stored = session.scalar(select(func.count()).select_from(GateRun))
        expect(
            passed == stored == len(refs),
            f"{passed} of {len(refs)} gates passed, {stored} gate runs stored",
        )

        # (b) evaluate() only: one read transaction per release; the timer covers the call.
        walls, txn_walls = [], []
        cpu_eval = 0.0
        statements[0] = 0
        for ref in refs:
            start = time.perf_counter()
            with charter.act(token, write=False) as ctx:
                release = find_release(ctx, ref)
                before = (time.perf_counter(), time.process_time())
                gates.evaluate(ctx, release, "prod")
                walls.append(time.perf_counter() - before[0])
                cpu_eval += time.process_time() - before[1]
            txn_walls.append(time.perf_counter() - start)
        eval_statements = statements[0] / len(refs)
        rows.append(
            _summary(
                "evaluate(): policy in force + gather facts + controls (no storing)",
                walls,
                cpu_eval,
                f"{eval_statements:.0f} SQL/txn incl. auth + find",
            )
        )
        rows.append(
            _summary(
                "  the read transaction around it (auth + find_release + evaluate)",
                txn_walls,
                float("nan"),
            )
        )
        figures["evaluate"] = {
            "mean_ms": statistics.fmean(walls) * 1000,
            "p99_ms": percentile(walls, 99) * 1000,
            "per_s": len(walls) / sum(walls),
            "transaction_mean_ms": statistics.fmean(txn_walls) * 1000,
        }

        # (c) The controls alone, on facts gathered beforehand: the pure domain part.
        with charter.act(token, write=False) as ctx:
            version, policy = policies.in_force(ctx)  # type: ignore[misc]
            prepared_facts = []
            for ref in refs:
                release = find_release(ctx, ref)
                facts = gates.gather_facts(ctx, release, "prod", version.version)
                prepared_facts.append((release.system.tier, facts))
        walls = []
        cpu0 = time.process_time()
        controls_per = 0
        for tier, facts in prepared_facts:
            start = time.perf_counter()
            controls = policy.controls_for(tier, "prod")
            summarize(apply_exceptions([evaluate_control(c, facts) for c in controls], facts))
            walls.append(time.perf_counter() - start)
            controls_per = len(controls)
        cpu = time.process_time() - cpu0
        rows.append(
            _summary(
                f"controls only: {controls_per} controls on prepared facts (domain, no DB)",
                walls,
                cpu,
            )
        )
        figures["controls_only"] = {
            "mean_ms": statistics.fmean(walls) * 1000,
            "p99_ms": percentile(walls, 99) * 1000,
            "per_s": len(walls) / sum(walls),
        }

        # (d) gather_facts alone, one read transaction per release.
        walls = []
        cpu_facts = 0.0
        for ref in refs:
            with charter.act(token, write=False) as ctx:
                release = find_release(ctx, ref)
                before = (time.perf_counter(), time.process_time())
                gates.gather_facts(ctx, release, "prod", version.version)
                walls.append(time.perf_counter() - before[0])
                cpu_facts += time.process_time() - before[1]
        rows.append(
            _summary("gather_facts() alone (3 SELECTs + lazy loads, JSON)", walls, cpu_facts)
        )
        figures["gather_facts"] = {
            "mean_ms": statistics.fmean(walls) * 1000,
            "p99_ms": percentile(walls, 99) * 1000,
        }
        event.remove(charter.db.engine, "before_cursor_execute", count)

        print_table(
            f"The gate for {len(refs):,} releases in one process (SQLite, "
            f"{len(prepared.systems)} high-tier systems, 5 pieces of evidence and 2 approvals "
            "per release)",
            [
                "what",
                "n",
                "total s",
                "CPU s",
                "mean ms",
                "p50 ms",
                "p99 ms",
                "max ms",
                "per s",
                "notes",
            ],
            rows,
        )
        with charter.act(prepared.home.token, write=False) as ctx:
            verified = audit.verify(ctx)
        print(f"\nAudit chain after the runs: ok={verified.ok}", flush=True)
        expect(verified.ok, f"the audit chain verifies after the gates: {verified}")
        figures["audit_ok"] = verified.ok
        figures["preparation_s"] = prepared.seconds
        charter.db.dispose()
    return figures
