"""Valid regulatory identifiers: a pack may only cite articles, points and controls that exist.

The list is ``charter/policies/references.yaml``, with the version of each source it
follows. For the frameworks it lists (``eu_ai_act``, ``nist_ai_rmf``, ``nist_ai_600_1``,
``iso_42001``) a ``maps_to`` entry must be on it; other ``maps_to`` keys are free text.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from charter.domain.policy.model import Policy

_ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]
_PART = re.compile(
    r"^(?P<para>\d+[a-z]?)?(?:\((?P<point>[a-z]+)(?:-(?P<to>[a-z]+))?\))?"
    r"(?:\((?P<sub>[a-z]+)-(?P<subto>[a-z]+)\))?$"
)


def _letters(first: str, last: str) -> list[str]:
    """Point letters from ``first`` to ``last``: a-h, or roman numerals i-vii."""
    if first in _ROMAN and last in _ROMAN and (len(first) > 1 or len(last) > 1 or first == "i"):
        return _ROMAN[_ROMAN.index(first) : _ROMAN.index(last) + 1]
    return [chr(c) for c in range(ord(first), ord(last) + 1)]


def expand_parts(base: str, entries: list[str]) -> set[str]:
    """``Art. 9`` and ``["2(a-d)", "3-4"]`` -> Art. 9(2), Art. 9(2)(a)..., Art. 9(3), Art. 9(4)."""
    found = {base}
    for entry in entries:
        span = re.fullmatch(r"(\d+)-(\d+)", entry)
        if span:
            found |= {f"{base}({n})" for n in range(int(span[1]), int(span[2]) + 1)}
            continue
        match = _PART.fullmatch(entry)
        if match is None:
            raise ValueError(f"cannot read reference entry {entry!r} of {base}")
        head = f"{base}({match['para']})" if match["para"] else base
        found.add(head)
        if match["point"] is None:
            continue
        if match["sub"] is not None:  # "3(b)(i-vii)": sub-points of one point
            point = f"{head}({match['point']})"
            found.add(point)
            found |= {f"{point}({s})" for s in _letters(match["sub"], match["subto"])}
            continue
        last = match["to"] or match["point"]
        letters = _letters(match["point"], last) if match["to"] else [match["point"]]
        found |= {f"{head}({letter})" for letter in letters}
    return found


@functools.cache
def registry() -> dict[str, Any]:
    """The parsed ``references.yaml``."""
    loaded: dict[str, Any] = yaml.safe_load(
        files("charter.policies").joinpath("references.yaml").read_text(encoding="utf-8")
    )
    return loaded


@functools.cache
def valid_identifiers() -> dict[str, frozenset[str]]:
    """Framework key -> every identifier a pack may cite."""
    data = registry()
    act = data["eu_ai_act"]
    eu: set[str] = set()
    low, high = act["article_range"]
    eu |= {f"Art. {n}" for n in range(int(low), int(high) + 1)}
    for article, entries in act["articles"].items():
        eu |= expand_parts(f"Art. {article}", list(entries))
    for annex, entries in act["annexes"].items():
        eu |= expand_parts(f"Annex {annex}", list(entries))
    nist = {
        f"{function} {category}.{sub}"
        for function, counts in data["nist_ai_rmf"].items()
        for category, count in enumerate(counts, start=1)
        for sub in range(1, int(count) + 1)
    }
    iso = {control for controls in data["iso_42001"].values() for control in controls}
    return {
        "eu_ai_act": frozenset(eu),
        "nist_ai_rmf": frozenset(nist),
        "nist_ai_600_1": frozenset(data["nist_ai_600_1"]),
        "iso_42001": frozenset(iso),
        "owasp_llm": frozenset(data["owasp_llm"]),
    }


def source_versions() -> dict[str, str]:
    """Framework key -> the version of the source the identifier list follows."""
    return {key: " ".join(str(s["version"]).split()) for key, s in registry()["sources"].items()}


def reference_problems(policy: Policy) -> list[tuple[str, str]]:
    """``(location, message)`` for every ``maps_to`` entry that is not a valid identifier."""
    valid = valid_identifiers()
    problems = []
    for index, control in enumerate(policy.controls):
        for framework, clauses in control.maps_to.items():
            known = valid.get(framework)
            if known is None:
                continue
            for position, clause in enumerate(clauses):
                if clause not in known:
                    problems.append(
                        (
                            f"controls[{index}].maps_to.{framework}[{position}]",
                            f"{clause!r} is not a {framework} identifier "
                            f"(charter/policies/references.yaml, {source_versions()[framework]})",
                        )
                    )
    return problems
