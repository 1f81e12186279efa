"""The risk register: each system's risks as governed, versioned, audited records.

Every change writes the risk's new state, an immutable revision holding the whole record,
and an audit event, in one transaction; a request the pack in force does not accept (an
unknown control or signal, a likelihood off the scale, an owner who is not a user) is
refused before anything is written. Reviews and acceptances of residual risk are
recorded by the person who performed them, with the pack's separation of duties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from charter.domain.contracts import MONITORS
from charter.domain.errors import BadInput, Conflict, Forbidden, NotFound
from charter.domain.risks import (
    CHANGEABLE,
    JUDGES_THE_REGISTER,
    RESETS_ACCEPTANCE,
    RegisterFacts,
    RiskChange,
    RiskFact,
    gaps,
    request_problems,
)
from charter.domain.roles import Permission
from charter.services import audit, policies
from charter.services.context import Context
from charter.services.systems import find_system
from charter.store.models import Risk, RiskRevision, System, User

if TYPE_CHECKING:
    from charter.domain.policy import Policy
    from charter.store.models import PolicyVersion


def _in_force(ctx: Context) -> tuple[PolicyVersion, Policy]:
    active = policies.in_force(ctx)
    if active is None:
        raise BadInput("no policy is in force: the register is rated on the pack's scales")
    return active


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        (field, message), rest = problems[0], problems[1:4]
        if rest:
            message += " (also: " + "; ".join(f"{f}: {m}" for f, m in rest) + ")"
        # The message names the field and value; ``fields`` lets the CLI name its flag.
        raise BadInput(message, fields=[field.split("[")[0]])


def _check_owner(ctx: Context, owner: str | None) -> list[tuple[str, str]]:
    if owner is None:
        return []
    user = ctx.session.scalar(select(User).where(User.name == owner))
    if user is None or user.disabled:
        return [("owner", f"owner {owner!r} is not an active Charter user")]
    return []


def content(risk: Risk) -> dict[str, Any]:
    """The risk's fields as a revision stores them (and the audit event carries)."""
    return {
        "system": risk.system.name,
        "template": risk.template,
        **{field: getattr(risk, field) for field in CHANGEABLE},
        "inherent_rating": risk.inherent_rating,
        "residual_rating": risk.residual_rating,
        "rated_by": risk.rated_by,
        "policy_version": risk.policy_version,
        "reviewed_at": None if risk.reviewed_at is None else risk.reviewed_at.isoformat(),
        "reviewed_by": risk.reviewed_by,
        "accepted_at": None if risk.accepted_at is None else risk.accepted_at.isoformat(),
        "accepted_by": risk.accepted_by,
    }


def _record(ctx: Context, risk: Risk, change: str, note: str = "") -> None:
    """A new revision of ``risk`` and its audit event."""
    ctx.session.flush()
    snapshot = content(risk)
    ctx.session.add(
        RiskRevision(
            risk_id=risk.id,
            version=risk.version,
            change=change,
            note=note,
            content=snapshot,
            at=ctx.now(),
            actor=ctx.actor.name,
        )
    )
    ctx.session.flush()
    audit.record(
        ctx,
        f"risk.{change}",
        "risk",
        str(risk.id),
        {"version": risk.version, "note": note, "risk": snapshot},
    )


def find_risk(ctx: Context, system_name: str, risk_id: int) -> Risk:
    """Risk ``risk_id`` of the system, or NotFound."""
    system = find_system(ctx, system_name)
    risk = ctx.session.get(Risk, risk_id)
    if risk is None or risk.system_id != system.id:
        raise NotFound(f"system {system_name!r} has no risk #{risk_id}")
    return risk


