"""API throughput: a real ``charter serve`` on loopback, driven from a separate process.

Two endpoints: ``GET /api/v1/systems/{name}`` (authenticated read) and
``POST /api/v1/systems/{name}/releases/{digest}/decisions`` (an approval: one decision row
and one audit event per request, serialised by the database's write lock). The load
generator is ``wrk`` when it is installed, else ``spine_loadgen.py``; both keep
``concurrency`` keep-alive connections busy for a fixed time. Traffic goes to 127.0.0.1 only.
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
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from spine_common import (
    CHARTER,
    PYTHON,
    charter_env,
    free_port,
    init_home,
    pooled_sqlite_database,
    populate,
    print_table,
)

HOST = "127.0.0.1"
BENCH_DIR = str(Path(__file__).resolve().parent)
LOADGEN = str(Path(__file__).with_name("spine_loadgen.py"))
DECISION = {
    "verdict": "approve",
    "use_case": "x",
    "population": "y",
    "environments": ["prod"],
    "expires": "90d",
}


def _pgroup_cpu_seconds(pgid: int) -> float:
    """User+system CPU seconds of every live process in process group ``pgid``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # After the command name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


class Server:
    """``charter serve`` in its own process group, stopped (by its id) on exit."""

    def __init__(self, home: Path, workers: int, log: Path, *, pooled: bool = False) -> None:
        self.port = free_port()
        self.workers = workers
        self.log = log.open("w")
        address = ["--host", HOST, "--port", str(self.port), "--workers", str(workers)]
        if pooled:
            argv = [PYTHON, "-m", "uvicorn", "spine_pooled_server:app", "--app-dir", BENCH_DIR]
            argv += [*address, "--log-level", "warning"]
        else:
            argv = [CHARTER, "serve", *address]
        self.proc = subprocess.Popen(
            argv,
            env=charter_env(home),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}; see {self.log.name}")
            try:
                with opener.open(self.url + "/api/v1/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout}s; see {self.log.name}")

    def cpu_seconds(self) -> float:
        return _pgroup_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        # Workers of a multi-process server share the group: make sure none outlives it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_WRK_TIME = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        return float("nan")
    return float(match.group(1)) * _WRK_TIME[match.group(2)]


def _run_wrk(
    url: str, method: str, token: str, body: str, concurrency: int, duration: float, tmp: Path
) -> dict[str, Any]:
    script = tmp / f"wrk-{method.lower()}.lua"
    lua_body = json.dumps(body)  # a JSON string literal is a valid Lua string literal here
    script.write_text(
        f'wrk.method = "{method}"\n'
        f"wrk.body = {lua_body if body else 'nil'}\n"
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        + ('wrk.headers["Content-Type"] = "application/json"\n' if body else "")
    )
    proc = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    )
    out = proc.stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    seconds = re.search(r"requests in ([\d.]+\w+),", out).group(1)  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.MULTILINE))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = int(non2xx.group(1)) if non2xx else 0
    return {
        "tool": "wrk (1 thread)",
        "concurrency": concurrency,
        "seconds": _wrk_ms(seconds) / 1000,
        "requests": requests,
        "ok": requests - bad,
        "statuses": {"non-2xx": bad},
        "errors": errors.group(1).strip() if errors else 0,
        "rps": rps,
        "p50_ms": _wrk_ms(pct.get("50", "nan")),
        "p90_ms": _wrk_ms(pct.get("90", "nan")),
        "p99_ms": _wrk_ms(pct.get("99", "nan")),
        "max_ms": float("nan"),
    }


def _run_python(
    port: int, path: str, method: str, token: str, body: str, concurrency: int, duration: float
) -> dict[str, Any]:
    argv = [
        PYTHON,
        LOADGEN,
        "--host",
        HOST,
        "--port",
        str(port),
        "--method",
        method,
        "--path",
        path,
        "--header",
        f"Authorization: Bearer {token}",
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--max-requests",
        "2000000",
    ]
    if body:
        argv += ["--body", body]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=True)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _load(
    tool: str,
    server: Server,
    path: str,
    method: str,
    token: str,
    body: str,
    concurrency: int,
    duration: float,
    tmp: Path,
) -> dict[str, Any]:
    if tool == "wrk":
        return _run_wrk(server.url + path, method, token, body, concurrency, duration, tmp)
    return _run_python(server.port, path, method, token, body, concurrency, duration)


