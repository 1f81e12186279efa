"""The serving wrapper: route, guard, log and attest around one model call.

```python
from charter.sdk import Serving

serving = Serving(URL, TOKEN, "support-assistant", "prod", manifest="release.yaml")

@serving.wrap(fallback=lambda question: "A colleague will get back to you.")
def answer(question: str) -> str:
    return llm(question)

result = answer("Where is my parcel?")   # result.answer, result.inference_id
```

Per call: the route decides release or fallback (from memory, no network); the tier's
input scanners run on the text (block / redact / flag); the model (or the fallback) is
called; the output scanners run on a text answer; one observation record and one trace
record are queued for the background logger. Nothing in the request path waits on the
control plane.

Rollouts (docs/rollout.md): pass the candidate release's model as ``candidate``. On a
canary the requests in its share are answered by ``candidate`` (``key`` places a request
deterministically); on a shadow ``candidate`` is called in the background on the same
input after the live answer is made, its output logged as a shadow record and never
returned.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx

from charter.sdk.attest import Attestor, config_digest, process_identity
from charter.sdk.client import CharterLogger, Ids, Moment
from charter.sdk.routing import RouteDecision, Router
from charter.sdk.shadow import ShadowRunner, outputs

T = TypeVar("T")
Served = Literal["release", "fallback", "refused", "blocked"]


class ServingRefused(RuntimeError):
    """Neither the release nor a fallback may serve (fail closed with no fallback)."""


@dataclass
class Answer:
    """The result of one governed call."""

    answer: Any
    inference_id: str
    served: Served
    release: str | None
    route: RouteDecision
    guard: dict[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    latency_ms: float = 0.0


@dataclass
class Inference:
    """The handle of :meth:`Serving.inference`: read ``text``/``serve_release``, set ``answer``."""

    inference_id: str
    route: RouteDecision
    text: str | None
    blocked: bool
    guard: dict[str, Any]
    answer: Any = None

    @property
    def serve_release(self) -> bool:
        """Call the model (True) or serve the fallback (False)."""
        return self.route.served == "release" and not self.blocked


class Serving:
    """Routing, guardrails, logging and attestation for one system in one environment."""

    def __init__(
        self,
        url: str,
        token: str,
        system: str,
        env: str,
        *,
        manifest: str | Path | dict[str, Any] | None = None,
        digest: str | None = None,
        refresh: float = 2.0,
        timeout: float = 1.0,
        attest_interval: float = 60.0,
        default_unreachable: Literal["fail_closed", "fail_open"] = "fail_closed",
        local_fallback: dict[str, Any] | None = None,
        guard: bool = True,
        log_options: dict[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        shadow_queue: int = 1_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.system = system
        #: The event time stamped on records and traces (``time.time`` unless a replay or
        #: a simulated clock, like the demo's, says otherwise).
        self.clock = clock
        self.env = env
        self.process_id = process_identity()
        self.digest = digest or (config_digest(manifest, system) if manifest else None)
        self.router = Router(
            url,
            token,
            system,
            env,
            refresh=refresh,
            timeout=timeout,
            default_unreachable=default_unreachable,
            local_fallback=local_fallback,
            transport=transport,
        )
        self.logger = CharterLogger(
            url, token, system, env, transport=transport, **(log_options or {})
        )
        self.attestor = (
            Attestor(
                url,
                token,
                system,
                env,
                self.digest,
                interval=attest_interval,
                timeout=max(timeout, 1.0),
                process_id=self.process_id,
                transport=transport,
            )
            if self.digest
            else None
        )
        self.shadows = ShadowRunner(self.logger, max_queue=shadow_queue)
        self._ids = Ids()
        self._guard_enabled = guard
        self._guard: Any = None
        self._guard_key: str | None = None
        self._refresh_guard()

    # -- guardrails ------------------------------------------------------------------

    def _refresh_guard(self) -> Any:
        """The guard for the tier's configuration in the route (rebuilt when it changes)."""
        if not self._guard_enabled:
            return None
        route = self.router.route
        config = (route or {}).get("guard")
        if not config:
            return self._guard
        key = json.dumps(config, sort_keys=True)
        if key != self._guard_key:
            from charter.guard import Guard, GuardConfig

            self._guard = Guard.from_config(GuardConfig.from_mapping(config))
            self._guard_key = key
        return self._guard

    def _scan(self, text: str, stage: Literal["input", "output"], prompt: str | None) -> Any:
        guard = self._refresh_guard()
        if guard is None or not guard.scanner_names(stage):
            return None
        from charter.guard import ScanContext

        context = ScanContext(prompt=prompt) if stage == "output" else ScanContext()
        return guard.scan(text, stage, context)

    # -- one call --------------------------------------------------------------------

    def call(
        self,
        model: Callable[..., Any],
        payload: Any,
        *,
        fallback: Callable[..., Any] | None = None,
        features: dict[str, Any] | None = None,
        cohort: dict[str, Any] | None = None,
        inference_id: str | None = None,
        candidate: Callable[..., Any] | None = None,
        key: str | None = None,
        prediction: Callable[[Any], Any] | None = None,
    ) -> Answer:
        """Serve one request: route, guard the text, call the model or the fallback, log.

        ``candidate`` is the model of a rollout's candidate release; ``key`` (a request or
        subject id; default ``inference_id``) places the request in a canary.
        ``prediction`` maps the answer served (None when blocked) to the record's
        prediction, for answers that are not a number themselves (an LLM's text: answered
        or handed over); by default a numeric answer is the prediction.
        """
        started = time.perf_counter()
        with self.inference(
            payload if isinstance(payload, str) else None,
            inference_id=inference_id,
            key=key if key is not None else inference_id,
        ) as handle:
            given = handle.text if isinstance(payload, str) else payload
            if handle.route.rollout == "canary" and candidate is None:
                # No candidate model in this process: the live release serves, flagged.
                route = handle.route
                handle.route = RouteDecision(
                    route.served,
                    route.live,
                    route.fallback,
                    route.state,
                    "canary without a candidate model here: served the live release",
                    (*route.flags, "canary_unavailable"),
                    route.policy_version,
                    live=route.live,
                )
            if handle.blocked:
                handle.answer = None
            elif handle.serve_release:
                chosen = candidate if handle.route.rollout == "canary" and candidate else model
                handle.answer = chosen(given)
                if handle.route.shadow and candidate is not None:
                    self._shadow(handle, candidate, given)
            elif fallback is not None:
                handle.answer = fallback(handle.text if isinstance(payload, str) else payload)
            elif handle.route.served == "refused":
                handle.answer = None
            else:
                handle.answer = handle.route.fallback
        return self._finish(handle, payload, features, cohort, started, prediction)

    def wrap(
        self,
        fallback: Callable[..., Any] | None = None,
        *,
        prediction: Callable[[Any], Any] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Answer]]:
        """Decorate a model function of one argument: calls return :class:`Answer`
        (``prediction`` as in :meth:`call`)."""

        def decorate(model: Callable[..., Any]) -> Callable[..., Answer]:
            @functools.wraps(model)
            def governed(payload: Any, **kwargs: Any) -> Answer:
                kwargs.setdefault("prediction", prediction)
                return self.call(model, payload, fallback=fallback, **kwargs)

            return governed

        return decorate

    def _shadow(self, handle: Inference, candidate: Callable[..., Any], given: Any) -> None:
        """Queue the shadow call on the same input (returns at once; see ShadowRunner)."""
        record = {
            "inference_id": handle.inference_id,
            "release": handle.route.shadow,
            "live": outputs(handle.answer),
            "timestamp": Moment(self.clock()),
        }
        if self.shadows.submit(candidate, given, record):
            handle.__dict__["_shadowed"] = True

    @contextmanager
    def inference(
        self, text: str | None = None, *, inference_id: str | None = None, key: str | None = None
    ) -> Iterator[Inference]:
        """Route and guard the input; the block sets ``answer``; the output is guarded after.

        ``key`` places the request in a canary (see :meth:`Router.decide`); read
        ``handle.route.release`` to know which release to call.
        """
        route = self.router.decide(key)
        guard: dict[str, Any] = {}
        blocked = False
        if text is not None:
            outcome = self._scan(text, "input", None)
            if outcome is not None:
                guard["input"] = outcome.to_dict()
                blocked = outcome.blocked
                text = outcome.text
        handle = Inference(inference_id or self._ids.next(), route, text, blocked, guard)
        handle.__dict__["_prompt"] = text
        yield handle
        if isinstance(handle.answer, str) and not blocked:
            outcome = self._scan(handle.answer, "output", handle.text)
            if outcome is not None:
                guard["output"] = outcome.to_dict()
                if outcome.blocked:
                    handle.blocked = True
                    handle.answer = None
                else:
                    handle.answer = outcome.text

    def _finish(
        self,
        handle: Inference,
        payload: Any,
        features: dict[str, Any] | None,
        cohort: dict[str, Any] | None,
        started: float,
        predict: Callable[[Any], Any] | None = None,
    ) -> Answer:
        route = handle.route
        served: Served = "blocked" if handle.blocked else route.served
        flags = list(route.flags)
        if route.rollout == "canary" and served == "release":
            flags.append("canary")
        if handle.__dict__.get("_shadowed"):
            flags.append("shadowed")
        for stage in ("input", "output"):
            if handle.guard.get(stage, {}).get("flagged"):
                flags.append(f"guard_{stage}_flagged")
        latency = (time.perf_counter() - started) * 1000.0
        live = self._live_digest(route)
        record: dict[str, Any] = {
            "inference_id": handle.inference_id,
            "latency_ms": latency,
            "fallback_used": served == "fallback",
        }
        if live:
            record["release"] = live
        if handle.guard:
            record["guard"] = {"blocked": handle.blocked}
        if features is None and isinstance(payload, dict):
            features = payload
        if features:
            record["features"] = features
        if cohort:
            record["cohort"] = cohort
        prediction = handle.answer if predict is None else predict(handle.answer)
        if isinstance(prediction, (int, float, bool)) or type(prediction).__module__ == "numpy":
            record["prediction"] = prediction
        now = Moment(self.clock())
        if live:
            record["timestamp"] = now
        self.logger.log_with_trace(
            record if live else None,
            {
                "inference_id": handle.inference_id,
                "release_digest": route.release,
                "served": served,
                "route_state": route.state,
                "process_id": self.process_id,
                "attested_digest": self.digest,
                "guard": handle.guard,
                "record": _redacted_record(handle, features),
                "flags": flags,
                "at": now,
            },
        )
        return Answer(
            handle.answer,
            handle.inference_id,
            served,
            route.release,
            route,
            handle.guard,
            tuple(flags),
            latency,
        )

    def _live_digest(self, route: RouteDecision) -> str | None:
        """The release the record belongs to (the live one, also when the fallback served)."""
        if route.release:
            return route.release
        known = self.router.route
        if known and isinstance(known.get("release"), str):
            return str(known["release"]).split("@")[-1]
        return self.digest

    # -- lifecycle -------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What the SDK knows right now: route, staleness, outages, logger and attestation."""
        return {
            "route": self.router.route,
            "stale": self.router.stale,
            "outages": [vars(o) for o in self.router.outages],
            "logger": self.logger.stats(),
            "shadow": self.shadows.stats(),
            "attested_digest": self.digest,
            "attestation": self.attestor.last if self.attestor else None,
        }

    def close(self, timeout: float = 5.0) -> bool:
        """Stop every thread and flush the logger, all within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        self.shadows.close(min(1.0, timeout / 4))  # queued shadow calls, then their records
        self.router.close(min(1.0, timeout / 4))
        if self.attestor is not None:
            self.attestor.close(min(1.0, timeout / 4))
        return self.logger.close(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Serving:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _redacted_record(handle: Inference, features: dict[str, Any] | None) -> dict[str, Any]:
    """What the trace keeps of the request: the guarded (redacted) text, the feature names,
    and a short prefix of a text answer after the output guard."""
    record: dict[str, Any] = {}
    if handle.text is not None:
        record["input"] = handle.text[:500]
    if features:
        record["features"] = sorted(str(k) for k in features)[:100]
    if isinstance(handle.answer, str):
        record["output"] = handle.answer[:500]
    elif handle.answer is not None and isinstance(handle.answer, (int, float, bool)):
        record["output"] = handle.answer
    return record
