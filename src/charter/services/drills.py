"""Drills: a tabletop exercise run for real, in a sandbox environment of the system.

``charter drill SYSTEM --scenario drift|fairness|performance|abuse|outage`` puts the
release live in the sandbox environment (``drill``, never a real one), then:

- drift / fairness / performance / abuse: injects ``open_after`` breaching windows of
  records (and labels) in the past, runs the worker's own evaluation on them, and lets the
  policy's intervention act on the alert that opens;
- outage: starts the SDK's :class:`~charter.sdk.Router` on a loopback copy of the route,
  takes that control plane away, and times how long the SDK takes to apply the tier's
  rule (fail closed to the fallback for the top tier).

It records whether detection, notification, intervention and the switch to the fallback
happened and how long each took, and stores the result as ``fallback-drill`` evidence
produced by the drill runner (the only producer the evidence service accepts for that
suite). The high tier's ``fallback-tested`` control passes on a passing drill of the
release. The drill's alerts and incidents are resolved at the end, marked as a drill.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from charter.domain.canonical import canonical_json, content_digest
from charter.domain.errors import BadInput, NotFound
from charter.domain.roles import Permission, Role
from charter.services import approvals, audit, incidents
from charter.services.context import Actor, Context
from charter.services.releases import find_release
from charter.store.models import Evidence, Release, Route
from charter.store.monitoring_models import Alert, Delivery, MonitorState
from charter.store.runtime_models import Incident

SCENARIOS = ("drift", "fairness", "performance", "abuse", "outage")
SANDBOX = "drill"
SUITE = "fallback-drill"
RUNNER = "charter.drill/1"
#: Records per injected window (above any sensible minimum sample).
WINDOW_ROWS = 600


def _runner(ctx: Context) -> Context:
    """The drill runner's context: the same transaction, acting for the user who ran it.

    A drill ingests, evaluates and intervenes as the worker would; it does so only in its
    own sandbox environment, under a name that says who ran it.
    """
    actor = Actor(id=ctx.actor.id, name=f"drill:{ctx.actor.name}"[:64], role=Role.ADMIN)
    return Context(session=ctx.session, actor=actor, clock=ctx.clock)


def _sandbox_route(ctx: Context, release: Release, fallback: dict[str, Any] | None) -> Route:
    route = ctx.session.scalar(
        select(Route).where(Route.system_id == release.system_id, Route.environment == SANDBOX)
    )
    if route is None:
        route = Route(
            system_id=release.system_id,
            environment=SANDBOX,
            release_id=release.id,
            previous_release_id=None,
            state="serving",
            fallback=fallback,
            reason="drill sandbox",
            updated_at=ctx.now(),
            updated_by=ctx.actor.name,
        )
        ctx.session.add(route)
    else:
        route.release_id, route.previous_release_id = release.id, None
        route.state, route.fallback = "serving", fallback
        route.reason, route.updated_at = "drill sandbox", ctx.now()
    ctx.session.flush()
    ctx.session.refresh(route)
    # A fresh monitor state: the drill's windows are judged from scratch.
    state = ctx.session.scalar(
        select(MonitorState).where(
            MonitorState.system_id == release.system_id, MonitorState.environment == SANDBOX
        )
    )
    if state is not None:
        ctx.session.delete(state)
        ctx.session.flush()
    return route


def _records(reference: Any, scenario: str, n: int, start: int) -> list[dict[str, Any]]:
    """Records that breach ``scenario`` against the reference's columns."""
    rows = []
    for i in range(n):
        features: dict[str, Any] = {}
        for name in reference.features:
            column = reference.columns.get(name)
            numeric = getattr(column, "kind", "numeric") == "numeric"
            if scenario == "drift":
                features[name] = 1.0e6 + i if numeric else f"drill-unseen-{i % 5}"
            else:
                features[name] = _typical(column, numeric)
        record: dict[str, Any] = {"inference_id": f"drill-{start + i}", "features": features}
        if reference.prediction:
            cohort_a = i % 2 == 0
            record["prediction"] = (1 if cohort_a else 0) if scenario == "fairness" else 1
        if reference.cohort:
            record["cohort"] = {reference.cohort: "drill-a" if i % 2 == 0 else "drill-b"}
        if scenario == "abuse":
            record["guard"] = {"blocked": True}
        record["latency_ms"] = 5.0
        rows.append(record)
    return rows


