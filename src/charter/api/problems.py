"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from charter.domain.errors import CharterError
from charter.services.secrets import scrub

PROBLEM_BASE = "https://charter.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("charter.api")


class Problem(BaseModel):
    """An RFC 9457 problem: every error response of the API has this shape."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The request path.")
    location: str | None = Field(default=None, description="Where in the input, if known.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Each invalid input field (422 only)."
    )


_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}

#: The error responses every authenticated endpoint may give, documented in OpenAPI with
#: their real media type (FastAPI would otherwise document a JSON 422 of its own shape).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": _PROBLEM_CONTENT}
    for status, description in (
        (401, "No valid bearer token."),
        (403, "The role, or a rule such as separation of duties, refuses the operation."),
        (404, "A named system, release or user does not exist."),
        (409, "A duplicate name, an ambiguous digest prefix, or a concurrent change."),
        (413, "The request body exceeds the limit."),
        (422, "Invalid input."),
        (503, "The database is busy or unavailable; retry."),
    )
}


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    slug: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a problem response.

    Also adds the ``Problem`` schema to the OpenAPI document, for :data:`PROBLEM_RESPONSES`.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Problem", Problem.model_json_schema())
        return document

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(CharterError)
    async def _charter_error(request: Request, exc: CharterError) -> JSONResponse:
        extra = {"location": exc.location} if exc.location else None
        # RFC 9110 section 11.6.1: a 401 names the scheme the client should authenticate with.
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(request, exc.status, exc.title, str(exc), exc.slug, extra, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg")}
            for err in exc.errors()
        ]
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        detail = f"{first['location']}: {first['message']}"
        return problem(
            request, 422, "Invalid input", detail, "invalid-input", {"errors": errors[:20]}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it could not decode (not UTF-8, an integer too long
            # to parse...). Malformed input, like invalid JSON, which it reports as a 422.
            return problem(
                request,
                422,
                "Invalid input",
                "the request body could not be parsed: send UTF-8 encoded JSON",
                "invalid-input",
            )
        slug = {
            401: "unauthenticated",
            404: "not-found",
            405: "method-not-allowed",
            413: "payload-too-large",
        }.get(exc.status_code, "http-error")
        title = {413: "Payload too large"}.get(exc.status_code, str(exc.detail))
        # Keep the exception's headers (e.g. ``Allow`` on a 405).
        headers = dict(exc.headers) if exc.headers else None
        return problem(request, exc.status_code, title, str(exc.detail), slug, headers=headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A uniqueness race lost to a concurrent writer: the loser gets a clean conflict.
        return problem(
            request, 409, "Conflict", "the record was changed concurrently; retry", "conflict"
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the request carried, e.g. a NUL character, which
        # PostgreSQL text cannot hold. Nothing was written: the transaction rolled back.
        log.info("database refused a value: %s", scrub(str(exc.orig)))
        return problem(
            request,
            422,
            "Invalid input",
            "the database cannot store a value in the request (NUL characters, for instance)",
            "invalid-input",
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", scrub(str(exc)))
        return problem(
            request,
            503,
            "Database busy or unavailable",
            "the database could not complete the request; retry shortly",
            "database-unavailable",
            headers={"Retry-After": "1"},
        )
