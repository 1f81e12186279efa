"""Cards, packs, KPIs and the report over HTTP: an auditor reads and exports everything."""

from __future__ import annotations

from tests.api.support import API
from tests.services.documents.support import build_history

from charter.domain.evidence_pack import verify_pack


def test_auditor_reads_and_exports_over_http(charter, act, clock, tokens, client, auth) -> None:
    refs = build_history(charter, act, clock, tokens, days=2)
    headers = auth("auditor")
    card = client.get(f"{API}/systems/credit-limit/card", headers=headers)
    assert card.status_code == 200
    assert card.json()["card"]["release"]["digest"] == refs["v1"].split("@")[1]
    pdf = client.get(
        f"{API}/systems/credit-limit/card/document", params={"format": "pdf"}, headers=headers
    )
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:4] == b"%PDF"
    bad = client.get(
        f"{API}/systems/help-desk/card",
        params={"release": refs["v1"].split("@")[1]},
        headers=headers,
    )
    assert bad.status_code == 404
    pack = client.post(f"{API}/systems/credit-limit/evidence-pack.zip", json={}, headers=headers)
    assert pack.status_code == 200 and pack.headers["content-type"] == "application/zip"
    assert verify_pack(pack.content).ok
    assert (
        client.get(f"{API}/kpis", params={"period": "2026Q4"}, headers=headers).status_code == 200
    )
    unknown = client.get(f"{API}/kpis", params={"period": "2026Q9"}, headers=headers)
    assert unknown.status_code in (400, 422) and "unknown period" in unknown.text
    report = client.get(
        f"{API}/reports/portfolio/document", params={"format": "html"}, headers=headers
    )
    assert "Risk status by system" in report.text
    # ...and changes nothing: a decision is refused.
    refused = client.post(
        f"{API}/systems/credit-limit/releases/{refs['v2'].split('@')[1][:12]}/decisions",
        json={"verdict": "reject", "note": "no"},
        headers=headers,
    )
    assert refused.status_code == 403
