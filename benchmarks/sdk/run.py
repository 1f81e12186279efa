"""SDK: overhead per governed call, the time for a kill to reach a running SDK, drill timings.

    .venv/bin/python benchmarks/sdk/run.py            # 20,000 calls, 20 kills
    .venv/bin/python benchmarks/sdk/run.py --quick    # 2,000 calls, 3 kills

A real control plane (``charter.api`` under uvicorn, in its own process, on SQLite) with
one minimal-tier system deployed in ``prod``; the SDK in this process.

1. Overhead per call of :meth:`charter.sdk.Serving.call` over the bare model call, with
   routing and logging on and no scanners (aim: < 50 us), and with the tier's scanners on
   a 200-character text (the guard's own cost dominates).
2. Kill to SDK: ``POST /systems/{name}/kill`` through the API, then the time until the
   running SDK serves the fallback (refresh interval ``--refresh``), p50 and p99; each
   kill is resumed before the next.
3. Drills: MTTD (event time, breach start to alert) and the wall time of detection and
   intervention of a drift drill, and the SDK switch time of an outage drill.
Figures: docs/benchmarks.md, "SDK".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import statistics
import subprocess
import tempfile
import time
from argparse import ArgumentParser, Namespace
from typing import Any

from benchmarks.common import PYTHON, bounded, expect, free_port, main, percentile, print_table

QUICK = {"calls": 2_000, "kills": 3}
SERVER = """
import sys, uvicorn
from charter.api.app import create_app
from charter.services.context import Charter
from charter.store.db import Database
uvicorn.run(create_app(Charter(Database(sys.argv[1]))), host="127.0.0.1",
            port=int(sys.argv[2]), log_level="warning")
