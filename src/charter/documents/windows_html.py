"""Per-feature reference-versus-window distributions for the `charter windows` HTML report.

Each judged window stores, per monitored column, the distribution its drift test
compared (:mod:`charter.monitoring.distributions`); this draws them as inline SVG, one
chart per column: numeric columns on the reference-quantile bins PSI and Jensen-Shannon
use, categorical columns on the reference's kept categories, ``<other>`` and
``<unseen>``. Windows judged before distributions were stored say so instead of failing.
Every label goes through :mod:`html` escaping (column names and categories come from the
data and may be hostile).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from charter.evaluation.svg import paired_bar_chart

#: Bars per chart: a categorical column keeps up to ``max_categories`` (100 by default)
#: buckets, too many to read; the rest fold into one "n more" bar.
MAX_BARS = 16
#: Windows whose charts the "Per window" part draws (the newest): about 35 kB of SVG each
#: for ten columns, so `--last 500` stays a readable file.
MAX_WINDOWS_CHARTED = 20
NOT_STORED = "Distribution not stored for this window (judged before Charter kept them)."


def _bars(
    distribution: Mapping[str, Any],
) -> tuple[list[str], list[float], list[float] | None]:
    """Labels and both series, without buckets empty on both sides, capped at MAX_BARS."""
    labels = [str(label) for label in distribution.get("labels") or []]
    reference = [float(v) for v in distribution.get("reference") or [0.0] * len(labels)]
    raw = distribution.get("window")
    window = [float(v) for v in raw] if raw is not None else None
    other = window or [0.0] * len(labels)
    keep = [i for i in range(len(labels)) if reference[i] > 0 or other[i] > 0]
    if len(keep) > MAX_BARS:
        # Show the buckets with the most mass on either side, in their own order.
        ranked = sorted(keep, key=lambda i: -max(reference[i], other[i]))
        shown, folded = sorted(ranked[: MAX_BARS - 1]), ranked[MAX_BARS - 1 :]
        labels_out = [labels[i] for i in shown] + [f"({len(folded)} more buckets)"]
        ref_out = [reference[i] for i in shown] + [sum(reference[i] for i in folded)]
        win_out = [other[i] for i in shown] + [sum(other[i] for i in folded)]
        return labels_out, ref_out, win_out if window is not None else None
    return (
        [labels[i] for i in keep],
        [reference[i] for i in keep],
        [other[i] for i in keep] if window is not None else None,
    )


def distribution_chart(column: str, detail: Mapping[str, Any]) -> str:
    """One column's chart as a ``<figure>``, or a note when the window has no distribution."""
    distribution = detail.get("distribution")
    if not distribution:
        return f'<figure class="dist"><p>{escape(column)}: {escape(NOT_STORED)}</p></figure>'
    labels, reference, window = _bars(distribution)
    status = str(detail.get("status") or "")
    chart = paired_bar_chart(
        labels, reference, window, title=f"Distribution of {column} ({status})"
    )
    excluded = int(distribution.get("excluded_window") or 0)
    notes = [
        f"n: reference {distribution.get('n_reference')}, window {distribution.get('n_window')}",
        str(distribution.get("binning") or ""),
    ]
    if excluded:
        notes.append(f"{excluded} missing/infinite/invalid value(s) left out (see data quality)")
    if window is None:
        notes.append("no value counted in this window")
    return (
        f'<figure class="dist">{chart}<figcaption>{escape("; ".join(notes))}</figcaption></figure>'
    )


def window_charts(window: Mapping[str, Any], charted: bool = True) -> str:
    """The charts of every column of one window, in column order (a note if not ``charted``)."""
    details = (window.get("drift") or {}).get("details") or {}
    if not details:
        return "<p>No drift result for this window.</p>"
    if not charted:
        return (
            f"<p>Distributions are drawn for the newest {MAX_WINDOWS_CHARTED} windows only; "
            "this window's are in <code>--format json</code>.</p>"
        )
    return "".join(distribution_chart(c, d) for c, d in sorted(details.items()))


def latest_section(items: Sequence[Mapping[str, Any]]) -> str:
    """The section for the newest window (``items`` are newest first, as the view lists)."""
    if not items:
        return ""
    newest = items[0]
    span = f"{newest['window_start']} → {newest['window_end']}"
    return (
        f"<h2>Reference vs window, per feature: latest window ({escape(span)})</h2>"
        "<p>Share of the reference (blue) and of the window (orange) in each bin: numeric "
        "columns on the reference's quantile bins (plus below its minimum and above its "
        "maximum), categorical columns on the reference's categories. Earlier windows' "
        "charts are under “Per window”.</p>"
        f'<div class="dists">{window_charts(newest)}</div>'
    )
