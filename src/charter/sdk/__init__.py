"""The client serving code imports: light (httpx, pydantic and the standard library; the
guard scanners only when the tier configures them). Nothing from the server side.

- :class:`Serving`: route, guard, log and attest around a model call (``wrap``, ``call``,
  ``inference``)
- :class:`Router`: the route, cached and refreshed in the background
- :class:`CharterLogger`: batched, non-blocking inference logging
- :class:`Attestor`, :func:`config_digest`: the digest of the configuration loaded
"""

from charter.sdk.attest import Attestor, config_digest
from charter.sdk.client import CharterLogger, Failure
from charter.sdk.routing import RouteDecision, Router
from charter.sdk.serving import Answer, Inference, Serving, ServingRefused
from charter.sdk.values import RecordRejected, json_safe

__all__ = [
    "Answer",
    "Attestor",
    "CharterLogger",
    "Failure",
    "Inference",
    "RecordRejected",
    "RouteDecision",
    "Router",
    "Serving",
    "ServingRefused",
    "config_digest",
    "json_safe",
]
