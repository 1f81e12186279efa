"""The portfolio's read-model in plain SQL: `charter status`, ``GET /status`` and the console.

Everything here runs on a DB-API connection (``sqlite3`` or psycopg), with the same SQL
on both backends and without SQLAlchemy or the policy pack's pydantic model: building a
thousand systems' worth of ORM objects, and importing what builds them, was most of what
`charter status` cost (issues 12 and 16, ``benchmarks/status`` and ``benchmarks/web``).
The services (:mod:`charter.services.portfolio`, the ``status`` operation) run these same
functions on their session's connection, and ``charter status`` runs them on a
connection of its own (:mod:`charter.cli.fast_status`), so there is one implementation.

Callers check permissions (``status:read`` and ``monitor:read``) before calling.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from charter.domain.approvals import (
    APPROVING,
    DEFAULT_REQUIREMENT,
    DecisionFact,
    approval_in_force,
    author_provisioned_reason,
    before_tier_lowered,
)
from charter.domain.policy_facts import PolicyFacts, policy_facts, recorded_flags
from charter.domain.window_results import Signals

#: Default notice period for vendor deprecations when no policy control sets one.
DEFAULT_NOTICE_DAYS = 30
#: Approvals ending within this window are flagged as expiring.
EXPIRY_WARNING = timedelta(days=14)
#: A process that has not reported for this long no longer counts as live.
LIVE_FOR = timedelta(minutes=15)


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Reader:
    """A DB-API connection and its dialect: runs ``?``-style SQL, decodes stored values.

    SQLite returns datetimes as text (naive UTC, as SQLAlchemy writes them) and JSON as
    text; psycopg returns aware datetimes and decoded JSON. Both come out the same here.
    """

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.sqlite = dialect == "sqlite"

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one query (tuples)."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql if self.sqlite else sql.replace("?", "%s"), tuple(params))
            found: list[Any] = cursor.fetchall()
            return found
        finally:
            cursor.close()

    def moment(self, value: Any) -> datetime | None:
        """A stored datetime as an aware UTC datetime."""
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def bind_moment(self, value: datetime) -> Any:
        """``value`` as a parameter compared with stored datetimes (text on SQLite)."""
        if not self.sqlite:
            return value
        naive = value.astimezone(UTC)
        return f"{naive:%Y-%m-%d %H:%M:%S}.{naive.microsecond:06d}"

    @staticmethod
    def data(value: Any) -> Any:
        """A stored JSON value, decoded."""
        return json.loads(value) if isinstance(value, str) else value


def to_json(value: Any) -> Any:
    """``value`` as JSON-ready data, exactly as pydantic's ``mode="json"`` dumps it:
    datetimes in ISO 8601 with ``Z``, tuples as lists, non-finite floats as null."""
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- the policy in force --------------------------------------------------------------


class PolicyInForce:
    """The newest applied pack's version and facts, and every version's facts."""

    def __init__(self, reader: Reader) -> None:
        stored = reader.rows("SELECT version, digest, source FROM policy_versions")
        self.sources = {version: (digest, source) for version, digest, source in stored}
        self.version = max(self.sources, default=None)
        self.facts = None if self.version is None else self.of(self.version)

    def of(self, version: int) -> PolicyFacts:
        """The facts of one stored version."""
        return policy_facts(*self.sources[version])


def _notice_days(policy: PolicyFacts | None, scope: tuple[str, str, Any]) -> int:
    if policy is None:
        return DEFAULT_NOTICE_DAYS
    # Several controls may watch deprecations (a notice period in prod, the date itself
    # everywhere): warn as early as the strictest one would.
    return max(policy.notice_days(*scope), default=DEFAULT_NOTICE_DAYS)


def _vendor_flags(manifest: str, today: date, notice_days: int) -> list[str]:
    flags = []
    for component in json.loads(manifest).get("components", []):
        deprecation = (
            component.get("deprecation_date") if component.get("kind") == "vendor_model" else None
        )
        if not deprecation:
            continue
        when = date.fromisoformat(deprecation)
        if when <= today:
            flags.append(f"vendor model {component['name']} deprecated on {when}")
        elif when <= today + timedelta(days=notice_days):
            flags.append(
                f"vendor model {component['name']} deprecated on {when} (within {notice_days}d)"
            )
    return flags


def _policy_flags(
    active: PolicyInForce, decisions: Iterable[DecisionFact], scope: tuple[str, str, Any]
) -> list[str]:
    """Flag a release approved under an older policy that required less than today's."""
    environment = scope[1]
    granted_under = [
        d.policy_version
        for d in decisions
        if d.verdict != "reject" and environment in d.environments and d.policy_version
    ]
    if active.facts is None or active.version is None or not granted_under:
        return []
    old_number = max(granted_under)
    if old_number >= active.version or old_number not in active.sources:
        return []
    before = {c.id for c in active.of(old_number).controls_for(*scope)}
    added = sorted({c.id for c in active.facts.controls_for(*scope)} - before)
    if not added:
        return []
    return [f"policy v{active.version} requires more than v{old_number}: {', '.join(added)}"]


