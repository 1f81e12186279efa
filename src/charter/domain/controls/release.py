"""Controls on the release itself: documentation fields and vendor model support."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Annotated, Any

from pydantic import Field

from charter.domain.controls.base import Outcome, StrictParams, missing, register_kind
from charter.domain.gate_facts import ReleaseFacts
from charter.domain.policy_facts import DEFAULT_VENDOR_NOTICE_DAYS

_FIELD = r"^(?:(?:system|release)\.)?[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*$"


class DocumentationParams(StrictParams):
    """``fields``: system fields (``owner``) or ``release.<path>`` in the release document."""

    fields: list[Annotated[str, Field(pattern=_FIELD, max_length=200)]] = Field(min_length=1)


def lookup_field(facts: ReleaseFacts, name: str) -> Any:
    """A system field (``owner``) or a path in the release document (``release.config.x``)."""
    if name.startswith("release."):
        value: Any = facts.document
        for part in name.removeprefix("release.").split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value
    return facts.system_fields.get(name.removeprefix("system."))


def filled(value: Any) -> bool:
    """Not null, blank or empty."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Mapping | list | tuple | set):
        return bool(value)
    return True


@register_kind("documentation", DocumentationParams)
def _documentation(params: DocumentationParams, facts: ReleaseFacts) -> Outcome:
    """Each named field is filled in (not null, blank or empty)."""
    present = {name for name in params.fields if filled(lookup_field(facts, name))}
    return missing(params.fields, present, "documentation")


class VendorNotDeprecatedParams(StrictParams):
    """``notice_days``: fail this long before a vendor model's deprecation date."""

    notice_days: int = Field(default=DEFAULT_VENDOR_NOTICE_DAYS, ge=0, le=3650)
    require_date: bool = False


@register_kind("vendor_not_deprecated", VendorNotDeprecatedParams)
def _vendor_not_deprecated(params: VendorNotDeprecatedParams, facts: ReleaseFacts) -> Outcome:
    """No vendor model is deprecated or within ``notice_days`` of its deprecation date."""
    vendors = [c for c in facts.components if c.get("kind") == "vendor_model"]
    if not vendors:
        return Outcome("not_applicable", "the release uses no vendor model")
    today = facts.now.astimezone(UTC).date()
    dated = dict(facts.vendor_deprecations())
    problems = []
    for component in vendors:
        name = str(component.get("name"))
        when = dated.get(name)
        if when is None:
            if params.require_date:
                problems.append(f"{name} declares no deprecation date")
            continue
        left = (when - today).days
        if left < 0:
            problems.append(f"{name} was deprecated on {when}")
        elif left <= params.notice_days:
            problems.append(f"{name} is deprecated on {when} ({left} days left)")
    evidence = {
        "notice_days": params.notice_days,
        "deprecations": {name: when.isoformat() for name, when in dated.items()},
    }
    if problems:
        return Outcome("fail", "; ".join(problems), evidence)
    return Outcome("pass", f"{len(vendors)} vendor model(s) supported beyond the notice", evidence)
