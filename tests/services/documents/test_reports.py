"""The portfolio report from the realistic history: every section, every format."""

from __future__ import annotations

import io

import pytest

from charter.documents.report import render_report
from charter.domain.errors import BadInput
from charter.services import reports


def test_portfolio_report(history, act) -> None:
    with act("auditor", write=False) as ctx:
        report = reports.portfolio(ctx, "2026Q4")
    systems = {s["system"]: s for s in report["systems"]}
    assert systems["credit-limit"]["tier"] == "high"
    assert systems["credit-limit"]["serving"] == ["prod: serving"]
    assert systems["help-desk"]["release"] is None
    assert report["period"]["previous"] == "2026Q3"
    kinds = {o["kind"] for o in report["overdue"]}
    assert "exception expiring" in kinds  # the 14-day fairness waiver
    assert report["incidents"] == []  # the incidents table exists; none were opened
    trends = {t["id"]: t for t in report["trends"]}
    assert trends["releases_with_evaluation_evidence"]["previous"] is None  # none in Q3
    md = render_report(report, "md").decode()
    assert "## Risk status by system" in md and "credit-limit" in md
    assert "<table>" in render_report(report, "html").decode()
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(io.BytesIO(render_report(report, "pdf")))
    try:
        page = document[0]
        dark = sum(page.render(scale=1).to_pil().convert("L").histogram()[:128])
        assert dark > 1000
        page.close()
    finally:
        document.close()


def test_unknown_period_is_refused(history, act) -> None:
    with act("auditor", write=False) as ctx, pytest.raises(BadInput, match="unknown period"):
        reports.portfolio(ctx, "Q9")
