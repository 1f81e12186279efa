"""Every CLI backend operation, locally and against a real server: the same JSON.

Two databases get the same sequence of operations, one through ``LocalBackend`` (the
services in-process), one through ``RemoteBackend`` (HTTP to the real app under uvicorn).
The outputs must be equal once the values that differ by nature are masked: tokens,
timestamps and the audit hashes that depend on them. The test fails when an operation
exists that the sequence does not exercise, so a new operation gets a parity check.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.evaluation.support import guardrails_result
from tests.helpers import BACKEND, PG_URL, ThreadedServer, manifest

from charter.api.app import create_app
from charter.cli.local import LocalBackend
from charter.cli.remote import ROUTES, RemoteBackend
from charter.domain.decisions import DecisionRequest
from charter.domain.errors import CharterError
from charter.domain.risks import RiskChange
from charter.domain.systems import IntakeFile
from charter.monitoring import build_reference
from charter.services import policies
from charter.services.context import Charter
from charter.services.operations import all_operations
from charter.services.users import bootstrap_admin
from charter.settings import Settings
from charter.store.db import Database
from charter.store.migrate import upgrade

pytestmark = pytest.mark.slow

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
_MASKED_KEYS = {
    "token",
    "hash",
    "prev_hash",
    "head_hash",
    "anchor",
    "at",
    "digest_of_event",
    "content_digest",
    "manifest_sha256",
}
_MASKED_KEYS |= {"mttd_seconds", "mttm_seconds", "mean", "median", "max", "markdown"}
#: A rollout's elapsed hours are read off each run's own wall clock (to 3.6 s): the local and
#: remote calls straddle a rounding step when the machine is busy.
_MASKED_KEYS |= {"hours"}


def mask(value: Any, key: str | None = None) -> Any:
    """The value with what differs between two runs of the same operations replaced."""
    if key in _MASKED_KEYS and isinstance(value, str | int | float):
        return f"<{key}>"
    if key == "row_digests" and isinstance(value, dict):
        # Row digests cover timestamps, which differ between the two databases.
        return {k: "<digest>" for k in sorted(value)}
    if isinstance(value, dict):
        return {k: mask(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, str):
        return _TIME.sub("<time>", value)
    return value


def make_database(tmp_path: Path, name: str) -> str:
    if BACKEND == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


class World:
    """One database with an admin and the default policy, and backends acting on it."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        upgrade(self.db)
        self.charter = Charter(self.db)
        with self.db.transaction(write=True) as session:
            _, self.admin = bootstrap_admin(session, "admin", self.charter.clock())
        with self.charter.act(self.admin, write=True) as ctx:
            policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
        self.url = url


@pytest.fixture
def worlds(tmp_path: Path):
    local, remote = (
        World(make_database(tmp_path, "local")),
        World(make_database(tmp_path, "remote")),
    )
    server = ThreadedServer(create_app(remote.charter))
    yield local, remote, server
    server.close()
    local.db.dispose()
    remote.db.dispose()


