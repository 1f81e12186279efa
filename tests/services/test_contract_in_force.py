"""One contract: the gate's monitoring control and the worker watch the same monitors and
bounds, an approval can tighten the contract in force and never loosen it."""

from __future__ import annotations

import pytest
from tests.services.support import approve_twice, make_release, satisfy_evidence

from charter.domain.decisions import DecisionRequest
from charter.domain.errors import BadInput
from charter.services import approvals, contracts, decisions, deployments, gates, worker
from charter.services.releases import find_release

CATALOGUE = [
    {},
    {"accuracy": ">= 0.9", "open_after": 2},
    {"monitors": ["drift"], "min_sample": 50},
    {"window": "6h", "latency_p99_ms": "<= 250", "block_rate": "<= 0.02"},
    {"window": "5000 rows", "selection_rate_ratio": ">= 0.8", "close_after": 5},
    {"monitors": ["fairness", "fallback"], "recall": ">= 0.5", "f1": ">= 0.6"},
]


def worker_plan(ctx, ref: str, env: str):
    release = find_release(ctx, ref)
    route = deployments._route(ctx, release.system, env)
    return worker._plan(ctx, route)


@pytest.mark.parametrize("live", CATALOGUE)
def test_gate_and_worker_watch_the_same_plan(system, act, charter, live) -> None:
    ref = make_release(act, seed=str(len(live)) + str(sorted(live)), live=live)
    satisfy_evidence(charter, ref)
    approve_twice(act, ref)
    with act("developer") as ctx:
        deployments.deploy(ctx, ref, "prod")
    with act("developer") as ctx:
        report = gates.run_gate(ctx, ref, "prod").report
        watched = worker_plan(ctx, ref, "prod").to_dict()
    plans = [
        r["evidence"]["plan"]
        for r in report["results"]
        if r["kind"] == "live_monitors" and r["status"] != "not_applicable"
    ]
    assert plans and all(plan == watched for plan in plans)
    assert report["passed"], [r for r in report["results"] if r["status"] == "fail"]


def tighten(act, ref: str, contract: dict, who: str = "approver"):
    body = {
        "verdict": "approve",
        "use_case": "limit increases",
        "population": "UK retail",
        "environments": ["prod"],
        "expires": "90d",
        "fallback": "static:manual-review",
        "contract": contract,
    }
    with act(who) as ctx:
        return decisions.decide(ctx, ref, DecisionRequest(**body))


def test_an_approval_tightens_what_gate_and_worker_enforce(system, act, charter) -> None:
    ref = make_release(act, live={"accuracy": ">= 0.7"})
    satisfy_evidence(charter, ref)
    release_contract = {
        "offline": {"roc_auc": ">= 0.75", "demographic_parity_ratio[sex]": ">= 0.8"},
        "live": {
            "monitors": ["performance", "drift", "fairness", "latency", "guardrails"],
            "accuracy": ">= 0.9",
        },
    }
    tighten(
        act,
        ref,
        {**release_contract, "offline": {**release_contract["offline"], "roc_auc": ">= 0.95"}},
    )
    tighten(act, ref, release_contract, who="approver2")
    with act("developer") as ctx:
        report = gates.run_gate(ctx, ref, "prod").report
    assert "roc_auc >= 0.95" in report["contract"]["offline"]
    failed = {r["control_id"]: r["reason"] for r in report["results"] if r["status"] == "fail"}
    # The stored evidence measured roc_auc = 0.8: it met the release's bound, not the approval's.
    assert any("roc_auc >= 0.95" in reason for reason in failed.values()), failed
    with act("developer") as ctx:
        release = find_release(ctx, ref)
        facts = approvals.decision_facts(approvals.release_decisions(ctx, release))
        state = approvals.approval_for(ctx, release, "prod", facts=facts)
        in_force = contracts.contract_in_force(release, facts, state)
    assert [str(b) for b in in_force.live.bounds] == ["accuracy >= 0.9"]


def test_a_looser_approval_is_refused_and_writes_nothing(system, act, charter) -> None:
    ref = make_release(act)
    looser = {"offline": {"roc_auc": ">= 0.5", "demographic_parity_ratio[sex]": ">= 0.8"}}
    with pytest.raises(BadInput, match="loosens or drops the bound 'roc_auc >= 0.75'"):
        tighten(act, ref, looser)
    with act("developer") as ctx:
        assert approvals.approvals_of(ctx, find_release(ctx, ref)) == []
