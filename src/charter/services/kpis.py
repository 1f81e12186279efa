"""Portfolio KPIs, each computed from the records by the formula docs/kpis.md states.

Every KPI is a :class:`Kpi` with its numerator, denominator (for shares), value and a note
that says why a value is absent ("no releases in the period", "no incidents recorded")
instead of printing 0 or 100%. A period is a quarter (``2026Q4``) or a year (``2026``),
half-open ``[start, end)`` in UTC.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from charter.domain.errors import BadInput
from charter.domain.roles import Permission
from charter.services import dossier, policies
from charter.services.context import Context
from charter.services.dossier import Absent, Period, Row
from charter.services.drills import SANDBOX
from charter.store.models import (
    AuditEvent,
    Deployment,
    Evidence,
    EvidenceExport,
    GateRun,
    PolicyException,
    Release,
    System,
)

_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class NamedPeriod:
    """A reporting period: its label and its bounds."""

    label: str
    start: datetime
    end: datetime

    @property
    def period(self) -> Period:
        """As a dossier period."""
        return Period(self.start, self.end)

    def previous(self) -> NamedPeriod:
        """The period just before, of the same length (a quarter before a quarter)."""
        match = _QUARTER.match(self.label)
        if match:
            year, quarter = int(match.group(1)), int(match.group(2))
            year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
            return parse_period(f"{year}Q{quarter}")
        return parse_period(str(int(self.label) - 1))


def parse_period(value: str | None, now: datetime | None = None) -> NamedPeriod:
    """``2026Q4`` or ``2026``; None: the quarter ``now`` falls in."""
    if value is None:
        moment = now or datetime.now(UTC)
        value = f"{moment.year}Q{(moment.month - 1) // 3 + 1}"
    text = value.strip()
    quarter = _QUARTER.match(text)
    if quarter:
        year, q = int(quarter.group(1)), int(quarter.group(2))
        start = datetime(year, 3 * (q - 1) + 1, 1, tzinfo=UTC)
        end = (
            datetime(year + 1, 1, 1, tzinfo=UTC)
            if q == 4
            else datetime(year, 3 * q + 1, 1, tzinfo=UTC)
        )
        return NamedPeriod(f"{year}Q{q}", start, end)
    year_match = _YEAR.match(text)
    if year_match:
        year = int(year_match.group(1))
        return NamedPeriod(
            str(year), datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
        )
    raise BadInput(f"unknown period {value!r}: give a quarter like 2026Q4 or a year like 2026")


@dataclass
class Kpi:
    """One KPI: its value (None when it cannot be computed, with the reason in ``note``)."""

    id: str
    name: str
    value: Any
    unit: str
    numerator: float | None = None
    denominator: float | None = None
    note: str = ""


def _share(kpi_id: str, name: str, hits: int, total: int, empty: str) -> Kpi:
    if total == 0:
        return Kpi(kpi_id, name, None, "share", hits, total, empty)
    return Kpi(kpi_id, name, hits / total, "share", hits, total)


def _median_seconds(kpi_id: str, name: str, values: list[float], empty: str) -> Kpi:
    if not values:
        return Kpi(kpi_id, name, None, "seconds", None, 0, empty)
    return Kpi(kpi_id, name, statistics.median(values), "seconds", None, len(values))


def moment(value: Any) -> datetime | None:
    """A datetime from an ORM value or raw SQL text (SQLite returns text), in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def compute(ctx: Context, period: str | None = None) -> Row:
    """Every KPI for ``period`` (default: the current quarter)."""
    ctx.require(Permission.AUDIT_READ)
    ctx.require(Permission.STATUS_READ)
    named = parse_period(period, ctx.now())
    return {
        "period": {
            "label": named.label,
            "from": dossier.iso(named.start),
            "to": dossier.iso(named.end),
        },
        "as_of": dossier.iso(ctx.now()),
        "kpis": [asdict(k) for k in kpis_for(ctx, named)],
    }