class Pair:
    """Runs each operation on both backends (as the same-named user) and compares."""

    def __init__(self, local: World, remote: World, server: ThreadedServer, home: Path) -> None:
        self.local, self.remote, self.server, self.home = local, remote, server, home
        self.tokens: dict[str, tuple[str, str]] = {"admin": (local.admin, remote.admin)}
        self.seen: set[str] = set()

    def backends(self, user: str) -> tuple[Any, Any]:
        local_token, remote_token = self.tokens[user]
        local = LocalBackend(Settings(self.home, self.local.url, None, local_token))
        remote = RemoteBackend(Settings(self.home, self.local.url, self.server.url, remote_token))
        return local, remote

    def __call__(self, user: str, operation: str, **arguments: Any) -> dict[str, Any]:
        self.seen.add(operation)
        local, remote = self.backends(user)
        outcomes = []
        for backend in (local, remote):
            try:
                outcomes.append(("ok", backend.call(operation, **dict(arguments))))
            except CharterError as exc:
                outcomes.append((type(exc).__name__, str(exc)))
            finally:
                backend.close()
        (kind_l, out_l), (kind_r, out_r) = outcomes
        assert (kind_l, mask(out_l)) == (kind_r, mask(out_r)), operation
        assert kind_l == "ok", (operation, out_l)
        return out_l  # type: ignore[return-value]

    def refused(self, user: str, operation: str, **arguments: Any) -> str:
        """Both backends refuse the same way; returns the message."""
        self.seen.add(operation)
        local, remote = self.backends(user)
        messages = []
        for backend in (local, remote):
            with pytest.raises(CharterError) as caught:
                backend.call(operation, **dict(arguments))
            backend.close()
            messages.append((type(caught.value).__name__, str(caught.value)))
        assert messages[0] == messages[1], operation
        return messages[0][1]

    def add_user(self, name: str, role: str) -> None:
        """Create the user on both sides; each side's token is its own."""
        self.seen.add("user.create")
        local, remote = self.backends("admin")
        made = [backend.call("user.create", name=name, role=role) for backend in (local, remote)]
        local.close()
        remote.close()
        assert mask(made[0]) == mask(made[1])
        self.tokens[name] = (made[0]["token"], made[1]["token"])


CREDIT = {
    "domain": "credit_scoring",
    "role": "provider_and_deployer",
    "annex_iii": ["5b_creditworthiness"],
    "profiling": True,
    "automated_decision": True,
    "affects_natural_persons": True,
    "uses_personal_data": True,
}


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "inference_id": [f"i{k}" for k in range(300)],
            "x": rng.normal(size=300),
            "sex": rng.choice(["f", "m"], 300),
            "pred": rng.integers(0, 2, 300),
            "y": rng.integers(0, 2, 300),
        }
    )


