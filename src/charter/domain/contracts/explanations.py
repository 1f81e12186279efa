"""Contract bounds on explanations: who drives the decisions, and whether that stays put.

Two bounds read the ``explainability`` suite's ranking (``details.importance``) rather
than a metric value, so they are written as a mapping with one key::

    - protected_not_in_top_k: {attributes: [sex, age], k: 3}        # per_cohort: true too
    - top_k_stable: {k: 5, min_overlap: 0.6}

- ``protected_not_in_top_k`` passes when none of ``attributes`` is among the ``k`` top
  drivers (the highest-ranked features with a positive mean permutation importance),
  overall and, with ``per_cohort: true``, in every scored cohort group too. An attribute
  that is not among the explained features leaves the bound undefined (it may be a typo,
  or an encoded column under another name): fail closed.
- ``top_k_stable`` passes when the top-``k`` drivers share at least ``min_overlap`` of
  their features with those of the *previous release*'s explainability evidence (shared
  features over the larger of the two lists). The service layer looks that evidence up
  (:class:`Previous`); with no previous release, or none with explainability evidence, the
  bound is ``undefined``.

Both parse into :class:`~charter.domain.contracts.offline.Bound` values with ``params``,
so tightening, the contract in force and the gate's controls treat them like any bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from charter.domain.errors import BadInput

SUITE = "explainability"
#: Written name -> (metric checked, operator).
RULES: dict[str, tuple[str, str]] = {
    "protected_not_in_top_k": ("protected_in_top_k", "<="),
    "top_k_stable": ("top_k_overlap", ">="),
}
_KEYS = {
    "protected_not_in_top_k": {"attributes", "k", "per_cohort"},
    "top_k_stable": {"k", "min_overlap"},
}


@dataclass(frozen=True)
class Previous:
    """The previous release's explanations, as the service layer found them.

    ``ranking`` is that evidence's overall feature ranking (``details.importance.ranking``);
    None with ``reason`` when there is nothing to compare with.
    """

    ref: str | None
    evidence_id: int | None
    ranking: tuple[Mapping[str, Any], ...] | None
    reason: str | None = None


def is_rule(raw: Any) -> bool:
    """Whether ``raw`` (a bound as written) is one of the explanation bounds."""
    return isinstance(raw, Mapping) and len(raw) == 1 and next(iter(raw)) in RULES


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise BadInput(f"k must be an integer in [1, 1000], got {value!r}", location=where)
    return value


def parse_rule(raw: Mapping[str, Any], location: str) -> dict[str, Any]:
    """The fields of a :class:`Bound` for an explanation bound (see the module docstring)."""
    name = str(next(iter(raw)))
    params = raw[name]
    if not isinstance(params, Mapping):
        raise BadInput(f"{name} takes a mapping of settings", location=f"{location}.{name}")
    unknown = sorted(set(map(str, params)) - _KEYS[name])
    if unknown:
        raise BadInput(
            f"unknown key(s) {', '.join(unknown)}; {name} takes {', '.join(sorted(_KEYS[name]))}",
            location=f"{location}.{name}",
        )
    where = f"{location}.{name}"
    if "k" not in params:
        raise BadInput(f"{name} needs k", location=where)
    k = _positive_int(params["k"], f"{where}.k")
    metric, op = RULES[name]
    if name == "protected_not_in_top_k":
        attributes = params.get("attributes")
        if isinstance(attributes, str):
            attributes = [attributes]
        if (
            not isinstance(attributes, Sequence)
            or not attributes
            or not all(isinstance(a, str) and a for a in attributes)
        ):
            raise BadInput(
                "attributes must be a non-empty list of column names",
                location=f"{where}.attributes",
            )
        per_cohort = params.get("per_cohort", False)
        if not isinstance(per_cohort, bool):
            raise BadInput("per_cohort must be true or false", location=f"{where}.per_cohort")
        return {
            "metric": metric,
            "op": op,
            "value": 0.0,
            "params": (
                ("rule", name),
                ("attributes", tuple(sorted(set(attributes)))),
                ("k", k),
                ("per_cohort", per_cohort),
            ),
        }
    overlap = params.get("min_overlap")
    if (
        isinstance(overlap, bool)
        or not isinstance(overlap, int | float)
        or not 0.0 <= float(overlap) <= 1.0
    ):
        raise BadInput(
            f"min_overlap must be a number in [0, 1], got {overlap!r}",
            location=f"{where}.min_overlap",
        )
    return {
        "metric": metric,
        "op": op,
        "value": float(overlap),
        "params": (("rule", name), ("k", k)),
    }


def rule_text(params: Mapping[str, Any], threshold: float) -> str:
    """The canonical text of an explanation bound, e.g. ``top_k_stable(k=5, min_overlap=0.6)``."""
    name = params["rule"]
    if name == "protected_not_in_top_k":
        cohort = ", per_cohort" if params.get("per_cohort") else ""
        attributes = ", ".join(params["attributes"])
        return f"{name}(attributes=[{attributes}], k={params['k']}{cohort})"
    return f"{name}(k={params['k']}, min_overlap={threshold:g})"


def rule_mapping(params: Mapping[str, Any], threshold: float) -> dict[str, Any]:
    """The written (mapping) form of an explanation bound, which parses back to it."""
    name = params["rule"]
    if name == "protected_not_in_top_k":
        written: dict[str, Any] = {"attributes": list(params["attributes"]), "k": params["k"]}
        if params.get("per_cohort"):
            written["per_cohort"] = True
        return {name: written}
    return {name: {"k": params["k"], "min_overlap": threshold}}


def _importance(result: Mapping[str, Any]) -> Mapping[str, Any] | None:
    details = result.get("details")
    found = details.get("importance") if isinstance(details, Mapping) else None
    return found if isinstance(found, Mapping) else None


def top_drivers(ranking: Sequence[Mapping[str, Any]], k: int) -> list[str]:
    """The ``k`` highest-ranked features with a positive mean importance."""
    ordered = sorted(ranking, key=lambda r: int(r.get("rank", 0)))
    top = []
    for row in ordered[:k]:
        value = (row.get("importance") or {}).get("value")
        if isinstance(value, int | float) and value > 0:
            top.append(str(row["feature"]))
    return top


def _undefined(where: str | None, reason: str) -> dict[str, Any]:
    return {
        "cohort": where,
        "used": "value",
        "observed": None,
        "status": "undefined",
        "reason": reason,
    }


def _protected_check(
    ranking: Sequence[Mapping[str, Any]], attributes: Sequence[str], k: int, where: str
) -> dict[str, Any]:
    ranked = {str(r.get("feature")) for r in ranking}
    absent = [a for a in attributes if a not in ranked]
    if absent:
        return _undefined(
            where, f"{', '.join(absent)} not among the explained features: cannot tell"
        )
    top = top_drivers(ranking, k)
    inside = [a for a in attributes if a in top]
    return {
        "cohort": where,
        "used": "value",
        "observed": float(len(inside)),
        "status": "fail" if inside else "pass",
        "reason": f"{', '.join(inside)} among the top {k} drivers ({', '.join(top)})"
        if inside
        else None,
    }


def check_rule(
    params: Mapping[str, Any],
    threshold: float,
    result: Mapping[str, Any],
    previous: Previous | None,
) -> list[dict[str, Any]]:
    """The checks of one explanation bound against an explainability result."""
    importance = _importance(result)
    if importance is None or not isinstance(importance.get("ranking"), list):
        return [_undefined("overall", "the result has no feature ranking")]
    ranking = importance["ranking"]
    k = int(params["k"])
    if params["rule"] == "protected_not_in_top_k":
        attributes = list(params["attributes"])
        checks = [_protected_check(ranking, attributes, k, "overall")]
        if params.get("per_cohort"):
            for cohort in importance.get("cohorts") or []:
                for group in cohort.get("groups") or []:
                    if not group.get("ranking"):
                        checks.append(
                            {
                                "cohort": group.get("key"),
                                "used": "value",
                                "observed": None,
                                "status": "skipped",
                                "reason": group.get("reason") or "no ranking in this group",
                            }
                        )
                        continue
                    checks.append(
                        _protected_check(group["ranking"], attributes, k, str(group["key"]))
                    )
        return checks
    if previous is None:
        return [_undefined("overall", "the previous release's explanations were not looked up")]
    if previous.ranking is None:
        return [_undefined("overall", previous.reason or "no previous release to compare with")]
    now = top_drivers(ranking, k)
    before = top_drivers(previous.ranking, k)
    larger = max(len(now), len(before))
    if larger == 0:
        return [_undefined("overall", "neither release has a positive-importance driver")]
    shared = [f for f in now if f in before]
    overlap = len(shared) / larger
    passed = overlap >= threshold
    return [
        {
            "cohort": "overall",
            "used": "value",
            "observed": overlap,
            "status": "pass" if passed else "fail",
            "reason": None
            if passed
            else (
                f"top {k} now {', '.join(now) or 'none'}; in {previous.ref} (evidence "
                f"#{previous.evidence_id}) {', '.join(before) or 'none'}"
            ),
            "previous": {"ref": previous.ref, "evidence_id": previous.evidence_id},
        }
    ]
