"""The HTML windows report, parsed as a browser would: accuracy over time with the
label-free estimate and its band, drift per feature over time, alert markers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from charter.cli.windows_report import _date_ticks, _zoom, render_html
from charter.evaluation.svg import line_chart


class Collect(HTMLParser):
    """Charts (aria-label), series (polyline titles) and alert marks (line.mark titles)."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[str] = []
        self.series: list[str] = []
        self.marks: list[str] = []
        self.scripts = 0
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "svg":
            self.charts.append(found.get("aria-label") or "")
        elif tag == "polyline":
            self._open = "series"
        elif tag == "line" and found.get("class") == "mark":
            self._open = "mark"
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data: str) -> None:
        if self._open == "series":
            self.series.append(data)
        elif self._open == "mark":
            self.marks.append(data)
        self._open = None


def window(i: int, *, effect: float, transitions: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "environment": "prod",
        "window_start": f"2026-11-{10 + i:02d}T00:00:00+00:00",
        "window_end": f"2026-11-{11 + i:02d}T00:00:00+00:00",
        "rows": 500,
        "labelled": 400,
        "late": 0,
        "drift": {
            "verdict": "drift" if effect > 0.1 else "no drift",
            "columns": ["car_value"] if effect > 0.1 else [],
            "details": {
                "car_value": {"status": "drift" if effect > 0.1 else "ok", "effect_value": effect},
                "loan_length": {"status": "ok", "effect_value": 0.02},
            },
        },
        "realised": {"metrics": {"accuracy": 0.94 - effect / 10}},
        "estimated": {"accuracy": 0.93 - effect / 10, "lower": 0.9, "upper": 0.96},
        "quality": {},
        "transitions": list(transitions),
    }


def test_report_has_performance_drift_and_alert_markers() -> None:
    opened = {"opened": True, "monitor": "drift", "subject": "car_value"}
    items = [window(i, effect=0.3 if i >= 2 else 0.01) for i in range(4)]
    items[3]["transitions"] = [opened]
    page = render_html("car-loan", list(reversed(items)))  # the view lists newest first
    parsed = Collect()
    parsed.feed(page)
    assert parsed.scripts == 0
    assert any("Accuracy per window" in c for c in parsed.charts)
    assert any("Drift effect per feature" in c for c in parsed.charts)
    assert {"realised accuracy", "estimated accuracy", "band low accuracy"} <= set(parsed.series)
    assert {"car_value", "loan_length"} <= set(parsed.series)
    # The alert is marked on both charts over time, where it opened.
    assert parsed.marks == ["opened: drift on car_value"] * 2


HOSTILE = "<script>alert(1)</script>"


def judged_windows(count: int) -> list[dict[str, Any]]:
    """Windows judged by the worker's own function on a frame with a hostile column name
    and a hostile category, newest first as the view lists them."""
    import json

    import numpy as np
    import pandas as pd

    from charter.domain.contracts.live import monitoring_plan, parse_live
    from charter.monitoring import build_reference, profile_window
    from charter.monitoring.signal_counts import empty_signals
    from charter.monitoring.verdict import judge_window

    rng = np.random.default_rng(11)

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "income": rng.lognormal(10.0 + shift, 0.5, n),
                HOSTILE: rng.choice(["a", "b", HOSTILE], n, p=[0.5, 0.3, 0.2]),
                "region": rng.choice(["north", "south"], n),
            }
        )

    reference = build_reference(frame(3_000, 0.0), features=["income", HOSTILE, "region"])
    plan = monitoring_plan(parse_live({"min_sample": 100}))
    items = []
    for i in range(count):
        verdict = judge_window(
            reference, plan, profile_window(reference, frame(800, 0.3 * i)), None, empty_signals()
        )
        items.append(
            {
                "environment": "prod",
                "window_start": f"2026-11-{10 + i:02d}T00:00:00+00:00",
                "window_end": f"2026-11-{11 + i:02d}T00:00:00+00:00",
                "late": 0,
                "transitions": [],
                **json.loads(json.dumps(verdict.to_dict())),
            }
        )
    return list(reversed(items))


