"""Trace: from one inference id back to the approval that allowed it.

The SDK sends, beside each observation, a trace record: the release it routed to, the
routing state it saw, the digest its process attested, the guard verdicts and the record
as the guard left it (redacted). :func:`trace` joins that to the release and components,
the deployment history at that moment, the decisions in force with their approvers and
policy version, any exception in force and the attestation of the process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from charter.domain.approvals import approval_in_force
from charter.domain.errors import BadInput, NotFound, PayloadTooLarge
from charter.domain.roles import Permission
from charter.domain.text import check_slug
from charter.services.context import Context
from charter.services.systems import find_system
from charter.store.models import Decision, Deployment, PolicyException, Release, Route
from charter.store.runtime_models import Attestation, InferenceTrace

MAX_TRACES = 10_000
#: Inference ids per IN (...) lookup: below SQLite's oldest limit of 999 bound variables.
_ID_CHUNK = 900
MAX_TEXT = 2_000
_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_SERVED = ("release", "fallback", "refused", "blocked")


def _parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise BadInput("at must be an ISO 8601 time", location=where)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput("at must be an ISO 8601 time", location=where) from None
    if moment.tzinfo is None:
        raise BadInput("at needs a time zone", location=where)
    return moment


def _clip(value: Any, where: str) -> Any:
    """A JSON value with strings clipped; nesting and size bounded."""
    import json

    text = json.dumps(value, default=str)
    if len(text) > 20 * MAX_TEXT:
        raise PayloadTooLarge(f"at most {20 * MAX_TEXT} characters of JSON", location=where)
    return json.loads(text)


def _check(item: Any, i: int) -> dict[str, Any]:
    where = f"traces[{i}]"
    if not isinstance(item, dict):
        raise BadInput("every trace must be an object", location=where)
    inference_id = item.get("inference_id")
    if not isinstance(inference_id, str) or not _ID.match(inference_id):
        raise BadInput("inference_id must be 1-128 letters, digits and . _ : -", location=where)
    for key in ("release_digest", "attested_digest"):
        value = item.get(key)
        if value is not None and (not isinstance(value, str) or not _DIGEST.match(value)):
            raise BadInput(f"{key} must be 64 hex characters", location=f"{where}.{key}")
    served = item.get("served", "release")
    if served not in _SERVED:
        raise BadInput(f"served must be one of {', '.join(_SERVED)}", location=f"{where}.served")
    guard = item.get("guard") or {}
    record = item.get("record") or {}
    flags = item.get("flags") or []
    if not isinstance(guard, dict) or not isinstance(record, dict) or not isinstance(flags, list):
        raise BadInput("guard and record are objects, flags a list", location=where)
    return {
        "inference_id": inference_id,
        "release_digest": item.get("release_digest"),
        "served": served,
        "route_state": str(item.get("route_state") or "")[:16] or None,
        "process_id": str(item.get("process_id") or "")[:128] or None,
        "attested_digest": item.get("attested_digest"),
        "guard": _clip(guard, f"{where}.guard"),
        "record": _clip(record, f"{where}.record"),
        "flags": [str(f)[:200] for f in flags[:20]],
        "at": _parse_time(item.get("at"), f"{where}.at"),
    }


def record_traces(
    ctx: Context, system_name: str, environment: str, items: Sequence[Any]
) -> dict[str, Any]:
    """Store a batch of trace records; a known (system, environment, inference id) is kept."""
    ctx.require(Permission.OBSERVATION_WRITE)
    check_slug(environment, "environment")
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise BadInput("traces must be a non-empty list", location="traces")
    if len(items) > MAX_TRACES:
        raise PayloadTooLarge(f"a batch holds at most {MAX_TRACES} traces")
    checked = [_check(item, i) for i, item in enumerate(items)]
    system = find_system(ctx, system_name)
    ids = list(dict.fromkeys(c["inference_id"] for c in checked))
    known: set[str] = set()
    for start in range(0, len(ids), _ID_CHUNK):
        known.update(
            ctx.session.scalars(
                select(InferenceTrace.inference_id).where(
                    InferenceTrace.system_id == system.id,
                    InferenceTrace.environment == environment,
                    InferenceTrace.inference_id.in_(ids[start : start + _ID_CHUNK]),
                )
            )
        )
    now = ctx.now()
    rows: list[dict[str, Any]] = []
    for entry in checked:
        if entry["inference_id"] in known:
            continue
        known.add(entry["inference_id"])
        rows.append(
            {"system_id": system.id, "environment": environment, "received_at": now, **entry}
        )
    if rows:
        # One multi-row INSERT: a batch of SDK traces is thousands of rows, and ORM objects
        # cost ~1.5 ms each (inference traces are not governed rows: no digests to record).
        ctx.session.execute(insert(InferenceTrace), rows)
    return {"accepted": len(rows), "duplicates": len(checked) - len(rows)}


def _state_at(ctx: Context, system_id: int, environment: str, at: datetime) -> dict[str, Any]:
    """The deployment history up to ``at``: the last action then and the release it left."""
    last = ctx.session.scalar(
        select(Deployment)
        .where(
            Deployment.system_id == system_id,
            Deployment.environment == environment,
            Deployment.created_at <= at,
        )
        .order_by(Deployment.id.desc())
        .limit(1)
    )
    if last is None:
        return {"action": None, "note": "nothing was deployed yet"}
    state = {"deploy": "serving", "rollback": "serving", "resume": "serving", "kill": "killed"}
    # A rollout's start or end leaves the live route serving.
    state.update(canary="serving", shadow="serving", promote="serving", abort="serving")
    return {
        "action": last.action,
        "state": state.get(last.action, last.action),
        "release": last.release_id,
        "at": last.created_at.isoformat(),
        "by": last.created_by,
        "reason": last.reason,
    }


def trace(ctx: Context, inference_id: str, *, system: str | None = None) -> dict[str, Any]:
    """Everything that allowed one inference, joined from the records."""
    ctx.require(Permission.MONITOR_READ)
    query = select(InferenceTrace).where(InferenceTrace.inference_id == inference_id)
    if system is not None:
        query = query.where(InferenceTrace.system_id == find_system(ctx, system).id)
    rows = list(ctx.session.scalars(query.limit(2)))
    if not rows:
        raise NotFound(f"no trace of inference {inference_id!r}")
    if len(rows) > 1:
        raise BadInput(
            f"inference id {inference_id!r} exists in several systems: name one", location="system"
        )
    row = rows[0]
    from charter.services import approvals
    from charter.store.models import System

    system_row = ctx.session.get(System, row.system_id)
    assert system_row is not None
    release = None
    if row.release_digest:
        release = ctx.session.scalar(
            select(Release).where(
                Release.system_id == row.system_id, Release.digest == row.release_digest
            )
        )
    view: dict[str, Any] = {
        "inference_id": row.inference_id,
        "system": system_row.name,
        "environment": row.environment,
        "at": row.at.isoformat(),
        "served": row.served,
        "route_state_seen": row.route_state,
        "flags": row.flags,
        "record": row.record,
        "guard": row.guard,
        "deployment_at_time": _state_at(ctx, row.system_id, row.environment, row.at),
        "release": None,
        "decisions": [],
        "exceptions": [],
        "attestation": None,
    }
    deployment = view["deployment_at_time"]
    if deployment.get("release") is not None:
        live = ctx.session.get(Release, deployment["release"])
        deployment["release"] = f"{system_row.name}@{live.digest}" if live else None
    if release is not None:
        view["release"] = {
            "ref": f"{system_row.name}@{release.digest}",
            "label": release.label,
            "components": [
                {"kind": c.kind, "name": c.name, "digest": c.digest} for c in release.components
            ],
        }
        facts = approvals.decision_facts(approvals.release_decisions(ctx, release))
        # The approval as it stood when the inference was served, not as it stands now.
        state = approval_in_force(
            facts,
            environment=row.environment,
            now=row.at,
            requirements=approvals.requirements_for(ctx, system_row.tier, row.environment),
        )
        counted = set(state.counted)
        decisions = ctx.session.scalars(
            select(Decision).where(Decision.release_id == release.id).order_by(Decision.id)
        )
        view["approval_at_time"] = {"state": state.state, "approvers": list(state.approvers)}
        view["decisions"] = [
            {
                "id": d.id,
                "verdict": d.verdict,
                "approver": d.actor.name,
                "role": d.actor_role,
                "policy_version": d.policy_version,
                "environments": d.environments,
                "expires_at": d.expires_at.isoformat() if d.expires_at else None,
                "fallback": d.fallback,
                "counted": d.id in counted,
                "at": d.created_at.isoformat(),
            }
            for d in decisions
            if d.created_at <= row.at
        ]
        view["exceptions"] = [
            {
                "id": e.id,
                "control_id": e.control_id,
                "decided_by": e.decided_by,
                "expires_at": e.expires_at.isoformat(),
                "policy_version": e.policy_version,
            }
            for e in ctx.session.scalars(
                select(PolicyException).where(
                    PolicyException.release_id == release.id,
                    PolicyException.status == "approved",
                )
            )
            if (e.decided_at is None or e.decided_at <= row.at) and e.expires_at >= row.at
        ]
    if row.process_id:
        attested = ctx.session.scalar(
            select(Attestation)
            .where(
                Attestation.system_id == row.system_id,
                Attestation.environment == row.environment,
                Attestation.process_id == row.process_id,
                Attestation.first_seen_at <= row.at,
            )
            .order_by(Attestation.first_seen_at.desc())
            .limit(1)
        )
        if attested is not None:
            view["attestation"] = {
                "process_id": attested.process_id,
                "digest": attested.digest,
                "approved": attested.approved,
                "matches_served_release": attested.digest == row.release_digest,
                "reason": attested.reason,
            }
    route = ctx.session.scalar(
        select(Route).where(Route.system_id == row.system_id, Route.environment == row.environment)
    )
    view["route_now"] = route.state if route else None
    return view
