"""reference summary: the columns and baseline of a reference profile, readable without numpy

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for references set before this revision: readers compute it from the profile.
    with op.batch_alter_table("monitor_references") as batch:
        batch.add_column(sa.Column("summary", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitor_references") as batch:
        batch.drop_column("summary")
