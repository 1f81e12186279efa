"""`charter windows` output: per-window results as text, and a self-contained HTML report.

Both read the windows the ``monitoring.windows`` operation returns (newest first) and
show them oldest first: span, rows, labelled and late rows, the drift verdict with each
column's test, statistic, BH-adjusted p-value, effect and bound, data-quality findings,
realised and estimated performance with its band, fairness, the five signals, and the
alerts opened or closed at the window; the text adds each column's most shifted bin.
The HTML report adds inline SVG charts (performance over time with the estimate's band,
drift effect per feature over time, alert markers, and per feature the reference-versus-
window distribution from :mod:`charter.documents.windows_html`) and needs no network or
script.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from charter.documents import windows_html
from charter.evaluation.svg import line_chart


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}"
    return str(value)


def _span(window: dict[str, Any]) -> str:
    return f"{window['window_start']} → {window['window_end']}"


def _performance(window: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    realised = (window.get("realised") or {}).get("metrics", {}).get("accuracy")
    estimated = window.get("estimated") or {}
    return realised, estimated.get("accuracy"), estimated.get("lower"), estimated.get("upper")


def _alerts(window: dict[str, Any]) -> list[str]:
    out = []
    for change in window.get("transitions") or []:
        verb = "opened" if "opened" in change else "closed"
        out.append(f"{verb}: {change.get('monitor')} on {change.get('subject')}")
    return out


def _largest_shift(distribution: dict[str, Any]) -> str | None:
    """The bin whose share moved most between the reference and the window."""
    reference, window = distribution.get("reference"), distribution.get("window")
    if not reference or not window:
        return None
    moves = [abs(w - r) for r, w in zip(reference, window, strict=True)]
    i = max(range(len(moves)), key=moves.__getitem__)
    label = distribution["labels"][i]
    return f"{label} {reference[i]:.1%} → {window[i]:.1%}"


def _shift_lines(drift: dict[str, Any]) -> list[str]:
    """Per column, the largest shift of its reference-vs-window distribution."""
    details = drift.get("details") or {}
    if details and all(d.get("distribution") is None for d in details.values()):
        return ["  distributions: not stored for this window"]
    lines = []
    for column, detail in sorted(details.items()):
        shift = _largest_shift(detail.get("distribution") or {})
        if shift:
            lines.append(f"    {column}: largest shift {shift}")
    return ["  largest shift per column (reference → window):", *lines] if lines else []


def render_text(items: Sequence[dict[str, Any]]) -> str:
    """The windows as plain text, oldest first."""
    if not items:
        return "No closed windows yet (run `charter worker --once`; it says why it judged none)."
    lines: list[str] = []
    for window in reversed(items):
        realised, estimated, lower, upper = _performance(window)
        lines.append(
            f"{window['environment']}  {_span(window)}  rows {window['rows']}  "
            f"labelled {window['labelled']}  late {window.get('late', 0)}"
        )
        drift = window.get("drift") or {}
        lines.append(
            f"  drift: {drift.get('verdict', 'no data')}"
            + (f" ({', '.join(drift.get('columns') or [])})" if drift.get("columns") else "")
        )
        for column, detail in sorted((drift.get("details") or {}).items()):
            lines.append(
                f"    {column}: {detail.get('status')}  test {detail.get('test', '—')} "
                f"statistic {_num(detail.get('statistic'))}  p(BH) {_num(detail.get('p_adjusted'))}"
                f"  {detail.get('effect')} {_num(detail.get('effect_value'))} "
                f"(bound {_num(detail.get('threshold'))})"
            )
        lines.extend(_shift_lines(drift))
        quality = {k: v for k, v in (window.get("quality") or {}).items() if v}
        lines.append(
            "  quality: "
            + ("; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(quality.items())) or "no issues")
        )
        lines.append(
            f"  accuracy: realised {_num(realised)}  estimated {_num(estimated)} "
            f"[{_num(lower)}, {_num(upper)}]"
        )
        fairness = window.get("fairness") or {}
        if fairness:
            cohorts = ", ".join(
                f"{name} {_num(c.get('accuracy'))} (n={c.get('n')})"
                for name, c in sorted((fairness.get("cohorts") or {}).items())
            )
            lines.append(
                f"  fairness: accuracy ratio {_num(fairness.get('accuracy_ratio'))}; {cohorts}"
            )
        signals = window.get("signals") or {}
        latency = signals.get("latency_ms") or {}
        quantiles = "/".join(_num(latency.get(q)) for q in ("p50", "p95", "p99"))
        accuracy = _num((signals.get("accuracy") or {}).get("value"))
        lines.append(
            f"  signals: latency p50/p95/p99 {quantiles} ms  accuracy {accuracy}"
            f"  drift {(signals.get('drift') or {}).get('verdict')}  block rate "
            f"{_num(signals.get('block_rate'))}  fallback rate {_num(signals.get('fallback_rate'))}"
        )
        for change in _alerts(window):
            lines.append(f"  alert {change}")
    return "\n".join(lines)


def _scaled(values: Sequence[float | None], top: float) -> list[float]:
    return [0.0 if v is None else v / top for v in values]


def _date_ticks(ordered: Sequence[dict[str, Any]], xs: Sequence[float]) -> list[tuple[float, str]]:
    """At most six x ticks, each labelled with its window's end (month-day hour:minute)."""
    step = max(1, -(-len(ordered) // 6))
    picked = list(range(0, len(ordered), step))
    if picked and picked[-1] != len(ordered) - 1 and len(ordered) > 1:
        picked[-1] = len(ordered) - 1
    return [
        (xs[i], str(ordered[i].get("window_end") or "")[5:16].replace("T", " ")) for i in picked
    ]


def _zoom(values: Sequence[float]) -> tuple[float, float]:
    """A y range around ``values`` within [0, 1], padded so the lines do not touch the frame."""
    lowest, highest = min(values), max(values)
    pad = max((highest - lowest) * 0.15, 0.01)
    return max(0.0, lowest - pad), min(1.0, highest + pad)


def _charts(items: Sequence[dict[str, Any]]) -> list[str]:
    ordered = list(reversed(items))
    n = len(ordered)
    xs = [i / max(n - 1, 1) for i in range(n)]
    ticks = _date_ticks(ordered, xs)
    charts = []
    perf = [_performance(w) for w in ordered]
    # Where alerts opened or closed, marked on every chart over time.
    marks = [(x, "; ".join(_alerts(w))) for x, w in zip(xs, ordered, strict=True) if _alerts(w)]
    series = []
    for name, index in (("realised", 0), ("estimated", 1), ("band low", 2), ("band high", 3)):
        points = [(x, p[index]) for x, p in zip(xs, perf, strict=True) if p[index] is not None]
        if points:
            series.append((f"{name} accuracy", [p[0] for p in points], [p[1] for p in points]))
    if series:
        charts.append(
            line_chart(
                series,
                title="Accuracy per window (realised, label-free estimate and its band)",
                x_label=f"window end, UTC (oldest → newest, {n} windows)",
                y_label="accuracy",
                diagonal=False,
                markers=True,
                width=640,
                height=300,
                marks=marks,
                x_ticks=ticks,
                y_range=_zoom([v for _, _, ys in series for v in ys]),
            )
        )
    columns = sorted({c for w in ordered for c in ((w.get("drift") or {}).get("details") or {})})
    effects = {
        c: [
            ((w.get("drift") or {}).get("details") or {}).get(c, {}).get("effect_value")
            for w in ordered
        ]
        for c in columns
    }
    known = [v for values in effects.values() for v in values if v is not None]
    if known:
        top = max(max(known), 1e-9)
        charts.append(
            line_chart(
                [(c, xs, _scaled(v, top)) for c, v in effects.items()],
                title=f"Drift effect per feature (scaled: 1 = {top:.3g})",
                x_label=f"window end, UTC (oldest → newest, {n} windows)",
                y_label="effect / max",
                diagonal=False,
                markers=True,
                width=640,
                height=320,
                marks=marks,
                x_ticks=ticks,
            )
        )
    return charts


def render_html(system: str, items: Sequence[dict[str, Any]]) -> str:
    """A self-contained HTML report of the windows (inline CSS and SVG; no scripts)."""
    ordered = list(reversed(items))
    rows = []
    for window in ordered:
        realised, estimated, lower, upper = _performance(window)
        drift = window.get("drift") or {}
        alerts = _alerts(window)
        css = ' class="alert"' if alerts else ""
        flagged = ", ".join(drift.get("columns") or [])
        verdict = str(drift.get("verdict", "no data")) + (f": {flagged}" if flagged else "")
        rows.append(
            f"<tr{css}><td>{escape(window['environment'])}</td><td>{escape(_span(window))}</td>"
            f"<td>{window['rows']}</td><td>{window['labelled']}</td>"
            f"<td>{window.get('late', 0)}</td><td>{escape(verdict)}</td>"
            f"<td>{_num(realised)}</td><td>{_num(estimated)} [{_num(lower)}, {_num(upper)}]</td>"
            f"<td>{escape('; '.join(alerts)) or '—'}</td></tr>"
        )
    details = []
    charted = len(ordered) - windows_html.MAX_WINDOWS_CHARTED  # the newest ones get charts
    for position, window in enumerate(ordered):
        drift_rows = "".join(
            f"<tr><td>{escape(column)}</td><td>{escape(str(d.get('status')))}</td>"
            f"<td>{escape(str(d.get('test', '—')))}</td><td>{_num(d.get('statistic'))}</td>"
            f"<td>{_num(d.get('p_adjusted'))}</td><td>{escape(str(d.get('effect')))} "
            f"{_num(d.get('effect_value'))}</td><td>{_num(d.get('threshold'))}</td></tr>"
            for column, d in sorted(((window.get("drift") or {}).get("details") or {}).items())
        )
        quality = {k: v for k, v in (window.get("quality") or {}).items() if v}
        findings = "; ".join(k + ": " + ", ".join(v) for k, v in sorted(quality.items()))
        details.append(
            f"<details><summary>{escape(_span(window))}</summary>"
            "<table><tr><th>column</th><th>status</th><th>test</th><th>statistic</th>"
            "<th>p (BH)</th><th>effect</th><th>bound</th></tr>"
            f"{drift_rows}</table><p>Data quality: "
            f"{escape(findings or 'no issues')}"
            f'</p><div class="dists">{windows_html.window_charts(window, position >= charted)}'
            "</div></details>"
        )
    charts = "".join(f"<figure>{chart}</figure>" for chart in _charts(items))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Monitoring windows: {escape(system)}</title><style>"
        "body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px}"
        "tr.alert{background:#fde2e2}figure{display:inline-block;margin:0 1em 1em 0}"
        "figure.dist{vertical-align:top;max-width:440px}figcaption{font-size:12px;color:#555}"
        "</style></head><body>"
        f"<h1>Monitoring windows: {escape(system)}</h1>"
        f"<p>{len(items)} closed window(s), oldest first. Rows shaded red opened or closed an "
        "alert there.</p>"
        f"{charts}{windows_html.latest_section(items)}"
        "<h2>Windows</h2><table><tr><th>env</th><th>window</th><th>rows</th><th>labelled</th><th>late</th>"
        "<th>drift</th><th>realised accuracy</th><th>estimated [band]</th><th>alerts</th></tr>"
        f"{''.join(rows)}</table><h2>Per window</h2>{''.join(details)}</body></html>\n"
    )
