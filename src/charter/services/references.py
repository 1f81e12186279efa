"""Reference profiles per release: set, read, summarise.

The read-model of live signals is :mod:`charter.services.signals_view`, ingestion
:mod:`charter.services.ingest`, the worker that closes windows and raises alerts
:mod:`charter.services.worker`, alerts and notifications :mod:`charter.services.alerts`.
The statistics are :mod:`charter.monitoring`'s.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from charter.domain.errors import BadInput, NotFound
from charter.domain.roles import Permission
from charter.services import audit
from charter.services.context import Context
from charter.services.releases import find_release
from charter.store.models import MonitorReference, Release

if TYPE_CHECKING:
    # The statistics stack (numpy, pandas, scipy) loads only when a profile is parsed:
    # `charter status` and /metrics read stored signals and never need it.
    from charter.monitoring import ReferenceProfile

#: Largest reference profile accepted, in bytes of JSON.
MAX_REFERENCE_BYTES = 16 * 1024 * 1024


@functools.lru_cache(maxsize=256)
def parse_reference(text: str) -> ReferenceProfile:
    """Parse a stored profile once per process (it is content-addressed, so safe to cache)."""
    from charter.monitoring import ReferenceProfile

    return ReferenceProfile.from_dict(json.loads(text))


def current_reference(ctx: Context, release: Release) -> MonitorReference | None:
    """The release's current reference row, or None."""
    return ctx.session.scalar(
        select(MonitorReference)
        .where(MonitorReference.release_id == release.id, MonitorReference.superseded_at.is_(None))
        .order_by(MonitorReference.id.desc())
        .limit(1)
    )


def set_reference(
    ctx: Context,
    ref: str,
    profile: Any,
    *,
    pii: list[str] | None = None,
    dataset_sha256: str | None = None,
) -> tuple[MonitorReference, bool]:
    """Store a reference profile (``ReferenceProfile.to_dict()``) as the release's current one.

    The profile is built where the data is (``build_reference``) and checked here by
    parsing it. Setting a different profile supersedes the current one (audited); setting
    the same one again changes nothing. Returns the row and whether it is new.
    """
    ctx.require(Permission.REFERENCE_WRITE)
    if not isinstance(profile, dict):
        raise BadInput("a reference profile must be a JSON object")
    text = json.dumps(profile, separators=(",", ":"), allow_nan=False, sort_keys=True)
    if len(text) > MAX_REFERENCE_BYTES:
        raise BadInput(f"the reference profile is larger than {MAX_REFERENCE_BYTES} bytes")
    parsed = parse_reference(text)
    pii = sorted(set(pii or []))
    unknown = [c for c in pii if c not in parsed.columns]
    if unknown:
        raise BadInput(f"pii names columns the reference does not have: {unknown}", fields=["pii"])
    release = find_release(ctx, ref)
    current = current_reference(ctx, release)
    if current is not None and current.digest == parsed.digest and list(current.pii) == pii:
        return current, False
    now = ctx.now()
    if current is not None:
        current.superseded_at = now
    row = MonitorReference(
        release_id=release.id,
        digest=parsed.digest,
        profile=text,
        pii=pii,
        dataset_sha256=dataset_sha256,
        created_at=now,
        created_by=ctx.actor.name,
        superseded_at=None,
        summary=summarise(parsed),
    )
    ctx.session.add(row)
    ctx.session.flush()
    audit.record(
        ctx,
        "monitoring.reference_set",
        "release",
        f"{release.system.name}@{release.digest}",
        {
            "reference_id": row.id,
            "digest": row.digest,
            "rows": parsed.rows,
            "features": list(parsed.features),
            "roles": {
                "prediction": parsed.prediction,
                "score": parsed.score,
                "label": parsed.label,
                "cohort": parsed.cohort,
            },
            "pii": pii,
            "dataset_sha256": dataset_sha256,
            "supersedes": None if current is None else current.digest,
        },
    )
    return row, True


def summarise(profile: ReferenceProfile) -> dict[str, Any]:
    """What readers need of a profile without parsing it: columns, roles, baseline accuracy."""
    from charter.monitoring import realised_performance

    baseline = None
    if profile.performance is not None:
        value = realised_performance(profile).metrics.get("accuracy")
        baseline = None if value is None else float(value)
    return {
        "rows": profile.rows,
        "features": list(profile.features),
        "prediction": profile.prediction,
        "score": profile.score,
        "label": profile.label,
        "cohort": profile.cohort,
        "baseline_accuracy": baseline,
    }


def reference_summary(row: MonitorReference) -> dict[str, Any]:
    """The stored summary of a reference row (computed from the profile for older rows)."""
    if row.summary is not None:
        return dict(row.summary)
    return summarise(parse_reference(row.profile))


def get_reference(ctx: Context, ref: str) -> MonitorReference:
    """The release's current reference; NotFound when none is set."""
    ctx.require(Permission.RELEASE_READ)
    release = find_release(ctx, ref)
    row = current_reference(ctx, release)
    if row is None:
        raise NotFound(f"{ref} has no reference profile: run `charter reference set`")
    return row


def reference_view(row: MonitorReference, *, with_profile: bool = False) -> dict[str, Any]:
    """The public shape of a reference row."""
    summary = reference_summary(row)
    view: dict[str, Any] = {
        "id": row.id,
        "release": f"{row.release.system.name}@{row.release.digest}",
        "digest": row.digest,
        "rows": summary["rows"],
        "features": list(summary["features"]),
        "prediction": summary["prediction"],
        "score": summary["score"],
        "label": summary["label"],
        "cohort": summary["cohort"],
        "pii": list(row.pii),
        "dataset_sha256": row.dataset_sha256,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
    }
    if with_profile:
        view["profile"] = json.loads(row.profile)
    return view
