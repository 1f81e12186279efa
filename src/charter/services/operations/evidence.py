"""Operations on evaluation evidence."""

from __future__ import annotations

from typing import Any

from charter.services import evidence
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import EvidenceView, Page, ReproductionView


@operation("evidence.record", write=True)
def record_evidence(ctx: Context, ref: str, result: dict[str, Any]) -> EvidenceView:
    """Attach a suite result to a release; it is checked against the release's contract."""
    item, created = evidence.record_evidence(ctx, ref, result)
    return EvidenceView.of(item, created=created)


@operation("evidence.list", write=False)
def list_evidence(
    ctx: Context,
    system: str | None = None,
    ref: str | None = None,
    suite: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[EvidenceView]:
    """Evidence, newest first."""
    rows, total = evidence.list_evidence(
        ctx, system_name=system, ref=ref, suite=suite, limit=limit, offset=offset
    )
    return Page(items=[EvidenceView.of(e) for e in rows], total=total, limit=limit, offset=offset)


@operation("evidence.show", write=False)
def get_evidence(ctx: Context, evidence_id: int) -> EvidenceView:
    """One piece of evidence with its full result."""
    return EvidenceView.of(evidence.get_evidence(ctx, evidence_id), with_result=True)


@operation("evidence.reproduce", write=True)
def reproduce_evidence(ctx: Context, evidence_id: int, result: dict[str, Any]) -> ReproductionView:
    """Confirm or refute stored evidence with a re-run of its suite on the same data."""
    return ReproductionView.model_validate(evidence.reproduce_evidence(ctx, evidence_id, result))