# --- monitoring -----------------------------------------------------------------------


def monitoring_signals(reader: Reader) -> dict[tuple[str, str], dict[str, Any]]:
    """The live signals of every route, keyed by ``(system name, environment)``.

    See :func:`charter.services.signals_view.monitoring_signals`: three queries whatever
    the number of systems or windows (the worker keeps the newest results on the
    monitor-state row).
    """
    routes = reader.rows(
        "SELECT s.id, s.name, r.environment, rel.digest FROM routes r"
        " JOIN systems s ON s.id = r.system_id JOIN releases rel ON rel.id = r.release_id"
    )
    states = {
        (system_id, environment): reader.data(latest)
        for system_id, environment, latest in reader.rows(
            "SELECT system_id, environment, latest FROM monitor_states"
        )
    }
    open_alerts = {
        (system_id, environment): int(count)
        for system_id, environment, count in reader.rows(
            "SELECT system_id, environment, count(*) FROM alerts WHERE status = 'open'"
            " GROUP BY system_id, environment"
        )
    }
    result: dict[tuple[str, str], dict[str, Any]] = {}
    for system_id, name, environment, digest in routes:
        latest = states.get((system_id, environment)) or {}
        signals = Signals.from_dict(latest.get("signals")).to_dict()
        result[(name, environment)] = {
            "release": f"{name}@{digest}",
            "evaluated_release": latest.get("release"),
            "window": latest.get("window"),
            "rows": latest.get("rows"),
            **signals,
            "open_alerts": open_alerts.get((system_id, environment), 0),
        }
    return result


def _signal_flags(signals: dict[str, Any] | None) -> list[str]:
    """Flag what the newest closed monitoring window says needs a look."""
    if not signals:
        return []
    flags = []
    drift = signals.get("drift") or {}
    if drift.get("verdict") == "drift":
        columns = ", ".join(drift.get("columns") or []) or "some columns"
        flags.append(f"drift in {columns}")
    if signals.get("open_alerts"):
        count = signals["open_alerts"]
        flags.append(f"{count} open alert{'s' if count != 1 else ''}")
    return flags


# --- rollouts -------------------------------------------------------------------------


def active_rollouts(reader: Reader) -> dict[tuple[int, str], tuple[Any, ...]]:
    """Every route's active canary or shadow, keyed by ``(system id, environment)``: kind,
    share, start, the candidate's digest, id and author. One query whatever the number of
    systems (at most one rollout is active per route)."""
    return {
        (row[0], row[1]): (row[2], row[3], reader.moment(row[4]), row[5], row[6], row[7] or "")
        for row in reader.rows(
            "SELECT ro.system_id, ro.environment, ro.kind, ro.share, ro.started_at, rel.digest,"
            " rel.id, u.name FROM rollouts ro JOIN releases rel ON rel.id = ro.release_id"
            " LEFT JOIN users u ON u.id = rel.created_by_id WHERE ro.status = 'active'"
        )
    }


