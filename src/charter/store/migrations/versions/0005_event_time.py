"""event time: batch ids per environment; buckets keep their latest event time and late rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A batch id is unique per environment: the same file logged to staging and prod is two
    # batches. Every existing row stays valid (the old key was stricter).
    with op.batch_alter_table("observation_batches") as batch:
        batch.drop_constraint("uq_observation_batch", type_="unique")
        batch.create_unique_constraint(
            "uq_observation_batch", ["system_id", "environment", "kind", "batch_id"]
        )
    # Buckets made before event time were bucketed by arrival: every row is arrival-stamped
    # (``arrival_rows = rows``) and none carried its own timestamp (``event_max`` null), so
    # the worker keeps closing them on the clock, as before.
    with op.batch_alter_table("monitor_buckets") as batch:
        batch.add_column(sa.Column("event_max", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("arrival_rows", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("late", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE monitor_buckets SET arrival_rows = rows")


def downgrade() -> None:
    with op.batch_alter_table("monitor_buckets") as batch:
        batch.drop_column("late")
        batch.drop_column("arrival_rows")
        batch.drop_column("event_max")
    with op.batch_alter_table("observation_batches") as batch:
        batch.drop_constraint("uq_observation_batch", type_="unique")
        batch.create_unique_constraint("uq_observation_batch", ["system_id", "kind", "batch_id"])
