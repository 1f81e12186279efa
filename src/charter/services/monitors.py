# Stays whole only until the monitoring split: the pure window verdict and the worker are
# moving into separate modules (the consolidation issue); this marker goes with the file.
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
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from charter.domain.contracts import MonitoringPlan
from charter.domain.roles import Permission
from charter.monitoring import (
    AlertState,
    HysteresisPolicy,
    ReferenceProfile,
    WindowProfile,
    check_quality,
    dedup_key,
    detect_drift,
    estimate_performance,
    merge_windows,
    realised_performance,
    step,
)
from charter.services import alerts, approvals, contracts
from charter.services import signals as signal_counts
from charter.services.context import Actor, Charter, Context
from charter.services.monitoring import current_reference, parse_reference
from charter.store.models import Route
from charter.store.monitoring_models import (
    InferenceIndex,
    MonitorBucket,
    MonitorState,
    MonitorWindow,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Width of the buckets ingestion keeps; count windows are made of whole buckets.
BUCKET_WIDTH = timedelta(hours=1)
#: Inference-index entries older than this are dropped: later labels count as unknown.
LABEL_HORIZON = timedelta(days=30)
#: Most windows one route closes in one pass (a worker that was down catches up gradually).
MAX_WINDOWS_PER_PASS = 500


def _floor(moment: datetime, width: timedelta) -> datetime:
    return EPOCH + ((moment - EPOCH) // width) * width


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


def selection_rates(window: WindowProfile, min_sample: int) -> dict[str, tuple[int, float]]:
    """Share of positive decisions per cohort, without labels: ``{cohort: (rows, rate)}``.

    The expected confusion counts of a cohort sum calibrated probabilities over the rows
    predicted positive (``tp``) and their complements (``fp``), so ``tp + fp`` is exactly
    the number of positive decisions. Cohorts with fewer than ``min_sample`` rows are left
    out: their rate is too noisy to compare.
    """
    rates = {}
    for name, counts in window.cohorts.items():
        expected = counts.expected
        if expected is None or expected.n < max(min_sample, 1):
            continue
        rates[name] = (expected.n, (expected.tp.value + expected.fp.value) / expected.n)
    return rates


def _rate_ratio(rates: dict[str, tuple[int, float]]) -> float | None:
    """min/max of the cohorts' rates (the four-fifths rule compares it with 0.8)."""
    return _min_max_ratio([rate for _, rate in rates.values()])


def _min_max_ratio(values: Sequence[float]) -> float | None:
    """Smallest over largest of the cohorts' values; None below two cohorts or at zero."""
    if len(values) < 2 or max(values) <= 0:
        return None
    return min(values) / max(values)


def evaluate_window(
    reference: ReferenceProfile,
    settings: MonitoringPlan,
    window: WindowProfile,
    labels: WindowProfile | None,
    counts: dict[str, Any],
) -> dict[str, Any]:
    """Judge one closed window: drift, quality, performance (realised and estimated),
    fairness, the five signals, and each rule's verdict (``breaches``)."""
    min_sample = settings.min_sample
    drift = detect_drift(reference, window)
    quality = check_quality(reference, window)
    estimated = None
    if reference.performance is not None and reference.performance.calibration is not None:
        estimated = estimate_performance(reference, window).overall
    realised = None
    if labels is not None and reference.performance is not None:
        realised = realised_performance(reference, labels)
    labelled = realised.n if realised is not None else 0
    use_realised = realised is not None and labelled >= min_sample
    accuracy_value = (
        realised.metrics.get("accuracy")
        if use_realised and realised
        else (estimated.accuracy if estimated else None)
    )
    statuses = {c.column: c.status for c in drift.columns}
    if all(s == "insufficient_data" for s in statuses.values()):
        drift_verdict = "insufficient data"
    else:
        drift_verdict = "drift" if drift.drifted else "no drift"
    rates = signal_counts.rates(counts)
    latency = {
        f"p{int(q * 100)}": _round(signal_counts.latency_quantile(counts, q), 3)
        for q in (0.5, 0.95, 0.99)
    }
    latency_n = int(counts.get("latency_n", 0))
    latency["n"] = latency_n
    cohorts: dict[str, Any] = {}
    if realised is not None:
        cohorts = {
            name: {"n": r.n, "accuracy": _round(r.metrics.get("accuracy"))}
            for name, r in sorted(realised.cohorts.items())
        }
    scored = [c["accuracy"] for c in cohorts.values() if c["n"] >= min_sample and c["accuracy"]]
    ratio = _min_max_ratio(scored)
    selection = selection_rates(window, min_sample)
    selection_ratio = _rate_ratio(selection)
    values: dict[str, tuple[float | None, int]] = {
        "accuracy": (accuracy_value, labelled if use_realised else window.rows),
        "accuracy_ratio": (ratio, labelled),
        "demographic_parity_ratio": (selection_ratio, window.rows),
        "latency_p50_ms": (latency["p50"], latency_n),
        "latency_p95_ms": (latency["p95"], latency_n),
        "latency_p99_ms": (latency["p99"], latency_n),
        "block_rate": (rates["block_rate"], int(counts.get("guarded", 0))),
        "fallback_rate": (rates["fallback_rate"], int(counts.get("fallback_known", 0))),
    }
    for metric in ("precision", "recall", "f1", "specificity"):
        source = (
            realised.metrics
            if use_realised and realised
            else (estimated.metrics if estimated else {})
        )
        values[metric] = (source.get(metric), labelled if use_realised else window.rows)
    breaches: list[dict[str, Any]] = []
    if "drift" in settings.monitors:
        for column in drift.columns:
            verdict = None if column.status == "insufficient_data" else column.status == "drift"
            breaches.append(
                {
                    "monitor": "drift",
                    "subject": column.column,
                    "severity": "warning",
                    "breached": verdict,
                    "n": column.n_window,
                    "value": _round(column.effect_value),
                    "bound": f"{column.effect} > {column.threshold}",
                }
            )
    if "quality" in settings.monitors:
        for quality_column in quality.columns:
            breaches.append(
                {
                    "monitor": "quality",
                    "subject": quality_column.column,
                    "severity": "warning",
                    "breached": bool(quality_column.issues),
                    "n": quality.rows,
                    "value": list(quality_column.issues),
                    "bound": "no data-quality issues",
                }
            )
    for bound in settings.bounds:
        value, n = values.get(bound.metric, (None, 0))
        breaches.append(
            {
                "monitor": bound.monitor,
                "subject": bound.metric,
                "severity": bound.severity,
                "breached": None if value is None else not bound.holds(value),
                "n": n,
                "value": _round(value),
                "bound": str(bound),
            }
        )
    return {
        "rows": window.rows,
        "labelled": labelled,
        "drift": {
            "verdict": drift_verdict,
            "columns": drift.drifted,
            "details": {
                c.column: {
                    "status": c.status,
                    "p_adjusted": _round(c.p_adjusted),
                    "effect": c.effect,
                    "effect_value": _round(c.effect_value),
                }
                for c in drift.columns
            },
        },
        "quality": {name: list(issues) for name, issues in quality.issues.items()},
        "realised": None
        if realised is None
        else {
            "n": realised.n,
            "metrics": {k: _round(v) for k, v in realised.metrics.items()},
            "cohorts": cohorts,
        },
        "estimated": None
        if estimated is None
        else {
            "n": estimated.n,
            "accuracy": _round(estimated.accuracy),
            "lower": _round(estimated.lower),
            "upper": _round(estimated.upper),
            "assumptions": list(estimated.assumptions),
        },
        "fairness": {"accuracy_ratio": _round(ratio), "cohorts": cohorts} if cohorts else None,
        "selection": None
        if not selection
        else {
            "demographic_parity_ratio": _round(selection_ratio),
            "cohorts": {k: {"n": n, "rate": _round(r)} for k, (n, r) in sorted(selection.items())},
        },
        "signals": {
            "latency_ms": latency,
            "accuracy": {
                "value": _round(accuracy_value),
                "source": ("realised" if use_realised else "estimated")
                if accuracy_value is not None
                else None,
                "realised": _round(realised.metrics.get("accuracy"))
                if realised and realised.n
                else None,
                "estimated": _round(estimated.accuracy) if estimated else None,
            },
            "drift": {"verdict": drift_verdict, "columns": drift.drifted},
            "block_rate": _round(rates["block_rate"]),
            "fallback_rate": _round(rates["fallback_rate"]),
        },
        "breaches": breaches,
    }


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
        fresh = evaluate_window(reference, settings, profile, labels, signal_totals)
        result = dict(row.result)
        for key in ("labelled", "realised", "fairness"):
            result[key] = fresh[key]
        result["signals"] = {**result["signals"], "accuracy": fresh["signals"]["accuracy"]}
        result["bucket_labels"] = seen
        result["revisions"] = [
            *result.get("revisions", []),
            {"at": now.isoformat(), "labelled_before": row.labelled, "labelled": fresh["labelled"]},
        ]
        row.result = result
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
        result = evaluate_window(reference, settings, window, labels, counts)
        result["release"] = ref_text
        result["reference"] = reference.digest
        result["window"] = {"start": start.isoformat(), "end": end.isoformat()}
        transitions = []
        for breach in result["breaches"]:
            key = dedup_key(
                system=route.system.name,
                environment=route.environment,
                monitor=breach["monitor"],
                subject=breach["subject"],
                release=release.digest,
            )
            before = AlertState.from_dict(states[key]) if key in states else AlertState()
            after, change = step(hysteresis, before, breached=breach["breached"], n=breach["n"])
            states[key] = after.to_dict()
            if change == "opened":
                streak = max(1, min(after.breaching_streak, len(recent_starts)))
                streak_start = recent_starts[-streak]
                alerts.open_alert(ctx, route, key, breach, streak_start, result["window"])
                transitions.append({"opened": key, **breach})
            elif change == "closed":
                alerts.close_alert(ctx, key, breach, result["window"])
                transitions.append({"closed": key, **breach})
        result["transitions"] = transitions
        result["bucket_labels"] = sum(b.labelled for b in buckets)
        ctx.session.add(
            MonitorWindow(
                system_id=route.system_id,
                release_id=release.id,
                environment=route.environment,
                window_start=start,
                window_end=end,
                rows=window.rows,
                labelled=result["labelled"],
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
