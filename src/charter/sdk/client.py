"""Log inference records and labels to Charter from serving code, without blocking it.

``CharterLogger.log`` puts a record on a bounded queue and returns at once; a background
thread sends batches (``batch_size`` records or every ``flush_interval`` seconds) to
``POST /api/v1/systems/{system}/observations``. A full queue drops the record and counts
it (``dropped``) rather than grow memory or slow the request path. A failed batch is
retried with the same batch id, so the server counts it once however often it arrives.
Imports nothing from the server side.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

_STOP = object()


class CharterLogger:
    """Batches records and labels for one system and environment in a background thread."""

    def __init__(
        self,
        url: str,
        token: str,
        system: str,
        env: str,
        *,
        release: str | None = None,
        batch_size: int = 500,
        flush_interval: float = 2.0,
        max_queue: int = 10_000,
        retries: int = 3,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.system = system
        self.env = env
        self.release = release
        self.batch_size = max(1, min(batch_size, 10_000))
        self.flush_interval = flush_interval
        self.retries = retries
        self.dropped = 0
        self.failed = 0
        self.sent = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._client = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )
        self._thread = threading.Thread(target=self._run, name="charter-logger", daemon=True)
        self._closed = False
        self._thread.start()

    def log(self, record: dict[str, Any]) -> bool:
        """Queue one inference record; False (and counted in ``dropped``) when the queue is full.

        Fields: ``features`` (dict), ``prediction``, ``score``, ``latency_ms``,
        ``fallback_used``, ``guard`` (e.g. ``{"blocked": False}``), ``cohort`` (dict),
        ``release`` (defaults to the logger's), ``inference_id`` and ``timestamp`` (filled in).
        """
        item = dict(record)
        item.setdefault("inference_id", uuid.uuid4().hex)
        item.setdefault("timestamp", datetime.now(UTC).isoformat())
        if self.release and "release" not in item:
            item["release"] = self.release
        return self._put(("records", item))

    def label(self, inference_id: str, label: Any) -> bool:
        """Queue a late label for an inference logged earlier."""
        return self._put(("labels", {"inference_id": str(inference_id), "label": label}))

    def _put(self, item: Any) -> bool:
        if self._closed:
            raise RuntimeError("the logger is closed")
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            self.dropped += 1
            return False

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything queued so far has been sent (or given up on)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(0.01)

    def close(self) -> None:
        """Flush, stop the thread and close the HTTP client."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        self._client.close()

    def __enter__(self) -> CharterLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        pending: dict[str, list[Any]] = {"records": [], "labels": []}
        taken = 0
        last = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=self.flush_interval / 4)
            except queue.Empty:
                item = None
            if item is _STOP:
                self._queue.task_done()
                return
            if item is not None:
                pending[item[0]].append(item[1])
                taken += 1
            due = time.monotonic() - last >= self.flush_interval or self._queue.empty()
            full = any(len(v) >= self.batch_size for v in pending.values())
            if taken and (full or due):
                for kind, items in pending.items():
                    if items:
                        self._send(kind, items)
                pending = {"records": [], "labels": []}
                for _ in range(taken):
                    self._queue.task_done()
                taken, last = 0, time.monotonic()

    def _send(self, kind: str, items: list[Any]) -> None:
        path = "observations" if kind == "records" else "labels"
        body = {"batch_id": uuid.uuid4().hex, kind: items}
        for attempt in range(self.retries + 1):
            try:
                response = self._client.post(
                    f"/systems/{self.system}/{path}", params={"env": self.env}, json=body
                )
                if response.status_code < 300:
                    self.sent += len(items)
                    return
                if response.status_code < 500 and response.status_code != 429:
                    break  # refused (bad input, auth): retrying will not help
            except httpx.HTTPError:
                pass
            time.sleep(min(0.2 * 2**attempt, 5.0))
        self.failed += len(items)
