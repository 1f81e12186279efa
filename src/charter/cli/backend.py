"""Where a CLI command's work happens: the local database, or a Charter server.

Both backends perform the same named operations (:mod:`charter.services.operations`)
and return the same JSON-ready dictionaries (the views' JSON), so every command prints
the same output either way: locally the operation runs in-process, remotely the backend
sends it to the API route that performs it.
"""

from __future__ import annotations

from typing import Any, Protocol

from charter.settings import Settings

JSON = dict[str, Any]


class Backend(Protocol):
    """Performs a named operation with its arguments and returns the view's JSON."""

    def call(self, operation: str, **arguments: Any) -> JSON:
        """Perform ``operation`` (a name in ``charter.services.operations.OPERATIONS``)."""
        ...

    def close(self) -> None:
        """Release connections (the CLI exits right after, tests call it)."""
        ...


def open_backend(settings: Settings) -> Backend:
    """The server backend when a server URL is configured, else the local database."""
    if settings.server_url:
        from charter.cli.remote import RemoteBackend

        return RemoteBackend(settings)
    from charter.cli.local import LocalBackend

    return LocalBackend(settings)
