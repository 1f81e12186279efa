"""Trace batches: a retried batch is counted once, however large; bad traces write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from charter.domain.errors import BadInput
from charter.services import trace
from charter.store.runtime_models import InferenceTrace


def _traces(count: int, start: int = 0) -> list[dict[str, Any]]:
    at = datetime(2026, 12, 1, 12, tzinfo=UTC)
    return [
        {
            "inference_id": f"inf-{i:05d}",
            "served": "release",
            "route_state": "serving",
            "guard": {"input": {"verdict": "allow"}},
            "record": {"question": "where is my card?"},
            "flags": [],
            "at": (at + timedelta(seconds=i)).isoformat(),
        }
        for i in range(start, start + count)
    ]


def _stored(act: Any) -> int:
    with act("admin", write=False) as ctx:
        return int(ctx.session.scalar(select(func.count()).select_from(InferenceTrace)) or 0)


def test_a_retried_batch_of_thousands_is_counted_once(system: str, act: Any) -> None:
    # More ids than one IN (...) lookup holds: the duplicates past the first chunk must be
    # found too (they were not, and the retry failed on the unique constraint).
    batch = _traces(2_500)
    with act("service") as ctx:
        assert trace.record_traces(ctx, system, "prod", batch) == {
            "accepted": 2_500,
            "duplicates": 0,
        }
    with act("service") as ctx:
        again = trace.record_traces(ctx, system, "prod", batch[1_000:] + _traces(5, 2_500))
    assert again == {"accepted": 5, "duplicates": 1_500}
    # The same ids in another environment are other inferences.
    with act("service") as ctx:
        assert trace.record_traces(ctx, system, "staging", batch[:10])["accepted"] == 10
    # Repeats inside one batch count once.
    with act("service") as ctx:
        inside = trace.record_traces(ctx, system, "prod", _traces(3, 9_000) * 2)
    assert inside == {"accepted": 3, "duplicates": 3}
    assert _stored(act) == 2_500 + 5 + 10 + 3
    with act("auditor", write=False) as ctx:
        found = trace.trace(ctx, "inf-02501", system=system)
    assert found["inference_id"] == "inf-02501"


def test_a_bad_trace_anywhere_writes_nothing(system: str, act: Any) -> None:
    batch = _traces(1_200)
    batch[1_100]["at"] = "not a time"
    with act("service") as ctx, pytest.raises(BadInput, match=r"1100"):
        trace.record_traces(ctx, system, "prod", batch)
    assert _stored(act) == 0
