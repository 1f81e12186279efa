"""The OpenAPI docs page, from the Swagger UI files vendored in ``static/vendor/swagger-ui``.

FastAPI's default page loads Swagger UI from a CDN, which leaves it blank on a network
with no route out; this one loads nothing from any other host.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

#: The vendored swagger-ui-dist version (see static/README.md).
SWAGGER_UI_VERSION = "5.35.0"
DOCS_PATH = "/api/v1/docs"
_ASSETS = "/static/vendor/swagger-ui"

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH, response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    """Swagger UI for ``/api/v1/openapi.json``, every asset served by Charter itself."""
    return get_swagger_ui_html(
        openapi_url="/api/v1/openapi.json",
        title="Charter API",
        swagger_js_url=f"{_ASSETS}/swagger-ui-bundle.js?v={SWAGGER_UI_VERSION}",
        swagger_css_url=f"{_ASSETS}/swagger-ui.css?v={SWAGGER_UI_VERSION}",
        swagger_favicon_url=f"{_ASSETS}/favicon-32x32.png",
        oauth2_redirect_url=None,
        # No validator badge: it would fetch from an outside validator service.
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
    )
