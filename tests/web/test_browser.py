"""The console in a real headless Chromium against a real server process.

Each test opens a fresh browser context (no cookies) and signs in through the form as a
person would. The server's database is shared by the session, so each test acts on its
own system or reads what it changed back through the services.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from charter.domain.decisions import DecisionRequest
from charter.domain.systems import IntakeFile
from charter.domain.window_results import Breach
from charter.services import alerts, decisions, deployments, incidents, releases, users
from charter.services import systems as system_service
from charter.store.models import Decision, Route, User
from charter.web.session import COOKIE_NAME, SessionCodec
from tests.web.conftest import SESSION_KEY, Server, browser_sign_in

pytestmark = pytest.mark.browser
SCRIPT = "<script>window.__pwned = 1</script>"
IMAGE = '<img src="x" onerror="window.__pwned = 2">'


def route_state(server: Server, system: str, environment: str = "prod") -> str:
    with server.charter.db.transaction(write=False) as session:
        state = session.scalar(
            select(Route.state)
            .join(Route.system)
            .where(Route.environment == environment, Route.system.has(name=system))
        )
    assert state is not None
    return str(state)


def decision_count(server: Server) -> int:
    with server.charter.db.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Decision)) or 0)


def reason_of(page: Any) -> str:
    return str(page.text_content("[data-testid=reason]") or "")


def test_sign_in_then_portfolio_filter_and_search(page: Any, server: Server, shots: Any) -> None:
    page.goto("/")
    assert "/signin" in page.url  # not signed in: sent to the sign-in form
    page.fill("#token", "chtr_not-a-real-token")
    page.click("button[type=submit]")
    assert "not valid" in (page.text_content("[role=alert]") or "")
    shots(page, "signin")
    browser_sign_in(page, server.seeded.tokens["rita"])
    assert page.url.rstrip("/") == server.base
    assert page.text_content("h1") == "Portfolio"
    systems = page.locator("tbody tr[data-system]").evaluate_all(
        "rows => [...new Set(rows.map(r => r.dataset.system))]"
    )
    assert {
        "credit-limit",
        "support-assistant",
        "fraud-score",
        "churn-forecast",
        "doc-search",
    } <= set(systems)
    fraud = page.locator("tr[data-system=fraud-score]").first
    assert "killed" in (fraud.text_content() or "")
    assert page.locator("tr[data-system=fraud-score] .light.red").count() >= 1
    assert "Expiring within 14 days" in (page.text_content(".expiring") or "")
    shots(page, "portfolio")
    # Search through htmx: only the table is replaced, and the URL follows.
    with page.expect_response(
        lambda r: "q=fraud" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        page.fill("input[name=q]", "fraud")
    expect(page.locator("tbody tr[data-system]")).to_have_count(1)
    assert page.text_content("[data-testid=shown]").startswith("1 of ")
    assert "q=fraud" in page.url
    page.select_option("select[name=show]", "not-live")
    page.fill("input[name=q]", "")
    expect(page.locator("tbody tr[data-system]")).to_have_attribute("data-system", "doc-search")
    assert page.errors == []


def test_system_page_shows_routing_releases_and_decisions(
    page: Any, server: Server, shots: Any
) -> None:
    browser_sign_in(page, server.seeded.tokens["rita"])
    page.click("a[href='/systems/credit-limit']")
    page.wait_for_url("**/systems/credit-limit")
    assert page.text_content("[data-testid=route-state-prod]").strip() == "serving"
    digest = server.seeded.credit_live_ref.split("@")[1]
    assert digest in (page.text_content("#releases-title + details, section") or "") or (
        digest in page.content()
    )
    decisions_text = page.text_content("table.decisions") or ""
    assert "ann" in decisions_text and "bob" in decisions_text
    # The levers a risk engineer may pull: kill (a fallback is approved), no resume.
    assert page.locator("form.kill button").count() == 1
    assert page.locator("form.resume").count() == 0
    shots(page, "system")


def test_approve_as_approver_refused_as_author(
    page: Any, browser: Any, server: Server, shots: Any
) -> None:
    ref = server.seeded.pending_ref
    before = decision_count(server)
    # rita created the release; the policy lets risk engineers approve high-tier releases,
    # so she sees the form, and the service refuses her exactly as the API would.
    browser_sign_in(page, server.seeded.tokens["rita"], "/approvals")
    item = page.locator(f"article[data-ref='{ref}']")
    assert "awaiting a first decision" in (item.text_content() or "")
    shots(page, "approvals")
    item.locator("button[value=approve]").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("h1 .code").text_content() == "403"
    assert "separation of duties" in reason_of(page)
    assert decision_count(server) == before
    # ann, an approver, approves it: one of the two approvals the high tier needs.
    context = browser.new_context(base_url=server.base)
    try:
        other = context.new_page()
        browser_sign_in(other, server.seeded.tokens["ann"], "/approvals")
        other.locator(f"article[data-ref='{ref}'] button[value=approve]").click()
        other.wait_for_load_state("domcontentloaded")
        assert "approved" in (other.text_content(".flash.ok") or "")
        assert "1 of 2 approvals for prod" in (
            other.locator(f"article[data-ref='{ref}']").text_content() or ""
        )
    finally:
        context.close()
    assert decision_count(server) == before + 1


def test_kill_and_resume_change_the_routing_state(page: Any, server: Server, shots: Any) -> None:
    browser_sign_in(page, server.seeded.tokens["dev"], "/systems/support-assistant")
    assert route_state(server, "support-assistant") == "serving"
    page.fill("form.kill input[name=reason]", "jailbreak wave in progress")
    page.click("form.kill button")
    page.wait_for_load_state("domcontentloaded")
    assert "killed" in (page.text_content(".flash.ok") or "")
    assert page.text_content("[data-testid=route-state-prod]").strip() == "killed"
    assert route_state(server, "support-assistant") == "killed"
    assert "static human-agent" in (page.text_content("article.route") or "")
    shots(page, "system-killed")
    page.fill("form.resume input[name=reason]", "guard rules updated")
    page.click("form.resume button")
    page.wait_for_load_state("domcontentloaded")
    assert page.text_content("[data-testid=route-state-prod]").strip() == "serving"
    assert route_state(server, "support-assistant") == "serving"


def test_audit_page_verifies_the_chain(page: Any, server: Server, shots: Any) -> None:
    browser_sign_in(page, server.seeded.tokens["audrey"], "/audit")
    chain = page.text_content("[data-testid=chain]") or ""
    assert "Chain verified" in chain
    with server.charter.act(server.seeded.tokens["audrey"], write=False) as ctx:
        from charter.services import audit

        report = audit.verify(ctx)
    assert f"{report.events} events" in chain and report.head_hash in chain
    shots(page, "audit")


def test_forged_or_missing_csrf_token_is_refused(page: Any, server: Server) -> None:
    browser_sign_in(page, server.seeded.tokens["dev"], "/systems/credit-limit")
    page.fill("form.kill input[name=reason]", "forged")
    page.evaluate("document.querySelector('form.kill [name=csrf_token]').value = 'forged-token'")
    page.click("form.kill button")
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("h1 .code").text_content() == "403"
    assert "does not match this session" in reason_of(page)
    assert route_state(server, "credit-limit") == "serving"
    page.goto("/systems/credit-limit")
    page.fill("form.kill input[name=reason]", "no token")
    page.evaluate("document.querySelector('form.kill [name=csrf_token]').remove()")
    page.click("form.kill button")
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("h1 .code").text_content() == "403"
    assert "carries no CSRF token" in reason_of(page)
    assert route_state(server, "credit-limit") == "serving"


def _forged_cookie(server: Server, user: str, *, expires_in: float) -> dict[str, Any]:
    """A session cookie signed with the server's key, as the server itself would sign it."""
    token = server.seeded.tokens[user]
    with server.charter.db.transaction(write=False) as session:
        user_id = session.scalar(select(User.id).where(User.name == user))
    assert user_id is not None
    codec = SessionCodec(SESSION_KEY.encode(), lifetime_seconds=expires_in, clock=time.time)
    value = codec.dumps(codec.signed_in(user_id, users.hash_token(token)))
    return {"name": COOKIE_NAME, "value": value, "url": server.base}