def test_every_operation_prints_the_same_locally_and_remotely(worlds, tmp_path: Path) -> None:
    local, remote, server = worlds
    run = Pair(local, remote, server, tmp_path)
    for name, role in (
        ("dana", "developer"),
        ("avery", "approver"),
        ("blake", "approver"),
        ("rita", "risk_engineer"),
        ("svc", "service"),
    ):
        run.add_user(name, role)
    run("dana", "whoami")
    run("admin", "user.list", limit=50, offset=0)
    rotated = []
    for backend in run.backends("admin"):
        rotated.append(backend.call("user.token", name="svc"))
        backend.close()
    run.seen.add("user.token")
    assert mask(rotated[0]) == mask(rotated[1])
    run.tokens["svc"] = (rotated[0]["token"], rotated[1]["token"])
    run.add_user("auditor-1", "auditor")

    run(
        "dana",
        "system.register",
        name="credit-limit",
        owner="Retail Credit Risk",
        intake=IntakeFile(answers=CREDIT),
    )
    run(
        "dana",
        "system.register",
        name="chat",
        owner="Support",
        purpose="help desk",
        intake=IntakeFile(answers={"domain": "other"}),
    )
    run("dana", "system.list", limit=10, offset=0)
    run("dana", "system.show", name="credit-limit")
    run("rita", "system.status", name="chat", status="active", reason="launched")
    run(
        "rita",
        "system.intake",
        name="chat",
        intake=IntakeFile(answers={"domain": "other", "interacts_with_people": True}),
    )
    # A developer's intake change is a proposal that a risk engineer accepts.
    run("dana", "system.intake", name="chat", intake=IntakeFile(answers={"domain": "other"}))
    run("rita", "system.intake_accept", name="chat")

    body = manifest(
        "p",
        contract={
            "offline": {"roc_auc": ">= 0.75"},
            "live": {"monitors": ["drift"], "accuracy": ">= 0.6"},
        },
    )
    release = run("dana", "release.create", system="credit-limit", manifest=body)
    ref = f"credit-limit@{release['digest']}"
    second = run("dana", "release.create", system="credit-limit", manifest=manifest("q"))
    other = f"credit-limit@{second['digest']}"
    run("dana", "release.list", system="credit-limit", limit=10, offset=0)
    run("dana", "release.show", ref=ref[:25])

    result = {
        "schema": "charter.evaluation.result/1",
        "suite": {"name": "classification", "version": "1"},
        "dataset": {"sha256": "a" * 64, "rows": 10},
        "metrics": {"overall": {"roc_auc": {"value": 0.8}}, "cohorts": []},
    }
    evidence = run("dana", "evidence.record", ref=ref, result=result)
    run("dana", "evidence.list", system="credit-limit", limit=10, offset=0)
    run("dana", "evidence.list", ref=ref, suite="classification", limit=10, offset=0)
    run("dana", "evidence.show", evidence_id=evidence["id"])
    run("rita", "evidence.reproduce", evidence_id=evidence["id"], result=result)

    profile = build_reference(frame(), features=["x"], prediction="pred", label="y", cohort="sex")
    run("dana", "reference.set", ref=ref, profile=profile.to_dict(), pii=[], dataset_sha256=None)
    run("dana", "reference.show", ref=ref)

    approval = DecisionRequest(
        verdict="approve",
        use_case="limits",
        population="UK retail",
        environments=["prod"],
        expires="90d",
        fallback="static:manual-review",
    )
    assert "may not decision.approve" in run.refused(
        "dana", "decision.create", ref=ref, request=approval
    )
    run("avery", "decision.create", ref=ref, request=approval)
    run("blake", "decision.create", ref=ref, request=approval)
    run("avery", "decision.create", ref=other, request=approval)
    run("dana", "decision.list", system="credit-limit", limit=10, offset=0)
    run("dana", "decision.list", ref=ref, limit=10, offset=0)

    run("dana", "policy.show", version=None)
    run("dana", "policy.show", version=1)
    pack = policies.default_pack().decode("utf-8").replace("name: default", "name: default-copy", 1)
    run("rita", "policy.apply", source=pack, name="copy.yaml")
    run("dana", "policy.list", limit=10, offset=0)
    run("dana", "policy.diff", old=None, new=None, candidate=None)
    run("dana", "policy.diff", old=1, new=None, candidate=policies.default_pack().decode())

    run("dana", "gate.run", ref=ref, environment="prod")
    exception = run(
        "dana",
        "exception.request",
        ref=ref,
        control_id="fallback-tested",
        justification="drill booked",
        compensating="manual queue",
        expires="14d",
        environment="prod",
    )
    run("rita", "exception.decide", exception_id=exception["id"], verdict="approve", note="ok")
    run("dana", "exception.show", exception_id=exception["id"])
    run("dana", "exception.list", status="approved", limit=10, offset=0)

    refusal = run.refused("dana", "deployment.deploy", ref=ref, environment="prod", reason="go")
    assert "deploy refused" in refusal
    # Routing on the lower-tier system: two releases, so that rollback has somewhere to go.
    chat = [
        run(
            "dana",
            "release.create",
            system="chat",
            manifest=manifest(
                seed, contract={}, config={"guardrails": ["prompt_injection", "pii"]}
            ),
        )
        for seed in ("c1", "c2")
    ]
    # Declared guardrails count only with suite evidence: a real guardrails-suite run.
    for made in chat:
        run("dana", "evidence.record", ref=f"chat@{made['digest']}", result=guardrails_result())
    dev = DecisionRequest(
        verdict="approve",
        use_case="help desk",
        population="customers",
        environments=["dev"],
        expires="30d",
        fallback="static:human-agent",
    )
    for made in chat:
        run("avery", "decision.create", ref=f"chat@{made['digest']}", request=dev)
        run("dana", "reference.set", ref=f"chat@{made['digest']}", profile=profile.to_dict())
    for made in chat:
        run(
            "dana",
            "deployment.deploy",
            ref=f"chat@{made['digest']}",
            environment="dev",
            reason="go",
        )
    run("dana", "route.show", system="chat", environment="dev")
    run("dana", "deployment.kill", system="chat", environment="dev", reason="drill")
    run("dana", "deployment.resume", system="chat", environment="dev", reason="ok")
    run("dana", "deployment.rollback", system="chat", environment="dev", reason="back")
    # Safe rollout: a canary of the other release, aborted; a shadow, compared, promoted.
    candidate = f"chat@{chat[1]['digest']}"
    assert "strictly between 0 and 1" in run.refused(
        "dana", "deployment.deploy", ref=candidate, environment="dev", canary=1.5
    )
    run("dana", "deployment.deploy", ref=candidate, environment="dev", canary=0.25, reason="go")
    run("rita", "rollout.show", system="chat", environment="dev")
    run("dana", "status")  # the canary in the status view
    run("dana", "rollout.abort", system="chat", environment="dev", reason="enough")
    run("dana", "deployment.deploy", ref=candidate, environment="dev", shadow=True, system="chat")
    run(
        "svc",
        "shadow.log",
        system="chat",
        environment="dev",
        batch_id="s1",
        records=[
            {
                "inference_id": f"s{k}",
                "release": chat[1]["digest"],
                "live": {"prediction": k % 2, "score": k / 40},
                "shadow": {"prediction": k % 3 % 2, "score": k / 41},
            }
            for k in range(40)
        ],
    )
    run("rita", "rollout.show", system="chat", environment="dev")
    run("dana", "rollout.promote", system="chat", environment="dev", reason="shadow agrees")
    run("dana", "status")

    data = frame()
    run(
        "svc",
        "observations.log",
        system="chat",
        environment="dev",
        batch_id="b1",
        records=data.drop(columns=["y"]),
        release=chat[0]["digest"],
    )
    run(
        "svc",
        "labels.log",
        system="chat",
        environment="dev",
        batch_id="l1",
        labels=[
            {"inference_id": i, "label": int(v)}
            for i, v in zip(data["inference_id"], data["y"], strict=True)
        ],
    )
    # Profiles, not rows: the hourly profiles of the same rows, with their event times.
    from charter.spark import profile_rows, profiles_document

    stamped = data.drop(columns=["y"]).assign(timestamp="2025-01-01T10:20:00+00:00")
    run(
        "svc",
        "profiles.log",
        system="chat",
        environment="dev",
        batch_id="p1",
        document=profiles_document(profile, profile_rows(profile, stamped)),
        release=chat[0]["digest"],
    )
    run(
        "rita",
        "channel.add",
        name="hook",
        kind="slack",
        url="http://127.0.0.1:9/hook",
        secret=None,
        system=None,
        min_severity="warning",
    )
    run("rita", "channel.list")
    run("rita", "alert.list", open_only=False, system=None, limit=10, offset=0)
    run("rita", "monitoring.signals")
    run("rita", "monitoring.windows", system="chat", environment=None, limit=10)

    run("auditor-1", "audit.head")
    run("auditor-1", "audit.log", limit=20, offset=0, action="decision.approve")
    verified = run("auditor-1", "audit.verify", anchor=None)
    assert verified["ok"] is True

    run("auditor-1", "card.show", system="credit-limit", release=None, snapshot=None)
    run("auditor-1", "card.history", system="credit-limit", limit=10)
    run("auditor-1", "kpis.show", period="2025Q1")
    run("auditor-1", "report.portfolio", period="2025Q1")
    # A pack holds audit hashes, which differ between the two databases: compare its shape.
    packs = []
    for backend in run.backends("auditor-1"):
        packs.append(backend.call("pack.export", system="credit-limit"))
        backend.close()
    run.seen.add("pack.export")
    assert sorted(packs[0]["members"]) == sorted(packs[1]["members"])
    assert mask(packs[0]["header"]) == mask(packs[1]["header"])
    # The serving path (services/operations/runtime.py).
    live = chat[0]["digest"]
    run(
        "svc",
        "attestation.report",
        system="chat",
        environment="dev",
        digest=live,
        process_id="host-1:42:abcd",
        host="host-1",
        sdk_version="0.1.0",
    )
    trace = {
        "inference_id": "t1",
        "release_digest": live,
        "served": "release",
        "route_state": "serving",
        "process_id": "host-1:42:abcd",
        "attested_digest": live,
        "guard": {"input": {"blocked": False}},
        "record": {"input": "hello"},
        "flags": [],
        "at": "2026-11-24T12:00:00+00:00",
    }
    run("svc", "trace.record", system="chat", environment="dev", traces=[trace])
    run("rita", "trace.show", inference_id="t1", system=None)
    incident = run(
        "rita",
        "incident.open",
        system="chat",
        environment="dev",
        title="odd answers",
        severity="sev3",
        note="reported by support",
        alert_id=None,
    )
    for step in ("ack", "mitigate", "resolve"):
        run("rita", f"incident.{step}", incident_id=incident["id"], note=step)
    run("rita", "incident.show", incident_id=incident["id"])
    run("rita", "incident.list", system="chat", status=None, limit=10)
    run("rita", "incident.postmortem", incident_id=incident["id"])
    run(
        "rita",
        "incident.postmortem_save",
        incident_id=incident["id"],
        markdown="# Postmortem\n\nRoot cause: a stale prompt.",
    )
    run("rita", "incident.postmortem", incident_id=incident["id"])
    run("rita", "drill.list", system="chat", limit=10)
    run("rita", "incident.metrics", system=None)
    run.refused("rita", "incident.alert_ack", alert_id=999, note="")
    run.refused("rita", "incident.alert_resolve", alert_id=999, note="")
    run.refused("rita", "alert.show", alert_id=999)
    run("rita", "intervention.list", system=None, limit=10)
    run.refused("dana", "drill.run", ref=f"chat@{live}", scenario="earthquake")

    # The risk register (services/operations/risks.py).
    risk = run(
        "dana",
        "risk.add",
        system="credit-limit",
        risk=RiskChange(
            title="Approval rate drops for thin-file applicants",
            category="performance",
            nist_ai_rmf=["MEASURE 2.4"],
            likelihood=3,
            impact=4,
            residual_likelihood=2,
            residual_impact=4,
            owner="rita",
            controls=["eval-performance"],
            signals=["performance"],
        ),
    )
    run("dana", "risk.list", system="credit-limit", status=None)
    run(
        "dana",
        "risk.update",
        system="credit-limit",
        risk_id=risk["id"],
        risk=RiskChange(residual_impact=5),
        note="re-rated",
    )
    assert "likelihood 9" in run.refused(
        "dana",
        "risk.update",
        system="credit-limit",
        risk_id=risk["id"],
        risk=RiskChange(likelihood=9),
    )
    run("rita", "risk.review", system="credit-limit", risk_id=risk["id"], note="checked")
    run("avery", "risk.accept", system="credit-limit", risk_id=risk["id"], note="in appetite")
    run("dana", "risk.seed", system="credit-limit")
    credit_incident = run(
        "rita",
        "incident.open",
        system="credit-limit",
        environment="prod",
        title="approval rate fell",
        severity="sev3",
        note="",
        alert_id=None,
    )
    run("rita", "risk.link_incident", incident_id=credit_incident["id"], risk_id=risk["id"])
    run("dana", "risk.show", system="credit-limit", risk_id=risk["id"])
    run("auditor-1", "risk.assessment", system="credit-limit")

    missing = set(all_operations()) - run.seen
    assert not missing, f"operations without a parity check: {sorted(missing)}"
    assert set(ROUTES) == set(all_operations()), "every operation needs a remote route"


def test_every_remote_route_exists_in_the_api() -> None:
    """The remote backend's table and the API (its OpenAPI document) agree on every route."""
    app = create_app(Charter(Database("sqlite://")))
    served = {
        (method.upper(), re.sub(r"\{[a-z_]+\}", "{}", path))
        for path, item in app.openapi()["paths"].items()
        for method in item
    }

    def template(path: str) -> str:
        path = path.replace("/{ref}", "/systems/{name}/releases/{digest}")
        return re.sub(r"\{[a-z_]+\}", "{}", "/api/v1" + path)

    for name, http in ROUTES.items():
        assert (http.method, template(http.path)) in served, name
    assert json.dumps(sorted(ROUTES))  # the table is plain data
