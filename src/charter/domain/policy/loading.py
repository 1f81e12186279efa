"""Loading and validating a policy pack as a whole.

``load_policy`` accepts a pack only as a whole: the first problem (and up to three more)
is reported with its exact location, e.g. ``default.yaml: intake.rules[2].when``, and
nothing of an invalid pack is used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from charter.domain.controls import KINDS
from charter.domain.errors import BadInput
from charter.domain.policy.cel import (
    CelSyntaxError,
    cel_functions,
    cel_references,
    cel_reserved,
)
from charter.domain.policy.model import FORBIDDEN_APPROVER_ROLES, Control, Policy
from charter.domain.policy.references import reference_problems
from charter.domain.policy.risk import risk_problems
from charter.domain.roles import Role
from charter.domain.runbooks import runbook_problems
from charter.domain.text import load_yaml_document


def _where(loc: Iterable[Any]) -> str:
    """Render a pydantic location as ``controls[3].params.suite``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _problems_from(exc: ValidationError, prefix: Sequence[Any] = ()) -> list[tuple[str, str]]:
    # Unknown fields first: a misspelt field also makes its real name "missing".
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    return [(_where([*prefix, *e["loc"]]), _describe(e)) for e in errors]


def _raise(problems: list[tuple[str, str]], source: str) -> None:
    if not problems:
        return
    (loc, message), rest = problems[0], problems[1:4]
    if rest:
        message += " (also: " + "; ".join(f"{where}: {what}" for where, what in rest) + ")"
    raise BadInput(message, location=f"{source}: {loc}" if loc else source)


def _duplicates(kind: str, ids: Sequence[str], base: str) -> list[tuple[str, str]]:
    seen: set[str] = set()
    problems = []
    for index, item in enumerate(ids):
        if item in seen:
            problems.append((f"{base}[{index}].id", f"duplicate {kind} id {item!r}"))
        seen.add(item)
    return problems


def _unknown_tier(tier: str, tiers: Sequence[str]) -> str:
    return f"unknown tier {tier!r}; tiers: {', '.join(tiers)}"


def _check_roles(roles: Iterable[str], base: str) -> list[tuple[str, str]]:
    valid = [r.value for r in Role]
    return [
        (f"{base}[{i}]", f"unknown role {role!r}; roles: {', '.join(valid)}")
        for i, role in enumerate(roles)
        if role not in valid
    ]


def _expression_problems(
    expression: str, where: str, questions: list[str]
) -> list[tuple[str, str]]:
    """A rule's or flag's CEL: it parses, names only questions, calls only known functions."""
    try:
        refs = cel_references(expression)
    except CelSyntaxError as exc:
        return [(where, str(exc))]
    problems = [
        (where, f"unknown question {name!r}; questions: {', '.join(questions)}")
        for name in sorted(refs.identifiers - set(questions))
    ]
    unknown = sorted(refs.functions - cel_functions())
    problems += [(where, f"unknown CEL function {name!r}") for name in unknown]
    return problems


#: For other sections' CEL (risk templates): the same checks as intake rules.
expression_problems = _expression_problems


def _no_approval_power(roles: Iterable[str], base: str) -> list[tuple[str, str]]:
    """Developers, services and auditors may never approve, whatever a pack says."""
    return [
        (
            f"{base}[{i}]",
            f"role {role!r} may not be given approval power (developers, services and "
            "auditors never approve)",
        )
        for i, role in enumerate(roles)
        if role in FORBIDDEN_APPROVER_ROLES
    ]


def _unknown_environment(name: str, policy: Policy) -> str:
    return f"unknown environment {name!r}; environments: {', '.join(policy.environments)}"


