"""The console's portfolio shows a route's active canary or shadow, through the real ASGI app
on SQLite and PostgreSQL: in the Routing column, and its flag under "Needs a look"."""

from __future__ import annotations

import re
from html import unescape

from charter.services import decisions, deployments, releases, rollouts
from tests.web.seed import approval, manifest


def _row(html: str, system: str) -> str:
    found = re.search(rf'<tr [^>]*data-system="{system}">(.*?)</tr>', html, re.S)
    assert found, f"no row of {system}"
    return found.group(1)


def _candidate(charter, seeded) -> str:
    """The forecast's next release, approved (its live one is v12)."""
    with charter.act(seeded.tokens["dev"], write=True) as ctx:
        created, _ = releases.create_release(
            ctx, "churn-forecast", manifest("v13", "churn-arima-2"), base_dir=None
        )
    ref = f"churn-forecast@{created.digest}"
    with charter.act(seeded.tokens["bob"], write=True) as ctx:
        decisions.decide(ctx, ref, approval(use_case="retention planning", fallback=None))
    return ref


def test_the_portfolio_shows_a_canary_then_a_shadow_in_the_routing_column(
    signed_in, charter, seeded
) -> None:
    client, _ = signed_in("rita")
    assert "canary" not in _row(client.get("/?show=all").text, "churn-forecast")
    candidate = _candidate(charter, seeded)
    short = candidate[: len("churn-forecast@") + 12]
    with charter.act(seeded.tokens["dev"], write=True) as ctx:
        deployments.deploy(ctx, candidate, "prod", canary=0.1, reason="a tenth first")
    row = _row(client.get("/?show=all").text, "churn-forecast")
    routing = re.search(r'<small class="rollout" title="([^"]+)">([^<]+)</small>', row)
    assert routing, row
    assert routing.group(2) == "canary 10%"
    assert unescape(routing.group(1)).startswith(f"canary of {short} since ")
    assert f"<span>canary: 10% to {short}</span>" in row  # "Needs a look"
    # The flag puts the system among those that need a look.
    attention = client.get("/?show=attention", headers={"HX-Request": "true"}).text
    assert "churn-forecast" in re.findall(r'data-system="([^"]+)"', attention)

    with charter.act(seeded.tokens["dev"], write=True) as ctx:
        rollouts.abort(ctx, "churn-forecast", "prod", reason="enough")
        deployments.deploy(ctx, candidate, "prod", shadow=True)
    row = _row(client.get("/?show=all").text, "churn-forecast")
    assert '<small class="rollout"' in row and ">shadow</small>" in row
    assert f"<span>shadow: {short}</span>" in row
    with charter.act(seeded.tokens["dev"], write=True) as ctx:
        rollouts.promote(ctx, "churn-forecast", "prod", reason="shadow agrees")
    row = _row(client.get("/?show=all").text, "churn-forecast")
    assert 'class="rollout"' not in row and "shadow:" not in row
