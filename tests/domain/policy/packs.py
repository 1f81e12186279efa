"""A small valid pack to mutate in tests, and builders for release facts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from charter.domain.approvals import DecisionFact
from charter.domain.contracts import monitoring_plan, parse_contract
from charter.domain.gate_facts import EvidenceFact, ExceptionFact, ReferenceFact, ReleaseFacts
from charter.domain.policy import Policy, load_policy

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

_PACK: dict[str, Any] = {
    "apiVersion": "charter.policy/v1",
    "name": "test",
    "intake": {
        "questions": [
            {
                "id": "domain",
                "text": "Area?",
                "type": "enum",
                "options": ["credit", "chat", "other"],
                "required": True,
            },
            {
                "id": "practices",
                "text": "Practices?",
                "type": "list",
                "options": ["social_scoring", "none"],
            },
            {"id": "chatbot", "text": "Chatbot?", "type": "bool"},
            {"id": "users", "text": "How many users?", "type": "number"},
            {"id": "note", "text": "Anything else?", "type": "string"},
        ],
        "rules": [
            {
                "id": "social-scoring",
                "when": "'social_scoring' in practices",
                "tier": "prohibited",
                "reason": "Art. 5(1)(c)",
            },
            {
                "id": "credit",
                "when": "domain == 'credit'",
                "tier": "high",
                "reason": "Annex III 5(b)",
            },
            {"id": "chatbot", "when": "chatbot", "tier": "limited", "reason": "Art. 50(1)"},
        ],
        "default_tier": "minimal",
    },
    "tiers": [
        {"id": "prohibited", "refused": True, "description": "prohibited practice"},
        {"id": "high"},
        {"id": "limited"},
        {"id": "minimal"},
    ],
    "controls": [
        {
            "id": "eval-classification",
            "description": "classification evidence",
            "kind": "evaluation_evidence",
            "tiers": ["high"],
            "params": {"suite": "classification", "max_age_days": 180},
            "waivable": True,
            "maps_to": {"eu_ai_act": ["Art. 15(1)"]},
        },
        {
            "id": "quorum-high",
            "description": "two approvers",
            "kind": "approval_quorum",
            "tiers": ["high"],
            "environments": ["prod"],
            "params": {"quorum": 2, "roles": ["approver"]},
        },
        {
            "id": "owner",
            "description": "owner named",
            "kind": "documentation",
            "tiers": ["high", "limited", "minimal"],
            "params": {"fields": ["owner"]},
        },
    ],
    "exceptions": {"max_days": {"high": 30, "limited": 90}, "approver_roles": ["approver"]},
}


def pack() -> dict[str, Any]:
    """A fresh copy of the small valid pack."""
    return copy.deepcopy(_PACK)


def dump(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False).encode()


def load(data: dict[str, Any] | None = None) -> Policy:
    return load_policy(dump(pack() if data is None else data), "pack.yaml")


def evidence(
    id_: int, suite: str = "classification", *, age_days: int = 1, bounds=(), digest: str = "e" * 64
) -> EvidenceFact:
    return EvidenceFact(
        id=id_,
        suite=suite,
        suite_version="1",
        digest=digest,
        created_at=NOW - timedelta(days=age_days),
        bounds=tuple(bounds),
    )


def evidence_of(
    result: dict[str, Any], id_: int, *, age_days: int = 1, contract: Any = None
) -> EvidenceFact:
    """A real suite result as the gate sees it: re-checked against ``contract``."""
    from charter.domain.contracts import evaluate_contract

    checked = evaluate_contract(parse_contract(contract), result) if contract else {}
    return EvidenceFact(
        id=id_,
        suite=result["suite"]["name"],
        suite_version=result["suite"]["version"],
        digest=f"{id_:064d}",
        created_at=NOW - timedelta(days=age_days),
        bounds=tuple(checked.get("bounds", ())),
        metrics=result["metrics"],
        details=result["details"],
    )


def decision(
    id_: int,
    verdict: str = "approve",
    actor: str = "ann",
    *,
    role: str = "approver",
    envs=("prod",),
    granted_days_ago: int = 10,
    valid_days: int | None = 90,
    fallback: dict[str, Any] | None = None,
) -> DecisionFact:
    created = NOW - timedelta(days=granted_days_ago)
    return DecisionFact(
        id=id_,
        verdict=verdict,
        actor=actor,
        actor_role=role,
        environments=tuple(envs),
        expires_at=None if valid_days is None else created + timedelta(days=valid_days),
        created_at=created,
        fallback=fallback,
        policy_version=1,
    )


def exception(
    id_: int,
    control_id: str,
    *,
    status: str = "approved",
    environment: str | None = None,
    expires_in_days: int = 10,
) -> ExceptionFact:
    return ExceptionFact(
        id=id_,
        control_id=control_id,
        environment=environment,
        status=status,  # type: ignore[arg-type]
        expires_at=NOW + timedelta(days=expires_in_days),
        approved_by="vic" if status == "approved" else None,
        justification="re-evaluation scheduled",
        compensating="manual review of every decision",
    )


def reference(
    *,
    prediction: str | None = "pred",
    label: str | None = "y",
    cohort: str | None = "sex",
    baseline: float | None = 0.8,
) -> ReferenceFact:
    """A reference profile summary as the service layer gathers it."""
    return ReferenceFact(
        digest="r" * 64,
        rows=1000,
        features=("age", "amount"),
        prediction=prediction,
        score=None,
        label=label,
        cohort=cohort,
        baseline_accuracy=baseline,
    )


def facts(
    *,
    tier: str = "high",
    environment: str = "prod",
    document: dict[str, Any] | None = None,
    system_fields: dict[str, Any] | None = None,
    decisions=(),
    evidence=(),
    exceptions=(),
    reference: ReferenceFact | None = None,
    required_monitors=(),
    flags: frozenset[str] | None = None,
) -> ReleaseFacts:
    """Facts as ``services.gates.gather_facts`` builds them: the contract in force is the
    document's contract, and the monitoring plan is the worker's for it."""
    document = (
        document
        if document is not None
        else {"components": [{"kind": "model", "name": "scorer"}], "config": {}, "contract": {}}
    )
    contract = parse_contract(document.get("contract") or None)
    plan = monitoring_plan(
        contract.live,
        required=required_monitors,
        baseline_accuracy=None if reference is None else reference.baseline_accuracy,
    )
    return ReleaseFacts(
        system="credit-limit",
        tier=tier,
        system_fields={"owner": "Retail Credit Risk", "purpose": "limits", "population": ""}
        if system_fields is None
        else system_fields,
        digest="d" * 64,
        document=document,
        environment=environment,
        now=NOW,
        decisions=tuple(decisions),
        evidence=tuple(evidence),
        exceptions=tuple(exceptions),
        contract=contract,
        monitoring=plan,
        reference=reference,
        flags=flags,
    )
