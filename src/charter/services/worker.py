"""The monitoring worker: close windows, judge them, and open or close alerts with hysteresis.

One pass (:func:`run_once`) makes sure every live route has a monitor-state row, then
takes the rows one by one. On PostgreSQL a row is claimed with ``SELECT ... FOR UPDATE
SKIP LOCKED`` in its own transaction, so several workers share the routes and never
evaluate the same one twice; the claim is held until the results commit. On SQLite the
whole pass of one route runs in a write transaction (SQLite has one writer anyway): run
one worker.

A window is ``live.window`` long (default 1 day, a whole number of hours), aligned on
the UTC epoch, and is the merge of its hourly buckets. It closes once the clock passes
its end; since buckets follow arrival time, no record can enter a closed window. Labels
that arrive after a window closed revise its realised results (performance, fairness by
cohort) within the label horizon; they do not replay alert hysteresis, which steps once
per window, in order, when the window closes (see docs/monitoring-service.md).

A count window (``live.window: 5000 rows``) is the merge of consecutive closed hourly
buckets, taken in order until they hold at least that many records: it closes at the
first hour boundary after the count is reached, so it holds between N rows and N plus
one hour of traffic. Hourly profiles are what ingestion keeps, so an hour is never split.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from charter.domain.contracts import MonitoringPlan
from charter.domain.roles import Permission
from charter.monitoring import (
    AlertState,
    HysteresisPolicy,
    ReferenceProfile,
    WindowProfile,
    dedup_key,
    merge_windows,
    signal_counts,
    step,
)
from charter.monitoring.verdict import judge_window
from charter.services import alerts, approvals, contracts
from charter.services.context import Actor, Charter, Context
from charter.services.references import current_reference, parse_reference
from charter.store.models import Route
from charter.store.monitoring_models import (
    InferenceIndex,
    MonitorBucket,
    MonitorState,
    MonitorWindow,
)

if TYPE_CHECKING:
    from charter.settings import Settings

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Width of the buckets ingestion keeps; count windows are made of whole buckets.
BUCKET_WIDTH = timedelta(hours=1)
#: Inference-index entries older than this are dropped: later labels count as unknown.
LABEL_HORIZON = timedelta(days=30)
#: Most windows one route closes in one pass (a worker that was down catches up gradually).
MAX_WINDOWS_PER_PASS = 500


def _floor(moment: datetime, width: timedelta) -> datetime:
    return EPOCH + ((moment - EPOCH) // width) * width


def _merge_buckets(
    buckets: list[MonitorBucket], reference: ReferenceProfile
) -> tuple[WindowProfile, WindowProfile | None, dict[str, Any]]:
    profiles = [WindowProfile.from_dict(json.loads(b.profile), reference) for b in buckets]
    labelled = [
        WindowProfile.from_dict(json.loads(b.labels_profile), reference)
        for b in buckets
        if b.labels_profile
    ]
    counts = signal_counts.empty_signals()
    for bucket in buckets:
        counts = signal_counts.merge_signals(counts, bucket.signals)
    return (
        merge_windows(*profiles),
        merge_windows(*labelled) if labelled else None,
        counts,
    )


def _ensure_states(ctx: Context) -> list[int]:
    have = {(s.system_id, s.environment) for s in ctx.session.scalars(select(MonitorState))}
    for system_id, environment in ctx.session.execute(select(Route.system_id, Route.environment)):
        if (system_id, environment) not in have:
            ctx.session.add(
                MonitorState(
                    system_id=system_id,
                    environment=environment,
                    last_window_end=None,
                    states={},
                    latest=None,
                )
            )
    ctx.session.flush()
    return list(ctx.session.scalars(select(MonitorState.id).order_by(MonitorState.id)))


def _claim(ctx: Context, state_id: int) -> MonitorState | None:
    claimed = ctx.session.scalar(
        select(MonitorState.id).where(MonitorState.id == state_id).with_for_update(skip_locked=True)
    )
    if claimed is None:
        return None
    state = ctx.session.get(MonitorState, state_id, populate_existing=True)
    return state


def _time_windows(
    ctx: Context, in_scope: tuple[Any, ...], width: timedelta
) -> list[tuple[datetime, datetime, list[MonitorBucket]]]:
    """Epoch-aligned windows of ``width`` over the finished buckets, oldest first."""
    starts = ctx.session.scalars(
        select(MonitorBucket.bucket_start).where(*in_scope).order_by(MonitorBucket.bucket_start)
    ).all()
    window_starts = sorted({_floor(s, width) for s in starts})[:MAX_WINDOWS_PER_PASS]
    groups = []
    for start in window_starts:
        end = start + width
        buckets = list(
            ctx.session.scalars(
                select(MonitorBucket).where(
                    *in_scope,
                    MonitorBucket.bucket_start >= start,
                    MonitorBucket.bucket_start < end,
                    MonitorBucket.rows > 0,
                )
            )
        )
        if buckets:
            groups.append((start, end, buckets))
    return groups


def _count_windows(
    buckets: Sequence[MonitorBucket], rows: int
) -> list[tuple[datetime, datetime, list[MonitorBucket]]]:
    """Consecutive buckets (oldest first) grouped until each group holds ``rows`` records.

    A trailing group short of ``rows`` is not a window yet and is left out.
    """
    groups: list[tuple[datetime, datetime, list[MonitorBucket]]] = []
    current: list[MonitorBucket] = []
    total = 0
    for bucket in buckets:
        current.append(bucket)
        total += bucket.rows
        if total >= rows:
            start = current[0].bucket_start
            end = current[-1].bucket_start + BUCKET_WIDTH
            groups.append((start, end, current))
            current, total = [], 0
            if len(groups) == MAX_WINDOWS_PER_PASS:
                break
    return groups


def _latest(result: dict[str, Any]) -> dict[str, Any]:
    """What the monitor state keeps of a window's result for status and /metrics."""
    return {k: result[k] for k in ("release", "window", "rows", "labelled", "signals")}


