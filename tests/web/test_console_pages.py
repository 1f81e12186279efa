"""The console's incidents, drills, KPIs and the system page's monitoring, through the real
ASGI app on SQLite and PostgreSQL: what each page shows, and that every button is the
service's operation (its role check, its order of steps, its audit event)."""

from __future__ import annotations

import io
import re
import zipfile

from sqlalchemy import func, select

from charter.services import incidents
from charter.store.models import AuditEvent, Evidence
from charter.store.runtime_models import IncidentEvent
from charter.web.documents import DOCUMENT_POLICY
from tests.web.seed_monitoring import seed_monitoring


def _open_incident(charter, seeded, title: str = "customers report odd limits") -> int:
    with charter.act(seeded.tokens["rita"], write=True) as ctx:
        return incidents.open_incident(
            ctx, "credit-limit", "prod", title, severity="sev2", note="from support"
        ).id


def _events(charter, action: str) -> int:
    with charter.db.transaction(write=False) as session:
        return int(
            session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


def test_incident_pages_show_the_timeline_and_steps_go_through_the_service(
    signed_in, charter, seeded, clock
) -> None:
    incident_id = _open_incident(charter, seeded)
    client, csrf = signed_in("rita")
    listing = client.get("/incidents")
    assert listing.status_code == 200
    assert f'data-incident="{incident_id}"' in listing.text and "odd limits" in listing.text
    assert client.get("/incidents?status=resolved").text.count("data-incident=") == 0
    detail = client.get(f"/incidents/{incident_id}")
    assert 'data-step="detected"' in detail.text and "from support" in detail.text
    assert 'value="acknowledged"' in detail.text  # the step buttons a risk engineer has
    clock.advance(minutes=5)
    step = f"/incidents/{incident_id}/step"
    done = client.post(step, data={"step": "acknowledged", "note": "on it", "csrf_token": csrf})
    assert done.status_code == 200 and "acknowledged" in done.text
    clock.advance(minutes=10)
    client.post(step, data={"step": "mitigated", "note": "killed", "csrf_token": csrf})
    page = client.get(f"/incidents/{incident_id}").text
    assert re.search(r'data-testid="mttm">15 min<', page), "MTTM from detection to mitigation"
    # The service's order of steps holds: a mitigated incident cannot be acknowledged.
    again = client.post(step, data={"step": "acknowledged", "csrf_token": csrf})
    assert again.status_code == 409 and "cannot be acknowledged" in again.text
    unknown = client.post(step, data={"step": "forgotten", "csrf_token": csrf})
    assert unknown.status_code == 422
    assert _events(charter, "incident.acknowledged") == 1
    assert _events(charter, "incident.mitigated") == 1


def test_postmortem_drafted_then_saved_by_allowed_roles_only(signed_in, charter, seeded) -> None:
    incident_id = _open_incident(charter, seeded)
    rita, csrf = signed_in("rita")
    page = rita.get(f"/incidents/{incident_id}").text
    assert "draft from the records" in page and "# Postmortem: incident" in page
    url = f"/incidents/{incident_id}/postmortem"
    text = "# Postmortem\n\nRoot cause: a stale feature pipeline."
    saved = rita.post(url, data={"markdown": text, "csrf_token": csrf})
    assert saved.status_code == 200 and "postmortem of incident" in saved.text
    page = rita.get(f"/incidents/{incident_id}").text
    assert "saved" in page and "Root cause: a stale feature pipeline." in page
    assert "postmortem saved (revision 1)" in page
    empty = rita.post(url, data={"markdown": "   ", "csrf_token": csrf})
    assert empty.status_code == 422 and "cannot be empty" in empty.text
    # An approver reads it and gets no editor; a forged form is refused by the service.
    ann, ann_csrf = signed_in("ann")
    read = ann.get(f"/incidents/{incident_id}").text
    assert 'data-testid="postmortem"' in read and "<textarea" not in read
    assert 'name="step"' not in read
    forged = ann.post(url, data={"markdown": "# mine", "csrf_token": ann_csrf})
    assert forged.status_code == 403 and "may not monitoring.alerts" in forged.text
    refused = ann.post(
        f"/incidents/{incident_id}/step", data={"step": "resolved", "csrf_token": ann_csrf}
    )
    assert refused.status_code == 403
    with charter.db.transaction(write=False) as session:
        kinds = list(
            session.scalars(
                select(IncidentEvent.kind).where(IncidentEvent.incident_id == incident_id)
            )
        )
    assert kinds == ["detected", "postmortem"]
    assert _events(charter, "incident.postmortem") == 1


def test_kpis_page_is_the_kpi_service_and_follows_its_roles(signed_in) -> None:
    rita, _ = signed_in("rita")
    page = rita.get("/kpis")
    assert page.status_code == 200 and 'href="/kpis"' in page.text
    assert 'data-kpi="inventory_coverage"' in page.text and 'data-kpi="mttd"' in page.text
    assert "2026Q4" in rita.get("/kpis?period=2026Q4").text
    assert rita.get("/kpis?period=someday").status_code == 422
    dev, _ = signed_in("dev")  # developers may not read the audit trail the KPIs come from
    assert 'href="/kpis"' not in dev.get("/").text
    assert dev.get("/kpis").status_code == 403


def test_drills_page_offers_the_run_only_to_roles_that_may_intervene(
    signed_in, charter, seeded
) -> None:
    dev, csrf = signed_in("dev")
    page = dev.get("/drills")
    assert page.status_code == 200 and "No drills yet" in page.text
    assert 'method="post" action="/drills"' in page.text and seeded.credit_live_ref in page.text
    bad = dev.post(
        "/drills", data={"ref": seeded.credit_live_ref, "scenario": "flood", "csrf_token": csrf}
    )
    assert bad.status_code == 422 and "scenario must be one of" in bad.text
    auditor, auditor_csrf = signed_in("audrey")
    assert 'method="post" action="/drills"' not in auditor.get("/drills").text
    forged = auditor.post(
        "/drills",
        data={"ref": seeded.credit_live_ref, "scenario": "drift", "csrf_token": auditor_csrf},
    )
    assert forged.status_code == 403 and "may not deployment.intervene" in forged.text
    with charter.db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Evidence)) == 0


