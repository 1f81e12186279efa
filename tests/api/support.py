"""Constants and assertions shared by the HTTP API tests."""

from __future__ import annotations

from typing import Any

from tests.helpers import manifest

API = "/api/v1"
SYSTEM = "credit-limit"
PROBLEM_MEDIA_TYPE = "application/problem+json"

#: A complete, valid approval (the release's creator must not be the one sending it).
APPROVAL: dict[str, Any] = {
    "verdict": "approve",
    "use_case": "credit limit increases",
    "population": "UK retail customers",
    "environments": ["prod"],
    "expires": "90d",
    "fallback": "static:manual-review",
}
REJECTION: dict[str, Any] = {"verdict": "reject", "note": "calibration drifted"}

Headers = dict[str, str]


def manifest_body(seed: str = "1", **overrides: Any) -> dict[str, Any]:
    """The JSON body of a valid manifest whose content (and digest) varies with ``seed``."""
    return manifest(seed, **overrides).model_dump(mode="json", exclude_none=True)


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem response with ``status`` and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), response.headers
    body: dict[str, Any] = response.json()
    for member in ("type", "title", "status", "detail", "instance"):
        assert member in body, body
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["instance"] == response.request.url.path
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if slug is not None:
        assert body["type"].endswith("/" + slug), body
    return body
