"""Views of the documents: cards, their snapshots, evidence packs, KPIs, the report."""

from __future__ import annotations

from typing import Any

from charter.services.views.base import View


class CardView(View):
    """A system card (``charter.card/1``) and the digest of its content."""

    card: dict[str, Any]
    content_digest: str


class CardHistoryView(View):
    """Stored snapshots of a system's card, newest first."""

    system: str
    items: list[dict[str, Any]]


class PackView(View):
    """An evidence pack's members (UTF-8 text) and manifest header; the client zips them."""

    manifest_sha256: str
    header: dict[str, Any]
    members: dict[str, str]


class KpisView(View):
    """The portfolio KPIs of a period."""

    period: dict[str, Any]
    as_of: str
    kpis: list[dict[str, Any]]


class ReportView(View):
    """The portfolio report (``charter.report.portfolio/1``)."""

    report: dict[str, Any]
