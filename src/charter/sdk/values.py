"""Making a record JSON-safe without importing NumPy or pandas.

Serving code hands the logger whatever its model produced: NumPy scalars and arrays,
``float('nan')``, datetimes, decimals. :func:`json_safe` converts what has a faithful JSON
form and refuses the rest with a reason naming the field, so one bad record is rejected on
its own instead of killing the sending thread.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

#: Deepest nesting accepted in a record.
MAX_DEPTH = 8


class RecordRejected(ValueError):
    """A record has a value with no JSON form; ``field`` says where."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _numpy_like(value: Any) -> bool:
    return type(value).__module__ == "numpy"


def json_safe(value: Any, field: str = "record", *, depth: int = 0) -> Any:
    """``value`` in a form ``json.dumps`` writes exactly; NaN and infinities become None.

    NumPy scalars become Python numbers (``.item()``), arrays lists, datetimes ISO 8601
    strings, decimals floats, sets sorted lists. Anything else raises RecordRejected.
    """
    if depth > MAX_DEPTH:
        raise RecordRejected(field, f"nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        # NaN and +-inf have no JSON form; "missing" is what they mean in a record.
        return value if math.isfinite(value) else None
    if _numpy_like(value):
        if hasattr(value, "tolist"):
            return json_safe(value.tolist(), field, depth=depth + 1)
        if hasattr(value, "item"):
            return json_safe(value.item(), field, depth=depth + 1)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return json_safe(float(value), field, depth=depth)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                if _numpy_like(key) or isinstance(key, (int, float, bool)):
                    key = str(json_safe(key, field, depth=depth + 1))
                else:
                    raise RecordRejected(field, f"key {key!r} is not a string")
            out[key] = json_safe(item, f"{field}.{key}", depth=depth + 1)
        return out
    if isinstance(value, (set, frozenset)):
        try:
            items = sorted(value)
        except TypeError:
            raise RecordRejected(field, "a set of mixed types has no stable order") from None
        return [json_safe(v, f"{field}[]", depth=depth + 1) for v in items]
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [json_safe(v, f"{field}[{i}]", depth=depth + 1) for i, v in enumerate(value)]
    if hasattr(value, "tolist"):  # pandas / arrow-like arrays, without importing them
        return json_safe(value.tolist(), field, depth=depth + 1)
    raise RecordRejected(field, f"a {type(value).__name__} has no JSON form")
