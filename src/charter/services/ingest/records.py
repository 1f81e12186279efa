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
from charter.monitoring import ReferenceProfile, WindowProfile, signal_counts
from charter.monitoring.grouped import group_codes, profile_groups
from charter.services.context import Context
from charter.services.environments import check_environment
from charter.services.ingest.buckets import (
    fold,
    insert_ignore,
    label_frame,
    load_buckets,
    new_bucket,
    record_batch,
    seen_batch,
)
from charter.services.ingest.normalise import (
    META,
    SAMPLE_SIZE,
    check_batch,
    check_frame,
    event_times,
    flag,
    flatten,
    json_rows,
    latency_values,
    role_frame,
)
from charter.services.references import current_reference, parse_reference
from charter.services.systems import find_system
from charter.store.models import Release, Route, System
from charter.store.monitoring_models import InferenceIndex, MonitorState, ObservationSample

_DIGEST = re.compile(r"^[0-9a-f]{7,64}$")


def live_digest(ctx: Context, system: System, environment: str) -> str:
    """The digest of the release live in ``environment``: the default for records."""
    digest = ctx.session.scalar(
        select(Release.digest)
        .join(Route, Route.release_id == Release.id)
        .where(Route.system_id == system.id, Route.environment == environment)
    )
    if digest is None:
        raise BadInput(
            f"no release of {system.name!r} is live in {environment!r}: name the release",
            location="release",
        )
    return digest


def resolve_release(ctx: Context, system: System, digest: Any) -> Release:
    """A release of ``system`` from its digest or a unique prefix of it (7+ characters)."""
    text = str(digest).removeprefix("sha256:").lower() if isinstance(digest, str) else ""
    if not _DIGEST.match(text):
        raise BadInput(
            f"invalid release digest {digest!r} (7 to 64 hex characters)", location="release"
        )
    matches = ctx.session.scalars(
        select(Release)
        .where(Release.system_id == system.id, Release.digest.startswith(text))
        .limit(2)
    ).all()
    if not matches:
        raise BadInput(f"unknown release digest {text} for system {system.name!r}")
    if len(matches) > 1:
        raise BadInput(f"digest prefix {text!r} is ambiguous: give more characters")
    return matches[0]


