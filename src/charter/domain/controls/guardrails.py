"""Guardrail controls on LLM releases."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from charter.domain.controls.base import (
    Name,
    Outcome,
    StrictParams,
    missing,
    names_in,
    register_kind,
)
from charter.domain.gate_facts import ReleaseFacts


class GuardrailsParams(StrictParams):
    """``required``: guardrails ``config.guardrails`` must list."""

    required: list[Name] = Field(min_length=1)


@register_kind("guardrails", GuardrailsParams)
def _guardrails(params: GuardrailsParams, facts: ReleaseFacts) -> Outcome:
    """The release's ``config.guardrails`` list includes each required guardrail."""
    config = facts.document.get("config")
    present = names_in(config.get("guardrails")) if isinstance(config, Mapping) else set()
    return missing(params.required, present, "guardrails")
