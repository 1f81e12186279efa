"""The profiles charter.spark computes (single process here; Spark equals it, see
tests/spark) are exactly what ingesting the same rows stores in the hour bucket."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from charter.domain.canonical import canonical_bytes
from charter.domain.errors import BadInput
from charter.services import ingest, profile_ingest
from charter.spark import profile_rows, profiles_document
from charter.store.monitoring_models import MonitorBucket


def test_bucket_profiles_equal_ingested_buckets(
    act, live_small, rng_frame, small_profile, charter, clock
) -> None:
    frame = rng_frame.rename(columns={"pred": "prediction"}).copy()
    frame["latency_ms"] = np.arange(len(frame)) % 50 + 0.5
    frame["blocked"] = np.arange(len(frame)) % 9 == 0
    frame.loc[::4, "label"] = np.nan  # some rows arrive unlabelled
    frame["timestamp"] = pd.Timestamp(clock.now) + pd.Timedelta(minutes=5)
    with act("service") as ctx:
        for i, part in enumerate((frame.iloc[:1_200], frame.iloc[1_200:])):
            ingest.ingest_records(ctx, "credit-limit", "prod", f"b{i}", part, release=live_small)
    with charter.db.transaction(write=False) as session:
        stored = session.scalars(select(MonitorBucket)).one()
        profile, labels = json.loads(stored.profile), json.loads(stored.labels_profile)
        rows, labelled, signals = stored.rows, stored.labelled, stored.signals
    (bucket,) = profile_rows(small_profile, frame).values()
    assert bucket.start == stored.bucket_start.replace(tzinfo=bucket.start.tzinfo)
    assert (bucket.rows, bucket.labelled) == (rows, labelled) == (2_000, 1_500)
    assert canonical_bytes(bucket.profile.to_dict()) == canonical_bytes(profile)
    assert bucket.labels is not None
    assert canonical_bytes(bucket.labels.to_dict()) == canonical_bytes(labels)
    assert bucket.signals == signals


def _stored(charter) -> list[tuple]:  # type: ignore[no-untyped-def]
    with charter.db.transaction(write=False) as session:
        return [
            (b.bucket_start, b.rows, b.labelled, b.profile, b.labels_profile, b.signals)
            for b in session.scalars(select(MonitorBucket).order_by(MonitorBucket.bucket_start))
        ]


def test_ingesting_profiles_stores_what_ingesting_rows_stores(
    act, live_small, rng_frame, small_profile, charter, clock
) -> None:
    frame = rng_frame.copy()
    frame["timestamp"] = pd.Timestamp(clock.now) + pd.Timedelta(minutes=1)
    with act("service") as ctx:
        ingest.ingest_records(ctx, "credit-limit", "prod", "rows", frame, release=live_small)
    by_rows = _stored(charter)
    with charter.db.transaction(write=True) as session:
        for bucket in session.scalars(select(MonitorBucket)):
            session.delete(bucket)
    # Two documents of halves of the rows fold into the same bucket as the rows did.
    halves = (frame.iloc[::2], frame.iloc[1::2])
    with act("service") as ctx:
        for i, half in enumerate(halves):
            document = profiles_document(
                small_profile, profile_rows(small_profile, half), release=live_small
            )
            summary = profile_ingest.ingest_profiles(ctx, "credit-limit", "prod", f"p{i}", document)
            assert summary["accepted"] == len(half) and summary["buckets"] == 1
        again = profile_ingest.ingest_profiles(ctx, "credit-limit", "prod", "p0", document)
        assert again["duplicate"] is True
    by_profiles = _stored(charter)
    assert len(by_profiles) == 1
    (start, rows, labelled, profile, labels, signals) = by_profiles[0]
    assert (start, rows, labelled, signals) == (*by_rows[0][:3], by_rows[0][5])
    assert canonical_bytes(json.loads(profile)) == canonical_bytes(json.loads(by_rows[0][3]))
    assert canonical_bytes(json.loads(labels)) == canonical_bytes(json.loads(by_rows[0][4]))
    with act("service") as ctx, pytest.raises(BadInput, match="unknown release"):
        profile_ingest.ingest_profiles(
            ctx, "credit-limit", "prod", "p9", {**document, "release": "0" * 64}
        )
    with act("auditor") as ctx, pytest.raises(Exception, match="may not"):
        profile_ingest.ingest_profiles(ctx, "credit-limit", "prod", "p8", document)
