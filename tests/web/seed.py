"""A small portfolio for the console tests, built only through the service layer.

Users (one per duty), a compact policy pack, and systems in the states the pages show: a
high-tier credit model live in prod on two approvals and an exception about to expire,
with a new release (by a risk engineer) waiting for approval; a support assistant live in
prod; a fraud model killed to its fallback with an open alert; a churn forecast live; a
document search not deployed yet.

The pack lets risk engineers approve high-tier releases (as many organisations do), so
one person can be both the author of a release and an approver of its tier: the case
separation of duties exists for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from charter.domain.decisions import DecisionRequest
from charter.domain.releases import ReleaseManifest
from charter.domain.systems import IntakeFile
from charter.domain.window_results import Breach
from charter.services import (
    alerts,
    decisions,
    deployments,
    exceptions,
    gates,
    policies,
    releases,
)
from charter.services import systems as system_service
from charter.services.context import Charter
from charter.services.users import bootstrap_admin, create_user
from charter.store.models import Route

#: Users by login name: (role, what they do here).
USERS = {
    "rita": "risk_engineer",
    "dev": "developer",
    "ann": "approver",
    "bob": "approver",
    "audrey": "auditor",
}

PACK: dict[str, Any] = {
    "apiVersion": "charter.policy/v1",
    "name": "console-test",
    "intake": {
        "questions": [
            {
                "id": "domain",
                "text": "Area?",
                "type": "enum",
                "options": ["credit", "fraud", "chat", "other"],
                "required": True,
            },
            {"id": "chatbot", "text": "Talks to people?", "type": "bool"},
        ],
        "rules": [
            {
                "id": "credit",
                "when": "domain == 'credit'",
                "tier": "high",
                "reason": "Annex III 5(b)",
            },
            {
                "id": "fraud",
                "when": "domain == 'fraud'",
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
            "description": "Classification evidence from Charter's runner.",
            "kind": "evaluation_evidence",
            "tiers": ["high"],
            "params": {"suite": "classification", "max_age_days": 180},
            "waivable": True,
        },
        {
            "id": "quorum-high",
            "description": "Two approvers for high-tier releases.",
            "kind": "approval_quorum",
            "tiers": ["high"],
            "params": {"quorum": 2, "roles": ["approver", "risk_engineer"]},
        },
        {
            "id": "quorum",
            "description": "One approver.",
            "kind": "approval_quorum",
            "tiers": ["limited", "minimal"],
            "params": {"quorum": 1, "roles": ["approver"]},
        },
        {
            "id": "owner",
            "description": "An accountable owner is named.",
            "kind": "documentation",
            "tiers": ["high", "limited", "minimal"],
            "params": {"fields": ["owner"]},
        },
    ],
    "exceptions": {
        "max_days": {"high": 30, "limited": 90, "minimal": 180},
        "approver_roles": ["approver", "risk_engineer"],
    },
    # A drift alert on a high-tier system kills it to its fallback (what drills exercise).
    "interventions": {"rules": [{"tiers": ["high"], "monitors": ["drift"], "action": "kill"}]},
}


@dataclass
class Seeded:
    """What the tests need to know about the seeded portfolio."""

    tokens: dict[str, str]
    #: The credit model's release waiting for approval (created by rita).
    pending_ref: str
    credit_live_ref: str


#: The credit model's live contract: hourly windows, so that a few hours of records
#: (``tests/web/seed_monitoring.py``) give the system page its charts.
CREDIT_CONTRACT: dict[str, Any] = {
    "live": {
        "window": "1h",
        "min_sample": 50,
        "open_after": 2,
        "close_after": 2,
        "monitors": ["performance", "drift", "fairness", "latency", "guardrails"],
        "latency_p95_ms": "<= 120",
        "block_rate": "<= 0.05",
    }
}


def manifest(
    label: str, model: str, prompt: str | None = None, contract: dict[str, Any] | None = None
) -> ReleaseManifest:
    """A release with a model artifact (and a prompt for LLM systems)."""
    components: list[dict[str, Any]] = [
        {
            "kind": "model",
            "name": model,
            "uri": f"s3://models/{model}/{label}.pkl",
            "sha256": f"{abs(hash((model, label))) % 16**12:012x}".ljust(64, "0"),
        }
    ]
    if prompt is not None:
        components.append({"kind": "prompt", "name": "system", "text": prompt})
    body: dict[str, Any] = {"label": label, "components": components, "config": {"threshold": 0.5}}
    if contract is not None:
        body["contract"] = contract
    return ReleaseManifest.model_validate(body)


def approval(**overrides: Any) -> DecisionRequest:
    """An approval for prod with a static fallback."""
    body: dict[str, Any] = {
        "verdict": "approve",
        "use_case": "credit limit increases",
        "population": "UK retail customers",
        "environments": ["prod"],
        "expires": "90d",
        "fallback": "static:manual-review",
    }
    body.update(overrides)
    return DecisionRequest(**body)


def seed(charter: Charter) -> Seeded:
    """Build the portfolio on an empty, migrated database; return tokens and references."""
    now = datetime.now(UTC)
    tokens: dict[str, str] = {}
    with charter.db.transaction(write=True) as session:
        _, tokens["admin"] = bootstrap_admin(session, "admin", now)
    with charter.act(tokens["admin"], write=True) as ctx:
        for name, role in USERS.items():
            _, tokens[name] = create_user(ctx, name, role)
        policies.apply_policy(ctx, yaml.safe_dump(PACK).encode(), "console-test.yaml")

    def act(user: str) -> Any:
        return charter.act(tokens[user], write=True)

    def register(name: str, domain: str, owner: str, purpose: str, **answers: Any) -> None:
        with act("dev") as ctx:
            system_service.register_system(
                ctx,
                name,
                intake=IntakeFile(
                    owner=owner,
                    purpose=purpose,
                    population="UK retail customers",
                    answers={"domain": domain, **answers},
                ),
            )

    def release(system: str, label: str, model: str, *, by: str = "dev", **kw: Any) -> str:
        with act(by) as ctx:
            created, _ = releases.create_release(
                ctx, system, manifest(label, model, **kw), base_dir=None
            )
            return f"{system}@{created.digest}"

    def activate(system: str) -> None:
        with act("rita") as ctx:
            system_service.set_status(ctx, system, "active", reason="in production")

    def waive(ref: str, days: int) -> None:
        with act("dev") as ctx:
            item = exceptions.request_exception(
                ctx,
                ref,
                control_id="eval-classification",
                justification="re-evaluation on the Q4 holdout is scheduled",
                compensating="manual review of every declined application",
                expires=f"{days}d",
            )
        with act("rita") as ctx:
            exceptions.decide_exception(ctx, item.id, "approve", note="until the Q4 evaluation")

    # A high-tier model live on two approvals; its exception ends in 10 days.
    register("credit-limit", "credit", "Retail Credit Risk", "Sets credit limit increases")
    credit_v1 = release("credit-limit", "v1", "credit-gbm", contract=CREDIT_CONTRACT)
    waive(credit_v1, 10)
    for approver in ("ann", "bob"):
        with act(approver) as ctx:
            decisions.decide(ctx, credit_v1, approval(expires="60d"))
    with act("dev") as ctx:
        deployments.deploy(ctx, credit_v1, "prod", reason="first release")
    activate("credit-limit")
    # Its next release, by a risk engineer, waits for approval; its gate has run (and
    # fails: no approvals yet, no evaluation evidence).
    credit_v2 = release("credit-limit", "v2", "credit-gbm-v2", by="rita")
    with act("dev") as ctx:
        gates.run_gate(ctx, credit_v2, "prod")

    # An LLM assistant, limited tier, live in prod.
    register(
        "support-assistant", "chat", "Customer Care", "Answers account questions", chatbot=True
    )
    support = release("support-assistant", "v3", "vendor-llm", prompt="You help customers.")
    with act("ann") as ctx:
        decisions.decide(
            ctx, support, approval(use_case="customer support chat", fallback="static:human-agent")
        )
    with act("dev") as ctx:
        deployments.deploy(ctx, support, "prod", reason="launch")
    activate("support-assistant")

    # A fraud model killed to its fallback, with an open alert.
    register("fraud-score", "fraud", "Payments Fraud", "Scores card payments for fraud")
    fraud = release("fraud-score", "v7", "fraud-xgb")
    waive(fraud, 25)
    for approver in ("ann", "rita"):
        with act(approver) as ctx:
            decisions.decide(ctx, fraud, approval(use_case="card payment screening"))
    with act("dev") as ctx:
        deployments.deploy(ctx, fraud, "prod", reason="weekly retrain")
    activate("fraud-score")
    with act("rita") as ctx:
        route = ctx.session.query(Route).filter(Route.environment == "prod").all()
        fraud_route = next(r for r in route if r.system.name == "fraud-score")
        alerts.open_alert(
            ctx,
            fraud_route,
            "fraud-score:prod:accuracy",
            Breach(
                monitor="performance",
                subject="accuracy",
                severity="critical",
                value=0.81,
                bound=">= 0.9",
                n=5000,
                breached=True,
            ),
            now - timedelta(hours=3),
            {"start": (now - timedelta(hours=4)).isoformat(), "end": now.isoformat()},
        )
        deployments.kill(ctx, "fraud-score", "prod", reason="accuracy below the contract")

    # A minimal-tier forecast, live; a document search not deployed yet.
    register("churn-forecast", "other", "Marketing Analytics", "Forecasts churn by segment")
    churn = release("churn-forecast", "v12", "churn-arima")
    with act("bob") as ctx:
        decisions.decide(ctx, churn, approval(use_case="retention planning", fallback=None))
    with act("dev") as ctx:
        deployments.deploy(ctx, churn, "prod", reason="monthly refresh")
    activate("churn-forecast")
    register("doc-search", "other", "Knowledge Management", "Searches internal documents")
    release("doc-search", "v1", "bm25")
    return Seeded(tokens=tokens, pending_ref=credit_v2, credit_live_ref=credit_v1)
