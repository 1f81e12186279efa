"""The profiles charter.spark computes (single process here; Spark equals it, see
tests/spark) are exactly what ingesting the same rows stores in the hour bucket."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import select

from charter.domain.canonical import canonical_bytes
from charter.services import ingest
from charter.spark import profile_rows
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
