"""Releases: immutable, content-addressed configurations of a system."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from charter.domain.errors import BadInput, Conflict, NotFound
from charter.domain.releases import (
    ReleaseManifest,
    ReleaseRef,
    component_digest,
    parse_ref,
    resolve_manifest,
)
from charter.domain.roles import Permission
from charter.services import audit, contracts
from charter.services.context import Context
from charter.services.systems import find_system
from charter.store.models import Component, Release


def create_release(
    ctx: Context, system_name: str, manifest: ReleaseManifest, *, base_dir: Path | None
) -> tuple[Release, bool]:
    """Store a release and return it with ``created``; identical content returns the existing one.

    Re-submitting the same content is not an error (CI re-runs are common) and writes
    nothing: the digest names the content, and the first creator stays its creator.
    """
    ctx.require(Permission.RELEASE_CREATE)
    system = find_system(ctx, system_name)
    if system.status == "retired":
        raise BadInput(f"system {system_name!r} is retired: it takes no new releases")
    resolved = resolve_manifest(manifest, system=system_name, base_dir=base_dir)
    existing = ctx.session.scalar(
        select(Release).where(Release.system_id == system.id, Release.digest == resolved.digest)
    )
    if existing is not None:
        return existing, False
    # A contract naming an unknown metric or a malformed bound is refused here, not at the
    # first evaluation or gate.
    contracts.validate(resolved.document.get("contract") or None, location="contract")
    release = Release(
        system_id=system.id,
        digest=resolved.digest,
        manifest=resolved.canonical,
        label=resolved.label,
        description=resolved.description,
        created_at=ctx.now(),
        created_by_id=ctx.actor.id,
    )
    ctx.session.add(release)
    ctx.session.flush()
    for position, spec in enumerate(resolved.components):
        ctx.session.add(
            Component(
                release_id=release.id,
                position=position,
                kind=spec["kind"],
                name=spec["name"],
                digest=component_digest(spec),
                spec=spec,
            )
        )
    ctx.session.flush()
    ctx.session.refresh(release)
    audit.record(
        ctx,
        "release.created",
        "release",
        f"{system_name}@{resolved.digest}",
        {
            "digest": resolved.digest,
            "label": resolved.label,
            "components": [
                {"kind": c["kind"], "name": c["name"], "digest": component_digest(c)}
                for c in resolved.components
            ],
        },
    )
    return release, True


def find_release(ctx: Context, ref: ReleaseRef | str) -> Release:
    """Resolve ``SYSTEM@DIGEST`` (or a unique prefix) without a permission check."""
    parsed = parse_ref(ref) if isinstance(ref, str) else ref
    system = find_system(ctx, parsed.system)
    matches = ctx.session.scalars(
        select(Release)
        .where(Release.system_id == system.id, Release.digest.startswith(parsed.digest_prefix))
        .limit(2)
    ).all()
    if not matches:
        raise NotFound(f"no release {parsed} of system {parsed.system!r}")
    if len(matches) > 1:
        raise Conflict(f"digest prefix {parsed.digest_prefix!r} is ambiguous: give more characters")
    return matches[0]


def get_release(ctx: Context, ref: ReleaseRef | str) -> Release:
    """Return the release ``SYSTEM@DIGEST`` refers to."""
    ctx.require(Permission.RELEASE_READ)
    return find_release(ctx, ref)


def list_releases(
    ctx: Context, system_name: str, *, limit: int = 50, offset: int = 0
) -> tuple[list[Release], int]:
    """Return a page of a system's releases, newest first, and the total count."""
    ctx.require(Permission.RELEASE_READ)
    system = find_system(ctx, system_name)
    where = Release.system_id == system.id
    total = ctx.session.scalar(select(func.count()).select_from(Release).where(where)) or 0
    rows = ctx.session.scalars(
        select(Release).where(where).order_by(Release.id.desc()).limit(limit).offset(offset)
    )
    return list(rows.all()), total
