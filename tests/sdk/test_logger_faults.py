"""The batched logger: bad values rejected per record, a dead thread restarted, bounded
flush and close, failures with reasons, a 2xx that is not a receipt not counted as sent."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sqlalchemy import func, select

from charter.sdk import CharterLogger
from charter.store.monitoring_models import MonitorBucket


def _rows(charter: Any) -> int:
    with charter.db.transaction(write=False) as session:
        return int(session.scalar(select(func.coalesce(func.sum(MonitorBucket.rows), 0))))


def test_numpy_and_nan_are_sent_and_a_bad_record_is_rejected_alone(
    charter: Any, deployed: dict[str, Any], proxy: Any, tokens: dict[str, str]
) -> None:
    logger = CharterLogger(
        proxy.url,
        tokens["service"],
        "credit-limit",
        "prod",
        release=deployed["digest"],
        flush_interval=0.1,
    )
    try:
        for i in range(5):
            logger.log({"features": {"x": np.float64(i)}, "prediction": np.int64(i % 2)})
        logger.log({"features": {"x": float("nan")}, "prediction": np.int64(1)})
        logger.log({"features": {"x": object()}, "prediction": 1})  # no JSON form
        assert logger.flush(10.0)
        assert logger.sent == 6 and logger.rejected == 1 and logger.failed == 0
        assert "record.features.x" in logger.failures[-1].reason
        assert logger.stats()["alive"]
        # A field the server refuses: the failure names it, and the thread lives on.
        logger.log({"features": {"x": [1, 2]}, "prediction": 1})
        assert logger.flush(10.0)
        refused = logger.failures[-1]
        assert refused.status == 422 and "records[0].x" in refused.reason
        logger.log({"features": {"x": 1.5}, "prediction": 0})
        assert logger.flush(10.0) and logger.sent == 7
    finally:
        assert logger.close(5.0)
    assert _rows(charter) == 7


def test_a_dead_thread_is_restarted_and_reported(
    deployed: dict[str, Any], proxy: Any, tokens: dict[str, str]
) -> None:
    logger = CharterLogger(
        proxy.url,
        tokens["service"],
        "credit-limit",
        "prod",
        release=deployed["digest"],
        flush_interval=0.1,
    )
    try:
        logger._queue.put("not a (kind, item) pair")  # what a bug in the thread would do
        deadline = time.monotonic() + 5
        while logger._thread.is_alive():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert "died" in logger.failures[-1].reason
        logger.log({"features": {"x": 0.5}, "prediction": 1})
        assert logger.restarts == 1 and logger._thread.is_alive()
        assert logger.flush(10.0) and logger.sent == 1
    finally:
        logger.close(5.0)


def test_a_2xx_that_is_not_a_receipt_is_not_sent(dead_end: Any) -> None:
    dead_end.mode("garbage")
    logger = CharterLogger(dead_end.url, "t", "s", "prod", flush_interval=0.05, retries=1)
    logger.log({"features": {"x": 1}})
    assert logger.flush(10.0)
    assert logger.sent == 0 and logger.failed == 1
    assert "not JSON" in logger.failures[-1].reason and logger.failures[-1].status == 200
    logger.close(2.0)


def test_500_is_retried_then_failed_with_its_reason(dead_end: Any) -> None:
    dead_end.mode("500")
    logger = CharterLogger(dead_end.url, "t", "s", "prod", flush_interval=0.05, retries=2)
    logger.log({"features": {"x": 1}})
    assert logger.flush(10.0)
    assert logger.failed == 1 and logger.failures[-1].status == 500
    assert "boom" in logger.failures[-1].reason
    logger.close(2.0)


def test_flush_and_close_return_within_their_timeout_against_a_hanging_server(
    dead_end: Any,
) -> None:
    dead_end.mode("slow")
    logger = CharterLogger(dead_end.url, "t", "s", "prod", flush_interval=0.05, timeout=5.0)
    for i in range(100):
        logger.log({"features": {"x": i}})
    started = time.monotonic()
    assert logger.flush(0.5) is False
    assert time.monotonic() - started < 0.8
    started = time.monotonic()
    assert logger.close(1.0) is False
    assert time.monotonic() - started < 1.5
    assert logger.sent == 0


def test_a_down_server_loses_records_visibly_not_silently(dead_end: Any) -> None:
    dead_end.down()
    logger = CharterLogger(dead_end.url, "t", "s", "prod", flush_interval=0.05, retries=1)
    logger.log({"features": {"x": 1}})
    assert logger.flush(10.0)
    assert logger.failed == 1 and "ConnectError" in logger.failures[-1].reason
    logger.close(2.0)


def test_a_full_queue_drops_instead_of_growing(dead_end: Any) -> None:
    dead_end.mode("slow")
    logger = CharterLogger(dead_end.url, "t", "s", "prod", max_queue=10, flush_interval=5)
    results = [logger.log({"features": {"x": i}}) for i in range(100)]
    assert results.count(False) == logger.dropped and logger.dropped >= 80
    assert logger.close(0.5) is False
