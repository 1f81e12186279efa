"""Event time: records bucketed by their own timestamps, windows closed by the watermark,
late records revising their window, future timestamps refused; batch ids per environment;
the live release as the default and digest prefixes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from charter.domain.errors import BadInput
from charter.services import ingest, worker
from charter.store.monitoring_models import MonitorBucket, MonitorWindow, ObservationBatch

from .conftest import deploy_release

DAY0 = datetime(2026, 11, 20, tzinfo=UTC)  # the fake clock stands at 2026-11-24 12:00


def stamped(frame: pd.DataFrame, start: datetime, step: timedelta) -> pd.DataFrame:
    out = frame.drop(columns=["label"]).reset_index(drop=True).copy()
    out["timestamp"] = [(start + i * step).isoformat() for i in range(len(out))]
    return out


def rows_in(charter, environment: str) -> int:
    with charter.db.transaction(write=False) as session:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(MonitorBucket.rows), 0)).where(
                    MonitorBucket.environment == environment
                )
            )
        )


def test_the_same_batch_in_two_environments_is_stored_in_both(
    act, live_small, rng_frame, charter
) -> None:
    batch = rng_frame.drop(columns=["label"]).iloc[:50]
    for env in ("prod", "staging", "prod", "staging"):
        with act("service") as ctx:
            ingest.ingest_records(ctx, "credit-limit", env, "b-1", batch, release=live_small)
    assert rows_in(charter, "prod") == 50 and rows_in(charter, "staging") == 50
    with act("service") as ctx:
        again = ingest.ingest_records(ctx, "credit-limit", "staging", "b-1", batch)
    assert again["duplicate"] is True and again["environment"] == "staging"
    with charter.db.transaction(write=False) as session:
        kept = session.execute(select(ObservationBatch.environment, ObservationBatch.batch_id))
        assert sorted(kept) == [("prod", "b-1"), ("staging", "b-1")]


def test_release_defaults_to_the_live_one_and_takes_a_prefix(
    act, live_small, rng_frame, charter
) -> None:
    batch = rng_frame.drop(columns=["label"]).iloc[:10]
    with act("service") as ctx:
        live = ingest.ingest_records(ctx, "credit-limit", "prod", "d-1", batch)
        short = ingest.ingest_records(
            ctx, "credit-limit", "prod", "d-2", batch, release=live_small[:12]
        )
    assert list(live["releases"]) == [live_small] == list(short["releases"])
    with act("service") as ctx, pytest.raises(BadInput, match="no release .* is live in 'staging'"):
        ingest.ingest_records(ctx, "credit-limit", "staging", "d-3", batch)
    with act("service") as ctx, pytest.raises(BadInput, match="unknown release digest"):
        ingest.ingest_records(ctx, "credit-limit", "prod", "d-4", batch, release="abcdef0")
    with act("service") as ctx, pytest.raises(BadInput, match="invalid release digest"):
        ingest.ingest_records(ctx, "credit-limit", "prod", "d-5", batch, release="abc")


def test_event_time_windows_late_records_and_future_timestamps(
    act, live_small, rng_frame, charter, service_actor
) -> None:
    # 2,000 records over 2026-11-20 00:00 .. 2026-11-22 ~16:00, one every 100 s.
    history = stamped(rng_frame, DAY0, timedelta(seconds=100))
    for i in range(0, len(history), 1_000):
        with act("service") as ctx:
            ingest.ingest_records(
                ctx,
                "credit-limit",
                "prod",
                f"h-{i}",
                history.iloc[i : i + 1_000],
                release=live_small,
            )
    with charter.db.transaction(write=False) as session:
        starts = list(session.scalars(select(MonitorBucket.bucket_start)))
    assert min(starts) == DAY0 and len(starts) == len({s for s in starts})
    assert len(starts) == pd.Series(pd.to_datetime(history["timestamp"])).dt.floor("h").nunique()

    summary = worker.run_once(charter, service_actor, deliver=False)
    # The watermark is the latest event (11-22 ~07:30): days 20 and 21 are complete.
    assert summary["windows"] == 2
    with charter.db.transaction(write=False) as session:
        windows = session.scalars(select(MonitorWindow).order_by(MonitorWindow.window_start)).all()
        assert [w.window_start for w in windows] == [DAY0, DAY0 + timedelta(days=1)]
        assert [w.rows for w in windows] == [864, 864]  # 86,400 s / 100 s
    again = worker.run_once(charter, service_actor, deliver=False)
    assert again["windows"] == 0
    assert any("is open until the watermark" in note for note in again["notes"])

    # Late records for day 20 are counted as late and revise that window.
    late = stamped(rng_frame.iloc[:30], DAY0 + timedelta(hours=5), timedelta(minutes=1))
    with act("service") as ctx:
        answer = ingest.ingest_records(
            ctx, "credit-limit", "prod", "late-1", late, release=live_small
        )
    assert answer["late"] == 30
    worker.run_once(charter, service_actor, deliver=False)
    with charter.db.transaction(write=False) as session:
        first = session.scalars(select(MonitorWindow).order_by(MonitorWindow.window_start)).first()
        assert first is not None
        assert first.rows == 894 and first.result["late"] == 30
        assert first.result["rows"] == 894
        (revision,) = first.result["revisions"]
        assert (revision["rows_before"], revision["rows"], revision["late"]) == (864, 894, 30)

    # A timestamp more than five minutes ahead of the clock refuses the batch, naming the row.
    ahead = stamped(
        rng_frame.iloc[:5], datetime(2026, 11, 24, 12, 0, tzinfo=UTC), timedelta(minutes=2)
    )
    before = rows_in(charter, "prod")
    with act("service") as ctx, pytest.raises(BadInput, match="in the future") as refused:
        ingest.ingest_records(ctx, "credit-limit", "prod", "f-1", ahead, release=live_small)
    assert refused.value.location == "records[3].timestamp"
    assert rows_in(charter, "prod") == before
    bad = stamped(rng_frame.iloc[:3], DAY0, timedelta(minutes=1))
    bad.loc[1, "timestamp"] = "yesterday"
    with act("service") as ctx, pytest.raises(BadInput, match="not an ISO 8601 time") as refused:
        ingest.ingest_records(ctx, "credit-limit", "prod", "f-2", bad, release=live_small)
    assert refused.value.location == "records[1].timestamp"


def test_worker_says_why_it_judged_nothing(act, charter, policy, service_actor) -> None:
    assert worker.run_once(charter, service_actor, deliver=False)["notes"] == [
        "no live route: deploy a release to an environment first"
    ]
    deploy_release(charter, act)  # its evidence includes a reference profile
    (note,) = worker.run_once(charter, service_actor, deliver=False)["notes"]
    assert note == "credit-limit/prod: no records since the last window"
