"""Ingestion through the HTTP API and the service: idempotent batches, limits, validation,
Arrow, labels, concurrency, the sample bound, and /metrics."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from starlette.exceptions import StarletteDeprecationWarning

from charter.api.app import create_app
from charter.domain.errors import BadInput, PayloadTooLarge
from charter.services import ingest, worker
from charter.store.models import AuditEvent
from charter.store.monitoring_models import MonitorBucket, ObservationBatch, ObservationSample

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

API = "/api/v1/systems/credit-limit"


def records(frame: pd.DataFrame, start: int = 0) -> list[dict[str, Any]]:
    """JSON records in the SDK's shape: nested features, generic prediction/score."""
    out = []
    for i, row in enumerate(frame.itertuples(index=False)):
        out.append(
            {
                "inference_id": f"i{start + i}",
                "features": {"x": float(row.x), "colour": row.colour},
                "prediction": int(row.pred),
                "score": float(row.score),
                "latency_ms": 5.0 + i % 7,
                "fallback_used": i % 10 == 0,
                "guard": {"blocked": i % 20 == 0},
            }
        )
    return out


@pytest.fixture
def client(charter) -> Any:
    with TestClient(create_app(charter)) as test_client:
        yield test_client


@pytest.fixture
def headers(tokens) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['service']}"}


def _rows(charter) -> int:
    with charter.db.transaction(write=False) as session:
        return int(session.scalar(select(func.coalesce(func.sum(MonitorBucket.rows), 0))))


