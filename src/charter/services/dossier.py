"""What the records hold about one system, section by section, as plain JSON-ready data.

Cards, evidence packs, KPIs and the portfolio report all read the records through these
functions, one per section, so a section is written once. A section whose table does not
exist in this installation (incidents, drills, signed checkpoints come with other
features) is reported as :class:`Absent` with the reason, never invented: readers print
"no incidents recorded" or "audit checkpoints not configured" instead of an empty success.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from charter.domain.text import iso_utc
from charter.services.context import Context
from charter.store.models import (
    Decision,
    Deployment,
    Evidence,
    GateRun,
    MonitorReference,
    PolicyException,
    PolicyVersion,
    Release,
    Route,
    System,
)

Row = dict[str, Any]


@dataclass(frozen=True)
class Absent:
    """A section this installation does not record (yet): why, in words for a reader."""

    reason: str


@dataclass(frozen=True)
class Period:
    """A half-open time range ``[start, end)``; either end may be open (None)."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, moment: datetime | None) -> bool:
        """Whether ``moment`` falls in the period (an unknown moment never does)."""
        if moment is None:
            return False
        return (self.start is None or moment >= self.start) and (
            self.end is None or moment < self.end
        )


ALWAYS = Period()


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC text, or None."""
    return None if moment is None else iso_utc(moment)


def has_table(session: Session, name: str) -> bool:
    """Whether this database has the table (features land at different times)."""
    return bool(inspect(session.connection()).has_table(name))


def optional_rows(
    ctx: Context, table: str, where: str, params: dict[str, Any], absent: str
) -> list[Row] | Absent:
    """Rows of a table another feature owns, as dicts, or Absent when it does not exist.

    Read with plain SQL on purpose: the table's ORM class may not exist in this build, and
    a reader that lists whatever columns the table has keeps working as that feature grows.
    """
    if not has_table(ctx.session, table):
        return Absent(absent)
    result = ctx.session.execute(text(f"SELECT * FROM {table} WHERE {where}"), params)  # noqa: S608
    return [
        {k: (iso(v) if isinstance(v, datetime) else v) for k, v in row._mapping.items()}
        for row in result
    ]


# --- the governed records ------------------------------------------------------------------


def system_section(system: System) -> Row:
    """Owner, purpose, population, surfaces, intake answers, tier and how it was set."""
    assessment = system.assessment or {}
    return {
        "name": system.name,
        "owner": system.owner,
        "purpose": system.purpose,
        "population": system.population,
        "surfaces": list(system.surfaces or []),
        "status": system.status,
        "tier": system.tier,
        "intake": dict(system.intake or {}),
        "assessment": assessment,
        "created_at": iso(system.created_at),
        "created_by": system.created_by,
    }


def releases(ctx: Context, system: System) -> list[Row]:
    """Every release of the system, oldest first, with its manifest byte for byte."""
    rows = ctx.session.scalars(
        select(Release).where(Release.system_id == system.id).order_by(Release.id)
    )
    return [release_row(r) for r in rows]


def release_row(release: Release) -> Row:
    """One release: digest, manifest text (whose SHA-256 is the digest), components."""
    return {
        "id": release.id,
        "digest": release.digest,
        "label": release.label,
        "description": release.description,
        "manifest": release.manifest,
        "components": [
            {"kind": c.kind, "name": c.name, "digest": c.digest, "spec": c.spec}
            for c in release.components
        ],
        "created_at": iso(release.created_at),
        "created_by": release.created_by.name,
    }


def release_digests(ctx: Context, system: System) -> dict[int, str]:
    """Release id -> digest for the system's releases."""
    rows = ctx.session.execute(
        select(Release.id, Release.digest).where(Release.system_id == system.id)
    )
    return {int(i): str(d) for i, d in rows}


def _release_ids(ctx: Context, system: System, release: Release | None) -> list[int]:
    if release is not None:
        return [release.id]
    return list(ctx.session.scalars(select(Release.id).where(Release.system_id == system.id)))


def _of_releases(ctx: Context, model: Any, system: System, release: Release | None) -> Any:
    """The rows of ``model`` (a table with ``release_id``) that belong to the system's
    releases, or to one release, oldest first."""
    ids = _release_ids(ctx, system, release)
    return ctx.session.scalars(select(model).where(model.release_id.in_(ids)).order_by(model.id))


