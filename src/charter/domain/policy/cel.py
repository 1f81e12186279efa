"""CEL, as intake rules use it: compile (cached), find the names a rule uses, evaluate.

cel-python is kept behind these few typed functions. It (and lark, which builds its
grammar tables when first used, ~0.3 s) loads only when an expression is compiled or
evaluated: reading a stored, already validated pack for a gate or a status never needs it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import celpy
    import lark

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
def cel_functions() -> frozenset[str]:
    """Functions and methods a rule may call: cel-python's standard library plus macros."""
    import celpy.evaluation

    return (
        frozenset(n for n in celpy.evaluation.base_functions if n.isidentifier() and n[0] != "_")
        | _CEL_MACROS
        | {"has"}
    )


@functools.cache
def cel_reserved() -> frozenset[str]:
    """Names a question may not take: keywords, reserved words, built-ins."""
    return (
        frozenset({"true", "false", "null", "in", "dyn", "as", "break", "const", "continue"})
        | {"else", "for", "function", "if", "import", "let", "loop", "package", "namespace"}
        | {"return", "var", "void", "while"}
        | cel_functions()
        | _CEL_TYPE_NAMES
    )


class CelSyntaxError(Exception):
    """A rule's expression does not parse."""


class CelEvaluationError(Exception):
    """A rule's expression failed on the given answers (a type error, a bad call...)."""


@dataclass(frozen=True)
class CelReferences:
    """The free identifiers and the functions an expression uses."""

    identifiers: frozenset[str]
    functions: frozenset[str]


@functools.cache
def _cel_environment() -> celpy.Environment:
    import celpy

    # Built once: it loads the grammar (and raises the recursion limit to 2500).
    return celpy.Environment()


@functools.lru_cache(maxsize=1024)
def cel_compile(expression: str) -> lark.Tree[Any]:
    import celpy.celparser

    try:
        tree: lark.Tree[Any] = _cel_environment().compile(expression)
    except celpy.celparser.CELParseError as exc:
        context = str(exc.args[0]) if exc.args else ""
        line_text = context.splitlines()[0].strip() if context.strip() else expression
        raise CelSyntaxError(
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


def cel_references(expression: str) -> CelReferences:
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

    walk(cel_compile(expression), frozenset())
    return CelReferences(frozenset(identifiers - _CEL_TYPE_NAMES), frozenset(functions))


def _cel_type_name(match: re.Match[str]) -> str:
    name = match.group(1)
    return "null" if name == "None" else name.lower()


def _cel_error_text(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    text = text.split(" (in activation")[0]
    text = re.sub(r"<class '(?:celpy\.celtypes\.)?(\w+?)(?:Type)?'>", _cel_type_name, text)
    text = re.sub(r"Token\('RULE', '(\w+)'\)", lambda m: repr(_CEL_OPERATORS.get(m[1], m[1])), text)
    return text[:300]


def cel_evaluate_bool(expression: str, activation: Mapping[str, Any]) -> bool:
    import celpy.adapter
    import celpy.celtypes

    program = _cel_environment().program(cel_compile(expression))
    try:
        value = program.evaluate(cast(Any, celpy.adapter.json_to_cel(dict(activation))))
    except Exception as exc:  # the interpreter's errors vary; all mean "this rule failed"
        raise CelEvaluationError(_cel_error_text(exc)) from None
    if isinstance(value, celpy.celtypes.BoolType):
        return bool(value)
    if isinstance(value, BaseException):
        raise CelEvaluationError(_cel_error_text(value))
    shown = "null" if value is None else type(value).__name__.removesuffix("Type").lower()
    raise CelEvaluationError(f"the expression gave a {shown}, not true or false")
