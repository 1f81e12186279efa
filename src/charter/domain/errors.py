"""The errors every layer speaks.

Services raise these; the CLI maps them to exit codes (2 for all of them, with a one-line
reason on stderr) and the HTTP API to RFC 9457 problem details with the status below.
"""

from __future__ import annotations

from collections.abc import Sequence


class CharterError(Exception):
    """Base class: an operation was refused for a reason the caller can act on."""

    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(
        self, detail: str, *, location: str | None = None, fields: Sequence[str] = ()
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.location = location
        #: Request fields the error is about, by their API names (``use_case``); adapters
        #: translate them (the CLI names its flags), the message itself names no flag.
        self.fields = tuple(fields)

    def __str__(self) -> str:
        if self.location:
            return f"{self.location}: {self.detail}"
        return self.detail


class BadInput(CharterError):
    """The input is malformed, of the wrong type, out of range or otherwise unusable."""

    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class NotFound(CharterError):
    """A named thing (system, release, user...) does not exist."""

    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(CharterError):
    """The operation clashes with existing state (duplicate name, ambiguous prefix...)."""

    status = 409
    title = "Conflict"
    slug = "conflict"


class Unauthenticated(CharterError):
    """No valid credentials were presented."""

    status = 401
    title = "Unauthenticated"
    slug = "unauthenticated"


class Forbidden(CharterError):
    """The actor's role, or a rule such as separation of duties, refuses the operation."""

    status = 403
    title = "Forbidden"
    slug = "forbidden"


class PayloadTooLarge(CharterError):
    """The input exceeds a documented size limit."""

    status = 413
    title = "Payload too large"
    slug = "payload-too-large"
