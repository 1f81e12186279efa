"""Users and API tokens. Tokens are random, shown once, and stored only as SHA-256 hashes."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charter.domain.errors import Conflict, NotFound, Unauthenticated
from charter.domain.roles import Permission, Role, parse_role
from charter.domain.text import check_slug, iso_utc
from charter.domain.tokens import hash_token as hash_token
from charter.domain.tokens import token_is_live
from charter.services import audit
from charter.services.context import Actor, Context
from charter.store.models import ApiToken, User

TOKEN_PREFIX = "chtr_"  # noqa: S105 - a public prefix, not a secret
#: The actor name audit events carry when Charter itself acts (bootstrap, migrations).
SYSTEM_ACTOR = "charter"


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _issue(session: Session, user: User, now: datetime) -> str:
    token = _new_token()
    session.add(
        ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:12], created_at=now)
    )
    return token


def authenticate(session: Session, token: str | None) -> Actor:
    """Return the actor owning ``token`` or raise Unauthenticated."""
    if not token:
        raise Unauthenticated(
            "no API token: set CHARTER_TOKEN, or run `charter init` to create a local admin"
        )
    row = session.execute(
        select(User.id, User.name, User.role, User.disabled, ApiToken.revoked_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None or not token_is_live(row.disabled, row.revoked_at):
        raise Unauthenticated("the API token is not valid")
    return Actor(id=row.id, name=row.name, role=Role(row.role))


def has_users(session: Session) -> bool:
    """True once any user exists (i.e. the database has been initialised)."""
    return bool(session.scalar(select(func.count()).select_from(User)))


def bootstrap_admin(session: Session, name: str, now: datetime) -> tuple[User, str]:
    """Create the first admin of an empty installation and return it with its token."""
    check_slug(name, "user name")
    if has_users(session):
        raise Conflict("Charter is already initialised: ask an admin for a token")
    user = User(name=name, role=Role.ADMIN.value, created_at=now, disabled=False)
    session.add(user)
    session.flush()
    token = _issue(session, user, now)
    audit.append(
        session,
        actor=SYSTEM_ACTOR,
        at=iso_utc(now),
        action="user.created",
        entity_type="user",
        entity_id=name,
        payload={"name": name, "role": Role.ADMIN.value, "bootstrap": True},
    )
    return user, token


def create_user(ctx: Context, name: str, role: str) -> tuple[User, str]:
    """Create a user with a role and return it with its (only) plaintext token."""
    ctx.require(Permission.USER_MANAGE)
    check_slug(name, "user name")
    parsed = parse_role(role)
    if ctx.session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"user {name!r} already exists")
    user = User(
        name=name,
        role=parsed.value,
        created_at=ctx.now(),
        disabled=False,
        created_by=ctx.actor.name,
        role_granted_by=ctx.actor.name,
        role_granted_at=ctx.now(),
    )
    ctx.session.add(user)
    ctx.session.flush()
    token = _issue(ctx.session, user, ctx.now())
    audit.record(ctx, "user.created", "user", name, {"name": name, "user_role": parsed.value})
    return user, token


def rotate_token(ctx: Context, name: str) -> tuple[User, str]:
    """Revoke every token of a user and issue a new one."""
    ctx.require(Permission.USER_MANAGE)
    user = ctx.session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user named {name!r}")
    for old in ctx.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ):
        old.revoked_at = ctx.now()
    # Whoever rotates a token can act as the account until its owner rotates it back.
    user.token_rotated_by, user.token_rotated_at = ctx.actor.name, ctx.now()
    token = _issue(ctx.session, user, ctx.now())
    audit.record(ctx, "user.token_rotated", "user", name, {"name": name})
    return user, token


def list_users(ctx: Context, *, limit: int = 50, offset: int = 0) -> tuple[list[User], int]:
    """Return a page of users, by name, and the total count."""
    ctx.require(Permission.USER_READ)
    total = ctx.session.scalar(select(func.count()).select_from(User)) or 0
    rows = ctx.session.scalars(select(User).order_by(User.name).limit(limit).offset(offset)).all()
    return list(rows), total


def session_credentials(session: Session, user_id: int) -> tuple[Actor, tuple[str, ...]]:
    """The enabled user ``user_id`` and the hashes of their unrevoked tokens.

    A signed web session holds a fingerprint of the hash of the token it was opened with,
    never the token; the web console re-checks that fingerprint against these hashes on
    every request, so rotating the token or disabling the user ends the session. Raises
    Unauthenticated when the user is gone, disabled or holds no valid token.
    """
    rows = session.execute(
        select(User.name, User.role, User.disabled, ApiToken.token_hash)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(User.id == user_id, ApiToken.revoked_at.is_(None))
    ).all()
    if not rows or rows[0].disabled:
        raise Unauthenticated("the session has ended: sign in again")
    actor = Actor(id=user_id, name=rows[0].name, role=Role(rows[0].role))
    return actor, tuple(row.token_hash for row in rows)