def test_expired_session_is_sent_to_sign_in(page: Any, server: Server) -> None:
    # The same forgery with a future expiry is accepted: the cookie is built right.
    page.context.add_cookies([_forged_cookie(server, "audrey", expires_in=600)])
    page.goto("/audit")
    assert page.text_content("h1") == "Audit log"
    page.context.clear_cookies()
    page.context.add_cookies([_forged_cookie(server, "audrey", expires_in=-1)])
    page.goto("/audit")
    assert "/signin" in page.url and "next=/audit" in page.url
    assert "session has expired" in (page.text_content("[role=status]") or "")


def test_rotating_the_token_ends_the_session(page: Any, server: Server) -> None:
    with server.charter.act(server.seeded.tokens["admin"], write=True) as ctx:
        _, token = users.create_user(ctx, "temp-ops", "developer")
    browser_sign_in(page, token, "/alerts")
    assert page.text_content("h1") == "Alerts"
    with server.charter.act(server.seeded.tokens["admin"], write=True) as ctx:
        users.rotate_token(ctx, "temp-ops")
    page.goto("/alerts")
    assert "/signin" in page.url
    assert "session has ended" in (page.text_content("[role=status]") or "")


def test_a_viewer_pressing_an_approvers_button_is_refused(page: Any, server: Server) -> None:
    ref = server.seeded.pending_ref
    before = decision_count(server)
    browser_sign_in(page, server.seeded.tokens["audrey"], "/approvals")
    item = page.locator(f"article[data-ref='{ref}']")
    assert item.locator("form.decide").count() == 0  # no button for an auditor
    assert "may not decide" in (item.text_content() or "")
    # She builds the approver's form herself, with her own valid session and CSRF token.
    system, digest = ref.split("@")
    page.evaluate(
        """([action]) => {
            const form = document.createElement('form');
            form.method = 'post'; form.action = action;
            const csrf = document.querySelector('input[name=csrf_token]').value;
            for (const [k, v] of Object.entries({csrf_token: csrf, verdict: 'approve',
                use_case: 'x', population: 'y', environments: 'prod', expires: '30d'})) {
              const input = document.createElement('input');
              input.type = 'hidden'; input.name = k; input.value = v; form.append(input);
            }
            document.body.append(form); form.submit();
        }""",
        [f"/releases/{system}/{digest}/decide"],
    )
    page.wait_for_url("**/decide")
    assert page.locator("h1 .code").text_content() == "403"
    assert "may not decision.approve" in reason_of(page)
    assert decision_count(server) == before


