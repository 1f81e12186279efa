"""Operations on policy packs: apply, show, list, diff."""

from __future__ import annotations

from charter.services import policies
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import Page, PolicyDiffView, PolicyVersionView


@operation("policy.apply", write=True)
def apply_policy(ctx: Context, source: str, name: str = "policy.yaml") -> PolicyVersionView:
    """Validate a pack and apply it as a new version (an invalid pack changes nothing)."""
    version, created = policies.apply_policy(ctx, source.encode("utf-8"), name)
    return PolicyVersionView.of(version, created=created)


@operation("policy.show", write=False)
def show_policy(ctx: Context, version: int | None = None) -> PolicyVersionView:
    """A version (default: the one in force), with its source."""
    return PolicyVersionView.of(policies.get_version(ctx, version), with_source=True)


@operation("policy.list", write=False)
def list_policies(ctx: Context, limit: int = 50, offset: int = 0) -> Page[PolicyVersionView]:
    """Applied versions, newest first."""
    rows, total = policies.list_versions(ctx, limit=limit, offset=offset)
    return Page(
        items=[PolicyVersionView.of(v) for v in rows], total=total, limit=limit, offset=offset
    )


@operation("policy.diff", write=False)
def diff_policy(
    ctx: Context, old: int | None = None, new: int | None = None, candidate: str | None = None
) -> PolicyDiffView:
    """Changes between two versions (default: the last two), or against a candidate pack."""
    encoded = candidate.encode("utf-8") if candidate is not None else None
    return PolicyDiffView.model_validate(policies.diff(ctx, old, new, candidate=encoded))