def kpis_for(ctx: Context, named: NamedPeriod) -> list[Kpi]:
    """The KPIs of one period, in the order docs/kpis.md lists them."""
    start, end = named.start, named.end
    session = ctx.session
    systems = [s for s in session.scalars(select(System).order_by(System.id)) if s.created_at < end]
    in_production = _in_production(ctx, end)
    incidents = _incidents(ctx, named.period)
    out = [
        _share(
            "inventory_coverage",
            "Production systems with an owner and a tier",
            sum(1 for s in systems if s.id in in_production and s.owner.strip() and s.tier),
            sum(1 for s in systems if s.id in in_production),
            "no system in production at the end of the period",
        ),
        _releases_with_evidence(ctx, start, end),
        _first_pass(ctx, start, end),
        _intake_to_tier(ctx, systems, start, end),
    ]
    if isinstance(incidents, Absent):
        out += [
            Kpi("mttd", "Mean time to detect (median)", None, "seconds", note=incidents.reason),
            Kpi("mttm", "Mean time to mitigate (median)", None, "seconds", note=incidents.reason),
            Kpi(
                "incidents_by_severity",
                "Incidents by severity",
                None,
                "count",
                note=incidents.reason,
            ),
        ]
    else:
        detect = [
            (d - b).total_seconds()
            for i in incidents
            if (d := moment(i.get("detected_at"))) and (b := moment(i.get("breach_started_at")))
        ]
        mitigate = [
            (m - d).total_seconds()
            for i in incidents
            if (m := moment(i.get("mitigated_at"))) and (d := moment(i.get("detected_at")))
        ]
        severities: dict[str, int] = {}
        for i in incidents:
            severities[str(i.get("severity"))] = severities.get(str(i.get("severity")), 0) + 1
        out += [
            _median_seconds(
                "mttd",
                "Time to detect (median, breach start to detection)",
                detect,
                "no incident with a known breach start in the period",
            ),
            _median_seconds(
                "mttm",
                "Time to mitigate (median, detection to mitigation)",
                mitigate,
                "no incident mitigated in the period",
            ),
            Kpi(
                "incidents_by_severity",
                "Incidents by severity",
                dict(sorted(severities.items())),
                "count",
                len(incidents),
                None,
                "" if incidents else "no incidents in the period",
            ),
        ]
    out += [
        _drift_monitoring(ctx, systems, start, end),
        *_alert_kpis(ctx, start, end),
        _exceptions_closed(ctx, start, end),
        _validated_fallback(ctx, systems, in_production, end),
        _pack_turnaround(ctx, start, end),
    ]
    return out


def _incidents(ctx: Context, period: Period) -> list[Row] | Absent:
    """Incidents detected in the period, of every system (the incidents feature's table)."""
    rows = dossier.optional_rows(
        ctx,
        "incidents",
        "1 = 1",
        {},
        "no incidents recorded: this installation has no "
        "incident records, so MTTD and MTTM cannot be measured yet",
    )
    if isinstance(rows, Absent):
        return rows
    # Drill incidents are rehearsals in the sandbox environment: the drill records their
    # times; they are not the portfolio's incidents.
    return [
        r
        for r in rows
        if period.holds(moment(r.get("detected_at"))) and r.get("environment") != SANDBOX
    ]


def _in_production(ctx: Context, end: datetime) -> set[int]:
    """Systems whose latest prod routing change before ``end`` left them serving or killed
    to their fallback (a rollback keeps them live; nothing un-deploys a system)."""
    rows = ctx.session.execute(
        select(Deployment.system_id).where(
            Deployment.environment == "prod", Deployment.created_at < end
        )
    )
    return {int(system_id) for (system_id,) in rows}


def _releases_with_evidence(ctx: Context, start: datetime, end: datetime) -> Kpi:
    releases = list(
        ctx.session.scalars(
            select(Release.id).where(Release.created_at >= start, Release.created_at < end)
        )
    )
    with_evidence = set(
        ctx.session.scalars(
            select(Evidence.release_id).where(
                Evidence.release_id.in_(releases), Evidence.created_at < end
            )
        )
    )
    return _share(
        "releases_with_evaluation_evidence",
        "Releases created in the period with evaluation evidence",
        len(with_evidence),
        len(releases),
        "no releases in the period",
    )


def _first_pass(ctx: Context, start: datetime, end: datetime) -> Kpi:
    # A release's first run ever counts, and only when it fell in the period.
    first: dict[int, tuple[bool, datetime]] = {}
    for release_id, passed, created in ctx.session.execute(
        select(GateRun.release_id, GateRun.passed, GateRun.created_at).order_by(GateRun.id)
    ):
        first.setdefault(int(release_id), (bool(passed), created))
    judged = {k: passed for k, (passed, at) in first.items() if start <= at < end}
    return _share(
        "gate_first_pass_rate",
        "Releases whose first gate run (in the period) passed",
        sum(1 for v in judged.values() if v),
        len(judged),
        "no release had its first gate run in the period",
    )


def _intake_to_tier(ctx: Context, systems: list[System], start: datetime, end: datetime) -> Kpi:
    registered = {s.name: s.created_at for s in systems if start <= s.created_at < end}
    settled: dict[str, datetime] = {}
    for entity_id, at in ctx.session.execute(
        select(AuditEvent.entity_id, AuditEvent.at)
        .where(AuditEvent.action.in_(("system.registered", "system.intake_updated")))
        .order_by(AuditEvent.seq)
    ):
        when = moment(at)
        if entity_id in registered and when is not None and when < end:
            settled[entity_id] = when
    values = [
        max((settled.get(name, created) - created).total_seconds(), 0.0)
        for name, created in registered.items()
    ]
    return _median_seconds(
        "median_intake_to_tier",
        "Median time from intake to the tier in force",
        values,
        "no system registered in the period",
    )


def _top_tier(ctx: Context) -> str | None:
    active = policies.in_force(ctx)
    if active is None:
        return None
    tiers = [t.id for t in active[1].tiers if not t.refused]
    return tiers[0] if tiers else None


