"""A small closed-loop HTTP/1.1 load generator for loopback servers (asyncio, keep-alive).

Run as its own process (from the repository root), so that its CPU does not share an
interpreter with the caller::

    python -m benchmarks.spine.loadgen --port 8000 --path /api/v1/health --duration 10

Each of ``concurrency`` connections sends one request, reads the whole response, and
sends the next, until ``duration`` seconds have passed or ``max_requests`` requests were
sent. Only loopback addresses are accepted. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time

from benchmarks.common import percentile


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return its status and whether the server will close."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    chunked = False
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def _worker(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    measure_from: float,
    budget: list[int],
    latencies: list[float],
    statuses: dict[int, int],
    errors: list[str],
) -> None:
    reader = writer = None
    while time.perf_counter() < deadline and budget[0] > 0:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        assert reader is not None
        budget[0] -= 1
        start = time.perf_counter()
        try:
            writer.write(request)
            await writer.drain()
            status, close = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors.append(type(exc).__name__)
            writer.close()
            writer = None
            continue
        end = time.perf_counter()
        if start >= measure_from and end <= deadline:
            latencies.append(end - start)
            statuses[status] = statuses.get(status, 0) + 1
        if close:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _main(args: argparse.Namespace) -> dict[str, object]:
    headers = [f"Host: {args.host}:{args.port}", "Connection: keep-alive"]
    headers += args.header
    body = args.body.encode() if args.body else b""
    if body:
        headers += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    request = (
        f"{args.method} {args.path} HTTP/1.1\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n"
    ).encode() + body
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    budget = [args.max_requests]
    start = time.perf_counter()
    measure_from = start + args.warmup
    deadline = measure_from + args.duration
    await asyncio.gather(
        *(
            _worker(
                args.host,
                args.port,
                request,
                deadline,
                measure_from,
                budget,
                latencies,
                statuses,
                errors,
            )
            for _ in range(args.concurrency)
        )
    )
    elapsed = min(time.perf_counter(), deadline) - measure_from
    latencies.sort()
    ok = sum(n for code, n in statuses.items() if 200 <= code < 300)
    return {
        "tool": "benchmarks.spine.loadgen (python asyncio)",
        "concurrency": args.concurrency,
        "seconds": elapsed,
        "requests": len(latencies),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": len(errors),
        "rps": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p90_ms": percentile(latencies, 90) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": (latencies[-1] * 1000) if latencies else float("nan"),
        "budget_exhausted": budget[0] <= 0,
    }


def main() -> None:
    """Parse arguments, run the load, print the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", required=True)
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--body", default="")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=0.0, help="unmeasured seconds first")
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("loadgen only targets loopback addresses (127.0.0.0/8, ::1)")
    if not (0 < args.duration <= 300 and 0 <= args.warmup <= 60 and 0 < args.concurrency <= 256):
        sys.exit("duration must be in (0, 300], warmup in [0, 60], concurrency in (0, 256]")
    result = asyncio.run(_main(args))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
