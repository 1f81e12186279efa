"""Intake: check a system's answers against the pack's questions and assign its tier."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from charter.domain.errors import BadInput
from charter.domain.policy.cel import CelEvaluationError, cel_evaluate_bool
from charter.domain.policy.model import Policy, Question


@dataclass(frozen=True)
class IntakeAssessment:
    """The tier intake assigns, why, and what it requires."""

    tier: str
    #: The rule that matched; None when the default tier applies.
    rule_id: str | None
    reason: str
    refused: bool
    #: Ids of the controls the tier requires (in any environment).
    controls: list[str]
    #: The answers as the rules saw them: every question, unanswered ones defaulted.
    answers: dict[str, Any] = field(default_factory=dict)
    eu_ai_act: str = ""
    #: Intake flags set (every flag whose ``when`` is true), in pack order.
    flags: list[str] = field(default_factory=list)
    #: Why each flag is set: flag id -> the flag's reason.
    flag_reasons: dict[str, str] = field(default_factory=dict)


def _check_answer(question: Question, value: Any) -> Any:
    where = f"answers.{question.id}"
    if question.type == "bool":
        if not isinstance(value, bool):
            raise BadInput(f"expected true or false, got {value!r}", location=where)
        return value
    if question.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadInput(f"expected a number, got {value!r}", location=where)
        if not math.isfinite(value):
            raise BadInput(f"expected a finite number, got {value!r}", location=where)
        return float(value)
    if question.type in ("string", "enum"):
        if not isinstance(value, str):
            raise BadInput(f"expected text, got {value!r}", location=where)
        if question.options is not None and value not in question.options:
            raise BadInput(
                f"{value!r} is not an option; options: {', '.join(question.options)}",
                location=where,
            )
        return value
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise BadInput(f"expected a list, got {value!r}", location=where)
    items = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise BadInput(f"expected text, got {item!r}", location=f"{where}[{index}]")
        if question.options is not None and item not in question.options:
            raise BadInput(
                f"{item!r} is not an option; options: {', '.join(question.options)}",
                location=f"{where}[{index}]",
            )
        items.append(item)
    return items


def _unanswered(question: Question) -> Any:
    if question.type == "bool":
        return False
    if question.type == "list":
        return []
    return None


def normalize_answers(policy: Policy, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Check answers against the questions and fill in unanswered ones.

    Unknown questions, wrong types, options not offered and missing required answers
    raise BadInput at ``answers.<id>``. A null answer counts as unanswered. Defaults:
    bool -> false, list -> [], enum/string/number -> null. Numbers become CEL doubles.
    """
    known = {q.id: q for q in policy.intake.questions}
    for key in answers:
        if key not in known:
            raise BadInput(
                f"unknown intake question; questions: {', '.join(known)}", location=f"answers.{key}"
            )
    result: dict[str, Any] = {}
    for question in policy.intake.questions:
        value = answers.get(question.id)
        if value is None:
            if question.required:
                raise BadInput(
                    f"required question is not answered: {question.text}",
                    location=f"answers.{question.id}",
                )
            result[question.id] = _unanswered(question)
        else:
            result[question.id] = _check_answer(question, value)
    return result


def _evaluate(expression: str, activation: Mapping[str, Any], what: str, where: str) -> bool:
    try:
        return cel_evaluate_bool(expression, activation)
    except CelEvaluationError as exc:
        raise BadInput(f"intake {what} failed: {exc}", location=where) from None


def assess_intake(policy: Policy, answers: Mapping[str, Any]) -> IntakeAssessment:
    """Tier a system from its intake answers: the first rule whose ``when`` is true wins.

    Every flag is evaluated too (a refused tier sets none); ``controls`` are the
    controls of the tier that apply given those flags.
    """
    activation = normalize_answers(policy, answers)
    tier_id, rule_id = policy.intake.default_tier, None
    reason = f"no intake rule matched: default tier {tier_id}"
    for index, rule in enumerate(policy.intake.rules):
        where = f"intake.rules[{index}].when"
        if _evaluate(rule.when, activation, f"rule {rule.id!r}", where):
            tier_id, rule_id, reason = rule.tier, rule.id, rule.reason
            break
    tier = policy.tier(tier_id)
    assert tier is not None  # checked when the pack was loaded
    flags: dict[str, str] = {}
    for index, flag in enumerate(() if tier.refused else policy.intake.flags):
        where = f"intake.flags[{index}].when"
        if _evaluate(flag.when, activation, f"flag {flag.id!r}", where):
            flags[flag.id] = flag.reason
    return IntakeAssessment(
        tier=tier.id,
        rule_id=rule_id,
        reason=reason,
        refused=tier.refused,
        controls=[c.id for c in policy.controls_for(tier.id, flags=list(flags))],
        answers=activation,
        eu_ai_act=tier.eu_ai_act,
        flags=list(flags),
        flag_reasons=flags,
    )
