"""What-if: is the gate slower because decisions and evidence join their release?

    .venv/bin/python benchmarks/experiments/gate_release_join.py [--releases 300] [--quick]

``Decision.release`` and ``Evidence.release`` are loaded ``joined``: every query of a
release's decisions or evidence joins the release again (and so selectin-loads its
components again), although the gate already holds that release. This prepares releases
as the gate benchmark does, then times ``services.gates.evaluate`` per release as shipped
and with both relationships loaded lazily (an ORM event adds ``lazyload`` to those
queries, in this process only), checks that the reports are the same, and prints both.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import statistics
import tempfile
import time
from argparse import ArgumentParser, Namespace
from typing import Any

from benchmarks.common import bounded, expect, main, percentile, print_table
from benchmarks.gate import setup


def _lazy_release(state: Any) -> None:
    """``do_orm_execute`` hook: load ``release`` of decisions and evidence lazily."""
    from sqlalchemy.orm import lazyload

    from charter.store.models import Decision, Evidence

    if state.is_select:
        for model in (Decision, Evidence):
            if any(m.class_ is model for m in state.all_mappers):
                state.statement = state.statement.options(lazyload(model.release))


def _evaluate_all(charter: Any, token: str, refs: list[str]) -> tuple[list[float], list[Any]]:
    from charter.services import gates
    from charter.services.releases import find_release

    walls, reports = [], []
    for ref in refs:
        with charter.act(token, write=False) as ctx:
            release = find_release(ctx, ref)
            start = time.perf_counter()
            report = gates.evaluate(ctx, release, "prod")
            walls.append((time.perf_counter() - start) * 1000)
            reports.append({k: v for k, v in report.items() if k != "at"})
    return walls, reports


def body(args: Namespace) -> dict[str, Any]:
    """Evaluate every release both ways, interleaved by round; one table."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    with tempfile.TemporaryDirectory(prefix="charter-exp-join-") as tmp:
        prepared = setup.prepare(Path(tmp), releases=args.releases, systems=args.systems)
        charter = prepared.home.charter()
        _evaluate_all(charter, prepared.dev_token, prepared.refs[:5])  # warm caches
        times: dict[str, list[float]] = {"as shipped (joined)": [], "what-if: lazy": []}
        reports: dict[str, list[Any]] = {}
        for _ in range(args.rounds):
            for label in times:
                if label.startswith("what-if"):
                    event.listen(Session, "do_orm_execute", _lazy_release)
                try:
                    walls, reports[label] = _evaluate_all(
                        charter, prepared.dev_token, prepared.refs
                    )
                finally:
                    if label.startswith("what-if"):
                        event.remove(Session, "do_orm_execute", _lazy_release)
                times[label] += walls
        charter.db.dispose()
    shipped, lazy = reports.values()
    expect(shipped == lazy, "both loading strategies give the same gate reports")
    rows = [
        [label, len(w), statistics.fmean(w), statistics.median(w), percentile(w, 99)]
        for label, w in times.items()
    ]
    print_table(
        f"services.gates.evaluate per release ({args.releases} releases x {args.rounds} rounds)",
        ["variant", "n", "mean ms", "p50 ms", "p99 ms"],
        rows,
    )
    return {"rows": rows}


def configure(parser: ArgumentParser) -> None:
    """The experiment's options."""
    parser.add_argument("--releases", type=bounded(int, 1, 5000), default=300)
    parser.add_argument("--systems", type=bounded(int, 1, 100), default=10)
    parser.add_argument("--rounds", type=bounded(int, 1, 20), default=3)


if __name__ == "__main__":
    main(__doc__, configure, body, quick={"releases": 10, "systems": 2, "rounds": 1})
