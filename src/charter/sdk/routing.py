"""Which release to serve: an in-process copy of the route, refreshed in the background.

:meth:`Router.decide` never touches the network: it reads the last route the refresher
fetched. The refresher polls ``GET /api/v1/systems/{system}/route?env=`` every
``refresh`` seconds with ``If-None-Match`` (an unchanged route is a bodyless 304), with
short connect and read timeouts, so a kill or rollback issued from the CLI reaches a
running process within about one refresh interval.

When the control plane is down, slow (accepts and never answers), failing (5xx) or
answers garbage, the route is *stale*, and the policy's rule for the tier decides
(``unreachable`` in the route, from the pack's ``interventions`` section):

- ``fail_closed`` (the top tier by default): serve the approved fallback;
- ``fail_open``: keep serving the last known route, and flag every decision.

Before the first successful fetch the SDK knows no rule, and uses its own
``default_unreachable`` (``fail_closed`` unless told otherwise). Outages are kept
(start, end, reason, decisions made meanwhile) and reported when the plane is back.

A route may carry a rollout (``{kind, release, share}``, docs/rollout.md). A *canary*
sends ``share`` of the requests to the candidate: a request with a key (a request or
subject id) lands by a hash of the key, so the same key always gets the same release in
every process; without a key, at random. A *shadow* names the candidate the SDK also
calls, in the background, for every request the live release serves. The server drops
the rollout from the route whenever the live release is not served (kill, lapsed
approval, suspension), so the kill switch overrides both.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from charter.sdk.http import control_plane_client

Served = Literal["release", "fallback", "refused"]


@dataclass(frozen=True)
class RouteDecision:
    """What to serve for one call, and why."""

    served: Served
    #: The release digest when ``served`` is ``release``.
    release: str | None
    fallback: dict[str, Any] | None
    state: str | None
    reason: str
    flags: tuple[str, ...] = ()
    policy_version: int | None = None
    #: ``canary`` when this request is the candidate's share of a canary (``release`` is
    #: then the candidate), ``shadow`` when ``shadow`` should score it too.
    rollout: str | None = None
    #: The digest of the shadow candidate to call beside the live release.
    shadow: str | None = None
    #: The live release's digest (differs from ``release`` on a canary request).
    live: str | None = None


def canary_bucket(key: str) -> float:
    """A stable number in [0, 1) for a request key (SHA-256, not ``hash()``: Python salts
    string hashes per process, and every process must put a subject on the same side)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _rollout(route: dict[str, Any]) -> tuple[str, str, float | None] | None:
    """``(kind, digest, share)`` of the route's rollout; None when absent or malformed (a
    malformed rollout is ignored: everything stays on the live release)."""
    rollout = route.get("rollout")
    if not isinstance(rollout, dict):
        return None
    kind, release, share = rollout.get("kind"), rollout.get("release"), rollout.get("share")
    if not isinstance(release, str) or "@" not in release:
        return None
    digest = release.split("@")[-1]
    if kind == "shadow":
        return "shadow", digest, None
    if (
        kind == "canary"
        and isinstance(share, (int, float))
        and not isinstance(share, bool)
        and math.isfinite(share)
        and 0.0 < share < 1.0
    ):
        return "canary", digest, float(share)
    return None


@dataclass
class Outage:
    """A period when the route could not be refreshed."""

    started_at: str
    reason: str
    ended_at: str | None = None
    decisions: int = 0
    fallback_decisions: int = 0


@dataclass
class _Known:
    route: dict[str, Any] | None = None
    etag: str | None = None
    fetched_at: float | None = None  # monotonic time of the last good answer
    error: str | None = None
    outages: list[Outage] = field(default_factory=list)


def _check_route(body: Any) -> dict[str, Any]:
    """The route body if it has the shape the SDK relies on; ValueError otherwise."""
    if not isinstance(body, dict):
        raise ValueError("the route is not a JSON object")
    for key in ("state", "release", "serve"):
        if key not in body:
            raise ValueError(f"the route has no {key!r}")
    serve = body["serve"]
    if serve is not None and not isinstance(serve, dict):
        raise ValueError("the route's serve is not an object")
    if not isinstance(body["release"], str) or "@" not in body["release"]:
        raise ValueError("the route's release is not SYSTEM@DIGEST")
    return body


