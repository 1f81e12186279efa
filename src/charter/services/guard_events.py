"""What the guard did on one route, read from the trace records the serving SDK sends.

Each trace keeps the guard's verdicts per stage (``input``/``output``: blocked, flagged,
the scanners that fired and their action) and the record as the guard left it. This
summarises the newest traces of a route: how many requests were blocked at each stage,
how many had personal data redacted, which scanners fired, and the newest events with
the text as stored (redacted, so nothing the guard removed is shown back).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from charter.domain.roles import Permission
from charter.services.context import Context
from charter.services.systems import find_system
from charter.store.runtime_models import InferenceTrace

#: How many of a route's newest traces the summary reads.
SUMMARY_TRACES = 1_000
#: How many of the newest events (a scanner fired) it lists.
RECENT_EVENTS = 5


def guard_events(
    ctx: Context,
    system_name: str,
    environment: str,
    *,
    limit: int = SUMMARY_TRACES,
    recent: int = RECENT_EVENTS,
) -> dict[str, Any] | None:
    """The guard's work on the route's ``limit`` most recently received traces; None when
    it has none."""
    ctx.require(Permission.MONITOR_READ)
    system = find_system(ctx, system_name)
    rows = list(
        ctx.session.execute(
            select(InferenceTrace.inference_id, InferenceTrace.at, InferenceTrace.guard)
            .where(InferenceTrace.system_id == system.id, InferenceTrace.environment == environment)
            # Newest received first, by the primary key: ordering by ``at`` would sort all
            # of a route's traces (no index on it) to keep a thousand.
            .order_by(InferenceTrace.id.desc())
            .limit(limit)
        )
    )
    if not rows:
        return None
    guarded = blocked_input = blocked_output = redacted = flagged = 0
    fired: Counter[tuple[str, str, str]] = Counter()
    events: list[dict[str, Any]] = []
    for inference_id, at, guard in rows:
        stages = {s: v for s, v in (guard or {}).items() if isinstance(v, dict)}
        if not stages:
            continue
        guarded += 1
        blocked_input += int(bool(stages.get("input", {}).get("blocked")))
        blocked_output += int(bool(stages.get("output", {}).get("blocked")))
        redacted += int(any(v.get("redacted_text") for v in stages.values()))
        flagged += int(any(v.get("flagged") for v in stages.values()))
        for stage, verdict in sorted(stages.items()):
            results = [r for r in verdict.get("results") or () if isinstance(r, dict)]
            for result in results:
                fired[(stage, str(result.get("scanner")), _action(result))] += 1
            if results and len(events) < recent:
                events.append(
                    {
                        "inference_id": inference_id,
                        "at": at.isoformat(),
                        "stage": stage,
                        "scanners": [str(r.get("scanner")) for r in results],
                        "actions": sorted({_action(r) for r in results}),
                        "reasons": [str(r.get("reason") or "") for r in results],
                        "redacted_text": verdict.get("redacted_text"),
                    }
                )
    return {
        "traces": len(rows),
        "guarded": guarded,
        "blocked_input": blocked_input,
        "blocked_output": blocked_output,
        "redacted": redacted,
        "flagged": flagged,
        "from": min(row[1] for row in rows).isoformat(),
        "to": max(row[1] for row in rows).isoformat(),
        "scanners": [
            {"stage": stage, "scanner": scanner, "action": action, "count": count}
            for (stage, scanner, action), count in sorted(fired.items())
        ],
        "recent": events,
    }


def _action(result: dict[str, Any]) -> str:
    """What the rule did with a scanner's finding (``none``: the request was only flagged)."""
    action = str(result.get("action") or "none")
    return "flag only" if action == "none" else action
