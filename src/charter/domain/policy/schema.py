"""The JSON Schema of a policy pack, published as ``charter/policies/policy.schema.json``."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from charter.domain.controls import KINDS
from charter.domain.policy.model import Policy


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of a pack, with each control kind's ``params`` spelt out."""
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [(Policy, "validation")]
    models += [(kind.params, "validation") for kind in KINDS.values()]
    _, top = models_json_schema(models, ref_template="#/$defs/{model}")
    defs: dict[str, Any] = top["$defs"]
    control = defs["Control"]
    control["properties"]["kind"] = {
        "title": "Kind",
        "type": "string",
        "enum": list(KINDS),
        "description": "What the control checks; see docs/policy.md.",
    }
    control["allOf"] = [
        {
            "if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
            "then": {"properties": {"params": {"$ref": f"#/$defs/{kind.params.__name__}"}}},
        }
        for name, kind in KINDS.items()
    ]
    root = defs.pop("Policy")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Charter policy pack (charter.policy/v1)",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def render_policy_schema() -> str:
    """The exact text of ``charter/policies/policy.schema.json``."""
    return json.dumps(policy_json_schema(), indent=2, ensure_ascii=False) + "\n"
