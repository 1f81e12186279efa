"""The console through the real ASGI app, on SQLite and PostgreSQL.

Sign-in, session expiry and revocation, CSRF, role checks and separation of duties
through the service layer, output escaping, security headers, htmx fragments.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from charter.domain.systems import IntakeFile
from charter.services import exceptions, releases, users
from charter.services import systems as system_service
from charter.store.models import AuditEvent, Decision, PolicyException, Route, System, User
from charter.web import STATIC
from charter.web.console import CONTENT_SECURITY_POLICY
from tests.web.conftest import REPO, TestClient, csrf_of
from tests.web.seed import manifest

SCRIPT = "<script>alert('owned')</script>"


def audit_count(charter) -> int:
    with charter.db.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def route_state(charter, system: str) -> str:
    with charter.db.transaction(write=False) as session:
        return str(
            session.scalar(
                select(Route.state)
                .join(System, System.id == Route.system_id)
                .where(System.name == system)
            )
        )


def test_pages_need_a_session_and_say_where_to_return(client, seeded) -> None:
    for path in ("/", "/approvals", "/alerts", "/exceptions", "/audit", "/systems/credit-limit"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/signin?next={path}"
    response = client.get(
        "/systems/credit-limit?x=1", headers={"HX-Request": "true"}, follow_redirects=False
    )
    assert response.headers["HX-Redirect"].startswith("/signin?next=")


def test_sign_in_sets_a_hardened_cookie_and_a_fresh_csrf_token(web_app, seeded) -> None:
    with TestClient(web_app, base_url="http://testserver") as client:
        form = client.get("/signin")
        anonymous_csrf = csrf_of(form.text)
        cookie = form.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        done = client.post(
            "/signin",
            data={"token": seeded.tokens["ann"], "csrf_token": anonymous_csrf, "next": "/audit"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/audit"
        page = client.get("/audit")
        assert "ann" in page.text and csrf_of(page.text) != anonymous_csrf
        assert seeded.tokens["ann"] not in done.headers["set-cookie"]
    # Over TLS the cookie is Secure too.
    with TestClient(web_app, base_url="https://testserver") as client:
        assert "Secure" in client.get("/signin").headers["set-cookie"]


def test_sign_in_refuses_bad_tokens_and_forms_without_csrf(client, seeded) -> None:
    form = client.get("/signin")
    bad = client.post("/signin", data={"token": "chtr_nope", "csrf_token": csrf_of(form.text)})
    assert bad.status_code == 401 and "not valid" in bad.text
    missing = client.post("/signin", data={"token": seeded.tokens["ann"]})
    assert missing.status_code == 403 and "carries no CSRF token" in missing.text
    client.cookies.clear()
    no_session = client.post("/signin", data={"token": seeded.tokens["ann"], "csrf_token": "x"})
    assert no_session.status_code == 403 and "no valid session" in no_session.text


def test_next_never_leaves_the_site(client, seeded) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        form = client.get("/signin")
        done = client.post(
            "/signin",
            data={"token": seeded.tokens["ann"], "csrf_token": csrf_of(form.text), "next": target},
            follow_redirects=False,
        )
        assert done.headers["location"] == "/", target


def test_forged_or_missing_csrf_writes_nothing(signed_in, charter) -> None:
    client, csrf = signed_in("dev")
    before = audit_count(charter)
    body = {"environment": "prod", "reason": "test"}
    missing = client.post("/systems/support-assistant/kill", data=body)
    assert missing.status_code == 403 and "carries no CSRF token" in missing.text
    forged = client.post("/systems/support-assistant/kill", data={**body, "csrf_token": csrf + "x"})
    assert forged.status_code == 403 and "does not match this session" in forged.text
    # Another user's valid token does not fit this session either.
    _, other_csrf = signed_in("rita")
    crossed = client.post(
        "/systems/support-assistant/kill", data={**body, "csrf_token": other_csrf}
    )
    assert crossed.status_code == 403
    assert audit_count(charter) == before
    assert route_state(charter, "support-assistant") == "serving"
    # The header form of the token (for htmx requests) is accepted like the field.
    done = client.post(
        "/systems/support-assistant/kill",
        data=body,
        headers={"X-CSRF-Token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert route_state(charter, "support-assistant") == "killed"


def test_sessions_expire(signed_in, clock) -> None:
    client, _ = signed_in("audrey")
    assert client.get("/audit").status_code == 200
    clock.advance(hours=7, minutes=59)
    assert client.get("/audit").status_code == 200
    clock.advance(minutes=2)
    response = client.get("/audit", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/audit&reason=expired"
    assert "expired" in client.get(response.headers["location"]).text


def test_rotating_the_token_or_disabling_the_user_ends_sessions(signed_in, charter, seeded) -> None:
    client, _ = signed_in("bob")
    other, _ = signed_in("audrey")
    with charter.act(seeded.tokens["admin"], write=True) as ctx:
        users.rotate_token(ctx, "bob")
    response = client.get("/", follow_redirects=False)
    assert response.headers["location"].endswith("reason=ended")
    assert other.get("/").status_code == 200
    # No service disables users yet; the flag is what authentication checks.
    with charter.db.transaction(write=True) as session:
        session.execute(update(User).where(User.name == "audrey").values(disabled=True))
    assert other.get("/", follow_redirects=False).headers["location"].endswith("reason=ended")


def test_roles_and_separation_of_duties_are_the_services(signed_in, charter, seeded) -> None:
    ref = seeded.pending_ref
    system, digest = ref.split("@")
    approval = {
        "verdict": "approve",
        "use_case": "limits",
        "population": "UK",
        "environments": "prod",
        "expires": "30d",
    }

    def decisions() -> int:
        with charter.db.transaction(write=False) as session:
            return int(session.scalar(select(func.count()).select_from(Decision)) or 0)

    before = decisions()
    auditor, csrf = signed_in("audrey")
    refused = auditor.post(
        f"/releases/{system}/{digest}/decide", data={**approval, "csrf_token": csrf}
    )
    assert refused.status_code == 403 and "may not decision.approve" in refused.text
    kill = auditor.post(
        "/systems/credit-limit/kill",
        data={"environment": "prod", "reason": "x", "csrf_token": csrf},
    )
    assert kill.status_code == 403 and "may not deployment.intervene" in kill.text
    author, csrf = signed_in("rita")
    sod = author.post(f"/releases/{system}/{digest}/decide", data={**approval, "csrf_token": csrf})
    assert sod.status_code == 403 and "separation of duties" in sod.text
    assert decisions() == before
    approver, csrf = signed_in("ann")
    page = approver.get("/approvals").text
    assert f'data-ref="{ref}"' in page and 'value="approve"' in page
    done = approver.post(
        f"/releases/{system}/{digest}/decide",
        data={**approval, "csrf_token": csrf},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "approved (decision" in done.text
    assert "1 of 2 approvals for prod" in done.text
    assert decisions() == before + 1
    # The same approver approving again does not count twice; a bad verdict is a 422.
    odd = approver.post(
        f"/releases/{system}/{digest}/decide", data={"verdict": "maybe", "csrf_token": csrf}
    )
    assert odd.status_code == 422 and "unknown verdict" in odd.text
    incomplete = approver.post(
        f"/releases/{system}/{digest}/decide", data={"verdict": "approve", "csrf_token": csrf}
    )
    assert incomplete.status_code == 422 and "an approval must state" in incomplete.text


def test_auditor_sees_no_levers_and_approver_sees_no_kill(signed_in) -> None:
    auditor, _ = signed_in("audrey")
    page = auditor.get("/systems/credit-limit").text
    assert "Kill to fallback" not in page and 'action="/systems/credit-limit/kill"' not in page
    approvals = auditor.get("/approvals").text
    assert 'class="decide"' not in approvals and "may not decide" in approvals
    developer, _ = signed_in("dev")
    assert "Kill to fallback" in developer.get("/systems/credit-limit").text
    killed = developer.get("/systems/fraud-score").text
    assert "Resume" in killed and "Kill to fallback" not in killed


def test_exception_decisions_go_through_the_service(signed_in, charter, seeded) -> None:
    with charter.act(seeded.tokens["dev"], write=True) as ctx:
        item = exceptions.request_exception(
            ctx,
            seeded.pending_ref,
            control_id="eval-classification",
            justification="holdout pending",
            compensating="manual review",
            expires="7d",
        )
    developer, csrf = signed_in("dev")
    refused = developer.post(f"/exceptions/{item.id}/approve", data={"csrf_token": csrf})
    assert refused.status_code == 403 and "may not decide exceptions" in refused.text
    approver, csrf = signed_in("ann")
    page = approver.get("/exceptions?status=requested").text
    assert f'action="/exceptions/{item.id}/approve"' in page
    done = approver.post(f"/exceptions/{item.id}/approve", data={"csrf_token": csrf, "note": "ok"})
    assert done.status_code == 200 and f"exception {item.id} approved" in done.text
    with charter.db.transaction(write=False) as session:
        assert session.get(PolicyException, item.id).status == "approved"
    again = approver.post(f"/exceptions/{item.id}/approve", data={"csrf_token": csrf})
    assert again.status_code == 409
    unnoted = approver.post(f"/exceptions/{item.id}/revoke", data={"csrf_token": csrf})
    assert unnoted.status_code == 422 and "needs a note" in unnoted.text


def test_output_is_escaped_everywhere(signed_in, charter, seeded) -> None:
    with charter.act(seeded.tokens["dev"], write=True) as ctx:
        system_service.register_system(
            ctx,
            "probe",
            intake=IntakeFile(owner=SCRIPT, purpose=SCRIPT, answers={"domain": "other"}),
        )
        # Its release waits for approval: the purpose is pre-filled into an attribute there.
        releases.create_release(ctx, "probe", manifest("v1", "probe"), base_dir=None)
    client, _ = signed_in("rita")
    for path in ("/", "/systems/probe", "/audit", "/approvals", "/?q=" + SCRIPT):
        html = client.get(path).text
        assert SCRIPT not in html, path
        assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in html, path
    missing = client.get("/systems/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert missing.status_code == 404
    assert "<img src=x" not in missing.text
    assert "no system named &#39;&lt;img src=x onerror=alert(1)&gt;&#39;" in missing.text


def test_security_headers_on_console_pages(signed_in, client) -> None:
    for response in (client.get("/signin"), signed_in("ann")[0].get("/")):
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"


def test_htmx_gets_the_table_alone_and_filters_apply(signed_in) -> None:
    client, _ = signed_in("rita")
    full = client.get("/")
    assert full.text.count("<html") == 1 and 'id="portfolio-table"' in full.text
    part = client.get("/?q=fraud&show=all&sort=name", headers={"HX-Request": "true"})
    assert "<html" not in part.text and part.text.startswith('<div id="portfolio-table">')
    assert re.findall(r'data-system="([^"]+)"', part.text) == ["fraud-score"]
    high = client.get("/?tier=high&sort=expiry", headers={"HX-Request": "true"}).text
    assert set(re.findall(r'data-system="([^"]+)"', high)) == {"credit-limit", "fraud-score"}
    attention = client.get("/?show=attention", headers={"HX-Request": "true"}).text
    assert set(re.findall(r'data-system="([^"]+)"', attention)) == {"fraud-score"}
    # htmx restoring history (back button) replaces the whole body: it gets the page.
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert client.get("/?q=fraud", headers=restore).text.count("<html") == 1
    # Unknown filter values fall back to the defaults rather than failing.
    assert client.get("/?show=everything&sort=chaos&tier=nope").status_code == 200
    assert client.get("/?q=" + "x" * 500).status_code == 422


def test_no_page_is_a_placeholder(signed_in) -> None:
    client, _ = signed_in("rita")
    for gone in ("/more/risks", "/more/incidents", "/more/nothing"):
        assert client.get(gone).status_code == 404
    assert client.get("/risks").status_code == 200  # the register is a real page now


def test_docs_page_references_no_other_host(client) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(url.startswith("/") for url in urls), urls
    assert not re.search(r"https?://", page.text)
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Charter"


def test_vendored_assets_ship_with_their_licences_and_in_the_wheel() -> None:
    for folder, files in {
        "vendor/htmx": ("htmx.min.js", "LICENSE"),
        "vendor/swagger-ui": ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"),
    }.items():
        for name in files:
            assert (STATIC / folder / name).stat().st_size > 0, f"{folder}/{name}"
    readme = (STATIC / "README.md").read_text()
    assert "2.0.11" in readme and "5.35.0" in readme and "npm pack" in readme
    # Every file of the web folder is covered by the package data pyproject.toml declares,
    # matched segment by segment as setuptools does, so a wheel ships all of them.
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["charter"]
    package = Path(STATIC).parents[1]
    declared = {path for pattern in globs for path in package.glob(pattern)}
    for path in (package / "web").rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            assert path in declared, path.relative_to(package)


@pytest.mark.parametrize("path", ["/static/charter.css", "/static/vendor/htmx/htmx.min.js"])
def test_static_files_are_served(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and len(response.content) > 1000


def test_new_forms_refuse_missing_forged_or_expired_sessions(signed_in, charter, seeded, clock):
    from charter.services import incidents

    with charter.act(seeded.tokens["rita"], write=True) as ctx:
        incident_id = incidents.open_incident(ctx, "credit-limit", "prod", "slow answers").id
    client, csrf = signed_in("rita")
    before = audit_count(charter)
    forms = (
        (f"/incidents/{incident_id}/step", {"step": "resolved"}),
        (f"/incidents/{incident_id}/postmortem", {"markdown": "# mine"}),
        ("/drills", {"ref": seeded.credit_live_ref, "scenario": "drift"}),
        ("/systems/credit-limit/evidence-pack", {}),
    )
    for url, body in forms:
        assert client.post(url, data=body).status_code == 403, url
        forged = client.post(url, data={**body, "csrf_token": csrf[:-2] + "xx"})
        assert forged.status_code == 403 and "does not match" in forged.text, url
    clock.advance(hours=9)
    cookie = client.cookies.get("charter_session")
    for url, body in forms:
        client.cookies.set("charter_session", cookie)  # the first redirect deleted it
        expired = client.post(url, data={**body, "csrf_token": csrf}, follow_redirects=False)
        assert expired.status_code == 303, url
        assert "reason=expired" in expired.headers["location"], url
    assert audit_count(charter) == before


def test_markup_in_incidents_alerts_and_postmortems_is_shown_as_text(signed_in, charter, seeded):
    from charter.domain.window_results import Breach
    from charter.services import alerts, incidents

    escaped = "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;"
    with charter.act(seeded.tokens["rita"], write=True) as ctx:
        route = next(
            r for r in ctx.session.scalars(select(Route)) if r.system.name == "churn-forecast"
        )
        breach = Breach(
            monitor="latency",
            subject=SCRIPT,
            severity="warning",
            value=1,
            bound="<= 0",
            n=9,
            breached=True,
        )
        alert = alerts.open_alert(ctx, route, "probe", breach, ctx.now(), {"start": "", "end": ""})
        incident = incidents.open_incident(
            ctx, "churn-forecast", "prod", SCRIPT, note=SCRIPT, alert_id=alert.id
        )
    client, csrf = signed_in("rita")
    client.post(
        f"/incidents/{incident.id}/postmortem", data={"markdown": SCRIPT, "csrf_token": csrf}
    )
    client.post(
        f"/incidents/{incident.id}/step",
        data={"step": "acknowledged", "note": SCRIPT, "csrf_token": csrf},
    )
    for path in ("/incidents", f"/incidents/{incident.id}", "/alerts", "/systems/churn-forecast"):
        html = client.get(path).text
        assert SCRIPT not in html, path
        assert escaped in html, path
    auditor, _ = signed_in("audrey")  # the read-only postmortem, in a <pre>
    html = auditor.get(f"/incidents/{incident.id}").text
    assert SCRIPT not in html and escaped in html


def test_the_alert_list_shows_each_alerts_runbook(signed_in) -> None:
    client, _ = signed_in("audrey")
    page = client.get("/alerts").text
    # The seeded fraud model's accuracy alert carries the default performance runbook.
    assert "Runbook: accuracy below its bound for fraud-score (prod)" in page
    assert "$ charter rollback fraud-score --env prod" in page
