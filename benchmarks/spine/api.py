"""API throughput: a real ``charter serve`` on loopback, driven from a separate process.

Two endpoints: ``GET /api/v1/systems/{name}`` (an authenticated read) and
``POST /api/v1/systems/{name}/releases/{digest}/decisions`` (an approval: one decision row
and one audit event per request, serialised by the database's write lock). The load
generator is ``wrk`` when installed, else ``benchmarks.spine.loadgen``; both keep
``concurrency`` keep-alive connections busy for a fixed time, on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CHARTER,
    PYTHON,
    ROOT,
    Home,
    free_port,
    init_home,
    print_table,
    run_charter,
    run_process,
)
from benchmarks.spine.prepare import Prepared, populate

HOST = "127.0.0.1"
DECISION = {
    "verdict": "approve",
    "use_case": "x",
    "population": "y",
    "environments": ["prod"],
    "expires": "90d",
}


def _group_cpu_seconds(pgid: int) -> float:
    """User+system CPU seconds of every live process in process group ``pgid``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


class Server:
    """``charter serve`` in its own process group, stopped (by its id) on exit."""

    def __init__(self, home: Home, workers: int, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [CHARTER, "serve", "--host", HOST, "--port", str(self.port), "--workers", str(workers)],
            env=home.env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self) -> Server:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}; see {self.log.name}")
            with contextlib.suppress(OSError), opener.open(self.url + "/api/v1/health") as r:
                if r.status == 200:
                    return self
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"server not ready after 60 s; see {self.log.name}")

    def cpu_seconds(self) -> float:
        return _group_cpu_seconds(self.proc.pid)

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        # Workers of a multi-process server share its group: none may outlive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(match.group(1)) * _WRK_UNITS[match.group(2)] if match else float("nan")


def _wrk(
    server: Server, path: str, method: str, token: str, body: str, load: dict[str, Any], tmp: Path
) -> dict[str, Any]:
    script = tmp / f"wrk-{method.lower()}.lua"
    lines = [f'wrk.method = "{method}"', f'wrk.headers["Authorization"] = "Bearer {token}"']
    if body:  # a JSON string literal is a valid Lua string literal here
        lines += [
            f"wrk.body = {json.dumps(body)}",
            'wrk.headers["Content-Type"] = "application/json"',
        ]
    script.write_text("\n".join(lines) + "\n")
    seconds = max(1, round(load["duration"]))
    out = run_process(
        [
            "wrk",
            "-t1",
            f"-c{load['concurrency']}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(script),
            server.url + path,
        ],
        timeout=seconds + 60,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.MULTILINE))
    return {
        "tool": "wrk (1 thread)",
        "requests": requests,
        "ok": requests - (int(bad.group(1)) if bad else 0),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        **{f"p{q}_ms": _wrk_ms(pct.get(q, "nan")) for q in ("50", "90", "99")},
    }


def _python_load(
    server: Server, path: str, method: str, token: str, body: str, load: dict[str, Any]
) -> dict[str, Any]:
    argv = [
        PYTHON,
        "-m",
        "benchmarks.spine.loadgen",
        "--port",
        str(server.port),
        "--method",
        method,
        "--path",
        path,
        "--header",
        f"Authorization: Bearer {token}",
        "--concurrency",
        str(load["concurrency"]),
        "--duration",
        str(load["duration"]),
        "--max-requests",
        "2000000",
    ]
    if body:
        argv += ["--body", body]
    done = run_process(argv, cwd=ROOT, timeout=load["duration"] + 60)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _drive(
    tool: str,
    request: tuple[Server, str, str, str, str],
    concurrency: int,
    seconds: float,
    tmp: Path,
) -> dict[str, Any]:
    """Keep ``concurrency`` connections sending ``request`` for ``seconds``."""
    load = {"concurrency": concurrency, "duration": seconds}
    if tool == "wrk":
        return _wrk(*request, load, tmp)
    return _python_load(*request, load)


def _count_decisions(home: Home) -> int:
    conn = sqlite3.connect(home.path / "charter.db")
    try:
        value: int = conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
        return value
    finally:
        conn.close()


