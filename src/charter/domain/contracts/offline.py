"""Offline contract bounds: metric thresholds that evaluation evidence must meet.

A bound is a string::

    roc_auc >= 0.75
    recall[sex=female] >= 0.6
    recall[sex] >= 0.6                      # every scored group of sex
    demographic_parity_ratio[sex] >= 0.8
    ci_lower(roc_auc) >= 0.75               # the interval's lower end must clear it
    ci(log_loss) <= 0.5                     # the conservative end: upper for <=, lower for >=
    precision[sex=female, age_band="[25, 35)"] >= 0.5   # quote values with , [ ] or quotes

or a mapping::

    {metric: roc_auc, op: ">=", value: 0.75, use: ci_lower}
    {metric: recall, cohort: {sex: female}, op: ">=", value: 0.6, suite: classification}
    {metric: demographic_parity_ratio, cohort: [sex, age_band], op: ">=", value: 0.8}

``use`` is ``estimate`` (default), ``ci_lower``, ``ci_upper`` or ``ci``. Errors name the
location and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from charter.domain.contracts import explanations
from charter.domain.contracts.metrics import METRIC_ALIASES, Catalogue, MetricLevel
from charter.domain.errors import BadInput

Operator = Literal[">=", "<=", ">", "<"]
Use = Literal["estimate", "ci_lower", "ci_upper", "ci"]
Status = Literal["pass", "fail", "undefined", "skipped"]

OPERATORS: tuple[Operator, ...] = (">=", "<=", ">", "<")
USES: tuple[Use, ...] = ("estimate", "ci_lower", "ci_upper", "ci")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


@dataclass(frozen=True)
class Bound:
    """One parsed bound.

    ``dimension`` names cohort columns (``[sex]``: every scored group, or the dimension's
    own metric); ``group`` pins one group (``[sex=female]``); both None means overall.
    ``suites`` lists the suites that measure the metric (or the one pinned by ``suite``).
    """

    metric: str
    op: Operator
    threshold: float
    use: Use
    dimension: tuple[str, ...] | None
    group: Mapping[str, str] | None
    #: Suites that measure the metric, from the catalogue it was parsed with (else empty).
    suites: tuple[str, ...]
    #: ``group``, ``dimension`` or ``dataset`` from the catalogue; None when parsed without one.
    level: MetricLevel | None
    location: str
    #: The suite the bound was pinned to (``suite:`` in the mapping form), if any.
    suite: str | None = None
    #: The old metric name the bound was written with, when it used an alias.
    written_as: str | None = None
    #: Settings of a bound that reads more than a value (the explanation bounds of
    #: :mod:`.explanations`), as sorted ``(name, value)`` pairs; None for metric bounds.
    params: tuple[tuple[str, Any], ...] | None = None

    @property
    def text(self) -> str:
        """The canonical string form of the bound."""
        if self.params is not None:
            return explanations.rule_text(dict(self.params), self.threshold)
        selector = ""
        if self.group is not None:
            selector = "[" + ", ".join(f"{k}={_quote(v)}" for k, v in self.group.items()) + "]"
        elif self.dimension is not None:
            selector = "[" + ", ".join(self.dimension) + "]"
        target = f"{self.metric}{selector}"
        if self.use != "estimate":
            target = f"{self.use}({target})"
        return f"{target} {self.op} {self.threshold:g}"

    @property
    def written(self) -> str | dict[str, Any]:
        """The bound as a contract writes it: its text, or the mapping of a rule bound."""
        if self.params is not None:
            return explanations.rule_mapping(dict(self.params), self.threshold)
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able mapping form of the bound."""
        return {
            "metric": self.metric,
            "op": self.op,
            "value": self.threshold,
            "use": self.use,
            "cohort": (
                dict(self.group)
                if self.group is not None
                else list(self.dimension)
                if self.dimension is not None
                else None
            ),
            "suites": list(self.suites),
            "location": self.location,
            "text": self.text,
        }


def compare(observed: float, op: Operator, threshold: float) -> bool:
    """Whether ``observed op threshold`` holds."""
    if op == ">=":
        return observed >= threshold
    if op == "<=":
        return observed <= threshold
    if op == ">":
        return observed > threshold
    return observed < threshold


