"""The monitoring worker: close windows, judge them, and open or close alerts with hysteresis.

One pass (:func:`run_once`) makes sure every live route has a monitor-state row, then
takes the rows one by one. On PostgreSQL a row is claimed with ``SELECT ... FOR UPDATE
SKIP LOCKED`` in its own transaction, so several workers share the routes and never
evaluate the same one twice; the claim is held until the results commit. On SQLite the
whole pass of one route runs in a write transaction (SQLite has one writer anyway): run
one worker.

Windows follow event time (see :mod:`charter.services.windowing`): a window closes once
the route's watermark passes its end plus ``live.lateness``, and every complete window is
judged in event-time order, so replaying a historical file is ``charter log`` followed by
one pass. Hysteresis steps once per window, in that order, when the window closes. Records
and labels that arrive for a window already judged revise its results (visibly, in its
``revisions``); they do not replay hysteresis (see docs/monitoring-service.md).
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, select

from charter.domain.contracts import MonitoringPlan
from charter.domain.roles import Permission
from charter.monitoring import (
    AlertState,
    HysteresisPolicy,
    ReferenceProfile,
    dedup_key,
    step,
)
from charter.monitoring.verdict import judge_window
from charter.services import alerts, approvals, contracts
from charter.services.context import Actor, Charter, Context
from charter.services.references import current_reference, parse_reference
from charter.services.windowing import (
    BUCKET_WIDTH,
    EPOCH,
    MAX_WINDOWS_PER_PASS,
    count_windows,
    floor,
    merge_buckets,
    time_windows,
    watermark,
)
from charter.store.models import Release, Rollout, Route
from charter.store.monitoring_models import (
    InferenceIndex,
    MonitorBucket,
    MonitorState,
    MonitorWindow,
    RolloutState,
)

if TYPE_CHECKING:
    from charter.settings import Settings

#: Inference-index entries older than this are dropped: later labels count as unknown.
LABEL_HORIZON = timedelta(days=30)


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


def _latest(result: dict[str, Any]) -> dict[str, Any]:
    """What the monitor state keeps of a window's result for status and /metrics."""
    return {k: result[k] for k in ("release", "window", "rows", "labelled", "signals")}


#: The parts of a window's result a revision recomputes (breaches and transitions stay as
#: judged when the window closed: hysteresis is not replayed).
REVISED = ("rows", "labelled", "drift", "quality", "realised", "estimated", "fairness", "selection")


def _revise(
    ctx: Context,
    route: Route,
    reference: ReferenceProfile,
    settings: MonitoringPlan,
    state: MonitorState | RolloutState,
    closed_now: set[datetime],
) -> dict[str, Any] | None:
    """Re-judge closed windows whose buckets took late records or labels since the last pass
    (``closed_now``: starts of the windows this pass closed, judged already).

    Returns the newest revised result, or None when nothing changed.
    """
    now = ctx.now()
    if state.last_window_end is None:
        return None
    scope = (
        MonitorBucket.release_id == route.release_id,
        MonitorBucket.environment == route.environment,
        MonitorBucket.reference_digest == reference.digest,
        MonitorBucket.rows > 0,
    )
    query = select(MonitorBucket.bucket_start).where(
        *scope, MonitorBucket.bucket_start < state.last_window_end
    )
    if state.evaluated_at is not None:
        query = query.where(MonitorBucket.updated_at >= state.evaluated_at)
    changed = sorted(set(ctx.session.scalars(query)))
    if not changed:
        return None
    closed = ctx.session.scalars(
        select(MonitorWindow)
        .where(
            MonitorWindow.release_id == route.release_id,
            MonitorWindow.environment == route.environment,
            MonitorWindow.window_start <= changed[-1],
            MonitorWindow.window_end > changed[0],
        )
        .order_by(MonitorWindow.window_start)
    ).all()
    # Windows do not overlap and are sorted by start: find each bucket's window by bisection.
    starts = [row.window_start for row in closed]
    touched: set[int] = set()
    for at in changed:
        index = bisect.bisect_right(starts, at) - 1
        if index >= 0 and at < closed[index].window_end:
            touched.add(index)
    newest = None
    for index in sorted(touched):
        row = closed[index]
        if row.window_start in closed_now or row.result.get("reference") != reference.digest:
            continue
        buckets = list(
            ctx.session.scalars(
                select(MonitorBucket).where(
                    *scope,
                    MonitorBucket.bucket_start >= row.window_start,
                    MonitorBucket.bucket_start < row.window_end,
                )
            )
        )
        labels_seen = sum(b.labelled for b in buckets)
        rows_seen = sum(b.rows for b in buckets)
        late = sum(b.late or 0 for b in buckets)
        if (
            labels_seen <= int(row.result.get("bucket_labels", row.labelled))
            and rows_seen <= row.rows
        ):
            continue
        profile, labels, signal_totals = merge_buckets(buckets, reference)
        fresh = judge_window(reference, settings, profile, labels, signal_totals).to_dict()
        result = dict(row.result)
        for key in REVISED:
            result[key] = fresh[key]
        result["signals"] = fresh["signals"]
        result["bucket_labels"] = labels_seen
        result["late"] = late
        result["revisions"] = [
            *result.get("revisions", []),
            {
                "at": now.isoformat(),
                "rows_before": row.rows,
                "rows": fresh["rows"],
                "labelled_before": row.labelled,
                "labelled": fresh["labelled"],
                "late": late,
            },
        ]
        row.result = result
        row.rows = fresh["rows"]
        row.labelled = fresh["labelled"]
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


