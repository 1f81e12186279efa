"""documents: stored card snapshots and the log of evidence-pack exports

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-01 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "card_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("system_id", sa.Integer(), sa.ForeignKey("systems.id"), nullable=False),
        sa.Column("release_digest", sa.String(64), nullable=True),
        # SHA-256 of the card's canonical JSON without its "as of" stamp: a new snapshot is
        # stored only when the content changed.
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_card_snapshots_system", "card_snapshots", ["system_id", "id"])
    op.create_table(
        "evidence_exports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("system_id", sa.Integer(), sa.ForeignKey("systems.id"), nullable=False),
        sa.Column("release_digest", sa.String(64), nullable=True),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("evidence_exports")
    op.drop_index("ix_card_snapshots_system", table_name="card_snapshots")
    op.drop_table("card_snapshots")
