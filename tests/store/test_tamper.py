"""Tampering with audit rows through raw SQL is caught by `audit verify`, on the real database."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from charter.services import audit, systems


@pytest.fixture
def populated(act):  # type: ignore[no-untyped-def]
    """Five more events on top of the user-creation events."""
    with act("developer") as ctx:
        for i in range(5):
            systems.register_system(ctx, f"system-{i}", owner="team")
    return act


def _verify(act, anchor=None):
    with act("auditor", write=False) as ctx:
        return audit.verify(ctx, anchor=anchor)


def _sql(charter, statement: str, **params) -> None:
    with charter.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_untouched_chain_is_ok(populated) -> None:
    report = _verify(populated)
    assert report.ok
    assert report.events >= 12


def test_changed_payload(populated, charter) -> None:
    _sql(charter, "UPDATE audit_events SET payload = :p WHERE seq = 9", p='{"owner":"mallory"}')
    report = _verify(populated)
    assert not report.ok
    assert report.broken_seq == 9
    assert "changed" in report.reason


def test_changed_actor(populated, charter) -> None:
    _sql(charter, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 8")
    assert _verify(populated).broken_seq == 8


def test_deleted_row(populated, charter) -> None:
    _sql(charter, "DELETE FROM audit_events WHERE seq = 10")
    report = _verify(populated)
    assert report.broken_seq == 11
    assert "deleted" in report.reason


def test_deleted_tail_is_caught_by_the_anchor(populated, charter) -> None:
    with populated("auditor", write=False) as ctx:
        anchor = audit.current_head(ctx)
    _sql(charter, "DELETE FROM audit_events WHERE seq = :s", s=anchor[0])
    assert _verify(populated).ok  # a truncated chain is internally consistent...
    report = _verify(populated, anchor=anchor)
    assert not report.ok  # ...but not with the head anchored outside the database
    assert "truncated" in report.reason


def test_inserted_row(populated, charter) -> None:
    # Make room at seq 6 by shifting later rows up (two steps to dodge the PK), then forge one.
    _sql(charter, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 6")
    _sql(charter, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
    _sql(
        charter,
        "INSERT INTO audit_events (seq, at, actor, action, entity_type, entity_id, payload, prev_hash, hash) "
        "SELECT 6, at, 'mallory', 'user.created', 'user', 'mallory', '{}', hash, :h FROM audit_events WHERE seq = 5",
        h="e" * 64,
    )
    report = _verify(populated)
    assert not report.ok
    assert report.broken_seq == 6


def test_reordered_rows(populated, charter) -> None:
    _sql(charter, "UPDATE audit_events SET seq = -1 WHERE seq = 8")
    _sql(charter, "UPDATE audit_events SET seq = 8 WHERE seq = 9")
    _sql(charter, "UPDATE audit_events SET seq = 9 WHERE seq = -1")
    report = _verify(populated)
    assert not report.ok
    assert report.broken_seq == 8
