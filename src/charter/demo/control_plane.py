"""The demo's control plane over HTTP: the real API app, on loopback, while the build runs.

The support assistant is served through the SDK (:mod:`charter.sdk`), which only talks
to Charter over HTTP. The demo starts the same app ``charter serve`` runs
(:func:`charter.api.app.create_app`) on the demo's own database and clock, under uvicorn
in a thread on a free port of 127.0.0.1, as the SDK's tests do. Sharing the clock is what
lets the server accept the SDK's event times on the story's day and stamp what it
receives (attestations, traces) on that day too.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from charter.demo.session import DemoSession


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def control_plane(demo: DemoSession, *, start_timeout: float = 30.0) -> Iterator[str]:
    """Serve the API for ``demo`` on 127.0.0.1 while the block runs; yields its base URL."""
    import uvicorn

    from charter.api.app import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(demo.charter),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="charter-demo-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the demo's API did not start on 127.0.0.1:{port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