def _semantic_problems(
    policy: Policy, *, check_expressions: bool = True
) -> tuple[list[tuple[str, str]], list[Control]]:
    """Cross-reference checks; returns the problems and the controls with typed params.

    ``check_expressions=False`` skips compiling the CEL rules (and the question names
    CEL reserves): for packs that were validated when they were applied.
    """
    problems: list[tuple[str, str]] = []
    tiers = policy.tier_ids
    questions = [q.id for q in policy.intake.questions]
    problems += _duplicates("tier", tiers, "tiers")
    problems += _duplicates("question", questions, "intake.questions")
    problems += _duplicates("rule", [r.id for r in policy.intake.rules], "intake.rules")
    problems += _duplicates("control", [c.id for c in policy.controls], "controls")
    for index, question in enumerate(policy.intake.questions):
        if check_expressions and question.id in cel_reserved():
            problems.append(
                (
                    f"intake.questions[{index}].id",
                    f"{question.id!r} is a CEL keyword or built-in; choose another id",
                )
            )
    for index, rule in enumerate(policy.intake.rules if check_expressions else ()):
        base = f"intake.rules[{index}]"
        problems += _expression_problems(rule.when, f"{base}.when", questions)
        if rule.tier not in tiers:
            problems.append((f"{base}.tier", _unknown_tier(rule.tier, tiers)))
    flags = [f.id for f in policy.intake.flags]
    problems += _duplicates("flag", flags, "intake.flags")
    for index, flag in enumerate(policy.intake.flags if check_expressions else ()):
        problems += _expression_problems(flag.when, f"intake.flags[{index}].when", questions)
    if check_expressions:
        problems += reference_problems(policy)
    if policy.intake.default_tier not in tiers:
        problems.append(("intake.default_tier", _unknown_tier(policy.intake.default_tier, tiers)))
    typed: list[Control] = []
    for index, control in enumerate(policy.controls):
        base = f"controls[{index}]"
        for position, tier in enumerate(control.tiers):
            if tier not in tiers:
                problems.append((f"{base}.tiers[{position}]", _unknown_tier(tier, tiers)))
        for position, flag_id in enumerate(control.when_flags or ()):
            if flag_id not in flags:
                problems.append(
                    (
                        f"{base}.when_flags[{position}]",
                        f"unknown flag {flag_id!r}; flags: {', '.join(flags) or '(none)'}",
                    )
                )
        kind = KINDS.get(control.kind)
        if kind is None:
            problems.append(
                (
                    f"{base}.kind",
                    f"unknown control kind {control.kind!r}; kinds: {', '.join(KINDS)}",
                )
            )
            continue
        try:
            params = kind.params.model_validate(control.params.model_dump())
        except ValidationError as exc:
            problems += _problems_from(exc, ("controls", index, "params"))
            continue
        roles = getattr(params, "roles", None)
        if roles:
            problems += _check_roles(roles, f"{base}.params.roles")
            if control.kind.startswith("approval"):
                problems += _no_approval_power(roles, f"{base}.params.roles")
        for position, name in enumerate(control.environments or ()):
            if name not in policy.environments:
                problems.append(
                    (f"{base}.environments[{position}]", _unknown_environment(name, policy))
                )
        typed.append(control.model_copy(update={"params": params}))
    for tier in policy.exceptions.max_days:
        if tier not in tiers:
            problems.append((f"exceptions.max_days.{tier}", _unknown_tier(tier, tiers)))
    problems += _check_roles(policy.exceptions.approver_roles, "exceptions.approver_roles")
    problems += _no_approval_power(policy.exceptions.approver_roles, "exceptions.approver_roles")
    problems += _check_roles(policy.duties.status_roles, "duties.status_roles")
    problems += _check_roles(policy.duties.intake_roles, "duties.intake_roles")
    for field, listed in (
        ("duties.independent_provisioning_tiers", policy.duties.independent_provisioning_tiers),
        ("duties.service_evidence_tiers", policy.duties.service_evidence_tiers),
        ("duties.external_evidence", list(policy.duties.external_evidence)),
    ):
        for tier in listed or ():
            if tier not in tiers:
                problems.append((field, _unknown_tier(tier, tiers)))
    for index, requirement in enumerate(policy.rollout.requirements):
        base = f"rollout.requirements[{index}]"
        for tier in requirement.tiers:
            if tier not in tiers:
                problems.append((f"{base}.tiers", _unknown_tier(tier, tiers)))
        for position, name in enumerate(requirement.environments or ()):
            if name not in policy.environments:
                problems.append(
                    (f"{base}.environments[{position}]", _unknown_environment(name, policy))
                )
    problems += _duplicates("environment", policy.environments, "environments")
    problems += runbook_problems(policy.runbooks)
    problems += risk_problems(policy, check_expressions=check_expressions)
    return problems, typed


def parse_policy(raw: Any, source: str = "policy", *, check_expressions: bool = True) -> Policy:
    """Validate a parsed pack (a mapping) as a whole; BadInput names the first problem's place.

    ``check_expressions=False`` trusts the CEL rules (a stored pack, checked when applied).
    """
    if not isinstance(raw, dict):
        raise BadInput("a policy pack must be a mapping", location=source)
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        _raise(_problems_from(exc), source)
        raise  # pragma: no cover - _raise always raises for a non-empty list
    problems, typed = _semantic_problems(policy, check_expressions=check_expressions)
    _raise(problems, source)
    return policy.model_copy(update={"controls": typed})


def load_policy(
    data: bytes, source: str = "policy.yaml", *, check_expressions: bool = True
) -> Policy:
    """Parse and validate a YAML (or JSON) policy pack."""
    return parse_policy(
        load_yaml_document(data, source), source, check_expressions=check_expressions
    )
