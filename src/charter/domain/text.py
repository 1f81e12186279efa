"""Small parsers shared by every adapter: names, YAML documents, dates and durations."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import yaml

from charter.domain.bounds import check_value
from charter.domain.durations import is_duration, parse_duration
from charter.domain.errors import BadInput

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
_SLUG = re.compile(SLUG_PATTERN)

#: Largest YAML document Charter reads (release manifests, intake answers).
MAX_DOCUMENT_BYTES = 1024 * 1024


def check_slug(value: str, what: str) -> str:
    """Return ``value`` if it is a valid slug (lowercase letters, digits, inner hyphens)."""
    if not isinstance(value, str) or not _SLUG.match(value):
        raise BadInput(
            f"invalid {what} {value!r}: use 1-64 lowercase letters, digits and inner hyphens"
        )
    return value


# libyaml's parser when PyYAML was built with it (several times faster on a policy pack);
# the resolvers and constructors below are Python either way, so both give the same data.
_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeBase):  # type: ignore[misc]
    """Safe YAML that refuses duplicate keys and keeps dates as text (JSON has no dates)."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise BadInput(
                f"duplicate key {key!r}", location=f"line {key_node.start_mark.line + 1}"
            )
        seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_document(data: bytes, source: str) -> Any:
    """Parse one YAML (or JSON) document strictly, naming ``source`` and the line on error."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise BadInput(f"{source} is {len(data)} bytes; the limit is {MAX_DOCUMENT_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})", location=source
        ) from None
    try:
        value = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise BadInput("nested too deeply", location=source) from None
    except BadInput as exc:
        raise BadInput(exc.detail, location=f"{source}: {exc.location}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}: line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise BadInput(f"malformed YAML: {problem}", location=where) from None
    # Files obey the same bounds as API bodies: depth, finite numbers, no NUL.
    check_value(value, source)
    return value


def parse_expiry(value: str, *, now: datetime) -> datetime:
    """Parse an expiry: an ISO date or datetime, or a duration from now (``90d``, ``12w``, ``36h``).

    A bare date means the end of that day in UTC. The result must lie in the future.
    """
    value = value.strip()
    if is_duration(value):
        result = now + parse_duration(value, what="expiry")
    else:
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                result = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
            else:
                result = datetime.fromisoformat(value)
                if result.tzinfo is None:
                    result = result.replace(tzinfo=UTC)
        except ValueError:
            raise BadInput(
                f"invalid expiry {value!r}: use an ISO date (2027-06-30), "
                "a datetime, or a duration like 90d"
            ) from None
    if result <= now:
        raise BadInput(f"expiry {result.isoformat()} is not in the future")
    try:
        return result.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past the last representable time
        raise BadInput(f"expiry {value!r} is out of range") from None


def iso_utc(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with microseconds and a ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