def decisions(
    ctx: Context, system: System, release: Release | None = None, period: Period = ALWAYS
) -> list[Row]:
    """Approvals and rejections, oldest first."""
    rows = _of_releases(ctx, Decision, system, release)
    return [
        {
            "id": d.id,
            "release": d.release.digest,
            "verdict": d.verdict,
            "actor": d.actor.name,
            "actor_role": d.actor_role,
            "use_case": d.use_case,
            "population": d.population,
            "environments": d.environments,
            "contract": d.contract,
            "fallback": d.fallback,
            "expires_at": iso(d.expires_at),
            "conditions": d.conditions,
            "note": d.note,
            "policy_version": d.policy_version,
            "supersedes": d.supersedes_id,
            "created_at": iso(d.created_at),
        }
        for d in rows
        if period is ALWAYS or period.holds(d.created_at)
    ]


def evidence(
    ctx: Context, system: System, release: Release | None = None, period: Period = ALWAYS
) -> list[Row]:
    """Evaluation evidence with its full result and provenance, oldest first."""
    rows = _of_releases(ctx, Evidence, system, release)
    found = []
    for e in rows:
        if period is not ALWAYS and not period.holds(e.created_at):
            continue
        result = json.loads(e.result)
        found.append(
            {
                "id": e.id,
                "release": e.release.digest,
                "suite": e.suite,
                "suite_version": e.suite_version,
                "digest": e.digest,
                "dataset_sha256": e.dataset_sha256,
                "passed": e.passed,
                "bounds": e.bounds,
                # The result text exactly as stored: its SHA-256 is what ``digest`` states
                # for evidence the runner recorded.
                "result": e.result,
                "provenance": result.get("provenance"),
                "created_at": iso(e.created_at),
                "created_by": e.created_by,
            }
        )
    return found


def gate_runs(
    ctx: Context, system: System, release: Release | None = None, period: Period = ALWAYS
) -> list[Row]:
    """Every gate run with its full report, oldest first."""
    rows = _of_releases(ctx, GateRun, system, release)
    return [
        {
            "id": g.id,
            "release": g.release.digest,
            "environment": g.environment,
            "policy_version": g.policy_version,
            "passed": g.passed,
            "report": g.report,
            "created_at": iso(g.created_at),
            "created_by": g.created_by,
        }
        for g in rows
        if period is ALWAYS or period.holds(g.created_at)
    ]


def exceptions(
    ctx: Context, system: System, release: Release | None = None, period: Period = ALWAYS
) -> list[Row]:
    """Exceptions, oldest first (a period keeps those requested in it or still open in it)."""
    rows = _of_releases(ctx, PolicyException, system, release)
    return [
        {
            "id": x.id,
            "release": x.release.digest,
            "control_id": x.control_id,
            "environment": x.environment,
            "justification": x.justification,
            "compensating": x.compensating,
            "status": x.status,
            "expires_at": iso(x.expires_at),
            "policy_version": x.policy_version,
            "requested_by": x.requested_by,
            "requested_at": iso(x.requested_at),
            "decided_by": x.decided_by,
            "decided_at": iso(x.decided_at),
            "decision_note": x.decision_note,
        }
        for x in rows
        if period is ALWAYS
        or period.holds(x.requested_at)
        or (period.start is not None and x.requested_at < period.start <= x.expires_at)
    ]


def deployments(ctx: Context, system: System, period: Period = ALWAYS) -> list[Row]:
    """Routing changes (deploy, rollback, kill, resume), oldest first."""
    digests = release_digests(ctx, system)
    rows = ctx.session.scalars(
        select(Deployment).where(Deployment.system_id == system.id).order_by(Deployment.id)
    )
    return [
        {
            "id": d.id,
            "environment": d.environment,
            "action": d.action,
            "release": digests.get(d.release_id) if d.release_id else None,
            "gate_run_id": d.gate_run_id,
            "reason": d.reason,
            "created_at": iso(d.created_at),
            "created_by": d.created_by,
        }
        for d in rows
        if period is ALWAYS or period.holds(d.created_at)
    ]


