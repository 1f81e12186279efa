"""The console's request plumbing: the session behind each page, CSRF, and error pages.

Every page runs in one transaction acting as the signed-in user, and every action calls
the same service function as the CLI and the API, so permissions, separation of duties
and validation are the services' (the console only decides which buttons to show).
Errors the services raise become HTML pages with the same status codes the API uses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from charter.domain.errors import CharterError, Unauthenticated
from charter.domain.roles import Permission, allowed
from charter.services import users
from charter.services.context import Actor, Charter, Context
from charter.web.session import COOKIE_NAME, SessionCodec, WebSession

log = logging.getLogger("charter.web")

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Sent with every console page: scripts, styles and forms from this origin only, no
#: framing. A second line behind output escaping, not a substitute for it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: Why the sign-in page was shown instead of the page asked for.
SIGN_IN_REASONS = {
    "expired": "Your session has expired: sign in again.",
    "ended": "Your session has ended (the token was rotated or the user disabled): sign in again.",
    "invalid": "Your session could not be read: sign in again.",
    "signed-out": "You have signed out.",
}


class SignInRequired(Exception):
    """The request needs a signed-in session it does not have."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class CsrfRefused(Exception):
    """A form arrived without the session's CSRF token."""


class Console:
    """What every console request needs: the services' entry point, sessions, templates.

    The session codec is built on first use, so an app that only serves the API never
    reads or creates the signing key file.
    """

    def __init__(
        self,
        charter: Charter,
        templates: jinja2.Environment,
        codec_factory: Callable[[], SessionCodec],
    ) -> None:
        self.charter = charter
        self.templates = templates
        self._codec_factory = codec_factory
        self._codec: SessionCodec | None = None
        self._lock = threading.Lock()

    @property
    def codec(self) -> SessionCodec:
        """The session codec (its key loaded, or created, on first use)."""
        if self._codec is None:
            with self._lock:
                if self._codec is None:
                    self._codec = self._codec_factory()
        return self._codec


def console_of(request: Request) -> Console:
    """The console the app was built with."""
    console: Console = request.app.state.console
    return console


def safe_next(value: str | None, default: str = "/") -> str:
    """A same-site path to go to after an action, never another host (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) < 32 for ch in value):
        return default
    return value


def same_site_path(request: Request, url: str | None, default: str = "/") -> str:
    """The path and query of ``url`` when it points at this site (a Referer, say), else default."""
    if not url:
        return default
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.url.netloc:
        return default
    path = parts.path + ("?" + parts.query if parts.query else "")
    return safe_next(path, default)


def session_of(request: Request) -> tuple[str, WebSession | None]:
    """The request's session cookie, read and checked (state, session)."""
    return console_of(request).codec.loads(request.cookies.get(COOKIE_NAME))


