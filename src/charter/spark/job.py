"""Hourly bucket profiles of a Spark DataFrame, computed where the data lives.

Each partition is profiled with ``mapInPandas`` by :func:`charter.spark.buckets.profile_rows`
(the code ingestion uses), batch by batch, merged per hour inside the partition; the
partial profiles (a few kilobytes per hour and partition, never rows) are then merged per
hour with ``applyInPandas``. Merging is exact, so the result equals profiling all rows in
one process, whatever the partitioning.

Timestamps: a ``TimestampType`` column is converted to epoch seconds inside Spark, so the
session time zone does not matter; strings are parsed by pandas (ISO 8601, UTC when they
carry no offset); numbers are epoch seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from charter.domain.errors import BadInput
from charter.monitoring import ReferenceProfile
from charter.spark.buckets import META, BucketProfile, merge, profile_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: The schema of the partial profiles passed between the two stages.
PARTIAL_SCHEMA = "start string, bucket string"


def _wanted(reference: ReferenceProfile, columns: list[str], timestamp: str) -> list[str]:
    """The columns the profile reads, so only those travel from the JVM to Python."""
    roles = [reference.label, reference.cohort, "prediction", "score", "label"]
    names = [*reference.monitored, *filter(None, roles), *META, timestamp]
    return [c for c in dict.fromkeys(names) if c in columns]


def _encode(buckets: dict[datetime, BucketProfile]) -> pd.DataFrame:
    # Plain object columns: pandas 3's Arrow-backed strings can be chunked, which
    # PySpark's Arrow writer does not take.
    return pd.DataFrame(
        {
            "start": pd.Series([start.isoformat() for start in buckets], dtype=object),
            "bucket": pd.Series(
                [json.dumps(b.to_dict(), separators=(",", ":")) for b in buckets.values()],
                dtype=object,
            ),
        },
        columns=["start", "bucket"],
    )


def profile_frame(
    df: DataFrame,
    reference: ReferenceProfile,
    *,
    timestamp: str = "timestamp",
    labels: DataFrame | None = None,
    inference_id: str = "inference_id",
    rows_per_profile: int = 250_000,
) -> dict[datetime, BucketProfile]:
    """Hourly bucket profiles of a Spark DataFrame of inference records.

    ``labels`` (optional) is a DataFrame of ``inference_id`` and the reference's label
    column (or ``label``), left-joined to the records before profiling. Each task holds
    ``rows_per_profile`` rows at most in pandas at a time. Returns the buckets
    by hour start (UTC); :func:`charter.spark.buckets.profiles_document` makes the document.
    """
    from pyspark.sql import functions as F  # noqa: N812 - the conventional name
    from pyspark.sql.types import TimestampNTZType, TimestampType

    if timestamp not in df.columns:
        raise BadInput(f"the records need a {timestamp!r} column", location=timestamp)
    if labels is not None:
        label = reference.label
        if label is None:
            raise BadInput("the reference has no label column to join labels to")
        name = label if label in labels.columns else "label"
        if inference_id not in labels.columns or name not in labels.columns:
            raise BadInput(f"labels need {inference_id!r} and {label!r} (or 'label') columns")
        df = df.drop(*[c for c in (label, "label") if c in df.columns])
        df = df.join(labels.select(inference_id, F.col(name).alias(label)), inference_id, "left")
    kind = df.schema[timestamp].dataType
    if isinstance(kind, TimestampType):
        # Absolute seconds: independent of spark.sql.session.timeZone.
        df = df.withColumn(timestamp, F.unix_micros(F.col(timestamp)) / 1_000_000)
    elif isinstance(kind, TimestampNTZType):
        df = df.withColumn(timestamp, F.col(timestamp).cast("string"))  # read as UTC
    df = df.select(*_wanted(reference, df.columns, timestamp))
    document = json.dumps(reference.to_dict())

    def partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        ref = ReferenceProfile.from_dict(json.loads(document))
        buckets: dict[datetime, BucketProfile] = {}
        pending: list[pd.DataFrame] = []
        size = 0

        def flush() -> None:
            nonlocal buckets, pending, size
            if size:
                rows = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
                buckets = merge(buckets, profile_rows(ref, rows, timestamp=timestamp))
            pending, size = [], 0

        # Arrow batches are small; a profile has a fixed cost per hour, so profile a few
        # hundred thousand rows at a time (exact either way: merging loses nothing).
        for batch in batches:
            pending.append(batch)
            size += len(batch)
            if size >= rows_per_profile:
                flush()
        flush()
        yield _encode(buckets)

    def combine(group: pd.DataFrame) -> pd.DataFrame:
        ref = ReferenceProfile.from_dict(json.loads(document))
        parts = [BucketProfile.from_dict(json.loads(text), ref) for text in group["bucket"]]
        merged = merge(*({p.start: p} for p in parts))
        return _encode(merged)

    partials = df.mapInPandas(partition, PARTIAL_SCHEMA)
    rows = partials.groupBy("start").applyInPandas(combine, PARTIAL_SCHEMA).collect()
    result = [BucketProfile.from_dict(json.loads(row["bucket"]), reference) for row in rows]
    return merge(*({b.start: b} for b in result))


def spark_session_defaults() -> dict[str, Any]:
    """Settings this job relies on, for a session built by the caller: Arrow batches of
    10,000 rows (the profile's memory per task is one batch plus one profile per hour)."""
    return {"spark.sql.execution.arrow.maxRecordsPerBatch": "10000"}
