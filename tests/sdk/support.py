"""Builders of the SDK tests: a misbehaving control plane in its own process."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

SCRIPT = Path(__file__).with_name("fault_proxy.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FaultProxy:
    """A separate process on loopback that forwards to ``upstream`` or misbehaves."""

    def __init__(self, upstream: str = "http://127.0.0.1:9") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(self.port), upstream],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def mode(self, name: str) -> None:
        """Switch behaviour: proxy, slow, 500, garbage, html, refuse."""
        httpx.post(f"{self.url}/__mode/{name}", timeout=5).raise_for_status()

    def down(self) -> None:
        """Take the process away: nothing listens on the port any more."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def close(self) -> None:
        self.down()
        if self.process.stdin:
            self.process.stdin.close()
        if self.process.stdout:
            self.process.stdout.close()
