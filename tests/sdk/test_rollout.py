"""Canary and shadow through the SDK against the real API on loopback.

- a canary's share holds within a 4-sigma binomial band over 10,000 requests, keyed
  requests land deterministically, and the candidate's records reach its own buckets;
- a shadow candidate scores every request in the background, its outputs are logged and
  compared (agreement, KS and PSI checked against scipy) and never served; a slow or
  failing candidate changes neither the answer nor the latency; the kill switch stops it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special, stats
from sqlalchemy import func, select

from charter.sdk import Serving
from charter.services import deployments, rollouts
from charter.store.models import Release
from charter.store.monitoring_models import MonitorBucket
from charter.store.runtime_models import InferenceTrace
from tests.services.runtime.support import release_from, write_release

REQUESTS = 10_000
SHARE = 0.2


def _candidate(charter: Any, act: Any, tmp_path: Path) -> tuple[str, str]:
    ref = release_from(charter, act, write_release(tmp_path / "r2", seed="2"), deploy=False)
    return ref, ref.split("@")[1]


def _serving(server: Any, tokens: dict[str, str], **options: Any) -> Serving:
    return Serving(
        server.url,
        tokens["service"],
        "credit-limit",
        "prod",
        refresh=60.0,  # the test refreshes by hand: no background poll in the timings
        timeout=5.0,
        guard=False,
        log_options={"batch_size": 5_000, "flush_interval": 0.2, "timeout": 30.0},
        **options,
    )


def test_a_canary_holds_its_share_within_sampling_error_over_10000_requests(
    charter: Any,
    act: Any,
    tokens: dict[str, str],
    deployed: dict[str, Any],
    server: Any,
    tmp_path: Path,
) -> None:
    ref, digest = _candidate(charter, act, tmp_path)
    with act("developer") as ctx:
        deployments.deploy(ctx, ref, "prod", canary=SHARE, reason="10% first")

    def live(features: dict[str, Any]) -> int:
        return 0

    def candidate(features: dict[str, Any]) -> int:
        return 1

    serving = _serving(server, tokens)
    keyed = 8_000
    try:
        assert serving.router.route is not None
        assert serving.router.route["rollout"]["kind"] == "canary"
        # The placement of 10,000 requests, as serving code sees it through the SDK
        # (``inference`` routes without logging: the server's trace ingestion of 10,000
        # rows would take most of a minute here, and logging is checked below).
        placed: list[int] = []
        for i in range(REQUESTS):
            with serving.inference(key=f"subject-{i}" if i < keyed else None) as handle:
                placed.append(int(handle.route.rollout == "canary"))
                assert (handle.route.release == digest) == (handle.route.rollout == "canary")
                handle.answer = 0
        # Keyed requests are deterministic: the same subjects land on the same side again.
        for i in range(500):
            with serving.inference(key=f"subject-{i}") as handle:
                assert int(handle.route.release == digest) == placed[i]
        # Whole calls: the candidate answers its share, and its records are tagged with it.
        answers = [
            serving.call(live, {"x": 0.1, "sex": "f"}, candidate=candidate, key=f"subject-{i}")
            for i in range(400)
        ]
        assert [a.answer for a in answers] == placed[:400]
        assert all((a.release == digest) == (a.answer == 1) for a in answers)
        assert all(("canary" in a.flags) == (a.answer == 1) for a in answers)
        assert serving.logger.flush(30.0)
    finally:
        serving.close(10.0)
    assert serving.logger.stats()["failed"] == 0, serving.logger.stats()["failures"]
    for part, n in (
        (placed, REQUESTS),
        (placed[:keyed], keyed),
        (placed[keyed:], REQUESTS - keyed),
    ):
        observed = sum(part) / n
        bound = 4 * math.sqrt(SHARE * (1 - SHARE) / n)
        assert abs(observed - SHARE) < bound, (n, observed, bound)
    # Monitoring sees the canary apart: the candidate's records are in its own buckets.
    canary_rows = sum(a.answer for a in answers)
    with charter.db.transaction(write=False) as session:
        rows = dict(
            session.execute(
                select(Release.digest, func.sum(MonitorBucket.rows))
                .join(Release, Release.id == MonitorBucket.release_id)
                .group_by(Release.digest)
            ).all()
        )
        traced = session.scalar(
            select(func.count()).where(
                InferenceTrace.release_digest == digest, InferenceTrace.served == "release"
            )
        )
    assert rows[digest] == canary_rows == traced
    assert rows[deployed["digest"]] == 400 - canary_rows


def _score(features: dict[str, Any]) -> float:
    return 1.0 / (1.0 + math.exp(-features["x"]))


def test_a_shadow_is_logged_and_compared_never_served_and_stops_on_a_kill(
    charter: Any,
    act: Any,
    tokens: dict[str, str],
    deployed: dict[str, Any],
    server: Any,
    tmp_path: Path,
) -> None:
    ref, digest = _candidate(charter, act, tmp_path)
    with act("developer") as ctx:
        route = deployments.deploy(ctx, ref, "prod", shadow=True, reason="shadow first")
        assert route.release.digest == deployed["digest"]  # the live release is unchanged
    rng = np.random.default_rng(11)
    xs = rng.normal(size=300)
    calls: list[float] = []

    def live(features: dict[str, Any]) -> dict[str, Any]:
        score = _score(features)
        return {"prediction": int(score >= 0.5), "score": score}

    def candidate(features: dict[str, Any]) -> dict[str, Any]:
        # Shifted: the shadow disagrees near the threshold and its scores drift.
        score = 1.0 / (1.0 + math.exp(-(features["x"] + 0.4)))
        calls.append(score)
        return {"prediction": int(score >= 0.5), "score": score, "secret": "never served"}

    serving = _serving(server, tokens)
    try:
        answers = [serving.call(live, {"x": float(x), "sex": "f"}, candidate=candidate) for x in xs]
        for x, answer in zip(xs, answers, strict=True):
            assert answer.answer == live({"x": float(x)})  # the live answer, always
            assert answer.release == deployed["digest"] and "shadowed" in answer.flags
        assert serving.shadows.drain(10.0) and serving.logger.flush(30.0)

        # A slow candidate costs the caller nothing: it runs off the request path.
        def slow(features: dict[str, Any]) -> dict[str, Any]:
            time.sleep(0.05)
            return candidate(features)

        started = time.perf_counter()
        for x in xs[:20]:
            serving.call(live, {"x": float(x), "sex": "f"}, candidate=slow)
        assert time.perf_counter() - started < 0.5  # twenty slow calls would take a second

        def broken(features: dict[str, Any]) -> dict[str, Any]:
            raise RuntimeError("candidate crashed")

        failed = serving.call(live, {"x": 0.3, "sex": "f"}, candidate=broken)
        assert failed.answer == live({"x": 0.3})
        assert serving.shadows.drain(10.0) and serving.logger.flush(30.0)
        assert serving.shadows.stats()["errors"] == 1

        # The kill switch overrides the shadow: the fallback serves, no candidate runs.
        with act("developer") as ctx:
            deployments.kill(ctx, "credit-limit", "prod", reason="drill")
        assert serving.router.refresh_now()
        before = len(calls)
        killed = serving.call(live, {"x": 0.3, "sex": "f"}, candidate=candidate)
        assert killed.served == "fallback" and "shadowed" not in killed.flags
        assert serving.router.route is not None and serving.router.route["rollout"] is None
        assert serving.shadows.drain(5.0) and len(calls) == before
    finally:
        serving.close(10.0)
    assert serving.logger.stats()["failed"] == 0, serving.logger.stats()["failures"]

    with act("risk_engineer", write=False) as ctx:
        view = rollouts.rollout_view(ctx, "credit-limit", "prod")
    comparison = view["comparison"]
    assert comparison["requests"] == 300 + 20 + 1 and comparison["shadow_errors"] == 1
    overall = comparison["overall"]
    assert overall["pairs"] == 320 and overall["verdict"] == "compared"
    # Independent check of the statistics on the same pairs.
    xs_all = np.concatenate([xs, xs[:20]])
    live_scores = 1.0 / (1.0 + np.exp(-xs_all))
    shadow_scores = 1.0 / (1.0 + np.exp(-(xs_all + 0.4)))
    agreement = np.mean((live_scores >= 0.5) == (shadow_scores >= 0.5))
    assert overall["agreement"] == agreement
    expected = stats.ks_2samp(live_scores, shadow_scores, method="asymp")
    assert math.isclose(overall["ks"], expected.statistic, rel_tol=1e-12)
    assert math.isclose(overall["ks_p_value"], expected.pvalue, rel_tol=1e-9, abs_tol=1e-300)
    edges = np.quantile(live_scores, np.linspace(0, 1, 11))[1:-1]
    p = np.histogram(live_scores, np.concatenate([[-np.inf], edges, [np.inf]]))[0] / 320
    q = np.histogram(shadow_scores, np.concatenate([[-np.inf], edges, [np.inf]]))[0] / 320
    p, q = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    assert math.isclose(
        overall["psi"], float(np.sum(special.rel_entr(q, p) + special.rel_entr(p, q)))
    )
    assert math.isclose(
        overall["mean_abs_diff"], float(np.mean(np.abs(shadow_scores - live_scores)))
    )
    # Nothing of the shadow was served: every trace names the live release.
    with charter.db.transaction(write=False) as session:
        served = set(session.scalars(select(InferenceTrace.release_digest)).all())
    assert digest not in served
