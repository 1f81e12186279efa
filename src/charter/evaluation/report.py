"""Render a suite result (and optionally its contract outcome) as one self-contained HTML page.

The page has no external assets: styles are inline and charts are inline SVG (ROC curve,
reliability diagram, per-cohort bars with interval whiskers). Every value taken from the
result is HTML-escaped, since cohort labels and column names come from user data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from charter.evaluation.svg import bar_chart, line_chart

#: The metric drawn as bars per cohort: the first one of these the result has.
HEADLINE_METRICS = (
    "roc_auc",
    "accuracy",
    "selection_rate",
    "mae",
    "flip_rate",
)

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;
max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
h3{font-size:1rem}table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#176317;font-weight:600}.fail{color:#a11;font-weight:600}
.undefined{color:#8a5a00;font-weight:600}.skipped{color:#777}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.muted{color:#777}code{font-size:.85em}
"""


def _num(value: Any) -> str:
    if value is None:
        return '<span class="muted">—</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def _ci(entry: Mapping[str, Any]) -> str:
    if entry.get("ci_lower") is None or entry.get("ci_upper") is None:
        return '<span class="muted">—</span>'
    return f"[{entry['ci_lower']:.4g}, {entry['ci_upper']:.4g}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _metric_rows(metrics: Mapping[str, Any]) -> list[list[str]]:
    return [
        [
            f"<code>{escape(name)}</code>",
            _num(e.get("value")),
            _ci(e),
            escape(e.get("reason") or ""),
        ]
        for name, e in metrics.items()
    ]


def _generic(value: Any, depth: int = 0) -> str:
    """Render any JSON value: lists of flat mappings as tables, mappings as key/value tables."""
    if isinstance(value, Mapping):
        if not value:
            return '<span class="muted">—</span>'
        rows = [[escape(str(k)), _generic(v, depth + 1)] for k, v in value.items()]
        return _table(["", ""], rows) if depth else _table(["item", "value"], rows)
    if isinstance(value, list):
        if value and all(isinstance(v, Mapping) for v in value):
            keys: list[str] = []
            for item in value:
                keys.extend(k for k in item if k not in keys)
            rows = [[_generic(item.get(k), depth + 1) for k in keys] for item in value]
            return _table(keys, rows)
        if len(value) > 12 and all(isinstance(v, int | float) for v in value):
            return f'<span class="muted">{len(value)} numbers</span>'
        return ", ".join(_generic(v, depth + 1) for v in value) or '<span class="muted">—</span>'
    return _num(value)


def _contract_section(outcome: Mapping[str, Any]) -> str:
    verdict = "pass" if outcome.get("passed") else "fail"
    rows = []
    for bound in outcome.get("bounds", []):
        status = bound["status"]
        checks = bound.get("checks") or []
        detail = "; ".join(
            f"{escape(str(c.get('cohort')))}: {_num(c.get('observed'))} ({escape(c['status'])})"
            + (f" — {escape(str(c['reason']))}" if c.get("reason") else "")
            for c in checks
        ) or escape(bound.get("reason") or "")
        rows.append(
            [
                f"<code>{escape(bound['bound'])}</code>",
                f'<span class="{escape(status)}">{escape(status)}</span>',
                detail,
            ]
        )
    return f'<h2>Contract: <span class="{verdict}">{verdict.upper()}</span></h2>' + _table(
        ["bound", "status", "checks"], rows
    )


def _charts(details: Mapping[str, Any]) -> str:
    charts = []
    roc = details.get("roc_curve")
    if roc:
        charts.append(
            line_chart(
                [("ROC", roc["fpr"], roc["tpr"])],
                title="ROC curve",
                x_label="false positive rate",
                y_label="true positive rate",
            )
        )
    calibration = details.get("calibration")
    if calibration:
        filled = [b for b in calibration["bins"] if b["count"] > 0]
        charts.append(
            line_chart(
                [
                    (
                        "observed",
                        [b["mean_predicted"] for b in filled],
                        [b["observed_rate"] for b in filled],
                    )
                ],
                title=f"Reliability ({calibration['kind']}, equal-width bins)",
                x_label="mean predicted probability",
                y_label="observed frequency",
                markers=True,
            )
        )
    return f'<div class="charts">{"".join(charts)}</div>' if charts else ""


