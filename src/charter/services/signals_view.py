"""The read-model of live monitoring: the five signals per route, and closed windows.

`charter status`, the console and ``/metrics`` read :func:`monitoring_signals`; it needs
no statistics stack (the worker stores each route's newest results on its state row).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from charter.domain.roles import Permission
from charter.domain.window_results import Signals
from charter.services.context import Context
from charter.store.models import Release, Route, System
from charter.store.monitoring_models import Alert, MonitorState


def monitoring_signals(ctx: Context) -> dict[tuple[str, str], dict[str, Any]]:
    """The live signals of every route, keyed by ``(system name, environment)``.

    Each value holds the newest closed window's five signals (latency p50/p95/p99,
    accuracy realised or estimated, drift verdict, guardrail block rate, fallback rate),
    the drifted columns and the count of open alerts. A route no window has been closed
    for yet has ``window: None`` and null signals. Three queries whatever the number of
    systems or windows: the worker keeps the newest results on the monitor-state row.
    """
    ctx.require(Permission.MONITOR_READ)
    routes = ctx.session.execute(
        select(System.id, System.name, Route.environment, Release.digest)
        .join(System, System.id == Route.system_id)
        .join(Release, Release.id == Route.release_id)
    ).all()
    # Only the columns read: the ORM row would also decode the hysteresis states' JSON.
    states = {
        (row.system_id, row.environment): row.latest
        for row in ctx.session.execute(
            select(MonitorState.system_id, MonitorState.environment, MonitorState.latest)
        )
    }
    open_alerts: dict[tuple[int, str], int] = defaultdict(int)
    for system_id, environment, count in ctx.session.execute(
        select(Alert.system_id, Alert.environment, func.count())
        .where(Alert.status == "open")
        .group_by(Alert.system_id, Alert.environment)
    ):
        open_alerts[(system_id, environment)] = int(count)
    result: dict[tuple[str, str], dict[str, Any]] = {}
    for system_id, name, environment, digest in routes:
        latest = states.get((system_id, environment)) or {}
        signals = Signals.from_dict(latest.get("signals")).to_dict()
        result[(name, environment)] = {
            "release": f"{name}@{digest}",
            "evaluated_release": latest.get("release"),
            "window": latest.get("window"),
            "rows": latest.get("rows"),
            **signals,
            "open_alerts": open_alerts.get((system_id, environment), 0),
        }
    return result


def windows(
    ctx: Context, system_name: str, environment: str | None = None, *, limit: int = 50
) -> list[dict[str, Any]]:
    """Closed windows of a system, newest first, with their full results."""
    from charter.services.systems import find_system
    from charter.store.monitoring_models import MonitorWindow

    ctx.require(Permission.MONITOR_READ)
    system = find_system(ctx, system_name)
    query = select(MonitorWindow).where(MonitorWindow.system_id == system.id)
    if environment is not None:
        query = query.where(MonitorWindow.environment == environment)
    rows = ctx.session.scalars(query.order_by(MonitorWindow.window_start.desc()).limit(limit))
    return [
        {
            "environment": w.environment,
            "window_start": w.window_start.isoformat(),
            "window_end": w.window_end.isoformat(),
            "rows": w.rows,
            "labelled": w.labelled,
            **w.result,
            "drift": _with_distributions(w.result.get("drift")),
        }
        for w in rows
    ]


def _with_distributions(drift: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored drift result with ``distribution: None`` on every column that lacks one.

    Windows judged before the worker stored distributions have none; the null tells a
    reader (and the report, which says "not stored for this window") so, where a missing
    key would look like a bug. A copy: the row's own JSON stays as stored.
    """
    if not drift:
        return drift
    details = {
        column: {"distribution": None, **detail}
        for column, detail in (drift.get("details") or {}).items()
    }
    return {**drift, "details": details}