def add_risk(
    ctx: Context, system_name: str, change: RiskChange, *, template: str | None = None
) -> Risk:
    """Add a risk to a system's register, rated on the pack's scales."""
    ctx.require(Permission.RISK_WRITE)
    system = find_system(ctx, system_name)
    version, policy = _in_force(ctx)
    given = change.given()
    values: dict[str, Any] = {
        "nist_ai_rmf": [],
        "owasp_llm": [],
        "cause": "",
        "failure_mode": "",
        "affected_population": "",
        "owner": None,
        "controls": [],
        "signals": [],
        "remediation": "",
        "status": "open",
        **given,
    }
    for field in ("title", "category", "likelihood", "impact"):
        if values.get(field) is None:
            raise BadInput(f"a risk needs a {field}", fields=[field])
    values.setdefault("residual_likelihood", values["likelihood"])
    values.setdefault("residual_impact", values["impact"])
    _refuse(
        request_problems(policy, system.tier, values, MONITORS) + _check_owner(ctx, values["owner"])
    )
    now = ctx.now()
    risk = Risk(
        system_id=system.id,
        version=1,
        template=template,
        **{field: values[field] for field in CHANGEABLE},
        inherent_rating=policy.risk.rating(values["likelihood"], values["impact"]),
        residual_rating=policy.risk.rating(
            values["residual_likelihood"], values["residual_impact"]
        ),
        rated_by=ctx.actor.name,
        policy_version=version.version,
        reviewed_at=None,
        reviewed_by=None,
        review_note="",
        accepted_at=None,
        accepted_by=None,
        acceptance_note="",
        created_at=now,
        created_by=ctx.actor.name,
        updated_at=now,
        updated_by=ctx.actor.name,
    )
    risk.title = risk.title.strip()
    ctx.session.add(risk)
    ctx.session.flush()
    _record(ctx, risk, "seeded" if template else "created")
    return risk


def update_risk(
    ctx: Context, system_name: str, risk_id: int, change: RiskChange, *, note: str = ""
) -> Risk:
    """Change a risk: a new version. A changed rating, owner or mitigation clears the
    acceptance of the residual rating (what was accepted is no longer what stands)."""
    ctx.require(Permission.RISK_WRITE)
    risk = find_risk(ctx, system_name, risk_id)
    version, policy = _in_force(ctx)
    given = change.given()
    if not given:
        raise BadInput("nothing to change: give at least one field")
    values = {field: getattr(risk, field) for field in CHANGEABLE} | given
    problems = request_problems(policy, risk.system.tier, values, MONITORS)
    if "owner" in given:
        problems += _check_owner(ctx, given["owner"])
    _refuse(problems)
    changed = {field for field, value in given.items() if getattr(risk, field) != value}
    if not changed:
        raise Conflict(f"risk #{risk_id} already says that: nothing changed")
    for field in changed:
        setattr(risk, field, values[field])
    if changed & {"likelihood", "impact", "residual_likelihood", "residual_impact"}:
        risk.inherent_rating = policy.risk.rating(risk.likelihood, risk.impact)
        risk.residual_rating = policy.risk.rating(risk.residual_likelihood, risk.residual_impact)
        risk.rated_by = ctx.actor.name
        risk.policy_version = version.version
    if changed & RESETS_ACCEPTANCE:
        risk.accepted_at, risk.accepted_by, risk.acceptance_note = None, None, ""
    risk.version += 1
    risk.updated_at, risk.updated_by = ctx.now(), ctx.actor.name
    _record(ctx, risk, "updated", note or "changed: " + ", ".join(sorted(changed)))
    return risk


def _roles_problem(ctx: Context, roles: list[str], what: str) -> None:
    if ctx.actor.role.value not in roles:
        raise Forbidden(
            f"role {ctx.actor.role.value!r} may not {what} (policy: {', '.join(sorted(roles))})"
        )


def review_risk(ctx: Context, system_name: str, risk_id: int, *, note: str) -> Risk:
    """Record that the actor reviewed the risk now (the gate reads the date and the person)."""
    ctx.require(Permission.RISK_REVIEW)
    risk = find_risk(ctx, system_name, risk_id)
    _, policy = _in_force(ctx)
    _roles_problem(ctx, policy.risk.reviewer_roles, "review risks")
    if not note.strip():
        raise BadInput("a review needs a note saying what was looked at", location="note")
    if risk.status != "open":
        raise Conflict(f"risk #{risk_id} is {risk.status}: reopen it to review it")
    risk.reviewed_at, risk.reviewed_by, risk.review_note = ctx.now(), ctx.actor.name, note.strip()
    risk.version += 1
    risk.updated_at, risk.updated_by = ctx.now(), ctx.actor.name
    _record(ctx, risk, "reviewed", note.strip())
    return risk


