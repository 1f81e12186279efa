"""Late labels: joined to logged inferences by id, counted in the bucket of each inference.

Labels are profiled separately (``labels_profile``) because a window profile cannot take
a label after the fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Row, select, update

from charter.domain.errors import BadInput
from charter.domain.roles import Permission
from charter.monitoring.grouped import profile_groups
from charter.services.context import Context
from charter.services.environments import check_environment
from charter.services.ingest import checks as ingest_checks
from charter.services.ingest.buckets import (
    chunks,
    fold,
    label_frame,
    load_buckets,
    record_batch,
    seen_batch,
)
from charter.services.ingest.normalise import MAX_FIELD_CHARS, check_batch
from charter.services.references import current_reference, parse_reference
from charter.services.systems import find_system
from charter.store.models import Release
from charter.store.monitoring_models import InferenceIndex


def ingest_labels(
    ctx: Context,
    system_name: str,
    environment: str,
    batch_id: str,
    labels: Sequence[Any],
) -> dict[str, Any]:
    """Join late labels to logged inferences by ``inference_id`` and add them to the
    performance counts of the bucket each inference was counted in.

    Unknown ids (never logged, or older than the label horizon) and ids labelled before
    are counted and skipped; a first label is final (corrections are not re-counted).
    """
    ctx.require(Permission.OBSERVATION_WRITE)
    check_batch(batch_id, environment, len(labels), "labels")
    check_environment(ctx, environment)
    pairs: dict[str, Any] = {}
    for i, item in enumerate(labels):
        if not isinstance(item, dict) or "inference_id" not in item or "label" not in item:
            raise BadInput("each label is {inference_id, label}", location=f"labels[{i}]")
        inference_id, label = item["inference_id"], item["label"]
        if not isinstance(inference_id, (str, int)) or len(str(inference_id)) > 128:
            raise BadInput(
                "inference_id must be a string of at most 128 characters",
                location=f"labels[{i}].inference_id",
            )
        if (
            label is None
            or isinstance(label, (dict, list))
            or (isinstance(label, str) and len(label) > MAX_FIELD_CHARS)
        ):
            raise BadInput("label must be a scalar", location=f"labels[{i}].label")
        ingest_checks.check_label_value(label, i)
        pairs[str(inference_id)] = label
    system = find_system(ctx, system_name)
    seen = seen_batch(ctx, system, environment, "labels", batch_id)
    if seen is not None:
        return {**seen.summary, "duplicate": True}
    # Plain rows of the columns used, not ORM objects: building and tracking an instance
    # per label was most of the cost of a large labels batch.
    entries: list[Row[Any]] = []
    ids = list(pairs)
    for chunk in chunks(ids):
        entries.extend(
            ctx.session.execute(
                select(
                    InferenceIndex.id,
                    InferenceIndex.inference_id,
                    InferenceIndex.release_id,
                    InferenceIndex.bucket_start,
                    InferenceIndex.values,
                    InferenceIndex.labelled,
                ).where(
                    InferenceIndex.system_id == system.id,
                    InferenceIndex.environment == environment,
                    InferenceIndex.inference_id.in_(chunk),
                )
            )
        )
    fresh = [e for e in entries if not e.labelled]
    groups: dict[tuple[int, datetime], list[Row[Any]]] = {}
    for entry in fresh:
        groups.setdefault((entry.release_id, entry.bucket_start), []).append(entry)
    now = ctx.now()
    by_release: dict[int, dict[datetime, list[Row[Any]]]] = {}
    for (release_id, start), group in groups.items():
        by_release.setdefault(release_id, {})[start] = group
    for release_id, hours in by_release.items():
        release = ctx.session.get(Release, release_id)
        assert release is not None
        reference_row = current_reference(ctx, release)
        if reference_row is None:
            continue
        reference = parse_reference(reference_row.profile)
        buckets = load_buckets(ctx.session, release, environment, list(hours))
        # Buckets restarted on a newer reference have lost these rows: skip them.
        kept = [
            (bucket, hours[start])
            for start, bucket in buckets.items()
            if bucket.profile and bucket.reference_digest == reference_row.digest
        ]
        if not kept:
            continue
        entries_kept = [e for _, group in kept for e in group]
        ingest_checks.check_label_classes(
            reference, [(e.inference_id, pairs[e.inference_id]) for e in entries_kept], labels
        )
        # Every hour's labelled rows profiled in one pass (a backfill's labels span
        # hundreds of hours), each equal to profiling that hour's rows on their own.
        values = pd.DataFrame.from_records([e.values for e in entries_kept])
        if reference.label:
            values[reference.label] = [pairs[e.inference_id] for e in entries_kept]
        codes = np.repeat(np.arange(len(kept)), [len(group) for _, group in kept])
        found = profile_groups(reference, label_frame(reference, values), codes, len(kept))
        for (bucket, group), addition in zip(kept, found, strict=True):
            bucket.labels_profile = fold(bucket.labels_profile, reference, addition)
            bucket.labelled += len(group)
            bucket.updated_at = now
    for chunk in chunks([e.id for e in fresh]):
        ctx.session.execute(
            update(InferenceIndex)
            .where(InferenceIndex.id.in_(chunk))
            .values(labelled=True)
            .execution_options(synchronize_session=False)
        )
    summary = {
        "batch_id": batch_id,
        "system": system.name,
        "environment": environment,
        "received": len(pairs),
        "matched": len(fresh),
        "already_labelled": len(entries) - len(fresh),
        "unknown": len(pairs) - len(entries),
        "duplicate": False,
    }
    return record_batch(ctx, system.id, "labels", batch_id, environment, len(pairs), summary)