def _drift_monitoring(ctx: Context, systems: list[System], start: datetime, end: datetime) -> Kpi:
    from charter.store.monitoring_models import MonitorWindow

    top = _top_tier(ctx)
    tops = [s for s in systems if s.tier == top and s.status != "retired"]
    judged = set()
    for system_id, result in ctx.session.execute(
        select(MonitorWindow.system_id, MonitorWindow.result).where(
            MonitorWindow.window_start >= start,
            MonitorWindow.window_start < end,
            MonitorWindow.environment != SANDBOX,  # a drill's windows are rehearsals
        )
    ):
        verdict = ((result or {}).get("drift") or {}).get("verdict")
        if verdict not in (None, "no data", "insufficient data"):
            judged.add(system_id)
    return _share(
        "top_tier_drift_monitoring",
        f"Top-tier ({top}) systems with drift judged in a window of the period",
        sum(1 for s in tops if s.id in judged),
        len(tops),
        "no top-tier system" if top else "no policy in force: no tiers",
    )


def _alert_kpis(ctx: Context, start: datetime, end: datetime) -> list[Kpi]:
    from charter.store.monitoring_models import Alert

    alerts = list(
        ctx.session.scalars(
            select(Alert).where(
                Alert.opened_at >= start, Alert.opened_at < end, Alert.environment != SANDBOX
            )
        )
    )
    false_ids = _false_alarms(ctx)
    false = [
        a
        for a in alerts
        if a.id in false_ids or str((a.details or {}).get("resolution", "")).startswith("false")
    ]
    drift = [a for a in alerts if a.monitor == "drift"]
    acted = 0
    for alert in drift:
        action = ctx.session.scalar(
            select(Deployment.id)
            .where(
                Deployment.system_id == alert.system_id,
                Deployment.environment == alert.environment,
                Deployment.created_at >= alert.opened_at,
                Deployment.created_at < end,
            )
            .limit(1)
        )
        if action is not None or _has_incident(ctx, alert.id):
            acted += 1
    return [
        _share(
            "false_positive_alert_share",
            "Alerts of the period resolved as false alarms",
            len(false),
            len(alerts),
            "no alerts in the period",
        ),
        _share(
            "drift_to_action_rate",
            "Drift alerts followed by an action (routing change or incident) in the period",
            acted,
            len(drift),
            "no drift alerts in the period",
        ),
    ]


def _false_alarms(ctx: Context) -> set[int]:
    rows = dossier.optional_rows(ctx, "alert_actions", "1 = 1", {}, "no alert actions")
    if isinstance(rows, Absent):
        return set()
    return {
        int(r["alert_id"])
        for r in rows
        if "false" in str(r.get("action", "")).lower() or "false" in str(r.get("note", "")).lower()
    }


def _has_incident(ctx: Context, alert_id: int) -> bool:
    rows = dossier.optional_rows(ctx, "incidents", "alert_id = :a", {"a": alert_id}, "none")
    return not isinstance(rows, Absent) and bool(rows)


def _exceptions_closed(ctx: Context, start: datetime, end: datetime) -> Kpi:
    rows = ctx.session.scalars(
        select(PolicyException).where(
            PolicyException.expires_at >= start,
            PolicyException.expires_at < end,
            PolicyException.status.in_(("approved", "revoked")),
        )
    ).all()
    closed = [
        x
        for x in rows
        if x.status == "revoked" and x.decided_at is not None and x.decided_at < x.expires_at
    ]
    return _share(
        "exceptions_closed_before_expiry",
        "Granted exceptions due to expire in the period that were closed before expiry",
        len(closed),
        len(rows),
        "no granted exception expires in the period",
    )


def _validated_fallback(
    ctx: Context, systems: list[System], in_production: set[int], end: datetime
) -> Kpi:
    live = [s for s in systems if s.id in in_production]
    validated = 0
    for system in live:
        drills = dossier.drills(ctx, system)
        if isinstance(drills, Absent):
            continue
        if any(
            (d.get("passed") or d.get("status") in ("passed", "pass"))
            and (moment(d.get("at") or d.get("created_at") or d.get("finished_at")) or end) < end
            for d in drills
        ):
            validated += 1
    return _share(
        "validated_fallback_share",
        "Production systems with a passing fallback drill",
        validated,
        len(live),
        "no system in production at the end of the period",
    )


def _pack_turnaround(ctx: Context, start: datetime, end: datetime) -> Kpi:
    rows = ctx.session.execute(
        select(EvidenceExport.started_at, EvidenceExport.finished_at).where(
            EvidenceExport.started_at >= start, EvidenceExport.started_at < end
        )
    ).all()
    return _median_seconds(
        "evidence_pack_turnaround",
        "Median time to produce an evidence pack",
        [max((f - s).total_seconds(), 0.0) for s, f in rows],
        "no evidence pack exported in the period",
    )


def previous_of(named: NamedPeriod) -> NamedPeriod:
    """The period before ``named`` (for trends)."""
    return named.previous()
