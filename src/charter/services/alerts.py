"""Alerts, notification channels and deliveries.

The worker opens and closes alerts inside its transaction and queues one delivery per
matching channel there too (an outbox): the HTTP calls happen after the commit, outside
any transaction, with bounded exponential backoff, and every attempt's outcome is kept in
``deliveries``. A crash between commit and send leaves the delivery ``pending`` for the
next pass, so a notification is sent at least once.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from charter.domain.errors import BadInput, Conflict, NotFound
from charter.domain.roles import Permission
from charter.domain.text import check_slug
from charter.services import audit, runbooks, secrets
from charter.services.context import Actor, Charter, Context
from charter.services.systems import find_system
from charter.store.models import Route
from charter.store.monitoring_models import Alert, Delivery, NotificationChannel

if TYPE_CHECKING:
    # Listing alerts must not load the statistics stack; only the worker builds breaches.
    from charter.domain.window_results import Breach

SEVERITIES = ("info", "warning", "critical")
#: Attempts per delivery (the first plus retries), and the cap on one wait between them.
MAX_ATTEMPTS = 4
MAX_BACKOFF_SECONDS = 30.0
#: Deliveries sent per worker pass.
DELIVERY_BATCH = 200


def alert_view(alert: Alert) -> dict[str, Any]:
    """The public shape of an alert (also the body notifiers render).

    ``runbook`` is what the alert's type says to do, filled and kept when it opened
    (``charter.services.runbooks``); None for alerts opened before runbooks existed.
    """
    details = dict(alert.details or {})
    runbook = details.pop("runbook", None)
    return {
        "id": alert.id,
        "dedup_key": alert.dedup_key,
        "system": alert.system.name,
        "environment": alert.environment,
        "release": f"{alert.system.name}@{alert.release.digest}",
        "monitor": alert.monitor,
        "subject": alert.subject,
        "severity": alert.severity,
        "status": alert.status,
        "summary": alert.summary,
        "details": details,
        "runbook": runbook,
        "breach_started_at": _iso(alert.breach_started_at),
        "opened_at": _iso(alert.opened_at),
        "resolved_at": _iso(alert.resolved_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _summary(breach: Breach) -> str:
    return f"{breach.monitor} on {breach.subject}: {breach.value} (bound {breach.bound})"


def open_alert(
    ctx: Context,
    route: Route,
    key: str,
    breach: Breach,
    streak_start: datetime,
    window: dict[str, Any],
) -> Alert:
    """Open an alert for a condition that passed hysteresis (one open alert per key)."""
    existing = ctx.session.scalar(
        select(Alert).where(Alert.dedup_key == key, Alert.status == "open")
    )
    if existing is not None:
        return existing
    alert = Alert(
        dedup_key=key,
        system_id=route.system_id,
        environment=route.environment,
        release_id=route.release_id,
        monitor=breach.monitor,
        subject=breach.subject[:200],
        severity=breach.severity,
        status="open",
        summary=_summary(breach),
        details={
            "value": breach.value,
            "bound": breach.bound,
            "n": breach.n,
            "window": window,
        },
        breach_started_at=streak_start,
        opened_at=ctx.now(),
        resolved_at=None,
    )
    ctx.session.add(alert)
    ctx.session.flush()
    # Kept with the alert: a later pack must not change what this alert told people to do.
    runbook = runbooks.for_alert(ctx, alert)
    if runbook is not None:
        alert.details = {**alert.details, "runbook": runbook}
        ctx.session.flush()
    audit.record(
        ctx,
        "alert.opened",
        "system",
        route.system.name,
        {
            "alert_id": alert.id,
            "dedup_key": key,
            "environment": route.environment,
            "release": f"{route.system.name}@{route.release.digest}",
            "monitor": alert.monitor,
            "subject": alert.subject,
            "severity": alert.severity,
            "summary": alert.summary,
            "runbook": None
            if runbook is None
            else {"id": runbook["id"], "policy_version": runbook["policy_version"]},
        },
    )
    _queue(ctx, alert, "opened")
    return alert


def close_alert(ctx: Context, key: str, window: dict[str, Any]) -> None:
    """Resolve the open alert of a condition that has been clean long enough."""
    alert = ctx.session.scalar(select(Alert).where(Alert.dedup_key == key, Alert.status == "open"))
    if alert is not None:
        _resolve(ctx, alert, f"clean since window {window['start']}")


def _resolve(ctx: Context, alert: Alert, reason: str) -> None:
    alert.status = "resolved"
    alert.resolved_at = ctx.now()
    alert.details = {**alert.details, "resolution": reason}
    ctx.session.flush()
    audit.record(
        ctx,
        "alert.resolved",
        "system",
        alert.system.name,
        {
            "alert_id": alert.id,
            "dedup_key": alert.dedup_key,
            "environment": alert.environment,
            "reason": reason,
        },
    )
    _queue(ctx, alert, "resolved")


def resolve_superseded(ctx: Context, route: Route) -> None:
    """Resolve the open alerts of releases that are no longer live on this route."""
    stale = ctx.session.scalars(
        select(Alert).where(
            Alert.system_id == route.system_id,
            Alert.environment == route.environment,
            Alert.status == "open",
            Alert.release_id != route.release_id,
        )
    ).all()
    for alert in stale:
        _resolve(ctx, alert, "release no longer live")


def _queue(ctx: Context, alert: Alert, event: str) -> None:
    rank = SEVERITIES.index(alert.severity) if alert.severity in SEVERITIES else 1
    channels = ctx.session.scalars(
        select(NotificationChannel).where(
            NotificationChannel.enabled.is_(True),
            or_(
                NotificationChannel.system_id.is_(None),
                NotificationChannel.system_id == alert.system_id,
            ),
        )
    )
    for channel in channels:
        if SEVERITIES.index(channel.min_severity) <= rank:
            ctx.session.add(
                Delivery(
                    alert_id=alert.id,
                    channel_id=channel.id,
                    event=event,
                    status="pending",
                    attempts=0,
                    created_at=ctx.now(),
                )
            )
    ctx.session.flush()


def show_alert(ctx: Context, alert_id: int) -> dict[str, Any]:
    """One alert with its runbook and the actions taken on it by hand."""
    from charter.store.runtime_models import AlertAction, Incident

    ctx.require(Permission.MONITOR_READ)
    alert = ctx.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert #{alert_id} does not exist")
    actions = ctx.session.scalars(
        select(AlertAction).where(AlertAction.alert_id == alert.id).order_by(AlertAction.id)
    )
    incident = ctx.session.scalar(select(Incident.id).where(Incident.alert_id == alert.id))
    return {
        **alert_view(alert),
        "incident_id": incident,
        "actions": [
            {"action": a.action, "actor": a.actor, "note": a.note, "at": a.at.isoformat()}
            for a in actions
        ],
    }


def list_alerts(
    ctx: Context,
    *,
    open_only: bool = False,
    system_name: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Alerts, newest first."""
    ctx.require(Permission.MONITOR_READ)
    query = select(Alert)
    if open_only:
        query = query.where(Alert.status == "open")
    if system_name is not None:
        query = query.where(Alert.system_id == find_system(ctx, system_name).id)
    rows = ctx.session.scalars(query.order_by(Alert.id.desc()).limit(limit).offset(offset))
    return [alert_view(a) for a in rows]


