"""The `charter` CLI (subprocess, local and remote) and the SDK logger against a real server."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.cli_runner import run_charter

from charter.api.app import create_app
from charter.sdk import CharterLogger
from charter.store.monitoring_models import MonitorBucket, ObservationBatch

from .conftest import Server


def run(database_url: str, token: str, *args: str, expect: int = 0, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    environ.update(CHARTER_DATABASE_URL=database_url, CHARTER_TOKEN=token, COLUMNS="200", **env)
    result = run_charter(list(args), environ)
    assert result.returncode == expect, (args, result.stdout, result.stderr)
    return result.stdout if expect == 0 else result.stderr


def _rows(charter) -> int:
    with charter.db.transaction(write=False) as session:
        return int(session.scalar(select(func.coalesce(func.sum(MonitorBucket.rows), 0))))


def test_cli_reference_log_worker_alerts(
    tmp_path: Path, charter, tokens, live_small, rng_frame, database_url
) -> None:
    ref = f"credit-limit@{live_small}"
    reference_csv = tmp_path / "reference.csv"
    rng_frame.to_csv(reference_csv, index=False)
    out = run(
        database_url,
        tokens["developer"],
        "reference",
        "set",
        ref,
        "--data",
        str(reference_csv),
        "--prediction",
        "pred",
        "--score",
        "score",
        "--label",
        "label",
        "--pii",
        "colour",
        "--format",
        "json",
        CHARTER_HOME=str(tmp_path),
    )
    assert json.loads(out)["created"] is True and json.loads(out)["pii"] == ["colour"]
    production = rng_frame.iloc[:600].drop(columns=["label"]).copy()
    production["inference_id"] = [f"p{i}" for i in range(600)]
    production.to_csv(tmp_path / "prod.csv", index=False)
    args = (
        "log",
        "credit-limit",
        "--env",
        "prod",
        "--data",
        str(tmp_path / "prod.csv"),
        "--release",
        live_small,
        "--batch-size",
        "200",
        "--format",
        "json",
    )
    assert json.loads(run(database_url, tokens["service"], *args)) == {
        "batches": 3,
        "rows": 600,
        "duplicates": 0,
    }
    assert json.loads(run(database_url, tokens["service"], *args))["duplicates"] == 3
    assert _rows(charter) == 600
    labels = rng_frame.iloc[:600][["label"]].assign(inference_id=[f"p{i}" for i in range(600)])
    labels.to_csv(tmp_path / "labels.csv", index=False)
    out = run(
        database_url,
        tokens["service"],
        "log",
        "credit-limit",
        "--env",
        "prod",
        "--labels",
        str(tmp_path / "labels.csv"),
        "--format",
        "json",
    )
    assert json.loads(out)["rows"] == 600
    worker = json.loads(
        run(database_url, tokens["service"], "worker", "--once", "--format", "json")
    )
    assert worker["routes"] == 1
    # The CSV has no timestamps: rows are arrival-stamped and the day's window is open.
    again = run(database_url, tokens["service"], "worker", "--once")
    assert "credit-limit/prod: window ending" in again and "is open until" in again
    assert (
        json.loads(run(database_url, tokens["auditor"], "alerts", "--open", "--format", "json"))[
            "items"
        ]
        == []
    )
    run(
        database_url,
        tokens["admin"],
        "alerts",
        "channel",
        "add",
        "hook",
        "--kind",
        "webhook",
        "--url",
        "http://127.0.0.1:9/hook",
        "--secret",
        "k",
    )
    listed = json.loads(
        run(database_url, tokens["admin"], "alerts", "channel", "list", "--format", "json")
    )
    assert listed["items"][0]["name"] == "hook"
    error = run(
        database_url,
        tokens["service"],
        "log",
        "credit-limit",
        "--env",
        "prod",
        "--data",
        str(tmp_path / "prod.csv"),
        "--release",
        "f" * 64,
        expect=2,
    )
    assert "unknown release digest" in error
    error = run(
        database_url,
        tokens["admin"],
        "alerts",
        "channel",
        "add",
        "x",
        "--kind",
        "webhook",
        "--url",
        "http://127.0.0.1:9/",
        expect=2,
    )
    assert "needs a secret" in error
    # Through a server the CLI sends Arrow batches; the outcome is the same.
    server = Server(create_app(charter))
    try:
        remote_args = (
            "log",
            "credit-limit",
            "--env",
            "prod",
            "--data",
            str(tmp_path / "prod.csv"),
            "--release",
            live_small,
            "--batch-size",
            "300",
            "--format",
            "json",
        )
        out = run(database_url, tokens["service"], *remote_args, CHARTER_URL=server.url)
        assert json.loads(out) == {"batches": 2, "rows": 600, "duplicates": 0}
        assert _rows(charter) == 1_200
        out = run(
            database_url, tokens["auditor"], "alerts", "--format", "json", CHARTER_URL=server.url
        )
        assert json.loads(out)["items"] == []
    finally:
        server.close()


def test_sdk_logger_batches_in_the_background(
    charter, tokens, live_small, rng_frame, clock
) -> None:
    server = Server(create_app(charter))
    try:
        with CharterLogger(
            server.url,
            tokens["service"],
            "credit-limit",
            "prod",
            release=live_small,
            batch_size=100,
            flush_interval=0.2,
        ) as logger:
            for i, row in enumerate(rng_frame.iloc[:450].itertuples(index=False)):
                logger.log(
                    {
                        "inference_id": f"sdk{i}",
                        "features": {"x": float(row.x), "colour": row.colour},
                        "prediction": int(row.pred),
                        "score": float(row.score),
                        "latency_ms": 4.2,
                        "guard": {"blocked": False},
                        # The server runs on the test clock, days behind the SDK's wall time.
                        "timestamp": clock.now.isoformat(),
                    }
                )
            logger.flush()
            for i, row in enumerate(rng_frame.iloc[:450].itertuples(index=False)):
                logger.label(f"sdk{i}", int(row.label))
        assert (logger.sent, logger.failed, logger.dropped) == (900, 0, 0)
        assert _rows(charter) == 450
        with charter.db.transaction(write=False) as session:
            assert session.scalar(select(func.sum(MonitorBucket.labelled))) == 450
            assert session.scalar(select(func.count()).select_from(ObservationBatch)) >= 9
        bad = CharterLogger(server.url, "wrong-token", "credit-limit", "prod", retries=0)
        bad.log({"features": {"x": 1.0}})
        bad.close()
        assert bad.failed == 1
    finally:
        server.close()
    # Deterministic drop: the sender thread is held inside its first request, so the queue
    # (room for one) fills with the second record and the third is dropped.
    sending, release = threading.Event(), threading.Event()

    def held(request: httpx.Request) -> httpx.Response:
        sending.set()
        release.wait(10)
        # The server's receipt names the batch (the logger counts only real receipts).
        body = json.loads(request.content)
        if "traces" in body:
            return httpx.Response(200, json={"accepted": len(body["traces"])})
        return httpx.Response(200, json={"batch_id": body.get("batch_id")})

    tiny = CharterLogger(
        "http://charter.invalid",
        "t",
        "s",
        "prod",
        max_queue=1,
        retries=0,
        flush_interval=60,
        transport=httpx.MockTransport(held),
    )
    assert tiny.log({"a": 1}) is True
    assert sending.wait(10)
    assert tiny.log({"a": 2}) is True
    assert tiny.log({"a": 3}) is False
    assert tiny.dropped == 1
    release.set()
    tiny.close()
    assert (tiny.sent, tiny.failed, tiny.dropped) == (2, 0, 1)
    with pytest.raises(RuntimeError):
        tiny.log({"a": 3})
