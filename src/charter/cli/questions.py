"""``charter policy questions``: the intake questions with their help text, listed or asked.

Listing prints every question of a pack (its id, type, options and help). Asking walks a
person through them one by one, checks each answer as intake will, and ends with the
tier, the flags and the number of controls the answers lead to; ``--out`` writes the
answers as an intake file for ``charter system register --intake``.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from typing import Any

from charter.domain.errors import BadInput
from charter.domain.policy import Policy, Question, assess_intake

Ask = Callable[[str], str]


def describe(policy: Policy) -> list[dict[str, Any]]:
    """The questions as JSON-able data, in pack order."""
    return [
        {
            "id": q.id,
            "text": q.text,
            "type": q.type,
            "options": q.options,
            "required": q.required,
            "help": q.help,
        }
        for q in policy.intake.questions
    ]


def _wrap(text: str, indent: str = "    ") -> str:
    return textwrap.fill(" ".join(text.split()), width=96, initial_indent=indent,
                         subsequent_indent=indent)  # fmt: skip


def listing(policy: Policy) -> str:
    """Every question with its type, options and help, as plain text."""
    blocks = []
    for number, q in enumerate(policy.intake.questions, start=1):
        kind = q.type + (", required" if q.required else "")
        lines = [f"{number}. {q.id} ({kind})", _wrap(q.text)]
        if q.options:
            lines.append(_wrap("options: " + ", ".join(q.options)))
        if q.help:
            lines.append(_wrap("help: " + q.help))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _parse(question: Question, raw: str) -> Any:
    """An answer typed at the prompt, as intake reads it; None for no answer."""
    text = raw.strip()
    if not text:
        return None
    options = question.options or []

    def option(token: str) -> str:
        token = token.strip()
        if token.isdigit() and options and 1 <= int(token) <= len(options):
            return options[int(token) - 1]
        if options and token not in options:
            raise BadInput(f"{token!r} is not an option")
        return token

    if question.type == "bool":
        if text.lower() in ("y", "yes", "true"):
            return True
        if text.lower() in ("n", "no", "false"):
            return False
        raise BadInput("answer y or n")
    if question.type == "number":
        try:
            return float(text)
        except ValueError:
            raise BadInput("answer a number") from None
    if question.type == "enum":
        return option(text)
    if question.type == "list":
        return [option(t) for t in text.split(",") if t.strip()]
    return text


def _prompt_text(question: Question) -> str:
    lines = [f"\n{question.text}"]
    if question.help:
        lines.append(_wrap(question.help, "  | "))
    for number, name in enumerate(question.options or [], start=1):
        lines.append(f"  {number}) {name}")
    hint = {
        "bool": "y/n",
        "enum": "a number or name",
        "list": "numbers or names, comma-separated",
        "number": "a number",
        "string": "text",
    }[question.type]
    blank = "" if question.required else ", blank to skip"
    lines.append(f"[{question.id}: {hint}{blank}] > ")
    return "\n".join(lines)


def ask_all(policy: Policy, ask: Ask) -> dict[str, Any]:
    """Ask every question (re-asking after a bad answer); returns the answers given."""
    answers: dict[str, Any] = {}
    for question in policy.intake.questions:
        while True:
            try:
                value = _parse(question, ask(_prompt_text(question)))
            except BadInput as exc:
                sys.stderr.write(f"  {exc}\n")
                continue
            if value is None and question.required:
                sys.stderr.write("  this question needs an answer\n")
                continue
            break
        if value is not None and value != []:
            answers[question.id] = value
    return answers


def summary(policy: Policy, answers: dict[str, Any]) -> dict[str, Any]:
    """What intake makes of the answers: tier, rule, reason, flags and controls."""
    result = assess_intake(policy, answers)
    return {
        "tier": result.tier,
        "refused": result.refused,
        "rule": result.rule_id,
        "reason": result.reason,
        "flags": result.flag_reasons,
        "controls": result.controls,
        "answers": answers,
    }
