"""Hourly bucket profiles of inference records, computed anywhere and merged exactly.

This is the single-process path and the per-partition step of :mod:`charter.spark.job`:
both call :func:`profile_rows`, which prepares the rows the way ingestion does (generic
``prediction``/``score``/``label`` fields renamed to the reference's roles, absent
reference columns counted as missing), groups them by the hour of their own timestamp and
profiles each hour with :func:`charter.monitoring.profile_window`, the same function
``charter log`` folds batches with. Signals (latency histogram, guard and fallback
counts) come from :mod:`charter.monitoring.signal_counts`, as in ingestion. Every part is a count
or an exact sum, so :func:`merge` of the profiles of any split of the rows equals
:func:`profile_rows` of all of them, byte for byte after canonical serialisation.

The profiles document (``charter.monitoring.profiles``, version 1) is what a Spark job
writes and submits: the reference digest, optionally the release and environment, and per
hour the rows, labelled rows, window profile, labels profile and signal counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.monitoring import (
    ReferenceProfile,
    WindowProfile,
    merge_windows,
    profile_window,
    signal_counts,
)
from charter.monitoring.grouped import group_codes, profile_groups

PROFILES_FORMAT = "charter.monitoring.profiles"
#: Most rows one hourly bucket of a document may claim (the bucket counters are 32-bit on
#: PostgreSQL; a billion rows an hour is far beyond any one system's traffic).
MAX_BUCKET_ROWS = 1_000_000_000
PROFILES_VERSION = 1
#: Fields with a meaning of their own (as in ingestion); never profiled as features.
META = ("inference_id", "release", "timestamp", "latency_ms", "fallback_used", "blocked")


@dataclass(frozen=True, eq=False)
class BucketProfile:
    """One hour of records: counts and the window and labels profiles."""

    start: datetime
    rows: int
    labelled: int
    profile: WindowProfile
    labels: WindowProfile | None
    signals: dict[str, Any]
    #: The latest event time among the rows (whole seconds, rounded down), which moves
    #: the route's watermark as logged rows' timestamps do; None when not known.
    event_max: datetime | None = None

    def merge(self, other: BucketProfile) -> BucketProfile:
        """Both sets of rows of the same hour; exact and order-independent."""
        if other.start != self.start:
            raise BadInput("bucket profiles of different hours cannot be merged")
        labels = self.labels
        if other.labels is not None:
            labels = other.labels if labels is None else merge_windows(labels, other.labels)
        return BucketProfile(
            self.start,
            self.rows + other.rows,
            self.labelled + other.labelled,
            merge_windows(self.profile, other.profile),
            labels,
            signal_counts.merge_signals(self.signals, other.signals),
            _latest(self.event_max, other.event_max),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "start": self.start.isoformat(),
            "rows": self.rows,
            "labelled": self.labelled,
            "profile": self.profile.to_dict(),
            "labels_profile": None if self.labels is None else self.labels.to_dict(),
            "signals": self.signals,
            "event_max": None if self.event_max is None else self.event_max.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], reference: ReferenceProfile) -> BucketProfile:
        """Inverse of :meth:`to_dict`, checked against the reference."""
        try:
            start = _hour(datetime.fromisoformat(str(data["start"])))
            labels = data.get("labels_profile")
            latest = data.get("event_max")
            event_max = None if latest is None else _utc(datetime.fromisoformat(str(latest)))
            if event_max is not None and not start <= event_max < start + timedelta(hours=1):
                raise ValueError(f"event_max {latest!r} lies outside the bucket's hour")
            rows, labelled = int(data["rows"]), int(data["labelled"])
            if not 0 <= labelled <= rows <= MAX_BUCKET_ROWS:
                raise ValueError(f"rows {rows} and labelled {labelled} out of range")
            return cls(
                start,
                rows,
                labelled,
                WindowProfile.from_dict(data["profile"], reference),
                None if labels is None else WindowProfile.from_dict(labels, reference),
                signal_counts.merge_signals(signal_counts.empty_signals(), data["signals"]),
                event_max,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadInput(f"malformed bucket profile: {exc}") from exc


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _hour(moment: datetime) -> datetime:
    moment = _utc(moment)
    if moment != moment.replace(minute=0, second=0, microsecond=0):
        raise BadInput(f"a bucket starts on the hour; got {moment.isoformat()}")
    return moment


def prepare(reference: ReferenceProfile, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows as ingestion sees them: generic role fields renamed to the reference's role
    names and absent reference columns added as missing values."""
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
    missing = [c for c in dict.fromkeys(wanted) if c not in frame.columns]
    if missing:
        frame = frame.assign(**dict.fromkeys(missing))
    return frame