def _waiting(
    settings: MonitoringPlan,
    mark: datetime | None,
    lateness: timedelta,
    since: datetime,
    pending: list[MonitorBucket],
) -> str:
    """Why a route with a reference judged no window in this pass."""
    if mark is None or not pending:
        return "no records since the last window"
    first = pending[0].bucket_start
    if settings.window_rows is not None:
        rows = sum(b.rows for b in pending)
        if rows < settings.window_rows:
            return (
                f"{rows} rows since {since.isoformat() if since > EPOCH else first.isoformat()}, "
                f"short of the {settings.window_rows}-row window"
            )
        end = first + BUCKET_WIDTH
    else:
        end = floor(first, settings.window) + settings.window
    return (
        f"window ending {end.isoformat()} is open until the watermark (latest event time, "
        f"now {mark.isoformat()}) passes {(end + lateness).isoformat()}"
    )


def evaluate_route(ctx: Context, state: MonitorState) -> tuple[list[dict[str, Any]], list[str]]:
    """Close and judge every complete window of one route, in event-time order.

    Returns the results of the windows closed and notes on why nothing (or little) was
    judged: no reference, windows still open, windows below the minimum sample.
    """
    route = ctx.session.scalar(
        select(Route).where(
            Route.system_id == state.system_id, Route.environment == state.environment
        )
    )
    if route is None:
        return [], []
    from charter.services import rollouts

    canary = rollouts.active(ctx, route.system_id, route.environment)
    if canary is not None and canary.kind != "canary":
        canary = None  # a shadow serves nothing: its comparison is not a window of traffic
    alerts.resolve_superseded(ctx, route, keep=canary.release_id if canary else None)
    outcomes, notes = _evaluate_release(
        ctx, route, state, f"{route.system.name}/{route.environment}"
    )
    if canary is not None:
        # The canary's windows are judged apart from the live release's: its own buckets,
        # its own hysteresis states and alerts (the dedup key holds the release digest).
        more, more_notes = _evaluate_release(
            ctx,
            cast(Route, _CandidateRoute(route, canary.release)),
            _canary_state(ctx, canary),
            f"{route.system.name}/{route.environment} canary {canary.release.digest[:12]}",
        )
        outcomes += more
        notes += more_notes
    return outcomes, notes


class _CandidateRoute:
    """A route seen from its canary: the candidate in place of the live release (what the
    window code reads of a route: system, environment and release)."""

    def __init__(self, route: Route, release: Release) -> None:
        self.system_id = route.system_id
        self.system = route.system
        self.environment = route.environment
        self.release = release
        self.release_id = release.id


def _canary_state(ctx: Context, rollout: Rollout) -> RolloutState:
    """The canary's window progress, created on first use from the rollout's start hour."""
    state = ctx.session.scalar(select(RolloutState).where(RolloutState.rollout_id == rollout.id))
    if state is None:
        state = RolloutState(
            rollout_id=rollout.id,
            last_window_end=floor(rollout.started_at, BUCKET_WIDTH),
            states={},
            latest=None,
        )
        ctx.session.add(state)
        ctx.session.flush()
    return state