def _revise_late_labels(
    ctx: Context,
    route: Route,
    reference: ReferenceProfile,
    settings: MonitoringPlan,
    now: datetime,
) -> dict[str, Any] | None:
    """Refresh the label-based results of closed windows whose buckets got labels since.

    Only windows within the label horizon are looked at (older inferences no longer take
    labels). Returns the newest revised result, or None when nothing changed.
    """
    scope = (
        MonitorBucket.release_id == route.release_id,
        MonitorBucket.environment == route.environment,
        MonitorBucket.reference_digest == reference.digest,
        MonitorBucket.rows > 0,
    )
    closed = ctx.session.scalars(
        select(MonitorWindow)
        .where(
            MonitorWindow.release_id == route.release_id,
            MonitorWindow.environment == route.environment,
            MonitorWindow.window_end > now - LABEL_HORIZON,
        )
        .order_by(MonitorWindow.window_start)
    ).all()
    if not closed:
        return None
    # Light query first: label counts per bucket; whole buckets only for revised windows.
    counts = ctx.session.execute(
        select(MonitorBucket.bucket_start, MonitorBucket.labelled).where(
            *scope,
            MonitorBucket.bucket_start >= closed[0].window_start,
            MonitorBucket.bucket_start < closed[-1].window_end,
        )
    ).all()
    # Windows do not overlap and are sorted by start: find each bucket's window by bisection.
    starts = [row.window_start for row in closed]
    labels_seen = [0] * len(closed)
    for at, n in counts:
        index = bisect.bisect_right(starts, at) - 1
        if index >= 0 and at < closed[index].window_end:
            labels_seen[index] += n
    newest = None
    for row, seen in zip(closed, labels_seen, strict=True):
        if row.result.get("reference") != reference.digest:
            continue
        start, end = row.window_start, row.window_end
        if seen <= int(row.result.get("bucket_labels", row.labelled)):
            continue
        buckets = list(
            ctx.session.scalars(
                select(MonitorBucket).where(
                    *scope, MonitorBucket.bucket_start >= start, MonitorBucket.bucket_start < end
                )
            )
        )
        profile, labels, signal_totals = _merge_buckets(buckets, reference)
        fresh = judge_window(reference, settings, profile, labels, signal_totals)
        result = dict(row.result)
        result["labelled"] = fresh.labelled
        result["realised"] = fresh.realised
        result["fairness"] = fresh.fairness
        result["signals"] = {**result["signals"], "accuracy": asdict(fresh.signals.accuracy)}
        result["bucket_labels"] = seen
        result["revisions"] = [
            *result.get("revisions", []),
            {"at": now.isoformat(), "labelled_before": row.labelled, "labelled": fresh.labelled},
        ]
        row.result = result
        row.labelled = fresh.labelled
        newest = result
    return newest


