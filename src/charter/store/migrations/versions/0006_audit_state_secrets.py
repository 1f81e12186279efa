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

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


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
    from charter.services.row_hashes import record_baseline

    record_baseline(bind, "row digests of existing rows (migration 0006)")


def downgrade() -> None:
    with op.batch_alter_table("notification_channels") as batch:
        batch.drop_column("url_sha256")
