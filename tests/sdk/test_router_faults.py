"""The route against a control plane that is down, slow, failing or answering garbage:
the SDK keeps deciding from memory with bounded latency, by the tier's rule."""

from __future__ import annotations

import time
from typing import Any

import pytest

from charter.sdk import Router
from charter.services import policies


def _until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def _slowest_decision(router: Router, n: int = 200) -> float:
    worst = 0.0
    for _ in range(n):
        started = time.perf_counter()
        router.decide()
        worst = max(worst, time.perf_counter() - started)
    return worst


def test_high_tier_fails_closed_to_the_fallback_on_every_fault(
    deployed: dict[str, Any], proxy: Any, tokens: dict[str, str]
) -> None:
    router = Router(
        proxy.url,
        tokens["service"],
        "credit-limit",
        "prod",
        refresh=0.1,
        timeout=1.0,
        stale_after=1.5,
    )
    try:
        # The first fetch is bounded by the 1 s timeout; on a loaded machine it can miss, and
        # the background refresh (every 0.1 s) then brings the route.
        _until(lambda: router.route is not None)
        startup = len(router.outages)  # a missed first fetch is an outage of its own
        first = router.decide()
        assert first.served == "release", first.reason
        assert first.release == deployed["digest"]
        assert router.route is not None and router.route["unreachable"] == "fail_closed"
        for mode in ("slow", "500", "garbage", "html", "refuse"):
            proxy.mode(mode)
            _until(lambda: router.decide().served == "fallback")
            decision = router.decide()
            assert "control_plane_unreachable" in decision.flags and "fail_closed" in decision.flags
            assert decision.fallback == router.route["fallback"]
            # Deciding never waits for the network, even while requests hang.
            assert _slowest_decision(router) < 0.005
            proxy.mode("proxy")
            _until(lambda: router.decide().served == "release")
        outages = router.outages[startup:]
        reasons = [o.reason for o in outages]
        assert any("unreachable" in r for r in reasons)  # slow: a read timeout
        assert "HTTP 500" in reasons and any(r.startswith("garbage") for r in reasons)
        assert all(o.ended_at is not None for o in outages)  # each one reported closed
        assert all(o.fallback_decisions > 0 for o in outages)
        proxy.down()
        _until(lambda: router.decide().served == "fallback")
        assert router.outages[-1].ended_at is None
    finally:
        started = time.monotonic()
        router.close(timeout=1.0)
        assert time.monotonic() - started < 1.5


def test_a_lower_tier_rule_fails_open_with_a_flag(
    charter: Any, deployed: dict[str, Any], proxy: Any, tokens: dict[str, str]
) -> None:
    pack = (
        policies.default_pack()
        .decode()
        .replace("unreachable: {high: fail_closed,", "unreachable: {high: fail_open,")
    )
    with charter.act(tokens["admin"], write=True) as ctx:
        policies.apply_policy(ctx, pack.encode(), "open.yaml")
    router = Router(
        proxy.url,
        tokens["service"],
        "credit-limit",
        "prod",
        refresh=0.1,
        timeout=1.0,
        stale_after=1.5,
    )
    try:
        _until(lambda: router.route is not None)  # as above: the first fetch may miss
        assert router.route is not None and router.route["unreachable"] == "fail_open"
        proxy.mode("500")
        _until(lambda: router.stale)
        decision = router.decide()
        assert decision.served == "release" and decision.release == deployed["digest"]
        assert decision.flags == ("control_plane_unreachable", "fail_open")
    finally:
        router.close()


@pytest.mark.parametrize("rule", ["fail_closed", "fail_open"])
def test_before_any_answer_the_local_rule_applies(dead_end: Any, rule: str) -> None:
    dead_end.mode("slow")
    started = time.monotonic()
    router = Router(
        dead_end.url,
        "t",
        "credit-limit",
        "prod",
        refresh=0.2,
        timeout=0.3,
        default_unreachable=rule,  # type: ignore[arg-type]
        local_fallback={"ref": "static:manual-review"},
    )
    try:
        assert time.monotonic() - started < 1.0  # the first fetch is bounded too
        decision = router.decide()
        if rule == "fail_closed":
            assert decision.served == "fallback"
            assert decision.fallback == {"ref": "static:manual-review"}
        else:
            assert decision.served == "release" and "fail_open" in decision.flags
    finally:
        router.close(timeout=1.0)