def held_because(
    route_state: str, system_status: str, live_approval: str, candidate_approval: str
) -> str | None:
    """Why nobody is routed to an active rollout's candidate, or None when the SDK is told
    of it. The one rule: :func:`charter.services.rollouts.route_rollout` (what the route
    tells the SDK) applies it too."""
    if route_state == "killed":
        return "the route is killed"
    if system_status in ("suspended", "retired"):
        return f"the system is {system_status}"
    if live_approval != "approved":
        return f"the live release's approval is {live_approval}"
    if candidate_approval != "approved":
        return f"the candidate's approval is {candidate_approval}"
    return None


def rollout_entry(
    name: str, found: tuple[Any, ...], held: str | None, min_hours: float | None, now: datetime
) -> tuple[dict[str, Any], str]:
    """A route's active rollout as the status view shows it, and its flag.

    ``state`` is ``held`` (with the reason in ``held_because``) while nobody is routed to
    the candidate, else ``active``. The minimum period is the hours of the pack's
    ``rollout`` requirement; whether the rows and windows it also asks for exist is
    ``charter rollout show``'s to say.
    """
    kind, share, started_at, digest = found[:4]
    candidate = f"{name}@{digest[:12]}"
    elapsed = (
        None
        if min_hours is None or started_at is None
        else now - started_at >= timedelta(hours=min_hours)
    )
    entry = {
        "kind": kind,
        "release": candidate,
        "share": share,
        "started_at": started_at,
        "min_hours": min_hours,
        "min_period_elapsed": elapsed,
        "state": "active" if held is None else "held",
        "held_because": held,
    }
    flag = (
        f"canary: {share * 100:.4g}% to {candidate}" if kind == "canary" else f"shadow: {candidate}"
    )
    if min_hours:
        flag += f" ({min_hours:g} h minimum {'elapsed' if elapsed else 'not elapsed yet'})"
    if held is not None:
        flag += f" (held: {held})"
    return entry, flag


# --- the portfolio --------------------------------------------------------------------


def _decision_facts(
    reader: Reader, authors: dict[int, str], assessments: dict[int, Any]
) -> dict[int, tuple[DecisionFact, ...]]:
    """The approval rule's facts of the decisions on every live release and every active
    rollout's candidate, oldest first."""
    found: dict[int, list[DecisionFact]] = defaultdict(list)
    for row in reader.rows(
        "SELECT d.release_id, d.id, d.verdict, d.actor_role, d.environments, d.expires_at,"
        " d.created_at, d.fallback, d.policy_version, d.contract, u.name, u.role,"
        " u.created_by, u.role_granted_by, u.token_rotated_by"
        " FROM decisions d JOIN users u ON u.id = d.actor_id"
        " WHERE d.release_id IN (SELECT release_id FROM routes"
        " UNION SELECT release_id FROM rollouts WHERE status = 'active') ORDER BY d.id"
    ):
        release_id, decision_id, verdict, actor_role, environments, expires_at = row[:6]
        created_at = reader.moment(row[6])
        assert created_at is not None
        approving = verdict in APPROVING
        found[release_id].append(
            DecisionFact(
                id=decision_id,
                verdict=verdict,
                actor=row[10],
                actor_role=actor_role,
                environments=tuple(reader.data(environments)),
                expires_at=reader.moment(expires_at),
                created_at=created_at,
                fallback=reader.data(row[7]),
                policy_version=row[8],
                contract=reader.data(row[9]),
                excluded=before_tier_lowered(
                    verdict, created_at, assessments.get(release_id) or {}
                ),
                author_provisioned=author_provisioned_reason(
                    account=row[10],
                    role=row[11],
                    created_by=row[12],
                    role_granted_by=row[13],
                    token_rotated_by=row[14],
                    author=authors.get(release_id, ""),
                )
                if approving
                else None,
            )
        )
    return {release_id: tuple(facts) for release_id, facts in found.items()}