def accept_risk(ctx: Context, system_name: str, risk_id: int, *, note: str) -> Risk:
    """Accept the risk's residual rating as it stands, as a decision of the actor's.

    With the pack's ``risk.acceptance.independent`` (the default), the risk's owner and
    the person who set its current ratings may not accept it.
    """
    ctx.require(Permission.RISK_ACCEPT)
    risk = find_risk(ctx, system_name, risk_id)
    _, policy = _in_force(ctx)
    acceptance = policy.risk.acceptance
    _roles_problem(ctx, acceptance.roles, "accept residual risk")
    if acceptance.independent:
        if risk.owner == ctx.actor.name:
            raise Forbidden("separation of duties: you own this risk, so you cannot accept it")
        if risk.rated_by == ctx.actor.name:
            raise Forbidden(
                "separation of duties: you set this risk's ratings, so you cannot accept them"
            )
    if not note.strip():
        raise BadInput("an acceptance needs a note giving the reason", location="note")
    if risk.status != "open":
        raise Conflict(f"risk #{risk_id} is {risk.status}: nothing to accept")
    if risk.accepted_by is not None:
        raise Conflict(
            f"risk #{risk_id}'s residual rating was already accepted by {risk.accepted_by}"
        )
    risk.accepted_at, risk.accepted_by = ctx.now(), ctx.actor.name
    risk.acceptance_note = note.strip()
    risk.version += 1
    risk.updated_at, risk.updated_by = ctx.now(), ctx.actor.name
    _record(ctx, risk, "accepted", note.strip())
    return risk


def seed_register(ctx: Context, system_name: str) -> list[Risk]:
    """Add the pack's template risks for the system's tier and intake answers (each
    template once per system; templates already seeded are skipped)."""
    from charter.domain.policy.cel import CelEvaluationError, cel_evaluate_bool
    from charter.domain.policy.intake import normalize_answers

    ctx.require(Permission.RISK_WRITE)
    system = find_system(ctx, system_name)
    _, policy = _in_force(ctx)
    seeded = set(
        ctx.session.scalars(
            select(Risk.template).where(Risk.system_id == system.id, Risk.template.is_not(None))
        )
    )
    answers: dict[str, Any] | None = None
    added = []
    for template in policy.risk.templates:
        if system.tier not in template.tiers or template.id in seeded:
            continue
        if template.when is not None:
            if answers is None:
                answers = normalize_answers(policy, system.intake or {})
            try:
                matched = cel_evaluate_bool(template.when, answers)
            except CelEvaluationError as exc:
                raise BadInput(
                    f"template {template.id!r} failed: {exc}", location="risk.templates"
                ) from None
            if not matched:
                continue
        fields = template.model_dump(exclude={"id", "tiers", "when"})
        added.append(add_risk(ctx, system_name, RiskChange(**fields), template=template.id))
    return added


def list_risks(ctx: Context, system_name: str, *, status: str | None = None) -> list[Risk]:
    """The system's risks, highest residual rating first, then by id."""
    ctx.require(Permission.RISK_READ)
    system = find_system(ctx, system_name)
    query = select(Risk).where(Risk.system_id == system.id)
    if status is not None:
        if status not in ("open", "closed"):
            raise BadInput("status must be open or closed", location="status")
        query = query.where(Risk.status == status)
    rows = list(ctx.session.scalars(query.order_by(Risk.id)))
    active = policies.in_force(ctx)
    if active is not None:
        rank = active[1].risk.rank
        rows.sort(key=lambda r: (-rank(r.residual_rating), r.id))
    return rows


def get_risk(ctx: Context, system_name: str, risk_id: int) -> Risk:
    """One risk."""
    ctx.require(Permission.RISK_READ)
    return find_risk(ctx, system_name, risk_id)


