"""Operations of the living documents: cards, evidence packs, KPIs and the report.

All of them read; ``pack.export`` also logs the export (its turnaround is a KPI), so it
opens a write transaction, but it changes no governed record: an auditor may run it.
"""

from __future__ import annotations

from charter.services import cards, evidence_pack, kpis, reports
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views.documents import (
    CardHistoryView,
    CardView,
    KpisView,
    PackView,
    ReportView,
)


@operation("card.show", write=False)
def show_card(
    ctx: Context, system: str, release: str | None = None, snapshot: int | None = None
) -> CardView:
    """The system card as of now (or a stored snapshot of it)."""
    card = (
        cards.stored_card(ctx, system, snapshot)
        if snapshot is not None
        else cards.build_card(ctx, system, release)
    )
    return CardView(card=card, content_digest=cards.card_digest(card))


@operation("card.history", write=False)
def card_history(ctx: Context, system: str, limit: int = 50) -> CardHistoryView:
    """Stored snapshots of the system's card, newest first."""
    return CardHistoryView(system=system, items=cards.history(ctx, system, limit=limit))


@operation("pack.export", write=True)
def export_pack(
    ctx: Context,
    system: str,
    release: str | None = None,
    start: str | None = None,
    end: str | None = None,
    checkpoint: str | None = None,
) -> PackView:
    """Every member of the system's evidence pack and its manifest header."""
    members, header, digest = evidence_pack.export_pack(
        ctx, system, release, start, end, checkpoint
    )
    return PackView(
        manifest_sha256=digest,
        header=header,
        members={name: data.decode("utf-8") for name, data in members.items()},
    )


@operation("kpis.show", write=False)
def show_kpis(ctx: Context, period: str | None = None) -> KpisView:
    """Every portfolio KPI for a period (default: the current quarter)."""
    return KpisView.model_validate(kpis.compute(ctx, period))


@operation("report.portfolio", write=False)
def portfolio_report(ctx: Context, period: str | None = None) -> ReportView:
    """The quarterly portfolio report."""
    return ReportView(report=reports.portfolio(ctx, period))
