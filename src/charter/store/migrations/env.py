"""Alembic environment: migrations run on a connection handed over by ``charter.store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

# Imported for their side effect: they register the monitoring and serving-path tables.
import charter.store.monitoring_models
import charter.store.runtime_models  # noqa: F401
from charter.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations on the caller's connection, or on ``sqlalchemy.url`` when run by alembic."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