def add_channel(
    ctx: Context,
    name: str,
    *,
    kind: str,
    url: str,
    secret: str | None = None,
    system_name: str | None = None,
    min_severity: str = "warning",
) -> dict[str, Any]:
    """Add a notification channel, for one system or (without one) for all."""
    from charter.plugins.notifiers import notifiers

    ctx.require(Permission.ALERT_MANAGE)
    check_slug(name, "channel name")
    available = notifiers()
    if kind not in available:
        raise BadInput(f"unknown notifier kind {kind!r}; available: {', '.join(sorted(available))}")
    if not url.startswith(("http://", "https://")) or len(url) > 2000:
        raise BadInput("the channel URL must be an http(s) URL")
    # Refused without echoing the value: both are credentials.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise BadInput("the channel URL holds a control character", location="url")
    if secret is not None and (
        len(secret) > 1000 or any(ord(ch) < 32 or ord(ch) == 127 for ch in secret)
    ):
        raise BadInput(
            "the channel secret must be at most 1000 printable characters", location="secret"
        )
    if getattr(available[kind], "needs_secret", False) and not secret:
        raise BadInput(f"a {kind} channel needs a secret (its HMAC key or routing key)")
    if min_severity not in SEVERITIES:
        raise BadInput(f"min severity must be one of {', '.join(SEVERITIES)}")
    if ctx.session.scalar(select(NotificationChannel).where(NotificationChannel.name == name)):
        raise Conflict(f"a channel named {name!r} exists")
    system = find_system(ctx, system_name) if system_name else None
    channel = NotificationChannel(
        name=name,
        kind=kind,
        url=secrets.seal(url),
        url_sha256=secrets.url_hash(url),
        secret=secrets.seal(secret),
        system_id=None if system is None else system.id,
        min_severity=min_severity,
        enabled=True,
        created_at=ctx.now(),
        created_by=ctx.actor.name,
    )
    ctx.session.add(channel)
    ctx.session.flush()
    # The audit payload carries the redacted URL and its hash, never the URL itself.
    redacted = channel_view(channel, system_name, full_url=False)
    audit.record(
        ctx,
        "alert.channel_added",
        "channel",
        name,
        {k: v for k, v in redacted.items() if k not in ("id", "created_at")},
    )
    return channel_view(channel, system_name, full_url=_sees_urls(ctx))


