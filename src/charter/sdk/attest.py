"""Attestation: the digest of the configuration this process actually loaded.

:func:`config_digest` reads the same ``release.yaml`` a release was created from, with
its local files (the model file, the prompt text) read from disk *now*, and computes the
digest exactly as ``charter release create`` does (:mod:`charter.domain.releases`, the
RFC 8785 canonical form). A prompt edited on the serving host, a different model file or
a changed config gives a different digest, which no approval covers: the control plane
raises a critical "unapproved configuration live" alert.

:class:`Attestor` reports the digest at start and every ``interval`` seconds from a
background thread, with short timeouts; failures are kept with their reason.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx

from charter import __version__
from charter.sdk.http import control_plane_client


def config_digest(manifest: str | Path | dict[str, Any], system: str) -> str:
    """The release digest of a manifest file (or mapping) with its local files as they are."""
    from charter.domain.releases import ReleaseManifest, parse_manifest, resolve_manifest

    if isinstance(manifest, dict):
        parsed = ReleaseManifest.model_validate(manifest)
        base_dir = Path.cwd()
    else:
        path = Path(manifest)
        parsed = parse_manifest(path.read_bytes(), str(path))
        base_dir = path.resolve().parent
    return resolve_manifest(parsed, system=system, base_dir=base_dir).digest


def process_identity() -> str:
    """A process id unique across hosts and restarts: host, pid and a random suffix."""
    host = socket.gethostname().replace(" ", "-")[:60] or "host"
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in host)
    return f"{safe}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Attestor:
    """Reports ``digest`` for this process at start and periodically."""

    def __init__(
        self,
        url: str,
        token: str,
        system: str,
        env: str,
        digest: str,
        *,
        interval: float = 60.0,
        timeout: float = 2.0,
        process_id: str | None = None,
        transport: httpx.BaseTransport | None = None,
        start: bool = True,
    ) -> None:
        self.system = system
        self.env = env
        self.digest = digest
        self.interval = interval
        self.process_id = process_id or process_identity()
        self.reports = 0
        self.last: dict[str, Any] | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._client = control_plane_client(
            url, token, timeout=timeout, connect=0.5, transport=transport
        )
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    def start(self) -> None:
        """Report once now (bounded by the timeout), then every ``interval`` seconds."""
        if self._thread is not None:
            return
        self.report()
        self._thread = threading.Thread(target=self._run, name="charter-attest", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.report()

    def report(self) -> dict[str, Any] | None:
        """Send the attestation; the server's verdict, or None (``last_error`` says why)."""
        body = {
            "environment": self.env,
            "digest": self.digest,
            "process_id": self.process_id,
            "host": socket.gethostname()[:200],
            "sdk_version": __version__,
        }
        try:
            response = self._client.post(f"/systems/{self.system}/attestations", json=body)
            if response.status_code >= 300:
                self.last_error = f"HTTP {response.status_code}: {response.text[:200]}"
                return None
            verdict = response.json()
            if not isinstance(verdict, dict) or "approved" not in verdict:
                self.last_error = "the attestation receipt is not a verdict"
                return None
        except (httpx.HTTPError, ValueError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            return None
        self.reports += 1
        self.last, self.last_error = verdict, None
        return verdict

    @property
    def approved(self) -> bool | None:
        """The server's verdict on the digest at the last report (None: not known)."""
        return None if self.last is None else bool(self.last.get("approved"))

    def close(self, timeout: float = 2.0) -> None:
        """Stop reporting (returns within ``timeout``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()
