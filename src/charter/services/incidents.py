"""Incidents: a timeline (detected, acknowledged, mitigated, resolved) with actors and notes.

Opened automatically for every critical alert and every automatic intervention, and by
hand. Each incident links the release, the decisions that allowed it, the alerts, the
windows and the intervention. MTTD runs from the start of the first breaching window to
the alert (the detection); MTTM from the alert to the mitigation. Both come from the
records, per incident and in aggregate, never from estimates.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from hashlib import sha256
from typing import Any

from sqlalchemy import select

from charter.domain.errors import BadInput, Conflict, NotFound
from charter.domain.roles import Permission
from charter.domain.text import check_slug
from charter.services import audit
from charter.services.context import Context
from charter.services.systems import find_system
from charter.store.models import Route
from charter.store.monitoring_models import Alert
from charter.store.runtime_models import AlertAction, Incident, IncidentEvent

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
#: An alert's severity as an incident severity.
FROM_ALERT = {"critical": "sev1", "warning": "sev2", "info": "sev3"}
#: Each step, the status it moves to and the statuses it may come from.
STEPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "acknowledged": ("acknowledged", ("open",)),
    "mitigated": ("mitigated", ("open", "acknowledged")),
    "resolved": ("resolved", ("open", "acknowledged", "mitigated")),
}


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def _event(
    ctx: Context, incident: Incident, kind: str, note: str = "", **details: Any
) -> IncidentEvent:
    event = IncidentEvent(
        incident_id=incident.id,
        kind=kind,
        at=ctx.now(),
        actor=ctx.actor.name,
        note=note,
        details=details,
    )
    ctx.session.add(event)
    ctx.session.flush()
    return event


def _links_for(ctx: Context, system_id: int, environment: str) -> dict[str, Any]:
    """Release and decisions behind what serves the environment now."""
    from charter.services import approvals

    route = ctx.session.scalar(
        select(Route).where(Route.system_id == system_id, Route.environment == environment)
    )
    if route is None:
        return {"alerts": [], "windows": [], "decisions": [], "interventions": []}
    state = approvals.approval_for(ctx, route.release, environment)
    return {
        "release": f"{route.system.name}@{route.release.digest}",
        "alerts": [],
        "windows": [],
        "decisions": list(state.counted),
        "interventions": [],
    }


def _create(
    ctx: Context,
    *,
    system_id: int,
    environment: str,
    release_id: int | None,
    title: str,
    severity: str,
    source: str,
    alert: Alert | None,
    breach_started_at: datetime | None,
    note: str,
) -> Incident:
    links = _links_for(ctx, system_id, environment)
    if alert is not None:
        links["alerts"] = [alert.id]
        window = (alert.details or {}).get("window")
        if window:
            links["windows"] = [window]
    incident = Incident(
        system_id=system_id,
        environment=environment,
        release_id=release_id,
        title=title[:200],
        severity=severity,
        status="open",
        source=source,
        alert_id=alert.id if alert else None,
        links=links,
        breach_started_at=breach_started_at,
        detected_at=alert.opened_at if alert else ctx.now(),
        acknowledged_at=None,
        mitigated_at=None,
        resolved_at=None,
        opened_by=ctx.actor.name,
    )
    ctx.session.add(incident)
    ctx.session.flush()
    runbook = (alert.details or {}).get("runbook") if alert is not None else None
    extra = {} if not runbook else {"runbook": {"id": runbook["id"], "title": runbook["title"]}}
    _event(ctx, incident, "detected", note, source=source, alert_id=incident.alert_id, **extra)
    audit.record(
        ctx,
        "incident.opened",
        "incident",
        str(incident.id),
        {"severity": severity, "source": source, "alert_id": incident.alert_id, "title": title},
    )
    return incident


def open_for_alert(ctx: Context, alert: Alert, *, source: str = "alert") -> Incident:
    """The incident of an alert, opening it if there is none (one incident per alert)."""
    existing = ctx.session.scalar(select(Incident).where(Incident.alert_id == alert.id))
    if existing is not None:
        return existing
    return _create(
        ctx,
        system_id=alert.system_id,
        environment=alert.environment,
        release_id=alert.release_id,
        title=alert.summary,
        severity=FROM_ALERT.get(alert.severity, "sev2"),
        source=source,
        alert=alert,
        breach_started_at=alert.breach_started_at,
        note=f"alert #{alert.id}: {alert.summary}",
    )


def open_critical(ctx: Context) -> int:
    """Open an incident for every open critical alert that has none; returns how many."""
    rows = ctx.session.scalars(
        select(Alert)
        .outerjoin(Incident, Incident.alert_id == Alert.id)
        .where(Alert.status == "open", Alert.severity == "critical", Incident.id.is_(None))
    ).all()
    for alert in rows:
        open_for_alert(ctx, alert)
    return len(rows)


def open_incident(
    ctx: Context,
    system_name: str,
    environment: str,
    title: str,
    *,
    severity: str = "sev2",
    note: str = "",
    alert_id: int | None = None,
) -> Incident:
    """Open an incident by hand, optionally on an alert."""
    ctx.require(Permission.ALERT_MANAGE)
    check_slug(environment, "environment")
    if severity not in SEVERITIES:
        raise BadInput(f"severity must be one of {', '.join(SEVERITIES)}", location="severity")
    if not title.strip():
        raise BadInput("an incident needs a title", location="title")
    system = find_system(ctx, system_name)
    alert = None
    if alert_id is not None:
        alert = ctx.session.get(Alert, alert_id)
        if alert is None or alert.system_id != system.id:
            raise NotFound(f"alert #{alert_id} of {system_name} does not exist")
        if ctx.session.scalar(select(Incident).where(Incident.alert_id == alert_id)):
            raise Conflict(f"alert #{alert_id} already has an incident")
    route = ctx.session.scalar(
        select(Route).where(Route.system_id == system.id, Route.environment == environment)
    )
    return _create(
        ctx,
        system_id=system.id,
        environment=environment,
        release_id=route.release_id if route else None,
        title=title,
        severity=severity,
        source="manual",
        alert=alert,
        breach_started_at=alert.breach_started_at if alert else None,
        note=note,
    )


def find_incident(ctx: Context, incident_id: int) -> Incident:
    """The incident with ``incident_id`` or NotFound."""
    incident = ctx.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident #{incident_id} does not exist")
    return incident


def step(ctx: Context, incident_id: int, kind: str, note: str = "") -> Incident:
    """Acknowledge, mitigate or resolve an incident (each step once, in order)."""
    ctx.require(Permission.ALERT_MANAGE)
    incident = find_incident(ctx, incident_id)
    return advance(ctx, incident, kind, note)


def advance(
    ctx: Context, incident: Incident, kind: str, note: str = "", **details: Any
) -> Incident:
    """Move an incident to ``kind`` (no permission check: the worker calls this too)."""
    if kind not in STEPS:
        raise BadInput(f"step must be one of {', '.join(STEPS)}", location="step")
    status, allowed = STEPS[kind]
    if incident.status not in allowed:
        raise Conflict(f"incident #{incident.id} is {incident.status}: cannot be {kind}")
    now = ctx.now()
    incident.status = status
    if kind == "acknowledged":
        incident.acknowledged_at = now
    if kind == "mitigated" or (kind == "resolved" and incident.mitigated_at is None):
        incident.mitigated_at = now
    if kind == "resolved":
        incident.resolved_at = now
    _event(ctx, incident, kind, note, **details)
    audit.record(ctx, f"incident.{kind}", "incident", str(incident.id), {"note": note, **details})
    return incident


def link(ctx: Context, incident: Incident, kind: str, value: Any) -> None:
    """Add a link (``interventions``, ``alerts``...) to an incident."""
    links = dict(incident.links or {})
    links[kind] = [*links.get(kind, []), value]
    incident.links = links


def incident_view(ctx: Context, incident: Incident, *, timeline: bool = True) -> dict[str, Any]:
    """The public shape of an incident, with MTTD and MTTM."""
    view: dict[str, Any] = {
        "id": incident.id,
        "system": incident.system.name,
        "environment": incident.environment,
        "release": (
            f"{incident.system.name}@{incident.release.digest}" if incident.release else None
        ),
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "source": incident.source,
        "alert_id": incident.alert_id,
        "links": incident.links,
        "breach_started_at": _iso(incident.breach_started_at),
        "detected_at": _iso(incident.detected_at),
        "acknowledged_at": _iso(incident.acknowledged_at),
        "mitigated_at": _iso(incident.mitigated_at),
        "resolved_at": _iso(incident.resolved_at),
        "opened_by": incident.opened_by,
        "mttd_seconds": _seconds(incident.breach_started_at, incident.detected_at),
        "mttm_seconds": _seconds(incident.detected_at, incident.mitigated_at),
    }
    if timeline:
        # The runbook of the incident's alert, as the alert kept it when it opened.
        alert = ctx.session.get(Alert, incident.alert_id) if incident.alert_id else None
        view["runbook"] = (alert.details or {}).get("runbook") if alert is not None else None
        events = ctx.session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident.id)
            .order_by(IncidentEvent.id)
        )
        view["timeline"] = [
            {
                "kind": e.kind,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "note": e.note,
                "details": e.details,
            }
            for e in events
        ]
    return view


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def list_incidents(
    ctx: Context, *, system: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Incidents, newest first, optionally of one system or in one status."""
    ctx.require(Permission.MONITOR_READ)
    query = select(Incident).order_by(Incident.id.desc()).limit(max(1, min(limit, 1000)))
    if system is not None:
        query = query.where(Incident.system_id == find_system(ctx, system).id)
    if status is not None:
        if status not in ("open", "acknowledged", "mitigated", "resolved"):
            raise BadInput("status must be open, acknowledged, mitigated or resolved")
        query = query.where(Incident.status == status)
    return [incident_view(ctx, i, timeline=False) for i in ctx.session.scalars(query)]


