"""Durations as people write them: ``30m``, ``12h``, ``14d``, ``2w``; and live windows.

One parser for every place that reads a duration: approval and exception expiries
(``--expires 90d``), listing filters (``--expiring 14d``), live windows (``1d`` or
``5000 rows``) and allowed lateness (``1h``, ``30m``). The format is a whole number and
one unit letter; no library is used because the format is this small and a library
(pytimeparse, isodate) would accept many forms the docs do not promise.
"""

from __future__ import annotations

import re
from datetime import timedelta

from charter.domain.errors import BadInput

#: Largest count window: bigger ones would wait days on most systems and hold the lock long.
MAX_WINDOW_ROWS = 10_000_000
#: Longest duration accepted anywhere (about 30 years), to keep datetimes in range.
MAX_DURATION = timedelta(days=11_000)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNITS["w"] = timedelta(weeks=1)
_DURATION = re.compile(r"^(\d{1,7})\s*([mhdw])$")
_ROWS = re.compile(r"^(\d{1,9})\s*rows?$")


def parse_duration(
    value: str, *, units: str = "hdw", what: str = "duration", location: str | None = None
) -> timedelta:
    """Parse ``<n><unit>`` with a unit among ``units`` (m, h, d, w) into a positive timedelta."""
    text = str(value).strip().lower()
    match = _DURATION.match(text)
    examples = ", ".join(f"{n}{u}" for n, u in (("30", "m"), ("12", "h"), ("14", "d"), ("2", "w")))
    if not match or match.group(2) not in units:
        allowed = ", ".join(e for e in examples.split(", ") if e[-1] in units)
        raise BadInput(f"invalid {what} {value!r}: use e.g. {allowed}", location=location)
    amount = int(match.group(1))
    delta = amount * _UNITS[match.group(2)]
    if amount == 0 or delta > MAX_DURATION:
        raise BadInput(
            f"invalid {what} {value!r}: give a positive duration up to {MAX_DURATION.days} days",
            location=location,
        )
    return delta


def is_duration(value: str, units: str = "hdw") -> bool:
    """Whether ``value`` looks like a duration (so an ISO date parser should not see it)."""
    match = _DURATION.match(str(value).strip().lower())
    return match is not None and match.group(2) in units


def parse_window(
    value: object,
    *,
    location: str | None = None,
    allow_rows: bool = True,
    allow_minutes: bool = False,
) -> timedelta | int:
    """A live window: whole hours (``6h``, ``1d``, ``1w``, or a bare number of hours) or,
    when ``allow_rows``, a count window ``5000 rows`` (returned as the number of rows).

    With ``allow_minutes`` (allowed lateness) minutes are accepted and zero is allowed.
    """
    text = str(value).strip().lower()
    rows = _ROWS.match(text)
    if rows and allow_rows:
        count = int(rows.group(1))
        if not 1 <= count <= MAX_WINDOW_ROWS:
            raise BadInput(
                f"invalid live window {value!r}: a count window holds 1 to "
                f"{MAX_WINDOW_ROWS:,} rows",
                location=location,
            )
        return count
    if text.isdigit():
        text += "h"
    if allow_minutes and text in ("0m", "0h"):
        return timedelta(0)
    try:
        delta = parse_duration(
            text, units="mhdw" if allow_minutes else "hdw", what="live window", location=location
        )
    except BadInput:
        forms = "1h, 6h, 1d, 1w" + (" or 5000 rows" if allow_rows else "")
        forms = "30m, 1h, 1d" if allow_minutes else forms
        raise BadInput(
            f"invalid live window {value!r}: use e.g. {forms}", location=location
        ) from None
    return delta