def _plan(ctx: Context, route: Route) -> MonitoringPlan:
    """The monitoring plan of the route's release under the contract in force there.

    The same function the gate's monitoring control reads (through the same facts), so
    the gate reports exactly what is watched.
    """
    release = route.release
    facts = approvals.decision_facts(approvals.release_decisions(ctx, release))
    state = approvals.approval_for(ctx, release, route.environment, facts=facts)
    contract = contracts.contract_in_force(release, facts, state)
    reference = contracts.reference_fact(ctx, release)
    return contracts.plan_for(ctx, release, route.environment, contract, reference)


def evaluate_route(ctx: Context, state: MonitorState) -> list[dict[str, Any]]:
    """Close and judge every finished window of one route; returns what happened."""
    route = ctx.session.scalar(
        select(Route).where(
            Route.system_id == state.system_id, Route.environment == state.environment
        )
    )
    if route is None:
        return []
    release = route.release
    alerts.resolve_superseded(ctx, route)
    reference_row = current_reference(ctx, release)
    if reference_row is None:
        return []
    reference = parse_reference(reference_row.profile)
    settings = _plan(ctx, route)
    hysteresis = HysteresisPolicy(
        open_after=settings.open_after,
        close_after=settings.close_after,
        min_sample=settings.min_sample,
    )
    width = BUCKET_WIDTH if settings.window_rows is not None else settings.window
    now = ctx.now()
    cutoff = _floor(now, width)
    since = state.last_window_end or EPOCH
    in_scope = (
        MonitorBucket.release_id == release.id,
        MonitorBucket.environment == route.environment,
        MonitorBucket.reference_digest == reference.digest,
        MonitorBucket.bucket_start >= since,
        MonitorBucket.bucket_start < cutoff,
    )
    if settings.window_rows is not None:
        groups = _count_windows(
            ctx.session.scalars(
                select(MonitorBucket)
                .where(*in_scope, MonitorBucket.rows > 0)
                .order_by(MonitorBucket.bucket_start)
            ).all(),
            settings.window_rows,
        )
        # Buckets after the last full window wait for more traffic.
        cutoff = groups[-1][1] if groups else since
    else:
        groups = _time_windows(ctx, in_scope, width)
    outcomes = []
    states = dict(state.states)
    ref_text = f"{route.system.name}@{release.digest}"
    # Starts of the windows so far, newest last: a streak's first window dates an alert.
    recent_starts = list(
        ctx.session.scalars(
            select(MonitorWindow.window_start)
            .where(
                MonitorWindow.system_id == route.system_id,
                MonitorWindow.environment == route.environment,
            )
            .order_by(MonitorWindow.window_start.desc())
            .limit(settings.open_after)
        )
    )[::-1]
    for start, end, buckets in groups:
        recent_starts.append(start)
        window, labels, counts = _merge_buckets(buckets, reference)
        verdict = judge_window(reference, settings, window, labels, counts)
        span = {"start": start.isoformat(), "end": end.isoformat()}
        transitions = []
        for breach in verdict.breaches:
            key = dedup_key(
                system=route.system.name,
                environment=route.environment,
                monitor=breach.monitor,
                subject=breach.subject,
                release=release.digest,
            )
            before = AlertState.from_dict(states[key]) if key in states else AlertState()
            after, change = step(hysteresis, before, breached=breach.breached, n=breach.n)
            states[key] = after.to_dict()
            if change == "opened":
                streak = max(1, min(after.breaching_streak, len(recent_starts)))
                streak_start = recent_starts[-streak]
                alerts.open_alert(ctx, route, key, breach, streak_start, span)
                transitions.append({"opened": key, **breach.to_dict()})
            elif change == "closed":
                alerts.close_alert(ctx, key, span)
                transitions.append({"closed": key, **breach.to_dict()})
        result = {
            **verdict.to_dict(),
            "release": ref_text,
            "reference": reference.digest,
            "window": span,
            "transitions": transitions,
            "bucket_labels": sum(b.labelled for b in buckets),
        }
        ctx.session.add(
            MonitorWindow(
                system_id=route.system_id,
                release_id=release.id,
                environment=route.environment,
                window_start=start,
                window_end=end,
                rows=window.rows,
                labelled=verdict.labelled,
                result=result,
                evaluated_at=now,
            )
        )
        state.latest = _latest(result)
        outcomes.append(result)
    revised = _revise_late_labels(ctx, route, reference, settings, now)
    if revised is not None and state.latest and state.latest.get("window") == revised["window"]:
        state.latest = _latest(revised)
    state.states = states
    if state.last_window_end is None or cutoff > state.last_window_end:
        state.last_window_end = cutoff
    state.evaluated_at = now
    state.evaluated_by = ctx.actor.name
    ctx.session.flush()
    return outcomes


