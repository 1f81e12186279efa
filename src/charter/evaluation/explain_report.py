"""The explainability suite's part of the HTML report: top drivers with intervals, per
cohort, and the local explanations of the sampled decisions.

Every value from the result is HTML-escaped (feature names and cohort labels are user data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from charter.evaluation.svg import bar_chart

#: Contributions shown per explained decision (the largest in absolute value).
LOCAL_SHOWN = 5
#: Explained decisions listed in the report (all are in the result).
LOCAL_ROWS_SHOWN = 20


def _num(value: Any) -> str:
    if value is None:
        return '<span class="muted">—</span>'
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _interval(entry: Mapping[str, Any]) -> str:
    low, high = entry.get("ci_lower"), entry.get("ci_upper")
    if low is None or high is None:
        return '<span class="muted">—</span>'
    return f"[{low:.4g}, {high:.4g}]"


def ranking_table(ranking: Sequence[Mapping[str, Any]], top: Sequence[str]) -> str:
    """Features by rank with mean importance and interval; top drivers in bold."""
    rows = []
    for row in ranking:
        entry = row.get("importance") or {}
        name = escape(str(row["feature"]))
        rows.append(
            [
                _num(row.get("rank")),
                f"<b>{name}</b>" if row["feature"] in top else name,
                _num(entry.get("value")),
                _interval(entry),
            ]
        )
    return _table(["rank", "feature", "importance", "interval"], rows)


def _chart(ranking: Sequence[Mapping[str, Any]], title: str) -> str:
    shown = list(ranking)[:10]
    entries = [r.get("importance") or {} for r in shown]
    return bar_chart(
        [str(r["feature"]) for r in shown],
        [e.get("value") for e in entries],
        [e.get("ci_lower") for e in entries],
        [e.get("ci_upper") for e in entries],
        title=title,
        fit=True,
    )


def explanation_section(details: Mapping[str, Any]) -> str:
    """The HTML of an explainability result's importance and local explanations."""
    importance = details.get("importance") or {}
    parts = [
        "<h2>Top drivers</h2>",
        f"<p>Permutation importance: drop of <code>{escape(str(importance.get('scoring')))}"
        f"</code> when a feature is shuffled, {escape(str(importance.get('n_repeats')))} "
        f"repeats, {escape(str(importance.get('interval')))} intervals at "
        f"{escape(str(importance.get('confidence')))}. Top {escape(str(importance.get('top_k')))}"
        f": {escape(', '.join(importance.get('top') or [])) or 'none'}.</p>",
        ranking_table(importance.get("ranking") or [], importance.get("top") or []),
        _chart(importance.get("ranking") or [], "permutation importance (with intervals)"),
    ]
    for cohort in importance.get("cohorts") or []:
        parts.append(f"<h3>Top drivers by {escape(str(cohort['name']))}</h3>")
        rows = []
        for group in cohort.get("groups") or []:
            if not group.get("ranking"):
                rows.append(
                    [
                        escape(str(group["key"])),
                        _num(group.get("n")),
                        escape(group.get("reason") or ""),
                    ]
                )
                continue
            top = set(group.get("top_k") or [])
            drivers = (
                ", ".join(
                    f"{escape(str(r['feature']))} {_num((r.get('importance') or {}).get('value'))} "
                    f"{_interval(r.get('importance') or {})}"
                    for r in group["ranking"]
                    if r["feature"] in top
                )
                or '<span class="muted">no feature with a positive importance</span>'
            )

            rows.append([escape(str(group["key"])), _num(group.get("n")), drivers])
        parts.append(_table(["group", "n", "top drivers (importance, interval)"], rows))
    local = details.get("local") or {}
    if local:
        parts.append("<h2>Local explanations</h2>")
        parts.append(
            f"<p>{escape(str(local.get('method')))} Shapley values of the "
            f"{escape(str(local.get('output')))} against "
            f"{escape(str(local.get('background_rows')))} background rows; rows are numbered "
            "as in the data file.</p>"
        )
        rows = []
        for row in (local.get("rows") or [])[:LOCAL_ROWS_SHOWN]:
            contributions = ", ".join(
                f"{escape(str(c['feature']))} {c['value']:+.3g}"
                for c in row["contributions"][:LOCAL_SHOWN]
                if c.get("value") is not None
            )
            groups = ", ".join(escape(str(v)) for v in (row.get("cohorts") or {}).values())
            rows.append(
                [
                    _num(row.get("row")),
                    groups,
                    _num(row.get("output")),
                    _num(row.get("base_value")),
                    contributions,
                ]
            )
        parts.append(
            _table(["row", "cohorts", "output", "base value", "largest contributions"], rows)
        )
        for cohort in local.get("cohorts") or []:
            summary = []
            for group in cohort.get("groups") or []:
                leading = ", ".join(
                    f"{escape(str(c['feature']))} {_num(c.get('value'))}"
                    for c in (group.get("mean_abs_contribution") or [])[:LOCAL_SHOWN]
                )
                summary.append([escape(str(group["key"])), _num(group.get("explained")), leading])
            parts.append(f"<h3>Mean |contribution| by {escape(str(cohort['name']))}</h3>")
            parts.append(_table(["group", "explained", "largest mean |contribution|"], summary))
    return "".join(parts)
