"""Ingesting profiles instead of rows: a profiles document (from ``charter.spark``) folded
into the hour buckets exactly as ingesting its rows would have folded them.

A document is one transaction, validated in full before anything is written: the
release must exist, the document must be built on the release's current reference, and
every bucket must parse against it. A batch id seen before for the system returns the
first outcome with ``duplicate``. Rows that arrive as profiles leave no raw sample and no
inference-id index, so labels for them cannot arrive later: join them on the cluster
(``profile_frame(..., labels=...)``) before profiling.

Not wired to an operation, route or CLI command yet; see docs/spark.md ("Submitting").
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from charter.domain.errors import BadInput
from charter.domain.roles import Permission
from charter.domain.text import check_slug
from charter.monitoring import WindowProfile, merge_windows, signal_counts
from charter.services.context import Context
from charter.services.references import current_reference, parse_reference
from charter.services.systems import find_system
from charter.spark.buckets import read_document
from charter.store.models import Release
from charter.store.monitoring_models import MonitorBucket, ObservationBatch

KIND = "profiles"


def _fold(text: str | None, addition: WindowProfile, reference: Any) -> str:
    if text:
        addition = merge_windows(WindowProfile.from_dict(json.loads(text), reference), addition)
    return json.dumps(addition.to_dict(), separators=(",", ":"))


def ingest_profiles(
    ctx: Context,
    system_name: str,
    environment: str,
    batch_id: str,
    document: dict[str, Any],
) -> dict[str, Any]:
    """Fold a profiles document into the release's hour buckets in ``environment``."""
    ctx.require(Permission.OBSERVATION_WRITE)
    check_slug(environment, "environment")
    if not isinstance(batch_id, str) or not 1 <= len(batch_id) <= 128:
        raise BadInput("batch_id must be 1-128 characters", location="batch_id")
    system = find_system(ctx, system_name)
    seen = ctx.session.scalar(
        select(ObservationBatch).where(
            ObservationBatch.system_id == system.id,
            ObservationBatch.kind == KIND,
            ObservationBatch.batch_id == batch_id,
        )
    )
    if seen is not None:
        return {**seen.summary, "duplicate": True}
    digest = str(document.get("release") or "").removeprefix("sha256:").lower()
    release = ctx.session.scalar(
        select(Release).where(Release.system_id == system.id, Release.digest == digest)
    )
    if release is None:
        raise BadInput(f"unknown release digest {digest!r} for system {system.name!r}")
    row = current_reference(ctx, release)
    if row is None:
        raise BadInput(f"release {system.name}@{digest[:12]} has no reference profile")
    reference = parse_reference(row.profile)
    buckets = read_document(document, reference)  # validates everything before writing
    now = ctx.now()
    rows = 0
    for start, bucket in buckets.items():
        stored = ctx.session.scalar(
            select(MonitorBucket).where(
                MonitorBucket.release_id == release.id,
                MonitorBucket.environment == environment,
                MonitorBucket.bucket_start == start,
            )
        )
        if stored is None:
            stored = MonitorBucket(
                release_id=release.id,
                environment=environment,
                bucket_start=start,
                reference_digest=reference.digest,
                rows=0,
                profile="",
                labels_profile=None,
                labelled=0,
                signals=signal_counts.empty_signals(),
                updated_at=now,
            )
            ctx.session.add(stored)
        elif stored.reference_digest != reference.digest and stored.profile:
            # As in row ingestion: a bucket on an older reference restarts on the new one.
            stored.profile, stored.labels_profile, stored.labelled, stored.rows = "", None, 0, 0
            stored.signals = signal_counts.empty_signals()
        stored.reference_digest = reference.digest
        stored.profile = _fold(stored.profile, bucket.profile, reference)
        if bucket.labels is not None:
            stored.labels_profile = _fold(stored.labels_profile, bucket.labels, reference)
        stored.rows += bucket.rows
        stored.labelled += bucket.labelled
        stored.signals = signal_counts.merge_signals(stored.signals, bucket.signals)
        stored.updated_at = now
        rows += bucket.rows
    summary = {
        "batch_id": batch_id,
        "system": system.name,
        "environment": environment,
        "release": release.digest,
        "buckets": len(buckets),
        "accepted": rows,
        "duplicate": False,
    }
    ctx.session.add(
        ObservationBatch(
            system_id=system.id,
            kind=KIND,
            batch_id=batch_id,
            environment=environment,
            rows=rows,
            summary=summary,
            received_at=now,
            received_by=ctx.actor.name,
        )
    )
    ctx.session.flush()
    return summary
