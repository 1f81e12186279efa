"""Concurrent writers leave a valid audit chain and no duplicates, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from tests.helpers import manifest

from charter.domain.decisions import DecisionRequest
from charter.domain.errors import Conflict
from charter.services import audit, decisions, releases, systems
from charter.services.context import Charter
from charter.store.db import Database
from charter.store.models import AuditEvent, Decision, Release, System

APPROVAL = DecisionRequest(
    verdict="approve", use_case="u", population="p", environments=["prod"], expires="30d"
)


def _count(charter: Charter, model) -> int:
    with charter.db.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _check_chain(charter: Charter, token: str) -> None:
    with charter.act(token, write=False) as ctx:
        report = audit.verify(ctx)
    assert report.ok, report.reason
    assert report.events == _count(charter, AuditEvent)


def test_threads_creating_releases_and_decisions(charter, tokens) -> None:
    with charter.act(tokens["developer"], write=True) as ctx:
        systems.register_system(ctx, "credit-limit", owner="team")

    def create(seed: int) -> str:
        with charter.act(tokens["developer"], write=True) as ctx:
            release, _ = releases.create_release(
                ctx, "credit-limit", manifest(str(seed % 10)), base_dir=None
            )
            return f"credit-limit@{release.digest}"

    def approve(ref: str, who: str) -> None:
        with charter.act(tokens[who], write=True) as ctx:
            decisions.decide(ctx, ref, APPROVAL)

    with ThreadPoolExecutor(max_workers=8) as pool:
        refs = list(pool.map(create, range(40)))
        # 40 submissions of 10 distinct contents: exactly 10 releases, no duplicates.
        assert len(set(refs)) == 10
        futures = [
            pool.submit(approve, ref, who) for ref in set(refs) for who in ("approver", "approver2")
        ]
        for future in futures:
            future.result()
    assert _count(charter, Release) == 10
    assert _count(charter, Decision) == 20
    _check_chain(charter, tokens["auditor"])


def test_threads_racing_for_one_name(charter, tokens) -> None:
    def register(_: int) -> str:
        try:
            with charter.act(tokens["developer"], write=True) as ctx:
                systems.register_system(ctx, "contested", owner="team")
            return "ok"
        except Conflict:  # writes are serialised, so the loser sees a clean conflict
            return "conflict"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(register, range(12)))
    assert outcomes.count("ok") == 1
    assert _count(charter, System) == 1
    _check_chain(charter, tokens["auditor"])


def _worker(url: str, token: str, worker: int, count: int) -> int:
    db = Database(url)
    charter = Charter(db)
    created = 0
    for i in range(count):
        with charter.act(token, write=True) as ctx:
            _, new = releases.create_release(
                ctx, "credit-limit", manifest(f"p{worker}-{i}"), base_dir=None
            )
            created += int(new)
    db.dispose()
    return created


def test_processes_appending_at_once(charter, tokens, database_url) -> None:
    with charter.act(tokens["developer"], write=True) as ctx:
        systems.register_system(ctx, "credit-limit", owner="team")
    before = _count(charter, AuditEvent)
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        created = pool.starmap(
            _worker, [(database_url, tokens["developer"], w, 15) for w in range(4)]
        )
    assert sum(created) == 60
    assert _count(charter, AuditEvent) == before + 60
    _check_chain(charter, tokens["auditor"])