def event_hours(values: pd.Series) -> pd.Series:
    """The UTC hour each record's timestamp falls in (see :func:`event_moments`)."""
    hours: pd.Series = event_moments(values).dt.floor("h")
    return hours


def event_moments(values: pd.Series) -> pd.Series:
    """Each record's timestamp in UTC. Strings and datetimes without a zone are read as
    UTC; numbers are seconds since the epoch. A missing or unreadable timestamp is
    refused, naming the first such row."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        moments = pd.to_datetime(values, unit="s", utc=True, errors="coerce")
    else:
        moments = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    bad = moments.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise BadInput(
            f"{int(bad.sum())} records have no readable timestamp (first: row {first}, "
            f"{values.iloc[first]!r})",
            location="timestamp",
        )
    return moments


def _flags(series: pd.Series, name: str) -> np.ndarray:
    """A boolean signal as floats 1/0/NaN, read as ingestion reads it (bools, 0/1 or the
    strings true/false); anything else is refused."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not series.isna().any():
        return series.to_numpy(dtype=np.float64)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        known = numbers[~np.isnan(numbers)]
        if np.isin(known, (0.0, 1.0)).all():
            return numbers
    out = np.full(len(series), np.nan)
    missing = series.isna().to_numpy()
    values = series.to_numpy(dtype=object)
    for i in np.flatnonzero(~missing):
        value = values[i]
        if isinstance(value, (bool, np.bool_)) or value in (0, 1):
            out[i] = float(bool(value))
        elif isinstance(value, str) and value.lower() in ("true", "false"):
            out[i] = float(value.lower() == "true")
        else:
            raise BadInput(f"{name} must be true or false; got {value!r}", location=name)
    return out


def _latency(series: pd.Series) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(values) & series.notna().to_numpy()
    if bad.any() or (values[np.isfinite(values)] < 0).any():
        raise BadInput("latency_ms must be a non-negative number", location="latency_ms")
    return values


