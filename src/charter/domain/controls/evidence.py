"""Evidence controls: an evaluation suite ran, recently, and the contract's bounds hold."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from charter.domain.controls.base import (
    Name,
    Outcome,
    StrictParams,
    aware,
    bound_status,
    failed_bounds,
    newest,
    register_kind,
)
from charter.domain.gate_facts import ReleaseFacts
from charter.domain.text import iso_utc


class EvaluationEvidenceParams(StrictParams):
    """``suite``: a suite name, or a list meaning any one of them; ``max_age_days``: freshness."""

    suite: Name | Annotated[list[Name], Field(min_length=1)]
    max_age_days: int | None = Field(default=None, ge=1, le=3650)


@register_kind("evaluation_evidence", EvaluationEvidenceParams)
def _evaluation_evidence(params: EvaluationEvidenceParams, facts: ReleaseFacts) -> Outcome:
    """Newest evidence of the suite exists, is recent enough and none of its bounds failed."""
    suites = [params.suite] if isinstance(params.suite, str) else list(params.suite)
    label = " or ".join(suites)
    latest = newest(e for e in facts.evidence if e.suite in suites)
    if latest is None:
        return Outcome("fail", f"no {label} evaluation evidence", {"suites": suites})
    age = (facts.now - aware(latest.created_at)).days
    evidence = {
        "suites": suites,
        "evidence_id": latest.id,
        "evidence_digest": latest.digest,
        "created_at": iso_utc(aware(latest.created_at)),
        "age_days": age,
    }
    if params.max_age_days is not None and age > params.max_age_days:
        return Outcome(
            "fail",
            f"newest {latest.suite} evidence #{latest.id} is {age} days old "
            f"(limit {params.max_age_days})",
            evidence,
        )
    failed = failed_bounds(latest)
    if failed:
        return Outcome(
            "fail",
            f"{latest.suite} evidence #{latest.id} failed: {', '.join(failed)}",
            {**evidence, "failed": failed},
        )
    return Outcome("pass", f"{latest.suite} evidence #{latest.id} ({age} days old)", evidence)


class ContractMetricParams(StrictParams):
    """``metric``: only bounds on this metric (or these); ``required``: fail when there are none."""

    metric: Name | list[Name] | None = None
    required: bool = False


@register_kind("contract_metric", ContractMetricParams)
def _contract_metric(params: ContractMetricParams, facts: ReleaseFacts) -> Outcome:
    """Every offline bound of the contract in force is met by the newest evidence measuring it.

    The contract in force is the release's, tightened by the approvals that count in the
    environment; the service layer re-checks every stored result against it, so an
    approval's stricter bound is enforced on evidence recorded before it.
    """
    wanted = (
        None
        if params.metric is None
        else ([params.metric] if isinstance(params.metric, str) else list(params.metric))
    )
    bounds = [b for b in facts.contract.offline if wanted is None or b.metric in wanted]
    if not bounds:
        what = "offline bounds" if wanted is None else f"offline bounds on {', '.join(wanted)}"
        if params.required:
            return Outcome("fail", f"the contract declares no {what}", {"metrics": wanted})
        return Outcome("not_applicable", f"the contract declares no {what}", {"metrics": wanted})
    problems: list[str] = []
    checked: list[dict[str, Any]] = []
    for bound in bounds:
        holders = [
            e
            for e in facts.evidence
            if any(b.get("bound") == bound.text and bound_status(b) != "skipped" for b in e.bounds)
        ]
        latest = newest(holders)
        if latest is None:
            problems.append(f"{bound.text}: no evidence checked {bound.metric}")
            checked.append({"bound": bound.text, "evidence_id": None, "status": "missing"})
            continue
        entry = next(b for b in latest.bounds if b.get("bound") == bound.text)
        status = bound_status(entry)
        checked.append({"bound": bound.text, "evidence_id": latest.id, "status": status})
        if status != "pass":
            why = f" ({entry['reason']})" if entry.get("reason") else ""
            verdict = "failed it" if status == "fail" else f"left it {status}"
            problems.append(f"{bound.text}: evidence #{latest.id} {verdict}{why}")
    if problems:
        return Outcome("fail", "; ".join(problems), {"bounds": checked})
    return Outcome("pass", f"{len(bounds)} contract bound(s) met", {"bounds": checked})