def show(ctx: Context, incident_id: int) -> dict[str, Any]:
    """One incident with its timeline."""
    ctx.require(Permission.MONITOR_READ)
    return incident_view(ctx, find_incident(ctx, incident_id))


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "mean": None, "median": None, "max": None}
    return {
        "n": len(values),
        "mean": round(statistics.fmean(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def metrics(ctx: Context, *, system: str | None = None) -> dict[str, Any]:
    """MTTD and MTTM in seconds over every incident that has them (mean, median, max)."""
    ctx.require(Permission.MONITOR_READ)
    query = select(Incident)
    if system is not None:
        query = query.where(Incident.system_id == find_system(ctx, system).id)
    rows = list(ctx.session.scalars(query))
    mttd = [v for i in rows if (v := _seconds(i.breach_started_at, i.detected_at)) is not None]
    mttm = [v for i in rows if (v := _seconds(i.detected_at, i.mitigated_at)) is not None]
    return {
        "incidents": len(rows),
        "open": sum(1 for i in rows if i.status != "resolved"),
        "mttd_seconds": _summary(mttd),
        "mttm_seconds": _summary(mttm),
    }


def open_count(ctx: Context, system_id: int, environment: str | None = None) -> int:
    """Unresolved incidents of a system (in one environment)."""
    query = select(Incident.id).where(
        Incident.system_id == system_id, Incident.status != "resolved"
    )
    if environment is not None:
        query = query.where(Incident.environment == environment)
    return len(list(ctx.session.scalars(query)))


#: The timeline entry that stores a postmortem written by a person (its note is the text).
POSTMORTEM = "postmortem"
MAX_POSTMORTEM_CHARS = 100_000


def saved_postmortem(ctx: Context, incident_id: int) -> dict[str, Any] | None:
    """The newest postmortem a person saved for the incident (text, by, at), or None."""
    ctx.require(Permission.MONITOR_READ)
    find_incident(ctx, incident_id)
    event = ctx.session.scalar(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind == POSTMORTEM)
        .order_by(IncidentEvent.id.desc())
        .limit(1)
    )
    if event is None:
        return None
    return {"markdown": event.note, "by": event.actor, "at": event.at.isoformat()}


def save_postmortem(ctx: Context, incident_id: int, markdown: str) -> dict[str, Any]:
    """Store a postmortem written (or edited from the draft) by a person.

    Kept as a timeline entry: every revision stays, the newest is the postmortem, and each
    save is audited with the text's digest (the text itself is in the timeline).
    """
    ctx.require(Permission.ALERT_MANAGE)
    incident = find_incident(ctx, incident_id)
    text = markdown.replace("\r\n", "\n").strip()
    if not text:
        raise BadInput("a postmortem cannot be empty", location="markdown")
    if len(text) > MAX_POSTMORTEM_CHARS:
        raise BadInput(
            f"a postmortem is at most {MAX_POSTMORTEM_CHARS} characters", location="markdown"
        )
    digest = sha256(text.encode("utf-8")).hexdigest()
    revision = 1 + len(
        list(
            ctx.session.scalars(
                select(IncidentEvent.id).where(
                    IncidentEvent.incident_id == incident.id, IncidentEvent.kind == POSTMORTEM
                )
            )
        )
    )
    _event(ctx, incident, POSTMORTEM, text, sha256=digest, revision=revision)
    audit.record(
        ctx,
        "incident.postmortem",
        "incident",
        str(incident.id),
        {"sha256": digest, "revision": revision, "chars": len(text)},
    )
    saved = saved_postmortem(ctx, incident_id)
    assert saved is not None
    return saved


def postmortem(ctx: Context, incident_id: int) -> str:
    """The incident's postmortem: the newest one a person saved, else a Markdown draft
    from the incident's records and timeline."""
    saved = saved_postmortem(ctx, incident_id)
    if saved is not None:
        return str(saved["markdown"])
    return draft_postmortem(ctx, incident_id)


def draft_postmortem(ctx: Context, incident_id: int) -> str:
    """A Markdown postmortem drafted from the incident's records and timeline."""
    view = show(ctx, incident_id)

    def duration(seconds: float | None) -> str:
        return "n/a" if seconds is None else f"{seconds:.0f} s ({seconds / 60:.1f} min)"

    lines = [
        f"# Postmortem: incident #{view['id']} — {view['title']}",
        "",
        f"- System: `{view['system']}` in `{view['environment']}`",
        f"- Release: `{view['release'] or 'n/a'}`",
        f"- Severity: {view['severity']}; status: {view['status']}; source: {view['source']}",
        f"- Breach started: {view['breach_started_at'] or 'n/a'}",
        f"- Detected: {view['detected_at']}",
        f"- Time to detect (MTTD): {duration(view['mttd_seconds'])}",
        f"- Time to mitigate (MTTM): {duration(view['mttm_seconds'])}",
        "",
        "## Timeline",
        "",
        "| at (UTC) | event | by | note |",
        "|---|---|---|---|",
    ]
    for event in view["timeline"]:
        if event["kind"] == POSTMORTEM:
            continue
        note = str(event["note"]).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {event['at']} | {event['kind']} | {event['actor']} | {note} |")
    links = view["links"] or {}
    lines += [
        "",
        "## Links",
        "",
        f"- Alerts: {', '.join(f'#{a}' for a in links.get('alerts', [])) or 'none'}",
        f"- Decisions in force: {', '.join(f'#{d}' for d in links.get('decisions', [])) or 'none'}",
        f"- Interventions: {', '.join(f'#{i}' for i in links.get('interventions', [])) or 'none'}",
        f"- Windows: {', '.join(w.get('start', '?') for w in links.get('windows', [])) or 'none'}",
        "",
        *_runbook_lines(view.get("runbook")),
        "## Impact, root cause and follow-ups",
        "",
        "_To be written by the incident owner._",
        "",
    ]
    return "\n".join(lines)


def _runbook_lines(runbook: dict[str, Any] | None) -> list[str]:
    """The postmortem's runbook section: what the person paged was told to do."""
    if not runbook:
        return []
    lines = ["## Runbook", "", f"{runbook['title']} (`{runbook['id']}`)", ""]
    lines += [runbook["steps"].strip(), ""]
    if runbook.get("commands"):
        lines += ["```", *runbook["commands"], "```", ""]
    if runbook.get("link"):
        lines += [f"More: {runbook['link']}", ""]
    return lines


def alert_step(ctx: Context, alert_id: int, action: str, note: str = "") -> dict[str, Any]:
    """Acknowledge or resolve an alert by hand (a resolved alert stays resolved)."""
    ctx.require(Permission.ALERT_MANAGE)
    if action not in ("ack", "resolve"):
        raise BadInput("action must be ack or resolve", location="action")
    alert = ctx.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert #{alert_id} does not exist")
    if alert.status == "resolved":
        raise Conflict(f"alert #{alert_id} is already resolved")
    if action == "resolve":
        alert.status = "resolved"
        alert.resolved_at = ctx.now()
    ctx.session.add(
        AlertAction(alert_id=alert.id, action=action, actor=ctx.actor.name, note=note, at=ctx.now())
    )
    audit.record(
        ctx,
        f"alert.{'acknowledged' if action == 'ack' else 'resolved'}",
        "system",
        alert.system.name,
        {"alert_id": alert.id, "note": note, "by_hand": True},
    )
    incident = ctx.session.scalar(select(Incident).where(Incident.alert_id == alert.id))
    if incident is not None and action == "ack" and incident.status == "open":
        advance(ctx, incident, "acknowledged", note or f"alert #{alert.id} acknowledged")
    acks = ctx.session.scalars(
        select(AlertAction).where(AlertAction.alert_id == alert.id).order_by(AlertAction.id)
    )
    from charter.services.alerts import alert_view

    return {
        **alert_view(alert),
        "actions": [
            {"action": a.action, "actor": a.actor, "note": a.note, "at": a.at.isoformat()}
            for a in acks
        ],
    }


def record_event(
    ctx: Context, incident: Incident, kind: str, note: str = "", **details: Any
) -> IncidentEvent:
    """Add an entry to an incident's timeline (``linked``: a risk it realised)."""
    return _event(ctx, incident, kind, note, **details)
