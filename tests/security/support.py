"""Builders for the attack tests: hostile inputs (the CLI runner is tests.cli_runner)."""

from __future__ import annotations


def nested_json(depth: int) -> str:
    """JSON text nested ``depth`` levels deep (built as text: too deep for ``json.dumps``)."""
    return "[" * depth + "1" + "]" * depth
