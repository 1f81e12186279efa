"""System cards, model cards and datasheets: views of the live records, stamped "as of".

A card is plain data (``charter.card/1``) built from the records each time it is read;
:mod:`charter.documents.render` turns it into Markdown, HTML or PDF. Nothing on a card is
typed in by hand: what the records do not hold is listed under ``missing`` rather than
left blank or guessed. Snapshots are stored when the card's content changes (its digest
leaves out the "as of" stamp), so ``charter card --history`` shows every version an
auditor could have seen.
"""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import select

from charter.domain.canonical import canonical_json, content_digest
from charter.domain.errors import NotFound
from charter.domain.roles import Permission
from charter.services import dossier, policies
from charter.services.context import Actor, Charter, Context
from charter.services.dossier import Absent, Row
from charter.services.releases import find_release
from charter.services.systems import find_system
from charter.store.models import CardSnapshot, Release, Route, System

CARD_SCHEMA = "charter.card/1"
#: Windows shown as "live status" on a model card (the newest ones).
LIVE_WINDOWS = 24


def require_read(ctx: Context) -> None:
    """Cards and packs show decisions, exceptions and monitoring: every human may read them."""
    for permission in (
        Permission.SYSTEM_READ,
        Permission.DECISION_READ,
        Permission.EXCEPTION_READ,
        Permission.MONITOR_READ,
    ):
        ctx.require(permission)


def choose_release(ctx: Context, system: System, digest: str | None) -> Release | None:
    """The release a card speaks of: the one named, else what serves prod, else the newest.

    A digest of another system's release is refused (NotFound names this system).
    """
    if digest:
        return find_release(ctx, f"{system.name}@{digest.removeprefix('sha256:')}")
    routes = ctx.session.scalars(select(Route).where(Route.system_id == system.id)).all()
    for route in sorted(routes, key=lambda r: (r.environment != "prod", r.environment)):
        return route.release
    return ctx.session.scalar(
        select(Release).where(Release.system_id == system.id).order_by(Release.id.desc()).limit(1)
    )


def build_card(ctx: Context, system_name: str, release_digest: str | None = None) -> Row:
    """The system card of a system (with its model cards and datasheets), as of now."""
    require_read(ctx)
    system = find_system(ctx, system_name)
    release = choose_release(ctx, system, release_digest)
    return card_of(ctx, system, release)


def card_of(ctx: Context, system: System, release: Release | None) -> Row:
    """The card of ``system`` speaking of ``release`` (None: a system without releases)."""
    missing: list[str] = []
    manifest: dict[str, Any] = json.loads(release.manifest) if release else {}
    evidence = dossier.evidence(ctx, system, release) if release else []
    decisions = dossier.decisions(ctx, system, release) if release else []
    exceptions = dossier.exceptions(ctx, system, release) if release else []
    # Only the newest windows are shown; the span is counted in the database.
    windows = dossier.windows(ctx, system, release=release, newest=LIVE_WINDOWS) if release else []
    span = dossier.window_span(ctx, system, release) if release else None
    incidents = dossier.incidents(ctx, system)
    if release is None:
        missing.append("no release registered: no components, evidence or decisions to show")
    else:
        if not evidence:
            missing.append("no evaluation evidence recorded for this release")
        if not decisions:
            missing.append("no decision (approval or rejection) recorded for this release")
        if not windows:
            missing.append("no monitoring windows closed for this release")
    if isinstance(incidents, Absent):
        missing.append(incidents.reason)
    components = [
        {"kind": c.kind, "name": c.name, "digest": c.digest, "spec": c.spec}
        for c in (release.components if release else [])
    ]
    card: Row = {
        "schema": CARD_SCHEMA,
        "as_of": dossier.iso(ctx.now()),
        "data_window": _data_window(evidence, span),
        "system": dossier.system_section(system),
        "release": None
        if release is None
        else {
            "digest": release.digest,
            "label": release.label,
            "description": release.description,
            "created_at": dossier.iso(release.created_at),
            "created_by": release.created_by.name,
            "config": manifest.get("config", {}),
            "contract": manifest.get("contract", {}),
        },
        "components": components,
        "chain": _chain(components),
        "intended_use": _intended_use(system, decisions),
        "controls": _controls(ctx, system, release),
        "decisions": decisions,
        "exceptions": exceptions,
        "routes": dossier.routes(ctx, system),
        "incidents": incidents
        if not isinstance(incidents, Absent)
        else {"absent": incidents.reason},
        "models": [
            model_card(c, manifest, evidence, windows, decisions, exceptions, incidents)
            for c in components
            if c["kind"] in ("model", "vendor_model")
        ],
        "datasheets": [datasheet(r) for r in dossier.references(ctx, system)],
        "missing": missing,
    }
    return card


