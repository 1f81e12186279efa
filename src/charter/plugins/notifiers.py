"""Built-in notifiers: a signed generic webhook, Slack incoming webhooks, PagerDuty Events v2.

A notifier only renders a request (body and headers) for one alert event; the alert
service sends it, retries it and logs the delivery. Third-party notifiers are objects
with the same ``kind`` and ``render`` returned from the ``charter_notifiers`` hook.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from charter.domain.runbooks import as_markdown

#: The most text a Slack section block takes.
SLACK_SECTION_CHARS = 3000
Event = Literal["opened", "resolved"]


@dataclass(frozen=True)
class Notification:
    """One alert event for one channel."""

    event: Event
    alert: dict[str, Any]
    url: str
    secret: str | None


class Notifier(Protocol):
    """Renders the HTTP request that announces an alert event."""

    kind: str
    needs_secret: bool

    def render(self, notification: Notification) -> tuple[bytes, dict[str, str]]:
        """The request body and headers."""
        ...


def sign(secret: str, body: bytes) -> str:
    """The ``X-Charter-Signature`` value: ``sha256=`` and the HMAC-SHA256 of the body in hex."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, default=str).encode("utf-8")


def _headline(n: Notification) -> str:
    a = n.alert
    state = "OPEN" if n.event == "opened" else "RESOLVED"
    return f"[{state}] {a['severity']}: {a['system']} ({a['environment']}) {a['summary']}"


class WebhookNotifier:
    """JSON ``{"event", "alert"}`` signed with the channel secret (verify before trusting).

    ``alert.runbook`` carries the runbook: title, Markdown steps, filled commands, link.
    """

    kind = "webhook"
    needs_secret = True

    def render(self, notification: Notification) -> tuple[bytes, dict[str, str]]:
        """The signed JSON body."""
        body = _json({"event": notification.event, "alert": notification.alert})
        headers = {"Content-Type": "application/json"}
        if notification.secret:
            headers["X-Charter-Signature"] = sign(notification.secret, body)
        return body, headers


class SlackNotifier:
    """A Slack incoming-webhook message: ``text``, a section block, and on open a second
    section with the alert's runbook (steps, commands, link)."""

    kind = "slack"
    needs_secret = False

    def render(self, notification: Notification) -> tuple[bytes, dict[str, str]]:
        """The Slack message."""
        a = notification.alert
        text = _headline(notification)
        detail = f"release `{a['release'][: len(a['system']) + 13]}`, monitor `{a['monitor']}`"
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*\n{detail}"}}
        ]
        runbook = a.get("runbook")
        if runbook and notification.event == "opened":
            # A section's text holds at most 3,000 characters.
            markdown = as_markdown(runbook, limit=SLACK_SECTION_CHARS)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": markdown}})
        return _json({"text": text, "blocks": blocks}), {"Content-Type": "application/json"}


class PagerDutyNotifier:
    """A PagerDuty Events API v2 event: trigger on open, resolve on close, keyed by the
    alert's dedup key so PagerDuty groups them as one incident."""

    kind = "pagerduty"
    needs_secret = True

    def render(self, notification: Notification) -> tuple[bytes, dict[str, str]]:
        """The Events v2 body (the channel secret is the routing key)."""
        a = notification.alert
        event: dict[str, Any] = {
            "routing_key": notification.secret or "",
            "event_action": "trigger" if notification.event == "opened" else "resolve",
            "dedup_key": a["dedup_key"],
        }
        if notification.event == "opened":
            event["payload"] = {
                "summary": _headline(notification)[:1024],
                "source": f"charter:{a['system']}:{a['environment']}",
                "severity": "critical" if a["severity"] == "critical" else "warning",
                "component": a["system"],
                "group": a["monitor"],
                "class": a["subject"],
                "custom_details": {"release": a["release"], "details": a.get("details")},
            }
            runbook = a.get("runbook")
            if runbook:
                event["payload"]["custom_details"]["runbook"] = {
                    "title": runbook["title"],
                    "steps": runbook["steps"],
                    "commands": runbook["commands"],
                }
                if runbook.get("link"):
                    event["links"] = [{"href": runbook["link"], "text": runbook["title"][:200]}]
        return _json(event), {"Content-Type": "application/json"}


def builtin_notifiers() -> list[Notifier]:
    """The notifiers shipped with Charter."""
    return [WebhookNotifier(), SlackNotifier(), PagerDutyNotifier()]


def notifiers() -> dict[str, Notifier]:
    """Every notifier from every plugin, by kind; later plugins win."""
    from charter.plugins.manager import notifiers as from_plugins

    return {notifier.kind: notifier for notifier in from_plugins()}
