"""Policy packs: the model, loading and validation, and intake tiering.

A pack (``apiVersion: charter.policy/v1``) holds the intake questions and the CEL rules
that assign a risk tier, the tiers (most severe first), the controls each tier requires
and the limits on exceptions. ``load_policy`` accepts a pack only as a whole: the first
problem (and up to three more) is reported with its exact location, e.g.
``default.yaml: intake.rules[2].when``, and nothing of an invalid pack is used.

The format, the control kinds and the default pack are documented in ``docs/policy.md``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import models_json_schema

if TYPE_CHECKING:
    import celpy
    import lark

from charter.domain.canonical import content_digest
from charter.domain.controls import KINDS, ApprovalQuorumParams, ControlParams
from charter.domain.decisions import DEFAULT_QUORUM
from charter.domain.errors import BadInput
from charter.domain.roles import Role
from charter.domain.text import SLUG_PATTERN, load_yaml_document

API_VERSION = "charter.policy/v1"
QUESTION_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
#: Approvers when a tier has no ``approval_quorum`` control.
DEFAULT_APPROVER_ROLES: tuple[str, ...] = (Role.APPROVER.value,)

QuestionType = Literal["enum", "bool", "string", "number", "list"]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
QuestionId = Annotated[str, Field(pattern=QUESTION_ID_PATTERN, max_length=64)]
FrameworkKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Option = Annotated[str, Field(min_length=1, max_length=200)]
Clause = Annotated[str, Field(min_length=1, max_length=200)]
ComponentKind = Literal["model", "prompt", "retrieval", "tool", "vendor_model", "dataset"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Strict):
    """One intake question; its ``id`` is the name CEL rules use for the answer."""

    id: QuestionId
    text: str = Field(min_length=1, max_length=2000)
    type: QuestionType
    options: list[Option] | None = Field(default=None, min_length=1, max_length=200)
    required: bool = False
    help: str = Field(default="", max_length=5000)

    @model_validator(mode="after")
    def _check_options(self) -> Question:
        if self.type == "enum" and not self.options:
            raise ValueError("an enum question needs `options`")
        if self.type in ("bool", "string", "number") and self.options is not None:
            raise ValueError(f"a {self.type} question takes no `options`")
        if self.options and len(set(self.options)) != len(self.options):
            raise ValueError("an option is listed twice")
        return self


class Rule(_Strict):
    """An intake rule: when the CEL expression is true, the system gets ``tier``."""

    id: Slug
    when: str = Field(min_length=1, max_length=4000)
    tier: Slug
    reason: str = Field(min_length=1, max_length=2000)


class Intake(_Strict):
    """Questions, rules (first match wins) and the tier when no rule matches."""

    questions: list[Question] = Field(min_length=1, max_length=200)
    rules: list[Rule] = Field(default_factory=list, max_length=500)
    default_tier: Slug


class Tier(_Strict):
    """A risk tier. ``refused`` tiers make intake refuse the registration."""

    id: Slug
    refused: bool = False
    description: str = Field(default="", max_length=5000)
    eu_ai_act: str = Field(default="", max_length=500)


class Control(_Strict):
    """A required control: what it checks (``kind`` + ``params``), for which tiers and where.

    ``params`` is the kind's own parameter model once the pack is loaded (see
    ``charter.domain.controls``), so ``control.params.notice_days`` reads naturally.
    """

    id: Slug
    description: str = Field(min_length=1, max_length=2000)
    kind: str = Field(min_length=1, max_length=64)
    tiers: list[Slug] = Field(min_length=1, max_length=20)
    environments: list[Slug] | None = Field(default=None, min_length=1, max_length=50)
    params: SerializeAsAny[ControlParams] = Field(default_factory=ControlParams)
    waivable: bool = False
    when_components: list[ComponentKind] | None = Field(default=None, min_length=1)
    maps_to: dict[FrameworkKey, list[Clause]] = Field(default_factory=dict)

    def applies_to(self, tier: str, environment: str | None) -> bool:
        """Whether the control applies to ``tier`` in ``environment`` (None: any)."""
        if tier not in self.tiers:
            return False
        return environment is None or self.environments is None or environment in self.environments


class ExceptionLimits(_Strict):
    """How long an exception may last per tier, and who may approve one."""

    max_days: dict[Slug, Annotated[int, Field(ge=1, le=3650)]] = Field(default_factory=dict)
    approver_roles: list[str] = Field(
        default_factory=lambda: list(DEFAULT_APPROVER_ROLES), min_length=1
    )


class Policy(_Strict):
    """A validated policy pack. Build one with :func:`load_policy` or :func:`parse_policy`."""

    api_version: Literal["charter.policy/v1"] = Field(alias="apiVersion")
    name: Slug
    description: str = Field(default="", max_length=10_000)
    intake: Intake
    tiers: list[Tier] = Field(min_length=1, max_length=20)
    controls: list[Control] = Field(default_factory=list, max_length=1000)
    exceptions: ExceptionLimits = Field(default_factory=ExceptionLimits)

    # -- lookups -------------------------------------------------------------------------

    def tier(self, tier_id: str) -> Tier | None:
        """The tier called ``tier_id``, or None."""
        return next((t for t in self.tiers if t.id == tier_id), None)

    @property
    def tier_ids(self) -> list[str]:
        """Tier ids from most to least severe."""
        return [t.id for t in self.tiers]

    def question(self, question_id: str) -> Question | None:
        """The intake question called ``question_id``, or None."""
        return next((q for q in self.intake.questions if q.id == question_id), None)

    def control(self, control_id: str) -> Control | None:
        """The control called ``control_id``, or None."""
        return next((c for c in self.controls if c.id == control_id), None)

    def controls_for(self, tier: str, environment: str | None = None) -> list[Control]:
        """Controls required for ``tier`` in ``environment`` (None: in any environment)."""
        return [c for c in self.controls if c.applies_to(tier, environment)]

    def max_exception_days(self, tier: str) -> int | None:
        """Longest exception allowed for ``tier``; None when the tier allows no exceptions."""
        return self.exceptions.max_days.get(tier)

    @property
    def exception_approver_roles(self) -> tuple[str, ...]:
        """Roles that may approve an exception."""
        return tuple(self.exceptions.approver_roles)

    def _quorum_params(self, tier: str, environment: str | None) -> list[ApprovalQuorumParams]:
        return [
            c.params
            for c in self.controls_for(tier, environment)
            if isinstance(c.params, ApprovalQuorumParams)
        ]

    def quorum_for(self, tier: str, environment: str | None = None) -> int:
        """Approvals needed: the largest ``approval_quorum`` that applies, else 1."""
        quorums = [p.quorum for p in self._quorum_params(tier, environment)]
        return max(quorums, default=DEFAULT_QUORUM)

    def approver_roles_for(self, tier: str, environment: str | None = None) -> tuple[str, ...]:
        """Roles whose approvals count: from the applicable ``approval_quorum`` controls."""
        roles: list[str] = []
        for params in self._quorum_params(tier, environment):
            roles.extend(r for r in params.roles if r not in roles)
        return tuple(roles) or DEFAULT_APPROVER_ROLES

    # -- identity and comparison ---------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The normalised pack (defaults filled in, params per kind) as JSON-able data."""
        return self.model_dump(mode="json", by_alias=True)

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict`: comments and layout don't count."""
        return content_digest(self.to_dict())

    @property
    def content_digest(self) -> str:
        """Alias of :attr:`digest`."""
        return self.digest

    def diff(self, other: Policy) -> list[str]:
        """Human-readable changes from this pack to ``other`` (``charter policy diff``)."""
        old, new = self.to_dict(), other.to_dict()
        changes: list[str] = []
        for key in ("name", "description"):
            if old[key] != new[key]:
                changes.append(f"{key} changed: {_show(old[key])} -> {_show(new[key])}")
        changes += _diff_items("question", old["intake"]["questions"], new["intake"]["questions"])
        changes += _diff_items("rule", old["intake"]["rules"], new["intake"]["rules"], True)
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


# -- CEL --------------------------------------------------------------------------------------
# cel-python is kept behind these few typed functions: compile (cached), inspect the parse
# tree for the names a rule uses, and evaluate to a boolean.

#: Methods whose first argument is a variable bound in the remaining ones (CEL macros).
_CEL_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
#: Type names are identifiers in CEL (``type(x) == string``), never questions.
_CEL_TYPE_NAMES = frozenset(
    {"bool", "bytes", "double", "duration", "int", "list", "map", "null_type", "string"}
    | {"timestamp", "type", "uint"}
)


_CEL_OPERATORS = {
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_in": "in",
    "addition_add": "+",
    "addition_sub": "-",
    "multiplication_mul": "*",
    "multiplication_div": "/",
    "multiplication_mod": "%",
}


# cel-python (and lark, which builds its grammar tables when first used, ~0.3 s) loads
# only when an expression is compiled or evaluated: reading a stored, already validated
# pack for a gate or a status never needs it.
@functools.cache
def _cel_functions() -> frozenset[str]:
    """Functions and methods a rule may call: cel-python's standard library plus macros."""
    import celpy.evaluation

    return (
        frozenset(n for n in celpy.evaluation.base_functions if n.isidentifier() and n[0] != "_")
        | _CEL_MACROS
        | {"has"}
    )


@functools.cache
def _cel_reserved() -> frozenset[str]:
    """Names a question may not take: keywords, reserved words, built-ins."""
    return (
        frozenset({"true", "false", "null", "in", "dyn", "as", "break", "const", "continue"})
        | {"else", "for", "function", "if", "import", "let", "loop", "package", "namespace"}
        | {"return", "var", "void", "while"}
        | _cel_functions()
        | _CEL_TYPE_NAMES
    )


class _CelSyntaxError(Exception):
    """A rule's expression does not parse."""


class _CelEvaluationError(Exception):
    """A rule's expression failed on the given answers (a type error, a bad call...)."""


@dataclass(frozen=True)
class _CelReferences:
    """The free identifiers and the functions an expression uses."""

    identifiers: frozenset[str]
    functions: frozenset[str]


@functools.cache
def _cel_environment() -> celpy.Environment:
    import celpy

    # Built once: it loads the grammar (and raises the recursion limit to 2500).
    return celpy.Environment()


@functools.lru_cache(maxsize=1024)
def _cel_compile(expression: str) -> lark.Tree[Any]:
    import celpy.celparser

    try:
        tree: lark.Tree[Any] = _cel_environment().compile(expression)
    except celpy.celparser.CELParseError as exc:
        context = str(exc.args[0]) if exc.args else ""
        line_text = context.splitlines()[0].strip() if context.strip() else expression
        raise _CelSyntaxError(
            f"CEL syntax error at line {exc.line or '?'}, column {exc.column or '?'} "
            f"in {line_text!r}"
        ) from None
    return tree


def _bare_identifier(node: Any) -> str | None:
    """The name when ``node`` is nothing but an identifier (a macro's variable)."""
    import lark

    while isinstance(node, lark.Tree):
        if node.data == "ident":
            return str(node.children[0])
        if len(node.children) != 1:
            return None
        node = node.children[0]
    return None


def _cel_references(expression: str) -> _CelReferences:
    """Walk the parse tree: free identifiers (questions) and called functions."""
    import lark

    identifiers: set[str] = set()
    functions: set[str] = set()

    def walk(node: Any, bound: frozenset[str]) -> None:
        if not isinstance(node, lark.Tree):
            return
        kind, children = str(node.data), node.children
        if kind == "ident":
            if str(children[0]) not in bound:
                identifiers.add(str(children[0]))
        elif kind == "dot_ident":  # `.name`: the root scope, never a macro variable
            identifiers.add(str(children[0]))
        elif kind in ("ident_arg", "dot_ident_arg"):
            functions.add(str(children[0]))
            for child in children[1:]:
                walk(child, bound)
        elif kind == "member_dot_arg":
            method = str(children[1])
            walk(children[0], bound)
            args = list(children[2].children) if len(children) > 2 else []
            variable = _bare_identifier(args[0]) if method in _CEL_MACROS and args else None
            functions.add(method)
            if variable is not None and len(args) > 1:
                for arg in args[1:]:
                    walk(arg, bound | {variable})
            else:
                for arg in args:
                    walk(arg, bound)
        else:
            for child in children:
                walk(child, bound)

    walk(_cel_compile(expression), frozenset())
    return _CelReferences(frozenset(identifiers - _CEL_TYPE_NAMES), frozenset(functions))


def _cel_type_name(match: re.Match[str]) -> str:
    name = match.group(1)
    return "null" if name == "None" else name.lower()


def _cel_error_text(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    text = text.split(" (in activation")[0]
    text = re.sub(r"<class '(?:celpy\.celtypes\.)?(\w+?)(?:Type)?'>", _cel_type_name, text)
    text = re.sub(r"Token\('RULE', '(\w+)'\)", lambda m: repr(_CEL_OPERATORS.get(m[1], m[1])), text)
    return text[:300]


def _cel_evaluate_bool(expression: str, activation: Mapping[str, Any]) -> bool:
    import celpy.adapter
    import celpy.celtypes

    program = _cel_environment().program(_cel_compile(expression))
    try:
        value = program.evaluate(cast(Any, celpy.adapter.json_to_cel(dict(activation))))
    except Exception as exc:  # the interpreter's errors vary; all mean "this rule failed"
        raise _CelEvaluationError(_cel_error_text(exc)) from None
    if isinstance(value, celpy.celtypes.BoolType):
        return bool(value)
    if isinstance(value, BaseException):
        raise _CelEvaluationError(_cel_error_text(value))
    shown = "null" if value is None else type(value).__name__.removesuffix("Type").lower()
    raise _CelEvaluationError(f"the expression gave a {shown}, not true or false")


# -- loading and validation ------------------------------------------------------------------


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
        if check_expressions and question.id in _cel_reserved():
            problems.append(
                (
                    f"intake.questions[{index}].id",
                    f"{question.id!r} is a CEL keyword or built-in; choose another id",
                )
            )
    for index, rule in enumerate(policy.intake.rules if check_expressions else ()):
        base = f"intake.rules[{index}]"
        try:
            refs = _cel_references(rule.when)
        except _CelSyntaxError as exc:
            problems.append((f"{base}.when", str(exc)))
        else:
            for name in sorted(refs.identifiers - set(questions)):
                problems.append(
                    (
                        f"{base}.when",
                        f"unknown question {name!r}; questions: {', '.join(questions)}",
                    )
                )
            for name in sorted(refs.functions - _cel_functions()):
                problems.append((f"{base}.when", f"unknown CEL function {name!r}"))
        if rule.tier not in tiers:
            problems.append((f"{base}.tier", _unknown_tier(rule.tier, tiers)))
    if policy.intake.default_tier not in tiers:
        problems.append(("intake.default_tier", _unknown_tier(policy.intake.default_tier, tiers)))
    typed: list[Control] = []
    for index, control in enumerate(policy.controls):
        base = f"controls[{index}]"
        for position, tier in enumerate(control.tiers):
            if tier not in tiers:
                problems.append((f"{base}.tiers[{position}]", _unknown_tier(tier, tiers)))
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
        typed.append(control.model_copy(update={"params": params}))
    for tier in policy.exceptions.max_days:
        if tier not in tiers:
            problems.append((f"exceptions.max_days.{tier}", _unknown_tier(tier, tiers)))
    problems += _check_roles(policy.exceptions.approver_roles, "exceptions.approver_roles")
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


# -- JSON Schema -----------------------------------------------------------------------------


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


# -- intake ----------------------------------------------------------------------------------


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


def assess_intake(policy: Policy, answers: Mapping[str, Any]) -> IntakeAssessment:
    """Tier a system from its intake answers: the first rule whose ``when`` is true wins."""
    activation = normalize_answers(policy, answers)
    tier_id, rule_id = policy.intake.default_tier, None
    reason = f"no intake rule matched: default tier {tier_id}"
    for index, rule in enumerate(policy.intake.rules):
        where = f"intake.rules[{index}].when"
        try:
            matched = _cel_evaluate_bool(rule.when, activation)
        except _CelEvaluationError as exc:
            raise BadInput(f"intake rule {rule.id!r} failed: {exc}", location=where) from None
        if matched:
            tier_id, rule_id, reason = rule.tier, rule.id, rule.reason
            break
    tier = policy.tier(tier_id)
    assert tier is not None  # checked when the pack was loaded
    return IntakeAssessment(
        tier=tier.id,
        rule_id=rule_id,
        reason=reason,
        refused=tier.refused,
        controls=[c.id for c in policy.controls_for(tier.id)],
        answers=activation,
        eu_ai_act=tier.eu_ai_act,
    )
