"""A misbehaving control plane, run as its own process on loopback (by tests.sdk.support).

``python fault_proxy.py PORT UPSTREAM`` serves on 127.0.0.1:PORT. In mode ``proxy`` it
forwards every request to UPSTREAM (a real Charter server, or nothing); the other modes
misbehave: ``slow`` accepts and never answers, ``500`` fails, ``garbage`` answers 200
with a body that is not JSON, ``html`` answers 200 with an HTML page, ``refuse`` closes
the connection at once. ``POST /__mode/NAME`` switches mode; ``GET /__hits`` counts.
"""

from __future__ import annotations

import contextlib
import http.server
import sys
import threading
import time
import urllib.error
import urllib.request

MODE = {"name": "proxy", "hits": 0}
UPSTREAM = sys.argv[2] if len(sys.argv) > 2 else ""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        if self.path.startswith("/__mode/"):
            MODE["name"] = self.path.rsplit("/", 1)[1]
            self._answer(200, b'{"ok": true}')
            return
        if self.path == "/__hits":
            self._answer(200, str(MODE["hits"]).encode())
            return
        MODE["hits"] += 1
        mode = MODE["name"]
        if mode == "slow":
            time.sleep(3600)
            return
        if mode == "500":
            self._answer(500, b'{"title": "boom"}')
            return
        if mode == "garbage":
            self._answer(200, b"\x00\xffnot json at all")
            return
        if mode == "html":
            self._answer(200, b"<html>maintenance</html>", "text/html")
            return
        if mode == "refuse":
            self.close_connection = True
            self.connection.close()
            return
        request = urllib.request.Request(
            UPSTREAM + self.path,
            data=data if self.command != "GET" else None,
            method=self.command,
            headers={
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("host", "accept-encoding", "connection")
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body, status, headers = response.read(), response.status, response.headers
        except urllib.error.HTTPError as exc:  # 4xx and 5xx are answers to forward
            body, status, headers = exc.read(), exc.code, exc.headers
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() in ("content-type", "etag", "cache-control"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (its timeout)
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, *args: object) -> None:
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except OSError:
            self.close_connection = True  # a client that hung up mid-request


def main() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()  # exit when the parent closes our stdin (or dies)


if __name__ == "__main__":
    main()
