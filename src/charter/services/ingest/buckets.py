"""Storage shared by record and label ingestion: hour buckets, folded profiles, batch ids.

A bucket is one (release, environment, hour) with its window profile, the profile of its
labelled rows and its signal counts; a received batch is remembered under its id so a
retry changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.monitoring import (
    ReferenceProfile,
    WindowProfile,
    merge_windows,
    profile_window,
    signal_counts,
)
from charter.services.context import Context
from charter.store.models import Release, System
from charter.store.monitoring_models import MonitorBucket, ObservationBatch

_CHUNK = 900  # ids per IN (...) query; below SQLite's oldest variable limit


def bucket_of(moment: datetime) -> datetime:
    """The start of the hour bucket ``moment`` falls in."""
    return moment.replace(minute=0, second=0, microsecond=0)


def seen_batch(
    ctx: Context, system: System, environment: str, kind: str, batch_id: str
) -> ObservationBatch | None:
    """The batch received before under this id for this system and environment, if any."""
    return ctx.session.scalar(
        select(ObservationBatch).where(
            ObservationBatch.system_id == system.id,
            ObservationBatch.environment == environment,
            ObservationBatch.kind == kind,
            ObservationBatch.batch_id == batch_id,
        )
    )


def load_buckets(
    session: Session, release: Release, environment: str, starts: Sequence[datetime]
) -> dict[datetime, MonitorBucket]:
    """The existing buckets of ``starts`` (one query per chunk of hours)."""
    found: dict[datetime, MonitorBucket] = {}
    for chunk in chunks(sorted(set(starts))):
        for bucket in session.scalars(
            select(MonitorBucket).where(
                MonitorBucket.release_id == release.id,
                MonitorBucket.environment == environment,
                MonitorBucket.bucket_start.in_(list(chunk)),
            )
        ):
            found[bucket.bucket_start] = bucket
    return found


def new_bucket(
    session: Session, release: Release, environment: str, start: datetime, reference: str
) -> MonitorBucket:
    """An empty bucket for one hour, added to the session."""
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
        event_max=None,
        arrival_rows=0,
        late=0,
    )
    session.add(bucket)
    return bucket


def fold(text: str | None, reference: ReferenceProfile, addition: WindowProfile) -> str:
    if text:
        addition = merge_windows(WindowProfile.from_dict(json.loads(text), reference), addition)
    return json.dumps(addition.to_dict(), separators=(",", ":"))


def label_frame(reference: ReferenceProfile, values: pd.DataFrame) -> pd.DataFrame:
    """Labelled rows with every column a profile reads (absent ones as missing)."""
    frame = values.copy()
    for column in reference.monitored:
        if column not in frame.columns:
            frame[column] = None
    if reference.cohort and reference.cohort not in frame.columns:
        frame[reference.cohort] = None
    return frame


def label_rows(reference: ReferenceProfile, values: pd.DataFrame) -> WindowProfile:
    """A window profile of labelled rows: only its confusion counts are ever read."""
    return profile_window(reference, label_frame(reference, values))


def insert_ignore(
    session: Session, table: Any, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    """Insert ``rows`` into ``table`` (a mapped class), skipping those whose ``keys`` exist."""
    if not rows:
        return
    # The Core table, not the mapped class: the ORM's bulk path collects and checks every
    # row again (a fifth of a 10,000-record batch's time); the column types are the same.
    target = table.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(target).on_conflict_do_nothing(index_elements=keys), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(target).on_conflict_do_nothing(index_elements=keys), rows)


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def record_batch(
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