def connect(settings: Settings) -> tuple[Charter, Actor]:
    """What a worker process needs: the database (refused unless its schema is current)
    and the actor the settings' token authenticates."""
    from charter.services.users import authenticate
    from charter.store.db import Database
    from charter.store.migrate import ensure_current

    db = Database(settings.database_url)
    ensure_current(db)
    charter = Charter(db)
    with db.transaction(write=False) as session:
        actor = authenticate(session, settings.token)
    return charter, actor


def run_once(
    charter: Charter, actor: Actor, *, deliver: bool = True, backoff: float = 0.5
) -> dict[str, Any]:
    """One worker pass over every live route, then the pending notifications.

    Returns counts: routes evaluated, routes skipped because another worker holds them,
    windows closed, alerts opened and closed, deliveries made and failed.
    """
    with charter.as_actor(actor, write=True) as ctx:
        ctx.require(Permission.MONITOR_RUN)
        state_ids = _ensure_states(ctx)
        ctx.session.execute(
            delete(InferenceIndex).where(InferenceIndex.received_at < ctx.now() - LABEL_HORIZON)
        )
    summary = {"routes": 0, "skipped": 0, "windows": 0, "opened": 0, "closed": 0}
    # SQLite: a write transaction from the start (a read transaction cannot safely turn
    # into a writer there). PostgreSQL: a plain one holding the row claim; the audit
    # append takes the global write lock only for the short write at the end.
    write = charter.db.is_sqlite
    for state_id in state_ids:
        with charter.as_actor(actor, write=write) as ctx:
            state = _claim(ctx, state_id)
            if state is None:
                summary["skipped"] += 1
                continue
            outcomes = evaluate_route(ctx, state)
        summary["routes"] += 1
        summary["windows"] += len(outcomes)
        for outcome in outcomes:
            for change in outcome["transitions"]:
                summary["opened" if "opened" in change else "closed"] += 1
    from charter.services.interventions import act_on_alerts  # the policy's interventions

    summary.update(act_on_alerts(charter, actor))
    if deliver:
        summary.update(alerts.deliver_pending(charter, actor, backoff=backoff))
    return summary
