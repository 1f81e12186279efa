"""The tamper catalogue: each attack an attacker with SQL access could make, performed on the
real database, and what `audit verify` says about it, without and with signed checkpoints.

``docs/audit.md`` reproduces this table. Only two rows stay "OK" without checkpoints (the
tail deleted with the state check off, and the chain rewritten and re-hashed); with
checkpoints every attack is named.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.store.support import AUDIT_KEY, install, outcome, rehash_from, sql, verify


@pytest.fixture
def installed(charter, act, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CHARTER_AUDIT_KEY", AUDIT_KEY)
    return install(charter, act, tmp_path)


def _id(charter, query: str) -> int:
    from sqlalchemy import text

    with charter.db.engine.connect() as conn:
        return int(conn.execute(text(query)).scalar())


NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _edit_event(i) -> None:
    sql(i.charter, "UPDATE audit_events SET payload = :p WHERE seq = 5", p='{"owner":"mallory"}')


def _delete_event(i) -> None:
    sql(i.charter, "DELETE FROM audit_events WHERE seq = 6")


def _insert_event(i) -> None:
    sql(i.charter, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 6")
    sql(i.charter, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
    sql(
        i.charter,
        "INSERT INTO audit_events (seq, at, actor, action, entity_type, entity_id, payload, "
        "prev_hash, hash) SELECT 6, at, 'mallory', 'user.created', 'user', 'mallory', '{}', "
        "hash, :h FROM audit_events WHERE seq = 5",
        h="e" * 64,
    )


def _reorder(i) -> None:
    sql(i.charter, "UPDATE audit_events SET seq = -1 WHERE seq = 8")
    sql(i.charter, "UPDATE audit_events SET seq = 8 WHERE seq = 9")
    sql(i.charter, "UPDATE audit_events SET seq = 9 WHERE seq = -1")


def _truncate_tail(i) -> None:
    sql(i.charter, "DELETE FROM audit_events WHERE seq > :s", s=i.head - 2)


def _delete_all(i) -> None:
    sql(i.charter, "DELETE FROM audit_events")


def _rewrite_rehash(i) -> None:
    # Edit an early event (who registered the system) and recompute the chain after it.
    seq = _id(i.charter, "SELECT min(seq) FROM audit_events WHERE action = 'system.registered'")
    sql(i.charter, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :s", s=seq)
    rehash_from(i.charter, seq)


def _users_role(i) -> None:
    sql(i.charter, "UPDATE users SET role = 'approver' WHERE name = 'developer'")


def _decisions_verdict(i) -> None:
    sql(
        i.charter,
        "UPDATE decisions SET verdict = 'reject' WHERE id = (SELECT min(id) FROM decisions)",
    )


def _decisions_actor(i) -> None:
    admin = _id(i.charter, "SELECT id FROM users WHERE name = 'admin'")
    sql(
        i.charter,
        "UPDATE decisions SET actor_id = :a WHERE id = (SELECT max(id) FROM decisions)",
        a=admin,
    )


def _decision_deleted(i) -> None:
    sql(i.charter, "DELETE FROM decisions WHERE id = (SELECT max(id) FROM decisions)")


def _systems_tier(i) -> None:
    sql(i.charter, "UPDATE systems SET tier = 'minimal'")


def _systems_intake(i) -> None:
    sql(i.charter, "UPDATE systems SET intake = :j", j='{"domain": "marketing"}')


def _releases_manifest(i) -> None:
    sql(i.charter, "UPDATE releases SET label = 'v1-hotfix'")


def _components_spec(i) -> None:
    sql(i.charter, "UPDATE components SET spec = :j WHERE position = 0", j='{"uri": "s3://evil"}')


def _exception_expiry(i) -> None:
    sql(i.charter, "UPDATE policy_exceptions SET expires_at = :t", t=datetime(2030, 1, 1))


def _policy_source(i) -> None:
    sql(i.charter, "UPDATE policy_versions SET source = 'name: lax'")


def _gate_run_passed(i) -> None:
    sql(i.charter, "UPDATE gate_runs SET passed = :t", t=True)


def _evidence_inserted(i) -> None:
    release = _id(i.charter, "SELECT min(id) FROM releases")
    sql(
        i.charter,
        "INSERT INTO evidence (release_id, suite, suite_version, digest, dataset_sha256, passed, "
        "bounds, result, created_at, created_by) VALUES (:r, 'fallback-drill', '1', :d, NULL, "
        ":t, '[]', '{}', :now, 'developer')",
        r=release,
        d="f" * 64,
        t=True,
        now=NOW,
    )


def _token_planted(i) -> None:
    approver = _id(i.charter, "SELECT id FROM users WHERE name = 'approver'")
    sql(
        i.charter,
        "INSERT INTO api_tokens (user_id, token_hash, prefix, created_at) VALUES (:u, :h, 'chtr_x', :now)",
        u=approver,
        h="d" * 64,
        now=NOW,
    )


def _user_inserted(i) -> None:
    sql(
        i.charter,
        "INSERT INTO users (name, role, created_at, disabled) VALUES ('mallory', 'admin', :now, :f)",
        now=NOW,
        f=False,
    )


def _route_inserted(i) -> None:
    system = _id(i.charter, "SELECT min(id) FROM systems")
    release = _id(i.charter, "SELECT min(id) FROM releases")
    sql(
        i.charter,
        "INSERT INTO routes (system_id, environment, release_id, state, reason, updated_at, "
        "updated_by) VALUES (:s, 'prod', :r, 'serving', '', :now, 'mallory')",
        s=system,
        r=release,
        now=NOW,
    )


def _deployment_inserted(i) -> None:
    system = _id(i.charter, "SELECT min(id) FROM systems")
    sql(
        i.charter,
        "INSERT INTO deployments (system_id, environment, action, reason, created_at, created_by) "
        "VALUES (:s, 'prod', 'deploy', '', :now, 'mallory')",
        s=system,
        now=NOW,
    )


CHANGED = "the event was changed"
ROW = "the row differs from what the audit chain recorded"
NO_EVENT = "no audit event recorded this row"

#: (attack, what verify names without checkpoints, what it names with them).
CATALOGUE = [
    ("edit an event", _edit_event, CHANGED, CHANGED),
    ("delete an event", _delete_event, "event(s) deleted", "event(s) deleted"),
    ("insert an event", _insert_event, CHANGED, CHANGED),
    ("reorder events", _reorder, "inserted, deleted or reordered", "reordered"),
    ("truncate the tail", _truncate_tail, "policy_exceptions/1: " + ROW, "the chain was truncated"),
    ("delete every event", _delete_all, "users/1: " + NO_EVENT, "every event was deleted"),
    ("rewrite an event and re-hash the chain", _rewrite_rehash, "OK", "the chain was rewritten"),
    ("users.role", _users_role, ": " + ROW, ": " + ROW),
    ("decisions.verdict", _decisions_verdict, "decisions/1: " + ROW, "decisions/1: " + ROW),
    ("decisions.actor_id", _decisions_actor, "decisions/2: " + ROW, "decisions/2: " + ROW),
    ("a decision deleted", _decision_deleted, "decisions/2: the row was deleted", "decisions/2"),
    ("systems.tier", _systems_tier, "systems/1: " + ROW, "systems/1: " + ROW),
    ("systems.intake", _systems_intake, "systems/1: " + ROW, "systems/1: " + ROW),
    ("releases.label", _releases_manifest, "releases/1: " + ROW, "releases/1: " + ROW),
    ("components.spec", _components_spec, "components/1: " + ROW, "components/1: " + ROW),
    ("policy_exceptions.expires_at", _exception_expiry, "policy_exceptions/1: " + ROW, ROW),
    ("policy_versions.source", _policy_source, "policy_versions/1: " + ROW, ROW),
    ("gate_runs.passed", _gate_run_passed, "gate_runs/1: " + ROW, ROW),
    ("evidence inserted", _evidence_inserted, "evidence/1: " + NO_EVENT, NO_EVENT),
    ("api token planted", _token_planted, ": " + NO_EVENT, NO_EVENT),
    ("user inserted", _user_inserted, ": " + NO_EVENT, NO_EVENT),
    ("route inserted", _route_inserted, "routes/1: " + NO_EVENT, NO_EVENT),
    ("deployment inserted", _deployment_inserted, "deployments/1: " + NO_EVENT, NO_EVENT),
]


def test_untouched_installation_verifies_with_and_without_checkpoints(installed) -> None:
    for with_checkpoints in (False, True):
        report, problems = verify(installed, with_checkpoints=with_checkpoints)
        assert report.ok, outcome(report)
        assert not problems
        assert report.rows_checked and report.rows_checked >= 15
    assert report.chain.anchors == 2 and report.chain.covered_seq == installed.head


@pytest.mark.parametrize(
    ("attack", "plain", "checked"),
    [pytest.param(a, p, c, id=name) for name, a, p, c in CATALOGUE],
)
def test_tamper_catalogue(installed, attack, plain: str, checked: str) -> None:
    attack(installed)
    report, _ = verify(installed, with_checkpoints=False)
    if plain == "OK":
        assert report.ok, outcome(report)  # the limit checkpoints exist for
    else:
        assert not report.ok
        assert plain in outcome(report)
    report, problems = verify(installed, with_checkpoints=True)
    assert not problems  # the sink itself is untouched
    assert not report.ok
    assert checked in outcome(report)


def test_truncated_tail_passes_a_chain_only_check(installed) -> None:
    _truncate_tail(installed)
    report, _ = verify(installed, with_checkpoints=False, state=False)
    assert report.ok  # a shorter chain is internally consistent...
    report, _ = verify(installed, with_checkpoints=True, state=False)
    assert "truncated" in report.reason  # ...but not with its signed checkpoint
    assert f"shows event {installed.head} existed" in report.reason


def test_a_forged_or_edited_checkpoint_is_named(installed) -> None:
    lines = installed.sink.read_text().splitlines()
    forged = lines[-1].replace('"seq":', '"seq":1', 1)
    installed.sink.write_text("\n".join([*lines, forged, "not json"]) + "\n")
    _, problems = verify(installed, with_checkpoints=True)
    assert any("forged or altered" in p for p in problems)
    assert any("unreadable" in p for p in problems)


def test_a_checkpoint_signed_with_another_key_is_refused(installed, monkeypatch) -> None:
    monkeypatch.setenv("CHARTER_AUDIT_KEY", "another-key-entirely-0123456789")
    _, problems = verify(installed, with_checkpoints=True)
    assert problems and all("signed with another key" in p for p in problems)


def test_rows_changed_after_the_last_event_are_recorded_at_commit(installed) -> None:
    from charter.services import systems

    with installed.act("developer") as ctx:
        system = systems.find_system(ctx, "credit-limit")
        system.purpose = "changed inside the transaction"
        ctx.session.flush()
        from charter.services import audit

        audit.record(ctx, "system.note", "system", "credit-limit", {})
        system.purpose = "changed again after the event"
    report, _ = verify(installed, with_checkpoints=True)
    assert report.ok, outcome(report)


@pytest.mark.parametrize("attack", [None, _delete_event, _reorder, _edit_event, _users_role])
def test_verify_across_processes_finds_what_one_process_finds(
    installed, monkeypatch, attack
) -> None:
    """The chain read in ranges by worker processes (forced here on a short chain), the
    links joined after: the same report as one process, at range boundaries too."""
    from charter.services import audit, audit_verify

    if attack is not None:
        attack(installed)
    with installed.act("auditor", write=False) as ctx:
        alone = audit.verify(ctx, workers=1)
    monkeypatch.setattr(audit_verify, "PARALLEL_MIN_EVENTS", 1)
    for workers in (2, 3, 5):
        with installed.act("auditor", write=False) as ctx:
            spread = audit.verify(ctx, workers=workers)
        assert (spread.ok, spread.events, spread.broken_seq, spread.reason) == (
            alone.ok,
            alone.events,
            alone.broken_seq,
            alone.reason,
        ), workers
        assert spread.rows_checked == alone.rows_checked
