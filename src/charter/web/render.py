"""The Jinja2 environment of the console: autoescaping everywhere, strict undefined names.

Filters here only format values (dates, digests, numbers, which light a verdict shows);
they decide nothing a service decides.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jinja2

#: The live signals shown as lights, in order: (key in the signals, label, format).
SIGNALS = (
    ("latency", "Latency p95"),
    ("accuracy", "Accuracy"),
    ("drift", "Drift"),
    ("block_rate", "Guard block rate"),
    ("fallback_rate", "Fallback rate"),
)


def when(moment: datetime | str | None) -> str:
    """A UTC timestamp to the minute, or a dash."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        text = moment
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(moment: datetime | None) -> str:
    """A UTC date, or a dash."""
    return "—" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d")


def short(digest: str | None, length: int = 12) -> str:
    """The first characters of a digest (or of the digest part of a ``SYSTEM@DIGEST`` ref)."""
    if not digest:
        return "—"
    if "@" in digest:
        system, _, rest = digest.partition("@")
        return f"{system}@{rest[:length]}"
    return digest[:length]


def percent(value: float | None, digits: int = 1) -> str:
    """A rate as a percentage, or a dash when unmeasured."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def number(value: float | None, digits: int = 3) -> str:
    """A number to a few significant digits, or a dash."""
    return "—" if value is None else f"{value:.{digits}g}"


def duration(seconds: float | None) -> str:
    """A duration in seconds as a person reads it (``4.9 s``, ``12 min``, ``3 h 2 min``)."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours, rest = divmod(round(minutes), 60)
    if hours < 48:
        return f"{hours} h {rest} min"
    return f"{hours / 24:.1f} days"


#: The main navigation: (path, label, the permission that shows the link, or None for all).
#: A new page adds its entry here; its route decides access, the link only follows it.
NAVIGATION: tuple[tuple[str, str, str | None], ...] = (
    ("/", "Portfolio", None),
    ("/approvals", "Approvals", None),
    ("/exceptions", "Exceptions", None),
    ("/alerts", "Alerts", None),
    ("/incidents", "Incidents", "monitoring.read"),
    ("/drills", "Drills", "release.read"),
    ("/audit", "Audit", "audit.read"),
    ("/kpis", "KPIs", "audit.read"),
    ("/risks", "Risks", "risk.read"),
)


def pretty(value: Any) -> str:
    """JSON, indented, for payloads shown in <pre> (escaped by autoescape like all text)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


#: The contract metric whose bound judges each signal (the subjects of a window's breaches).
SIGNAL_METRICS = {
    "latency": "latency_p95_ms",
    "accuracy": "accuracy",
    "block_rate": "block_rate",
    "fallback_rate": "fallback_rate",
}


def signal_lights(
    monitoring: dict[str, Any] | None, breaches: list[dict[str, Any]] | None = None
) -> list[dict[str, str]]:
    """The five live signals of one route as (label, value, light) for display.

    The drift light follows the service's drift verdict. The others are red or green by
    the verdict the worker gave their contract bound: from a window's ``breaches`` (the
    system page) or a ``verdicts`` map (metric -> breached) in the signals, when the read
    model carries one. Without a verdict a signal is shown measured (blue) or unmeasured
    (grey): the portfolio's read model (``monitoring_signals``) carries no verdicts yet.
    """
    signals = monitoring or {}
    verdicts: dict[str, Any] = dict(signals.get("verdicts") or {})
    for breach in breaches or ():
        if breach.get("breached") is not None:
            verdicts[str(breach.get("subject"))] = breach["breached"]
    lights = []
    for key, label in SIGNALS:
        if key == "latency":
            latency = signals.get("latency_ms") or {}
            value = latency.get("p95")
            text = "—" if value is None else f"{value:.0f} ms"
        elif key == "accuracy":
            accuracy = signals.get("accuracy") or {}
            value = accuracy.get("value")
            text = "—" if value is None else f"{value:.3f} ({accuracy.get('source')})"
        elif key == "drift":
            drift = signals.get("drift") or {}
            verdict = str(drift.get("verdict") or "no data")
            columns = ", ".join(drift.get("columns") or [])
            light = {"drift": "red", "no drift": "green"}.get(verdict, "grey")
            text = verdict + (f": {columns}" if columns else "")
            lights.append({"key": key, "label": label, "text": text, "light": light})
            continue
        else:
            value = signals.get(key)
            text = percent(value)
        metric = SIGNAL_METRICS[key]
        if value is None:
            light = "grey"
        elif metric in verdicts:
            light = "red" if verdicts[metric] else "green"
        else:
            light = "blue"
        lights.append({"key": key, "label": label, "text": text, "light": light})
    return lights


def light_of_state(state: str) -> str:
    """The light of an approval or routing state."""
    return {
        "approved": "green",
        "serving": "green",
        "pending": "amber",
        "expired": "red",
        "rejected": "red",
        "killed": "red",
    }.get(state, "grey")


def environment() -> jinja2.Environment:
    """The console's template environment (templates are compiled once and cached)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("charter.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        when=when,
        day=day,
        short=short,
        percent=percent,
        number=number,
        pretty=pretty,
        state_light=light_of_state,
        duration=duration,
    )
    env.globals.update(signal_lights=signal_lights, navigation=NAVIGATION)
    return env
