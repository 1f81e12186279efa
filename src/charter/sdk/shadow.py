"""The shadow call: the candidate scores the request in the background, never served.

:meth:`ShadowRunner.submit` puts the call on a bounded queue and returns at once (a full
queue drops the call and counts it): the caller's latency and answer never depend on the
candidate. One background thread makes the calls and hands each result to the logger as
a shadow record pairing the live and the shadow output of the same request. A candidate
that raises is recorded with its error; one that hangs holds only this thread (the queue
then fills and drops), and :meth:`close` waits for it no longer than its timeout.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from charter.sdk.client import CharterLogger

_STOP = object()


def outputs(answer: Any) -> dict[str, Any] | None:
    """What a shadow record keeps of an answer: ``prediction`` and/or ``score``.

    A mapping gives its ``prediction`` and ``score`` keys; a float is a score; a bool,
    an int or a short string is a prediction. Anything else keeps nothing (None).
    """
    if isinstance(answer, dict):
        kept = {k: answer[k] for k in ("prediction", "score") if k in answer}
        return _plain(kept) or None
    if isinstance(answer, int):  # bool too
        return {"prediction": answer}
    if isinstance(answer, float):
        return {"score": answer}
    if type(answer).__module__ == "numpy" and hasattr(answer, "item"):
        return outputs(answer.item())
    if isinstance(answer, str) and len(answer) <= 200:
        return {"prediction": answer}
    return None


def _plain(kept: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in kept.items():
        if type(value).__module__ == "numpy" and hasattr(value, "item"):
            value = value.item()
        out[key] = value
    return out


class ShadowRunner:
    """Calls shadow candidates off the request path and logs what they answered."""

    def __init__(self, logger: CharterLogger, *, max_queue: int = 1_000) -> None:
        self.logger = logger
        self.submitted = 0
        self.dropped = 0
        self.completed = 0
        self.errors = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, model: Callable[[Any], Any], payload: Any, record: dict[str, Any]) -> bool:
        """Queue one shadow call (never blocks); False when the queue is full or closed."""
        if self._closed:
            return False
        self._ensure_thread()
        try:
            self._queue.put_nowait((model, payload, record))
        except queue.Full:
            self.dropped += 1
            return False
        self.submitted += 1
        return True

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="charter-shadow", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                model, payload, record = item
                started = time.perf_counter()
                try:
                    record["shadow"] = outputs(model(payload))
                except Exception as exc:  # the candidate's failure is data, not a crash
                    self.errors += 1
                    record["error"] = f"{type(exc).__name__}: {exc}"[:500]
                record["latency_ms"] = (time.perf_counter() - started) * 1000.0
                self.completed += 1
                with contextlib.suppress(RuntimeError):  # the logger closed first
                    self.logger.shadow(record)
            finally:
                self._queue.task_done()

    def drain(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the queued calls; True if they finished."""
        deadline = time.monotonic() + max(0.0, timeout)
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 1.0) -> bool:
        """Finish the queued calls within ``timeout``, then stop the thread."""
        drained = self.drain(timeout)
        self._closed = True
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_STOP)
        return drained

    def stats(self) -> dict[str, Any]:
        """Counts of shadow calls: submitted, completed, errors, dropped, queued."""
        return {
            "submitted": self.submitted,
            "completed": self.completed,
            "errors": self.errors,
            "dropped": self.dropped,
            "queued": self._queue.qsize(),
        }
