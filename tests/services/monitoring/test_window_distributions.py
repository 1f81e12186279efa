"""Distributions through the worker and the windows view: the shares stored with a judged
window match numpy/pandas on the rows that were logged, and a window stored before
Charter kept them reads back as ``distribution: None`` and renders with a note."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from charter.cli.windows_report import render_html, render_text
from charter.documents.windows_html import NOT_STORED
from charter.services import signals_view, worker
from charter.store.monitoring_models import MonitorWindow

from .test_worker_alerts import feed


@pytest.fixture
def client(charter: Any) -> Iterator[Any]:
    """The real app over ASGI, on the same database."""
    import warnings

    from starlette.exceptions import StarletteDeprecationWarning

    from charter.api.app import create_app

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=StarletteDeprecationWarning)
        from fastapi.testclient import TestClient
    with TestClient(create_app(charter)) as test_client:
        yield test_client


def test_worker_stores_distributions_and_old_windows_still_read(
    act,
    live_small,
    rng_frame,
    charter,
    clock,
    service_actor,
    client,
    tokens,
) -> None:
    shift = 0.5
    for k, delta in enumerate((0.0, shift)):
        feed(act, live_small, rng_frame.iloc[:600], f"w{k}", shift=delta, start=k * 600)
        clock.advance(days=1)
        worker.run_once(charter, service_actor, backoff=0.01)
    with act("auditor") as ctx:
        newest, oldest = signals_view.windows(ctx, "credit-limit", "prod")
    details = newest["drift"]["details"]
    assert set(details) == {"x", "colour", "pred", "score"}

    x = details["x"]["distribution"]
    logged = rng_frame["x"].iloc[:600].to_numpy() + shift
    bounds = [-np.inf, *x["edges"], np.nextafter(x["edges"][-1], np.inf), np.inf]
    counts, _ = np.histogram(logged, bins=bounds)
    expected = np.array([*counts[:-3], counts[-3] + counts[-2], counts[-1]]) / logged.size
    np.testing.assert_allclose(x["window"], expected, rtol=1e-12)
    reference_x = rng_frame["x"].to_numpy()
    counts, _ = np.histogram(reference_x, bins=bounds)
    expected = np.array([*counts[:-3], counts[-3] + counts[-2], counts[-1]]) / reference_x.size
    np.testing.assert_allclose(x["reference"], expected, rtol=1e-12)
    assert x["window"][-1] > 0  # shifted rows above the reference maximum have their bin

    colour = details["colour"]["distribution"]
    shares = pd.Series(rng_frame["colour"].iloc[:600]).value_counts(normalize=True)
    assert colour["window"] == [float(shares.get(c, 0.0)) for c in colour["labels"][:-2]] + [0, 0]

    # A window judged before distributions were stored: the view fills in None.
    with charter.db.transaction(write=True) as session:
        row = session.scalars(select(MonitorWindow).order_by(MonitorWindow.window_start)).first()
        result = dict(row.result)
        result["drift"] = {
            **result["drift"],
            "details": {
                c: {k: v for k, v in d.items() if k != "distribution"}
                for c, d in result["drift"]["details"].items()
            },
        }
        row.result = result
    with act("auditor") as ctx:
        newest, oldest = signals_view.windows(ctx, "credit-limit", "prod")
    assert all(d["distribution"] is None for d in oldest["drift"]["details"].values())
    assert all(d["distribution"] for d in newest["drift"]["details"].values())
    # The API's route returns the same JSON as the service (what `charter windows` reads).
    answer = client.get(
        "/api/v1/systems/credit-limit/windows",
        params={"env": "prod"},
        headers={"Authorization": f"Bearer {tokens['auditor']}"},
    )
    assert answer.status_code == 200
    assert answer.json()["items"] == json.loads(json.dumps([newest, oldest]))
    page = render_html("credit-limit", [newest, oldest])
    assert page.count(NOT_STORED) == 4
    assert "distributions: not stored for this window" in render_text([newest, oldest])
