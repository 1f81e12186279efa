"""Log inference records, labels and trace records to Charter without blocking serving code.

``CharterLogger.log`` puts a record on a bounded queue and returns at once; a background
thread converts each record to JSON (:func:`charter.sdk.values.json_safe`: NumPy scalars
and NaN are converted, a value with no JSON form rejects that record alone, with its
reason) and sends batches (``batch_size`` records or every ``flush_interval`` seconds) to
``POST /api/v1/systems/{system}/observations`` (and ``/labels``, ``/traces``, ``/shadow``).

Faults it survives and reports, never hiding them in a bare counter:

- a full queue drops the record (``dropped``), never grows memory or slows the caller;
- a refused batch (4xx) is not retried; its failure keeps the status and the server's
  reason, which names the field;
- a 5xx, a timeout or a 2xx whose body is not the server's receipt is retried with the
  same batch id (the server counts a batch once), then counted as failed, not as sent;
- a dead sending thread is restarted on the next call and reported (``restarts``);
- ``flush(timeout)`` and ``close(timeout)`` return within their timeout whatever the
  server does.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from charter.sdk.http import control_plane_client
from charter.sdk.values import RecordRejected, json_safe

_STOP = object()


class Moment(float):
    """A wall-clock time (``time.time()``) written as ISO 8601 by the sending thread, so
    that the caller's thread does not pay for formatting it."""


def _iso(value: Any) -> Any:
    if isinstance(value, Moment):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return value


class Ids:
    """Inference ids unique across processes: a random per-process prefix and a counter
    (a uuid4 per call costs more than the rest of the call path)."""

    def __init__(self) -> None:
        self._prefix = uuid.uuid4().hex[:16]
        self._count = itertools.count()

    def next(self) -> str:
        """A new id (thread-safe: ``itertools.count`` steps atomically under the GIL)."""
        return f"{self._prefix}{next(self._count):x}"


KINDS = ("records", "labels", "traces", "shadow")
_PATHS = {"records": "observations", "labels": "labels", "traces": "traces", "shadow": "shadow"}
#: The key of each kind's list in the request body.
_BODY_KEYS = {"records": "records", "labels": "labels", "traces": "traces", "shadow": "records"}
_WHAT = {"records": "record", "labels": "label", "traces": "trace", "shadow": "shadow record"}


