"""The console's forms (POST): sign-in, sign-out, and actions that call the services.

Every POST passes the CSRF check of :class:`ConsoleRoute` before it gets here. Each action
is one service call in one write transaction, exactly what the CLI and the API call, so a
refusal (a role, separation of duties, a lapsed approval) is the service's, with its
reason, and writes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from charter.domain.decisions import DecisionRequest
from charter.domain.errors import BadInput, Unauthenticated
from charter.services import decisions, deployments, exceptions, users
from charter.web.console import (
    SIGN_IN_REASONS,
    ConsoleRoute,
    console_of,
    page,
    safe_next,
    session_of,
    set_session,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Name = Annotated[str, Path(min_length=1, max_length=200)]
Short = Annotated[str, Form(max_length=200)]
Long = Annotated[str, Form(max_length=10_000)]
INTERVENTIONS = {
    "kill": (deployments.kill, "killed: serving the fallback"),
    "rollback": (deployments.rollback, "rolled back to the previous release"),
    "resume": (deployments.resume, "resumed: serving the live release"),
}


@router.get("/signin", response_class=HTMLResponse)
def sign_in_form(
    request: Request,
    next: Annotated[str, Query(max_length=2000)] = "/",
    reason: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The sign-in form; visiting it starts an anonymous session carrying its CSRF token."""
    console = console_of(request)
    state, session = session_of(request)
    if session is None or state != "valid" or session.signed_in:
        session = console.codec.anonymous()
    return _sign_in_page(request, session, next_url=next, notice=SIGN_IN_REASONS.get(reason))


def _sign_in_page(
    request: Request,
    session: object,
    *,
    next_url: str,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    console = console_of(request)
    body = console.templates.get_template("signin.html").render(
        actor=None,
        can=lambda permission: False,
        csrf=session.csrf,  # type: ignore[attr-defined]
        flash=(),
        path=request.url.path,
        next_url=safe_next(next_url),
        notice=notice,
        error=error,
    )
    response = HTMLResponse(body, status_code=status)
    set_session(request, response, session)  # type: ignore[arg-type]
    return response


@router.post("/signin", response_class=HTMLResponse)
def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Exchange an API token for a session cookie (a fresh session: new CSRF token)."""
    console = console_of(request)
    charter = console.charter
    try:
        with charter.db.transaction(write=False) as db_session:
            actor = users.authenticate(db_session, token.strip())
    except Unauthenticated:
        _, anonymous = session_of(request)
        return _sign_in_page(
            request,
            anonymous or console.codec.anonymous(),
            next_url=next,
            error="That token is not valid (it may have been rotated or revoked).",
            status=401,
        )
    session = console.codec.signed_in(actor.id, users.hash_token(token.strip()))
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session(request, response, session)
    return response


@router.post("/signout")
def sign_out(request: Request) -> Response:
    """End the session: the cookie is replaced by a new anonymous one."""
    response = RedirectResponse("/signin?reason=signed-out", status_code=303)
    set_session(request, response, console_of(request).codec.anonymous())
    return response


@router.post("/systems/{name}/{action}")
def intervene(
    request: Request,
    name: Name,
    action: Annotated[str, Path(max_length=20)],
    environment: Short = "",
    reason: Long = "",
) -> Response:
    """Kill to fallback, roll back or resume one environment (``charter kill|rollback|resume``)."""
    with page(request, write=True) as view:
        if action not in INTERVENTIONS:
            raise BadInput(f"unknown action {action!r}: kill, rollback or resume")
        call, done = INTERVENTIONS[action]
        call(view.ctx, name, environment, reason=reason)
        return view.redirect(f"/systems/{name}", ok=f"{name} in {environment}: {done}")


@router.post("/releases/{name}/{digest}/decide")
def decide(
    request: Request,
    name: Name,
    digest: Annotated[str, Path(min_length=12, max_length=71)],
    verdict: Short = "",
    use_case: Long = "",
    population: Long = "",
    environments: Short = "",
    expires: Short = "",
    fallback: Short = "",
    conditions: Long = "",
    note: Long = "",
    back: Annotated[str, Form(max_length=2000)] = "/approvals",
) -> Response:
    """Approve, approve with conditions or reject a release (``charter approve|reject``)."""
    with page(request, write=True) as view:
        if verdict not in ("approve", "approve_with_conditions", "reject"):
            raise BadInput(f"unknown verdict {verdict!r}")
        request_body = DecisionRequest(
            verdict=verdict,  # type: ignore[arg-type]
            use_case=use_case,
            population=population,
            environments=[e for e in environments.replace(",", " ").split() if e],
            expires=expires.strip() or None,
            fallback=fallback.strip() or None,
            conditions=[c.strip() for c in conditions.splitlines() if c.strip()],
            note=note,
        )
        decision = decisions.decide(view.ctx, f"{name}@{digest}", request_body)
        label = {"approve": "approved", "reject": "rejected"}.get(
            verdict, "approved with conditions"
        )
        return view.redirect(back, ok=f"{name}@{digest[:12]} {label} (decision {decision.id})")


@router.post("/exceptions/{exception_id}/{action}")
def decide_exception(
    request: Request,
    exception_id: Annotated[int, Path(ge=1, le=2**31)],
    action: Annotated[str, Path(max_length=20)],
    note: Long = "",
) -> Response:
    """Approve, reject or revoke an exception (``charter exception approve|reject|revoke``)."""
    with page(request, write=True) as view:
        if action in ("approve", "reject"):
            exceptions.decide_exception(view.ctx, exception_id, action, note=note)
        elif action == "revoke":
            exceptions.revoke_exception(view.ctx, exception_id, note=note)
        else:
            raise BadInput(f"unknown action {action!r}: approve, reject or revoke")
        done = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}[action]
        return view.redirect("/exceptions", ok=f"exception {exception_id} {done}")
