"""``charter evidence export``: a self-contained, verifiable archive of a system's records.

The pack holds the cards, every governed record of the system (with the full results and
provenance of its evidence), monitoring summaries per window, the policy versions in
force, the system's audit events with the links that tie them into the chain up to its
head, the newest signed checkpoint when one is given, and an index mapping the contents
to EU AI Act Annex IV sections and NIST AI RMF subcategories that says which have no
evidence. :mod:`charter.domain.evidence_pack` writes and verifies the archive.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from charter.domain.errors import BadInput
from charter.domain.roles import Permission
from charter.services import audit_extract, cards, dossier, policies
from charter.services.context import Context
from charter.services.dossier import Absent, Period, Row
from charter.services.systems import find_system
from charter.store.models import EvidenceExport

#: EU AI Act Annex IV, the technical documentation of a high-risk system, by point.
ANNEX_IV = {
    "1": "A general description of the AI system",
    "2": "A detailed description of the elements of the AI system and of its development",
    "3": "Detailed information about the monitoring, functioning and control of the system",
    "4": "A description of the appropriateness of the performance metrics",
    "5": "A detailed description of the risk management system (Art. 9)",
    "6": "A description of relevant changes made through the lifecycle",
    "7": "A list of the harmonised standards applied",
    "8": "A copy of the EU declaration of conformity",
    "9": "The system to evaluate performance in the post-market phase (Art. 72)",
}
#: Which pack members evidence each Annex IV point (docs/evidence-packs.md explains why).
ANNEX_IV_MEMBERS = {
    "1": ("records/system.json", "cards/system-card.json"),
    "2": ("records/releases.json", "records/evidence.json", "records/references.json"),
    "3": ("records/decisions.json", "records/routes.json", "records/deployments.json"),
    "4": ("records/evidence.json", "records/decisions.json"),
    "5": ("records/gate_runs.json", "records/exceptions.json", "records/policies.json"),
    "6": ("records/releases.json", "records/deployments.json", "audit/events.jsonl"),
    "7": (),
    "8": (),
    "9": ("monitoring/windows.jsonl", "records/alerts.json", "records/incidents.json"),
}
_ANNEX = re.compile(r"Annex IV\((\d+)\)")


def _dump(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False, default=str).encode()


def _lines(rows: list[Any]) -> bytes:
    return b"".join(
        json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        for r in rows
    )


def parse_period(start: str | None, end: str | None) -> Period:
    """``--from``/``--to`` dates (or datetimes) as a period; ``--to`` is inclusive of its day."""
    from datetime import UTC, datetime, timedelta

    def parse(value: str, what: str) -> datetime:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BadInput(f"invalid {what} {value!r}: expected a date like 2026-10-01") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    begin = parse(start, "--from") if start else None
    finish = parse(end, "--to") if end else None
    if finish is not None and end is not None and len(end) == 10:
        finish += timedelta(days=1)
    if begin and finish and finish <= begin:
        raise BadInput("--to must be after --from")
    return Period(begin, finish)


def build_pack(
    ctx: Context,
    system_name: str,
    release_digest: str | None = None,
    start: str | None = None,
    end: str | None = None,
    checkpoint: str | None = None,
) -> tuple[dict[str, bytes], Row]:
    """The members of the system's pack and its manifest header (nothing written yet).

    ``checkpoint`` is the newest line of the checkpoint sink (which lives outside the
    database); without one, a checkpoint table is used when this installation has one.
    """
    ctx.require(Permission.AUDIT_READ)  # first: the audit trail is what a pack adds
    cards.require_read(ctx)
    period = parse_period(start, end)
    system = find_system(ctx, system_name)
    release = cards.choose_release(ctx, system, release_digest) if release_digest else None
    card = cards.card_of(ctx, system, release or cards.choose_release(ctx, system, None))
    from charter.documents.card import render_card

    incidents = dossier.incidents(ctx, system)
    drills = dossier.drills(ctx, system)
    records: dict[str, Any] = {
        "system": dossier.system_section(system),
        "releases": [
            r for r in dossier.releases(ctx, system) if not release or r["id"] == release.id
        ],
        "decisions": dossier.decisions(ctx, system, release, period),
        "evidence": dossier.evidence(ctx, system, release, period),
        "gate_runs": dossier.gate_runs(ctx, system, release, period),
        "exceptions": dossier.exceptions(ctx, system, release, period),
        "deployments": dossier.deployments(ctx, system, period),
        "routes": dossier.routes(ctx, system),
        "alerts": dossier.alerts(ctx, system, period),
        "references": [
            {k: v for k, v in r.items() if k != "profile"} for r in dossier.references(ctx, system)
        ],
        "incidents": cards.absent_or(incidents),
        "drills": cards.absent_or(drills),
    }
    versions = {d["policy_version"] for d in records["decisions"] if d["policy_version"]}
    versions |= {g["policy_version"] for g in records["gate_runs"]}
    versions |= {x["policy_version"] for x in records["exceptions"]}
    current = policies.current_version(ctx.session)
    if current is not None:
        versions.add(current.version)
    records["policies"] = dossier.policy_versions(ctx, versions)
    windows = dossier.window_lines(ctx, system, period)
    events, links = audit_extract.audit_rows(ctx, system)
    found = _checkpoint(ctx, checkpoint)
    seq = None if isinstance(found, Absent) else found.get("seq")
    if links and isinstance(seq, int) and seq < links[0][0]:
        # Links start early enough for the checkpoint's event to be among them.
        links = audit_extract.chain_links(ctx, max(seq, 1))
    from charter.services.audit import head

    head_seq, head_hash = head(ctx.session)
    members: dict[str, bytes] = {
        "cards/system-card.json": _dump(card),
        "cards/system-card.md": render_card(card, "md"),
        "cards/system-card.html": render_card(card, "html"),
        **{f"records/{name}.json": _dump(value) for name, value in records.items()},
        "monitoring/windows.jsonl": windows,
        "audit/events.jsonl": _lines(events),
        "audit/links.jsonl": _lines(links),
        "audit/head.json": _dump({"seq": head_seq, "hash": head_hash}),
    }
    if not isinstance(found, Absent):
        members["audit/checkpoint.json"] = _dump(found)
    absent = [
        reason
        for reason in (
            incidents.reason if isinstance(incidents, Absent) else None,
            drills.reason if isinstance(drills, Absent) else None,
            found.reason if isinstance(found, Absent) else None,
        )
        if reason
    ]
    members["index.json"] = _dump(index(records, windows, events, card, absent))
    header = {
        "system": system.name,
        "release": release.digest if release else None,
        "period": {"from": dossier.iso(period.start), "to": dossier.iso(period.end)},
        "exported_at": dossier.iso(ctx.now()),
        "exported_by": ctx.actor.name,
        "audit_head": {"seq": head_seq, "hash": head_hash},
        "absent": absent,
    }
    return members, header


def _checkpoint(ctx: Context, line: str | None) -> Row | Absent:
    if line:
        try:
            value = json.loads(line)
        except ValueError:
            raise BadInput("the checkpoint is not a JSON line from the checkpoint sink") from None
        if not isinstance(value, dict) or "seq" not in value or "sig" not in value:
            raise BadInput("the checkpoint lacks seq or sig: not a signed checkpoint")
        return value
    return dossier.checkpoint(ctx)


def index(
    records: dict[str, Any], windows: bytes, events: list[Row], card: Row, absent: list[str]
) -> Row:
    """Annex IV points and NIST AI RMF subcategories -> the members and controls evidencing
    them, each saying plainly whether the pack holds any evidence for it."""
    counts: dict[str, int] = {
        f"records/{name}.json": (len(value) if isinstance(value, list) else 1)
        for name, value in records.items()
        if not (isinstance(value, dict) and "absent" in value)
    }
    counts["monitoring/windows.jsonl"] = windows.count(b"\n")
    counts["audit/events.jsonl"] = len(events)
    counts["cards/system-card.json"] = 1
    controls = card["controls"]
    annex = []
    for point, title in ANNEX_IV.items():
        members = [m for m in ANNEX_IV_MEMBERS[point] if counts.get(m)]
        mapped = [
            {"control": c["id"], "status": c["status"]}
            for c in controls
            if any(_annex_point(ref) == point for ref in c["maps_to"].get("eu_ai_act", []))
        ]
        passed = [m for m in mapped if m["status"] in ("pass", "waived")]
        has = bool(members) or bool(passed)
        annex.append(
            {
                "section": f"Annex IV({point})",
                "title": title,
                "members": {m: counts[m] for m in members},
                "controls": mapped,
                "evidence": has,
                "note": None
                if has
                else "no evidence in this pack: Charter does not record this"
                if not ANNEX_IV_MEMBERS[point]
                else "no evidence in this pack: the records for it are empty",
            }
        )
    nist: dict[str, list[Row]] = {}
    for c in controls:
        for ref in c["maps_to"].get("nist_ai_rmf", []):
            nist.setdefault(ref, []).append({"control": c["id"], "status": c["status"]})
    return {
        "eu_ai_act_annex_iv": annex,
        "nist_ai_rmf": [
            {
                "subcategory": ref,
                "controls": found,
                "evidence": any(f["status"] in ("pass", "waived") for f in found),
            }
            for ref, found in sorted(nist.items())
        ],
        "without_evidence": [a["section"] for a in annex if not a["evidence"]]
        + [
            ref
            for ref, found in sorted(nist.items())
            if not any(f["status"] in ("pass", "waived") for f in found)
        ],
        "absent": absent,
        "note": "Mappings say which clause a record helps evidence; they are not a claim of "
        "legal compliance.",
    }


def _annex_point(reference: str) -> str | None:
    match = _ANNEX.search(reference)
    return match.group(1) if match else None


def export_pack(
    ctx: Context,
    system_name: str,
    release_digest: str | None = None,
    start: str | None = None,
    end: str | None = None,
    checkpoint: str | None = None,
) -> tuple[dict[str, bytes], Row, str]:
    """Build the pack, log the export (its turnaround is a KPI); members, header, manifest
    SHA-256."""
    from charter.domain.evidence_pack import manifest_of, sha256_hex

    began = time.perf_counter()
    started = ctx.now()
    members, header = build_pack(ctx, system_name, release_digest, start, end, checkpoint)
    digest = sha256_hex(manifest_of(members, header))
    system = find_system(ctx, system_name)
    elapsed = time.perf_counter() - began
    from datetime import timedelta

    ctx.session.add(
        EvidenceExport(
            system_id=system.id,
            release_digest=header["release"],
            manifest_sha256=digest,
            members=len(members),
            started_at=started,
            finished_at=max(ctx.now(), started + timedelta(seconds=elapsed)),
            created_by=ctx.actor.name,
        )
    )
    ctx.session.flush()
    return members, header, digest
