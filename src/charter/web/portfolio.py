"""The portfolio page: every system from ``portfolio.portfolio``, filtered, searched and sorted.

Filtering and sorting are presentation over the service's entries; what an entry says
(approval state, flags, attention) is the service's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup, escape

from charter.services import exceptions
from charter.services import portfolio as portfolio_service
from charter.web.render import light_of_state, short, signal_lights

SORTS = ("name", "tier", "attention", "expiry", "alerts")
TIER_ORDER = {
    "prohibited": 0,
    "high": 1,
    "derogated": 2,
    "limited": 3,
    "minimal": 4,
    "unassessed": 5,
}
SHOWS = ("all", "attention", "live", "killed", "not-live")
MAX_QUERY = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """What the portfolio's filter form asks for."""

    q: str = ""
    tier: str = ""
    show: str = "all"
    sort: str = "name"

    @classmethod
    def of(cls, q: str, tier: str, show: str, sort: str) -> Filters:
        """Normalise the query string (unknown values fall back to the defaults)."""
        return cls(
            q=q.strip()[:MAX_QUERY],
            tier=tier if tier in TIER_ORDER else "",
            show=show if show in SHOWS else "all",
            sort=sort if sort in SORTS else "name",
        )


def _expiry(entry: dict[str, Any]) -> datetime | None:
    dates = [env["valid_until"] for env in entry["environments"] if env["valid_until"]]
    return min(dates) if dates else None


def _alerts(entry: dict[str, Any]) -> int:
    return sum((env["monitoring"] or {}).get("open_alerts", 0) for env in entry["environments"])


def _keep(entry: dict[str, Any], filters: Filters) -> bool:
    if filters.tier and entry["tier"] != filters.tier:
        return False
    envs = entry["environments"]
    if filters.show == "attention" and not entry["needs_attention"]:
        return False
    if filters.show == "live" and not envs:
        return False
    if filters.show == "not-live" and envs:
        return False
    if filters.show == "killed" and not any(env["state"] == "killed" for env in envs):
        return False
    if filters.q:
        needle = filters.q.lower()
        haystack = " ".join(
            [entry["name"], entry["owner"], entry["tier"], entry["status"]]
            + [flag for env in envs for flag in env["flags"]]
            + [env["release"] for env in envs]
        ).lower()
        if needle not in haystack:
            return False
    return True


def _sort_key(sort: str) -> Any:
    if sort == "tier":
        return lambda e: (TIER_ORDER.get(e["tier"], 9), e["name"])
    if sort == "attention":
        return lambda e: (not e["needs_attention"], e["name"])
    if sort == "expiry":
        # Soonest expiry first; systems with no expiring approval last.
        return lambda e: (_expiry(e) is None, _expiry(e) or _EPOCH, e["name"])
    if sort == "alerts":
        return lambda e: (-_alerts(e), e["name"])
    return lambda e: e["name"]


@dataclass(frozen=True, slots=True)
class Row:
    """One table row (a system in one environment), formatted once in Python.

    A thousand systems make well over a thousand rows; attribute lookups on slotted
    objects and pre-escaped light markup keep the template's loop cheap.
    """

    name: str
    first: bool
    owner: str
    status: str
    tier: str
    attention: bool
    environment: str | None
    release: str
    state: str
    state_light: str
    rollout: str
    rollout_title: str
    approval: str
    approval_light: str
    valid_until: str
    lights: Markup
    alerts: int
    open_exceptions: int
    requested_exceptions: int
    flags: tuple[str, ...]


def _lights(monitoring: dict[str, Any] | None) -> Markup:
    # Plain escape() and concatenation: Markup.format goes through string.Formatter, which
    # cost more than the whole table's template with 1,000 systems.
    return Markup(  # noqa: S704 - the one data value is escaped
        "".join(
            # The light and the label come from fixed sets (render.py); the text is data.
            f'<i class="light {s["light"]}" title="{s["label"]}: {escape(s["text"])}"></i>'
            for s in signal_lights(monitoring)
        )
    )


def _rollout_cell(rollout: dict[str, Any] | None) -> str:
    """The Routing column's note of an active rollout: ``canary 10%`` or ``shadow``."""
    if rollout is None:
        return ""
    if rollout["kind"] == "canary" and rollout["share"] is not None:
        return f"canary {rollout['share'] * 100:.4g}%"
    return str(rollout["kind"])


def _rollout_title(rollout: dict[str, Any] | None) -> str:
    """The cell's tooltip: the candidate and when its period started."""
    if rollout is None:
        return ""
    started = rollout["started_at"]
    since = f" since {started:%Y-%m-%d %H:%M} UTC" if started else ""
    return f"{rollout['kind']} of {rollout['release']}{since}"


def rows_of(entries: list[dict[str, Any]]) -> list[Row]:
    """The table rows of the portfolio entries (systems without a route get one row)."""
    rows = []
    for e in entries:
        for index, env in enumerate(e["environments"] or [None]):
            until = env["valid_until"] if env else None
            rows.append(
                Row(
                    name=e["name"],
                    first=index == 0,
                    owner=e["owner"],
                    status=e["status"],
                    tier=e["tier"],
                    attention=e["needs_attention"],
                    environment=env["environment"] if env else None,
                    release=short(env["release"]) if env else "",
                    state=env["state"] if env else "",
                    state_light=light_of_state(env["state"]) if env else "",
                    rollout=_rollout_cell(env["rollout"]) if env else "",
                    rollout_title=_rollout_title(env["rollout"]) if env else "",
                    approval=env["approval"] if env else "",
                    approval_light=light_of_state(env["approval"]) if env else "",
                    valid_until=until.isoformat()[:10] if until else "",
                    lights=_lights(env["monitoring"]) if env else Markup(""),
                    alerts=(env["monitoring"] or {}).get("open_alerts", 0) if env else 0,
                    open_exceptions=e["open_exceptions"],
                    requested_exceptions=e["requested_exceptions"],
                    flags=tuple(env["flags"]) if env else (),
                )
            )
    return rows


def portfolio_view(ctx: Any, filters: Filters) -> dict[str, Any]:
    """The values the portfolio template renders."""
    entries = portfolio_service.portfolio(ctx)
    shown = sorted((e for e in entries if _keep(e, filters)), key=_sort_key(filters.sort))
    environments = [env for e in entries for env in e["environments"]]
    expiring_approvals = [
        (e["name"], env)
        for e in entries
        for env in e["environments"]
        if env["valid_until"] and env["valid_until"] <= ctx.now() + portfolio_service.EXPIRY_WARNING
    ]
    expiring_exceptions, _ = exceptions.list_exceptions(
        ctx, expiring_within=portfolio_service.EXPIRY_WARNING, limit=20
    )
    return {
        "rows": rows_of(shown),
        "shown": len(shown),
        "total": len(entries),
        "filters": filters,
        "tiers": sorted({e["tier"] for e in entries}, key=lambda t: TIER_ORDER.get(t, 9)),
        "counts": {
            "systems": len(entries),
            "live": sum(1 for e in entries if e["environments"]),
            "attention": sum(1 for e in entries if e["needs_attention"]),
            "killed": sum(1 for env in environments if env["state"] == "killed"),
            "alerts": sum(_alerts(e) for e in entries),
        },
        "expiring_approvals": sorted(expiring_approvals, key=lambda item: item[1]["valid_until"]),
        "expiring_exceptions": expiring_exceptions,
        "warning_days": portfolio_service.EXPIRY_WARNING // timedelta(days=1),
    }