def run(
    *,
    workers: list[int],
    concurrency: int,
    duration: float,
    warmup: float,
    loadgen: str,
    service_ops: int,
) -> dict[str, Any]:
    """Measure both endpoints for each worker count; print the tables; return the figures."""
    tool = loadgen if loadgen != "auto" else ("wrk" if shutil.which("wrk") else "python")
    if tool == "wrk" and not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install -y wrk); use --loadgen python")
    figures: dict[str, Any] = {"tool": tool, "runs": []}
    rows = []
    with tempfile.TemporaryDirectory(prefix="charter-bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        home = init_home(tmp / "home")
        prepared = populate(home, systems=5)
        system, digest = prepared.systems[0], prepared.digest
        scenarios = [
            ("GET /api/v1/systems/{name}", f"/api/v1/systems/{system}", "GET", ""),
            (
                "POST .../releases/{digest}/decisions (approve)",
                f"/api/v1/systems/{system}/releases/{digest}/decisions",
                "POST",
                json.dumps(DECISION),
            ),
        ]
        figures["service_ms"] = service_costs(home, prepared, ops=service_ops)
        for count in workers:
            with Server(home, count, tmp / f"server-{count}.log") as server:
                for label, path, method, body in scenarios:
                    request = (server, path, method, prepared.approver_token, body)
                    _drive(tool, request, concurrency, warmup, tmp)
                    before = (_count_decisions(home), server.cpu_seconds())
                    result = _drive(tool, request, concurrency, duration, tmp)
                    cpu = server.cpu_seconds() - before[1]
                    if result["ok"] != result["requests"] or not result["requests"]:
                        raise RuntimeError(f"{label}: failed requests: {result}")
                    result.update(
                        endpoint=label,
                        workers=count,
                        server_cpu_ms_per_req=cpu / result["requests"] * 1000,
                        decisions_written=_count_decisions(home) - before[0],
                    )
                    figures["runs"].append(result)
                    rows.append(
                        [
                            label,
                            count,
                            result["requests"],
                            result["rps"],
                            result["p50_ms"],
                            result["p90_ms"],
                            result["p99_ms"],
                            result["server_cpu_ms_per_req"],
                        ]
                    )
        verified = json.loads(
            run_charter(["audit", "verify", "--format", "json"], home.env()).stdout
        )
        figures["chain_after_load"] = verified
    print_table(
        f"API throughput: {tool}, {concurrency} connections, {duration:g} s per run after a "
        f"{warmup:g} s warm-up; SQLite; 127.0.0.1",
        [
            "endpoint",
            "workers",
            "requests",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "server CPU ms/req",
        ],
        rows,
    )
    print(
        f"\nAudit chain after the load: ok={verified.get('ok')}, events={verified.get('events')} "
        "(every approval appended one event under concurrent writers)",
        flush=True,
    )
    if not verified.get("ok"):
        raise RuntimeError(f"the audit chain does not verify after the load: {verified}")
    return figures


def service_costs(home: Home, prepared: Prepared, *, ops: int) -> dict[str, float]:
    """Per-request cost of the service layer alone, in this process, one thread.

    What each endpoint does minus HTTP: authenticate the token in its own read
    transaction (as the API's actor dependency does), the operation in a second one,
    the view as JSON. Also the SQL statements per request (connect-time PRAGMAs aside).
    """
    from sqlalchemy import event

    from charter.domain.decisions import DecisionRequest
    from charter.services import decisions, systems, users
    from charter.services.views import DecisionView, SystemView

    charter = home.charter()
    ref = f"{prepared.systems[0]}@{prepared.digest}"

    def auth() -> Any:
        with charter.db.transaction(write=False) as session:
            return users.authenticate(session, prepared.approver_token)

    def get() -> Any:
        with charter.as_actor(auth(), write=False) as ctx:
            return SystemView.of(systems.get_system(ctx, prepared.systems[0])).model_dump(
                mode="json"
            )

    def post() -> Any:
        with charter.as_actor(auth(), write=True) as ctx:
            made = decisions.decide(ctx, ref, DecisionRequest(**DECISION))
            return DecisionView.of(made).model_dump(mode="json")

    results: dict[str, float] = {}
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    for label, fn in (("authenticate", auth), ("get system", get), ("approve", post)):
        for _ in range(10):
            fn()
        event.listen(charter.db.engine, "before_cursor_execute", count)
        statements[0] = 0
        fn()
        event.remove(charter.db.engine, "before_cursor_execute", count)
        start = time.perf_counter()
        for _ in range(ops):
            fn()
        results[label] = (time.perf_counter() - start) / ops * 1000
        results[f"{label} SQL statements"] = statements[0]
    charter.db.dispose()
    labels = ["authenticate", "get system", "approve"]
    print_table(
        f"Service layer alone, in-process, one thread (mean of {ops} calls)",
        ["", *labels],
        [
            ["ms per call", *(results[label] for label in labels)],
            [
                "SQL statements per call",
                *(int(results[f"{label} SQL statements"]) for label in labels),
            ],
        ],
    )
    return results