def test_json_batches_are_idempotent_and_labels_join(
    client, headers, live_small, rng_frame, charter, clock, service_actor, tokens
) -> None:
    body = {"batch_id": "b-1", "release": live_small, "records": records(rng_frame.iloc[:500])}
    first = client.post(f"{API}/observations?env=prod", json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == 500 and not first.json()["duplicate"]
    again = client.post(f"{API}/observations?env=prod", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert _rows(charter) == 500
    labels = [
        {"inference_id": f"i{i}", "label": int(v)}
        for i, v in enumerate(rng_frame["label"].iloc[:500])
    ]
    labels.append({"inference_id": "never-logged", "label": 1})
    answer = client.post(
        f"{API}/labels?env=prod", json={"batch_id": "l-1", "labels": labels}, headers=headers
    ).json()
    assert (answer["matched"], answer["unknown"]) == (500, 1)
    retry = client.post(
        f"{API}/labels?env=prod", json={"batch_id": "l-1", "labels": labels}, headers=headers
    ).json()
    assert retry["duplicate"] is True
    relabel = client.post(
        f"{API}/labels?env=prod", json={"batch_id": "l-2", "labels": labels[:10]}, headers=headers
    ).json()
    assert relabel["already_labelled"] == 10 and relabel["matched"] == 0
    clock.advance(days=1)
    worker.run_once(charter, service_actor, backoff=0.01)
    # The service token logs; reading windows is for people (service least privilege).
    reader = {"Authorization": f"Bearer {tokens['risk_engineer']}"}
    window = client.get(f"{API}/windows?env=prod", headers=reader).json()["items"][0]
    assert window["rows"] == 500 and window["labelled"] == 500
    expected = float((rng_frame["pred"].iloc[:500] == rng_frame["label"].iloc[:500]).mean())
    assert window["realised"]["metrics"]["accuracy"] == pytest.approx(expected)
    signals = window["signals"]
    assert signals["fallback_rate"] == pytest.approx(0.1)
    assert signals["block_rate"] == pytest.approx(0.05)
    # The histogram's bins are 10^(1/20) wide (12.2% relative): each quantile is within that
    # of the exact one (see charter.monitoring.signal_counts).
    latencies = np.array([record["latency_ms"] for record in records(rng_frame.iloc[:500])])
    for key, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        exact = float(np.quantile(latencies, q))
        assert signals["latency_ms"][key] == pytest.approx(exact, rel=10 ** (1 / 20) - 1), key
    assert signals["latency_ms"]["n"] == 500
    metrics = client.get("/metrics", headers=reader)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = metrics.text
    samples = {
        (sample.name, sample.labels.get("quantile")): sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    where = {"system": "credit-limit", "release": live_small[:12], "environment": "prod"}
    assert samples[("charter_open_alerts", None)].labels == where
    latency = samples[("charter_latency_ms", "0.95")]
    assert latency.labels == {**where, "quantile": "0.95"}
    assert latency.value == signals["latency_ms"]["p95"]
    openmetrics = client.get(
        "/metrics", headers={**reader, "Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
    assert client.get("/metrics").status_code == 401


def test_arrow_batches(client, headers, live_small, rng_frame, charter) -> None:
    frame = rng_frame.drop(columns=["label"]).iloc[:300].copy()
    frame["inference_id"] = [f"a{i}" for i in range(len(frame))]
    frame["latency_ms"] = 3.0
    frame["blocked"] = False
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    payload = sink.getvalue().to_pybytes()
    arrow = {
        **headers,
        "Content-Type": "application/vnd.apache.arrow.stream",
        "X-Charter-Batch-Id": "arrow-1",
    }
    url = f"{API}/observations?env=prod&release={live_small}"
    response = client.post(url, content=payload, headers=arrow)
    assert response.status_code == 200, response.text
    assert client.post(url, content=payload, headers=arrow).json()["duplicate"] is True
    assert _rows(charter) == 300
    bad = client.post(url, content=b"not arrow", headers={**arrow, "X-Charter-Batch-Id": "x"})
    assert bad.status_code == 422


def test_bad_batches_are_refused_and_write_nothing(
    client, headers, live_small, rng_frame, charter
) -> None:
    with charter.db.transaction(write=False) as session:
        events = session.scalar(select(func.count()).select_from(AuditEvent))
    one = records(rng_frame.iloc[:1])
    too_many = {"batch_id": "big", "release": live_small, "records": one * 10_001}
    response = client.post(f"{API}/observations?env=prod", json=too_many, headers=headers)
    assert response.status_code == 413, response.text
    unknown = {"batch_id": "u", "release": "f" * 64, "records": one}
    response = client.post(f"{API}/observations?env=prod", json=unknown, headers=headers)
    assert response.status_code == 422 and "unknown release digest" in response.json()["detail"]
    cases = [
        (
            {
                "batch_id": "s",
                "release": live_small,
                "records": [{**one[0], "features": {"colour": "x" * 5_000}}],
            },
            413,
        ),
        (
            {"batch_id": "n", "release": live_small, "records": [{**one[0], "latency_ms": "slow"}]},
            422,
        ),
        (
            {
                "batch_id": "g",
                "release": live_small,
                "records": [{**one[0], "guard": {"blocked": "maybe"}}],
            },
            422,
        ),
        ({"batch_id": "bad id!", "release": live_small, "records": one}, 422),
        ({"batch_id": "e", "release": live_small, "records": []}, 422),
        ({"batch_id": "w", "release": live_small, "records": [{"nothing": 1}]}, 422),
    ]
    for body, code in cases:
        response = client.post(f"{API}/observations?env=prod", json=body, headers=headers)
        assert response.status_code == code, (body["batch_id"], response.text)
    assert (
        client.post(
            f"{API}/observations?env=prod", json=too_many, headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    with charter.db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(ObservationBatch)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert _rows(charter) == 0


def test_wrong_types_count_as_type_errors(act, live_small, rng_frame, charter) -> None:
    rows = records(rng_frame.iloc[:200])
    rows[0]["features"]["x"] = "not a number"
    with act("service") as ctx:
        summary = ingest.ingest_records(ctx, "credit-limit", "prod", "t1", rows, release=live_small)
    assert summary["releases"][live_small]["type_errors"] == {"x": 1}
    with act("auditor") as ctx, pytest.raises(Exception, match="may not"):
        ingest.ingest_records(ctx, "credit-limit", "prod", "t2", rows, release=live_small)


def test_concurrent_ingestion_keeps_counts(act, live_small, rng_frame, charter) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for j in range(3):
                batch = records(rng_frame.iloc[:100], start=(n * 3 + j) * 100)
                with act("service") as ctx:
                    ingest.ingest_records(
                        ctx, "credit-limit", "prod", f"t{n}-{j}", batch, release=live_small
                    )
                with act("service") as ctx:  # a retry of the same batch
                    ingest.ingest_records(
                        ctx, "credit-limit", "prod", f"t{n}-{j}", batch, release=live_small
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _rows(charter) == 1_800
    with charter.db.transaction(write=False) as session:
        bucket = session.scalar(select(MonitorBucket))
        assert bucket.signals["rows"] == 1_800 and bucket.signals["latency_n"] == 1_800
        assert session.scalar(select(func.count()).select_from(ObservationBatch)) == 18


def test_sample_is_bounded(act, live_small, rng_frame, charter) -> None:
    for k in range(3):
        with act("service") as ctx:
            ingest.ingest_records(
                ctx,
                "credit-limit",
                "prod",
                f"s{k}",
                records(rng_frame.iloc[:400], start=k * 400),
                release=live_small,
                sample_size=500,
            )
    with charter.db.transaction(write=False) as session:
        kept = session.scalars(select(ObservationSample.inference_id)).all()
    assert len(kept) == 500 and "i1199" in kept and "i0" not in kept


def test_limits_in_the_service(act, live_small) -> None:
    with act("service") as ctx, pytest.raises(PayloadTooLarge):
        ingest.ingest_records(ctx, "credit-limit", "prod", "x", [{}] * 10_001)
    with act("service") as ctx, pytest.raises(BadInput):
        ingest.ingest_labels(ctx, "credit-limit", "prod", "x", [{"inference_id": "a"}])
    assert np.isfinite(1.0)
