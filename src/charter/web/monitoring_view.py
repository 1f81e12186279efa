"""The system page's monitoring section, shaped from the worker's stored windows.

Nothing is judged here: every value and verdict is the one the worker stored for the
window (``signals_view.windows``), and each bound is the contract's, as the worker
printed it in the window's breaches. This module only arranges them for display: a chart
per contract bound over the windows, drift per feature per window, accuracy by cohort,
and guardrail blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from charter.web.charts import Series, over_windows

#: Monitors whose bounds are charted against their live values (drift and data quality
#: are per column: they get the table instead).
CHARTED = ("performance", "fairness", "latency", "guardrails", "fallback")
_BOUND = re.compile(r"(<=|>=|<|>)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def threshold_of(bound: str) -> float | None:
    """The number of a printed bound (``latency_p95_ms <= 120`` -> 120.0), or None."""
    found = _BOUND.search(bound or "")
    return float(found.group(2)) if found else None


def _label(window: dict[str, Any]) -> str:
    try:
        start = datetime.fromisoformat(str(window["window_start"]))
    except (KeyError, ValueError):
        return str(window.get("window_start", "?"))
    return start.strftime("%m-%d %H:%M")


def contract_charts(ordered: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One chart per contract bound: the live value in each window against the bound."""
    labels = [_label(w) for w in ordered]
    subjects: dict[tuple[str, str], str] = {}
    for window in ordered:
        for breach in window.get("breaches") or ():
            if breach.get("monitor") in CHARTED:
                subjects[(str(breach["monitor"]), str(breach["subject"]))] = str(breach["bound"])
    charts = []
    for (monitor, subject), bound in sorted(subjects.items()):
        values: list[float | None] = []
        breached = 0
        for window in ordered:
            found = next(
                (
                    b
                    for b in window.get("breaches") or ()
                    if b.get("monitor") == monitor and b.get("subject") == subject
                ),
                None,
            )
            value = found.get("value") if found else None
            values.append(float(value) if isinstance(value, (int, float)) else None)
            breached += bool(found and found.get("breached"))
        measured = sum(v is not None for v in values)
        charts.append(
            {
                "monitor": monitor,
                "subject": subject,
                "bound": bound,
                "measured": measured,
                "breached": breached,
                "svg": over_windows(
                    [Series(subject, values)],
                    labels,
                    title=f"{subject} per window ({monitor})",
                    bound=threshold_of(bound),
                    bound_label=f"contract: {bound}",
                )
                if measured
                else None,
            }
        )
    return charts


def drift_table(ordered: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Drift per feature per window: each cell the test's effect and verdict."""
    columns = sorted({c for w in ordered for c in ((w.get("drift") or {}).get("details") or {})})
    rows = []
    for window in ordered:
        details = (window.get("drift") or {}).get("details") or {}
        rows.append(
            {
                "label": _label(window),
                "rows": window.get("rows"),
                "verdict": (window.get("drift") or {}).get("verdict", "no data"),
                "cells": [details.get(c) for c in columns],
            }
        )
    return {"columns": columns, "rows": rows}


def fairness_view(ordered: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy by cohort: the newest window's cohorts, and a chart over the windows."""
    with_cohorts = [w for w in ordered if (w.get("fairness") or {}).get("cohorts")]
    if not with_cohorts:
        return {"latest": None, "svg": None}
    cohorts = sorted({c for w in with_cohorts for c in w["fairness"]["cohorts"]})
    series = []
    for cohort in cohorts:
        values: list[float | None] = []
        for window in ordered:
            entry = ((window.get("fairness") or {}).get("cohorts") or {}).get(cohort)
            value = entry.get("accuracy") if isinstance(entry, dict) else entry
            values.append(float(value) if isinstance(value, (int, float)) else None)
        series.append(Series(cohort, values))
    latest = with_cohorts[-1]
    ratio_bound = next(
        (
            str(b["bound"])
            for b in latest.get("breaches") or ()
            if b.get("subject") == "accuracy_ratio"
        ),
        None,
    )
    svg: Markup = over_windows(
        series, [_label(w) for w in ordered], title="Accuracy by cohort per window"
    )
    return {
        "latest": {
            "label": _label(latest),
            "ratio": latest["fairness"].get("accuracy_ratio"),
            "bound": ratio_bound,
            "cohorts": latest["fairness"]["cohorts"],
        },
        "svg": svg,
    }


def guard_rows(ordered: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Guardrail blocks per window: requests guarded, blocked, the rate, the bound's verdict."""
    rows = []
    for window in ordered:
        rate = (window.get("signals") or {}).get("block_rate")
        breach = next(
            (b for b in window.get("breaches") or () if b.get("monitor") == "guardrails"), None
        )
        guarded = breach.get("n") if breach else None
        rows.append(
            {
                "label": _label(window),
                "guarded": guarded,
                "blocked": round(rate * guarded) if rate is not None and guarded else None,
                "rate": rate,
                "bound": breach.get("bound") if breach else None,
                "breached": breach.get("breached") if breach else None,
            }
        )
    return rows


def monitoring_section(windows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Everything the system page shows of one environment's windows (given newest first)."""
    ordered = list(reversed(windows))
    return {
        "windows": len(ordered),
        "charts": contract_charts(ordered),
        "drift": drift_table(ordered),
        "fairness": fairness_view(ordered),
        "guard": guard_rows(ordered),
    }