def test_one_distribution_chart_per_feature_and_hostile_names_escaped() -> None:
    items = judged_windows(3)
    page = render_html("car-loan", items)
    parsed = Collect()
    parsed.feed(page)
    assert parsed.scripts == 0
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    latest, _, earlier = page.partition("<h2>Windows</h2>")
    # The latest window: one chart per monitored column, titled with its (escaped) name.
    charts = [c for c in parsed.charts if c.startswith("Distribution of ")]
    names = sorted(["income", HOSTILE, "region"])
    assert sorted(c.split(" (")[0].removeprefix("Distribution of ") for c in charts[:3]) == names
    assert latest.count('aria-label="Distribution of ') == 3
    # Every window's own charts are under "Per window" too (3 windows x 3 columns).
    assert earlier.count('aria-label="Distribution of ') == 9
    assert len(charts) == 12
    # The hostile category is a bar of the hostile column (as text, never as markup).
    assert f"{escape_(HOSTILE)}, window:" in page


def escape_(text: str) -> str:
    from html import escape

    return escape(text)


def test_old_windows_without_distributions_render() -> None:
    from charter.cli.windows_report import render_text
    from charter.documents.windows_html import NOT_STORED

    old = [window(i, effect=0.01) for i in range(2)]  # stored before distributions
    items = [*judged_windows(1), *reversed(old)]
    page = render_html("car-loan", items)
    assert page.count(escape_(NOT_STORED)) == 2 * 2  # two columns in each old window
    assert page.count('aria-label="Distribution of ') == 3 + 3
    text = render_text(items)
    assert text.count("distributions: not stored for this window") == 2
    assert "largest shift per column" in text and "income: largest shift" in text


def test_earlier_windows_charted_up_to_a_cap() -> None:
    from charter.documents.windows_html import MAX_WINDOWS_CHARTED

    (one,) = judged_windows(1)
    items = [{**one, "window_start": f"w{i:03d}"} for i in range(MAX_WINDOWS_CHARTED + 5)]
    page = render_html("car-loan", items)
    latest, _, earlier = page.partition("<h2>Windows</h2>")
    assert latest.count('aria-label="Distribution of ') == 3
    assert earlier.count('aria-label="Distribution of ') == 3 * MAX_WINDOWS_CHARTED
    assert earlier.count("drawn for the newest") == 5


def test_a_column_with_no_window_value_draws_the_reference_alone() -> None:
    (one,) = judged_windows(1)
    detail = one["drift"]["details"]["income"]
    detail["distribution"] = {**detail["distribution"], "window": None, "n_window": 0}
    page = render_html("car-loan", [one])
    latest = page.partition("<h2>Windows</h2>")[0]
    assert "no value counted in this window" in latest
    chart = latest[latest.index('aria-label="Distribution of income') :]
    chart = chart[: chart.index("</svg>")]
    assert ", reference: " in chart and ", window: " not in chart


def test_accuracy_axis_zooms_to_the_values_and_ticks_name_window_ends() -> None:
    windows = [
        {"window_end": f"2026-11-{day:02d}T00:00:00+00:00", "realised": value}
        for day, value in zip(range(13, 23), [0.95] * 5 + [0.90] * 5, strict=True)
    ]
    low, high = _zoom([0.95, 0.90])
    assert 0.88 < low < 0.90 and 0.95 < high < 0.97
    assert _zoom([0.999, 1.0]) == (pytest.approx(0.989), 1.0)  # clipped to [0, 1]
    xs = [i / 9 for i in range(10)]
    ticks = _date_ticks(windows, xs)
    assert len(ticks) <= 6
    assert ticks[0] == (0.0, "11-13 00:00") and ticks[-1] == (1.0, "11-22 00:00")
    chart = line_chart(
        [("accuracy", xs, [w["realised"] for w in windows])],
        title="t",
        x_label="x",
        y_label="y",
        diagonal=False,
        x_ticks=ticks,
        y_range=(low, high),
    )
    # The y labels span the zoomed range, not 0..1; the drop spans most of the plot's height.
    assert f">{low:.3g}<" in chart and f">{high:.3g}<" in chart and ">0<" not in chart
    points = re.search(r'points="([^"]+)"', chart)
    assert points is not None
    heights = [float(p.split(",")[1]) for p in points.group(1).split()]
    assert max(heights) - min(heights) > 0.6 * (320 - 28 - 40)