"""


def world(url: str) -> dict[str, Any]:
    """A migrated database: default pack (minimal tier kills on a breach), one system live."""
    import numpy as np
    import pandas as pd

    from charter.domain.decisions import DecisionRequest
    from charter.domain.releases import ReleaseManifest
    from charter.domain.systems import IntakeFile
    from charter.monitoring import build_reference
    from charter.services import decisions, deployments, policies, references, releases, systems
    from charter.services.context import Charter
    from charter.services.users import bootstrap_admin, create_user
    from charter.store.db import Database
    from charter.store.migrate import upgrade

    db = Database(url)
    upgrade(db)
    charter = Charter(db)
    with db.transaction(write=True) as session:
        _, admin = bootstrap_admin(session, "admin", charter.clock())
    with charter.act(admin, write=True) as ctx:
        pack = (
            policies.default_pack()
            .decode()
            .replace(
                "    - {tiers: [high, limited, minimal], action: alert_only}",
                "    - {tiers: [minimal], monitors: [drift], action: kill}\n"
                "    - {tiers: [high, limited, minimal], action: alert_only}",
            )
        )
        policies.apply_policy(ctx, pack.encode(), "bench.yaml")
        tokens = {
            role: create_user(ctx, role, role)[1] for role in ("developer", "approver", "service")
        }
    with charter.act(tokens["developer"], write=True) as ctx:
        systems.register_system(
            ctx,
            "notes",
            owner="Ops",
            purpose="summaries",
            population="staff",
            intake=IntakeFile(answers={"domain": "internal_operations"}),
        )
        manifest = ReleaseManifest.model_validate(
            {
                "components": [{"kind": "model", "name": "m", "sha256": "a" * 64}],
                "contract": {
                    "live": {
                        "window": "1h",
                        "min_sample": 50,
                        "open_after": 1,
                        "monitors": ["drift"],
                    }
                },
            }
        )
        release, _ = releases.create_release(ctx, "notes", manifest, base_dir=None)
        ref = f"notes@{release.digest}"
        rng = np.random.default_rng(1)
        frame = pd.DataFrame({"x": rng.normal(size=2000), "pred": rng.integers(0, 2, 2000)})
        profile = build_reference(frame, features=["x"], prediction="pred")
        references.set_reference(ctx, ref, profile.to_dict())
    with charter.act(tokens["approver"], write=True) as ctx:
        decisions.decide(
            ctx,
            ref,
            DecisionRequest(
                verdict="approve",
                use_case="summaries",
                population="staff",
                environments=["prod"],
                expires="90d",
                fallback="static:canned-answer",
            ),
        )
    with charter.act(tokens["developer"], write=True) as ctx:
        deployments.deploy(ctx, ref, "prod")
    db.dispose()
    return {"ref": ref, "tokens": tokens}


def ready(serving: Any) -> None:
    """Wait (60 s at most) until the SDK has the route and serves the release."""
    deadline = time.monotonic() + 60
    while serving.router.decide().served != "release":
        expect(time.monotonic() < deadline, serving.router.decide().reason)
        serving.router.refresh_now()
        time.sleep(0.1)


def overhead(serving: Any, calls: int, text: bool) -> dict[str, float]:
    """Per-call cost of the governed call minus the bare call, in microseconds."""
    payload: Any = ("Please summarise the meeting notes of Tuesday for the team. " * 4)[:200]
    features = {"x": 0.1}
    model = (lambda t: "summary") if text else (lambda f: 1)

    def governed() -> None:
        if text:
            serving.call(model, payload, features=features)
        else:
            serving.call(model, features)

    for _ in range(min(500, calls)):
        governed()
    bare, timed = [], []
    for _ in range(calls):
        started = time.perf_counter_ns()
        model(payload if text else features)
        bare.append(time.perf_counter_ns() - started)
        started = time.perf_counter_ns()
        governed()
        timed.append(time.perf_counter_ns() - started)
        if len(timed) % 1000 == 0:
            serving.logger.flush(10.0)  # keep the queue from filling (it would drop)
    base = statistics.fmean(bare) / 1000
    return {
        "p50_us": percentile(timed, 50) / 1000 - base,
        "mean_us": statistics.fmean(timed) / 1000 - base,
        "p99_us": percentile(timed, 99) / 1000 - base,
    }


def kill_times(url: str, token: str, serving: Any, kills: int) -> list[float]:
    """Seconds from the kill's HTTP answer to the SDK serving the fallback."""
    import httpx

    client = httpx.Client(base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"})
    times = []
    for k in range(kills):
        body = {"environment": "prod", "reason": f"benchmark kill {k}"}
        client.post("/systems/notes/kill", json=body, timeout=30).raise_for_status()
        started = time.perf_counter()
        while serving.router.decide().served != "fallback":
            time.sleep(0.001)
        times.append(time.perf_counter() - started)
        client.post("/systems/notes/resume", json=body, timeout=30).raise_for_status()
        while serving.router.decide().served != "release":
            time.sleep(0.005)
    client.close()
    return times


def drill(url: str, token: str, ref: str, scenario: str) -> dict[str, Any]:
    import httpx

    name, digest = ref.split("@")
    response = httpx.post(
        f"{url}/api/v1/systems/{name}/releases/{digest}/drills",
        json={"scenario": scenario},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def body(args: Namespace) -> dict[str, Any]:
    """Overhead tables, then kill-to-SDK, then drills."""
    from charter.sdk import Serving

    with tempfile.TemporaryDirectory(prefix="charter-bench-sdk-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'charter.db'}"
        made = world(url)
        port = free_port()
        server = subprocess.Popen([PYTHON, "-c", SERVER, url, str(port)])
        base = f"http://127.0.0.1:{port}"
        try:
            import httpx

            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(base + "/api/v1/health", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    expect(time.monotonic() < deadline, "the server did not start")
                    time.sleep(0.1)
            token = made["tokens"]["service"]
            figures: dict[str, Any] = {"calls": args.calls, "kills": args.kills}
            rows = []
            for label, guard, text in (
                ("routing + logging, no scanners", False, False),
                ("routing + logging + the tier's scanners (200-char text)", True, True),
            ):
                serving = Serving(
                    base,
                    token,
                    "notes",
                    "prod",
                    refresh=args.refresh,
                    guard=guard,
                    log_options={"max_queue": 100_000},
                )
                ready(serving)
                result = overhead(serving, args.calls, text)
                serving.close(10.0)
                stats = serving.logger.stats()
                expect(
                    stats["dropped"] == 0 and stats["failed"] == 0, f"logging lost records: {stats}"
                )
                figures[label] = result
                rows.append([label, result["p50_us"], result["mean_us"], result["p99_us"]])
            print_table(
                f"Overhead per call over the bare model call ({args.calls} calls)",
                ["configuration", "p50 us", "mean us", "p99 us"],
                rows,
            )
            serving = Serving(
                base, token, "notes", "prod", refresh=args.refresh, guard=False, timeout=5.0
            )
            ready(serving)
            times = kill_times(base, made["tokens"]["developer"], serving, args.kills)
            serving.close(5.0)
            figures["kill_to_sdk_s"] = {
                "p50": percentile(times, 50),
                "p99": percentile(times, 99),
                "max": max(times),
                "refresh_s": args.refresh,
            }
            print_table(
                f"Kill to a running SDK ({args.kills} kills, refresh {args.refresh} s)",
                ["p50 s", "p99 s", "max s"],
                [[percentile(times, 50), percentile(times, 99), max(times)]],
            )
            drift = drill(base, made["tokens"]["developer"], made["ref"], "drift")
            outage = drill(base, made["tokens"]["developer"], made["ref"], "outage")
            steps = drift["steps"]
            figures["drills"] = {"drift": drift, "outage": outage}
            print_table(
                "Drills (minimal tier; the benchmark's pack kills on drift)",
                [
                    "drill",
                    "passed",
                    "MTTD s (event time)",
                    "detection s",
                    "intervention s",
                    "SDK switch s",
                ],
                [
                    [
                        "drift",
                        drift["passed"],
                        steps["detection"].get("mttd_seconds"),
                        steps["detection"]["seconds"],
                        steps["intervention"]["seconds"],
                        "-",
                    ],
                    [
                        "outage",
                        outage["passed"],
                        "-",
                        "-",
                        "-",
                        outage["steps"]["fallback"]["seconds"],
                    ],
                ],
            )
            return figures
        finally:
            server.terminate()
            server.wait(10)


def configure(parser: ArgumentParser) -> None:
    """The SDK benchmark's options."""
    parser.add_argument(
        "--calls",
        type=bounded(int, 100, 10_000_000),
        default=20_000,
        help="governed calls per configuration (default 20,000)",
    )
    parser.add_argument(
        "--kills", type=bounded(int, 1, 1000), default=20, help="kills timed (default 20)"
    )
    parser.add_argument(
        "--refresh",
        type=bounded(float, 0.05, 60),
        default=1.0,
        help="the SDK's route refresh interval in seconds (default 1)",
    )


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK)