class Router:
    """The route of one (system, environment), kept fresh by a background thread."""

    def __init__(
        self,
        url: str,
        token: str,
        system: str,
        env: str,
        *,
        refresh: float = 2.0,
        timeout: float = 1.0,
        stale_after: float | None = None,
        default_unreachable: Literal["fail_closed", "fail_open"] = "fail_closed",
        local_fallback: dict[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        start: bool = True,
    ) -> None:
        self.system = system
        self.env = env
        self.refresh = refresh
        self.timeout = timeout
        #: A route older than this is stale (default: three refreshes and a timeout).
        self.stale_after = stale_after if stale_after is not None else 3 * refresh + timeout
        self.default_unreachable = default_unreachable
        self.local_fallback = local_fallback
        self.fetches = 0
        self.not_modified = 0
        self.changes = 0
        self._known = _Known()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._client = control_plane_client(
            url, token, timeout=timeout, connect=0.5, transport=transport
        )
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Fetch once (bounded by the timeout), then keep refreshing in the background."""
        if self._thread is not None:
            return
        self.refresh_now()
        self._thread = threading.Thread(target=self._run, name="charter-router", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 2.0) -> None:
        """Stop refreshing (returns within ``timeout``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.wait(self.refresh):
            try:
                self.refresh_now()
            except Exception as exc:  # never let the refresher die
                self._fail(f"{type(exc).__name__}: {exc}")

    # -- fetching --------------------------------------------------------------------

    def refresh_now(self) -> bool:
        """One conditional fetch of the route; True when it succeeded (changed or not)."""
        headers = {"If-None-Match": self._known.etag} if self._known.etag else {}
        self.fetches += 1
        try:
            response = self._client.get(
                f"/systems/{self.system}/route", params={"env": self.env}, headers=headers
            )
        except httpx.HTTPError as exc:
            self._fail(f"unreachable: {type(exc).__name__}")
            return False
        if response.status_code == 304 and self._known.route is not None:
            self.not_modified += 1
            self._ok(self._known.route, self._known.etag)
            return True
        if response.status_code != 200:
            self._fail(f"HTTP {response.status_code}")
            return False
        try:
            route = _check_route(response.json())
        except ValueError as exc:  # includes JSON decoding errors
            self._fail(f"garbage: {str(exc)[:100]}")
            return False
        self._ok(route, response.headers.get("etag"))
        return True

    def _ok(self, route: dict[str, Any], etag: str | None) -> None:
        with self._lock:
            known = self._known
            changed = known.route is None or route is not known.route
            if changed and known.route is not None and route != known.route:
                self.changes += 1
            known.route, known.etag = route, etag
            known.fetched_at = time.monotonic()
            known.error = None
            if known.outages and known.outages[-1].ended_at is None:
                known.outages[-1].ended_at = datetime.now(UTC).isoformat()
        if changed:
            with self._changed:
                self._changed.notify_all()

    def _fail(self, reason: str) -> None:
        with self._lock:
            known = self._known
            known.error = reason
            if not known.outages or known.outages[-1].ended_at is not None:
                known.outages.append(Outage(datetime.now(UTC).isoformat(), reason))
                del known.outages[:-50]

    # -- deciding --------------------------------------------------------------------

    @property
    def route(self) -> dict[str, Any] | None:
        """The last route fetched (None before the first success)."""
        return self._known.route

    @property
    def stale(self) -> bool:
        """Whether the route is too old to trust (or was never fetched)."""
        fetched = self._known.fetched_at
        return fetched is None or time.monotonic() - fetched > self.stale_after

    @property
    def outages(self) -> list[Outage]:
        """Outages so far, newest last (the open one has no ``ended_at``)."""
        return list(self._known.outages)

    def unreachable_rule(self) -> str:
        """The rule that applies while the route is stale."""
        route = self._known.route
        rule = route.get("unreachable") if route else None
        return rule if rule in ("fail_closed", "fail_open") else self.default_unreachable

    def decide(self, key: str | None = None) -> RouteDecision:
        """What to serve now, from memory (no network).

        ``key`` (a request or subject id) places the request in a canary deterministically;
        without one the placement is random.
        """
        route = self._known.route
        if not self.stale and route is not None:
            return self._from_route(route, (), key)
        flags = ("control_plane_unreachable",)
        reason = self._known.error or "no route fetched yet"
        outage = self._known.outages[-1] if self._known.outages else None
        if outage is not None and outage.ended_at is None:
            outage.decisions += 1
        if self.unreachable_rule() == "fail_open" and route is not None:
            decision = self._from_route(route, (*flags, "fail_open"), key)
            return replace(
                decision, reason=f"{reason}: fail open, last known route ({decision.reason})"
            )
        if outage is not None and outage.ended_at is None:
            outage.fallback_decisions += 1
        fallback = (route or {}).get("fallback") or self.local_fallback
        if self.unreachable_rule() == "fail_open" and route is None:
            # Fail open with nothing known: the process's own configuration, flagged.
            return RouteDecision(
                "release", None, fallback, None, f"{reason}: fail open", (*flags, "fail_open")
            )
        if fallback:
            return RouteDecision(
                "fallback",
                None,
                dict(fallback),
                (route or {}).get("state"),
                f"{reason}: fail closed to the fallback",
                (*flags, "fail_closed"),
            )
        return RouteDecision(
            "refused", None, None, None, f"{reason}: fail closed, no fallback", flags
        )

    def _from_route(
        self, route: dict[str, Any], flags: tuple[str, ...], key: str | None = None
    ) -> RouteDecision:
        serve = route.get("serve")
        version = route.get("policy_version")
        if serve is None:
            return RouteDecision(
                "refused", None, None, route.get("state"), str(route.get("why")), flags, version
            )
        if serve.get("kind") == "release":
            digest = str(serve.get("ref", "")).split("@")[-1] or None
            decision = RouteDecision(
                "release",
                digest,
                route.get("fallback"),
                route.get("state"),
                str(route.get("why")),
                flags,
                version,
                live=digest,
            )
            rollout = _rollout(route)
            if rollout is None:
                return decision
            kind, candidate, share = rollout
            if kind == "shadow":
                return replace(decision, rollout="shadow", shadow=candidate)
            assert share is not None
            # Keyed per system: one subject is not in every system's canary at once.
            bucket = canary_bucket(f"{self.system}:{key}") if key is not None else random.random()
            if bucket < share:
                return replace(
                    decision,
                    release=candidate,
                    rollout="canary",
                    reason=f"canary ({share:g} of the traffic)",
                )
            return decision
        return RouteDecision(
            "fallback", None, dict(serve), route.get("state"), str(route.get("why")), flags, version
        )

    def wait_for_change(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for the next route change (tests and drills)."""
        with self._changed:
            return self._changed.wait(timeout)
