"""The context every service operation runs in: one transaction, one actor, one clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from charter.domain.roles import Permission, Role, require
from charter.store.db import Database

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """The user an operation acts as."""

    id: int
    name: str
    role: Role


@dataclass
class Context:
    """A transaction bound to an actor and a clock; passed to every service function."""

    session: Session
    actor: Actor
    clock: Clock = field(default=system_clock)

    def now(self) -> datetime:
        """The current time according to this context's clock."""
        return self.clock()

    def require(self, permission: Permission) -> None:
        """Raise Forbidden unless the actor's role grants ``permission``."""
        require(self.actor.role, permission)


@dataclass
class Charter:
    """The entry point adapters use: a database, a clock, and transactions acting as a user."""

    db: Database
    clock: Clock = field(default=system_clock)

    @contextmanager
    def act(self, token: str | None, *, write: bool) -> Iterator[Context]:
        """Open a transaction acting as the user who owns ``token``.

        Authentication happens inside the same transaction, so a revoked token cannot
        slip through between the check and the work.
        """
        from charter.services.users import authenticate

        with self.db.transaction(write=write) as session:
            actor = authenticate(session, token)
            yield Context(session=session, actor=actor, clock=self.clock)

    @contextmanager
    def as_actor(self, actor: Actor, *, write: bool) -> Iterator[Context]:
        """Open a transaction for an already authenticated actor (used by the HTTP API)."""
        with self.db.transaction(write=write) as session:
            yield Context(session=session, actor=actor, clock=self.clock)
