"""System and model cards from the records: content, "as of", missing parts, formats."""

from __future__ import annotations

import io

import pytest

from charter.documents.card import render_card
from charter.domain.errors import NotFound
from charter.services import cards


def test_card_speaks_of_the_live_release(history, act, clock) -> None:
    with act("auditor", write=False) as ctx:
        card = cards.build_card(ctx, "credit-limit")
    assert card["as_of"].startswith(clock().date().isoformat())
    assert card["release"]["digest"] == history["v1"].split("@")[1]
    assert card["system"]["tier"] == "high"
    assert card["data_window"]["monitoring"]["windows"] >= 2
    model = card["models"][0]
    assert model["component"] == "scorer"
    suites = {e["suite"] for e in model["evaluations"]}
    assert {"classification", "fairness"} <= suites
    assert model["calibration"]["bins"][0]["count"] == 500
    assert model["approvals"] and len(model["approvals"]) == 2
    assert model["exceptions"][0]["control_id"] == "monitor-fairness"
    assert model["live"], "live status from the newest windows"
    assert model["incidents"] == []  # the incidents table exists; none were opened
    controls = {c["id"]: c["status"] for c in card["controls"]}
    assert controls["approval-quorum-high"] in ("pass", "fail")
    assert card["datasheets"][0]["rows"] == 2000


def test_empty_system_says_what_is_missing(history, act) -> None:
    with act("auditor", write=False) as ctx:
        card = cards.build_card(ctx, "help-desk")
    assert card["release"] is None
    assert any("no release" in m for m in card["missing"])
    assert card["models"] == []
    text = render_card(card, "md").decode()
    assert "no release registered" in text.lower()


def test_release_of_another_system_is_refused(history, act) -> None:
    with act("auditor", write=False) as ctx, pytest.raises(NotFound, match="help-desk"):
        cards.build_card(ctx, "help-desk", history["v1"].split("@")[1])


def test_formats(history, act) -> None:
    with act("auditor", write=False) as ctx:
        card = cards.build_card(ctx, "credit-limit")
    md = render_card(card, "md").decode()
    assert "## Model card: scorer" in md and "roc_auc" in md
    html = render_card(card, "html").decode()
    assert "<svg" in html and "Reliability" in html
    pdf = render_card(card, "pdf")
    assert pdf.startswith(b"%PDF")
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(io.BytesIO(pdf))
    try:
        assert len(document) >= 2
        page = document[0]
        image = page.render(scale=1).to_pil()
        # The first page carries text: a good share of its pixels are dark.
        dark = sum(image.convert("L").histogram()[:128])
        assert dark > 2000
        text = page.get_textpage()
        assert "System card" in text.get_text_range()
        text.close()
        page.close()
    finally:
        document.close()


def test_snapshots_are_stored_only_when_the_card_changes(history, act, clock) -> None:
    with act("risk_engineer") as ctx:
        assert cards.refresh_snapshots(ctx, "test") == 2
        clock.advance(hours=1)
        assert cards.refresh_snapshots(ctx, "test") == 0  # only "as of" moved
    with act("developer") as ctx:
        from tests.services.documents.support import suite_result

        from charter.services import evidence

        evidence.record_evidence(
            ctx, history["v1"], suite_result("robustness", {"x": {"value": 1}})
        )
    with act("risk_engineer") as ctx:
        assert cards.refresh_snapshots(ctx, "evidence") == 1
        rows = cards.history(ctx, "credit-limit")
    assert [r["trigger"] for r in rows] == ["evidence", "test"]
    with act("auditor", write=False) as ctx:
        stored = cards.stored_card(ctx, "credit-limit", rows[1]["id"])
    assert stored["schema"] == "charter.card/1"


def test_the_worker_pass_keeps_snapshots_current(history, charter, tokens, act) -> None:
    from tests.helpers import actor_of

    service = actor_of(charter, tokens["service"])
    assert cards.worker_pass(charter, service) == 2  # both systems, first time
    assert cards.worker_pass(charter, service) == 0
    with act("approver") as ctx:
        from charter.domain.decisions import DecisionRequest
        from charter.services import decisions

        decisions.decide(ctx, history["v1"], DecisionRequest(verdict="reject", note="stale"))
    assert cards.worker_pass(charter, service) == 1