def test_script_in_names_notes_and_alerts_is_shown_escaped(page: Any, server: Server) -> None:
    charter = server.charter
    tokens = server.seeded.tokens
    with charter.act(tokens["dev"], write=True) as ctx:
        system_service.register_system(
            ctx,
            "injection-probe",
            intake=IntakeFile(owner=SCRIPT, purpose=IMAGE, answers={"domain": "other"}),
        )
        from tests.web.seed import manifest

        release, _ = releases.create_release(
            ctx, "injection-probe", manifest("v1", "probe"), base_dir=None
        )
    with charter.act(tokens["ann"], write=True) as ctx:
        decisions.decide(
            ctx,
            f"injection-probe@{release.digest}",
            DecisionRequest(verdict="reject", note=SCRIPT + IMAGE),
        )
    with charter.act(tokens["rita"], write=True) as ctx:
        fraud = deployments.routes_of(ctx, system_service.get_system(ctx, "fraud-score"))[0]
        alerts.open_alert(
            ctx,
            fraud,
            "fraud-score:prod:probe",
            Breach(
                monitor="quality",
                subject=IMAGE,
                severity="warning",
                value=1,
                bound=SCRIPT,
                n=10,
                breached=True,
            ),
            ctx.now(),
            {"start": "a", "end": "b"},
        )
    # Markup in a URL's system name reaches the 404 page as text.
    browser_sign_in(
        page, tokens["rita"], "/systems/%3Cimg%20src%3Dx%20onerror%3D%22window.__pwned%3D3%22%3E"
    )
    assert "no system named '<img src=x onerror=\"window.__pwned=3\">'" in reason_of(page)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
    for path in ("/", "/systems/injection-probe", "/alerts", "/audit"):
        page.goto(path)
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("img[src=x]").count() == 0, path
        assert page.locator("script:not([src])").count() == 0, path
    page.goto("/systems/injection-probe")
    assert page.text_content("[data-testid=owner]") == SCRIPT
    assert page.text_content("[data-testid=purpose]") == IMAGE
    assert SCRIPT + IMAGE in (page.text_content("table.decisions") or "")
    page.goto("/alerts")
    assert f"quality on {IMAGE}: 1 (bound {SCRIPT})" in (page.text_content("table.alerts") or "")
    assert page.errors == []


