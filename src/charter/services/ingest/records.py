"""Inference records: validated, profiled per release and folded into hour buckets.

What is kept: per (release, environment, hour) the window profile and signal counts; a
bounded sample of the newest raw records (features, prediction and score only, never the
columns the reference marks as PII, never cohort-only attributes); an inference-id index
(prediction, score, cohort) so that a label arriving later updates the right bucket's
performance counts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from charter.domain.errors import BadInput
from charter.domain.roles import Permission
from charter.monitoring import ReferenceProfile, profile_window, signal_counts
from charter.services.context import Context
from charter.services.ingest.buckets import (
    bucket_of,
    fold,
    get_bucket,
    insert_ignore,
    label_rows,
    record_batch,
    seen_batch,
)
from charter.services.ingest.normalise import (
    META,
    SAMPLE_SIZE,
    check_batch,
    check_frame,
    flag,
    flatten,
    json_rows,
    latency_values,
    role_frame,
)
from charter.services.references import current_reference, parse_reference
from charter.services.systems import find_system
from charter.store.models import Release, System
from charter.store.monitoring_models import InferenceIndex, ObservationSample

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _releases(
    ctx: Context, system: System, frame: pd.DataFrame, default: str | None
) -> dict[str, tuple[Release, ReferenceProfile, list[str]]]:
    """Resolve every release digest in the batch to its release and current reference."""
    if "release" not in frame.columns:
        if default is None:
            raise BadInput("records need a release digest (a `release` field)", location="release")
        frame["release"] = default
    elif default is not None:
        frame["release"] = frame["release"].fillna(default)
    found: dict[str, tuple[Release, ReferenceProfile, list[str]]] = {}
    for digest in frame["release"].unique().tolist():
        text = str(digest).removeprefix("sha256:").lower() if isinstance(digest, str) else ""
        if not _DIGEST.match(text):
            raise BadInput(f"invalid release digest {digest!r}", location="release")
        release = ctx.session.scalar(
            select(Release).where(Release.system_id == system.id, Release.digest == text)
        )
        if release is None:
            raise BadInput(f"unknown release digest {text} for system {system.name!r}")
        reference = current_reference(ctx, release)
        if reference is None:
            raise BadInput(
                f"release {system.name}@{text[:12]} has no reference profile: "
                "run `charter reference set` first"
            )
        found[digest] = (release, parse_reference(reference.profile), list(reference.pii))
    return found


def ingest_records(
    ctx: Context,
    system_name: str,
    environment: str,
    batch_id: str,
    records: Sequence[Any] | pd.DataFrame,
    *,
    release: str | None = None,
    sample_size: int = SAMPLE_SIZE,
) -> dict[str, Any]:
    """Fold a batch of inference records into the hour buckets of its releases.

    ``records`` are JSON objects or a DataFrame (Arrow, CSV) with the reference's columns
    and the fields in :data:`META`; ``release`` is the digest for records without one.
    A batch id seen before for the system returns the first outcome with ``duplicate``.
    """
    ctx.require(Permission.OBSERVATION_WRITE)
    check_batch(batch_id, environment, len(records), "records")
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True).copy()
        frame.columns = [str(c) for c in frame.columns]
        check_frame(frame)
    else:
        frame = flatten(records)
    system = find_system(ctx, system_name)
    seen = seen_batch(ctx, system, "records", batch_id)
    if seen is not None:
        return {**seen.summary, "duplicate": True}
    groups = _releases(ctx, system, frame, release)
    if "inference_id" in frame.columns:
        ids = frame["inference_id"]
        if not ids.map(lambda v: v is None or isinstance(v, (str, int, np.integer))).all():
            raise BadInput("inference_id must be a string or an integer", location="inference_id")
        text_ids = ids.map(lambda v: None if v is None else str(v))
        if text_ids.map(lambda v: v is not None and len(v) > 128).any():
            raise BadInput("inference_id is at most 128 characters", location="inference_id")
        frame["inference_id"] = text_ids
    latency = (
        latency_values(frame["latency_ms"])
        if "latency_ms" in frame
        else np.full(len(frame), np.nan)
    )
    blocked = (
        flag(frame["blocked"], "blocked") if "blocked" in frame else np.full(len(frame), np.nan)
    )
    fallback = (
        flag(frame["fallback_used"], "fallback_used")
        if "fallback_used" in frame
        else np.full(len(frame), np.nan)
    )
    now = ctx.now()
    start = bucket_of(now)
    # Validate and profile every release group before writing anything.
    prepared = []
    for digest, (rel, reference, pii) in groups.items():
        mask = (frame["release"] == digest).to_numpy()
        part, ignored = role_frame(frame.loc[mask].reset_index(drop=True), reference)
        label = reference.label
        columns = list(dict.fromkeys([*reference.monitored, *filter(None, [reference.cohort])]))
        addition = profile_window(reference, part[columns])
        counts = signal_counts.count_signals(latency[mask], blocked[mask], fallback[mask])
        prepared.append((rel, reference, pii, part, ignored, addition, counts, label))

    summary: dict[str, Any] = {
        "batch_id": batch_id,
        "system": system.name,
        "environment": environment,
        "accepted": len(frame),
        "bucket": start.isoformat(),
        "releases": {},
        "duplicate": False,
    }
    for rel, reference, pii, part, ignored, addition, counts, label in prepared:
        bucket = get_bucket(ctx.session, rel, environment, start, reference.digest)
        if bucket.reference_digest != reference.digest and bucket.profile:
            # A new reference was set within the hour: its windows are not comparable with
            # the old one's, so the bucket restarts on the new reference.
            bucket.profile, bucket.labels_profile, bucket.labelled, bucket.rows = "", None, 0, 0
            bucket.signals = signal_counts.empty_signals()
        bucket.reference_digest = reference.digest
        bucket.profile = fold(bucket.profile, reference, addition)
        bucket.rows += len(part)
        bucket.signals = signal_counts.merge_signals(bucket.signals, counts)
        bucket.updated_at = now
        labelled = 0
        if label and label in part.columns and part[label].notna().any():
            with_label = part.loc[part[label].notna()]
            labelled = len(with_label)
            bucket.labels_profile = fold(
                bucket.labels_profile, reference, label_rows(reference, with_label)
            )
            bucket.labelled += labelled
        _index(ctx.session, system, environment, rel, reference, part, start, now, label)
        _sample(ctx.session, system, environment, rel, reference, pii, part, now, sample_size)
        type_errors = {
            name: int(getattr(s, "type_errors", 0))
            for name, s in addition.columns.items()
            if getattr(s, "type_errors", 0)
        }
        summary["releases"][rel.digest] = {
            "rows": len(part),
            "labelled": labelled,
            "ignored_fields": ignored,
            "type_errors": type_errors,
        }
    return record_batch(ctx, system.id, "records", batch_id, environment, len(frame), summary)


def _index(
    session: Session,
    system: System,
    environment: str,
    release: Release,
    reference: ReferenceProfile,
    part: pd.DataFrame,
    start: datetime,
    now: datetime,
    label: str | None,
) -> None:
    if "inference_id" not in part.columns:
        return
    keep = [c for c in (reference.prediction, reference.score, reference.cohort) if c]
    rows = part.loc[part["inference_id"].notna(), ["inference_id", *dict.fromkeys(keep)]]
    rows = rows.drop_duplicates("inference_id", keep="first")
    labelled = set()
    if label and label in part.columns:
        labelled = set(part.loc[part[label].notna(), "inference_id"].dropna())
    values = json_rows(rows[list(dict.fromkeys(keep))]) if keep else [{}] * len(rows)
    insert_ignore(
        session,
        InferenceIndex,
        [
            {
                "system_id": system.id,
                "environment": environment,
                "inference_id": inference_id,
                "release_id": release.id,
                "bucket_start": start,
                "values": value,
                "labelled": inference_id in labelled,
                "received_at": now,
            }
            for inference_id, value in zip(rows["inference_id"], values, strict=True)
        ],
        ["system_id", "environment", "inference_id"],
    )


def _sample(
    session: Session,
    system: System,
    environment: str,
    release: Release,
    reference: ReferenceProfile,
    pii: list[str],
    part: pd.DataFrame,
    now: datetime,
    size: int,
) -> None:
    if size <= 0:
        return
    kept = [c for c in (*reference.monitored, *META) if c in part.columns and c not in pii]
    kept = [c for c in dict.fromkeys(kept) if c != "release"]
    tail = part.iloc[-size:]
    # Core inserts and deletes: the ORM would track (and re-evaluate on every delete) each
    # sampled row, which was most of the cost of a large `charter log`.
    rows = [
        {
            "system_id": system.id,
            "environment": environment,
            "release_id": release.id,
            "inference_id": row.get("inference_id"),
            "received_at": now,
            "record": row,
        }
        for row in json_rows(tail[kept])
    ]
    if rows:
        session.execute(insert(ObservationSample), rows)
    scope = (ObservationSample.system_id == system.id, ObservationSample.environment == environment)
    threshold = session.scalar(
        select(ObservationSample.id)
        .where(*scope)
        .order_by(ObservationSample.id.desc())
        .offset(size)
        .limit(1)
    )
    if threshold is not None:
        session.execute(
            delete(ObservationSample)
            .where(*scope, ObservationSample.id <= threshold)
            .execution_options(synchronize_session=False)
        )
