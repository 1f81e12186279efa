"""Inline SVG charts for the console, drawn on the server (no script, no build step).

Each chart is a string of SVG in which every label is escaped (``html.escape``), like the
charts of the HTML reports (:mod:`charter.evaluation.svg`), so it is safe to place in a
page as markup. The page's Content-Security-Policy allows no inline style: charts use
presentation attributes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from charter.evaluation.svg import PALETTE

BOUND_COLOUR = "#b3261e"


@dataclass(frozen=True)
class Series:
    """One line: a label and a value per window (None where the window had none)."""

    label: str
    values: Sequence[float | None]


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _tick(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def over_windows(
    series: Sequence[Series],
    labels: Sequence[str],
    *,
    title: str,
    bound: float | None = None,
    bound_label: str = "",
    width: int = 460,
    height: int = 200,
) -> Markup:
    """Values per window (oldest left) as lines with markers, and the contract's bound as a
    dashed red line. ``labels`` name the windows (the first and last are printed)."""
    left, right, top, bottom = 52, 12, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    known = [v for s in series for v in s.values if v is not None]
    if bound is not None:
        known.append(bound)
    low = min([0.0, *known]) if known else 0.0
    high = max(known) if known else 1.0
    if high <= low:
        high = low + 1.0
    high += (high - low) * 0.08  # head room above the highest point
    n = max((len(s.values) for s in series), default=0)

    def x(index: int) -> float:
        return left + (plot_w * index / (n - 1) if n > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" font-size="12" font-weight="600">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" '
        'stroke="#c8ccd2"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        value = low + (high - low) * fraction
        parts.append(
            f'<text x="{left - 4}" y="{_fmt(y(value) + 3)}" text-anchor="end" '
            f'font-size="10" fill="#555">{escape(_tick(value))}</text>'
        )
    if labels:
        parts.append(
            f'<text x="{left}" y="{height - 8}" font-size="10" fill="#555">'
            f"{escape(labels[0])}</text>"
        )
        if len(labels) > 1:
            parts.append(
                f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" font-size="10" '
                f'fill="#555">{escape(labels[-1])}</text>'
            )
    if bound is not None:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{_fmt(y(bound))}" '
            f'y2="{_fmt(y(bound))}" stroke="{BOUND_COLOUR}" stroke-dasharray="5 3"/>'
        )
        parts.append(
            f'<text x="{left + plot_w - 2}" y="{_fmt(y(bound) - 3)}" text-anchor="end" '
            f'font-size="10" fill="{BOUND_COLOUR}">{escape(bound_label)}</text>'
        )
    for k, line in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points = [(x(i), y(v)) for i, v in enumerate(line.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{_fmt(px)},{_fmt(py)}" for px, py in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"/>'
            )
        for px, py in points:
            parts.append(f'<circle cx="{_fmt(px)}" cy="{_fmt(py)}" r="2.6" fill="{colour}"/>')
    if len(series) > 1:
        for k, line in enumerate(series):
            colour = PALETTE[k % len(PALETTE)]
            lx = left + 8 + k * 110
            parts.append(
                f'<rect x="{lx}" y="{top + 6}" width="9" height="9" fill="{colour}"/>'
                f'<text x="{lx + 13}" y="{top + 14}" font-size="10">{escape(line.label)}</text>'
            )
    parts.append("</svg>")
    # Safe: every piece of text above went through html.escape; numbers are formatted here.
    return Markup("".join(parts))  # noqa: S704
