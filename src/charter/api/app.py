"""The FastAPI application: ``/api/v1`` with bearer tokens and problem-details errors."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from charter import __version__
from charter.api import (
    documents,
    evidence,
    governance,
    monitoring,
    problems,
    risks,
    rollouts,
    runtime,
)
from charter.api.routes import router
from charter.domain import bounds
from charter.domain.errors import BadInput
from charter.services.context import Charter

#: Largest request body accepted, in bytes. Ingestion endpoints (later) set their own.
MAX_BODY_BYTES = 4 * 1024 * 1024


class BodyLimit:
    """Refuse request bodies over a limit with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge(self.limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = problems.problem(
            request,
            413,
            "Payload too large",
            f"the request body exceeds {self.limit} bytes",
            "payload-too-large",
        )
        await response(scope, receive, send)


class JsonBounds:
    """Check every JSON request body against :mod:`charter.domain.bounds` before a route runs.

    Depth, size, non-finite numbers, 64-bit integers and NUL characters are refused with a
    422 naming where, for every endpoint at once, so no route can store a value that a later
    read (or the other database backend) fails on. Malformed JSON passes through: FastAPI
    answers it with its own 422.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        kind = headers.get(b"content-type", b"").lower()
        if kind and b"json" not in kind:  # forms, Arrow streams: not JSON, checked elsewhere
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        failure = _bounds_failure(body)
        if failure is not None:
            request = Request(scope)
            extra = {"location": failure.location} if failure.location else None
            response = problems.problem(
                request, 422, "Invalid input", str(failure), "invalid-input", extra
            )
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _bounds_failure(body: bytes) -> BadInput | None:
    """The bound ``body`` breaks, or None (also when it is not JSON at all)."""
    if not body:
        return None
    try:
        value = json.loads(body, parse_constant=bounds.refuse_constant)
    except RecursionError:
        return BadInput(f"nested deeper than {bounds.MAX_DEPTH} levels", location="body")
    except BadInput as exc:
        return BadInput(exc.detail, location="body")
    except ValueError:
        return None
    try:
        bounds.check_value(value, "body")
    except BadInput as exc:
        return exc
    return None


class _TooLarge(StarletteHTTPException):
    """Raised while reading a body that turns out too long (no or a false Content-Length).

    An HTTPException, because FastAPI turns any other exception raised while it reads the
    body into a 400; this one it re-raises, and the problem handler answers 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds {limit} bytes")


def create_app(charter: Charter) -> FastAPI:
    """Build the API app around a Charter instance."""
    app = FastAPI(
        title="Charter",
        version=__version__,
        description="Control plane for AI model risk: inventory, releases, decisions, audit.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by charter.web from vendored assets, not a CDN
        redoc_url=None,
    )
    app.state.charter = charter
    from charter.services.secrets import install_log_scrubbing

    install_log_scrubbing()
    problems.install(app)
    app.include_router(router)
    app.include_router(governance.router)
    app.include_router(evidence.router)
    app.include_router(monitoring.router)
    app.include_router(monitoring.metrics_router)  # /metrics, for Prometheus
    app.include_router(runtime.router)
    app.include_router(documents.router)
    app.include_router(rollouts.router)
    app.include_router(risks.router)

    @app.get("/api/v1/health", tags=["meta"])
    def health() -> JSONResponse:
        """Liveness: no authentication."""
        return JSONResponse({"status": "ok", "version": __version__})

    from charter.web import mount  # the console at /, and the API docs page

    mount(app, charter)
    app.add_middleware(JsonBounds)  # inside BodyLimit: it reads bodies already bounded
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    return app