def set_session(request: Request, response: Response, session: WebSession | None) -> None:
    """Write (or, with None, delete) the session cookie on a response.

    HttpOnly (scripts cannot read it), SameSite=Lax (not sent on cross-site POSTs), and
    Secure when the request came over TLS, as uvicorn reports it (``--proxy-headers``
    behind a TLS-terminating proxy).
    """
    secure = request.url.scheme == "https"
    if session is None:
        response.delete_cookie(COOKIE_NAME, path="/", secure=secure, httponly=True, samesite="lax")
        return
    response.set_cookie(
        COOKIE_NAME,
        console_of(request).codec.dumps(session),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


@dataclass
class Page:
    """One console request acting as the signed-in user, inside one transaction."""

    request: Request
    console: Console
    ctx: Context
    session: WebSession

    @property
    def actor(self) -> Actor:
        """The signed-in user."""
        return self.ctx.actor

    @property
    def render_partial(self) -> bool:
        """True for an htmx request that wants a fragment rather than the whole page."""
        headers = self.request.headers
        # A history restore (back button, nothing cached) replaces the whole body.
        return (
            headers.get("hx-request") == "true"
            and headers.get("hx-boosted") != "true"
            and headers.get("hx-history-restore-request") != "true"
        )

    def can(self, permission: str) -> bool:
        """Whether the user's role holds a permission (decides which buttons are shown)."""
        return allowed(self.actor.role, Permission(permission))

    def render(self, template: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
        """Render a template with the layout's values; one-shot messages are shown once."""
        body = self.console.templates.get_template(template).render(
            actor=self.actor,
            can=self.can,
            csrf=self.session.csrf,
            flash=self.session.flash,
            path=self.request.url.path,
            **values,
        )
        response = HTMLResponse(body, status_code=status_code)
        if self.session.flash:
            set_session(self.request, response, replace(self.session, flash=()))
        return response

    def fragment(self, template: str, **values: Any) -> Markup:
        """A template rendered on its own (escaped as usual), to place inside a page."""
        # Safe: the autoescaping environment rendered it, so every value in it is escaped.
        rendered = self.console.templates.get_template(template).render(**values)
        return Markup(rendered)  # noqa: S704

    def redirect(self, url: str, *, ok: str | None = None) -> RedirectResponse:
        """303 to a page after a successful action, with a message for it."""
        response = RedirectResponse(safe_next(url), status_code=303)
        if ok:
            set_session(
                self.request, response, self.console.codec.with_flash(self.session, "ok", ok)
            )
        return response


@contextmanager
def page(request: Request, *, write: bool = False) -> Iterator[Page]:
    """Open a transaction acting as the session's user, or raise SignInRequired.

    The session is checked inside the same transaction as the work, so a token rotated a
    moment ago cannot slip through between the check and the action.
    """
    console = console_of(request)
    state, session = session_of(request)
    if state == "expired" and session is not None and session.signed_in:
        raise SignInRequired("expired")
    if state == "invalid":
        raise SignInRequired("invalid")
    if session is None or state != "valid" or session.user_id is None:
        raise SignInRequired("")
    charter = console.charter
    with charter.db.transaction(write=write) as db_session:
        try:
            actor, hashes = users.session_credentials(db_session, session.user_id)
        except Unauthenticated:
            raise SignInRequired("ended") from None
        if not console.codec.matches(session, hashes):
            raise SignInRequired("ended")
        request.state.actor = actor
        ctx = Context(session=db_session, actor=actor, clock=charter.clock)
        yield Page(request=request, console=console, ctx=ctx, session=session)


async def _check_csrf(request: Request) -> None:
    """Refuse a POST whose CSRF token (form field or header) is not the session's."""
    console = console_of(request)
    state, session = session_of(request)
    if state == "expired" and session is not None and session.signed_in:
        raise SignInRequired("expired")
    if session is None or state != "valid":
        raise CsrfRefused("no valid session: reload the page and submit the form again")
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not submitted:
        raise CsrfRefused("the form carries no CSRF token")
    if not console.codec.csrf_ok(session, submitted):
        raise CsrfRefused("the form's CSRF token does not match this session")


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    """An HTML error page (the console's counterpart of a problem response)."""
    console = console_of(request)
    actor = getattr(request.state, "actor", None)
    state, session = session_of(request)
    body = console.templates.get_template("error.html").render(
        actor=actor,
        can=lambda permission: actor is not None and allowed(actor.role, Permission(permission)),
        csrf=session.csrf if session is not None and state == "valid" else "",
        flash=(),
        path=request.url.path,
        status=status,
        title=title,
        detail=detail,
        back=same_site_path(request, request.headers.get("referer")),
    )
    return HTMLResponse(body, status_code=status)


def _sign_in_redirect(request: Request, reason: str) -> RedirectResponse:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET" or request.headers.get("hx-request") == "true":
        target = same_site_path(request, request.headers.get("hx-current-url"))
    location = f"/signin?next={quote(target, safe='/')}"
    if reason:
        location += f"&reason={reason}"
    response = RedirectResponse(location, status_code=303)
    if request.headers.get("hx-request") == "true":
        response.headers["HX-Redirect"] = location  # make htmx leave the page, not swap it in
    if reason in ("expired", "ended", "invalid"):
        set_session(request, response, None)
    return response


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """Route class of every console page: CSRF on POST, HTML errors, security headers."""

    def get_route_handler(self) -> Handler:
        """Wrap FastAPI's handler with the console's checks and error pages."""
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            started, cpu = time.perf_counter(), time.process_time()
            try:
                if request.method == "POST":
                    await _check_csrf(request)
                response = await original(request)
            except SignInRequired as exc:
                response = _sign_in_redirect(request, exc.reason)
            except CsrfRefused as exc:
                response = error_page(request, 403, "Refused: CSRF check failed", str(exc))
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                detail = f"{where}: {first.get('msg', 'invalid input')}"
                response = error_page(request, 422, "Invalid input", detail)
            except ValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                detail = f"{where}: {first.get('msg', 'invalid input')}"
                response = error_page(request, 422, "Invalid input", detail)
            except CharterError as exc:
                response = error_page(request, exc.status, exc.title, str(exc))
            except OperationalError as exc:
                log.warning("database unavailable: %s", exc)
                response = error_page(
                    request, 503, "Database busy", "the database is busy or unavailable; retry"
                )
            for name, value in _SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            # How long the server spent on the page, and the CPU its process used meanwhile
            # (all requests': exact only when one runs at a time, as in benchmarks/web).
            # Browsers' developer tools show both.
            elapsed = (time.perf_counter() - started) * 1000
            used = (time.process_time() - cpu) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}, cpu;dur={used:.1f}"
            return response

        return handler
