"""Documented values: a documentation field that must also say enough (a number, a list).

Where the AI Act sets a figure, a field being filled in is not enough: event logs kept
"at least six months" (Arts. 19(1), 26(6)) is a retention of 183 days or more; a serious
incident reported within 2, 10 or 15 days (Art. 73(2)-(4)) is a procedure whose deadlines
are no longer; human oversight "by natural persons" (Arts. 14, 26(2)) names at least one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, model_validator

from charter.domain.controls.base import Outcome, StrictParams, register_kind
from charter.domain.controls.release import _FIELD, filled, lookup_field
from charter.domain.gate_facts import ReleaseFacts

FieldPath = Annotated[str, Field(pattern=_FIELD, max_length=200)]


class ValueCheck(StrictParams):
    """One field: ``min``/``max`` for a number, ``min_items`` for a list (or mapping)."""

    field: FieldPath
    min: float | None = None
    max: float | None = None
    min_items: int | None = Field(default=None, ge=1, le=1000)

    @model_validator(mode="after")
    def _consistent(self) -> ValueCheck:
        if self.min_items is not None and (self.min is not None or self.max is not None):
            raise ValueError("a check is either on a number (min, max) or a list (min_items)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is larger than max")
        return self


class DocumentedValuesParams(StrictParams):
    """``checks``: fields that must be filled in with values within the given limits."""

    checks: list[ValueCheck] = Field(min_length=1, max_length=50)


def _problem(check: ValueCheck, value: Any) -> str | None:
    """Why ``value`` does not satisfy ``check``, or None."""
    if not filled(value):
        return f"{check.field} is not documented"
    if check.min_items is not None:
        if isinstance(value, str) or not isinstance(value, list | tuple | Mapping):
            return f"{check.field} must be a list"
        entries = [v for v in value if filled(v)] if not isinstance(value, Mapping) else value
        if len(entries) < check.min_items:
            return f"{check.field} lists {len(entries)} (at least {check.min_items} needed)"
        return None
    if check.min is None and check.max is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{check.field} must be a number, got {value!r}"
    if check.min is not None and value < check.min:
        return f"{check.field} is {value:g} (at least {check.min:g} needed)"
    if check.max is not None and value > check.max:
        return f"{check.field} is {value:g} (at most {check.max:g} allowed)"
    return None


@register_kind("documented_values", DocumentedValuesParams)
def _documented_values(params: DocumentedValuesParams, facts: ReleaseFacts) -> Outcome:
    """Each field is filled in, and numbers and lists are within the required limits."""
    values = {check.field: lookup_field(facts, check.field) for check in params.checks}
    problems = [
        problem
        for check in params.checks
        if (problem := _problem(check, values[check.field])) is not None
    ]
    evidence = {"values": {k: v for k, v in values.items() if isinstance(v, int | float | str)}}
    if problems:
        return Outcome("fail", "; ".join(problems), evidence)
    return Outcome("pass", f"documented: {', '.join(values)}", evidence)
