"""Setting Charter up on a database: migrate, create the first admin, apply the default pack.

``charter init`` is a thin command over :func:`initialise`; so is the demo, and tests use
it to build a fresh installation the way a user does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from charter.domain.errors import CharterError
from charter.services.context import Actor, Charter, system_clock
from charter.store.db import Database


@dataclass(frozen=True)
class Initialised:
    """What :func:`initialise` did."""

    revision: str
    #: The first admin and its token; None when the database was initialised already.
    admin: str | None
    token: str | None
    #: The default policy version applied now, if one was.
    policy_version: int | None
    #: When already initialised: who the given token belongs to.
    existing: Actor | None = None


def initialise(
    db: Database, *, admin: str = "admin", apply_default_policy: bool = True, token: str | None
) -> Initialised:
    """Upgrade the schema; on an empty installation create ``admin`` and apply the default pack.

    An installation that has users already is left as it is: with a valid ``token`` the
    result names its holder, without one this is refused (ask an admin for a token).
    """
    from charter.services import policies
    from charter.services.users import authenticate, bootstrap_admin, has_users
    from charter.store.migrate import upgrade

    revision = upgrade(db)
    with db.transaction(write=True) as session:
        if has_users(session):
            if token:
                actor = authenticate(session, token)
                return Initialised(revision, None, None, None, existing=actor)
            raise CharterError("Charter is already initialised here: ask an admin for a token")
        user, new_token = bootstrap_admin(session, admin, system_clock())
    applied = None
    if apply_default_policy:
        with Charter(db).act(new_token, write=True) as ctx:
            if policies.current_version(ctx.session) is None:
                version, _ = policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
                applied = version.version
    return Initialised(revision, user.name, new_token, applied)


def prepare_home(home: Path, database_url: str) -> list[Path]:
    """Make ``home`` private (0700), pre-create a SQLite database file 0600 (with its WAL
    and shared-memory files), and create the audit and secrets keys (0600) unless they
    exist. Returns the key files. ``charter init`` calls this before opening the database.
    """
    from charter.services import checkpoints, secrets
    from charter.store.db import normalise_url

    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    url = normalise_url(database_url)
    if url.startswith("sqlite:///") and url not in ("sqlite:///:memory:",):
        path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        path.parent.mkdir(parents=True, exist_ok=True)
        for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if candidate == path or candidate.exists():
                os.close(os.open(candidate, os.O_RDWR | os.O_CREAT, 0o600))
                os.chmod(candidate, 0o600)
    return [checkpoints.create_key(home), secrets.create_key(home)]
