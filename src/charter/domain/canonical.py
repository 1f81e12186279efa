"""Canonical JSON and content digests.

Charter's content addresses (release digests, evidence digests, audit payloads) are the
SHA-256 of the RFC 8785 JSON Canonicalization Scheme (JCS) form of a value: object keys
sorted by UTF-16 code units, no insignificant whitespace, UTF-8, numbers in the shortest
ECMAScript form. The same content gives the same digest on any machine. NaN and
infinities have no JSON form and are refused.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import rfc8785

from charter.domain.errors import BadInput

#: JSON numbers must be exactly representable: RFC 8785 (I-JSON) limits integers to 2**53.
_MAX_SAFE_INTEGER = 2**53 - 1


def _normalise(value: Any, path: str) -> Any:
    """Return ``value`` in the form JCS serialises, or refuse it naming where it is.

    JSON numbers are IEEE 754 doubles: an integer beyond 2**53 is kept only when the
    nearest double is written with exactly the same digits, so that reading the canonical
    text back gives the same value.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if abs(value) <= _MAX_SAFE_INTEGER:
            return value
        if abs(value) < 10**21 and rfc8785.dumps(float(value)) == str(value).encode():
            return float(value)
        raise BadInput(f"integer {value} cannot be represented exactly in JSON", location=path)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadInput(f"{value} is not a finite number", location=path)
        return value
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise BadInput(f"object key {key!r} is not a string", location=path)
            result[key] = _normalise(item, f"{path}.{key}")
        return result
    if isinstance(value, Sequence):
        return [_normalise(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise BadInput(f"value of type {type(value).__name__} has no JSON form", location=path)


def canonical_bytes(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 encoding of a JSON-compatible value."""
    return rfc8785.dumps(_normalise(value, "$"))


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text of ``value`` (see :func:`canonical_bytes`)."""
    return canonical_bytes(value).decode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def content_digest(value: Any) -> str:
    """Return the SHA-256 hex digest of the canonical JSON form of ``value``."""
    return sha256_hex(canonical_bytes(value))
