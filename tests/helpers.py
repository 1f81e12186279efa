"""Small builders shared by tests."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from charter.domain.releases import ReleaseManifest
from charter.services.context import Actor, Charter
from charter.services.users import authenticate

BACKEND = os.environ.get("CHARTER_TEST_DB", "sqlite")
PG_URL = os.environ.get("CHARTER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
CAR_LOAN = SHARED_DATASETS / "car_loan"
#: The car-loan model's features (nannyml's synthetic car-loan data set).
CAR_LOAN_FEATURES = [
    "car_value",
    "salary_range",
    "debt_to_income_ratio",
    "loan_length",
    "repaid_loan_on_prev_car",
    "size_of_downpayment",
    "driver_tenure",
]
EXAMPLE = REPO / "examples" / "credit-limit"


def actor_of(charter: Charter, token: str) -> Actor:
    """The actor a token belongs to."""
    with charter.db.transaction(write=False) as session:
        return authenticate(session, token)


SHA_A = "a" * 64


def manifest(seed: str = "1", **overrides: Any) -> ReleaseManifest:
    """A valid manifest whose content (and digest) varies with ``seed``."""
    body: dict[str, Any] = {
        "label": f"v{seed}",
        "components": [
            {"kind": "model", "name": "scorer", "uri": "s3://models/scorer.pkl", "sha256": SHA_A},
            {"kind": "prompt", "name": "system", "text": f"You are assistant {seed}."},
        ],
        "config": {"threshold": 0.5},
        "contract": {"offline": {"roc_auc": ">= 0.75"}},
    }
    body.update(overrides)
    return ReleaseManifest.model_validate(body)


class ThreadedServer:
    """A real app under uvicorn on 127.0.0.1 (a free port), served from a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop the server and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
