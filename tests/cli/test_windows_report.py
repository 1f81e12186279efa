"""The HTML windows report, parsed as a browser would: accuracy over time with the
label-free estimate and its band, drift per feature over time, alert markers."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from charter.cli.windows_report import render_html


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