def portfolio(reader: Reader, now: datetime) -> list[dict[str, Any]]:
    """One entry per system: tier, live release per environment, approval, flags, exceptions.

    A handful of queries whatever the number of systems, read as plain rows; the
    per-(tier, environment, flags) policy facts are worked out once.
    """
    active = PolicyInForce(reader)
    policy = active.facts
    systems = reader.rows(
        "SELECT id, name, tier, status, owner, assessment FROM systems ORDER BY name"
    )
    assessment_of = {row[0]: reader.data(row[5]) for row in systems}
    routes: dict[int, list[Any]] = defaultdict(list)
    authors: dict[int, str] = {}
    assessments: dict[int, Any] = {}
    for route in reader.rows(
        "SELECT r.system_id, r.environment, r.release_id, r.state, rel.digest, rel.manifest,"
        " u.name FROM routes r JOIN releases rel ON rel.id = r.release_id"
        " LEFT JOIN users u ON u.id = rel.created_by_id ORDER BY r.environment"
    ):
        routes[route[0]].append(route)
        authors[route[2]] = route[6] or ""
        assessments[route[2]] = assessment_of.get(route[0])
    rollouts = active_rollouts(reader)
    for (system_id, _), period in rollouts.items():
        authors[period[4]] = period[5]
        assessments[period[4]] = assessment_of.get(system_id)
    decisions = _decision_facts(reader, authors, assessments) if routes else {}
    last_gate: dict[tuple[int, str], tuple[bool, datetime | None]] = {}
    for release_id, environment, passed, created_at in reader.rows(
        "SELECT release_id, environment, passed, created_at FROM gate_runs"
        " WHERE release_id IN (SELECT release_id FROM routes) ORDER BY id"
    ):
        last_gate[(release_id, environment)] = (bool(passed), reader.moment(created_at))
    live_signals = monitoring_signals(reader)
    exception_counts = {
        (system_id, status): int(count)
        for system_id, status, count in reader.rows(
            "SELECT rel.system_id, e.status, count(*) FROM policy_exceptions e"
            " JOIN releases rel ON rel.id = e.release_id WHERE e.expires_at > ?"
            " GROUP BY rel.system_id, e.status",
            (reader.bind_moment(now),),
        )
    }
    requirements: dict[tuple[str, str, frozenset[str] | None], Any] = {}
    notices: dict[tuple[str, str, frozenset[str] | None], int] = {}
    vendor: dict[tuple[int, int], list[str]] = {}

    entries = []
    for system_id, name, tier, status, owner, _ in systems:
        environments = []
        for _, environment, release_id, state, digest, manifest, _ in routes.get(system_id, []):
            scope = (tier, environment, recorded_flags(assessment_of[system_id]))
            if scope not in requirements:
                requirements[scope] = (
                    policy.approval_requirements(*scope) if policy else (DEFAULT_REQUIREMENT,)
                )
                notices[scope] = _notice_days(policy, scope)
            facts = decisions.get(release_id, ())
            approval = approval_in_force(
                facts, environment=environment, now=now, requirements=requirements[scope]
            )
            flags = []
            if approval.state != "approved":
                flags.append(f"approval {approval.state}: re-approval needed")
            elif approval.valid_until and approval.valid_until <= now + EXPIRY_WARNING:
                flags.append(f"approval expires {approval.valid_until.date()}")
            if state == "killed":
                flags.append("killed: serving the fallback")
            rollout = None
            found = rollouts.get((system_id, environment))
            if found is not None:
                candidate = approval_in_force(
                    decisions.get(found[4], ()),
                    environment=environment,
                    now=now,
                    requirements=requirements[scope],
                )
                held = held_because(state, status, approval.state, candidate.state)
                min_hours = policy.rollout_min_hours(tier, environment) if policy else None
                rollout, flag = rollout_entry(name, found, held, min_hours, now)
                flags.append(flag)
            vendor_key = (release_id, notices[scope])
            if vendor_key not in vendor:  # a release live in several environments
                vendor[vendor_key] = _vendor_flags(manifest, now.date(), notices[scope])
            flags += vendor[vendor_key]
            flags += _policy_flags(active, facts, scope)
            signals = live_signals.get((name, environment))
            flags += _signal_flags(signals)
            gate = last_gate.get((release_id, environment))
            environments.append(
                {
                    "environment": environment,
                    "release": f"{name}@{digest}",
                    "state": state,
                    "approval": approval.state,
                    "valid_until": approval.valid_until,
                    "last_gate": None if gate is None else {"passed": gate[0], "at": gate[1]},
                    "flags": flags,
                    "monitoring": signals,
                    "rollout": rollout,
                }
            )
        entries.append(
            {
                "name": name,
                "tier": tier,
                "status": status,
                "owner": owner,
                "environments": environments,
                "open_exceptions": exception_counts.get((system_id, "approved"), 0),
                "requested_exceptions": exception_counts.get((system_id, "requested"), 0),
                "needs_attention": any(env["flags"] for env in environments),
            }
        )
    return entries


