"""Migration 0006 on a database with rows: their digests are recorded, channels encrypted."""

from __future__ import annotations

from sqlalchemy import text

from charter.domain.audit import GENESIS_HASH, event_hash
from charter.domain.roles import Role
from charter.services import alerts, audit, secrets
from charter.services.context import Actor, Charter
from charter.store.db import Database
from charter.store.migrate import upgrade

URL = "https://hooks.slack.com/services/T/B/legacy"


def test_existing_rows_are_baselined_and_channels_encrypted(database_url: str, clock) -> None:
    db = Database(database_url)
    upgrade(db, "0004")
    at = "2026-11-01T00:00:00.000000Z"
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (name, role, created_at, disabled) "
                "VALUES ('old-dev', 'developer', '2026-11-01 00:00:00', :f)"
            ),
            {"f": False},
        )
        conn.execute(
            text(
                "INSERT INTO notification_channels (name, kind, url, secret, min_severity, "
                "enabled, created_at, created_by) VALUES ('legacy', 'webhook', :u, 'legacy-secret-1', "
                "'warning', :t, '2026-11-01 00:00:00', 'old-dev')"
            ),
            {"u": URL, "t": True},
        )
        fields = dict(
            seq=1,
            at=at,
            actor="charter",
            action="user.created",
            entity_type="user",
            entity_id="old-dev",
            payload='{"name":"old-dev"}',
            prev_hash=GENESIS_HASH,
        )
        conn.execute(
            text(
                "INSERT INTO audit_events (seq, at, actor, action, entity_type, entity_id, "
                "payload, prev_hash, hash) VALUES (:seq, :at, :actor, :action, :entity_type, "
                ":entity_id, :payload, :prev_hash, :hash)"
            ),
            {**fields, "hash": event_hash(**fields)},
        )
    upgrade(db)
    with db.engine.connect() as conn:
        (url, secret, digest) = conn.execute(
            text("SELECT url, secret, url_sha256 FROM notification_channels")
        ).one()
        actions = [r[0] for r in conn.execute(text("SELECT action FROM audit_events ORDER BY seq"))]
    assert url.startswith(secrets.PREFIX) and secret.startswith(secrets.PREFIX)
    assert digest == secrets.url_hash(URL)
    assert actions == ["user.created", "audit.baseline"]
    charter = Charter(db, clock=clock)
    actor = Actor(id=1, name="old-dev", role=Role.ADMIN)  # what the admin's token gives
    with charter.as_actor(actor, write=False) as ctx:
        report = audit.verify(ctx)
        assert report.ok and report.rows_checked == 1
        (channel,) = alerts.list_channels(ctx)
        assert channel["url"] == URL  # decrypted for an admin
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE users SET role = 'admin' WHERE name = 'old-dev'"))
    with charter.as_actor(actor, write=False) as ctx:
        report = audit.verify(ctx)
        assert report.chain.ok and [f.row for f in report.row_findings] == ["users/1"]
    db.dispose()
