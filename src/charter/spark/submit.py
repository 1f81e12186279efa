"""Sending a profiles document to a Charter API: profiles, not rows.

The driver of a Spark job (or any process) calls :func:`submit_profiles` with the document
:func:`charter.spark.profiles_document` made. Like the SDK's logger it needs only httpx and
the standard library on the client side (no server modules), uses short timeouts, and
retries a failed part under the same batch id, so a retried job is counted once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from charter.domain.canonical import content_digest
from charter.domain.errors import BadInput, CharterError
from charter.sdk.http import control_plane_client
from charter.spark.buckets import split_document


def submit_profiles(
    document: Mapping[str, Any],
    *,
    system: str,
    environment: str,
    url: str,
    token: str,
    batch_id: str | None = None,
    release: str | None = None,
    timeout: float = 10.0,
    retries: int = 3,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """POST the document to ``/api/v1/systems/{system}/profiles?env=environment``.

    The document is cut into parts that fit one request (:func:`split_document`); part
    ``i`` goes under ``{batch_id}:{i}``, where ``batch_id`` defaults to the document's
    content digest, so submitting the same document again changes nothing. A network
    error, a 429 or a 5xx is retried (up to ``retries`` times, backing off); a refusal
    (4xx) raises :class:`BadInput` with the server's reason. Returns the totals and each
    part's receipt.
    """
    base = batch_id or "profiles-" + content_digest(dict(document))[:32]
    parts = split_document(document)
    receipts: list[dict[str, Any]] = []
    with control_plane_client(
        url, token, timeout=timeout, connect=2.0, transport=transport
    ) as client:
        for i, part in enumerate(parts):
            body = {"batch_id": f"{base}:{i}", "document": part}
            receipts.append(_post(client, system, environment, release, body, retries))
    return {
        "batches": len(receipts),
        "buckets": sum(int(r.get("buckets") or 0) for r in receipts),
        "accepted": sum(int(r.get("accepted") or 0) for r in receipts),
        "duplicates": sum(bool(r.get("duplicate")) for r in receipts),
        "receipts": receipts,
    }


def _post(
    client: httpx.Client,
    system: str,
    environment: str,
    release: str | None,
    body: dict[str, Any],
    retries: int,
) -> dict[str, Any]:
    params = {"env": environment, **({"release": release} if release else {})}
    reason = "not sent"
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(0.5 * 2 ** (attempt - 1), 5.0))
        try:
            response = client.post(f"/systems/{system}/profiles", params=params, json=body)
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            continue
        if response.status_code < 300:
            receipt = _json(response)
            if isinstance(receipt, dict) and receipt.get("batch_id") == body["batch_id"]:
                return receipt
            reason = f"{response.status_code} with a body that is not this batch's receipt"
            continue
        detail = _json(response)
        text = detail.get("detail") if isinstance(detail, dict) else None
        reason = f"HTTP {response.status_code}: {text or response.text[:200]}"
        if response.status_code < 500 and response.status_code != 429:
            raise BadInput(f"Charter refused the profiles: {reason}")
    raise CharterError(f"cannot submit profiles to Charter ({reason})")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