# --- `charter status`: the portfolio plus what serving processes report -----------------


def attestation_summary(rows: Sequence[Any], live_digest: str) -> dict[str, Any]:
    """What the live processes of a route attest (rows with ``digest``, ``approved`` and
    ``process_id``), against the digest of the release the route serves."""
    digests = sorted({r.digest for r in rows})
    unapproved = sorted({r.digest for r in rows if not r.approved})
    return {
        "processes": len({r.process_id for r in rows}),
        "digests": digests,
        "matches_live_release": bool(rows) and digests == [live_digest],
        "unapproved": unapproved,
        "status": (
            "none reported"
            if not rows
            else "unapproved configuration live"
            if unapproved
            else "matches"
            if digests == [live_digest]
            else "approved, not the live release"
        ),
    }


class _Attested:
    """One attestation row's fields :func:`attestation_summary` reads."""

    __slots__ = ("approved", "digest", "process_id")

    def __init__(self, digest: str, approved: Any, process_id: str) -> None:
        self.digest = digest
        self.approved = bool(approved)
        self.process_id = process_id


def status_systems(reader: Reader, now: datetime) -> list[dict[str, Any]]:
    """`charter status`'s systems as JSON data: the portfolio, and per route the
    attestation verdict, the guard block rate and the open incidents."""
    systems: list[dict[str, Any]] = to_json(portfolio(reader, now))
    ids = dict(reader.rows("SELECT name, id FROM systems"))
    routes = {
        (system_id, environment): digest
        for system_id, environment, digest in reader.rows(
            "SELECT r.system_id, r.environment, rel.digest FROM routes r"
            " JOIN releases rel ON rel.id = r.release_id"
        )
    }
    live: dict[tuple[int, str], list[_Attested]] = {}
    for system_id, environment, digest, approved, process_id in reader.rows(
        "SELECT system_id, environment, digest, approved, process_id FROM attestations"
        " WHERE last_seen_at >= ? ORDER BY last_seen_at DESC",
        (reader.bind_moment(now - LIVE_FOR),),
    ):
        found = live.setdefault((system_id, environment), [])
        if len(found) < 50:  # as live_attestations: the 50 newest per route
            found.append(_Attested(digest, approved, process_id))
    open_incidents = {
        (system_id, environment): int(count)
        for system_id, environment, count in reader.rows(
            "SELECT system_id, environment, count(*) FROM incidents"
            " WHERE status != 'resolved' GROUP BY system_id, environment"
        )
    }
    for entry in systems:
        system_id = ids.get(entry["name"])
        if system_id is None:
            continue
        for env in entry.get("environments") or []:
            key = (system_id, env["environment"])
            digest = routes.get(key)
            if digest is None:
                continue
            summary = attestation_summary(live.get(key, []), digest)
            env["attestation"] = summary["status"]
            env["guard_block_rate"] = (env.get("monitoring") or {}).get("block_rate")
            env["open_incidents"] = open_incidents.get(key, 0)
            if summary["unapproved"]:
                env.setdefault("flags", []).append("unapproved configuration live")
            if env["open_incidents"]:
                env.setdefault("flags", []).append(f"{env['open_incidents']} open incident(s)")
        entry["needs_attention"] = any(e.get("flags") for e in entry.get("environments") or [])
    return systems