def _cohort_section(cohort: Mapping[str, Any]) -> str:
    parts = [f"<h3>By {escape(cohort['name'])}</h3>"]
    if cohort.get("metrics"):
        parts.append(
            _table(["metric", "value", "interval", "note"], _metric_rows(cohort["metrics"]))
        )
    if "four_fifths_rule" in cohort:
        rule = cohort["four_fifths_rule"]
        state = "n/a" if rule["passed"] is None else ("pass" if rule["passed"] else "fail")
        below = ", ".join(escape(g) for g in rule["groups_below"]) or "none"
        parts.append(f"<p>Four-fifths rule: <b>{state}</b> (groups below 0.8: {below})</p>")
    groups = cohort.get("groups", [])
    names: list[str] = []
    for group in groups:
        names.extend(m for m in group.get("metrics", {}) if m not in names)
    rows = []
    for group in groups:
        cells = [escape(group["key"]), _num(group["n"])]
        for name in names:
            entry = group.get("metrics", {}).get(name)
            cells.append(_num(entry["value"]) if entry else escape(group.get("reason") or ""))
        rows.append(cells)
    parts.append(_table(["group", "n", *names], rows))
    headline = next((m for m in HEADLINE_METRICS if m in names), names[0] if names else None)
    if headline:
        scored = [g for g in groups if g.get("metrics")]
        entries = [g["metrics"].get(headline, {}) for g in scored]
        parts.append(
            bar_chart(
                [g["key"] for g in scored],
                [e.get("value") for e in entries],
                [e.get("ci_lower") for e in entries],
                [e.get("ci_upper") for e in entries],
                title=f"{headline} by {cohort['name']}",
            )
        )
    return "".join(parts)


def render_html(
    result: Mapping[str, Any],
    contract_outcome: Mapping[str, Any] | None = None,
    *,
    title: str | None = None,
) -> str:
    """Return a self-contained HTML report of a suite result (charts as inline SVG)."""
    suite = result.get("suite", {})
    heading = title or f"{suite.get('name', 'evaluation')} {suite.get('version', '')} report"
    dataset = result.get("dataset", {})
    summary = _table(
        ["item", "value"],
        [
            ["suite", escape(f"{suite.get('name')} {suite.get('version')}")],
            ["task", escape(str(result.get("task")))],
            ["dataset", escape(str(dataset.get("name")))],
            ["dataset SHA-256", f"<code>{escape(str(dataset.get('sha256')))}</code>"],
            [
                "rows",
                f"{_num(result.get('rows', {}).get('evaluated'))} evaluated of "
                f"{_num(result.get('rows', {}).get('total'))}",
            ],
            [
                "bootstrap",
                escape(
                    f"{result.get('options', {}).get('n_bootstrap')} resamples, "
                    f"{result.get('options', {}).get('confidence')} percentile intervals"
                ),
            ],
        ],
    )
    body = [f"<h1>{escape(heading)}</h1>", summary]
    for warning in result.get("warnings", []):
        body.append(f'<p class="undefined">Warning: {escape(str(warning))}</p>')
    if contract_outcome is not None:
        body.append(_contract_section(contract_outcome))
    metrics = result.get("metrics", {})
    body.append("<h2>Overall</h2>")
    body.append(
        _table(["metric", "value", "interval", "note"], _metric_rows(metrics.get("overall", {})))
    )
    details = result.get("details", {})
    body.append(_charts(details))
    if metrics.get("cohorts"):
        body.append("<h2>Cohorts</h2>")
        body.extend(_cohort_section(c) for c in metrics["cohorts"])
    hidden: tuple[str, ...] = ("roc_curve",)
    if result.get("task") == "explainability":
        from charter.evaluation.explain_report import explanation_section

        body.append(explanation_section(details))
        hidden += ("importance", "local")
    shown = {k: v for k, v in details.items() if k not in hidden}
    if shown:
        body.append("<h2>Details</h2>" + _generic(shown))
    body.append("<h2>Environment</h2>" + _generic(result.get("environment", {})))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(heading)}</title><style>{_STYLE}</style></head><body>"
        + "".join(body)
        + "</body></html>"
    )
