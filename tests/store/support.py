"""Builders for the tamper catalogue: a governed installation, SQL attacks, verification."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from tests.services.support import CREDIT, approve_twice, make_release

from charter.domain.audit import GENESIS_HASH, event_hash
from charter.domain.systems import IntakeFile
from charter.services import audit, checkpoints, exceptions, gates, policies, systems

AUDIT_KEY = "tamper-catalogue-hmac-key-0123456789"


@dataclass
class Installed:
    """A populated installation and the checkpoint sink its head was signed into."""

    charter: Any
    act: Any
    ref: str
    sink: Path
    head: int


def install(charter: Any, act: Any, tmp_path: Path) -> Installed:
    """Policy, a high-tier system, a release approved twice, an approved exception and a
    gate run, all through the services; then a signed checkpoint of the head."""
    with act("admin") as ctx:
        policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
    with act("developer") as ctx:
        systems.register_system(
            ctx,
            "credit-limit",
            owner="Retail Credit Risk",
            purpose="limit increases",
            population="UK retail",
            surfaces=["web"],
            intake=IntakeFile(answers=CREDIT),
        )
    ref = make_release(act)
    approve_twice(act, ref)
    with act("developer") as ctx:
        item = exceptions.request_exception(
            ctx,
            ref,
            control_id="eval-robustness",
            justification="suite being rebuilt",
            compensating="manual review",
            expires="20d",
            environment="prod",
        )
    with act("approver") as ctx:
        exceptions.decide_exception(ctx, item.id, "approve", note="ok")
    with act("developer") as ctx:
        gates.run_gate(ctx, ref, "prod")
    sink = tmp_path / "checkpoints.jsonl"
    with act("auditor", write=False) as ctx:
        seq, digest = audit.current_head(ctx)
    key = checkpoints.signing_key()
    checkpoints.write(
        str(sink), checkpoints.sign_head(max(seq - 3, 1), _hash_at(charter, seq - 3), key)
    )
    checkpoints.write(str(sink), checkpoints.sign_head(seq, digest, key))
    return Installed(charter, act, ref, sink, seq)


def _hash_at(charter: Any, seq: int) -> str:
    with charter.db.engine.connect() as conn:
        return str(
            conn.execute(text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": seq}).scalar()
        )


def sql(charter: Any, statement: str, **params: Any) -> None:
    """Run one statement as an attacker with database access would."""
    with charter.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def rehash_from(charter: Any, start: int) -> None:
    """Recompute every event's prev_hash and hash from ``start`` on: a consistent chain."""
    with charter.db.engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT seq, at, actor, action, entity_type, entity_id, payload FROM audit_events "
                "ORDER BY seq"
            )
        ).all()
        prev = GENESIS_HASH
        for seq, at, actor, action, entity_type, entity_id, payload in rows:
            if seq >= start:
                digest = event_hash(
                    seq=seq,
                    at=at,
                    actor=actor,
                    action=action,
                    entity_type=entity_type,
                    entity_id=entity_id,
                    payload=payload,
                    prev_hash=prev,
                )
                conn.execute(
                    text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                    {"p": prev, "h": digest, "s": seq},
                )
                prev = digest
            else:
                prev = str(
                    conn.execute(
                        text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": seq}
                    ).scalar()
                )


def verify(installed: Installed, *, with_checkpoints: bool, state: bool = True) -> Any:
    """``audit verify`` as the CLI runs it, optionally against the checkpoint sink."""
    anchors = None
    problems: list[str] = []
    if with_checkpoints:
        good, problems = checkpoints.checked(str(installed.sink), checkpoints.verifying_key())
        anchors = {c.seq: c.hash for c in good}
    with installed.act("auditor", write=False) as ctx:
        report = audit.verify(ctx, anchors=anchors, state=state)
    return report, problems


def outcome(report: Any) -> str:
    """One line: OK, or what verify names first."""
    return "OK" if report.ok else f"{report.broken_seq}: {report.reason}"
