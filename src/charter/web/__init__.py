"""The web console served by ``charter serve`` at ``/``, and the API docs page.

Server-rendered Jinja2 templates with a little htmx; every asset is vendored in
``static/`` (no build step, nothing loaded from another host). Sign-in takes an API token
and keeps a signed session cookie (see :mod:`charter.web.session`); every page and action
goes through the service layer, as the CLI and the API do.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from charter.services.context import Charter
from charter.settings import charter_home
from charter.web import actions, docs, documents, incident_pages, pages, risk_pages
from charter.web.console import Console
from charter.web.render import environment
from charter.web.session import SessionCodec, lifetime_hours, load_key

STATIC = Path(__file__).parent / "static"

__all__ = ["mount"]


def mount(app: FastAPI, charter: Charter, *, home: Path | None = None) -> None:
    """Add the console (``/``), its static files (``/static``) and the docs page to ``app``.

    The session signing key comes from ``CHARTER_SESSION_KEY`` or the key file in ``home``
    (default: the Charter home), read or created on the first console request.
    """
    hours = lifetime_hours()  # a bad setting fails at start-up, not on the first page

    def codec() -> SessionCodec:
        return SessionCodec(
            load_key(home if home is not None else charter_home()),
            lifetime_seconds=hours * 3600,
            # Sessions expire by the clock the services use (a fake one in tests).
            clock=lambda: charter.clock().timestamp(),
        )

    app.state.console = Console(charter, environment(), codec)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(docs.router)
    # Documents first: POST /systems/NAME/evidence-pack is not one of the levers that
    # actions' POST /systems/NAME/{action} would otherwise catch.
    app.include_router(documents.router)
    app.include_router(actions.router)
    app.include_router(incident_pages.router)
    app.include_router(risk_pages.router)
    app.include_router(pages.router)
