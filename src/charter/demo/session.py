"""The demo's installation: a fresh SQLite home, a clock it can move, its users, progress.

The portfolio is built as if over the last few weeks: the clock starts in the past and
moves forward as the story goes (the car-loan stream is replayed one day per window), so
approvals, exceptions and alerts carry the dates they would have. It ends at the real
time, so what the console shows next is live.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from charter.domain.errors import BadInput
from charter.services.context import Actor, Charter
from charter.store.db import Database

#: Marks a home the demo built, so `charter demo` never wipes someone's real installation.
MARKER = ".charter-demo"
#: The demo's people: login name -> role (one per duty a model-risk function has).
USERS: dict[str, str] = {
    "dana": "developer",
    "devi": "developer",
    "rita": "risk_engineer",
    "avery": "approver",
    "blake": "approver",
    "casey": "approver",
    "audrey": "auditor",
    "serving": "service",
}
#: How far in the past the story starts.
STORY_DAYS = 21


class DemoClock:
    """A clock the demo moves forward; never runs backwards, never passes the real time."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``, stopping at the real time."""
        self._now = min(self._now + timedelta(**delta), datetime.now(UTC))
        return self._now

    def catch_up(self) -> datetime:
        """Jump to the real time (the end of the story)."""
        self._now = datetime.now(UTC)
        return self._now


@dataclass
class Progress:
    """Prints one line per step with its time, so a user sees where the minutes go."""

    quiet: bool = False
    timings: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """Time one step of the build and print it when done."""
        started = time.perf_counter()
        live = not self.quiet and sys.stdout.isatty()
        if live:
            print(f"  … {title}", end="", flush=True)
        yield
        elapsed = time.perf_counter() - started
        self.timings.append((title, elapsed))
        if not self.quiet:
            print(f"{chr(13) if live else ''}  ✓ {title} ({elapsed:.1f} s)", flush=True)


class DemoSession:
    """The demo's database, clock and users; :meth:`call` performs a named operation."""

    def __init__(self, home: Path, *, progress: Progress) -> None:
        self.home = home
        self.work = home / "work"
        self.progress = progress
        self.clock = DemoClock(datetime.now(UTC) - timedelta(days=STORY_DAYS))
        self.db = Database(f"sqlite:///{home / 'charter.db'}")
        self.charter = Charter(self.db, clock=self.clock)
        self.tokens: dict[str, str] = {}
        self.actors: dict[str, Actor] = {}

    @classmethod
    def fresh(cls, home: Path, *, progress: Progress, force: bool = False) -> DemoSession:
        """Empty ``home`` (only when the demo made it, or ``force``) and set Charter up in it."""
        home = home.expanduser().resolve()
        if home.exists() and any(home.iterdir()):
            if not (home / MARKER).is_file() and not force:
                raise BadInput(
                    f"{home} holds something the demo did not create: choose another "
                    "home (--home) or pass --force to replace it"
                )
            shutil.rmtree(home)
        home.mkdir(parents=True, mode=0o700)
        (home / MARKER).write_text("built by `charter demo`; safe to delete\n", encoding="utf-8")
        session = cls(home, progress=progress)
        session.work.mkdir()
        session._initialise()
        return session

    def _initialise(self) -> None:
        from charter.services.setup import initialise
        from charter.services.users import authenticate

        done = initialise(self.db, admin="admin", token=None)
        assert done.token is not None
        self.tokens["admin"] = done.token
        for name, role in USERS.items():
            self.tokens[name] = self.call("admin", "user.create", name=name, role=role)["token"]
        with self.db.transaction(write=False) as session:
            for name, token in self.tokens.items():
                self.actors[name] = authenticate(session, token)

    def call(self, user: str, operation: str, **arguments: Any) -> Any:
        """Perform the named operation as ``user`` and return its view as JSON-ready data."""
        from charter.services.operations import find

        found = find(operation)
        with self.charter.act(self.tokens[user], write=found.write) as ctx:
            view = found.function(ctx, **arguments)
            return view.model_dump(mode="json", by_alias=True)

    def write_config(self) -> None:
        """Point the CLI at this home as the admin, so `CHARTER_HOME=... charter ...` works."""
        from charter.settings import write_config

        write_config(self.home, {"token": self.tokens["admin"]})

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()
