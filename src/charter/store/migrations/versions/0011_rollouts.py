"""safe rollout: canary and shadow periods, shadow observations

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New tables only: nothing governed is back-filled, so no row baseline is needed.
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("baseline_release_id", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("gate_run_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"]),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"]),
        sa.ForeignKeyConstraint(["baseline_release_id"], ["releases.id"]),
        sa.ForeignKeyConstraint(["gate_run_id"], ["gate_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rollouts_scope", "rollouts", ["system_id", "environment", "status"])
    op.create_table(
        "shadow_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rollout_id", sa.Integer(), nullable=False),
        sa.Column("inference_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("live_prediction", sa.JSON(), nullable=True),
        sa.Column("live_score", sa.Float(), nullable=True),
        sa.Column("shadow_prediction", sa.JSON(), nullable=True),
        sa.Column("shadow_score", sa.Float(), nullable=True),
        sa.Column("shadow_error", sa.Text(), nullable=False),
        sa.Column("shadow_latency_ms", sa.Float(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rollout_id"], ["rollouts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rollout_id", "inference_id", name="uq_shadow_observation"),
    )
    op.create_index("ix_shadow_observations_time", "shadow_observations", ["rollout_id", "at"])
    op.create_table(
        "rollout_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rollout_id", sa.Integer(), nullable=False),
        sa.Column("last_window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("states", sa.JSON(), nullable=False),
        sa.Column("latest", sa.JSON(), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evaluated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["rollout_id"], ["rollouts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rollout_id"),
    )


def downgrade() -> None:
    op.drop_table("rollout_states")
    op.drop_index("ix_shadow_observations_time", "shadow_observations")
    op.drop_table("shadow_observations")
    op.drop_index("ix_rollouts_scope", "rollouts")
    op.drop_table("rollouts")