def absent_or(value: list[Row] | Absent) -> list[Row] | Row:
    """The rows, or ``{"absent": reason}`` for a section this installation lacks."""
    return {"absent": value.reason} if isinstance(value, Absent) else value


def card_digest(card: Row) -> str:
    """SHA-256 of the card without its "as of" stamp: equal digests, same content."""
    return content_digest({k: v for k, v in card.items() if k != "as_of"})


# --- sections -----------------------------------------------------------------------------


def _data_window(evidence: list[Row], span: Row | None) -> Row:
    """Over which data the card speaks: evaluations' dates and monitoring windows' span."""
    return {
        "evaluations": None
        if not evidence
        else {"first": evidence[0]["created_at"], "last": evidence[-1]["created_at"]},
        "monitoring": span,
        "datasets": sorted({e["dataset_sha256"] for e in evidence if e["dataset_sha256"]}),
    }


def _chain(components: list[Row]) -> list[str]:
    """How the components are chained, in words (the release's order is the chain's)."""
    words = {
        "prompt": "prompt template",
        "retrieval": "retrieval",
        "tool": "tool",
        "model": "model",
        "vendor_model": "vendor model",
    }
    steps = []
    for c in components:
        if c["kind"] == "dataset":
            continue
        step = f"{words.get(c['kind'], c['kind'])} {c['name']}"
        if c["kind"] == "vendor_model":
            spec = c["spec"]
            step += f" ({spec.get('provider')} {spec.get('model')}"
            step += f", snapshot {spec.get('snapshot') or 'not pinned'}"
            step += f", deprecation {spec.get('deprecation_date') or 'not declared'})"
        steps.append(step)
    return steps


def _intended_use(system: System, decisions: list[Row]) -> Row:
    approved = [d for d in decisions if d["verdict"] != "reject"]
    latest = approved[-1] if approved else None
    return {
        "purpose": system.purpose or None,
        "population": system.population or None,
        "approved_use_case": latest["use_case"] if latest else None,
        "approved_population": latest["population"] if latest else None,
        "out_of_scope": (system.intake or {}).get("out_of_scope")
        or "anything other than the approved use case and population",
    }


def _controls(ctx: Context, system: System, release: Release | None) -> list[Row]:
    """Each control the policy applies to the tier, with its state in the newest gate run."""
    active = policies.in_force(ctx)
    if active is None:
        return []
    _, policy = active
    latest: dict[str, Row] = {}
    if release is not None:
        for run in dossier.gate_runs(ctx, system, release):
            for result in run["report"].get("results", []):
                latest[result["control_id"]] = {
                    "status": result["status"],
                    "reason": result.get("reason", ""),
                    "environment": run["environment"],
                    "gate_run": run["id"],
                    "at": run["created_at"],
                }
    rows = []
    for control in policy.controls_for(system.tier):
        state = latest.get(control.id)
        rows.append(
            {
                "id": control.id,
                "kind": control.kind,
                "description": control.description,
                "environments": control.environments,
                "maps_to": control.maps_to,
                "status": state["status"] if state else "not evaluated",
                "reason": state["reason"] if state else "no gate run of this release checked it",
                "gate_run": state["gate_run"] if state else None,
                "at": state["at"] if state else None,
            }
        )
    return rows


