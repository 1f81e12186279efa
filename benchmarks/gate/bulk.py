"""The gate for many releases in one process: `run_gate` per release, and evaluation alone."""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import expect, percentile, print_table
from benchmarks.gate import setup


@dataclass
class Series:
    """Wall seconds per call (and total CPU) of one row of the table."""

    label: str
    walls: list[float] = field(default_factory=list)
    cpu: float = float("nan")
    note: str = ""

    def row(self) -> list[Any]:
        w = self.walls
        return [
            self.label,
            len(w),
            sum(w),
            self.cpu,
            statistics.fmean(w) * 1000,
            statistics.median(w) * 1000,
            percentile(w, 99) * 1000,
            max(w) * 1000,
            len(w) / sum(w),
            self.note,
        ]

    def figures(self) -> dict[str, float]:
        return dict(
            zip(
                ("n", "total_s", "cpu_s", "mean_ms", "p50_ms", "p99_ms", "max_ms", "per_s"),
                self.row()[1:9],
                strict=True,
            )
        )


def run(*, releases: int = 1000, systems: int = 10) -> dict[str, Any]:
    """Prepare ``releases`` releases, gate each in one process; print tables; return figures."""
    from sqlalchemy import event, func, select

    from charter.domain.controls import evaluate_controls
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

        # (a) What the CLI does per release: one write transaction, run_gate, commit.
        # Preparation parsed the policy in this process; forget it, so that the first gate
        # pays the parse.
        policies._parse.cache_clear()
        gate = Series("run_gate: 1 write transaction each (auth, evaluate, store, audit, commit)")
        passed, cpu0, statements[0] = 0, time.process_time(), 0
        for ref in refs:
            start = time.perf_counter()
            with charter.act(token, write=True) as ctx:
                passed += gates.run_gate(ctx, ref, "prod").passed
            gate.walls.append(time.perf_counter() - start)
        gate.cpu = time.process_time() - cpu0
        per_gate = statements[0] / len(refs)
        gate.note = f"{per_gate:.0f} SQL/gate; first {gate.walls[0] * 1000:.0f} ms"
        with charter.db.transaction(write=False) as session:
            stored = session.scalar(select(func.count()).select_from(GateRun))
        # Every gate evaluated and stored; they fail fallback-tested (no drill per release).
        expect(stored == len(refs), f"{passed} of {len(refs)} passed, {stored} stored")

        # (b) evaluate() only, in one read transaction per release; and that transaction.
        evaluate = Series("evaluate(): policy in force + gather facts + controls (no storing)")
        transaction = Series("  the read transaction around it (auth + find_release + evaluate)")
        evaluate.cpu, statements[0] = 0.0, 0
        for ref in refs:
            start = time.perf_counter()
            with charter.act(token, write=False) as ctx:
                release = find_release(ctx, ref)
                before = (time.perf_counter(), time.process_time())
                gates.evaluate(ctx, release, "prod")
                evaluate.walls.append(time.perf_counter() - before[0])
                evaluate.cpu += time.process_time() - before[1]
            transaction.walls.append(time.perf_counter() - start)
        evaluate.note = f"{statements[0] / len(refs):.0f} SQL/txn incl. auth + find"

        # (c) The controls alone, on facts gathered beforehand: the pure domain part.
        with charter.act(token, write=False) as ctx:
            _, policy = policies.in_force(ctx)  # type: ignore[misc]
            facts_of = []
            for ref in refs:
                release = find_release(ctx, ref)
                facts = gates.gather_facts(ctx, release, "prod", policy)
                facts_of.append((release.system.tier, facts))
        controls_only = Series("controls only, on prepared facts (domain, no DB)")
        cpu0 = time.process_time()
        for tier, facts in facts_of:
            start = time.perf_counter()
            controls = policy.controls_for(tier, "prod")
            summarize(evaluate_controls(controls, facts))
            controls_only.walls.append(time.perf_counter() - start)
        controls_only.cpu = time.process_time() - cpu0
        controls_only.note = f"{len(controls)} controls"

        # (d) gather_facts alone, one read transaction per release.
        gather = Series("gather_facts() alone (3 SELECTs + lazy loads, JSON)", cpu=0.0)
        for ref in refs:
            with charter.act(token, write=False) as ctx:
                release = find_release(ctx, ref)
                before = (time.perf_counter(), time.process_time())
                gates.gather_facts(ctx, release, "prod", policy)
                gather.walls.append(time.perf_counter() - before[0])
                gather.cpu += time.process_time() - before[1]
        event.remove(charter.db.engine, "before_cursor_execute", count)
        names = ("run_gate", "evaluate", "evaluate_transaction", "controls_only", "gather_facts")
        series = [gate, evaluate, transaction, controls_only, gather]
        figures.update({name: s.figures() for name, s in zip(names, series, strict=True)})
        figures["statements_per_gate"] = per_gate

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
            [s.row() for s in series],
        )
        with charter.act(prepared.home.token, write=False) as ctx:
            verified = audit.verify(ctx)
        print(f"\nAudit chain after the runs: ok={verified.ok}", flush=True)
        expect(verified.ok, f"the audit chain verifies after the gates: {verified}")
        figures["audit_ok"] = verified.ok
        figures["preparation_s"] = prepared.seconds
        charter.db.dispose()
    return figures