@dataclass(frozen=True)
class Failure:
    """Why some items were not sent: a rejected record, a refused or failed batch."""

    kind: str
    count: int
    reason: str
    status: int | None = None
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class CharterLogger:
    """Batches records, labels and traces for one system and environment in a thread."""

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
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.system = system
        self.env = env
        self.release = release
        self.batch_size = max(1, min(batch_size, 10_000))
        self.flush_interval = flush_interval
        self.retries = retries
        self.dropped = 0
        self.rejected = 0
        self.failed = 0
        self.sent = 0
        self.restarts = 0
        #: The most recent failures, newest last (bounded).
        self.failures: collections.deque[Failure] = collections.deque(maxlen=100)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._client = control_plane_client(
            url, token, timeout=timeout, connect=1.0, transport=transport
        )
        self._closed = False
        self._closing = threading.Event()
        self._lock = threading.Lock()
        #: Items the sending thread has taken off the queue and not finished yet.
        self._taken = 0
        self._ids = Ids()
        self._thread = self._start_thread()

    # -- the caller's side -------------------------------------------------------------

    def log(self, record: dict[str, Any]) -> bool:
        """Queue one inference record; False (and counted in ``dropped``) when the queue is full.

        Fields: ``features`` (dict), ``prediction``, ``score``, ``latency_ms``,
        ``fallback_used``, ``guard`` (e.g. ``{"blocked": False}``), ``cohort`` (dict),
        ``release`` (defaults to the logger's), ``inference_id`` and ``timestamp`` (filled in).
        """
        item = dict(record)
        item.setdefault("inference_id", self._ids.next())
        item.setdefault("timestamp", Moment(time.time()))
        if self.release and "release" not in item:
            item["release"] = self.release
        return self._put(("records", item))

    def label(self, inference_id: str, label: Any) -> bool:
        """Queue a late label for an inference logged earlier."""
        return self._put(("labels", {"inference_id": str(inference_id), "label": label}))

    def trace(self, trace: dict[str, Any]) -> bool:
        """Queue a trace record (how an inference was routed, guarded and attested)."""
        return self._put(("traces", dict(trace)))

    def shadow(self, record: dict[str, Any]) -> bool:
        """Queue a shadow record: a candidate's output beside the live one, never served."""
        return self._put(("shadow", dict(record)))

    def log_with_trace(self, record: dict[str, Any] | None, trace: dict[str, Any]) -> bool:
        """Queue an inference record (None: none) and its trace as one item (one lock, not
        two, in the caller's thread). ``record`` is taken as it is: fill in its fields."""
        return self._put(("both", (record, trace)))

    def _put(self, item: Any) -> bool:
        if self._closed:
            raise RuntimeError("the logger is closed")
        self._ensure_thread()
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            self.dropped += 1
            return False

    def stats(self) -> dict[str, Any]:
        """Counts and the most recent failures with their reasons."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "rejected": self.rejected,
            "dropped": self.dropped,
            "restarts": self.restarts,
            "queued": self._queue.qsize(),
            "alive": self._thread.is_alive(),
            "failures": [vars(f) for f in list(self.failures)[-10:]],
        }

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait at most ``timeout`` seconds for everything queued so far to be sent or given
        up on; True if the queue drained in time."""
        deadline = time.monotonic() + max(0.0, timeout)
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            self._ensure_thread()
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Flush for at most ``timeout`` seconds in all, stop the thread, close the client.

        Whatever is still queued after the timeout is abandoned and counted as failed.
        Returns True when everything queued was handled.
        """
        if self._closed:
            return True
        deadline = time.monotonic() + max(0.0, timeout)
        drained = self.flush(timeout * 0.8)
        self._closed = True
        self._closing.set()  # the sender stops retrying and sleeps no more
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_STOP)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        left = self._queue.qsize()
        if left:
            self._failure("records", left, "abandoned at close: the server did not take them")
        self._client.close()
        return drained and not left

    def __enter__(self) -> CharterLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the thread ------------------------------------------------------------------

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._run_guarded, name="charter-logger", daemon=True)
        thread.start()
        return thread

    def _ensure_thread(self) -> None:
        if self._thread.is_alive() or self._closed:
            return
        with self._lock:
            if not self._thread.is_alive() and not self._closed:
                self.restarts += 1
                self._failure("thread", 0, "the sending thread had died: restarted")
                self._thread = self._start_thread()

    def _failure(self, kind: str, count: int, reason: str, status: int | None = None) -> None:
        self.failures.append(Failure(kind, count, reason[:500], status))

    def _run_guarded(self) -> None:
        self._taken = 0
        try:
            self._run()
        except BaseException as exc:  # report it; the next call restarts the thread
            lost, self._taken = self._taken, 0
            self.failed += lost
            self._failure("thread", lost, f"the sending thread died: {type(exc).__name__}: {exc}")
            for _ in range(lost):  # what it held is lost, and flush() must not wait for it
                self._queue.task_done()

    def _run(self) -> None:
        pending: dict[str, list[Any]] = {kind: [] for kind in KINDS}
        last = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=max(0.001, self.flush_interval / 4))
            except queue.Empty:
                item = None
            if item is _STOP:
                self._queue.task_done()
                if self._taken:
                    self._send_all(pending)
                    self._done()
                return
            if item is not None:
                self._taken += 1
                kind, raw = item
                if kind == "both":
                    record, trace = raw
                    if record is not None:
                        self._take(pending, "records", record)
                    self._take(pending, "traces", trace)
                else:
                    self._take(pending, kind, raw)
            due = time.monotonic() - last >= self.flush_interval or self._queue.empty()
            full = any(len(v) >= self.batch_size for v in pending.values())
            if self._taken and (full or due):
                try:
                    self._send_all(pending)
                finally:
                    pending = {kind: [] for kind in KINDS}
                    self._done()
                    last = time.monotonic()

    def _take(self, pending: dict[str, list[Any]], kind: str, raw: dict[str, Any]) -> None:
        """Convert one item into its batch, or reject it alone with the reason."""
        try:
            for key in ("timestamp", "at"):
                if key in raw:
                    raw[key] = _iso(raw[key])
            pending[kind].append(json_safe(raw, _WHAT[kind]))
        except RecordRejected as exc:
            self.rejected += 1
            self._failure(kind, 1, f"rejected: {exc}")
        except Exception as exc:  # a hostile __repr__ or the like
            self.rejected += 1
            self._failure(kind, 1, f"rejected: {type(exc).__name__}: {exc}")

    def _done(self) -> None:
        taken, self._taken = self._taken, 0
        for _ in range(taken):
            self._queue.task_done()

    def _send_all(self, pending: dict[str, list[Any]]) -> None:
        for kind, items in pending.items():
            if items:
                self._send(kind, items)

    def _send(self, kind: str, items: list[Any]) -> None:
        batch_id = uuid.uuid4().hex
        body: dict[str, Any] = {_BODY_KEYS[kind]: items}
        params = {"env": self.env}
        if kind != "traces":
            body["batch_id"] = batch_id
        reason, status = "not sent", None
        for attempt in range(self.retries + 1):
            if attempt and self._closing.wait(min(0.2 * 2 ** (attempt - 1), 2.0)):
                reason += " (gave up: closing)"
                break
            try:
                response = self._client.post(
                    f"/systems/{self.system}/{_PATHS[kind]}", params=params, json=body
                )
            except httpx.HTTPError as exc:
                reason, status = f"{type(exc).__name__}: {exc}", None
                continue
            status = response.status_code
            if status < 300:
                problem = _receipt_problem(response, kind, batch_id)
                if problem is None:
                    self.sent += len(items)
                    return
                reason = problem  # a proxy or a broken server: not a receipt
                continue
            reason = _problem_reason(response)
            if status < 500 and status != 429:
                break  # refused (bad input, auth): retrying will not help
        self.failed += len(items)
        self._failure(kind, len(items), reason, status)


def _receipt_problem(response: httpx.Response, kind: str, batch_id: str) -> str | None:
    """None when a 2xx body is the server's receipt for this batch, else what is wrong."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return f"{response.status_code} with a body that is not JSON"
    if not isinstance(body, dict):
        return f"{response.status_code} with a body that is not a receipt"
    if kind == "traces":
        return None if isinstance(body.get("accepted"), int) else "traces receipt missing"
    if body.get("batch_id") != batch_id:
        return f"{response.status_code} with a receipt for another batch"
    return None


def _problem_reason(response: httpx.Response) -> str:
    """The server's reason for refusing a batch: its detail and the field it names."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    detail = str(body.get("detail") or body.get("title") or "")
    location = body.get("location")
    where = f" (at {location})" if location else ""
    return f"HTTP {response.status_code}: {detail}{where}"[:500]
