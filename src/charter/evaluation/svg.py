"""Tiny hand-written SVG charts for the HTML report (no plotting library needed).

Charts are plain strings of inline SVG with every label escaped, sized in pixels and
drawn on a [0, 1] (or data) scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _tag(name: str, content: str | None = None, **attrs: object) -> str:
    """One SVG element; ``font_size`` becomes ``font-size``. Content must be escaped."""
    rendered = " ".join(
        f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items()
    )
    if content is None:
        return f"<{name} {rendered}/>"
    return f"<{name} {rendered}>{content}</{name}>"


_UNIT_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def line_chart(
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    diagonal: bool = True,
    markers: bool = False,
    width: int = 360,
    height: int = 320,
    marks: Sequence[tuple[float, str]] = (),
    x_ticks: Sequence[tuple[float, str]] | None = None,
    y_range: tuple[float, float] = (0.0, 1.0),
) -> str:
    """Lines on the unit square, e.g. a ROC curve or a reliability diagram. ``marks`` are
    vertical dashed lines at x positions, each with its hover text (alerts, events).

    ``x_ticks`` replaces the default 0-1 x ticks with labelled positions (e.g. window
    dates); ``y_range`` zooms the y axis to ``(low, high)`` (values outside are clipped),
    so that a drop from 0.95 to 0.90 is visible rather than a flat line at the top.
    """
    left, right, top, bottom = 48, 12, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    low, high = y_range
    scale = (high - low) or 1.0

    def x(v: float) -> float:
        return left + max(0.0, min(1.0, v)) * plot_w

    def y(v: float) -> float:
        return top + (1.0 - max(0.0, min(1.0, (v - low) / scale))) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>',
        _tag("rect", x=left, y=top, width=plot_w, height=plot_h, fill="none", stroke="#999"),
    ]
    horizontal = x_ticks if x_ticks is not None else [(t, f"{t:g}") for t in _UNIT_TICKS]
    for at, label in horizontal:
        # Labels given by the caller can be long: keep the last one inside the frame.
        anchor = "end" if x_ticks is not None and at >= 1.0 else "middle"
        parts.append(
            f'<text x="{_fmt(x(at))}" y="{top + plot_h + 14}" text-anchor="{anchor}" '
            f'font-size="10">{escape(label)}</text>'
        )
    for tick in _UNIT_TICKS:
        value = low + tick * (high - low)
        parts.append(
            _tag(
                "text",
                f"{value:.3g}",
                x=left - 4,
                y=_fmt(y(value) + 3),
                text_anchor="end",
                font_size=10,
            )
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" font-size="11">'
        f"{escape(x_label)}</text>"
    )
    parts.append(
        f'<text x="12" y="{top + plot_h / 2}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 12 {top + plot_h / 2})">{escape(y_label)}</text>'
    )
    if diagonal:
        parts.append(
            _tag("line", x1=x(0), y1=y(0), x2=x(1), y2=y(1), stroke="#bbb", stroke_dasharray="4 3")
        )
    for at, text in marks:
        parts.append(
            f'<line class="mark" x1="{_fmt(x(at))}" y1="{top}" x2="{_fmt(x(at))}" '
            f'y2="{top + plot_h}" stroke="#c0392b" stroke-dasharray="3 3">'
            f"<title>{escape(text)}</title></line>"
        )
    for index, (name, xs, ys) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = " ".join(f"{_fmt(x(a))},{_fmt(y(b))}" for a, b in zip(xs, ys, strict=True))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2">'
            f"<title>{escape(name)}</title></polyline>"
        )
        if markers:
            parts.extend(
                f'<circle cx="{_fmt(x(a))}" cy="{_fmt(y(b))}" r="3" fill="{colour}"/>'
                for a, b in zip(xs, ys, strict=True)
            )
        parts.append(
            f'<text x="{left + 8}" y="{top + 14 + 14 * index}" font-size="11" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    lowers: Sequence[float | None],
    uppers: Sequence[float | None],
    *,
    title: str,
    width: int = 520,
    fit: bool = False,
) -> str:
    """Horizontal bars with interval whiskers, one per group (missing values are marked).

    Values up to 1 are drawn on [0, 1] (rates) unless ``fit``, which scales to the data
    (small quantities such as importances)."""
    row_h, left, right, top = 22, 190, 60, 28
    height = top + row_h * len(labels) + 24
    known = [v for v in [*values, *lowers, *uppers] if v is not None]
    high = max([1.0, *known]) if known and max(known) <= 1.0 else max(known or [1.0])
    if fit and known:
        high = max(known) if max(known) > 0 else 1.0
    low = min([0.0, *known])
    span = (high - low) or 1.0
    plot_w = width - left - right

    def sx(v: float) -> float:
        return left + (v - low) / span * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>',
        _tag("line", x1=_fmt(sx(0.0)), y1=top - 4, x2=_fmt(sx(0.0)), y2=height - 20, stroke="#999"),
    ]
    for i, label in enumerate(labels):
        cy = top + row_h * i + row_h / 2
        parts.append(
            _tag("text", escape(label), x=left - 6, y=_fmt(cy + 4), text_anchor="end", font_size=11)
        )
        value = values[i]
        if value is None:
            parts.append(
                f'<text x="{left + 4}" y="{_fmt(cy + 4)}" font-size="11" fill="#888">n/a</text>'
            )
            continue
        start, end = sorted((sx(0.0), sx(value)))
        parts.append(
            _tag(
                "rect",
                f"<title>{escape(label)}: {value:.4g}</title>",
                x=_fmt(start),
                y=_fmt(cy - 7),
                width=_fmt(max(end - start, 1.0)),
                height=14,
                fill=PALETTE[0],
                opacity=0.8,
            )
        )
        lower, upper = lowers[i], uppers[i]
        if lower is not None and upper is not None:
            parts.append(
                _tag(
                    "line",
                    x1=_fmt(sx(lower)),
                    y1=_fmt(cy),
                    x2=_fmt(sx(upper)),
                    y2=_fmt(cy),
                    stroke="#222",
                    stroke_width=1.5,
                )
            )
        parts.append(
            _tag(
                "text",
                f"{value:.3g}",
                x=_fmt(max(end, sx(upper or value)) + 4),
                y=_fmt(cy + 4),
                font_size=10,
            )
        )
    parts.append(
        _tag("text", f"{low:g}", x=left, y=height - 6, font_size=10)
        + _tag(
            "text", f"{high:.3g}", x=left + plot_w, y=height - 6, font_size=10, text_anchor="end"
        )
    )
    parts.append("</svg>")
    return "".join(parts)


def paired_bar_chart(
    labels: Sequence[str],
    first: Sequence[float],
    second: Sequence[float] | None,
    *,
    title: str,
    names: tuple[str, str] = ("reference", "window"),
    width: int = 420,
) -> str:
    """Two horizontal bars per label (e.g. reference and window proportions), on a shared
    scale from 0 to the largest value; ``second`` None draws the first series alone."""
    row_h, left, right, top = 26, 150, 56, 44
    height = top + row_h * len(labels) + 8
    values = [*first, *(second or [])]
    high = max([v for v in values if v > 0] or [1.0])
    plot_w = width - left - right
    colours = (PALETTE[0], PALETTE[4])

    def sx(v: float) -> float:
        return left + max(0.0, v) / high * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>',
        _tag("line", x1=left, y1=top - 4, x2=left, y2=height - 6, stroke="#999"),
    ]
    shown = names if second is not None else names[:1]
    for index, name in enumerate(shown):
        x0 = left + index * 110
        parts.append(_tag("rect", x=x0, y=24, width=10, height=10, fill=colours[index]))
        parts.append(_tag("text", escape(name), x=x0 + 14, y=33, font_size=11))
    for i, label in enumerate(labels):
        y0 = top + row_h * i
        parts.append(
            _tag(
                "text", escape(label), x=left - 6, y=_fmt(y0 + 15), text_anchor="end", font_size=11
            )
        )
        pairs = [(first[i], 0)] + ([(second[i], 1)] if second is not None else [])
        for value, series in pairs:
            y_bar = y0 + 3 + series * 10
            parts.append(
                _tag(
                    "rect",
                    f"<title>{escape(label)}, {escape(names[series])}: {value:.2%}</title>",
                    x=left,
                    y=y_bar,
                    width=_fmt(max(sx(value) - left, 0.5)),
                    height=9,
                    fill=colours[series],
                )
            )
            parts.append(
                _tag("text", f"{value:.1%}", x=_fmt(sx(value) + 3), y=y_bar + 8, font_size=9)
            )
    parts.append("</svg>")
    return "".join(parts)