def _releases(
    ctx: Context, system: System, environment: str, frame: pd.DataFrame, default: str | None
) -> dict[str, tuple[Release, ReferenceProfile, list[str]]]:
    """Resolve every release digest in the batch to its release and current reference.

    Records without a release take ``default``, or else the release live in the
    environment; digests may be unique prefixes.
    """
    if "release" not in frame.columns or frame["release"].isna().any():
        fallback = default if default is not None else live_digest(ctx, system, environment)
        if "release" not in frame.columns:
            frame["release"] = fallback
        else:
            frame["release"] = frame["release"].fillna(fallback)
    found: dict[str, tuple[Release, ReferenceProfile, list[str]]] = {}
    for digest in frame["release"].unique().tolist():
        release = resolve_release(ctx, system, digest)
        reference = current_reference(ctx, release)
        if reference is None:
            raise BadInput(
                f"release {system.name}@{release.digest[:12]} has no reference profile: "
                "set one first (charter reference set)"
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
    check_environment(ctx, environment)
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True).copy()
        frame.columns = [str(c) for c in frame.columns]
        check_frame(frame)
    else:
        frame = flatten(records)
    system = find_system(ctx, system_name)
    seen = seen_batch(ctx, system, environment, "records", batch_id)
    if seen is not None:
        return {**seen.summary, "duplicate": True}
    groups = _releases(ctx, system, environment, frame, release)
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
    times, carried = event_times(frame, now)
    hours = times.dt.floor("h")
    # Buckets before the route's last judged window end are closed: rows for them are late.
    closed_until = ctx.session.scalar(
        select(MonitorState.last_window_end).where(
            MonitorState.system_id == system.id, MonitorState.environment == environment
        )
    )
    # Validate and profile every (release, hour) group before writing anything. The hours
    # of a batch are profiled in one pass (a backfill spans hundreds of them), each equal
    # to profiling that hour's rows on their own.
    prepared = []
    for digest, (rel, reference, pii) in groups.items():
        mask = (frame["release"] == digest).to_numpy()
        part, ignored = role_frame(frame.loc[mask].reset_index(drop=True), reference)
        part_hours = hours[mask].reset_index(drop=True)
        part_times = times[mask].reset_index(drop=True)
        part_carried = carried[mask]
        columns = list(dict.fromkeys([*reference.monitored, *filter(None, [reference.cohort])]))
        codes, starts = group_codes(part_hours)
        profiles = profile_groups(reference, part[columns], codes, len(starts))
        labels = _label_profiles(reference, part, codes, len(starts))
        latest = part_times[part_carried].groupby(codes[part_carried]).max()
        arrivals = np.bincount(codes[~part_carried], minlength=len(starts))
        part_latency, part_blocked, part_fallback = latency[mask], blocked[mask], fallback[mask]
        per_hour = []
        for g, hour in enumerate(starts):
            index = np.flatnonzero(codes == g)
            per_hour.append(
                (
                    pd.Timestamp(hour).to_pydatetime(),
                    index,
                    profiles[g],
                    labels.get(g),
                    signal_counts.count_signals(
                        part_latency[index], part_blocked[index], part_fallback[index]
                    ),
                    latest.get(g),
                    int(arrivals[g]),
                )
            )
        prepared.append((rel, reference, pii, part, ignored, part_hours, per_hour))

    summary: dict[str, Any] = {
        "batch_id": batch_id,
        "system": system.name,
        "environment": environment,
        "accepted": len(frame),
        "buckets": 0,
        "first_event": times.min().isoformat(),
        "last_event": times.max().isoformat(),
        "late": 0,
        "releases": {},
        "duplicate": False,
    }
    for rel, reference, pii, part, ignored, part_hours, per_hour in prepared:
        label = reference.label
        existing = load_buckets(ctx.session, rel, environment, [h for h, *_ in per_hour])
        labelled = late = 0
        type_errors: dict[str, int] = {}
        for hour, index, addition, labels_addition, counts, event_max, arrival_rows in per_hour:
            bucket = existing.get(hour) or new_bucket(
                ctx.session, rel, environment, hour, reference.digest
            )
            if bucket.reference_digest != reference.digest and bucket.profile:
                # A new reference was set since: its windows are not comparable with the
                # old one's, so the bucket restarts on the new reference.
                bucket.profile, bucket.labels_profile, bucket.labelled, bucket.rows = "", None, 0, 0
                bucket.signals = signal_counts.empty_signals()
                bucket.arrival_rows, bucket.late, bucket.event_max = 0, 0, None
            n = len(index)
            bucket.reference_digest = reference.digest
            bucket.profile = fold(bucket.profile, reference, addition)
            bucket.rows += n
            bucket.signals = signal_counts.merge_signals(bucket.signals, counts)
            bucket.updated_at = now
            bucket.arrival_rows = (bucket.arrival_rows or 0) + arrival_rows
            if event_max is not None:
                moment = pd.Timestamp(event_max).to_pydatetime()
                bucket.event_max = (
                    moment if bucket.event_max is None else max(bucket.event_max, moment)
                )
            if closed_until is not None and hour < closed_until:
                bucket.late = (bucket.late or 0) + n
                late += n
            if labels_addition is not None:
                labelled += labels_addition.rows
                bucket.labels_profile = fold(bucket.labels_profile, reference, labels_addition)
                bucket.labelled += labels_addition.rows
            for name, column in addition.columns.items():
                errors = int(getattr(column, "type_errors", 0))
                if errors:
                    type_errors[name] = type_errors.get(name, 0) + errors
        _index(ctx.session, system, environment, rel, reference, part, part_hours, now, label)
        _sample(ctx.session, system, environment, rel, reference, pii, part, now, sample_size)
        summary["buckets"] += len(per_hour)
        summary["late"] += late
        summary["releases"][rel.digest] = {
            "rows": len(part),
            "labelled": labelled,
            "late": late,
            "ignored_fields": ignored,
            "type_errors": type_errors,
        }
    return record_batch(ctx, system.id, "records", batch_id, environment, len(frame), summary)


def _label_profiles(
    reference: ReferenceProfile, part: pd.DataFrame, codes: np.ndarray, n_groups: int
) -> dict[int, WindowProfile]:
    """The labels profile of each hour with labelled rows (labels sent with the records)."""
    label = reference.label
    if not label or label not in part.columns:
        return {}
    has_label = part[label].notna().to_numpy()
    if not has_label.any():
        return {}
    present, local = np.unique(codes[has_label], return_inverse=True)
    rows = label_frame(reference, part.loc[has_label])
    found = profile_groups(reference, rows, local, len(present))
    return {int(g): profile for g, profile in zip(present.tolist(), found, strict=True)}


def _index(
    session: Session,
    system: System,
    environment: str,
    release: Release,
    reference: ReferenceProfile,
    part: pd.DataFrame,
    hours: pd.Series,
    now: datetime,
    label: str | None,
) -> None:
    if "inference_id" not in part.columns:
        return
    keep = [c for c in (reference.prediction, reference.score, reference.cohort) if c]
    rows = part.loc[part["inference_id"].notna(), ["inference_id", *dict.fromkeys(keep)]]
    rows = rows.drop_duplicates("inference_id", keep="first")
    # A batch spans few hours: convert each distinct hour once, not each row's (iterating
    # a zoned datetime column builds a Timestamp per row, most of _index's time).
    codes, distinct = pd.factorize(hours.loc[rows.index])
    moments = [pd.Timestamp(h).to_pydatetime() for h in distinct]
    starts = [moments[c] for c in codes.tolist()]
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
            for inference_id, value, start in zip(rows["inference_id"], values, starts, strict=True)
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