def history(ctx: Context, risk: Risk) -> list[dict[str, Any]]:
    """Every version of the risk, oldest first."""
    rows = ctx.session.scalars(
        select(RiskRevision).where(RiskRevision.risk_id == risk.id).order_by(RiskRevision.version)
    )
    return [
        {
            "version": r.version,
            "change": r.change,
            "note": r.note,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "content": r.content,
        }
        for r in rows
    ]


def realised_incidents(ctx: Context, system_id: int) -> dict[int, list[dict[str, Any]]]:
    """Risk id -> the incidents linked to it as having realised it."""
    from charter.store.runtime_models import Incident

    found: dict[int, list[dict[str, Any]]] = {}
    for incident in ctx.session.scalars(
        select(Incident).where(Incident.system_id == system_id).order_by(Incident.id)
    ):
        for risk_id in (incident.links or {}).get("risks", []):
            found.setdefault(int(risk_id), []).append(
                {
                    "id": incident.id,
                    "title": incident.title,
                    "severity": incident.severity,
                    "status": incident.status,
                    "environment": incident.environment,
                    "detected_at": incident.detected_at.isoformat(),
                }
            )
    return found


def link_incident(ctx: Context, incident_id: int, risk_id: int, *, note: str = "") -> Risk:
    """Record that an incident realised a risk of the same system (shown on the register)."""
    from charter.services import incidents

    # Incident handlers link incidents (every role that may also holds RISK_WRITE).
    ctx.require(Permission.ALERT_MANAGE)
    ctx.require(Permission.RISK_WRITE)
    incident = incidents.find_incident(ctx, incident_id)
    risk = find_risk(ctx, incident.system.name, risk_id)
    if risk_id in (incident.links or {}).get("risks", []):
        raise Conflict(f"incident #{incident_id} is already linked to risk #{risk_id}")
    incidents.link(ctx, incident, "risks", risk_id)
    ctx.session.add(incident)
    text = note.strip() or f"realised risk #{risk_id}: {risk.title}"
    incidents.record_event(ctx, incident, "linked", text, risk_id=risk_id)
    audit.record(
        ctx,
        "incident.risk_linked",
        "incident",
        str(incident.id),
        {"risk_id": risk_id, "system": incident.system.name, "note": text},
    )
    return risk


def register_facts(ctx: Context, system: System, policy: Policy) -> RegisterFacts:
    """The system's register as a gate (and the assessment) reads it."""
    risks = list(ctx.session.scalars(select(Risk).where(Risk.system_id == system.id)))
    owners = {r.owner for r in risks if r.owner}
    active = (
        set(
            ctx.session.scalars(
                select(User.name).where(User.name.in_(owners), User.disabled.is_(False))
            )
        )
        if owners
        else set()
    )
    section = policy.risk
    return RegisterFacts(
        risks=tuple(
            RiskFact(
                id=r.id,
                title=r.title,
                status=r.status,
                owner=r.owner,
                owner_active=r.owner in active,
                controls=tuple(r.controls or ()),
                signals=tuple(r.signals or ()),
                residual_rating=r.residual_rating,
                reviewed_at=r.reviewed_at,
                reviewed_by=r.reviewed_by,
                accepted_by=r.accepted_by,
            )
            for r in risks
        ),
        review_days=section.review_days_for(system.tier),
        ratings=tuple(b.id for b in sorted(section.ratings, key=lambda b: b.min_score)),
        acceptance_from=section.acceptance.required_from,
        tier_controls=frozenset(c.id for c in policy.controls if system.tier in c.tiers),
        register_controls=frozenset(c.id for c in policy.controls if c.kind in JUDGES_THE_REGISTER),
    )


