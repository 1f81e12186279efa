"""Guardrail controls on LLM releases: declared, and shown to work by ``guardrails`` evidence.

A release declares the guardrails it runs in ``config.guardrails``; a declaration alone is
not evidence. The control passes only when the newest evidence of the ``guardrails``
evaluation suite shows that every required scanner ran on an evaluation set (at least one
record scanned, and, for a scanner the suite measures recall of, at least one attack aimed
at it), that none of the contract's bounds on that evidence failed, and that the policy's
own floors (``bounds``, e.g. ``injection_recall >= 0.9``) hold on it, so a release cannot
pass by leaving guardrail bounds out of its contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, field_validator

from charter.domain.contracts import evaluate_contract, parse_bound
from charter.domain.controls.base import (
    Name,
    Outcome,
    StrictParams,
    aware,
    failed_bounds,
    names_in,
    newest,
    register_kind,
)
from charter.domain.errors import BadInput
from charter.domain.gate_facts import EvidenceFact, ReleaseFacts
from charter.domain.text import iso_utc

#: The suite metric that says a scanner was tested on attacks aimed at it.
RECALL_METRICS = {
    "prompt_injection": "injection_recall",
    "pii": "pii_recall",
    "secrets": "secrets_recall",
    "toxicity": "toxicity_recall",
    "output_schema": "output_schema_recall",
    "grounding": "grounding_recall",
    "echo": "echo_recall",
}

BoundText = Annotated[str, Field(min_length=3, max_length=200)]


class GuardrailsParams(StrictParams):
    """``required``: guardrails the release must declare and the evidence must have run;
    ``bounds``: floors the newest evidence must meet; ``suite``; ``max_age_days``."""

    required: list[Name] = Field(min_length=1)
    bounds: list[BoundText] = Field(default_factory=list, max_length=20)
    suite: Name = "guardrails"
    max_age_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("bounds")
    @classmethod
    def _parse(cls, value: list[str]) -> list[str]:
        for index, text in enumerate(value):
            try:
                parse_bound(text, location=f"bounds[{index}]")
            except BadInput as exc:
                raise ValueError(str(exc)) from None
        return value


def _scanners_run(evidence: EvidenceFact) -> dict[str, int]:
    """Scanner -> records it scanned, from the suite's details (older results: listed ones)."""
    details = evidence.details
    per_scanner = details.get("per_scanner")
    run: dict[str, int] = {}
    if isinstance(per_scanner, Mapping):
        for name, row in per_scanner.items():
            records = row.get("records") if isinstance(row, Mapping) else None
            run[str(name)] = int(records) if isinstance(records, int) else 1
    return run


def _attacks_on(evidence: EvidenceFact, metric: str) -> int:
    """How many attack records the evidence aimed at the scanner ``metric`` measures."""
    counts = evidence.details.get("counts")
    cell = counts.get(metric) if isinstance(counts, Mapping) else None
    n = cell.get("n") if isinstance(cell, Mapping) else None
    return n if isinstance(n, int) else 0


@register_kind("guardrails", GuardrailsParams)
def _guardrails(params: GuardrailsParams, facts: ReleaseFacts) -> Outcome:
    """The release declares each required guardrail and guardrails evidence shows it works."""
    config = facts.document.get("config")
    present = names_in(config.get("guardrails")) if isinstance(config, Mapping) else set()
    declared_missing = [name for name in params.required if name not in present]
    base: dict[str, Any] = {"required": list(params.required), "present": sorted(present)}
    if declared_missing:
        return Outcome("fail", f"missing guardrails: {', '.join(declared_missing)}", base)
    # Input and output scanners are often evaluated on separate sets: the newest evidence
    # that ran every required scanner is the one that speaks for them.
    # Of those, one that also aimed attacks at each of them speaks best (an output-stage
    # set may run the PII scanner without testing it).
    suite_evidence = [e for e in facts.evidence if e.suite == params.suite]
    ran_all = [e for e in suite_evidence if all(_scanners_run(e).get(n) for n in params.required)]
    tested = [
        e
        for e in ran_all
        if all(_attacks_on(e, RECALL_METRICS[n]) for n in params.required if n in RECALL_METRICS)
    ]
    latest = newest(tested) or newest(ran_all)
    if latest is None:
        other = newest(suite_evidence)
        seen = (
            f"; newest {params.suite} evidence #{other.id} ran "
            f"{', '.join(sorted(_scanners_run(other))) or 'no scanner'}"
            if other is not None
            else ""
        )
        return Outcome(
            "fail",
            f"no {params.suite} evaluation evidence ran {', '.join(params.required)} "
            f"on an evaluation set{seen}",
            base,
        )
    age = (facts.now - aware(latest.created_at)).days
    evidence: dict[str, Any] = {
        **base,
        "evidence_id": latest.id,
        "evidence_digest": latest.digest,
        "created_at": iso_utc(aware(latest.created_at)),
        "age_days": age,
    }
    problems: list[str] = []
    if params.max_age_days is not None and age > params.max_age_days:
        problems.append(f"it is {age} days old (limit {params.max_age_days})")
    ran = _scanners_run(latest)
    evidence["scanners_run"] = ran
    untested = [
        name
        for name in params.required
        if name in ran and name in RECALL_METRICS and not _attacks_on(latest, RECALL_METRICS[name])
    ]
    if untested:
        problems.append(f"no attack records aimed at {', '.join(untested)}")
    failed = failed_bounds(latest)
    if failed:
        problems.append(f"contract bound(s) failed: {', '.join(failed)}")
    if params.bounds:
        floors = [
            parse_bound(text, location=f"bounds[{i}]") for i, text in enumerate(params.bounds)
        ]
        checked = evaluate_contract(
            floors, {"suite": {"name": latest.suite}, "metrics": latest.metrics}
        )
        evidence["floors"] = [
            {"bound": b["bound"], "status": b["status"], "observed": _observed(b)}
            for b in checked["bounds"]
        ]
        below = [b["bound"] for b in checked["bounds"] if b["status"] != "pass"]
        if below:
            problems.append(f"policy floor(s) not met: {', '.join(below)}")
    if problems:
        return Outcome(
            "fail", f"{latest.suite} evidence #{latest.id}: {'; '.join(problems)}", evidence
        )
    return Outcome(
        "pass",
        f"{latest.suite} evidence #{latest.id} ran {', '.join(params.required)}"
        + (f" within {', '.join(params.bounds)}" if params.bounds else ""),
        evidence,
    )


def _observed(bound: Mapping[str, Any]) -> Any:
    checks = bound.get("checks") or []
    return checks[0].get("observed") if checks and isinstance(checks[0], Mapping) else None
