"""audit state and secrets: row digests for existing rows, channel URLs and secrets encrypted

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 13:00:00

Existing governed rows get their digests recorded in the audit chain by one
``audit.baseline`` event per 5,000 rows (actor ``charter``), so ``audit verify`` can check
them from now on. Existing channel URLs and secrets are encrypted with the secrets key
(``CHARTER_SECRETS_KEY`` or ``$CHARTER_HOME/secrets.key``) and the URL's hash is kept.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

_BASELINE_CHUNK = 5_000


def upgrade() -> None:
    with op.batch_alter_table("notification_channels") as batch:
        batch.add_column(sa.Column("url_sha256", sa.String(64), nullable=True))
    bind = op.get_bind()
    _encrypt_channels(bind)
    _baseline(bind)


def _encrypt_channels(bind: sa.Connection) -> None:
    from charter.services import secrets

    rows = bind.execute(sa.text("SELECT id, url, secret FROM notification_channels")).all()
    for row_id, url, secret in rows:
        if url is not None and url.startswith(secrets.PREFIX):
            continue
        bind.execute(
            sa.text(
                "UPDATE notification_channels SET url = :url, secret = :secret, "
                "url_sha256 = :digest WHERE id = :id"
            ),
            {
                "url": secrets.seal(url),
                "secret": secrets.seal(secret),
                "digest": secrets.url_hash(url or ""),
                "id": row_id,
            },
        )


def _baseline(bind: sa.Connection) -> None:
    from charter.domain.audit import GENESIS_HASH, event_hash
    from charter.domain.canonical import canonical_json
    from charter.domain.row_hashes import GOVERNED_TABLES
    from charter.domain.text import iso_utc
    from charter.services.row_hashes import ROWS_KEY, digests

    inspector = sa.inspect(bind)
    found: dict[str, str] = {}
    for name in GOVERNED_TABLES:
        columns = [column["name"] for column in inspector.get_columns(name)]
        found.update(digests(bind, name, columns=columns))
    if not found:
        return
    head = bind.execute(
        sa.text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    ).first()
    seq, prev = (0, GENESIS_HASH) if head is None else (int(head[0]), str(head[1]))
    at = iso_utc(datetime.now(UTC))
    keys = list(found)
    for start in range(0, len(keys), _BASELINE_CHUNK):
        chunk = {key: found[key] for key in keys[start : start + _BASELINE_CHUNK]}
        seq += 1
        payload = canonical_json(
            {"reason": "row digests of existing rows (migration 0006)", ROWS_KEY: chunk}
        )
        fields = {
            "seq": seq,
            "at": at,
            "actor": "charter",
            "action": "audit.baseline",
            "entity_type": "audit",
            "entity_id": "baseline",
            "payload": payload,
            "prev_hash": prev,
        }
        digest = event_hash(**fields)  # type: ignore[arg-type]
        bind.execute(
            sa.text(
                "INSERT INTO audit_events (seq, at, actor, action, entity_type, entity_id, "
                "payload, prev_hash, hash) VALUES (:seq, :at, :actor, :action, :entity_type, "
                ":entity_id, :payload, :prev_hash, :hash)"
            ),
            {**fields, "hash": digest},
        )
        prev = digest


def downgrade() -> None:
    with op.batch_alter_table("notification_channels") as batch:
        batch.drop_column("url_sha256")
