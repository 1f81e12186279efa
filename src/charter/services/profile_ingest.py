"""Ingesting profiles instead of rows: a profiles document (from ``charter.spark``) folded
into the hour buckets exactly as ingesting its rows would have folded them.

A document is one transaction, validated in full before anything is written: the
release must exist, the document must be built on the release's current reference, and
every bucket must parse against it. A batch id seen before for the system and
environment returns the first outcome with ``duplicate``. Rows that arrive as profiles
leave no raw sample and no inference-id index, so labels for them cannot arrive later:
join them on the cluster (``profile_frame(..., labels=...)``) before profiling.

Event time is honoured as for rows: a bucket's ``event_max`` moves the route's watermark
(a document without it counts the bucket's start, which never closes a window early),
and an hour before the route's last judged window end counts as late, so the worker
revises that window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from charter.domain.errors import BadInput, PayloadTooLarge
from charter.domain.roles import Permission
from charter.monitoring import signal_counts
from charter.services.context import Context
from charter.services.environments import check_environment
from charter.services.ingest.buckets import fold, load_buckets, new_bucket, record_batch, seen_batch
from charter.services.ingest.normalise import FUTURE_TOLERANCE, check_batch_id
from charter.services.ingest.records import live_digest, resolve_release
from charter.services.references import current_reference, parse_reference
from charter.services.systems import find_system
from charter.spark.buckets import MAX_DOCUMENT_BUCKETS, read_document
from charter.store.monitoring_models import MonitorState

KIND = "profiles"
#: The bucket counters are 32-bit integers on PostgreSQL.
_MAX_COUNT = 2**31 - 1


def ingest_profiles(
    ctx: Context,
    system_name: str,
    environment: str,
    batch_id: str,
    document: Mapping[str, Any],
    *,
    release: str | None = None,
) -> dict[str, Any]:
    """Fold a profiles document into the release's hour buckets in ``environment``.

    The release is the document's ``release``, else ``release``, else the one live in
    the environment (a digest or a unique prefix). A document naming another environment
    is refused.
    """
    ctx.require(Permission.OBSERVATION_WRITE)
    check_batch_id(batch_id)
    check_environment(ctx, environment)
    if not isinstance(document, Mapping):
        raise BadInput("the document must be a profiles document (a JSON object)")
    buckets_raw = document.get("buckets")
    if isinstance(buckets_raw, list) and len(buckets_raw) > MAX_DOCUMENT_BUCKETS:
        raise PayloadTooLarge(
            f"a profiles document holds at most {MAX_DOCUMENT_BUCKETS} buckets; "
            f"got {len(buckets_raw)} (charter.spark.split_document cuts it)"
        )
    named_env = document.get("environment")
    if named_env is not None and named_env != environment:
        raise BadInput(
            f"the document was made for environment {named_env!r}, not {environment!r}",
            location="environment",
        )
    system = find_system(ctx, system_name)
    seen = seen_batch(ctx, system, environment, KIND, batch_id)
    if seen is not None:
        return {**seen.summary, "duplicate": True}
    digest = document.get("release") or release or live_digest(ctx, system, environment)
    target = resolve_release(ctx, system, digest)
    row = current_reference(ctx, target)
    if row is None:
        raise BadInput(f"release {system.name}@{target.digest[:12]} has no reference profile")
    reference = parse_reference(row.profile)
    buckets = read_document(document, reference)  # validates everything before writing
    if not buckets:
        raise BadInput("the profiles document has no buckets")
    now = ctx.now()
    for start in buckets:
        if start > now + FUTURE_TOLERANCE:
            raise BadInput(
                f"bucket {start.isoformat()} lies ahead of the server's clock",
                location="buckets",
            )
    closed_until = ctx.session.scalar(
        select(MonitorState.last_window_end).where(
            MonitorState.system_id == system.id, MonitorState.environment == environment
        )
    )
    existing = load_buckets(ctx.session, target, environment, list(buckets))
    rows = late = 0
    for start, bucket in buckets.items():
        stored = existing.get(start)
        if stored is None:
            stored = new_bucket(ctx.session, target, environment, start, reference.digest)
        elif stored.reference_digest != reference.digest and stored.profile:
            # As in row ingestion: a bucket on an older reference restarts on the new one.
            stored.profile, stored.labels_profile, stored.labelled, stored.rows = "", None, 0, 0
            stored.signals = signal_counts.empty_signals()
            stored.arrival_rows, stored.late, stored.event_max = 0, 0, None
        if stored.rows + bucket.rows > _MAX_COUNT:
            # The transaction rolls back: nothing of the document is kept.
            raise BadInput(f"bucket {start.isoformat()} would hold more rows than it can count")
        stored.reference_digest = reference.digest
        stored.profile = fold(stored.profile, reference, bucket.profile)
        if bucket.labels is not None:
            stored.labels_profile = fold(stored.labels_profile, reference, bucket.labels)
        stored.rows += bucket.rows
        stored.labelled += bucket.labelled
        stored.signals = signal_counts.merge_signals(stored.signals, bucket.signals)
        stored.updated_at = now
        moment = min(bucket.event_max or start, now)
        stored.event_max = moment if stored.event_max is None else max(stored.event_max, moment)
        if closed_until is not None and start < closed_until:
            stored.late = (stored.late or 0) + bucket.rows
            late += bucket.rows
        rows += bucket.rows
    summary = {
        "batch_id": batch_id,
        "system": system.name,
        "environment": environment,
        "release": target.digest,
        "buckets": len(buckets),
        "accepted": rows,
        "labelled": sum(b.labelled for b in buckets.values()),
        "late": late,
        "first_event": min(buckets).isoformat(),
        "last_event": max(b.event_max or s for s, b in buckets.items()).isoformat(),
        "duplicate": False,
    }
    return record_batch(ctx, system.id, KIND, batch_id, environment, rows, summary)
