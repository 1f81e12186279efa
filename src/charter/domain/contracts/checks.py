"""Checking offline bounds against an evaluation result (``charter.evaluation.result/1``).

Pure: the gate re-checks stored results against the contract in force, and evaluation
checks a fresh result, with this one function. A bound parsed with the metric catalogue
knows its level and the suites that measure it; one parsed without (the gate's) reads both
from the result, whose layout says where each metric lives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charter.domain.contracts.contract import Contract
from charter.domain.contracts.explanations import Previous, check_rule
from charter.domain.contracts.offline import Bound, Status, compare


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
    passed = compare(float(observed), bound.op, bound.threshold)
    return {**check, "observed": observed, "status": "pass" if passed else "fail", "reason": None}


def _find_cohort(result: Mapping[str, Any], columns: Sequence[str]) -> Mapping[str, Any] | None:
    for cohort in result.get("metrics", {}).get("cohorts", []):
        if set(cohort.get("columns", [])) == set(columns) and len(cohort["columns"]) == len(
            columns
        ):
            found: Mapping[str, Any] = cohort
            return found
    return None


def _measures(result: Mapping[str, Any], metric: str) -> bool:
    """Whether a result reports ``metric`` anywhere (a suite lists undefined metrics too)."""
    metrics = result.get("metrics", {})
    if metric in metrics.get("overall", {}):
        return True
    for cohort in metrics.get("cohorts", []):
        if metric in cohort.get("metrics", {}):
            return True
        if any(metric in g.get("metrics", {}) for g in cohort.get("groups", [])):
            return True
    return False


def _level(bound: Bound, result: Mapping[str, Any]) -> str:
    """The bound's level from its catalogue, or else from where the result reports it."""
    if bound.level is not None:
        return bound.level
    metrics = result.get("metrics", {})
    if any(bound.metric in c.get("metrics", {}) for c in metrics.get("cohorts", [])):
        return "dimension"
    return "group"


def _checks(
    bound: Bound, result: Mapping[str, Any], previous: Previous | None = None
) -> list[dict[str, Any]]:
    if bound.params is not None:
        return check_rule(dict(bound.params), bound.threshold, result, previous)
    metrics = result.get("metrics", {})
    level = _level(bound, result)
    if level in ("group", "dataset") and bound.dimension is None and bound.group is None:
        return [_check(bound, metrics.get("overall", {}).get(bound.metric), "overall")]
    columns = bound.dimension or tuple((bound.group or {}).keys())
    if level == "dimension" and not columns:
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
    if level == "dimension":
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


def _applies(bound: Bound, suite: str, result: Mapping[str, Any]) -> bool:
    if bound.suite is not None:
        return bound.suite == suite
    if bound.suites:
        return suite in bound.suites
    return _measures(result, bound.metric)


def evaluate_contract(
    contract: Contract | Sequence[Bound],
    result: Mapping[str, Any],
    *,
    previous: Previous | None = None,
) -> dict[str, Any]:
    """Check every offline bound of ``contract`` against one suite result.

    A bound on a metric the result's suite does not measure is ``skipped``. Otherwise it
    is ``pass`` when every check passes, ``fail`` when any fails, and ``undefined`` when a
    value it needs is missing (an undefined metric, a missing cohort or group, a group
    below the minimum size, no interval). ``passed`` is true only when every applicable
    bound passes: undefined fails closed.
    """
    suite = str(result.get("suite", {}).get("name"))
    outcomes: list[dict[str, Any]] = []
    counts: dict[str, int] = dict.fromkeys(("pass", "fail", "undefined", "skipped"), 0)
    bounds = contract.offline if isinstance(contract, Contract) else tuple(contract)
    for bound in bounds:
        base: dict[str, Any] = {
            "bound": bound.text,
            "location": bound.location,
            "metric": bound.metric,
        }
        if not _applies(bound, suite, result):
            outcome = {
                **base,
                "status": "skipped",
                "reason": f"not measured by the {suite} suite",
                "checks": [],
            }
        else:
            checks = _checks(bound, result, previous)
            statuses = {c["status"] for c in checks}
            status: Status
            if "fail" in statuses:
                status = "fail"
            elif "undefined" in statuses or statuses <= {"skipped"}:
                status = "undefined"
            else:
                status = "pass"
            reason = "no group was large enough to score" if statuses <= {"skipped"} else None
            if bound.params is not None and status != "pass":
                # A rule bound has one telling check: keep its reason with the stored bound.
                reason = next((c["reason"] for c in checks if c["status"] == status), reason)
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
