"""`charter status` shows a route's active canary or shadow, on SQLite and PostgreSQL.

The status view (the ``status`` operation, the same read-model as the fast CLI path and
the console) carries a ``rollout`` entry per environment and a flag while the period
runs, null again once it is promoted or aborted; the minimum period comes from the pack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
from tests.conftest import FakeClock

from charter.services import deployments, policies, rollouts
from charter.services.operations import find

from .support import release_from, write_release

REQUIREMENT = """
rollout:
  requirements:
    - {tiers: [high], environments: [prod], kinds: [canary, shadow], min_hours: 6}
"""


def _status(act: Any) -> dict[str, Any]:
    """The status operation's JSON, checked against the document the API publishes."""
    from charter.api.app import create_app
    from charter.services.context import Charter
    from charter.store.db import Database

    with act("admin", write=False) as ctx:
        data: dict[str, Any] = find("status").function(ctx).model_dump(mode="json")
    document = create_app(Charter(Database("sqlite://"))).openapi()
    schema = document["components"]["schemas"]["StatusView"]
    jsonschema_rs.validate(schema, data)  # as Schemathesis checks responses
    return data


def _prod(data: dict[str, Any]) -> dict[str, Any]:
    (system,) = [s for s in data["systems"] if s["name"] == "credit-limit"]
    (env,) = [e for e in system["environments"] if e["environment"] == "prod"]
    return dict(env, needs_attention=system["needs_attention"])


def _rollout_flags(env: dict[str, Any]) -> list[str]:
    return [f for f in env["flags"] if f.startswith(("canary:", "shadow:"))]


def test_status_shows_a_canary_then_a_shadow_and_forgets_them_when_ended(
    charter: Any, act: Any, system: str, tmp_path: Path, clock: FakeClock
) -> None:
    live = release_from(charter, act, write_release(tmp_path / "r1"))
    candidate = release_from(charter, act, write_release(tmp_path / "r2", seed="2"), deploy=False)
    short = candidate[: len("credit-limit@") + 12]
    before = _prod(_status(act))
    assert before["rollout"] is None and _rollout_flags(before) == []

    with act("developer") as ctx:
        deployments.deploy(ctx, candidate, "prod", canary=0.1, reason="ten percent")
    started = clock()
    env = _prod(_status(act))
    assert env["release"] == live  # the live release still takes the rest
    assert env["rollout"] == {
        "kind": "canary",
        "release": short,
        "share": 0.1,
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "min_hours": None,  # the default pack asks for no period
        "min_period_elapsed": None,
        "state": "active",
        "held_because": None,
    }
    assert _rollout_flags(env) == [f"canary: 10% to {short}"]
    assert env["needs_attention"]

    # Killed: the candidate is held (nobody is routed to it), and the flag says so.
    with act("developer") as ctx:
        deployments.kill(ctx, "credit-limit", "prod", reason="drill")
    held = _prod(_status(act))
    assert held["rollout"]["state"] == "held"
    assert held["rollout"]["held_because"] == "the route is killed"
    assert _rollout_flags(held) == [f"canary: 10% to {short} (held: the route is killed)"]
    with act("developer") as ctx:
        deployments.resume(ctx, "credit-limit", "prod", reason="drill over")
        rollouts.abort(ctx, "credit-limit", "prod", reason="enough")
    aborted = _prod(_status(act))
    assert aborted["rollout"] is None and _rollout_flags(aborted) == []

    with act("developer") as ctx:
        deployments.deploy(ctx, candidate, "prod", shadow=True)
    shadowed = _prod(_status(act))
    assert shadowed["rollout"]["kind"] == "shadow" and shadowed["rollout"]["share"] is None
    assert _rollout_flags(shadowed) == [f"shadow: {short}"]
    with act("developer") as ctx:
        rollouts.promote(ctx, "credit-limit", "prod", reason="shadow agrees")
    promoted = _prod(_status(act))
    assert promoted["rollout"] is None and _rollout_flags(promoted) == []
    assert promoted["release"] == candidate


def test_status_says_whether_the_packs_minimum_period_has_elapsed(
    charter: Any,
    act: Any,
    tokens: dict[str, str],
    system: str,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    release_from(charter, act, write_release(tmp_path / "r1"))
    candidate = release_from(charter, act, write_release(tmp_path / "r2", seed="2"), deploy=False)
    short = candidate[: len("credit-limit@") + 12]
    pack = policies.default_pack().decode().replace("rollout:\n  requirements: []\n", REQUIREMENT)
    with charter.act(tokens["admin"], write=True) as ctx:
        policies.apply_policy(ctx, pack.encode(), "rollout.yaml")
    with act("developer") as ctx:
        deployments.deploy(ctx, candidate, "prod", canary=0.25)
    clock.advance(hours=5, minutes=59)
    early = _prod(_status(act))
    assert early["rollout"]["min_hours"] == 6.0
    assert early["rollout"]["min_period_elapsed"] is False
    assert _rollout_flags(early) == [f"canary: 25% to {short} (6 h minimum not elapsed yet)"]
    clock.advance(minutes=1)
    on_time = _prod(_status(act))
    assert on_time["rollout"]["min_period_elapsed"] is True
    assert _rollout_flags(on_time) == [f"canary: 25% to {short} (6 h minimum elapsed)"]


def test_a_candidate_whose_approval_lapsed_is_held_as_the_route_says(
    charter: Any, act: Any, system: str, tmp_path: Path, clock: FakeClock
) -> None:
    release_from(charter, act, write_release(tmp_path / "r1"))
    candidate = release_from(
        charter, act, write_release(tmp_path / "r2", seed="2"), deploy=False, expires="2d"
    )
    short = candidate[: len("credit-limit@") + 12]
    with act("developer") as ctx:
        deployments.deploy(ctx, candidate, "prod", shadow=True)
    assert _prod(_status(act))["rollout"]["state"] == "active"
    clock.advance(days=3)
    with act("service", write=False) as ctx:
        assert deployments.route_view(ctx, "credit-limit", "prod")["rollout"] is None
    env = _prod(_status(act))
    assert env["rollout"]["state"] == "held"
    assert env["rollout"]["held_because"] == "the candidate's approval is expired"
    assert _rollout_flags(env) == [f"shadow: {short} (held: the candidate's approval is expired)"]
