"""Live monitoring for the seeded portfolio, through the real pipeline (services only).

Kept apart from :mod:`tests.web.seed` because it needs the statistics stack (numpy and
pandas, ~1 s to import) and most console tests do not: the browser server and the tests
of the system page's charts, incidents and drills call it.

For ``credit-limit`` (hourly windows, see ``seed.CREDIT_CONTRACT``): a reference profile,
eight hours of production records (latency grows past the contract's bound, a few guard
blocks), one worker pass that closes the windows and
opens the latency alert; the fraud model's critical alert gets its incident
from the same pass, which rita acknowledges and mitigates; then a drift drill of the live
release in the sandbox (it passes: detected, killed to the fallback) and one of the
release waiting for approval (it fails: no approval names a fallback), so the drills page
has both outcomes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from charter.services import drills, incidents, ingest, references, worker
from charter.services.context import Charter, Context
from charter.store.runtime_models import Incident
from tests.web.seed import Seeded

HOURS = 8
ROWS = 120


def _records(rng: Any, hour: int) -> list[dict[str, Any]]:
    """One hour of scored requests, slower in the last hours (no drift: a drift alert on a
    high-tier system kills it, and the browser tests need credit-limit serving)."""
    late = max(0, hour - (HOURS - 3))
    rows = []
    for i in range(ROWS):
        rows.append(
            {
                "inference_id": f"credit-{hour}-{i}",
                "features": {
                    "income": float(rng.normal(50, 10)),
                    "region": str(rng.choice(["north", "south"])),
                },
                "prediction": int(rng.integers(0, 2)),
                "cohort": {"region": "north" if i % 2 else "south"},
                "latency_ms": float(rng.gamma(2.0, 25.0 + 30.0 * late)),
                "guard": {"blocked": bool(rng.random() < 0.02 + 0.02 * late)},
            }
        )
    return rows


def seed_monitoring(charter: Charter, seeded: Seeded) -> dict[str, Any]:
    """Windows, alerts, incidents and drills for the seeded portfolio; returns their ids."""
    import numpy as np
    import pandas as pd

    from charter.monitoring import build_reference

    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, 600),
            "region": rng.choice(["north", "south"], 600),
            "pred": rng.integers(0, 2, 600),
            "y": rng.integers(0, 2, 600),
        }
    )
    profile = build_reference(
        frame, features=["income", "region"], prediction="pred", label="y", cohort="region"
    )
    ref = seeded.credit_live_ref
    digest = ref.split("@")[1]
    with charter.act(seeded.tokens["dev"], write=True) as ctx:
        references.set_reference(ctx, ref, profile.to_dict())
        references.set_reference(ctx, seeded.pending_ref, profile.to_dict())
        now = ctx.now().replace(minute=0, second=0, microsecond=0)
        for hour in range(HOURS):
            moment = now - timedelta(hours=HOURS - hour + 1) + timedelta(minutes=30)
            past = Context(session=ctx.session, actor=ctx.actor, clock=lambda m=moment: m)
            records = _records(rng, hour)
            ingest.ingest_records(
                past, "credit-limit", "prod", f"seed-{hour}", records, release=digest
            )
            # Labels arrive for every request: right more often in the north than the south.
            labels = [
                {
                    "inference_id": r["inference_id"],
                    "label": r["prediction"]
                    if rng.random() < (0.9 if r["cohort"]["region"] == "north" else 0.72)
                    else 1 - r["prediction"],
                }
                for r in records
            ]
            ingest.ingest_labels(past, "credit-limit", "prod", f"seed-labels-{hour}", labels)
    with charter.act(seeded.tokens["admin"], write=False) as ctx:
        admin = ctx.actor
    worker.run_once(charter, admin, deliver=False)
    with charter.act(seeded.tokens["rita"], write=True) as ctx:
        fraud = ctx.session.scalar(select(Incident).where(Incident.source == "alert"))
        assert fraud is not None, "the fraud alert should have opened an incident"
        incidents.step(ctx, fraud.id, "acknowledged", "rita is on it")
        incidents.step(ctx, fraud.id, "mitigated", "killed to the fallback (manual review)")
    with charter.act(seeded.tokens["dev"], write=True) as ctx:
        passed = drills.run_drill(ctx, ref, "drift")
    with charter.act(seeded.tokens["dev"], write=True) as ctx:
        failed = drills.run_drill(ctx, seeded.pending_ref, "drift")
    return {
        "incident": fraud.id,
        "drill_passed": passed["evidence_id"],
        "drill_failed": failed["evidence_id"],
    }