def test_system_page_charts_the_contract_and_links_the_documents(
    signed_in, charter, seeded
) -> None:
    ids = seed_monitoring(charter, seeded)
    rita, csrf = signed_in("rita")
    page = rita.get("/systems/credit-limit").text
    charts = page[page.index('data-testid="charts-prod"') :]
    assert charts.count("<svg") >= 3  # latency, block rate, accuracy... against their bounds
    assert "latency_p95_ms &lt;= 120" in page and "contract: " in page
    assert "Drift per feature per window" in page and "<th>income</th>" in page
    assert "Fairness by cohort" in page and "<td>north</td>" in page
    assert "Guardrails" in page and "block_rate &lt;= 0.05" in page
    assert 'data-testid="attestation-prod"' in page and "none reported" in page
    assert 'data-testid="sandbox"' in page  # the drills' sandbox: no levers
    assert page.count('action="/systems/credit-limit/kill"') == 1  # prod only
    for path in ("/systems/credit-limit/card", "/systems/credit-limit/windows"):
        document = rita.get(path)
        assert document.status_code == 200, path
        assert document.headers["content-security-policy"] == DOCUMENT_POLICY
        assert "<script" not in document.text
    pack = rita.post("/systems/credit-limit/evidence-pack", data={"csrf_token": csrf})
    assert pack.headers["content-type"] == "application/zip"
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(pack.content)).namelist()
    dev, dev_csrf = signed_in("dev")
    assert "evidence-pack" not in dev.get("/systems/credit-limit").text
    refused = dev.post("/systems/credit-limit/evidence-pack", data={"csrf_token": dev_csrf})
    assert refused.status_code == 403
    # The drills the seed ran: one passed, one failed (no fallback approved).
    drills_page = rita.get("/drills").text
    assert f'data-drill="{ids["drill_passed"]}"' in drills_page
    assert drills_page.count('data-outcome="passed"') == 1
    assert drills_page.count('data-outcome="failed"') == 1
    incident = rita.get(f"/incidents/{ids['incident']}").text
    assert 'data-testid="incident-status">mitigated' in incident


def test_every_new_page_follows_the_role_table(signed_in, charter, seeded) -> None:
    """Each page answers 200 to the roles holding its permission and 403 to the others;
    the navigation shows a link exactly when the page would open."""
    from charter.domain.roles import Permission, Role, allowed
    from tests.web.seed import USERS

    incident_id = _open_incident(charter, seeded)
    pages = {
        "/incidents": Permission.MONITOR_READ,
        f"/incidents/{incident_id}": Permission.MONITOR_READ,
        "/drills": Permission.RELEASE_READ,
        "/kpis": Permission.AUDIT_READ,
    }
    for user, role in {**USERS, "admin": "admin"}.items():
        client, _ = signed_in(user)
        nav = client.get("/").text
        for path, permission in pages.items():
            may = allowed(Role(role), permission)
            assert client.get(path).status_code == (200 if may else 403), (user, path)
            if "/incidents/" not in path:
                assert (f'href="{path}"' in nav) == may, (user, path)


def test_risk_register_pages_read_the_records_and_escape_them(signed_in, charter, seeded) -> None:
    from charter.domain.risks import RiskChange
    from charter.services import risks

    with charter.act(seeded.tokens["dev"], write=True) as ctx:
        risk = risks.add_risk(
            ctx,
            "credit-limit",
            RiskChange(
                title="<script>alert(1)</script> limits drift upwards",
                category="performance",
                likelihood=4,
                impact=4,
                residual_likelihood=2,
                residual_impact=3,
                owner="rita",
                controls=["eval-classification"],
                signals=["performance"],
            ),
        )
    client, _ = signed_in("audrey")
    listing = client.get("/risks")
    assert listing.status_code == 200 and f'data-risk="{risk.id}"' in listing.text
    assert "<script>alert(1)</script>" not in listing.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; limits drift upwards" in listing.text
    assert 'href="/risks"' in listing.text  # in the navigation for every person
    assert client.get("/risks?system=fraud-screening").text.count("data-risk=") == 0
    register = client.get("/systems/credit-limit/risks")
    assert register.status_code == 200
    # Never reviewed: the gaps the high tier's gate would name are on the page.
    row = register.text.split(f'data-risk="{risk.id}"', 1)[1].split("</tr>", 1)[0]
    assert "never reviewed" in row and 'data-gaps="0"' not in row
    with charter.act(seeded.tokens["rita"], write=True) as ctx:
        risks.review_risk(ctx, "credit-limit", risk.id, note="checked")
    assert "last by rita" in client.get("/systems/credit-limit/risks").text
    document = client.get("/systems/credit-limit/risk-assessment")
    assert document.status_code == 200 and document.headers["Content-Security-Policy"] == (
        DOCUMENT_POLICY
    )
    assert "limits drift upwards" in document.text
    assert client.get("/systems/nope/risks").status_code == 404