def _typical(column: Any, numeric: bool) -> Any:
    if column is None:
        return 0.0
    if numeric:
        for attribute in ("mean", "median"):
            value = getattr(column, attribute, None)
            if isinstance(value, (int, float)):
                return float(value)
        return 0.0
    categories = getattr(column, "categories", None) or getattr(column, "counts", None)
    if isinstance(categories, dict) and categories:
        return next(iter(categories))
    if isinstance(categories, (list, tuple)) and categories:
        return categories[0]
    return "drill"


def _inject(
    ctx: Context, route: Route, scenario: str, windows: int, width: timedelta
) -> dict[str, Any]:
    """Ingest ``windows`` breaching windows ending before now (labels too, if any)."""
    from charter.services import ingest
    from charter.services.references import current_reference, parse_reference

    row = current_reference(ctx, route.release)
    if row is None:
        raise BadInput("the release has no reference profile: set one before drilling")
    reference = parse_reference(row.profile)
    now = ctx.now()
    for k in range(windows):
        moment = now - width * (windows - k + 1)
        past = Context(session=ctx.session, actor=ctx.actor, clock=_fixed(moment))
        records = _records(reference, scenario, WINDOW_ROWS, k * WINDOW_ROWS)
        ingest.ingest_records(
            past,
            route.system.name,
            SANDBOX,
            f"drill-{scenario}-{now.timestamp()}-{k}",
            records,
            release=route.release.digest,
        )
        if scenario == "performance" and reference.label:
            labels = [{"inference_id": r["inference_id"], "label": 0} for r in records]
            ingest.ingest_labels(
                past, route.system.name, SANDBOX, f"drill-l-{now.timestamp()}-{k}", labels
            )
    return {"windows": windows, "rows_per_window": WINDOW_ROWS, "reference": reference.digest}