def model_card(
    component: Row,
    manifest: dict[str, Any],
    evidence: list[Row],
    windows: list[Row],
    decisions: list[Row],
    exceptions: list[Row],
    incidents: list[Row] | Absent,
) -> Row:
    """A model component's card: data, metrics with intervals, contract, live status."""
    datasets = [
        {"name": c["name"], "role": c.get("role"), "sha256": c.get("sha256"), "uri": c.get("uri")}
        for c in manifest.get("components", [])
        if c.get("kind") == "dataset"
    ]
    evaluations = []
    calibration = None
    explanations = None
    for item in evidence:
        result = json.loads(item["result"])
        metrics = result.get("metrics") or {}
        details = result.get("details") or {}
        if details.get("calibration") and calibration is None:
            calibration = details["calibration"]
        if item["suite"] == "explainability" and isinstance(details.get("importance"), dict):
            # Evidence is oldest first: the newest explainability evidence wins.
            explanations = explanation_summary(item["id"], details)
        evaluations.append(
            {
                "evidence_id": item["id"],
                "suite": item["suite"],
                "suite_version": item["suite_version"],
                "dataset_sha256": item["dataset_sha256"],
                "passed": item["passed"],
                "at": item["created_at"],
                "overall": metrics.get("overall") or {},
                "cohorts": metrics.get("cohorts") or [],
                "bounds": item["bounds"],
                "provenance": item["provenance"],
            }
        )
    live = windows[-LIVE_WINDOWS:]
    limitations = list(manifest.get("config", {}).get("limitations", []) or [])
    for e in evaluations:
        for bound in e["bounds"]:
            if bound.get("status") == "fail":
                limitations.append(f"evaluation {e['suite']}: {bound.get('bound')} fails")
    return {
        "component": component["name"],
        "kind": component["kind"],
        "digest": component["digest"],
        "artifact": {k: component["spec"].get(k) for k in ("uri", "sha256", "framework", "version")}
        if component["kind"] == "model"
        else {k: component["spec"].get(k) for k in ("provider", "model", "snapshot")},
        "data": datasets,
        "evaluations": evaluations,
        "calibration": calibration,
        "explanations": explanations,
        "contract": manifest.get("contract", {}),
        "contract_holds": _contract_holds(evaluations, live),
        "live": [_live(w) for w in live],
        "limitations": limitations,
        "approvals": [d for d in decisions if d["verdict"] != "reject"],
        "rejections": [d for d in decisions if d["verdict"] == "reject"],
        "exceptions": exceptions,
        "incidents": incidents
        if not isinstance(incidents, Absent)
        else {"absent": incidents.reason},
    }


def explanation_summary(evidence_id: int, details: Row, *, shown: int = 5) -> Row:
    """The top drivers with their intervals, overall and per cohort group, for a card."""
    importance = details["importance"]
    k = int(importance.get("top_k") or shown)

    def drivers(ranking: list[Row]) -> list[Row]:
        return [
            {
                "feature": r.get("feature"),
                "rank": r.get("rank"),
                "importance": (r.get("importance") or {}).get("value"),
                "ci_lower": (r.get("importance") or {}).get("ci_lower"),
                "ci_upper": (r.get("importance") or {}).get("ci_upper"),
            }
            for r in (ranking or [])[:k]
        ]

    local = details.get("local") or {}
    return {
        "evidence_id": evidence_id,
        "scoring": importance.get("scoring"),
        "n_repeats": importance.get("n_repeats"),
        "interval": importance.get("interval"),
        "top_k": k,
        "top": list(importance.get("top") or []),
        "drivers": drivers(importance.get("ranking") or []),
        "cohorts": [
            {
                "name": c.get("name"),
                "groups": [
                    {
                        "key": g.get("key"),
                        "n": g.get("n"),
                        "top": list(g.get("top_k") or []),
                        "reason": g.get("reason"),
                    }
                    for g in c.get("groups") or []
                ],
            }
            for c in importance.get("cohorts") or []
        ],
        "local": {
            "method": local.get("method"),
            "output": local.get("output"),
            "explained": len(local.get("rows") or []),
        },
    }


def _contract_holds(evaluations: list[Row], live: list[Row]) -> Row:
    """Whether the contract holds now: every offline bound passes, no live bound breached."""
    offline = [b for e in evaluations for b in e["bounds"]]
    failed = [b.get("bound") for b in offline if b.get("status") == "fail"]
    newest = live[-1]["result"] if live else None
    breaches = [b for b in (newest or {}).get("breaches", []) if b.get("breached")]
    if not offline and newest is None:
        verdict: bool | None = None
        reason = "no evidence and no monitoring window: cannot tell"
    elif failed or breaches:
        verdict = False
        parts = [f"offline {b}" for b in failed] + [
            f"live {b['subject']} {b['value']} ({b['bound']})" for b in breaches
        ]
        reason = "; ".join(parts)
    else:
        verdict = True
        reason = "every offline bound passes" + (
            "; the newest window breaches nothing" if newest else "; no window judged yet"
        )
    return {"holds": verdict, "reason": reason}


def _live(window: Row) -> Row:
    result = window["result"] or {}
    signals = result.get("signals") or {}
    estimated = result.get("estimated") or {}
    return {
        "environment": window["environment"],
        "window_start": window["window_start"],
        "window_end": window["window_end"],
        "rows": window["rows"],
        "drift": (signals.get("drift") or {}).get("verdict"),
        "drifted": (signals.get("drift") or {}).get("columns", []),
        "accuracy": (signals.get("accuracy") or {}).get("realised"),
        "estimated_accuracy": estimated.get("accuracy"),
        "fairness_ratio": (result.get("fairness") or {}).get("accuracy_ratio"),
        "breaches": [b for b in result.get("breaches", []) if b.get("breached")],
    }


