"""End to end on the car-loan data through the service layer: reference, ingestion in time
order, late labels, the worker per window, an alert with hysteresis, a signed webhook."""

from __future__ import annotations

import hmac
import json
from hashlib import sha256
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from charter.services import alerts, ingest, portfolio, references, signals_view, worker
from charter.store.monitoring_models import Alert, Delivery, MonitorWindow

from .conftest import deploy_release, needs_car_loan

pytestmark = [pytest.mark.datasets, needs_car_loan]
CHUNK = 5_000
SECRET = "s3cret-for-tests"


@pytest.fixture
def replay(charter, act, clock, policy, car_loan, receiver, service_actor) -> dict[str, Any]:
    digest = deploy_release(charter, act)
    with act("developer") as ctx:
        references.set_reference(
            ctx, f"credit-limit@{digest}", car_loan["profile"].to_dict(), pii=["salary_range"]
        )
    with act("admin") as ctx:
        alerts.add_channel(ctx, "ops-hook", kind="webhook", url=receiver.url, secret=SECRET)
    analysis = car_loan["analysis"]
    rng = np.random.default_rng(1)
    runs = []
    for k, start in enumerate(range(0, len(analysis), CHUNK)):
        chunk = analysis.iloc[start : start + CHUNK]
        records = chunk.drop(columns=["repaid", "timestamp"]).rename(columns={"id": "inference_id"})
        records["inference_id"] = records["inference_id"].astype(str)
        records["latency_ms"] = rng.lognormal(3.0, 0.4, len(records))
        records["blocked"] = rng.random(len(records)) < 0.01
        records["fallback_used"] = False
        for i in range(0, len(records), 1_000):
            with act("service") as ctx:
                ingest.ingest_records(
                    ctx,
                    "credit-limit",
                    "prod",
                    f"c{k}-{i}",
                    records.iloc[i : i + 1_000],
                    release=digest,
                )
        labels = [
            {"inference_id": str(i), "label": float(y)}
            for i, y in zip(chunk["id"], chunk["repaid"], strict=True)
        ]
        with act("service") as ctx:
            summary = ingest.ingest_labels(ctx, "credit-limit", "prod", f"l{k}", labels)
        assert summary["matched"] == len(chunk)
        clock.advance(days=1)
        runs.append(worker.run_once(charter, service_actor, backoff=0.01))
    with charter.db.transaction(write=False) as session:
        windows = session.scalars(select(MonitorWindow).order_by(MonitorWindow.window_start)).all()
        results = [w.result for w in windows]
    return {"digest": digest, "windows": results, "runs": runs}


def test_car_loan_end_to_end(replay, charter, act, receiver) -> None:
    windows = replay["windows"]
    assert len(windows) == 10
    half = len(windows) // 2
    flagged = ["car_value" in w["drift"]["columns"] for w in windows]
    assert not any(flagged[:half]) and all(flagged[half:])
    realised = [w["realised"]["metrics"]["accuracy"] for w in windows]
    estimated = [w["estimated"]["accuracy"] for w in windows]
    assert min(realised[:half]) > max(realised[half:])
    assert min(estimated[:half]) > max(estimated[half:])
    mae = float(np.mean(np.abs(np.array(realised) - np.array(estimated))))
    assert mae < 0.01
    for w in windows:
        # Selection-rate parity by salary band, from the decisions alone (no labels used).
        rates = w["selection"]["cohorts"]
        assert len(rates) >= 2 and all(0 <= c["rate"] <= 1 for c in rates.values())
        assert w["selection"]["demographic_parity_ratio"] == pytest.approx(
            min(c["rate"] for c in rates.values()) / max(c["rate"] for c in rates.values()),
            abs=1e-5,
        )
        assert w["signals"]["accuracy"]["source"] == "realised"
        assert 10 < w["signals"]["latency_ms"]["p50"] < 40
        assert 0 < w["signals"]["block_rate"] < 0.03
        assert w["signals"]["fallback_rate"] == 0
    print("\nwindow flagged realised estimated")
    for i, w in enumerate(windows):
        print(i, w["drift"]["columns"], realised[i], estimated[i])
    print("MAE", mae)

    # open_after=2: accuracy and car_value drift alerts open at the 7th window, not before.
    opened = [sum(1 for t in w["transitions"] if "opened" in t) for w in windows]
    assert sum(opened[: half + 1]) == 0 and opened[half + 1] >= 2
    with charter.db.transaction(write=False) as session:
        open_alerts = session.scalars(select(Alert).where(Alert.status == "open")).all()
        monitors_open = {(a.monitor, a.subject) for a in open_alerts}
        assert ("performance", "accuracy") in monitors_open
        assert ("drift", "car_value") in monitors_open
        delivered = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "delivered")
        )
    assert delivered == len(receiver.requests) >= 2
    for request in receiver.requests:
        body = request["body"]
        expected = "sha256=" + hmac.new(SECRET.encode(), body, sha256).hexdigest()
        assert hmac.compare_digest(request["headers"]["X-Charter-Signature"], expected)
        assert json.loads(body)["event"] == "opened"

    with act("auditor", write=False) as ctx:
        signals = signals_view.monitoring_signals(ctx)
        listed = alerts.list_alerts(ctx, open_only=True, system_name="credit-limit")
    entry = signals[("credit-limit", "prod")]
    assert entry["drift"]["verdict"] == "drift" and "car_value" in entry["drift"]["columns"]
    assert entry["open_alerts"] == len(listed) >= 2
    assert entry["accuracy"]["realised"] < 0.93
    # `charter status` carries the same signals and flags what needs a look.
    with act("auditor", write=False) as ctx:
        (system,) = [s for s in portfolio.portfolio(ctx) if s["name"] == "credit-limit"]
    (prod,) = [e for e in system["environments"] if e["environment"] == "prod"]
    assert prod["monitoring"] == entry
    assert any(f.startswith("drift in ") and "car_value" in f for f in prod["flags"])
    assert f"{len(listed)} open alerts" in prod["flags"]
    assert system["needs_attention"]

    # A PII column never reaches the raw sample.
    from charter.store.monitoring_models import ObservationSample

    with charter.db.transaction(write=False) as session:
        samples = session.scalars(select(ObservationSample)).all()
    assert len(samples) == ingest.SAMPLE_SIZE
    assert all("salary_range" not in s.record and "car_value" in s.record for s in samples)