def run(
    *,
    workers: list[int],
    concurrency: int = 16,
    duration: float = 10.0,
    warmup: float = 2.0,
    loadgen: str = "auto",
    pooled_what_if: bool = False,
    service_ops: int = 200,
) -> dict[str, Any]:
    """Measure both endpoints for each worker count; print the table; return the figures."""
    tool = loadgen
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    if tool == "wrk" and not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install -y wrk) - use --loadgen python")
    rows = []
    figures: dict[str, Any] = {"tool": tool, "runs": []}
    with tempfile.TemporaryDirectory(prefix="charter-bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        prepared = populate(home, init_home(home), systems=5)
        system = prepared.systems[0]
        digest = prepared.digest
        db_path = home / "charter.db"
        scenarios = [
            ("GET /api/v1/systems/{name}", f"/api/v1/systems/{system}", "GET", ""),
            (
                "POST .../releases/{digest}/decisions (approve)",
                f"/api/v1/systems/{system}/releases/{digest}/decisions",
                "POST",
                json.dumps(DECISION),
            ),
        ]
        costs = service_costs(home, prepared, ops=service_ops)
        figures["service_costs_ms"] = costs
        variants = [(count, False) for count in workers]
        if pooled_what_if:
            variants.append((1, True))
        for count, pooled in variants:
            name = "pooled SQLite engine (what-if)" if pooled else "as shipped (pooled engine)"
            log = tmp / f"server-{count}-{'pooled' if pooled else 'shipped'}.log"
            with Server(home, count, log, pooled=pooled) as server:
                server.wait_ready()
                for label, path, method, body in scenarios:
                    decisions_before = _count(db_path, "decisions")
                    _load(
                        tool,
                        server,
                        path,
                        method,
                        prepared.approver_token,
                        body,
                        concurrency,
                        warmup,
                        tmp,
                    )
                    cpu_before = server.cpu_seconds()
                    result = _load(
                        tool,
                        server,
                        path,
                        method,
                        prepared.approver_token,
                        body,
                        concurrency,
                        duration,
                        tmp,
                    )
                    cpu = server.cpu_seconds() - cpu_before
                    if result["ok"] != result["requests"] or not result["requests"]:
                        raise RuntimeError(f"{label}: failed requests: {result}")
                    made = _count(db_path, "decisions") - decisions_before
                    result.update(
                        {
                            "endpoint": label,
                            "server": name,
                            "workers": count,
                            "server_cpu_s": cpu,
                            "server_cpu_ms_per_req": cpu / max(result["requests"], 1) * 1000,
                            "decisions_written": made,
                        }
                    )
                    figures["runs"].append(result)
                    rows.append(
                        [
                            label,
                            name,
                            count,
                            result["requests"],
                            result["rps"],
                            result["p50_ms"],
                            result["p90_ms"],
                            result["p99_ms"],
                            result["server_cpu_ms_per_req"],
                        ]
                    )
        verify = json.loads(
            subprocess.run(
                [CHARTER, "audit", "verify", "--format", "json"],
                env=charter_env(home),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            ).stdout
            or "{}"
        )
        figures["chain_after_load"] = verify
    print_table(
        f"API throughput: {tool}, {concurrency} connections, {duration:g} s per run after a "
        f"{warmup:g} s warm-up; SQLite; 127.0.0.1",
        [
            "endpoint",
            "server",
            "uvicorn workers",
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
        f"\nAudit chain after the load: ok={verify.get('ok')}, events={verify.get('events')} "
        "(every approval appended one event under concurrent writers)",
        flush=True,
    )
    return figures


def service_costs(home: Path, prepared: Any, *, ops: int) -> dict[str, dict[str, float]]:
    """Per-request cost of the service layer alone, in this process, one thread.

    What each endpoint does minus HTTP: authenticate the token (its own read transaction,
    as ``api.deps.get_actor`` does), then the operation in a second transaction, then the
    view as JSON. With the shipped engine (pooled since the first benchmark run).
    """
    from sqlalchemy import event

    from charter.domain.decisions import DecisionRequest
    from charter.services import decisions, systems, users
    from charter.services.context import Charter
    from charter.services.views import DecisionView, SystemView
    from charter.store.db import Database

    url = f"sqlite:///{home / 'charter.db'}"
    ref = f"{prepared.systems[0]}@{prepared.digest}"
    engines = {"as shipped (pooled engine)": Database(url)}
    pooled = pooled_sqlite_database(url)
    if pooled is not None:
        engines["pooled SQLite engine (what-if)"] = pooled
    results: dict[str, dict[str, float]] = {}
    for name, database in engines.items():
        charter = Charter(database)

        def auth(charter: Charter = charter) -> Any:
            with charter.db.transaction(write=False) as session:
                return users.authenticate(session, prepared.approver_token)

        def get(charter: Charter = charter, auth: Any = auth) -> Any:
            with charter.as_actor(auth(), write=False) as ctx:
                system = systems.get_system(ctx, prepared.systems[0])
                return SystemView.of(system).model_dump(mode="json")

        def post(charter: Charter = charter, auth: Any = auth) -> Any:
            request = DecisionRequest(**DECISION)
            with charter.as_actor(auth(), write=True) as ctx:
                return DecisionView.of(decisions.decide(ctx, ref, request)).model_dump(mode="json")

        results[name] = {}
        statements = [0]

        def count(*_args: Any, statements: list[int] = statements) -> None:
            statements[0] += 1

        for label, fn in (("authenticate", auth), ("get system", get), ("approve", post)):
            for _ in range(10):
                fn()
            event.listen(database.engine, "before_cursor_execute", count)
            statements[0] = 0
            fn()
            event.remove(database.engine, "before_cursor_execute", count)
            results[name][f"{label} SQL statements"] = statements[0]
            start = time.perf_counter()
            for _ in range(ops):
                fn()
            results[name][label] = (time.perf_counter() - start) / ops * 1000
        database.dispose()
    labels = ["authenticate", "get system", "approve"]
    print_table(
        f"Service layer alone, in-process, one thread: ms per request (mean of {ops}) "
        "and SQL statements per request (excluding connect-time PRAGMAs)",
        ["engine", *labels, *(f"{label} stmts" for label in labels)],
        [
            [
                name,
                *(costs[label] for label in labels),
                *(int(costs[f"{label} SQL statements"]) for label in labels),
            ]
            for name, costs in results.items()
        ],
    )
    return results


def _count(db_path: Path, table: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        value: int = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return value
    finally:
        conn.close()


if __name__ == "__main__":  # pragma: no cover - run through bench_spine.py
    sys.exit("run benchmarks/bench_spine.py --only api")
