"""Verifying an evidence pack's records against the audit events that recorded them.

Every governed record in a pack (decisions, evidence, gate runs, releases, exceptions, the
system) must agree with the payload of the audit event written when it was made: a row
edited in the database afterwards, even by someone who left the audit chain intact, is
named with the fields that differ. Releases must also hash to their digests, and
evidence results to theirs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from charter.domain.canonical import content_digest
from charter.domain.evidence_pack import PackReport, json_member, sha256_hex


def _payloads(events: Mapping[int, dict[str, Any]]) -> list[tuple[int, dict[str, Any], Any]]:
    out = []
    for seq, event in sorted(events.items()):
        try:
            out.append((seq, event, json.loads(event["payload"])))
        except ValueError:
            continue
    return out


def _same_time(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return datetime.fromisoformat(str(a)) == datetime.fromisoformat(str(b))
    except ValueError:
        return str(a) == str(b)


def _differs(
    report: PackReport, what: str, seq: int, row: Mapping[str, Any], payload: Any, fields: Any
) -> None:
    changed = []
    for row_field, event_field in fields:
        left, right = row.get(row_field), payload.get(event_field)
        same = _same_time(left, right) if row_field.endswith("_at") else left == right
        if not same:
            changed.append(row_field)
    if changed:
        report.problems.append(
            f"{what} differs from its audit event {seq} in {', '.join(changed)}: "
            "the record was changed after it was audited"
        )


def check_records(
    members: Mapping[str, bytes], events: Mapping[int, dict[str, Any]], report: PackReport
) -> None:
    """Every governed record in the pack must agree with the audit event that recorded it."""
    audited = _payloads(events)
    by_key: dict[tuple[str, Any], tuple[int, Any]] = {}
    for seq, event, payload in audited:
        action = event["action"]
        if action.startswith("decision."):
            by_key[("decision", payload.get("decision_id"))] = (seq, payload)
        elif action == "evidence.recorded":
            by_key[("evidence", payload.get("evidence_id"))] = (seq, payload)
        elif action == "gate.run":
            by_key[("gate", payload.get("gate_run_id"))] = (seq, payload)
        elif action == "release.created":
            by_key[("release", payload.get("digest"))] = (seq, payload)
        elif action == "exception.requested":
            by_key[("exception", event["entity_id"])] = (seq, payload)
    checks: list[tuple[str, str, str, Any]] = [
        (
            "records/decisions.json",
            "decision",
            "id",
            (
                ("verdict", "verdict"),
                ("use_case", "use_case"),
                ("population", "population"),
                ("environments", "environments"),
                ("contract", "contract"),
                ("fallback", "fallback"),
                ("expires_at", "expires_at"),
                ("conditions", "conditions"),
                ("note", "note"),
                ("policy_version", "policy_version"),
            ),
        ),
        (
            "records/evidence.json",
            "evidence",
            "id",
            (
                ("digest", "digest"),
                ("suite", "suite"),
                ("suite_version", "suite_version"),
                ("dataset_sha256", "dataset_sha256"),
                ("passed", "passed"),
            ),
        ),
        (
            "records/gate_runs.json",
            "gate",
            "id",
            (
                ("environment", "environment"),
                ("policy_version", "policy_version"),
                ("passed", "passed"),
            ),
        ),
        ("records/releases.json", "release", "digest", (("digest", "digest"),)),
        (
            "records/exceptions.json",
            "exception",
            "id",
            (
                ("control_id", "control"),
                ("environment", "environment"),
                ("justification", "justification"),
                ("compensating", "compensating"),
                ("policy_version", "policy_version"),
            ),
        ),
    ]
    for member, kind, key_field, fields in checks:
        rows = json_member(members, member, report)
        if rows is None:
            continue
        for row in rows:
            ident = row.get(key_field)
            lookup = str(ident) if kind == "exception" else ident
            what = f"{member}: {kind} {ident}"
            if (kind, lookup) not in by_key:
                report.problems.append(
                    f"{what} has no audit event: it was not recorded through Charter"
                )
                continue
            seq, payload = by_key[(kind, lookup)]
            _differs(report, what, seq, row, payload, fields)
            if kind == "release" and sha256_hex(str(row.get("manifest", "")).encode()) != ident:
                report.problems.append(f"{what}: its manifest does not hash to its digest")
            if kind == "evidence" and not _result_matches(row):
                report.problems.append(f"{what}: its result does not hash to its digest")
    system = json_member(members, "records/system.json", report)
    if isinstance(system, dict):
        _check_system(system, audited, report)


def _result_matches(row: Mapping[str, Any]) -> bool:
    try:
        return content_digest(json.loads(row["result"])) == row.get("digest")
    except (KeyError, TypeError, ValueError):
        return False


def _check_system(system: Mapping[str, Any], audited: list[Any], report: PackReport) -> None:
    expected: dict[str, Any] = {}
    seq = None
    for event_seq, event, payload in audited:
        if event["entity_type"] != "system" or event["entity_id"] != system.get("name"):
            continue
        if event["action"] == "system.registered":
            expected.update({k: payload.get(k) for k in ("owner", "purpose", "population", "tier")})
            expected["status"] = "proposed"
        elif event["action"] == "system.intake_updated":
            # A re-assessment may also set owner, purpose or population, which its event
            # does not carry: from here on only the tier can be compared.
            for name in ("owner", "purpose", "population"):
                expected.pop(name, None)
            expected["tier"] = payload.get("to_tier")
        elif event["action"] == "system.status_changed":
            expected["status"] = payload.get("to")
        else:
            continue
        seq = event_seq
    if seq is None:
        report.problems.append("records/system.json: the system has no audit event")
        return
    _differs(
        report,
        "records/system.json",
        seq,
        system,
        expected,
        [(k, k) for k in expected],
    )
