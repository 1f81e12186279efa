"""The live section of a contract and the monitoring plan the gate and the worker share."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.domain.contracts import monitoring_plan, parse_contract, parse_live
from charter.domain.durations import parse_duration, parse_window
from charter.domain.errors import BadInput


def test_settings_and_bounds_are_typed_and_settings_are_not_monitors() -> None:
    live = parse_live({"accuracy": ">= 0.9", "open_after": 2, "window": "6h", "min_sample": 50})
    assert [str(b) for b in live.bounds] == ["accuracy >= 0.9"]
    assert (live.open_after, live.window, live.min_sample) == (2, timedelta(hours=6), 50)
    assert live.monitors == frozenset()
    plan = monitoring_plan(live)
    assert plan.monitors == {"performance"}  # from the bound, not from open_after
    assert (plan.open_after, plan.close_after, plan.min_sample) == (2, 3, 50)


def test_count_windows_and_lateness() -> None:
    live = parse_live({"window": "5000 rows", "lateness": "30m"})
    assert live.window_rows == 5000 and live.lateness == timedelta(minutes=30)
    assert monitoring_plan(live).to_dict()["window"] == "5000 rows"
    assert monitoring_plan(parse_live({})).lateness == timedelta(hours=1)


def test_defaults_when_nothing_is_said() -> None:
    plan = monitoring_plan(parse_live(None), baseline_accuracy=0.9)
    assert plan.monitors == {"drift", "performance", "quality"}
    assert [str(b) for b in plan.bounds] == ["accuracy >= 0.85"]
    assert plan.bounds[0].origin == "reference baseline"
    assert plan.window == timedelta(days=1)


def test_required_monitors_get_default_bounds_unless_the_contract_sets_one() -> None:
    plan = monitoring_plan(
        parse_live({"latency_p99_ms": "<= 200"}), required={"fairness", "latency", "guardrails"}
    )
    assert sorted(str(b) for b in plan.bounds) == [
        "accuracy_ratio >= 0.8",
        "block_rate <= 0.05",
        "latency_p99_ms <= 200",
    ]
    # No labels, no baseline: performance is planned without a bound (the gate says so).
    assert not [b for b in monitoring_plan(parse_live({}), required={"performance"}).bounds]


def test_the_old_selection_rate_name_is_read_with_a_deprecation_note() -> None:
    contract = parse_contract({"live": {"selection_rate_ratio": ">= 0.8"}})
    [bound] = contract.live.bounds
    assert bound.metric == "demographic_parity_ratio" and bound.monitor == "fairness"
    assert contract.deprecations == (
        "contract.live.selection_rate_ratio: 'selection_rate_ratio' is deprecated: write "
        "'demographic_parity_ratio' (the same statistic)",
    )


@pytest.mark.parametrize(
    ("raw", "where", "message"),
    [
        ({"drift": {"psi": 0.2}}, "contract.live.drift", "unknown live setting or metric"),
        ({"accuracy": "high"}, "contract.live.accuracy", "a condition such as"),
        ({"monitors": ["drift", "vibes"]}, "contract.live.monitors[1]", "unknown monitor"),
        ({"monitors": "drift"}, "contract.live.monitors", "a list of monitor names"),
        ({"open_after": 0}, "contract.live.open_after", "whole number"),
        ({"open_after": True}, "contract.live.open_after", "whole number"),
        ({"min_sample": 2.5}, "contract.live.min_sample", "whole number"),
        ({"window": "0d"}, "contract.live.window", "invalid live window"),
        ({"window": "90 minutes"}, "contract.live.window", "invalid live window"),
        ({"window": "0 rows"}, "contract.live.window", "1 to"),
        ({"lateness": "5000 rows"}, "contract.live.lateness", "invalid live window"),
        (["accuracy >= 0.9"], "contract.live", "a mapping"),
    ],
)
def test_bad_live_sections_name_the_key(raw: object, where: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        parse_contract({"live": raw})
    assert caught.value.location == where


def test_one_duration_parser() -> None:
    assert parse_duration("14d") == timedelta(days=14)
    assert parse_duration("2w") == timedelta(weeks=2)
    assert parse_duration("30m", units="m") == timedelta(minutes=30)
    assert parse_window("6") == timedelta(hours=6)
    assert parse_window("1 row") == 1
    for bad in ("", "14", "14 days", "-1d", "0h", "99999999d", "1y"):
        with pytest.raises(BadInput):
            parse_duration(bad)
    for bad in ("0 rows", "20000000 rows", "5000 lines", "-5 rows", "0d"):
        with pytest.raises(BadInput, match="invalid live window"):
            parse_window(bad)
