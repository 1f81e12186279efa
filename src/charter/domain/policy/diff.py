"""Human-readable changes between two policy packs (``charter policy diff``)."""

from __future__ import annotations

import json
from typing import Any


def policy_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Changes from pack ``old`` to pack ``new``, both in ``Policy.to_dict()`` form."""
    changes: list[str] = []
    for key in ("name", "description"):
        if old[key] != new[key]:
            changes.append(f"{key} changed: {_show(old[key])} -> {_show(new[key])}")
    changes += _diff_items("question", old["intake"]["questions"], new["intake"]["questions"])
    changes += _diff_items("rule", old["intake"]["rules"], new["intake"]["rules"], True)
    changes += _diff_items("flag", old["intake"].get("flags", []), new["intake"].get("flags", []))
    if old["intake"]["default_tier"] != new["intake"]["default_tier"]:
        changes.append(
            f"default tier changed: {old['intake']['default_tier']} -> "
            f"{new['intake']['default_tier']}"
        )
    changes += _diff_items("tier", old["tiers"], new["tiers"], True)
    changes += _diff_items("control", old["controls"], new["controls"])
    for path, before, after in _changed_paths(old["exceptions"], new["exceptions"]):
        changes.append(f"exceptions.{path} changed: {_show(before)} -> {_show(after)}")
    return changes


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _changed_paths(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf paths whose values differ between two JSON-able values (mappings recursed)."""
    if isinstance(old, dict) and isinstance(new, dict):
        result: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else str(key)
            result += _changed_paths(old.get(key), new.get(key), path)
        return result
    return [] if old == new else [(prefix, old, new)]


def _diff_items(
    what: str, old: list[dict[str, Any]], new: list[dict[str, Any]], ordered: bool = False
) -> list[str]:
    before = {item["id"]: item for item in old}
    after = {item["id"]: item for item in new}
    changes = [f"{what} added: {key}" for key in after if key not in before]
    changes += [f"{what} removed: {key}" for key in before if key not in after]
    for key in (k for k in before if k in after):
        paths = _changed_paths(before[key], after[key])
        if paths:
            details = "; ".join(f"{p} {_show(a)} -> {_show(b)}" for p, a, b in paths)
            changes.append(f"{what} changed: {key} ({details})")
    kept_old = [k for k in before if k in after]
    kept_new = [k for k in after if k in before]
    if ordered and kept_old != kept_new:
        changes.append(f"{what} order changed: {', '.join(kept_old)} -> {', '.join(kept_new)}")
    return changes
