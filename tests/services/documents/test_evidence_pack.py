"""Evidence packs: exported from a realistic history, verified offline; tampering is named."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from charter.domain.errors import BadInput, NotFound
from charter.domain.evidence_pack import (
    PackError,
    checkpoint_message,
    read_members,
    verify_pack,
    write_pack,
)
from charter.services import evidence_pack


def export(act, tmp_path: Path, system: str = "credit-limit", **kwargs) -> Path:
    with act("auditor") as ctx:
        members, header, _ = evidence_pack.export_pack(ctx, system, **kwargs)
    path = tmp_path / f"{system}.zip"
    write_pack(path, members, header)
    return path


def rewrite(path: Path, change) -> Path:
    """A copy of the pack with ``change(members)`` applied, manifest kept as it was."""
    members = read_members(path)
    change(members)
    out = path.with_name("tampered.zip")
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


def test_pack_verifies(history, act, tmp_path) -> None:
    path = export(act, tmp_path)
    report = verify_pack(path)
    assert report.ok, report.to_dict()
    members = read_members(path)
    assert {
        "manifest.json",
        "cards/system-card.json",
        "cards/system-card.html",
        "records/decisions.json",
        "records/evidence.json",
        "records/gate_runs.json",
        "records/exceptions.json",
        "records/deployments.json",
        "records/alerts.json",
        "records/policies.json",
        "monitoring/windows.jsonl",
        "audit/events.jsonl",
        "audit/links.jsonl",
        "audit/head.json",
        "index.json",
    } <= set(members)
    index = json.loads(members["index.json"])
    sections = {a["section"]: a for a in index["eu_ai_act_annex_iv"]}
    assert sections["Annex IV(1)"]["evidence"] is True
    assert sections["Annex IV(8)"]["evidence"] is False  # Charter holds no declaration
    assert "Annex IV(7)" in index["without_evidence"]
    assert (
        json.loads(members["records/incidents.json"]) == []
    )  # drills' incidents are not the system's
    assert index["nist_ai_rmf"], "subcategories from the policy pack's mapping"
    evidence = json.loads(members["records/evidence.json"])
    assert evidence[0]["provenance"]["runner"] == "charter"
    assert "checkpoint signature not checked" not in " ".join(report.warnings)
    assert any("no signed checkpoint" in w for w in report.warnings)


@pytest.mark.parametrize("member", ["records/decisions.json", "audit/events.jsonl", "index.json"])
def test_one_changed_byte_is_named(history, act, tmp_path, member) -> None:
    path = export(act, tmp_path)

    def flip(members):
        data = bytearray(members[member])
        data[len(data) // 2] ^= 0x01
        members[member] = bytes(data)

    report = verify_pack(rewrite(path, flip))
    assert not report.ok
    assert report.changed == [member]


def test_removed_and_added_members_are_named(history, act, tmp_path) -> None:
    path = export(act, tmp_path)

    def change(members):
        del members["records/exceptions.json"]
        members["records/extra.json"] = b"[]"

    report = verify_pack(rewrite(path, change))
    assert report.removed == ["records/exceptions.json"]
    assert report.added == ["records/extra.json"]


def test_edited_audit_row_before_export_is_named(history, act, charter, tmp_path) -> None:
    with charter.db.engine.begin() as conn:
        seq = conn.execute(
            text("SELECT seq FROM audit_events WHERE action = 'decision.approve' ORDER BY seq")
        ).scalar()
        conn.execute(
            text("UPDATE audit_events SET payload = :p WHERE seq = :s"),
            {"p": json.dumps({"decision_id": 1, "verdict": "approve"}), "s": seq},
        )
    report = verify_pack(export(act, tmp_path))
    assert not report.ok
    assert any(f"audit event {seq}" in p and "hash" in p for p in report.problems)


def test_edited_governed_row_before_export_is_named(history, act, charter, tmp_path) -> None:
    with charter.db.engine.begin() as conn:
        conn.execute(text("UPDATE decisions SET population = 'everyone' WHERE id = 1"))
        conn.execute(text("UPDATE evidence SET passed = :f WHERE suite = 'fairness'"), {"f": False})
    report = verify_pack(export(act, tmp_path))
    assert not report.ok
    joined = "\n".join(report.problems)
    assert "decision 1 differs from its audit event" in joined and "population" in joined
    assert "evidence" in joined and "passed" in joined


def test_signed_checkpoint(history, act, tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from charter.domain.evidence_pack import PublicKey

    private = Ed25519PrivateKey.generate()
    key = PublicKey(private.public_key().public_bytes_raw())
    with act("auditor", write=False) as ctx:
        from charter.services.audit import head

        seq, head_hash = head(ctx.session)
    fields = {
        "v": 1,
        "seq": seq,
        "hash": head_hash,
        "at": "2026-11-25T00:00:00Z",
        "alg": "ed25519",
        "key_id": key.key_id,
    }
    line = json.dumps({**fields, "sig": private.sign(checkpoint_message(fields)).hex()})
    path = export(act, tmp_path, checkpoint=line)
    report = verify_pack(path, key=key)
    assert report.ok, report.problems
    assert report.chain["checkpoint"]["signature"] == "valid"
    other = PublicKey(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    assert any("another key" in p for p in verify_pack(path, key=other).problems)
    forged = json.dumps({**fields, "hash": "f" * 64, "sig": "00" * 64})
    report = verify_pack(export(act, tmp_path, checkpoint=forged), key=key)
    assert any("rewritten" in p for p in report.problems)
    assert any("does not verify" in p for p in report.problems)


def test_period_and_release_filters(history, act, tmp_path) -> None:
    digest = history["v2"].split("@")[1]
    members = read_members(export(act, tmp_path, release_digest=digest))
    releases = json.loads(members["records/releases.json"])
    assert [r["digest"] for r in releases] == [digest]
    assert json.loads(members["records/decisions.json"]) == []
    empty = read_members(export(act, tmp_path, start="2030-01-01", end="2030-03-31"))
    assert empty["monitoring/windows.jsonl"] == b""
    with act("auditor") as ctx, pytest.raises(BadInput):
        evidence_pack.export_pack(ctx, "credit-limit", start="last tuesday")
    with act("auditor") as ctx, pytest.raises(NotFound):
        evidence_pack.export_pack(ctx, "help-desk", release_digest=digest)


def test_a_system_with_nothing_still_gets_a_pack(history, act, tmp_path) -> None:
    path = export(act, tmp_path, system="help-desk")
    report = verify_pack(path)
    assert report.ok, report.problems
    card = json.loads(read_members(path)["cards/system-card.json"])
    assert card["missing"]


def test_bad_archives_are_refused(tmp_path) -> None:
    with pytest.raises(PackError, match="zip"):
        verify_pack(b"not a zip at all")
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", b"{}" * 1000)
    with pytest.raises(PackError):
        verify_pack(good.getvalue()[:-30])  # truncated
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../outside.txt", b"x")
    with pytest.raises(PackError, match="unsafe"):
        verify_pack(evil.getvalue())
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", b"\0" * (64 * 1024 * 1024))
    with pytest.raises(PackError, match="zip bomb"):
        verify_pack(bomb.getvalue())
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("a.json", b"{}")
    with pytest.raises(PackError, match="manifest"):
        verify_pack(empty.getvalue())
