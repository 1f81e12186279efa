"""Profiles, not rows: a profiles document submitted through the operation, the API (a
real server), ``charter log --profiles`` and ``charter.spark.submit_profiles`` stores what
ingesting the same rows stores; batch ids count once per environment; event time holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from charter.api.app import create_app
from charter.domain.canonical import canonical_bytes
from charter.domain.errors import BadInput, PayloadTooLarge
from charter.services import ingest, profile_ingest, worker
from charter.services.operations import monitoring as operations
from charter.spark import profile_rows, profiles_document, split_document, submit_profiles
from charter.store.monitoring_models import MonitorBucket

from .conftest import Server
from .test_cli_sdk import run

DAY0 = datetime(2026, 11, 20, tzinfo=UTC)


def stamped(frame: pd.DataFrame, start: datetime, step: timedelta) -> pd.DataFrame:
    out = frame.copy()
    out["timestamp"] = [(start + i * step).isoformat() for i in range(len(out))]
    out["latency_ms"] = np.arange(len(out)) % 40 + 1.5
    return out


def stored(charter, environment: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    """Each bucket of the environment in canonical form (profiles as canonical bytes)."""
    with charter.db.transaction(write=False) as session:
        return [
            (
                b.bucket_start,
                b.rows,
                b.labelled,
                canonical_bytes(json.loads(b.profile)),
                canonical_bytes(json.loads(b.labels_profile)) if b.labels_profile else None,
                canonical_bytes(b.signals),
                b.event_max,
                b.arrival_rows,
            )
            for b in session.scalars(
                select(MonitorBucket)
                .where(MonitorBucket.environment == environment)
                .order_by(MonitorBucket.bucket_start)
            )
        ]


def test_profiles_equal_rows_per_environment_and_event_time(
    act, live_small, rng_frame, small_profile, charter, service_actor
) -> None:
    rows = stamped(rng_frame.iloc[:400], DAY0, timedelta(seconds=490))  # ~54 hours
    with act("service") as ctx:
        ingest.ingest_records(ctx, "credit-limit", "prod", "rows", rows, release=live_small)
    document = profiles_document(small_profile, profile_rows(small_profile, rows))
    with act("service") as ctx:
        first = operations.log_profiles(ctx, "credit-limit", "staging", "p-1", document, live_small)
        again = operations.log_profiles(ctx, "credit-limit", "staging", "p-1", document, live_small)
        # The same batch id in another environment is another batch.
        dev = operations.log_profiles(ctx, "credit-limit", "dev", "p-1", document, live_small)
    assert (first.duplicate, again.duplicate, dev.duplicate) == (False, True, False)
    assert first.model_dump()["accepted"] == len(rows) == dev.model_dump()["accepted"]
    by_rows = stored(charter, "prod")
    assert len(by_rows) == first.model_dump()["buckets"] == 55
    # Rows and profiles store the same buckets, byte for byte, down to the event times.
    assert stored(charter, "staging") == by_rows == stored(charter, "dev")

    # Event time: the profiles' event_max moves the watermark as the rows' timestamps do.
    # Nothing in the system is live in staging, so judge prod, whose buckets equal them.
    summary = worker.run_once(charter, service_actor, deliver=False)
    assert summary["windows"] == 2  # 11-20 and 11-21 complete; 11-22 waits for lateness
    # An hour of a judged window submitted later is late, as late rows are.
    late = profiles_document(
        small_profile,
        profile_rows(
            small_profile,
            stamped(rng_frame.iloc[:30], DAY0 + timedelta(hours=3), timedelta(minutes=1)),
        ),
    )
    with act("service") as ctx:
        answer = profile_ingest.ingest_profiles(
            ctx, "credit-limit", "prod", "late", late, release=live_small
        )
    assert answer["late"] == 30 and answer["buckets"] == 1


def test_refusals_write_nothing(act, live_small, rng_frame, small_profile, charter) -> None:
    rows = stamped(rng_frame.iloc[:50], DAY0, timedelta(minutes=3))
    document = profiles_document(small_profile, profile_rows(small_profile, rows))
    cases = [
        ({**document, "reference": "0" * 64}, BadInput, "another reference"),
        ({**document, "release": "f" * 64}, BadInput, "unknown release"),
        ({**document, "environment": "dev"}, BadInput, "made for environment 'dev'"),
        ({**document, "format": "x"}, BadInput, "not a Charter profiles document"),
        (
            {**document, "buckets": [{"start": "2026-11-20T00:30:00+00:00"}]},
            BadInput,
            "on the hour",
        ),
        ({**document, "buckets": []}, BadInput, "no buckets"),
        (
            {**document, "buckets": [{**document["buckets"][0], "signals": 5}]},
            BadInput,
            "malformed",
        ),
        ({**document, "buckets": [{**document["buckets"][0], "rows": -1}]}, BadInput, "range"),
        ({**document, "buckets": [{}] * 1_001}, PayloadTooLarge, "at most 1000 buckets"),
    ]
    future = profiles_document(
        small_profile,
        profile_rows(
            small_profile,
            stamped(rng_frame.iloc[:5], DAY0 + timedelta(days=9), timedelta(minutes=1)),
        ),
    )
    cases.append((future, BadInput, "ahead of the server's clock"))
    for i, (bad, error, message) in enumerate(cases):
        with act("service") as ctx, pytest.raises(error, match=message):
            profile_ingest.ingest_profiles(
                ctx, "credit-limit", "prod", f"bad-{i}", bad, release=live_small
            )
    with act("service") as ctx, pytest.raises(BadInput, match="batch_id"):
        profile_ingest.ingest_profiles(ctx, "credit-limit", "prod", "a b", document)
    with act("service") as ctx, pytest.raises(BadInput, match="unknown environment"):
        profile_ingest.ingest_profiles(ctx, "credit-limit", "qa", "ok", document)
    with act("auditor") as ctx, pytest.raises(Exception, match="may not"):
        profile_ingest.ingest_profiles(ctx, "credit-limit", "prod", "ok", document)
    assert stored(charter, "prod") == []


def test_split_document_is_deterministic_and_bounded(rng_frame, small_profile) -> None:
    rows = stamped(rng_frame.iloc[:134], DAY0, timedelta(minutes=30))
    document = profiles_document(small_profile, profile_rows(small_profile, rows))
    parts = split_document(document, max_buckets=20)
    assert [len(p["buckets"]) for p in parts] == [20, 20, 20, 7]
    assert [b for p in parts for b in p["buckets"]] == document["buckets"]
    assert split_document(document, max_buckets=20) == parts
    small = split_document(document, max_bytes=60_000)
    assert (
        all(len(json.dumps(p, separators=(",", ":"))) <= 60_000 for p in small) and len(small) > 1
    )


def test_submit_profiles_and_cli_through_a_real_server(
    tmp_path: Path, act, live_small, rng_frame, small_profile, charter, tokens, database_url
) -> None:
    rows = stamped(rng_frame.iloc[:600], DAY0, timedelta(seconds=120))  # 20 hours
    with act("service") as ctx:
        ingest.ingest_records(ctx, "credit-limit", "prod", "rows", rows, release=live_small)
    document = profiles_document(
        small_profile, profile_rows(small_profile, rows), release=live_small
    )
    server = Server(create_app(charter))
    try:
        kwargs = {"system": "credit-limit", "url": server.url, "token": tokens["service"]}
        sent = submit_profiles(document, environment="staging", **kwargs)
        assert (sent["batches"], sent["buckets"], sent["accepted"]) == (1, 20, len(rows))
        assert submit_profiles(document, environment="staging", **kwargs)["duplicates"] == 1
        assert stored(charter, "staging") == stored(charter, "prod")
        with pytest.raises(BadInput, match="422.*another reference"):
            submit_profiles({**document, "reference": "0" * 64}, environment="dev", **kwargs)
        headers = {"Authorization": f"Bearer {tokens['service']}"}
        url = f"{server.url}/api/v1/systems/credit-limit/profiles"
        answer = httpx.post(url, params={"env": "dev"}, json={"batch_id": "x"}, headers=headers)
        assert answer.status_code == 422 and "document" in answer.text
        huge = {"batch_id": "x", "document": {"pad": "x" * (5 * 1024 * 1024)}}
        assert httpx.post(url, params={"env": "dev"}, json=huge, headers=headers).status_code == 413
        auditor = {"Authorization": f"Bearer {tokens['auditor']}"}
        body = {"batch_id": "y", "document": document}
        assert httpx.post(url, params={"env": "dev"}, json=body, headers=auditor).status_code == 403
        assert stored(charter, "dev") == []

        # `charter log --profiles` (a subprocess, remote), the same path as the local one.
        path = tmp_path / "profiles.json"
        path.write_text(json.dumps(document))
        args = ("log", "credit-limit", "--env", "dev", "--profiles", str(path), "--format", "json")
        out = run(database_url, tokens["service"], *args, CHARTER_URL=server.url)
        assert json.loads(out) == {"batches": 1, "buckets": 20, "rows": 600, "duplicates": 0}
        assert stored(charter, "dev") == stored(charter, "prod")
    finally:
        server.close()
