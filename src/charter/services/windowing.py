"""Which hourly buckets make which window, and when a window is complete (event time).

Records are bucketed by their own timestamp (arrival time when they carry none). The
*watermark* of a route is how far its event time has certainly progressed:

- the latest timestamp its records carried, bounded by the wall clock (a producer's skew
  cannot push it ahead);
- the wall clock itself while the route's open buckets hold arrival-stamped records:
  arrival time only moves forward, so nothing can still arrive for an earlier hour.

A window ``[start, end)`` is complete once the watermark passes ``end + live.lateness``
(``end`` alone when the watermark is the clock: an arrival-stamped record is never late).
Time windows are ``live.window`` long and aligned on the UTC epoch; a count window
(``live.window: 5000 rows``) is consecutive complete hourly buckets taken in order until
they hold at least that many records, so an hour is never split.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from charter.monitoring import ReferenceProfile, WindowProfile, merge_windows, signal_counts
from charter.services.context import Context
from charter.store.monitoring_models import MonitorBucket

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Width of the buckets ingestion keeps; count windows are made of whole buckets.
BUCKET_WIDTH = timedelta(hours=1)
#: Most windows one route closes in one pass (a worker that was down catches up gradually).
MAX_WINDOWS_PER_PASS = 500

Group = tuple[datetime, datetime, list[MonitorBucket]]


def floor(moment: datetime, width: timedelta) -> datetime:
    """The start of the epoch-aligned interval of ``width`` that ``moment`` falls in."""
    return EPOCH + ((moment - EPOCH) // width) * width


def watermark(
    ctx: Context, scope: tuple[Any, ...], since: datetime
) -> tuple[datetime | None, bool]:
    """The route's watermark (see the module docstring), None when it has no records, and
    whether it is the clock (arrival-stamped records: no lateness needs allowing)."""
    now = ctx.now()
    latest, arrivals, rows = ctx.session.execute(
        select(
            func.max(MonitorBucket.event_max),
            func.coalesce(
                func.sum(MonitorBucket.arrival_rows).filter(MonitorBucket.bucket_start >= since),
                0,
            ),
            func.count(),
        ).where(*scope)
    ).one()
    if not rows:
        return None, False
    if arrivals:
        return now, True
    if latest is None:
        return None, False
    if latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    return min(latest, now), False


def merge_buckets(
    buckets: Sequence[MonitorBucket], reference: ReferenceProfile
) -> tuple[WindowProfile, WindowProfile | None, dict[str, Any]]:
    """The window profile, the labelled rows' profile and the signal counts of buckets."""
    profiles = [WindowProfile.from_dict(json.loads(b.profile), reference) for b in buckets]
    labelled = [
        WindowProfile.from_dict(json.loads(b.labels_profile), reference)
        for b in buckets
        if b.labels_profile
    ]
    counts = signal_counts.empty_signals()
    for bucket in buckets:
        counts = signal_counts.merge_signals(counts, bucket.signals)
    return (
        merge_windows(*profiles),
        merge_windows(*labelled) if labelled else None,
        counts,
    )


def time_windows(ctx: Context, in_scope: tuple[Any, ...], width: timedelta) -> list[Group]:
    """Epoch-aligned windows of ``width`` over the buckets in scope, oldest first."""
    buckets = ctx.session.scalars(
        select(MonitorBucket)
        .where(*in_scope, MonitorBucket.rows > 0)
        .order_by(MonitorBucket.bucket_start)
    ).all()
    groups: list[Group] = []
    for bucket in buckets:
        start = floor(bucket.bucket_start, width)
        if groups and groups[-1][0] == start:
            groups[-1][2].append(bucket)
            continue
        if len(groups) == MAX_WINDOWS_PER_PASS:
            break
        groups.append((start, start + width, [bucket]))
    return groups


def count_windows(buckets: Sequence[MonitorBucket], rows: int) -> list[Group]:
    """Consecutive buckets (oldest first) grouped until each group holds ``rows`` records.

    A trailing group short of ``rows`` is not a window yet and is left out.
    """
    groups: list[Group] = []
    current: list[MonitorBucket] = []
    total = 0
    for bucket in buckets:
        current.append(bucket)
        total += bucket.rows
        if total >= rows:
            start = current[0].bucket_start
            end = current[-1].bucket_start + BUCKET_WIDTH
            groups.append((start, end, current))
            current, total = [], 0
            if len(groups) == MAX_WINDOWS_PER_PASS:
                break
    return groups
