"""Normalisation of incoming batches: limits, flattening JSON records, signal columns, roles.

Pure over pandas (no database): everything a batch must satisfy is checked here before
anything is written, and refusals name the record or the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput, PayloadTooLarge
from charter.domain.text import check_slug
from charter.monitoring import ReferenceProfile

#: Most records (or labels) in one batch.
MAX_BATCH_RECORDS = 10_000
#: Longest string in any field, in characters.
MAX_FIELD_CHARS = 1_000
#: Most fields in one record.
MAX_FIELDS = 500
#: Raw records kept per (system, environment): the newest ones.
SAMPLE_SIZE = 1_000
#: Fields with a meaning of their own; every other field is a feature or a role column.
META = ("inference_id", "release", "timestamp", "latency_ms", "fallback_used", "blocked")
#: How far ahead of the control plane's clock a record's timestamp may be (clock skew).
FUTURE_TOLERANCE = timedelta(minutes=5)
_BATCH_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def check_batch_id(batch_id: Any) -> str:
    """A batch id as the API takes it: 1-128 letters, digits and ``. _ : -``."""
    if not isinstance(batch_id, str) or not _BATCH_ID.match(batch_id):
        raise BadInput(
            "batch_id must be 1-128 characters of letters, digits and . _ : -", location="batch_id"
        )
    return batch_id


def check_batch(batch_id: Any, environment: str, n: int, what: str) -> str:
    check_slug(environment, "environment")
    checked = check_batch_id(batch_id)
    if n > MAX_BATCH_RECORDS:
        raise PayloadTooLarge(f"a batch holds at most {MAX_BATCH_RECORDS} {what}; got {n}")
    if n == 0:
        raise BadInput(f"the batch has no {what}")
    return checked


def flatten(records: Sequence[Any]) -> pd.DataFrame:
    """JSON records to a flat frame; ``features``/``cohort`` objects merge in, ``guard`` gives
    ``blocked``. Nested values and oversized strings are refused, naming the record."""
    flat_rows = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise BadInput("every record must be a JSON object", location=f"records[{i}]")
        flat: dict[str, Any] = {}
        for key, value in record.items():
            if key in ("features", "cohort") and isinstance(value, dict):
                flat.update(value)
            elif key == "guard":
                if not isinstance(value, dict):
                    raise BadInput("guard must be an object", location=f"records[{i}].guard")
                flat["blocked"] = value.get("blocked")
            else:
                flat[key] = value
        if len(flat) > MAX_FIELDS:
            raise PayloadTooLarge(
                f"a record has at most {MAX_FIELDS} fields", location=f"records[{i}]"
            )
        for key, value in flat.items():
            if isinstance(value, (dict, list)):
                raise BadInput("field values must be scalars", location=f"records[{i}].{key}")
            if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
                raise PayloadTooLarge(
                    f"strings are at most {MAX_FIELD_CHARS} characters",
                    location=f"records[{i}].{key}",
                )
            if len(key) > 200:
                raise BadInput("field names are at most 200 characters", location=f"records[{i}]")
        flat_rows.append(flat)
    return pd.DataFrame.from_records(flat_rows)


def check_frame(frame: pd.DataFrame) -> None:
    if len(frame.columns) > MAX_FIELDS:
        raise PayloadTooLarge(f"a record has at most {MAX_FIELDS} fields")
    for column in frame.columns:
        if len(str(column)) > 200:
            raise BadInput("field names are at most 200 characters")
        series = frame[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            lengths = series.map(lambda v: len(v) if isinstance(v, str) else 0)
            if len(lengths) and int(lengths.max()) > MAX_FIELD_CHARS:
                raise PayloadTooLarge(
                    f"strings are at most {MAX_FIELD_CHARS} characters", location=str(column)
                )


def flag(series: pd.Series, name: str) -> np.ndarray:
    """A boolean signal column as floats 1/0/NaN; anything but a bool, 0/1 or true/false is
    refused (these come from serving code, not from data, so a wrong type is a bug)."""
    out = np.full(len(series), np.nan)
    for i, value in enumerate(series.tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, (bool, np.bool_)) or value in (0, 1):
            out[i] = float(bool(value))
        elif isinstance(value, str) and value.lower() in ("true", "false"):
            out[i] = float(value.lower() == "true")
        else:
            raise BadInput(f"{name} must be true or false; got {value!r}", location=name)
    return out


def latency_values(series: pd.Series) -> np.ndarray:
    """Latencies as floats: finite and non-negative, a refusal naming the row otherwise."""
    from charter.services.ingest import checks as ingest_checks

    return ingest_checks.latency_values(series)


def role_frame(frame: pd.DataFrame, reference: ReferenceProfile) -> tuple[pd.DataFrame, list[str]]:
    """Rename generic ``prediction``/``score``/``label`` fields to the reference's role names
    and add absent reference columns as missing values. Returns the frame and the fields
    that the reference does not know (ignored)."""
    renames = {}
    for generic, role in (
        ("prediction", reference.prediction),
        ("score", reference.score),
        ("label", reference.label),
    ):
        if role and generic != role and generic in frame.columns and role not in frame.columns:
            renames[generic] = role
    frame = frame.rename(columns=renames)
    wanted = [*reference.monitored, *([reference.cohort] if reference.cohort else [])]
    if not any(c in frame.columns for c in reference.monitored):
        raise BadInput(
            f"the records match none of the reference's columns ({', '.join(reference.monitored)})"
        )
    for column in dict.fromkeys(wanted):
        if column not in frame.columns:
            frame[column] = None
    known = {*wanted, *META, *([reference.label] if reference.label else [])}
    ignored = sorted(str(c) for c in frame.columns if c not in known)
    return frame, ignored


def json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN and infinities become null)."""
    clean = frame.replace([np.inf, -np.inf], np.nan)
    rows: list[dict[str, Any]] = json.loads(clean.to_json(orient="records", date_format="iso"))
    return rows


def event_times(frame: pd.DataFrame, now: datetime) -> tuple[pd.Series, np.ndarray]:
    """Each record's event time (UTC) and whether the record carried it.

    A ``timestamp`` field is an ISO 8601 time (a zone-less one is UTC); records without one
    are stamped with ``now`` (arrival time). A timestamp that does not parse, or that lies
    more than :data:`FUTURE_TOLERANCE` ahead of ``now``, refuses the batch naming the row.
    """
    arrival = pd.Timestamp(now)
    if "timestamp" not in frame.columns:
        return pd.Series(arrival, index=frame.index), np.zeros(len(frame), dtype=bool)
    raw = frame["timestamp"]
    carried = raw.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        raise BadInput(
            "timestamp must be an ISO 8601 time, not a number", location="records[0].timestamp"
        )
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        parsed = pd.to_datetime(raw, utc=True)
    else:
        text = raw.map(lambda v: v.isoformat() if isinstance(v, datetime) else v)
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    bad = np.flatnonzero(carried & parsed.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise BadInput(
            f"timestamp {raw.iloc[i]!r} is not an ISO 8601 time",
            location=f"records[{i}].timestamp",
        )
    ahead = np.flatnonzero(carried & (parsed > arrival + FUTURE_TOLERANCE).to_numpy())
    if len(ahead):
        i = int(ahead[0])
        raise BadInput(
            f"timestamp {raw.iloc[i]} is in the future (more than "
            f"{int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes after {now.isoformat()})",
            location=f"records[{i}].timestamp",
        )
    return parsed.where(pd.Series(carried, index=parsed.index), arrival), carried
