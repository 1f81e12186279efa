"""The one way the SDK (and the Spark submitter) talks to the control plane over HTTP."""

from __future__ import annotations

import httpx


def control_plane_client(
    url: str,
    token: str,
    *,
    timeout: float,
    connect: float,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A client for ``URL/api/v1`` with the token, whose every wait is bounded: ``timeout``
    for a response, at most ``connect`` (and never more than ``timeout``) to connect, so a
    control plane that is down costs serving code a bounded pause, never a hang."""
    return httpx.Client(
        base_url=url.rstrip("/") + "/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(timeout, connect=min(timeout, connect)),
        transport=transport,
    )