def _evaluate_release(
    ctx: Context, route: Route, state: MonitorState | RolloutState, where: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """Close and judge the complete windows of the route's release (see evaluate_route)."""
    release = route.release
    reference_row = current_reference(ctx, release)
    if reference_row is None:
        return [], [
            f"{where}: the live release {release.digest[:12]} has no reference profile "
            "(charter reference set)"
        ]
    reference = parse_reference(reference_row.profile)
    settings = _plan(ctx, route)
    hysteresis = HysteresisPolicy(
        open_after=settings.open_after,
        close_after=settings.close_after,
        min_sample=settings.min_sample,
    )
    width = BUCKET_WIDTH if settings.window_rows is not None else settings.window
    now = ctx.now()
    since = state.last_window_end or EPOCH
    scope = (
        MonitorBucket.release_id == release.id,
        MonitorBucket.environment == route.environment,
        MonitorBucket.reference_digest == reference.digest,
    )
    mark, on_clock = watermark(ctx, scope, since)
    lateness = timedelta(0) if on_clock else settings.lateness
    cutoff = since if mark is None else max(since, floor(mark - lateness, width))
    in_scope = (*scope, MonitorBucket.bucket_start >= since, MonitorBucket.bucket_start < cutoff)
    if settings.window_rows is not None:
        groups = count_windows(
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
        groups = time_windows(ctx, in_scope, width)
        if len(groups) == MAX_WINDOWS_PER_PASS:
            cutoff = groups[-1][1]  # the rest waits for the next pass
    outcomes = []
    notes = []
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
    small = 0
    for start, end, buckets in groups:
        recent_starts.append(start)
        window, labels, counts = merge_buckets(buckets, reference)
        verdict = judge_window(reference, settings, window, labels, counts)
        small += window.rows < settings.min_sample
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
            "late": sum(b.late or 0 for b in buckets),
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
    if small:
        notes.append(
            f"{where}: {small} window(s) below the minimum sample of {settings.min_sample} "
            "rows: judged, but no alert state changed"
        )
    if not groups:
        pending = list(
            ctx.session.scalars(
                select(MonitorBucket)
                .where(*scope, MonitorBucket.bucket_start >= since, MonitorBucket.rows > 0)
                .order_by(MonitorBucket.bucket_start)
            )
        )
        notes.append(f"{where}: {_waiting(settings, mark, lateness, since, pending)}")
    ctx.session.flush()
    revised = _revise(ctx, route, reference, settings, state, {g[0] for g in groups})
    if revised is not None and state.latest and state.latest.get("window") == revised["window"]:
        state.latest = _latest(revised)
    state.states = states
    if state.last_window_end is None or cutoff > state.last_window_end:
        state.last_window_end = cutoff
    state.evaluated_at = now
    state.evaluated_by = ctx.actor.name
    ctx.session.flush()
    return outcomes, notes


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
    windows closed, alerts opened and closed, deliveries made and failed; and ``notes``
    saying why routes judged nothing (no live route, no reference, windows still open...).
    """
    with charter.as_actor(actor, write=True) as ctx:
        ctx.require(Permission.MONITOR_RUN)
        state_ids = _ensure_states(ctx)
        ctx.session.execute(
            delete(InferenceIndex).where(InferenceIndex.received_at < ctx.now() - LABEL_HORIZON)
        )
    summary: dict[str, Any] = {"routes": 0, "skipped": 0, "windows": 0, "opened": 0, "closed": 0}
    notes: list[str] = []
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
            outcomes, route_notes = evaluate_route(ctx, state)
        notes.extend(route_notes)
        summary["routes"] += 1
        summary["windows"] += len(outcomes)
        for outcome in outcomes:
            for change in outcome["transitions"]:
                summary["opened" if "opened" in change else "closed"] += 1
    from charter.services.interventions import act_on_alerts  # the policy's interventions

    summary.update(act_on_alerts(charter, actor))
    if not state_ids:
        notes.append("no live route: deploy a release to an environment first")
    summary["notes"] = notes
    if deliver:
        summary.update(alerts.deliver_pending(charter, actor, backoff=backoff))
    return summary