def _sees_urls(ctx: Context) -> bool:
    from charter.domain.roles import Role

    return ctx.actor.role is Role.ADMIN


def channel_view(
    channel: NotificationChannel, system_name: str | None, *, full_url: bool = False
) -> dict[str, Any]:
    """A channel without its secret; its URL in full only when ``full_url`` (admins)."""
    url = secrets.unseal(channel.url) or ""
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "url": url if full_url else secrets.redact_url(url),
        "url_sha256": channel.url_sha256 or secrets.url_hash(url),
        "system": system_name,
        "min_severity": channel.min_severity,
        "has_secret": bool(channel.secret),
        "enabled": channel.enabled,
        "created_at": channel.created_at.isoformat(),
    }


def list_channels(ctx: Context) -> list[dict[str, Any]]:
    """Every channel (secrets are never shown)."""
    from charter.store.models import System

    ctx.require(Permission.MONITOR_READ)
    names = {row[0]: row[1] for row in ctx.session.execute(select(System.id, System.name))}
    rows = ctx.session.scalars(select(NotificationChannel).order_by(NotificationChannel.name))
    full = _sees_urls(ctx)
    return [
        channel_view(c, names.get(c.system_id) if c.system_id else None, full_url=full)
        for c in rows
    ]


def _send(kind: str, notification: Any, backoff: float) -> tuple[bool, int, int | None, str | None]:
    """POST with retries on network errors, 429 and 5xx; returns (ok, attempts, status, error)."""
    import httpx

    from charter.plugins.notifiers import notifiers

    notifier = notifiers().get(kind)
    if notifier is None:
        return False, 0, None, f"no notifier of kind {kind!r} is installed"
    body, headers = notifier.render(notification)
    status: int | None = None
    error: str | None = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = httpx.post(notification.url, content=body, headers=headers, timeout=10.0)
            status, error = response.status_code, None
            if 200 <= status < 300:
                return True, attempt, status, None
            error = secrets.scrub(f"HTTP {status}: {response.text[:200]}")
            if status != 429 and status < 500:
                return False, attempt, status, error  # the receiver refuses it: do not insist
        except httpx.HTTPError as exc:
            # httpx names the URL in its errors: the URL is a credential.
            text = str(exc).replace(notification.url, secrets.redact_url(notification.url))
            status, error = None, secrets.scrub(f"{type(exc).__name__}: {text}")[:500]
        if attempt < MAX_ATTEMPTS:
            time.sleep(min(backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
    return False, MAX_ATTEMPTS, status, error


def deliver_pending(charter: Charter, actor: Actor, *, backoff: float = 0.5) -> dict[str, int]:
    """Send the queued notifications; claims them first so two workers never send one twice."""
    from charter.plugins.notifiers import Notification

    with charter.as_actor(actor, write=True) as ctx:
        rows = ctx.session.scalars(
            select(Delivery)
            .where(Delivery.status == "pending")
            .order_by(Delivery.id)
            .limit(DELIVERY_BATCH)
        ).all()
        jobs = []
        for row in rows:
            row.status = "sending"
            jobs.append(
                (
                    row.id,
                    row.channel.kind,
                    Notification(
                        event="opened" if row.event == "opened" else "resolved",
                        alert=alert_view(row.alert),
                        url=secrets.unseal(row.channel.url) or "",
                        secret=secrets.unseal(row.channel.secret),
                    ),
                )
            )
    outcome = {"delivered": 0, "failed": 0}
    for delivery_id, kind, notification in jobs:
        ok, attempts, status, error = _send(kind, notification, backoff)
        with charter.as_actor(actor, write=True) as ctx:
            sent = ctx.session.get(Delivery, delivery_id)
            assert sent is not None
            sent.status = "delivered" if ok else "failed"
            sent.attempts = attempts
            sent.last_status = status
            sent.last_error = error
            sent.delivered_at = ctx.now() if ok else None
        outcome["delivered" if ok else "failed"] += 1
    return outcome


def list_deliveries(ctx: Context, *, limit: int = 50) -> list[dict[str, Any]]:
    """Deliveries, newest first."""
    ctx.require(Permission.MONITOR_READ)
    rows = ctx.session.scalars(select(Delivery).order_by(Delivery.id.desc()).limit(limit))
    return [
        {
            "id": d.id,
            "alert_id": d.alert_id,
            "channel": d.channel.name,
            "event": d.event,
            "status": d.status,
            "attempts": d.attempts,
            "last_status": d.last_status,
            "last_error": d.last_error,
            "created_at": _iso(d.created_at),
            "delivered_at": _iso(d.delivered_at),
        }
        for d in rows
    ]
