"""Operations on releases: create, list, show."""

from __future__ import annotations

from charter.domain.releases import ReleaseManifest
from charter.services import decisions, releases
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import Page, ReleaseView


@operation("release.create", write=True)
def create_release(ctx: Context, system: str, manifest: ReleaseManifest) -> ReleaseView:
    """Create a release from a manifest whose files are already resolved to content."""
    release, created = releases.create_release(ctx, system, manifest, base_dir=None)
    return ReleaseView.of(release, created=created)


@operation("release.list", write=False)
def list_releases(ctx: Context, system: str, limit: int = 50, offset: int = 0) -> Page[ReleaseView]:
    """A page of a system's releases, newest first."""
    rows, total = releases.list_releases(ctx, system, limit=limit, offset=offset)
    return Page(items=[ReleaseView.of(r) for r in rows], total=total, limit=limit, offset=offset)


@operation("release.show", write=False)
def get_release(ctx: Context, ref: str) -> ReleaseView:
    """One release with its approval state per environment."""
    release = releases.get_release(ctx, ref)
    return ReleaseView.of(release, approvals=decisions.approval_states(ctx, release))
