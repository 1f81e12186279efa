"""JSON-safe records: NumPy scalars and NaN converted, values with no JSON form refused."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math

import numpy as np
import pytest

from charter.sdk import RecordRejected, json_safe


def test_numpy_scalars_arrays_and_nan_become_json() -> None:
    record = {
        "features": {"x": np.float32(0.5), "n": np.int64(7), "flag": np.bool_(True)},
        "score": float("nan"),
        "inf": np.float64("inf"),
        "vec": np.array([1.0, np.nan]),
        "when": dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        "amount": decimal.Decimal("1.25"),
        "tags": {"b", "a"},
        np.int64(3): "numpy key",
    }
    safe = json_safe(record)
    text = json.dumps(safe, allow_nan=False)  # raises if anything non-JSON is left
    back = json.loads(text)
    assert back["features"] == {"x": 0.5, "n": 7, "flag": True}
    assert type(safe["features"]["n"]) is int and type(safe["features"]["flag"]) is bool
    assert back["score"] is None and back["inf"] is None
    assert back["vec"] == [1.0, None]
    assert back["when"] == "2026-01-02T00:00:00+00:00"
    assert back["amount"] == 1.25 and back["tags"] == ["a", "b"] and back["3"] == "numpy key"
    assert math.isclose(json_safe(np.float16(0.25)), 0.25)


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"features": {"model": object()}}, "record.features.model"),
        ({"blob": b"\x00"}, "record.blob"),
        ({(1, 2): "tuple key"}, "record"),
    ],
)
def test_values_without_a_json_form_are_refused_naming_the_field(value, where) -> None:
    with pytest.raises(RecordRejected) as caught:
        json_safe(value)
    assert caught.value.field == where


def test_deep_nesting_is_refused() -> None:
    deep: dict = {}
    node = deep
    for _ in range(20):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(RecordRejected, match="nested deeper"):
        json_safe(deep)
