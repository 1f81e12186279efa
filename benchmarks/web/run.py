"""Server-side cost of the console's portfolio page with many systems.

    .venv/bin/python benchmarks/web/run.py                  # 1,000 systems, 15 runs each
    .venv/bin/python benchmarks/web/run.py --quick          # 50 systems, 3 runs
    .venv/bin/python benchmarks/web/run.py --systems 1000 --repeat 30

Builds a SQLite database shaped like a real organisation's (rows written in bulk, not
through the services, to keep the set-up short): ``--systems`` systems across the tiers,
each with a release live in prod (a third also in staging) approved by one or two
approvers with expiries spread over the next months, monitor states carrying the five
live signals (some drifted), open alerts on some, exceptions on others, and the default
policy in force. Then it times, best and median of ``--repeat`` runs:

1. ``portfolio.portfolio(ctx)``: the service the page reads;
2. the page's template alone, on that service's entries;
3. ``GET /`` through the ASGI app in-process (session check, service, filters, render);
4. ``GET /`` from the real uvicorn server on 127.0.0.1 (adds HTTP and the network stack),
   and the same with a search (``?q=sys-9``) and a sort (``?sort=expiry``), then one
   system's page, the incidents, the drills and the KPIs on the same portfolio; for each,
   also the time the server itself reports spending (its ``Server-Timing`` header).

Wall times on a machine shared with other work include waiting for a core; the CPU
column (this process only) and the load average printed with the table say how much.

The target is a page under 0.3 s on the server. Figures: docs/dashboard.md, "Speed".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import os
import socket
import statistics
import subprocess
import tempfile
import time
import warnings
from argparse import ArgumentParser, Namespace
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from benchmarks.common import bounded, main, print_table

ROOT = Path(__file__).resolve().parents[2]
SESSION_KEY = "benchmark-session-key-" + "b" * 32
TIERS = ("high", "limited", "minimal", "minimal")


def build(url: str, systems_n: int) -> str:
    """Fill an empty database; returns an approver's token (the page's viewer)."""
    from sqlalchemy import insert, select

    from charter.services import policies
    from charter.services.context import Charter
    from charter.services.users import bootstrap_admin, create_user
    from charter.store.db import Database
    from charter.store.migrate import upgrade
    from charter.store.models import Decision, PolicyException, Release, Route, System, User
    from charter.store.monitoring_models import Alert, MonitorState

    now = datetime.now(UTC).replace(microsecond=0)
    db = Database(url)
    upgrade(db)
    charter = Charter(db)
    with db.transaction(write=True) as session:
        _, admin = bootstrap_admin(session, "admin", now)
    with charter.act(admin, write=True) as ctx:
        policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
        _, viewer = create_user(ctx, "risk", "risk_engineer")
        for name in ("ann", "bob"):
            create_user(ctx, name, "approver")
    with db.transaction(write=True) as session:
        ids = {
            name: session.scalar(select(User.id).where(User.name == name))
            for name in ("admin", "ann", "bob")
        }
        session.execute(
            insert(System),
            [
                {
                    "id": i + 1,
                    "name": f"sys-{i:04d}",
                    "owner": f"Team {i % 37}",
                    "purpose": "scores applications",
                    "population": "retail customers",
                    "surfaces": ["api"],
                    "intake": {},
                    "tier": TIERS[i % len(TIERS)],
                    "status": "active",
                    "created_at": now,
                    "created_by": "admin",
                }
                for i in range(systems_n)
            ],
        )
        manifest = (
            '{"components":[{"kind":"model","name":"m","sha256":"' + "a" * 64 + '","uri":"s3://m"}'
            ',{"deprecation_date":"2027-06-30","kind":"vendor_model","name":"llm",'
            '"provider":"x","snapshot":"2026-01"}],"config":{},"contract":{}}'
        )
        session.execute(
            insert(Release),
            [
                {
                    "id": i + 1,
                    "system_id": i + 1,
                    "digest": f"{i:064x}",
                    "manifest": manifest,
                    "label": "v1",
                    "description": "",
                    "created_at": now,
                    "created_by_id": ids["admin"],
                }
                for i in range(systems_n)
            ],
        )
        routes, decisions, states, alerts, exceptions = [], [], [], [], []
        for i in range(systems_n):
            environments = ["prod", "staging"] if i % 3 == 0 else ["prod"]
            for env in environments:
                routes.append(
                    {
                        "system_id": i + 1,
                        "environment": env,
                        "release_id": i + 1,
                        "previous_release_id": None,
                        "state": "killed" if i % 97 == 0 else "serving",
                        "fallback": {"kind": "static", "ref": "manual-review"},
                        "reason": "",
                        "updated_at": now,
                        "updated_by": "admin",
                    }
                )
                drifted = i % 11 == 0
                states.append(
                    {
                        "system_id": i + 1,
                        "environment": env,
                        "last_window_end": now,
                        "states": {},
                        "latest": {
                            "release": f"sys-{i:04d}@{i:064x}",
                            "window": {"start": now.isoformat(), "end": now.isoformat()},
                            "rows": 5000,
                            "labelled": 0,
                            "signals": {
                                "latency_ms": {"p50": 11.0, "p95": 38.0, "p99": 61.0, "n": 5000},
                                "accuracy": {
                                    "value": 0.91,
                                    "source": "estimated",
                                    "realised": None,
                                    "estimated": 0.91,
                                },
                                "drift": {
                                    "verdict": "drift" if drifted else "no drift",
                                    "columns": ["income", "age"] if drifted else [],
                                },
                                "block_rate": 0.012,
                                "fallback_rate": 0.0,
                            },
                        },
                    }
                )
                if drifted:
                    alerts.append(
                        {
                            "dedup_key": f"k{i}{env}",
                            "system_id": i + 1,
                            "environment": env,
                            "release_id": i + 1,
                            "monitor": "drift",
                            "subject": "income",
                            "severity": "warning",
                            "status": "open",
                            "summary": "drift on income: 0.31 (bound psi > 0.2)",
                            "details": {},
                            "breach_started_at": now,
                            "opened_at": now,
                            "resolved_at": None,
                        }
                    )
            for k, approver in enumerate(
                ("ann", "bob")[: 2 if TIERS[i % len(TIERS)] == "high" else 1]
            ):
                decisions.append(
                    {
                        "release_id": i + 1,
                        "verdict": "approve",
                        "actor_id": ids[approver],
                        "actor_role": "approver",
                        "use_case": "scoring",
                        "population": "retail",
                        "environments": environments,
                        "contract": {},
                        "fallback": {"kind": "static", "ref": "manual-review"},
                        "expires_at": now + timedelta(days=5 + (i * 7 + k) % 170),
                        "conditions": [],
                        "note": "",
                        "policy_version": 1,
                        "supersedes_id": None,
                        "created_at": now,
                    }
                )
            if i % 13 == 0:
                exceptions.append(
                    {
                        "release_id": i + 1,
                        "control_id": "eval-classification",
                        "environment": None,
                        "justification": "re-evaluation scheduled",
                        "compensating": "manual review",
                        "status": "approved",
                        "expires_at": now + timedelta(days=3 + i % 40),
                        "policy_version": 1,
                        "requested_by": "admin",
                        "requested_at": now,
                        "decided_by": "risk",
                        "decided_at": now,
                        "decision_note": "",
                    }
                )
        session.execute(insert(Route), routes)
        session.execute(insert(Decision), decisions)
        session.execute(insert(MonitorState), states)
        session.execute(insert(Alert), alerts)
        session.execute(insert(PolicyException), exceptions)
    db.dispose()
    return viewer


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """Best and median wall seconds of ``repeat`` calls (after one warm-up), and the median
    CPU seconds of this process per call: on a machine shared with other work the wall
    time includes waiting for a core, the CPU time does not."""
    call()
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return min(walls), statistics.median(walls), statistics.median(cpus)


def signed_in_cookie(url: str, token: str) -> str:
    """A session cookie for ``token``, as the sign-in form would set it."""
    from charter.services.users import authenticate, hash_token
    from charter.store.db import Database
    from charter.web.session import SessionCodec

    db = Database(url)
    with db.transaction(write=False) as session:
        actor = authenticate(session, token)
    db.dispose()
    codec = SessionCodec(SESSION_KEY.encode(), lifetime_seconds=3600)
    return codec.dumps(codec.signed_in(actor.id, hash_token(token)))


def in_process(url: str, token: str, repeat: int) -> dict[str, tuple[float, float, float]]:
    """The service, the template and the whole page inside this process."""
    from markupsafe import Markup

    from charter.api.app import create_app
    from charter.services import portfolio
    from charter.services.context import Charter
    from charter.store.db import Database
    from charter.web.portfolio import Filters, portfolio_view
    from charter.web.render import environment
    from charter.web.session import COOKIE_NAME

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    charter = Charter(Database(url))
    results: dict[str, tuple[float, float, float]] = {}

    def service() -> None:
        with charter.act(token, write=False) as ctx:
            portfolio.portfolio(ctx)

    results["portfolio.portfolio (service)"] = timed(service, repeat)
    templates = environment()
    with charter.act(token, write=False) as ctx:
        start = time.perf_counter()
        values = portfolio_view(ctx, Filters())
        results["portfolio view (service + rows for the template)"] = (
            time.perf_counter() - start,
        ) * 3
        actor = ctx.actor
    context = {"actor": actor, "can": lambda p: True, "csrf": "x", "flash": (), "path": "/"}

    def render() -> None:
        # As the page handler does: the table on its own, then the page around it.
        table = templates.get_template("_portfolio_rows.html").render(**context, **values)
        templates.get_template("portfolio.html").render(table=Markup(table), **context, **values)

    results["templates only (table + page)"] = timed(render, repeat)
    app = create_app(charter)
    with TestClient(app) as client:
        client.cookies.set(COOKIE_NAME, signed_in_cookie(url, token))

        def page() -> None:
            response = client.get("/")
            assert response.status_code == 200, response.text[:300]
            assert "sys-0000" in response.text

        results["GET / in-process (ASGI)"] = timed(page, repeat)
    charter.db.dispose()
    return results


def over_http(
    url: str, home: Path, token: str, repeat: int
) -> dict[str, tuple[float, float, float]]:
    """The page from a real uvicorn process on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env.update(CHARTER_HOME=str(home), CHARTER_DATABASE_URL=url, CHARTER_SESSION_KEY=SESSION_KEY)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "charter.api.server:app"),
            *("--port", str(port), "--log-level", "warning"),
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    results: dict[str, tuple[float, float, float]] = {}
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        cookies = {"charter_session": signed_in_cookie(url, token)}
        with httpx.Client(base_url=base, cookies=cookies, timeout=30) as client:
            for label, path in (
                ("GET / over HTTP", "/"),
                ("GET /?q=sys-9 over HTTP (search)", "/?q=sys-9"),
                ("GET /?sort=expiry over HTTP (sort)", "/?sort=expiry"),
                # The pages added with incidents, drills and KPIs, on the same portfolio.
                ("GET /systems/sys-0000 over HTTP (system page)", "/systems/sys-0000"),
                ("GET /incidents over HTTP", "/incidents"),
                ("GET /drills over HTTP", "/drills"),
                ("GET /kpis over HTTP", "/kpis"),
            ):
                server: list[tuple[float, float]] = []

                def get(path: str = path, server: list[tuple[float, float]] = server) -> None:
                    response = client.get(path)
                    assert response.status_code == 200, response.text[:300]
                    # "app;dur=WALL_MS, cpu;dur=CPU_MS"
                    wall, cpu = (
                        float(part.split("dur=")[1])
                        for part in response.headers["server-timing"].split(",")
                    )
                    server.append((wall, cpu))

                best, median, _ = timed(get, repeat)
                results[label] = (best, median, 0.0)
                # The server's own measure of the same requests (warm-up excluded).
                walls = [wall for wall, _ in server[1:]]
                cpus = [cpu for _, cpu in server[1:]]
                results[label.replace("over HTTP", "in the server")] = (
                    min(walls) / 1000,
                    statistics.median(walls) / 1000,
                    statistics.median(cpus) / 1000,
                )
            size = len(client.get("/").content)
            results[f"(page size {size / 1024:.0f} KiB)"] = (0.0, 0.0, 0.0)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return results