def test_api_docs_load_nothing_from_another_host(page: Any, server: Server, shots: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert (page.text_content(".swagger-ui .info .title") or "").startswith("Charter")
    page.wait_for_selector(".opblock-tag")
    assert requested, "the page requested nothing"
    outside = [url for url in requested if not url.startswith(server.base + "/")]
    assert outside == []
    assert any(url.endswith("/api/v1/openapi.json") for url in requested)
    shots(page, "api-docs")


def test_incident_timeline_steps_and_postmortem(page: Any, server: Server, shots: Any) -> None:
    """The seeded fraud incident (mitigated) and a new one acknowledged and resolved from the
    page, its postmortem edited and saved; then the drills, KPIs and the charts for the docs."""
    with server.charter.act(server.seeded.tokens["rita"], write=True) as ctx:
        opened = incidents.open_incident(
            ctx, "support-assistant", "prod", "answers quote stale fees", note="from support"
        )
    browser_sign_in(page, server.seeded.tokens["rita"], "/incidents")
    fraud = page.locator(f"tr[data-incident='{server.monitored['incident']}']")
    assert "mitigated" in (fraud.text_content() or "")
    expect(page.locator("[data-testid=incident-metrics]")).to_contain_text("MTTM")
    shots(page, "incidents")
    page.click(f"tr[data-incident='{opened.id}'] a >> nth=0")
    page.wait_for_url(f"**/incidents/{opened.id}")
    assert page.text_content("[data-testid=incident-status]") == "open"
    page.fill("form.steps input[name=note]", "looking at the prompt")
    page.click("form.steps button[value=acknowledged]")
    expect(page.locator(".flash.ok")).to_contain_text("acknowledged")
    assert page.text_content("[data-testid=incident-status]") == "acknowledged"
    assert page.locator("form.steps button[value=acknowledged]").count() == 0
    page.fill(
        "form.postmortem textarea", "# Postmortem\n\nRoot cause: a fee table cached for a week."
    )
    page.click("form.postmortem button")
    expect(page.locator(".flash.ok")).to_contain_text("postmortem")
    assert "fee table cached" in page.input_value("form.postmortem textarea")
    page.click("form.steps button[value=resolved]")
    assert page.text_content("[data-testid=incident-status]") == "resolved"
    assert page.locator("[data-testid=timeline] .stamp.done").count() == 4  # no breach start
    shots(page, "incident")
    page.goto("/drills")
    assert page.locator("[data-outcome=passed]").count() >= 1
    shots(page, "drills")
    page.goto("/kpis")
    expect(page.locator("tr[data-kpi=validated_fallback_share]")).to_be_visible()
    shots(page, "kpis")
    page.goto("/systems/credit-limit")
    charts = page.locator("[data-testid=charts-prod] svg")
    assert charts.count() >= 3 and charts.first.is_visible()
    page.locator("[data-testid=charts-prod]").scroll_into_view_if_needed()
    shots(page, "system-monitoring")
    assert page.errors == []


def test_markup_in_an_incident_is_text_in_the_browser(page: Any, server: Server) -> None:
    with server.charter.act(server.seeded.tokens["rita"], write=True) as ctx:
        opened = incidents.open_incident(ctx, "doc-search", "prod", SCRIPT, note=IMAGE)
        incidents.save_postmortem(ctx, opened.id, SCRIPT + IMAGE)
    browser_sign_in(page, server.seeded.tokens["audrey"], f"/incidents/{opened.id}")
    assert page.text_content("[data-testid=incident-title]") == SCRIPT
    assert page.text_content("[data-testid=postmortem]") == SCRIPT + IMAGE
    assert IMAGE in (page.text_content("[data-testid=timeline] + table") or "")
    for path in (f"/incidents/{opened.id}", "/incidents"):
        page.goto(path)
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("img[src=x]").count() == 0, path
        assert page.locator("script:not([src])").count() == 0, path
    assert page.errors == []
