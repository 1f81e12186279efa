"""Checks on observation values that must never be dropped or counted silently.

A module of its own in the ingest package, so normalising and folding stay about that;
each check raises :class:`BadInput` naming the field and the row, before anything
of the batch is written (the batch is one transaction).

- ``latency_ms`` must be a finite, non-negative number: ``Infinity``, ``inf`` in a CSV or a
  NaN sent as a value would otherwise vanish from the latency counts;
- a label must be a finite scalar and, when the release's reference fixes the classes, one
  of them: a ``NaN`` or ``"yes"`` counted as a label marks the inference labelled, and the
  real label sent later is then refused as "already labelled".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.monitoring import ReferenceProfile
from charter.monitoring.categorical import category_text


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def latency_values(series: pd.Series) -> np.ndarray:
    """``latency_ms`` as floats (NaN where absent), refusing any value that is not a finite,
    non-negative number, naming the first bad row."""
    raw = series.tolist()
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    # Absent (None, or a CSV cell left empty) is allowed; a NaN *sent* as a value is not.
    if pd.api.types.is_numeric_dtype(series.dtype):
        absent = np.isnan(values)  # a numeric column: empty cells were read as NaN
    else:  # text or mixed values: a null is absent (a record without the field); "slow",
        # "nan" or "inf" sent as a value is not
        absent = np.array(
            [
                value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
                for value in raw
            ],
            dtype=bool,
        )
    bad = (~absent & ~np.isfinite(values)) | (np.isfinite(values) & (values < 0))
    if bad.any():
        row = _first(bad)
        raise BadInput(
            f"latency_ms must be a finite, non-negative number; row {row} has {raw[row]!r}",
            location=f"records[{row}].latency_ms",
        )
    return values


def check_label_value(label: Any, index: int) -> None:
    """Refuse a label that is a non-finite number (NaN, Infinity)."""
    if isinstance(label, float) and not math.isfinite(label):
        raise BadInput(f"label {label!r} is not a label value", location=f"labels[{index}].label")


def check_label_classes(
    reference: ReferenceProfile,
    pairs: Iterable[tuple[str, Any]],
    labels: Sequence[Any],
) -> None:
    """Refuse labels outside the classes the release's reference was built with."""
    setup = reference.performance
    if setup is None or not setup.classes:
        return
    classes = set(setup.classes)
    wrong = [(key, value) for key, value in pairs if category_text(value) not in classes]
    if not wrong:
        return
    key, value = wrong[0]
    index = next(
        (
            i
            for i, item in enumerate(labels)
            if isinstance(item, dict) and str(item.get("inference_id")) == key
        ),
        0,
    )
    raise BadInput(
        f"label {value!r} of inference {key!r} is not one of the reference's classes "
        f"({', '.join(sorted(classes))}); {len(wrong)} such label(s) in the batch",
        location=f"labels[{index}].label",
    )
