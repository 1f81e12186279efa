"""Checking a parsed contract against a suite result (see :mod:`charter.evaluation.contracts`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charter.evaluation.contracts import Bound, Contract, Operator, Status


def _compare(observed: float, op: Operator, threshold: float) -> bool:
    if op == ">=":
        return observed >= threshold
    if op == "<=":
        return observed <= threshold
    if op == ">":
        return observed > threshold
    return observed < threshold


def _check(bound: Bound, entry: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    """Check one metric entry against a bound."""
    key = bound.use
    if key == "ci":
        key = "ci_lower" if bound.op in (">=", ">") else "ci_upper"
    check: dict[str, Any] = {"cohort": where, "used": "value" if key == "estimate" else key}
    if entry is None:
        return {**check, "observed": None, "status": "undefined", "reason": "not in the result"}
    observed = entry.get("value" if key == "estimate" else key)
    if observed is None:
        reason = entry.get("reason") or (
            "no confidence interval (bootstrap disabled, or the metric is undefined in too "
            "many resamples)"
            if key != "estimate"
            else "undefined"
        )
        return {**check, "observed": None, "status": "undefined", "reason": reason}
    passed = _compare(float(observed), bound.op, bound.threshold)
    return {**check, "observed": observed, "status": "pass" if passed else "fail", "reason": None}


def _find_cohort(result: Mapping[str, Any], columns: Sequence[str]) -> Mapping[str, Any] | None:
    for cohort in result.get("metrics", {}).get("cohorts", []):
        if set(cohort.get("columns", [])) == set(columns) and len(cohort["columns"]) == len(
            columns
        ):
            found: Mapping[str, Any] = cohort
            return found
    return None


def _checks(bound: Bound, result: Mapping[str, Any]) -> list[dict[str, Any]]:
    metrics = result.get("metrics", {})
    if bound.level in ("group", "dataset") and bound.dimension is None and bound.group is None:
        return [_check(bound, metrics.get("overall", {}).get(bound.metric), "overall")]
    columns = bound.dimension or tuple((bound.group or {}).keys())
    if bound.level == "dimension" and not columns:
        cohorts = metrics.get("cohorts", [])
        if not cohorts:
            return [
                {
                    "cohort": None,
                    "used": bound.use,
                    "observed": None,
                    "status": "undefined",
                    "reason": "the result has no cohort dimensions",
                }
            ]
        return [_check(bound, c.get("metrics", {}).get(bound.metric), c["name"]) for c in cohorts]
    cohort = _find_cohort(result, columns)
    name = ", ".join(columns)
    if cohort is None:
        return [
            {
                "cohort": name,
                "used": bound.use,
                "observed": None,
                "status": "undefined",
                "reason": f"the result has no cohort dimension {name!r}",
            }
        ]
    if bound.level == "dimension":
        return [_check(bound, cohort.get("metrics", {}).get(bound.metric), cohort["name"])]
    groups = cohort.get("groups", [])
    if bound.group is not None:
        for group in groups:
            if group.get("values") == dict(bound.group):
                if not group.get("scored", True):
                    return [
                        {
                            "cohort": group["key"],
                            "used": bound.use,
                            "observed": None,
                            "status": "undefined",
                            "reason": group.get("reason"),
                        }
                    ]
                return [_check(bound, group["metrics"].get(bound.metric), group["key"])]
        shown = ", ".join(g["key"] for g in groups[:10])
        return [
            {
                "cohort": name,
                "used": bound.use,
                "observed": None,
                "status": "undefined",
                "reason": f"no group {bound.group}; groups are: {shown}",
            }
        ]
    checks = []
    for group in groups:
        if group.get("scored", True):
            checks.append(_check(bound, group["metrics"].get(bound.metric), group["key"]))
        else:
            checks.append(
                {
                    "cohort": group["key"],
                    "used": bound.use,
                    "observed": None,
                    "status": "skipped",
                    "reason": group.get("reason"),
                }
            )
    return checks


def evaluate_contract(contract: Contract, result: Mapping[str, Any]) -> dict[str, Any]:
    """Check every bound of ``contract`` against one suite result.

    A bound on a metric the result's suite does not measure is ``skipped``. Otherwise it
    is ``pass`` when every check passes, ``fail`` when any fails, and ``undefined`` when a
    value it needs is missing (an undefined metric, a missing cohort or group, a group
    below the minimum size, no interval). ``passed`` is true only when every applicable
    bound passes: undefined fails closed.
    """
    suite = str(result.get("suite", {}).get("name"))
    outcomes: list[dict[str, Any]] = []
    counts: dict[str, int] = dict.fromkeys(("pass", "fail", "undefined", "skipped"), 0)
    for bound in contract.bounds:
        base: dict[str, Any] = {
            "bound": bound.text,
            "location": bound.location,
            "metric": bound.metric,
        }
        if suite not in bound.suites:
            outcome = {
                **base,
                "status": "skipped",
                "reason": f"not measured by the {suite} suite",
                "checks": [],
            }
        else:
            checks = _checks(bound, result)
            statuses = {c["status"] for c in checks}
            status: Status
            if "fail" in statuses:
                status = "fail"
            elif "undefined" in statuses or statuses <= {"skipped"}:
                status = "undefined"
            else:
                status = "pass"
            reason = "no group was large enough to score" if statuses <= {"skipped"} else None
            outcome = {**base, "status": status, "reason": reason, "checks": checks}
        counts[outcome["status"]] += 1
        outcomes.append(outcome)
    applicable = len(outcomes) - counts["skipped"]
    return {
        "suite": suite,
        "passed": counts["fail"] == 0 and counts["undefined"] == 0,
        "applicable": applicable,
        "counts": counts,
        "bounds": outcomes,
    }
