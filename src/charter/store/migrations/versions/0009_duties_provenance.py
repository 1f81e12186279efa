"""separation of duties and provenance: who provisioned each account, intake proposals,
where each piece of evidence came from

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for accounts created before this revision: their provenance is unknown, and an
    # unknown provisioner is never the release's author.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("created_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("role_granted_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("role_granted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("token_rotated_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("token_rotated_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("systems") as batch:
        batch.add_column(sa.Column("intake_proposal", sa.JSON(), nullable=True))
    # Null provenance (evidence recorded before this revision) counts as submitted from
    # outside: nothing shows it was produced by Charter's runner.
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("provenance", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("reproduced_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("reproduced_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        for column in ("reproduced_at", "reproduced_by", "provenance"):
            batch.drop_column(column)
    with op.batch_alter_table("systems") as batch:
        batch.drop_column("intake_proposal")
    with op.batch_alter_table("users") as batch:
        for column in (
            "token_rotated_at",
            "token_rotated_by",
            "role_granted_at",
            "role_granted_by",
            "created_by",
        ):
            batch.drop_column(column)
