"""The SDK's event time and predictions of text answers, against the real API on loopback:
``clock`` stamps records and traces (a replay, the demo's simulated day), ``prediction``
turns an answer that is not a number into the record's prediction."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from charter.sdk import Serving
from charter.store.runtime_models import InferenceTrace


class Recording(httpx.HTTPTransport):
    """A real transport that keeps the JSON bodies the SDK posts."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[tuple[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.posted.append((request.url.path, json.loads(request.content)))
        return super().handle_request(request)


def test_records_and_traces_carry_the_given_clock_and_the_mapped_prediction(
    charter: Any, tokens: dict[str, str], deployed: dict[str, Any], server: Any, clock: Any
) -> None:
    then = clock() - timedelta(hours=3)
    transport = Recording()
    serving = Serving(
        server.url,
        tokens["service"],
        "credit-limit",
        "prod",
        refresh=60.0,
        timeout=5.0,
        guard=False,
        transport=transport,
        clock=then.timestamp,
    )
    decide = serving.wrap(prediction=lambda answer: int(answer == "approve"))(
        lambda features: "approve" if features["income"] > 40_000 else "refer"
    )
    high = decide({"income": 52_000}, inference_id="evt-1")
    low = decide({"income": 12_000}, inference_id="evt-2")
    assert serving.close(timeout=10.0)
    assert (high.answer, low.answer) == ("approve", "refer")
    records = [
        r
        for path, body in transport.posted
        if path.endswith("/observations")
        for r in body["records"]
    ]
    traces = [
        t for path, body in transport.posted if path.endswith("/traces") for t in body["traces"]
    ]
    assert {r["inference_id"]: r["prediction"] for r in records} == {"evt-1": 1, "evt-2": 0}
    assert {r["timestamp"] for r in records} == {then.isoformat()}
    assert {t["at"] for t in traces} == {then.isoformat()}
    # The server took them, on that time.
    with charter.act(tokens["admin"], write=False) as ctx:
        stored = {
            row.inference_id: row.at
            for row in ctx.session.scalars(
                select(InferenceTrace).where(InferenceTrace.inference_id.in_(["evt-1", "evt-2"]))
            )
        }
    assert {k: v.replace(tzinfo=then.tzinfo) for k, v in stored.items()} == {
        "evt-1": then,
        "evt-2": then,
    }