def _quote(value: str) -> str:
    if _NAME.fullmatch(value) or _NUMBER.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Scanner:
    """A cursor over a bound string that reports errors with the column."""

    def __init__(self, text: str, location: str) -> None:
        self.text = text
        self.pos = 0
        self.location = location

    def fail(self, message: str) -> BadInput:
        return BadInput(
            f"{message} at column {self.pos + 1} of {self.text!r}", location=self.location
        )

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.pos += 1

    def name(self, what: str) -> str:
        self.skip_space()
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self.fail(f"expected {what}")
        self.pos = match.end()
        return match.group()

    def value(self) -> str:
        char = self.peek()
        if char in ("'", '"'):
            self.pos += 1
            out = []
            while self.pos < len(self.text) and self.text[self.pos] != char:
                if self.text[self.pos] == "\\" and self.pos + 1 < len(self.text):
                    self.pos += 1
                out.append(self.text[self.pos])
                self.pos += 1
            if self.pos >= len(self.text):
                raise self.fail("unterminated quoted value")
            self.pos += 1
            return "".join(out)
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",]":
            self.pos += 1
        raw = self.text[start : self.pos].strip()
        if not raw:
            raise self.fail("expected a cohort value")
        return raw

    def operator(self) -> Operator:
        self.skip_space()
        for op in OPERATORS:  # two-character operators first
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        raise self.fail("expected an operator (>=, <=, >, <)")

    def number(self) -> float:
        self.skip_space()
        match = _NUMBER.match(self.text, self.pos)
        if not match:
            raise self.fail("expected a number")
        self.pos = match.end()
        return float(match.group())


def _selector(scanner: _Scanner) -> tuple[tuple[str, ...] | None, dict[str, str] | None]:
    if scanner.peek() != "[":
        return None, None
    scanner.pos += 1
    columns: list[str] = []
    values: list[str | None] = []
    while True:
        columns.append(scanner.name("a cohort column"))
        if scanner.peek() == "=":
            scanner.pos += 1
            values.append(scanner.value())
        else:
            values.append(None)
        if scanner.peek() == ",":
            scanner.pos += 1
            continue
        scanner.expect("]")
        break
    if len(set(columns)) != len(columns):
        raise scanner.fail("a cohort column is repeated")
    if all(v is None for v in values):
        return tuple(columns), None
    if any(v is None for v in values):
        raise scanner.fail("give a value for every cohort column (col=value) or for none")
    return None, {c: str(v) for c, v in zip(columns, values, strict=True)}


def _parse_string(text: str, location: str) -> dict[str, Any]:
    scanner = _Scanner(text, location)
    first = scanner.name("a metric name")
    use: str = "estimate"
    if scanner.peek() == "(":
        if first not in USES:
            raise scanner.fail(f"unknown function {first!r} (use one of {', '.join(USES)})")
        use = first
        scanner.pos += 1
        metric = scanner.name("a metric name")
        dimension, group = _selector(scanner)
        scanner.expect(")")
    else:
        metric = first
        dimension, group = _selector(scanner)
    op = scanner.operator()
    threshold = scanner.number()
    if scanner.peek():
        raise scanner.fail("unexpected text after the bound")
    return {
        "metric": metric,
        "op": op,
        "value": threshold,
        "use": use,
        "dimension": dimension,
        "group": group,
        "suite": None,
    }


_MAPPING_KEYS = {"metric", "op", "value", "use", "cohort", "suite"}