def routes(ctx: Context, system: System) -> list[Row]:
    """What serves the system in each environment now."""
    from charter.services.drills import SANDBOX

    # The drills' sandbox environment is a rehearsal, not where the system serves.
    rows = ctx.session.scalars(
        select(Route)
        .where(Route.system_id == system.id, Route.environment != SANDBOX)
        .order_by(Route.environment)
    )
    return [
        {
            "environment": r.environment,
            "release": r.release.digest,
            "previous_release": r.previous_release.digest if r.previous_release else None,
            "state": r.state,
            "fallback": r.fallback,
            "reason": r.reason,
            "updated_at": iso(r.updated_at),
            "updated_by": r.updated_by,
        }
        for r in rows
    ]


def references(ctx: Context, system: System) -> list[Row]:
    """Reference profiles (summaries, not the profiles), oldest first."""
    rows = ctx.session.scalars(
        select(MonitorReference)
        .join(Release, Release.id == MonitorReference.release_id)
        .where(Release.system_id == system.id)
        .order_by(MonitorReference.id)
    )
    return [
        {
            "id": r.id,
            "release": r.release.digest,
            "digest": r.digest,
            "dataset_sha256": r.dataset_sha256,
            "pii": r.pii,
            "summary": r.summary,
            "profile": r.profile,
            "created_at": iso(r.created_at),
            "created_by": r.created_by,
            "superseded_at": iso(r.superseded_at),
        }
        for r in rows
    ]


def policy_versions(ctx: Context, numbers: set[int] | None = None) -> list[Row]:
    """Applied policy versions (all, or those named), with their source as applied."""
    query = select(PolicyVersion).order_by(PolicyVersion.version)
    if numbers is not None:
        query = query.where(PolicyVersion.version.in_(sorted(numbers)))
    return [
        {
            "version": p.version,
            "name": p.name,
            "digest": p.digest,
            "source": p.source,
            "created_at": iso(p.created_at),
            "created_by": p.created_by,
        }
        for p in ctx.session.scalars(query)
    ]


# --- monitoring ---------------------------------------------------------------------------


def windows(
    ctx: Context,
    system: System,
    period: Period = ALWAYS,
    *,
    release: Release | None = None,
    newest: int | None = None,
) -> list[Row]:
    """Closed monitoring windows, oldest first, each with its full judged result
    (``newest``: only that many of the most recent)."""
    from charter.store.monitoring_models import MonitorWindow

    digests = release_digests(ctx, system)
    query = select(
        MonitorWindow.environment,
        MonitorWindow.release_id,
        MonitorWindow.window_start,
        MonitorWindow.window_end,
        MonitorWindow.rows,
        MonitorWindow.labelled,
        MonitorWindow.result,
        MonitorWindow.evaluated_at,
    ).where(*_window_filter(system, period, release))
    if newest is not None:
        query = query.order_by(MonitorWindow.window_start.desc(), MonitorWindow.id.desc())
        query = query.limit(newest)
    else:
        query = query.order_by(MonitorWindow.window_start, MonitorWindow.id)
    rows = [
        {
            "environment": environment,
            "release": digests.get(release_id),
            "window_start": iso(start),
            "window_end": iso(end),
            "rows": rows,
            "labelled": labelled,
            "result": result,
            "evaluated_at": iso(evaluated),
        }
        for environment, release_id, start, end, rows, labelled, result, evaluated in (
            ctx.session.execute(query)
        )
    ]
    return rows[::-1] if newest is not None else rows


def _window_filter(system: System, period: Period, release: Release | None) -> list[Any]:
    from charter.store.monitoring_models import MonitorWindow

    where: list[Any] = [MonitorWindow.system_id == system.id]
    if release is not None:
        where.append(MonitorWindow.release_id == release.id)
    if period.start is not None:
        where.append(MonitorWindow.window_start >= period.start)
    if period.end is not None:
        where.append(MonitorWindow.window_start < period.end)
    return where


def window_span(ctx: Context, system: System, release: Release | None = None) -> Row | None:
    """How many windows there are and the span they cover, in one aggregate query."""
    from sqlalchemy import func

    from charter.store.monitoring_models import MonitorWindow

    count, first, last = ctx.session.execute(
        select(
            func.count(MonitorWindow.id),
            func.min(MonitorWindow.window_start),
            func.max(MonitorWindow.window_end),
        ).where(*_window_filter(system, ALWAYS, release))
    ).one()
    if not count:
        return None
    # SQLite returns aggregates of the UTC column as naive values or text.
    from charter.services.kpis import moment

    return {"from": iso(moment(first)), "to": iso(moment(last)), "windows": int(count)}


