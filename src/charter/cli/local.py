"""The local backend: the service layer's operations in-process, on the configured database."""

from __future__ import annotations

from typing import Any

from charter.cli.backend import JSON
from charter.settings import Settings


class LocalBackend:
    """Runs each operation in one transaction on the local database, as the CLI's token."""

    def __init__(self, settings: Settings) -> None:
        from charter.services.context import Charter
        from charter.store.db import Database
        from charter.store.migrate import ensure_current

        self.db = Database(settings.database_url)
        ensure_current(self.db)
        self.charter = Charter(self.db)
        self.token = settings.token

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()

    def call(self, operation: str, **arguments: Any) -> JSON:
        """Perform the named operation and return its view as JSON-ready data."""
        from charter.services.operations import find

        found = find(operation)
        with self.charter.act(self.token, write=found.write) as ctx:
            view = found.function(ctx, **arguments)
            # Rendered inside the transaction: views may read lazy relationships.
            data: JSON = view.model_dump(mode="json", by_alias=True)
            return data
