"""``charter report portfolio``: what a model risk committee reads each quarter.

Risk status by system, control coverage and gaps, KPI trends against the previous
period, overdue items (expiring approvals and exceptions, re-approvals due, vendor
deprecations) and incidents with their postmortems, all from the same records the cards
read. :mod:`charter.documents.report` renders it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from charter.services import cards, dossier, kpis
from charter.services.context import Context
from charter.services.dossier import Absent, Row
from charter.store.models import System

REPORT_SCHEMA = "charter.report.portfolio/1"
#: Approvals and exceptions ending this soon after the period are listed as due.
NOTICE = timedelta(days=30)


def portfolio(ctx: Context, period: str | None = None) -> Row:
    """The portfolio report for ``period`` (default: the current quarter)."""
    cards.require_read(ctx)
    named = kpis.parse_period(period, ctx.now())
    previous = named.previous()
    horizon = named.end + NOTICE
    systems_rows = []
    coverage = []
    overdue: list[Row] = []
    incidents: list[Row] = []
    incidents_absent: str | None = None
    for system in ctx.session.scalars(select(System).order_by(System.name)).all():
        release = cards.choose_release(ctx, system, None)
        card = cards.card_of(ctx, system, release)
        models = card["models"]
        holds = models[0]["contract_holds"] if models else None
        live = models[0]["live"][-1] if models and models[0]["live"] else None
        approvals = [d for d in card["decisions"] if d["verdict"] != "reject"]
        expiry = max((d["expires_at"] for d in approvals if d["expires_at"]), default=None)
        systems_rows.append(
            {
                "system": system.name,
                "tier": system.tier,
                "status": system.status,
                "owner": system.owner,
                "release": release.digest if release else None,
                "serving": [f"{r['environment']}: {r['state']}" for r in card["routes"]],
                "approved_until": expiry,
                "contract_holds": None if holds is None else holds["holds"],
                "contract_reason": None if holds is None else holds["reason"],
                "drift": None if live is None else live["drift"],
                "open_alerts": sum(1 for a in dossier.alerts(ctx, system) if a["status"] == "open"),
            }
        )
        counts: dict[str, int] = {}
        for control in card["controls"]:
            counts[control["status"]] = counts.get(control["status"], 0) + 1
        coverage.append(
            {
                "system": system.name,
                "tier": system.tier,
                "controls": len(card["controls"]),
                "counts": counts,
                "gaps": [
                    f"{c['id']}: {c['status']} ({c['reason']})"
                    for c in card["controls"]
                    if c["status"] in ("fail", "not evaluated")
                ],
            }
        )
        overdue += _overdue(system.name, card, named.end, horizon)
        found = dossier.incidents(ctx, system)
        if isinstance(found, Absent):
            incidents_absent = found.reason
        else:
            incidents += [
                {**i, "system": system.name}
                for i in found
                if named.period.holds(kpis.moment(i.get("detected_at")))
            ]
    now_kpis = kpis.kpis_for(ctx, named)
    before = {k.id: k for k in kpis.kpis_for(ctx, previous)}
    return {
        "schema": REPORT_SCHEMA,
        "as_of": dossier.iso(ctx.now()),
        "period": {
            "label": named.label,
            "from": dossier.iso(named.start),
            "to": dossier.iso(named.end),
            "previous": previous.label,
        },
        "systems": systems_rows,
        "coverage": coverage,
        "trends": [
            {
                **asdict(k),
                "previous": before[k.id].value,
                "change": _change(k.value, before[k.id].value),
            }
            for k in now_kpis
        ],
        "overdue": sorted(overdue, key=lambda o: (o["due"] or "", o["system"])),
        "incidents": incidents if incidents_absent is None else {"absent": incidents_absent},
    }


def _change(now: Any, before: Any) -> float | None:
    if isinstance(now, int | float) and isinstance(before, int | float):
        return float(now) - float(before)
    return None


def _overdue(name: str, card: Row, end: datetime, horizon: datetime) -> list[Row]:
    """Approvals and exceptions that end by ``horizon``, re-approvals due, deprecations."""
    items: list[Row] = []
    serving = {r["environment"] for r in card["routes"] if r["state"] == "serving"}
    for decision in card["decisions"]:
        expires = kpis.moment(decision["expires_at"])
        if decision["verdict"] == "reject" or expires is None or expires > horizon:
            continue
        lapsed = expires <= end
        live_envs = serving & set(decision["environments"])
        items.append(
            {
                "system": name,
                "kind": "re-approval due" if lapsed and live_envs else "approval expiring",
                "item": f"decision {decision['id']} ({', '.join(decision['environments'])})",
                "due": decision["expires_at"],
            }
        )
    for exception in card["exceptions"]:
        expires = kpis.moment(exception["expires_at"])
        if exception["status"] != "approved" or expires is None or expires > horizon:
            continue
        items.append(
            {
                "system": name,
                "kind": "exception expiring",
                "item": f"exception {exception['id']} ({exception['control_id']})",
                "due": exception["expires_at"],
            }
        )
    for component in card["components"]:
        when = component["spec"].get("deprecation_date")
        if (
            component["kind"] == "vendor_model"
            and when
            and date.fromisoformat(str(when)) <= horizon.date()
        ):
            items.append(
                {
                    "system": name,
                    "kind": "vendor deprecation",
                    "item": f"vendor model {component['name']}",
                    "due": str(when),
                }
            )
    return items
