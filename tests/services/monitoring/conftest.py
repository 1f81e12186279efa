"""Fixtures for the live-monitoring service: a deployed high-tier release with a reference,
a local webhook receiver, and the car-loan data when ../shared/datasets is present."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.helpers import CAR_LOAN, CAR_LOAN_FEATURES, actor_of
from tests.services.support import CREDIT, HIGH_RISK_DOCS, SHA, satisfy_evidence

from charter.domain.decisions import DecisionRequest
from charter.domain.releases import ReleaseManifest
from charter.domain.systems import IntakeFile
from charter.monitoring import build_reference
from charter.services import decisions, deployments, policies, references, releases, systems

FEATURES = CAR_LOAN_FEATURES
LIVE = {
    "window": "1d",
    "min_sample": 500,
    "open_after": 2,
    "close_after": 2,
    "monitors": ["performance", "drift", "fairness", "latency", "guardrails"],
    "accuracy": ">= 0.93",
}
needs_car_loan = pytest.mark.skipif(not CAR_LOAN.is_dir(), reason="../shared/datasets is absent")


def deploy_release(charter: Any, act: Any, system: str = "credit-limit", live: Any = None) -> str:
    """Register (if needed), release, approve and deploy a high-tier system; returns the digest."""
    with act("developer") as ctx:
        try:
            systems.find_system(ctx, system)
        except Exception:
            systems.register_system(
                ctx,
                system,
                owner="Retail Credit Risk",
                purpose="car loans",
                population="UK retail",
                surfaces=["web"],
                intake=IntakeFile(answers=CREDIT),
            )
        manifest = ReleaseManifest.model_validate(
            {
                "label": "v1",
                "components": [
                    {"kind": "model", "name": "scorer", "uri": "s3://m/s.pkl", "sha256": SHA},
                    {"kind": "dataset", "name": "train", "uri": "s3://d/t.pq", "sha256": SHA},
                ],
                "config": {"threshold": 0.5, "docs": HIGH_RISK_DOCS},
                "contract": {
                    "offline": {"roc_auc": ">= 0.75", "demographic_parity_ratio[sex]": ">= 0.8"},
                    "live": live or LIVE,
                },
            }
        )
        release, _ = releases.create_release(ctx, system, manifest, base_dir=None)
    ref = f"{system}@{release.digest}"
    satisfy_evidence(charter, ref)
    body = {
        "verdict": "approve",
        "use_case": "car loans",
        "population": "UK retail",
        "environments": ["prod"],
        "expires": "90d",
        "fallback": "static:manual-review",
    }
    for who in ("approver", "approver2"):
        with act(who) as ctx:
            decisions.decide(ctx, ref, DecisionRequest(**body))
    with act("developer") as ctx:
        deployments.deploy(ctx, ref, "prod")
    return release.digest


@pytest.fixture
def policy(charter: Any, tokens: dict[str, str]) -> None:
    with charter.act(tokens["admin"], write=True) as ctx:
        policies.apply_policy(ctx, policies.default_pack(), "default.yaml")


@pytest.fixture(scope="session")
def car_loan() -> dict[str, pd.DataFrame]:
    """Reference, analysis (time order, labels joined) and a reference profile."""
    if not CAR_LOAN.is_dir():
        pytest.skip("../shared/datasets is absent")
    reference = pd.read_csv(CAR_LOAN / "synthetic_car_loan_reference.csv")
    analysis = pd.read_csv(CAR_LOAN / "synthetic_car_loan_analysis.csv")
    targets = pd.read_csv(CAR_LOAN / "synthetic_car_loan_analysis_target.csv")
    analysis = analysis.merge(targets, on="id", how="left").sort_values("timestamp")
    profile = build_reference(
        reference,
        features=FEATURES,
        prediction="y_pred",
        score="y_pred_proba",
        label="repaid",
        cohort="salary_range",
    )
    return {"reference": reference, "analysis": analysis.reset_index(drop=True), "profile": profile}  # type: ignore[dict-item]


@pytest.fixture
def small_profile(rng_frame: pd.DataFrame) -> Any:
    return build_reference(
        rng_frame, features=["x", "colour"], prediction="pred", score="score", label="label"
    )


@pytest.fixture
def rng_frame() -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(7)
    n = 2_000
    score = rng.random(n)
    return pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "score": score,
            "pred": (score > 0.5).astype(int),
            "label": (rng.random(n) < score).astype(int),
        }
    )


@pytest.fixture
def live_small(charter: Any, act: Any, policy: None, small_profile: Any) -> str:
    """A deployed release with a small synthetic reference; returns its digest."""
    digest = deploy_release(charter, act)
    with act("developer") as ctx:
        references.set_reference(ctx, f"credit-limit@{digest}", small_profile.to_dict())
    return digest


@pytest.fixture
def service_actor(charter: Any, tokens: dict[str, str]) -> Any:
    return actor_of(charter, tokens["service"])


class Receiver:
    """A real HTTP server on 127.0.0.1 recording what it receives."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                outer.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def json(self, i: int) -> Any:
        return json.loads(self.requests[i]["body"])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


__all__ = ["CAR_LOAN", "FEATURES", "Path", "Receiver", "deploy_release", "needs_car_loan"]

BACKEND_IS_PG = __import__("os").environ.get("CHARTER_TEST_DB", "sqlite") == "postgresql"


class Server:
    """The real app under uvicorn on 127.0.0.1, in a thread."""

    def __init__(self, app: Any) -> None:
        import socket

        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        while not self.server.started:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
