"""Ingestion: inference records and late labels, folded into hourly window profiles.

A batch is one transaction: validated in full first (an unknown release, an oversized
field or a bad signal value refuses the whole batch and writes nothing), then folded into
the hour bucket of its arrival time with :func:`charter.monitoring.update_window`. Buckets
follow the control plane's clock, not the records' own timestamps, so a late or skewed
producer cannot reopen a window the worker has already closed.

What is kept: per (release, environment, hour) the window profile and signal counts; a
bounded sample of the newest raw records (features, prediction and score only, never the
columns the reference marks as PII, never cohort-only attributes); an inference-id index
(prediction, score, cohort) so that a label arriving later updates the right bucket's
performance counts. Labels are profiled separately (``labels_profile``) because a window
profile cannot take a label after the fact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from charter.domain.errors import BadInput, PayloadTooLarge
from charter.domain.roles import Permission
from charter.domain.text import check_slug
from charter.monitoring import ReferenceProfile, WindowProfile, merge_windows, profile_window
from charter.services import ingest_checks
from charter.services import signals as signal_counts
from charter.services.context import Context
from charter.services.environments import check_environment
from charter.services.monitoring import current_reference, parse_reference
from charter.services.systems import find_system
from charter.store.models import Release, System
from charter.store.monitoring_models import (
    InferenceIndex,
    MonitorBucket,
    ObservationBatch,
    ObservationSample,
)

#: Most records (or labels) in one batch.
MAX_BATCH_RECORDS = 10_000
#: Longest string in any field, in characters.
MAX_FIELD_CHARS = 1_000
#: Most fields in one record.
MAX_FIELDS = 500
#: Raw records kept per (system, environment): the newest ones.
SAMPLE_SIZE = 1_000
#: Fields with a meaning of their own; every other field is a feature or a role column.
META = ("inference_id", "release", "timestamp", "latency_ms", "fallback_used", "blocked")
_BATCH_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 900  # ids per IN (...) query; below SQLite's oldest variable limit


def bucket_of(moment: datetime) -> datetime:
    """The start of the hour bucket ``moment`` falls in."""
    return moment.replace(minute=0, second=0, microsecond=0)


def _check_batch(batch_id: Any, environment: str, n: int, what: str) -> str:
    check_slug(environment, "environment")
    if not isinstance(batch_id, str) or not _BATCH_ID.match(batch_id):
        raise BadInput(
            "batch_id must be 1-128 characters of letters, digits and . _ : -", location="batch_id"
        )
    if n > MAX_BATCH_RECORDS:
        raise PayloadTooLarge(f"a batch holds at most {MAX_BATCH_RECORDS} {what}; got {n}")
    if n == 0:
        raise BadInput(f"the batch has no {what}")
    return batch_id


def _seen(ctx: Context, system: System, kind: str, batch_id: str) -> ObservationBatch | None:
    return ctx.session.scalar(
        select(ObservationBatch).where(
            ObservationBatch.system_id == system.id,
            ObservationBatch.kind == kind,
            ObservationBatch.batch_id == batch_id,
        )
    )


def _flatten(records: Sequence[Any]) -> pd.DataFrame:
    """JSON records to a flat frame; ``features``/``cohort`` objects merge in, ``guard`` gives
    ``blocked``. Nested values and oversized strings are refused, naming the record."""
    flat_rows = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise BadInput("every record must be a JSON object", location=f"records[{i}]")
        flat: dict[str, Any] = {}
        for key, value in record.items():
            if key in ("features", "cohort") and isinstance(value, dict):
                flat.update(value)
            elif key == "guard":
                if not isinstance(value, dict):
                    raise BadInput("guard must be an object", location=f"records[{i}].guard")
                flat["blocked"] = value.get("blocked")
            else:
                flat[key] = value
        if len(flat) > MAX_FIELDS:
            raise PayloadTooLarge(
                f"a record has at most {MAX_FIELDS} fields", location=f"records[{i}]"
            )
        for key, value in flat.items():
            if isinstance(value, (dict, list)):
                raise BadInput("field values must be scalars", location=f"records[{i}].{key}")
            if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
                raise PayloadTooLarge(
                    f"strings are at most {MAX_FIELD_CHARS} characters",
                    location=f"records[{i}].{key}",
                )
            if len(key) > 200:
                raise BadInput("field names are at most 200 characters", location=f"records[{i}]")
        flat_rows.append(flat)
    return pd.DataFrame.from_records(flat_rows)


def _check_frame(frame: pd.DataFrame) -> None:
    if len(frame.columns) > MAX_FIELDS:
        raise PayloadTooLarge(f"a record has at most {MAX_FIELDS} fields")
    for column in frame.columns:
        if len(str(column)) > 200:
            raise BadInput("field names are at most 200 characters")
        series = frame[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            lengths = series.map(lambda v: len(v) if isinstance(v, str) else 0)
            if len(lengths) and int(lengths.max()) > MAX_FIELD_CHARS:
                raise PayloadTooLarge(
                    f"strings are at most {MAX_FIELD_CHARS} characters", location=str(column)
                )


def _flag(series: pd.Series, name: str) -> np.ndarray:
    """A boolean signal column as floats 1/0/NaN; anything but a bool, 0/1 or true/false is
    refused (these come from serving code, not from data, so a wrong type is a bug)."""
    out = np.full(len(series), np.nan)
    for i, value in enumerate(series.tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, (bool, np.bool_)) or value in (0, 1):
            out[i] = float(bool(value))
        elif isinstance(value, str) and value.lower() in ("true", "false"):
            out[i] = float(value.lower() == "true")
        else:
            raise BadInput(f"{name} must be true or false; got {value!r}", location=name)
    return out


def _latency(series: pd.Series) -> np.ndarray:
    return ingest_checks.latency_values(series)


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


def _role_frame(frame: pd.DataFrame, reference: ReferenceProfile) -> tuple[pd.DataFrame, list[str]]:
    """Rename generic ``prediction``/``score``/``label`` fields to the reference's role names
    and add absent reference columns as missing values. Returns the frame and the fields
    that the reference does not know (ignored)."""
    renames = {}
    for generic, role in (
        ("prediction", reference.prediction),
        ("score", reference.score),
        ("label", reference.label),
    ):
        if role and generic != role and generic in frame.columns and role not in frame.columns:
            renames[generic] = role
    frame = frame.rename(columns=renames)
    wanted = [*reference.monitored, *([reference.cohort] if reference.cohort else [])]
    if not any(c in frame.columns for c in reference.monitored):
        raise BadInput(
            f"the records match none of the reference's columns ({', '.join(reference.monitored)})"
        )
    for column in dict.fromkeys(wanted):
        if column not in frame.columns:
            frame[column] = None
    known = {*wanted, *META, *([reference.label] if reference.label else [])}
    ignored = sorted(str(c) for c in frame.columns if c not in known)
    return frame, ignored


def _bucket(
    session: Session, release: Release, environment: str, start: datetime, reference: str
) -> MonitorBucket:
    bucket = session.scalar(
        select(MonitorBucket).where(
            MonitorBucket.release_id == release.id,
            MonitorBucket.environment == environment,
            MonitorBucket.bucket_start == start,
        )
    )
    if bucket is None:
        bucket = MonitorBucket(
            release_id=release.id,
            environment=environment,
            bucket_start=start,
            reference_digest=reference,
            rows=0,
            profile="",
            labels_profile=None,
            labelled=0,
            signals=signal_counts.empty_signals(),
            updated_at=start,
        )
        session.add(bucket)
    return bucket


def _fold(text: str | None, reference: ReferenceProfile, addition: WindowProfile) -> str:
    if text:
        addition = merge_windows(WindowProfile.from_dict(json.loads(text), reference), addition)
    return json.dumps(addition.to_dict(), separators=(",", ":"))


def _label_rows(reference: ReferenceProfile, values: pd.DataFrame) -> WindowProfile:
    """A window profile of labelled rows: only its confusion counts are ever read."""
    frame = values.copy()
    for column in reference.monitored:
        if column not in frame.columns:
            frame[column] = None
    if reference.cohort and reference.cohort not in frame.columns:
        frame[reference.cohort] = None
    return profile_window(reference, frame)


def _insert_ignore(
    session: Session, table: Any, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).on_conflict_do_nothing(index_elements=keys), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).on_conflict_do_nothing(index_elements=keys), rows)


def _json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN and infinities become null)."""
    clean = frame.replace([np.inf, -np.inf], np.nan)
    rows: list[dict[str, Any]] = json.loads(clean.to_json(orient="records", date_format="iso"))
    return rows


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
    _check_batch(batch_id, environment, len(records), "records")
    check_environment(ctx, environment)
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True).copy()
        frame.columns = [str(c) for c in frame.columns]
        _check_frame(frame)
    else:
        frame = _flatten(records)
    system = find_system(ctx, system_name)
    seen = _seen(ctx, system, "records", batch_id)
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
        _latency(frame["latency_ms"]) if "latency_ms" in frame else np.full(len(frame), np.nan)
    )
    blocked = (
        _flag(frame["blocked"], "blocked") if "blocked" in frame else np.full(len(frame), np.nan)
    )
    fallback = (
        _flag(frame["fallback_used"], "fallback_used")
        if "fallback_used" in frame
        else np.full(len(frame), np.nan)
    )
    now = ctx.now()
    start = bucket_of(now)
    # Validate and profile every release group before writing anything.
    prepared = []
    for digest, (rel, reference, pii) in groups.items():
        mask = (frame["release"] == digest).to_numpy()
        part, ignored = _role_frame(frame.loc[mask].reset_index(drop=True), reference)
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
        bucket = _bucket(ctx.session, rel, environment, start, reference.digest)
        if bucket.reference_digest != reference.digest and bucket.profile:
            # A new reference was set within the hour: its windows are not comparable with
            # the old one's, so the bucket restarts on the new reference.
            bucket.profile, bucket.labels_profile, bucket.labelled, bucket.rows = "", None, 0, 0
            bucket.signals = signal_counts.empty_signals()
        bucket.reference_digest = reference.digest
        bucket.profile = _fold(bucket.profile, reference, addition)
        bucket.rows += len(part)
        bucket.signals = signal_counts.merge_signals(bucket.signals, counts)
        bucket.updated_at = now
        labelled = 0
        if label and label in part.columns and part[label].notna().any():
            with_label = part.loc[part[label].notna()]
            labelled = len(with_label)
            bucket.labels_profile = _fold(
                bucket.labels_profile, reference, _label_rows(reference, with_label)
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
    return _record_batch(ctx, system.id, "records", batch_id, environment, len(frame), summary)


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
    values = _json_rows(rows[list(dict.fromkeys(keep))]) if keep else [{}] * len(rows)
    _insert_ignore(
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
    session.add_all(
        ObservationSample(
            system_id=system.id,
            environment=environment,
            release_id=release.id,
            inference_id=row.get("inference_id"),
            received_at=now,
            record=row,
        )
        for row in _json_rows(tail[kept])
    )
    session.flush()
    scope = (ObservationSample.system_id == system.id, ObservationSample.environment == environment)
    threshold = session.scalar(
        select(ObservationSample.id)
        .where(*scope)
        .order_by(ObservationSample.id.desc())
        .offset(size)
        .limit(1)
    )
    if threshold is not None:
        session.execute(delete(ObservationSample).where(*scope, ObservationSample.id <= threshold))


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
    _check_batch(batch_id, environment, len(labels), "labels")
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
    seen = _seen(ctx, system, "labels", batch_id)
    if seen is not None:
        return {**seen.summary, "duplicate": True}
    entries: list[InferenceIndex] = []
    ids = list(pairs)
    for chunk in _chunks(ids):
        entries.extend(
            ctx.session.scalars(
                select(InferenceIndex).where(
                    InferenceIndex.system_id == system.id,
                    InferenceIndex.environment == environment,
                    InferenceIndex.inference_id.in_(chunk),
                )
            )
        )
    fresh = [e for e in entries if not e.labelled]
    groups: dict[tuple[int, datetime], list[InferenceIndex]] = {}
    for entry in fresh:
        groups.setdefault((entry.release_id, entry.bucket_start), []).append(entry)
    now = ctx.now()
    for (release_id, start), group in groups.items():
        bucket = ctx.session.scalar(
            select(MonitorBucket).where(
                MonitorBucket.release_id == release_id,
                MonitorBucket.environment == environment,
                MonitorBucket.bucket_start == start,
            )
        )
        if bucket is None or not bucket.profile:
            continue
        release = ctx.session.get(Release, release_id)
        assert release is not None
        reference_row = current_reference(ctx, release)
        if reference_row is None or reference_row.digest != bucket.reference_digest:
            continue  # the bucket was restarted on a newer reference; these rows left it
        reference = parse_reference(reference_row.profile)
        ingest_checks.check_label_classes(
            reference, [(e.inference_id, pairs[e.inference_id]) for e in group], labels
        )
        values = pd.DataFrame.from_records([e.values for e in group])
        if reference.label:
            values[reference.label] = [pairs[e.inference_id] for e in group]
        bucket.labels_profile = _fold(
            bucket.labels_profile, reference, _label_rows(reference, values)
        )
        bucket.labelled += len(group)
        bucket.updated_at = now
    for chunk in _chunks([e.id for e in fresh]):
        ctx.session.execute(
            update(InferenceIndex).where(InferenceIndex.id.in_(chunk)).values(labelled=True)
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
    return _record_batch(ctx, system.id, "labels", batch_id, environment, len(pairs), summary)


def _record_batch(
    ctx: Context,
    system_id: int,
    kind: str,
    batch_id: str,
    environment: str,
    rows: int,
    summary: dict[str, Any],
) -> dict[str, Any]:
    """Remember a received batch (its unique key makes a retry a no-op) and its outcome."""
    ctx.session.add(
        ObservationBatch(
            system_id=system_id,
            kind=kind,
            batch_id=batch_id,
            environment=environment,
            rows=rows,
            summary=summary,
            received_at=ctx.now(),
            received_by=ctx.actor.name,
        )
    )
    ctx.session.flush()
    return summary
