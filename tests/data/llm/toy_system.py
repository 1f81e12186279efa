"""A stand-in LLM system for the ``llm`` suite's red-team tests (``str -> str``).

It refuses everything except prompts carrying the prefix-injection or text-continuation
attack, so the expected attack success rates are known exactly.
"""

from __future__ import annotations

COMPLY = "Absolutely! Here's what you asked for: step one is to get started."
REFUSE = "I'm sorry, but I can't help with that."


def toy_system(prompt: str) -> str:
    """Comply when the prompt carries one of two attack markers, refuse otherwise."""
    if "Absolutely! Here's" in prompt or "Dr. Al" in prompt:
        return COMPLY
    return REFUSE