def datasheet(reference: Row) -> Row:
    """A datasheet for a reference data set, from its stored profile."""
    profile = json.loads(reference["profile"])
    columns = []
    for name, column in profile.get("columns", {}).items():
        ref = column.get("reference", {})
        counts = ref.get("counts", [])
        entry: Row = {"name": name, "kind": column.get("kind"), "missing": ref.get("missing", 0)}
        if column.get("kind") == "numeric":
            n = profile.get("rows", 0) - ref.get("missing", 0) - ref.get("type_errors", 0)
            total = sum(ref.get("sum", [0.0]))
            spread = sum(ref.get("sum_sq_dev", [0.0]))
            entry.update(
                {
                    "min": ref.get("min"),
                    "max": ref.get("max"),
                    "mean": total / n if n else None,
                    "std": math.sqrt(max(spread, 0.0) / (n - 1)) if n > 1 else None,
                }
            )
        else:
            categories = column.get("categories", [])
            entry["categories"] = {
                str(c): int(counts[i]) for i, c in enumerate(categories) if i < len(counts)
            }
        columns.append(entry)
    roles = profile.get("roles", {})
    return {
        "release": reference["release"],
        "profile_digest": reference["digest"],
        "dataset_sha256": reference["dataset_sha256"],
        "rows": profile.get("rows"),
        "features": profile.get("features", []),
        "roles": roles,
        "pii_columns": reference["pii"],
        "columns": columns,
        "baseline_accuracy": (reference["summary"] or {}).get("baseline_accuracy"),
        "set_at": reference["created_at"],
        "set_by": reference["created_by"],
        "current": reference["superseded_at"] is None,
    }


# --- snapshots ----------------------------------------------------------------------------


def snapshot(ctx: Context, system: System, trigger: str) -> CardSnapshot | None:
    """Store the system's current card if its content changed; the new row, else None."""
    card = card_of(ctx, system, choose_release(ctx, system, None))
    digest = card_digest(card)
    last = ctx.session.scalar(
        select(CardSnapshot.digest)
        .where(CardSnapshot.system_id == system.id)
        .order_by(CardSnapshot.id.desc())
        .limit(1)
    )
    if last == digest:
        return None
    row = CardSnapshot(
        system_id=system.id,
        release_digest=(card["release"] or {}).get("digest"),
        digest=digest,
        card=canonical_json(card),
        trigger=trigger[:64],
        created_at=ctx.now(),
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


def refresh_snapshots(ctx: Context, trigger: str = "worker") -> int:
    """Snapshot every system whose card changed (the worker calls this each pass)."""
    stored = 0
    for system in ctx.session.scalars(select(System).order_by(System.id)).all():
        if snapshot(ctx, system, trigger) is not None:
            stored += 1
    return stored


def worker_pass(charter: Charter, actor: Actor) -> int:
    """The worker's pass over the cards: store a snapshot of every card that changed since
    its last one (evidence, monitoring windows, decisions, routing). Returns how many."""
    with charter.as_actor(actor, write=True) as ctx:
        ctx.require(Permission.MONITOR_RUN)
        return refresh_snapshots(ctx, "worker")


def history(ctx: Context, system_name: str, *, limit: int = 50) -> list[Row]:
    """Stored snapshots of a system's card, newest first (without the card bodies)."""
    require_read(ctx)
    system = find_system(ctx, system_name)
    rows = ctx.session.scalars(
        select(CardSnapshot)
        .where(CardSnapshot.system_id == system.id)
        .order_by(CardSnapshot.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "digest": r.digest,
            "release": r.release_digest,
            "trigger": r.trigger,
            "created_at": dossier.iso(r.created_at),
        }
        for r in rows
    ]


def stored_card(ctx: Context, system_name: str, snapshot_id: int) -> Row:
    """One stored snapshot's card, exactly as it was stored."""
    require_read(ctx)
    system = find_system(ctx, system_name)
    row = ctx.session.get(CardSnapshot, snapshot_id)
    if row is None or row.system_id != system.id:
        raise NotFound(f"no card snapshot {snapshot_id} of system {system_name!r}")
    card: Row = json.loads(row.card)
    return card