def window_lines(ctx: Context, system: System, period: Period = ALWAYS) -> bytes:
    """Every window of the system as JSON lines, each with its judged result as stored.

    The result's JSON text goes into the line as it is (``CAST AS TEXT``), never decoded
    and re-encoded: a year of hourly windows is ~9,000 results, and decoding them was
    most of an export's time.
    """
    from sqlalchemy import Text, cast

    from charter.store.monitoring_models import MonitorWindow

    digests = release_digests(ctx, system)
    query = (
        select(
            MonitorWindow.environment,
            MonitorWindow.release_id,
            MonitorWindow.window_start,
            MonitorWindow.window_end,
            MonitorWindow.rows,
            MonitorWindow.labelled,
            MonitorWindow.evaluated_at,
            cast(MonitorWindow.result, Text),
        )
        .where(*_window_filter(system, period, None))
        .order_by(MonitorWindow.window_start, MonitorWindow.id)
    )
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
    out = []
    for (
        environment,
        release_id,
        start,
        end,
        rows,
        labelled,
        evaluated,
        text_result,
    ) in ctx.session.execute(query):
        head = dumps(
            {
                "environment": environment,
                "release": digests.get(release_id),
                "window_start": iso(start),
                "window_end": iso(end),
                "rows": rows,
                "labelled": labelled,
                "evaluated_at": iso(evaluated),
            }
        )
        out.append(f'{head[:-1]},"result":{text_result or "null"}}}\n')
    return "".join(out).encode()


def alerts(ctx: Context, system: System, period: Period = ALWAYS) -> list[Row]:
    """Alerts (opened, resolved and how), oldest first."""
    from charter.store.monitoring_models import Alert

    rows = ctx.session.scalars(select(Alert).where(Alert.system_id == system.id).order_by(Alert.id))
    return [
        {
            "id": a.id,
            "environment": a.environment,
            "release": a.release.digest,
            "monitor": a.monitor,
            "subject": a.subject,
            "severity": a.severity,
            "status": a.status,
            "summary": a.summary,
            "details": a.details,
            "breach_started_at": iso(a.breach_started_at),
            "opened_at": iso(a.opened_at),
            "resolved_at": iso(a.resolved_at),
        }
        for a in rows
        if period is ALWAYS or period.holds(a.opened_at)
    ]


# --- sections other features own (absent until they land) --------------------------------


def incidents(ctx: Context, system: System) -> list[Row] | Absent:
    """Incidents with their timelines and postmortems (the incidents feature's table)."""
    from charter.services.drills import SANDBOX

    # Drill incidents are rehearsals (the drill's evidence reports them), not the system's.
    return optional_rows(
        ctx,
        "incidents",
        "system_id = :system_id AND environment <> :sandbox",
        {"system_id": system.id, "sandbox": SANDBOX},
        "no incidents recorded: this installation has no incident records",
    )


def drills(ctx: Context, system: System) -> list[Row] | Absent:
    """Fallback drills: the drills feature's table, else drill evidence (suite fallback-drill)."""
    found = optional_rows(
        ctx,
        "drills",
        "system_id = :system_id",
        {"system_id": system.id},
        "no drills table",
    )
    if not isinstance(found, Absent):
        return found
    rows = [e for e in evidence(ctx, system) if e["suite"] == "fallback-drill"]
    if rows:
        return [
            {
                "evidence_id": e["id"],
                "release": e["release"],
                "passed": e["passed"],
                "at": e["created_at"],
                "source": "evidence",
            }
            for e in rows
        ]
    return Absent("no drills recorded")


def checkpoint(ctx: Context) -> Row | Absent:
    """The newest signed checkpoint of the audit chain head, when checkpoints exist."""
    found = optional_rows(
        ctx, "audit_checkpoints", "1 = 1", {}, "no checkpoint: audit checkpoints not configured"
    )
    if isinstance(found, Absent):
        return found
    if not found:
        return Absent("no checkpoint: no audit checkpoint has been signed yet")
    return max(found, key=lambda row: int(str(row.get("seq") or row.get("id") or 0)))
