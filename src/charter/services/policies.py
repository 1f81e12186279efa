"""Policy packs: applying versions, reading them, and the one in force."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charter.domain.errors import BadInput, NotFound
from charter.domain.roles import Permission
from charter.services import audit
from charter.services.context import Context
from charter.store.models import PolicyVersion

if TYPE_CHECKING:
    from charter.domain.policy import Policy


@functools.lru_cache(maxsize=64)
def _parse(digest: str, source: str) -> Policy:
    """Parse a stored pack once per process: packs are immutable per version."""
    from charter.domain.policy import load_policy

    del digest  # the cache key; the source is what is parsed
    # Applying the pack compiled its CEL rules; they compile again on first evaluation.
    return load_policy(source.encode("utf-8"), "policy", check_expressions=False)


def parsed(version: PolicyVersion) -> Policy:
    """The parsed pack of a stored version (cached)."""
    return _parse(version.digest, version.source)


def default_pack() -> bytes:
    """The default policy pack shipped with Charter (``charter/policies/default.yaml``)."""
    from importlib.resources import files

    return files("charter.policies").joinpath("default.yaml").read_bytes()


def current_version(session: Session) -> PolicyVersion | None:
    """The pack in force: the newest applied version, or None before any is applied."""
    return session.scalar(select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1))


def in_force(ctx: Context) -> tuple[PolicyVersion, Policy] | None:
    """The version in force and its parsed pack, or None."""
    version = current_version(ctx.session)
    return None if version is None else (version, parsed(version))


def apply_policy(ctx: Context, data: bytes, source: str) -> tuple[PolicyVersion, bool]:
    """Validate and apply a pack as a new version; identical content is not a new version.

    An invalid pack raises BadInput naming the problem and writes nothing, so the
    version in force stays in force.
    """
    from charter.domain.policy import load_policy

    ctx.require(Permission.POLICY_MANAGE)
    policy = load_policy(data, source)
    text = data.decode("utf-8")
    current = current_version(ctx.session)
    if current is not None and current.digest == policy.digest:
        return current, False
    number = (current.version if current else 0) + 1
    version = PolicyVersion(
        version=number,
        name=policy.name,
        digest=policy.digest,
        source=text,
        created_at=ctx.now(),
        created_by=ctx.actor.name,
    )
    ctx.session.add(version)
    ctx.session.flush()
    audit.record(
        ctx,
        "policy.applied",
        "policy",
        str(number),
        {"version": number, "name": policy.name, "digest": policy.digest},
    )
    return version, True


def get_version(ctx: Context, number: int | None = None) -> PolicyVersion:
    """A stored version (default: the one in force)."""
    ctx.require(Permission.POLICY_READ)
    if number is None:
        version = current_version(ctx.session)
        if version is None:
            raise NotFound("no policy has been applied: run `charter policy apply FILE`")
        return version
    version = ctx.session.scalar(select(PolicyVersion).where(PolicyVersion.version == number))
    if version is None:
        raise NotFound(f"no policy version {number}")
    return version


def list_versions(
    ctx: Context, *, limit: int = 50, offset: int = 0
) -> tuple[list[PolicyVersion], int]:
    """Applied versions, newest first."""
    ctx.require(Permission.POLICY_READ)
    total = ctx.session.scalar(select(func.count()).select_from(PolicyVersion)) or 0
    rows = ctx.session.scalars(
        select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(limit).offset(offset)
    )
    return list(rows.all()), total


def diff(
    ctx: Context, old: int | None, new: int | None, *, candidate: bytes | None = None
) -> dict[str, object]:
    """Changes between two versions, or between the version in force and a candidate file."""
    from charter.domain.policy import load_policy

    ctx.require(Permission.POLICY_READ)
    if candidate is not None:
        base = get_version(ctx, old)
        target = load_policy(candidate, "candidate")
        return {"from": base.version, "to": "candidate", "changes": parsed(base).diff(target)}
    if new is None:
        newest = get_version(ctx)
        new = newest.version
    if old is None:
        old = new - 1
    if old < 1:
        raise BadInput("there is no earlier version to compare with")
    before, after = get_version(ctx, old), get_version(ctx, new)
    return {
        "from": before.version,
        "to": after.version,
        "changes": parsed(before).diff(parsed(after)),
    }