def _fixed(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at ``moment`` (ingestion buckets records by the clock)."""
    return lambda: moment


def _step(ok: bool, seconds: float | None, detail: str) -> dict[str, Any]:
    return {"ok": ok, "seconds": None if seconds is None else round(seconds, 4), "detail": detail}


def _breach_drill(ctx: Context, route: Route, scenario: str) -> dict[str, Any]:
    from charter.services import interventions
    from charter.services import worker as monitors

    plan = monitors._plan(ctx, route)
    width = plan.window if plan.window_rows is None else timedelta(hours=1)
    steps: dict[str, Any] = {"plan": {"window": str(width), "open_after": plan.open_after}}
    steps["injected"] = _inject(ctx, route, scenario, plan.open_after, width)
    monitors._ensure_states(ctx)
    state = ctx.session.scalar(
        select(MonitorState).where(
            MonitorState.system_id == route.system_id, MonitorState.environment == SANDBOX
        )
    )
    assert state is not None
    started = time.perf_counter()
    monitors.evaluate_route(ctx, state)
    detect_seconds = time.perf_counter() - started
    opened = list(
        ctx.session.scalars(
            select(Alert).where(
                Alert.system_id == route.system_id,
                Alert.environment == SANDBOX,
                Alert.status == "open",
                Alert.monitor.notin_(["attestation"]),
            )
        )
    )
    wanted = {
        "drift": "drift",
        "fairness": "fairness",
        "performance": "performance",
        "abuse": "guardrails",
    }[scenario]
    hits = [a for a in opened if a.monitor.split(":")[0] == wanted] or opened
    if not hits:
        steps["detection"] = _step(False, detect_seconds, f"no {wanted} alert opened")
        for name in ("notification", "intervention", "fallback"):
            steps[name] = _step(False, None, "nothing detected")
        return steps
    alert = hits[0]
    mttd = (
        (alert.opened_at - alert.breach_started_at).total_seconds()
        if alert.breach_started_at
        else None
    )
    steps["detection"] = _step(
        True,
        detect_seconds,
        f"alert #{alert.id} {alert.monitor} ({alert.severity}); "
        f"breach start to alert {mttd} s of event time",
    )
    steps["detection"]["mttd_seconds"] = mttd
    deliveries = list(ctx.session.scalars(select(Delivery).where(Delivery.alert_id == alert.id)))
    steps["notification"] = _step(
        bool(deliveries),
        0.0,
        f"{len(deliveries)} notification(s) queued"
        if deliveries
        else "no channel takes this alert: add one with `charter alerts channel add`",
    )
    started = time.perf_counter()
    outcome = interventions._act(ctx, alert.id)
    act_seconds = time.perf_counter() - started
    ctx.session.refresh(route)
    acted = outcome == "done"
    steps["intervention"] = _step(
        acted, act_seconds, f"{outcome}; route now {route.state} on {route.release.digest[:12]}"
    )
    fallback_live = route.state == "killed" and bool(route.fallback)
    rolled = route.release_id != alert.release_id
    steps["fallback"] = _step(
        fallback_live or rolled,
        act_seconds,
        "the SDK's route now serves the fallback"
        if fallback_live
        else "the route now serves the previous release"
        if rolled
        else "the route still serves the breaching release",
    )
    return steps


def _outage_drill(ctx: Context, route: Route, refresh: float) -> dict[str, Any]:
    """A Router against a loopback copy of the route; then the copy goes away."""
    import http.server

    from charter.sdk import Router
    from charter.services.attestation import serving_policy

    facts = serving_policy(ctx, route.system)
    body = json.dumps(
        {
            "state": "serving",
            "release": f"{route.system.name}@{route.release.digest}",
            "serve": {"kind": "release", "ref": f"{route.system.name}@{route.release.digest}"},
            "fallback": route.fallback,
            "why": "drill",
            **facts,
        }
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    plane = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=plane.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{plane.server_address[1]}"
    router = Router(
        url,
        "drill",
        route.system.name,
        SANDBOX,
        refresh=refresh,
        timeout=0.3,
        stale_after=2 * refresh + 0.3,
    )
    steps: dict[str, Any] = {"rule": facts["unreachable"]}
    try:
        before = router.decide()
        steps["detection"] = _step(before.served == "release", 0.0, f"serving {before.served}")
        plane.shutdown()
        plane.server_close()
        started = time.perf_counter()
        deadline = started + 10 * refresh + 5
        decision = router.decide()
        while not decision.flags and time.perf_counter() < deadline:
            time.sleep(0.005)
            decision = router.decide()
        took = time.perf_counter() - started
        steps["notification"] = _step(
            bool(decision.flags), took, f"the SDK flagged it: {', '.join(decision.flags)}"
        )
        expected = "fallback" if facts["unreachable"] == "fail_closed" else "release"
        steps["intervention"] = _step(
            decision.served == expected, took, f"rule {facts['unreachable']}: {decision.reason}"
        )
        steps["fallback"] = _step(
            decision.served == "fallback" or expected == "release",
            took,
            f"served {decision.served}" + (f" ({decision.fallback})" if decision.fallback else ""),
        )
    finally:
        router.close(1.0)
    return steps


def run_drill(ctx: Context, ref: str, scenario: str, *, refresh: float = 0.2) -> dict[str, Any]:
    """Run a drill of a release; store and return its result (fallback-drill evidence)."""
    ctx.require(Permission.INTERVENE)
    if scenario not in SCENARIOS:
        raise BadInput(f"scenario must be one of {', '.join(SCENARIOS)}", location="scenario")
    release = find_release(ctx, ref)
    runner = _runner(ctx)
    live = ctx.session.scalar(
        select(Route).where(Route.system_id == release.system_id, Route.environment == "prod")
    )
    environment = live.environment if live else "prod"
    fallback = approvals.approval_for(ctx, release, environment).fallback
    notes: list[str] = []
    if not fallback:
        notes.append(f"no approval of this release for {environment} names a fallback")
    route = _sandbox_route(runner, release, fallback)
    started_at = ctx.now()
    if scenario == "outage":
        steps = _outage_drill(runner, route, refresh)
    else:
        steps = _breach_drill(runner, route, scenario)
    checks = ("detection", "notification", "intervention", "fallback")
    required = ("detection", "intervention", "fallback")
    passed = bool(fallback) and all(steps[name]["ok"] for name in required)
    bounds = [
        {
            "bound": f"{name} happened",
            "metric": name,
            "status": "pass" if steps[name]["ok"] else ("fail" if name in required else "warn"),
            "reason": steps[name]["detail"],
            "location": None,
        }
        for name in checks
    ]
    if not fallback:
        bounds.append(
            {
                "bound": "a fallback is approved",
                "metric": "fallback",
                "status": "fail",
                "reason": notes[-1],
                "location": None,
            }
        )
    result = {
        "schema": "charter.drill.result/1",
        "runner": RUNNER,
        "suite": {"name": SUITE, "version": "1"},
        "scenario": scenario,
        "release": f"{release.system.name}@{release.digest}",
        "environment": SANDBOX,
        "started_at": started_at.isoformat(),
        "steps": steps,
        "passed": passed,
    }
    evidence = Evidence(
        release_id=release.id,
        suite=SUITE,
        suite_version="1",
        digest=content_digest(result),
        dataset_sha256=None,
        passed=passed,
        bounds=bounds,
        result=canonical_json(result),
        created_at=ctx.now(),
        created_by=RUNNER,
        # Produced by Charter's drill runner itself, never posted: the gate counts it.
        provenance={
            "source": "charter-runner",
            "suite": SUITE,
            "suite_version": "1",
            "dataset_sha256": None,
            "options": {"scenario": scenario},
            "spec": None,
            "environment": {"sandbox": SANDBOX},
            "recorded_by": RUNNER,
            "recorded_by_role": "service",
        },
    )
    ctx.session.add(evidence)
    ctx.session.flush()
    _close_drill_records(runner, release)
    # The evidence row is audited like every other evidence (evidence packs check each
    # row against its event), and the drill itself gets its own event.
    audit.record(
        ctx,
        "evidence.recorded",
        "release",
        f"{release.system.name}@{release.digest}",
        {
            "evidence_id": evidence.id,
            "digest": evidence.digest,
            "suite": evidence.suite,
            "suite_version": evidence.suite_version,
            "dataset_sha256": None,
            "passed": passed,
            "bounds": [{"bound": b["bound"], "status": b["status"]} for b in bounds],
        },
    )
    audit.record(
        ctx,
        "drill.run",
        "release",
        f"{release.system.name}@{release.digest}",
        {
            "scenario": scenario,
            "passed": passed,
            "evidence_id": evidence.id,
            "environment": SANDBOX,
        },
    )
    return {
        "system": release.system.name,
        "release": f"{release.system.name}@{release.digest}",
        "scenario": scenario,
        "environment": SANDBOX,
        "passed": passed,
        "steps": steps,
        "evidence_id": evidence.id,
        "notes": notes,
    }


def _close_drill_records(ctx: Context, release: Release) -> None:
    """Resolve the sandbox's alerts and incidents: they were the drill's, not production's."""
    for alert in ctx.session.scalars(
        select(Alert).where(
            Alert.system_id == release.system_id,
            Alert.environment == SANDBOX,
            Alert.status == "open",
        )
    ):
        alert.status, alert.resolved_at = "resolved", ctx.now()
        alert.details = {**alert.details, "resolution": "drill finished"}
    for incident in ctx.session.scalars(
        select(Incident).where(
            Incident.system_id == release.system_id,
            Incident.environment == SANDBOX,
            Incident.status != "resolved",
        )
    ):
        incidents.advance(ctx, incident, "resolved", "drill finished")


def find_drill(ctx: Context, evidence_id: int) -> dict[str, Any]:
    """A stored drill result."""
    ctx.require(Permission.RELEASE_READ)
    row = ctx.session.get(Evidence, evidence_id)
    if row is None or row.suite != SUITE:
        raise NotFound(f"drill #{evidence_id} does not exist")
    return json.loads(row.result)  # type: ignore[no-any-return]


def list_drills(
    ctx: Context, *, system: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Drills run, newest first: the stored result of each with its evidence id and time."""
    from charter.services.systems import find_system

    ctx.require(Permission.RELEASE_READ)
    query = (
        select(Evidence)
        .join(Release, Release.id == Evidence.release_id)
        .where(Evidence.suite == SUITE)
        .order_by(Evidence.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    if system is not None:
        query = query.where(Release.system_id == find_system(ctx, system).id)
    rows = []
    for row in ctx.session.scalars(query):
        result = json.loads(row.result)
        rows.append(
            {
                "evidence_id": row.id,
                "system": row.release.system.name,
                "release": result.get("release"),
                "scenario": result.get("scenario"),
                "passed": row.passed,
                "started_at": result.get("started_at"),
                "recorded_at": row.created_at.isoformat(),
                "steps": result.get("steps") or {},
                "bounds": row.bounds,
            }
        )
    return rows


def drill_targets(ctx: Context) -> list[str]:
    """``SYSTEM@DIGEST`` of every release live in prod, by system: what ``charter drill
    SYSTEM`` drills (one query, whatever the number of systems)."""
    from charter.store.models import System

    ctx.require(Permission.INTERVENE)
    rows = ctx.session.execute(
        select(System.name, Release.digest)
        .join(Route, Route.system_id == System.id)
        .join(Release, Release.id == Route.release_id)
        .where(Route.environment == "prod")
        .order_by(System.name)
    )
    return [f"{name}@{digest}" for name, digest in rows]