def _parse_mapping(raw: Mapping[str, Any], location: str) -> dict[str, Any]:
    unknown = sorted(set(map(str, raw)) - _MAPPING_KEYS)
    if unknown:
        raise BadInput(
            f"unknown key(s) {', '.join(unknown)}; a bound has {', '.join(sorted(_MAPPING_KEYS))}",
            location=location,
        )
    for key in ("metric", "op", "value"):
        if key not in raw:
            raise BadInput(f"a bound needs {key!r}", location=location)
    metric, op, value = raw["metric"], raw["op"], raw["value"]
    if not isinstance(metric, str) or not _NAME.fullmatch(metric):
        raise BadInput(
            f"metric must be a metric name, got {metric!r}", location=f"{location}.metric"
        )
    if op not in OPERATORS:
        raise BadInput(
            f"op must be one of {', '.join(OPERATORS)}, got {op!r}", location=f"{location}.op"
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadInput(
            f"value must be a finite number, got {value!r}", location=f"{location}.value"
        )
    use = raw.get("use", "estimate")
    if use not in USES:
        raise BadInput(
            f"use must be one of {', '.join(USES)}, got {use!r}", location=f"{location}.use"
        )
    cohort = raw.get("cohort")
    dimension: tuple[str, ...] | None = None
    group: dict[str, str] | None = None
    if isinstance(cohort, str):
        dimension = (cohort,)
    elif isinstance(cohort, Mapping):
        group = {str(k): _text(v) for k, v in cohort.items()}
    elif isinstance(cohort, Sequence) and all(isinstance(c, str) for c in cohort):
        dimension = tuple(cohort)
    elif cohort is not None:
        raise BadInput(
            "cohort must be a column, a list of columns or a mapping column: value",
            location=f"{location}.cohort",
        )
    suite = raw.get("suite")
    if suite is not None and not isinstance(suite, str):
        raise BadInput("suite must be a suite name", location=f"{location}.suite")
    return {
        "metric": metric,
        "op": op,
        "value": float(value),
        "use": use,
        "dimension": dimension or None,
        "group": group or None,
        "suite": suite,
    }


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_bound(
    raw: Any, *, location: str = "contract[0]", catalogue: Catalogue | None = None
) -> Bound:
    """Parse one bound (string or mapping form).

    With a ``catalogue`` the metric is checked against it (unknown names, cohorts on a
    whole-data metric, a group on a per-dimension metric) and the bound records its level
    and the suites that measure it. Without one only the syntax is checked: the gate reads
    contracts that were validated when the release was created.
    """
    if explanations.is_rule(raw):
        rule = explanations.parse_rule(raw, location)
        return Bound(
            metric=rule["metric"],
            op=rule["op"],
            threshold=rule["value"],
            use="estimate",
            dimension=None,
            group=None,
            suites=(explanations.SUITE,),
            level="dataset",
            location=location,
            suite=explanations.SUITE,
            params=rule["params"],
        )
    if isinstance(raw, str):
        fields = _parse_string(raw, location)
    elif isinstance(raw, Mapping):
        fields = _parse_mapping(raw, location)
    else:
        raise BadInput(
            f"a bound is a string or a mapping, got {type(raw).__name__}", location=location
        )
    metric = METRIC_ALIASES.get(fields["metric"], fields["metric"])
    suites: tuple[str, ...] = ()
    level: MetricLevel | None = None
    if catalogue is not None:
        providers = list(catalogue.get(metric, ()))
        if not providers:
            close = [m for m in sorted(catalogue) if m.startswith(metric[:3])][:5]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise BadInput(
                f"unknown metric {metric!r}{hint}; known metrics: {', '.join(sorted(catalogue))}",
                location=location,
            )
        if fields["suite"] is not None:
            providers = [p for p in providers if p[0] == fields["suite"]]
            if not providers:
                raise BadInput(
                    f"suite {fields['suite']!r} does not measure {metric!r}", location=location
                )
        level = providers[0][1]
        suites = tuple(p[0] for p in providers)
        if level == "dataset" and (fields["dimension"] or fields["group"]):
            raise BadInput(
                f"{metric} is a whole-data metric and takes no cohort", location=location
            )
        if level == "dimension" and fields["group"]:
            raise BadInput(
                f"{metric} has one value per cohort dimension: "
                f"write {metric}[{', '.join(fields['group'])}]",
                location=location,
            )
    return Bound(
        metric=metric,
        op=fields["op"],
        threshold=float(fields["value"]),
        use=fields["use"],
        dimension=fields["dimension"],
        group=fields["group"],
        suites=suites,
        level=level,
        location=location,
        suite=fields["suite"],
        written_as=fields["metric"] if metric != fields["metric"] else None,
    )


def parse_offline(
    entries: Any, *, location: str, catalogue: Catalogue | None = None
) -> tuple[Bound, ...]:
    """Parse the offline section: a list of bounds, or a mapping ``{metric[cohort]: condition}``.

    The mapping form is how release manifests often write it:
    ``{"roc_auc": ">= 0.75", "recall[sex]": ">= 0.6"}``; an explanation bound keeps its
    settings there too: ``{"top_k_stable": {"k": 5, "min_overlap": 0.6}}``.
    """
    if isinstance(entries, Mapping):
        return tuple(
            parse_bound(
                {key: condition}
                if explanations.is_rule({key: condition})
                else f"{key} {condition}",
                location=f"{location}.{key}",
                catalogue=catalogue,
            )
            for key, condition in entries.items()
        )
    if isinstance(entries, str) or not isinstance(entries, Sequence):
        raise BadInput("a contract is a list of bounds", location=location)
    return tuple(
        parse_bound(entry, location=f"{location}[{i}]", catalogue=catalogue)
        for i, entry in enumerate(entries)
    )