def risk_view(
    ctx: Context,
    risk: Risk,
    *,
    with_history: bool = False,
    register: RegisterFacts | None = None,
    incidents: dict[int, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The public shape of a risk: its fields, labels, gaps, realised incidents."""
    active = policies.in_force(ctx)
    policy = None if active is None else active[1]
    if register is None and policy is not None:
        register = register_facts(ctx, risk.system, policy)
    fact = next((f for f in register.risks if f.id == risk.id), None) if register else None
    found = (
        gaps(register, fact, now=ctx.now(), monitors=None)
        if register is not None and fact is not None and risk.status == "open"
        else []
    )
    review_due = None
    if register is not None and risk.reviewed_at is not None:
        from datetime import timedelta

        review_due = (risk.reviewed_at + timedelta(days=register.review_days)).date().isoformat()

    def label(which: str, value: int) -> str:
        return policy.risk.label(which, value) if policy is not None else str(value)

    if incidents is None:
        incidents = realised_incidents(ctx, risk.system_id)
    view: dict[str, Any] = {
        "id": risk.id,
        "system": risk.system.name,
        "version": risk.version,
        "template": risk.template,
        **{field: getattr(risk, field) for field in CHANGEABLE},
        "likelihood_label": label("likelihood", risk.likelihood),
        "impact_label": label("impact", risk.impact),
        "inherent_score": risk.likelihood * risk.impact,
        "inherent_rating": risk.inherent_rating,
        "residual_likelihood_label": label("likelihood", risk.residual_likelihood),
        "residual_impact_label": label("impact", risk.residual_impact),
        "residual_score": risk.residual_likelihood * risk.residual_impact,
        "residual_rating": risk.residual_rating,
        "rated_by": risk.rated_by,
        "policy_version": risk.policy_version,
        "reviewed_at": None if risk.reviewed_at is None else risk.reviewed_at.isoformat(),
        "reviewed_by": risk.reviewed_by,
        "review_note": risk.review_note,
        "review_due": review_due,
        "accepted_at": None if risk.accepted_at is None else risk.accepted_at.isoformat(),
        "accepted_by": risk.accepted_by,
        "acceptance_note": risk.acceptance_note,
        "gaps": found,
        "realised_incidents": incidents.get(risk.id, []),
        "created_at": risk.created_at.isoformat(),
        "created_by": risk.created_by,
        "updated_at": risk.updated_at.isoformat(),
        "updated_by": risk.updated_by,
    }
    if with_history:
        view["history"] = history(ctx, risk)
    return view


def register_view(ctx: Context, system_name: str, *, status: str | None = None) -> dict[str, Any]:
    """Every risk of the system (highest residual first), with gaps and incidents."""
    rows = list_risks(ctx, system_name, status=status)
    system = find_system(ctx, system_name)
    active = policies.in_force(ctx)
    register = None if active is None else register_facts(ctx, system, active[1])
    incidents = realised_incidents(ctx, system.id)
    return {
        "system": system_name,
        "tier": system.tier,
        "review_days": None if register is None else register.review_days,
        "items": [risk_view(ctx, r, register=register, incidents=incidents) for r in rows],
    }


def portfolio_risks(ctx: Context, *, system_name: str | None = None) -> list[dict[str, Any]]:
    """Every open risk of every system (or of one), highest residual rating first, in one
    query: what the console's portfolio register lists (gaps are per system, on its page)."""
    ctx.require(Permission.RISK_READ)
    query = select(Risk, System.name).join(System, Risk.system_id == System.id)
    query = query.where(Risk.status == "open")
    if system_name:
        query = query.where(System.name == system_name)
    active = policies.in_force(ctx)
    rank = active[1].risk.rank if active is not None else (lambda _rating: 0)
    found: list[tuple[Risk, str]] = [
        (risk, name) for risk, name in ctx.session.execute(query.order_by(System.name, Risk.id))
    ]
    found.sort(key=lambda row: -rank(row[0].residual_rating))  # stable: name, id within
    return [
        {
            "id": risk.id,
            "system": name,
            "title": risk.title,
            "category": risk.category,
            "inherent_rating": risk.inherent_rating,
            "residual_rating": risk.residual_rating,
            "owner": risk.owner,
            "reviewed_at": risk.reviewed_at,
            "accepted_by": risk.accepted_by,
            "signals": list(risk.signals),
            "controls": list(risk.controls),
        }
        for risk, name in found
    ]