def _signal_arrays(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nothing = np.full(len(part), np.nan)
    latency = _latency(part["latency_ms"]) if "latency_ms" in part else nothing
    blocked = _flags(part["blocked"], "blocked") if "blocked" in part else nothing
    fallback = (
        _flags(part["fallback_used"], "fallback_used") if "fallback_used" in part else nothing
    )
    return latency, blocked, fallback


def _signals(latency: np.ndarray, blocked: np.ndarray, fallback: np.ndarray) -> dict[str, Any]:
    counts = signal_counts.count_signals(latency, blocked, fallback)
    return signal_counts.merge_signals(signal_counts.empty_signals(), counts)


def _event_max(start: datetime, moments: pd.Series) -> datetime:
    # Whole seconds: Spark hands timestamps over as float seconds, whose rounding error
    # (~1e-7 s) must not change the document; half a millisecond absorbs it.
    latest = pd.Timestamp(moments.max()) + pd.Timedelta(microseconds=500)
    moment = _utc(latest.floor("s").to_pydatetime())
    return min(moment, start + timedelta(seconds=3599))


def profile_part(
    reference: ReferenceProfile,
    start: datetime,
    part: pd.DataFrame,
    event_max: datetime | None = None,
) -> BucketProfile:
    """Profile rows of one hour (already :func:`prepare`-d)."""
    columns = list(dict.fromkeys([*reference.monitored, *filter(None, [reference.cohort])]))
    profile = profile_window(reference, part[columns])
    labels, labelled = None, 0
    label = reference.label
    if label and label in part.columns:
        has_label = part[label].notna().to_numpy()
        labelled = int(has_label.sum())
        if labelled:
            labels = profile_window(reference, part.loc[has_label])
    signals = _signals(*_signal_arrays(part))
    return BucketProfile(start, len(part), labelled, profile, labels, signals, event_max)


def profile_rows(
    reference: ReferenceProfile, frame: pd.DataFrame, *, timestamp: str = "timestamp"
) -> dict[datetime, BucketProfile]:
    """Hourly bucket profiles of a frame of inference records (the single-process path).

    The hours are profiled in one pass (:func:`charter.monitoring.grouped.profile_groups`),
    each equal to :func:`profile_part` of that hour's rows."""
    if timestamp not in frame.columns:
        raise BadInput(f"the records need a {timestamp!r} column", location=timestamp)
    frame = prepare(reference, frame.reset_index(drop=True))
    moments = event_moments(frame[timestamp])
    codes, uniques = group_codes(moments.dt.floor("h"))
    n = len(uniques)
    columns = list(dict.fromkeys([*reference.monitored, *filter(None, [reference.cohort])]))
    profiles = profile_groups(reference, frame[columns], codes, n)
    labels: dict[int, WindowProfile] = {}
    label = reference.label
    if label and label in frame.columns:
        has_label = frame[label].notna().to_numpy()
        if has_label.any():
            present, local = np.unique(codes[has_label], return_inverse=True)
            found = profile_groups(reference, frame.loc[has_label], local, len(present))
            labels = dict(zip(present.tolist(), found, strict=True))
    latency, blocked, fallback = _signal_arrays(frame)
    result: dict[datetime, BucketProfile] = {}
    for g, hour in enumerate(uniques):
        index = np.flatnonzero(codes == g)
        start = _utc(pd.Timestamp(hour).to_pydatetime())
        found_labels = labels.get(g)
        result[start] = BucketProfile(
            start,
            len(index),
            0 if found_labels is None else found_labels.rows,
            profiles[g],
            found_labels,
            _signals(latency[index], blocked[index], fallback[index]),
            _event_max(start, moments.iloc[index]),
        )
    return result


def merge(*parts: Mapping[datetime, BucketProfile]) -> dict[datetime, BucketProfile]:
    """Merge bucket profiles hour by hour; exact, in any order and grouping."""
    result: dict[datetime, BucketProfile] = {}
    for part in parts:
        for start, bucket in part.items():
            result[start] = result[start].merge(bucket) if start in result else bucket
    return dict(sorted(result.items()))


def profiles_document(
    reference: ReferenceProfile,
    buckets: Mapping[datetime, BucketProfile] | Iterable[BucketProfile],
    *,
    release: str | None = None,
    environment: str | None = None,
) -> dict[str, Any]:
    """The JSON-able profiles document of some buckets (hours in order)."""
    items = list(buckets.values()) if isinstance(buckets, Mapping) else list(buckets)
    for bucket in items:
        if bucket.profile.reference != reference.digest:
            raise BadInput("a bucket was profiled on another reference")
    return {
        "format": PROFILES_FORMAT,
        "version": PROFILES_VERSION,
        "reference": reference.digest,
        "release": release,
        "environment": environment,
        "buckets": [b.to_dict() for b in sorted(items, key=lambda b: b.start)],
    }


def read_document(
    data: Mapping[str, Any], reference: ReferenceProfile
) -> dict[datetime, BucketProfile]:
    """Buckets of a profiles document, checked against the reference it names."""
    if not isinstance(data, Mapping) or data.get("format") != PROFILES_FORMAT:
        raise BadInput("not a Charter profiles document")
    if data.get("version") != PROFILES_VERSION:
        raise BadInput(f"unsupported profiles document version {data.get('version')!r}")
    if data.get("reference") != reference.digest:
        raise BadInput("the profiles were built on another reference profile")
    buckets = data.get("buckets")
    if not isinstance(buckets, list):
        raise BadInput("a profiles document lists its buckets")
    return merge(*({b.start: b} for b in (BucketProfile.from_dict(x, reference) for x in buckets)))


#: Buckets per submitted document: a month of hours, and well under the API's body limit
#: at the usual few kilobytes to tens of kilobytes per bucket.
MAX_DOCUMENT_BUCKETS = 1_000
#: Bytes of one submitted document's JSON: below the API-wide request limit (4 MiB) with
#: room for the envelope.
MAX_DOCUMENT_BYTES = 3 * 1024 * 1024


def split_document(
    document: Mapping[str, Any],
    *,
    max_buckets: int = MAX_DOCUMENT_BUCKETS,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> list[dict[str, Any]]:
    """A profiles document cut into documents of consecutive hours that each fit one
    submission. The cut depends only on the document, so a retried submission sends the
    same parts (under the same batch ids) again."""
    import json

    buckets = document.get("buckets")
    if not isinstance(buckets, list):
        raise BadInput("a profiles document lists its buckets")
    head = {k: v for k, v in document.items() if k != "buckets"}
    base = len(json.dumps(head, separators=(",", ":"))) + 16
    parts: list[list[Any]] = [[]]
    size = base
    for bucket in buckets:
        length = len(json.dumps(bucket, separators=(",", ":"))) + 1
        if base + length > max_bytes:
            raise BadInput(f"one bucket profile is over {max_bytes} bytes")
        if parts[-1] and (len(parts[-1]) >= max_buckets or size + length > max_bytes):
            parts.append([])
            size = base
        parts[-1].append(bucket)
        size += length
    return [{**head, "buckets": part} for part in parts]