QUICK = {"systems": 50, "repeat": 3}


def body(args: Namespace) -> dict[str, Any]:
    """Build the database, time each layer, print a table; return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/portfolio.db"
        start = time.perf_counter()
        token = build(url, args.systems)
        print(f"built {args.systems} systems in {time.perf_counter() - start:.1f} s")
        load_before = os.getloadavg()[0]
        os.environ["CHARTER_SESSION_KEY"] = SESSION_KEY
        os.environ["CHARTER_HOME"] = tmp
        results = in_process(url, token, args.repeat)
        results.update(over_http(url, Path(tmp), token, args.repeat))
    load_after = os.getloadavg()[0]
    rows = []
    for label, (best, median, cpu) in results.items():
        if best == median == 0.0:
            rows.append([label, "", "", ""])
        elif "over HTTP" in label:
            # The server's CPU is another process's: it reports its own ("in the server").
            rows.append([label, best * 1000, median * 1000, ""])
        else:
            rows.append([label, best * 1000, median * 1000, cpu * 1000])
    print_table(
        f"Portfolio page, {args.systems:,} systems, {args.repeat} runs each "
        f"(load average {load_before:.1f} before, {load_after:.1f} after)",
        ["what", "best ms", "median ms", "CPU median ms"],
        rows,
    )
    return {
        "systems": args.systems,
        "load_average": [load_before, load_after],
        "ms": {label: [v * 1000 for v in values] for label, values in results.items()},
    }


def configure(parser: ArgumentParser) -> None:
    """The web benchmark's options."""
    parser.add_argument("--systems", type=bounded(int, 1, 100_000), default=1_000)
    parser.add_argument("--repeat", type=bounded(int, 1, 1000), default=15)


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK)
