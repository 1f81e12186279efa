"""The /metrics exposition: prometheus_client writes it; labels escape and formats negotiate."""

from __future__ import annotations

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from charter.api.monitoring import render_metrics

AWKWARD = 'a"b\\c\nd'


def _found() -> dict[tuple[str, str], dict]:
    return {
        (AWKWARD, "prod"): {
            "release": f"{AWKWARD}@" + "ab" * 32,
            "window": {"start": "s", "end": "e"},
            "rows": 500,
            "latency_ms": {"p50": 7.5, "p95": 12.0, "p99": None, "n": 500},
            "accuracy": {"value": 0.9, "source": "realised", "realised": 0.9, "estimated": 0.88},
            "drift": {"verdict": "drift", "columns": ["x", "y"]},
            "block_rate": 0.05,
            "fallback_rate": None,
            "open_alerts": 2,
        }
    }


def test_label_escaping_round_trips() -> None:
    body, content_type = render_metrics(_found())
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    assert 'system="a\\"b\\\\c\\nd"' in text  # escaped as the exposition format requires
    samples = {
        (s.name, s.labels.get("quantile")): s
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("charter_latency_ms", "0.95")].labels["system"] == AWKWARD
    assert samples[("charter_latency_ms", "0.95")].value == 12.0
    assert ("charter_latency_ms", "0.99") not in samples  # absent data: no sample, not NaN
    assert ("charter_fallback_rate", None) not in samples
    assert samples[("charter_drift_columns_flagged", None)].value == 2.0
    assert samples[("charter_open_alerts", None)].value == 2.0
    assert samples[("charter_window_rows", None)].labels["release"] == "ab" * 6


def test_openmetrics_when_asked() -> None:
    body, content_type = render_metrics(_found(), "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text; version=1.0.0")
    text = body.decode()
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in parse_om(text)}
    assert families["charter_block_rate"].samples[0].value == 0.05
    assert families["charter_block_rate"].samples[0].labels["system"] == AWKWARD
    plain, kind = render_metrics(_found(), "text/html, */*")
    assert kind.startswith("text/plain; version=0.0.4") and not plain.endswith(b"# EOF\n")


def test_empty() -> None:
    body, _ = render_metrics({})
    assert b"# HELP charter_open_alerts Open alerts." in body
    assert b"# TYPE charter_open_alerts gauge" in body
