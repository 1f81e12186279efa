"""Operations on decisions and the audit log."""

from __future__ import annotations

from charter.domain.decisions import DecisionRequest
from charter.services import audit, decisions
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import (
    AuditEventView,
    AuditHeadView,
    AuditVerifyView,
    DecisionView,
    Page,
)


@operation("decision.create", write=True)
def decide(ctx: Context, ref: str, request: DecisionRequest) -> DecisionView:
    """Approve, reject or approve a release with conditions."""
    return DecisionView.of(decisions.decide(ctx, ref, request))


@operation("decision.list", write=False)
def list_decisions(
    ctx: Context,
    system: str | None = None,
    ref: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[DecisionView]:
    """A page of decisions, newest first, optionally of one system or release."""
    rows, total = decisions.list_decisions(
        ctx, system_name=system, ref=ref, limit=limit, offset=offset
    )
    return Page(items=[DecisionView.of(d) for d in rows], total=total, limit=limit, offset=offset)


@operation("audit.verify", write=False)
def audit_verify(ctx: Context, anchor: str | None = None, state: bool = True) -> AuditVerifyView:
    """Recompute the chain (against anchors ``SEQ:HASH[,SEQ:HASH...]`` when given) and,
    with ``state``, check every governed row against it."""
    parsed = audit.parse_anchors(anchor) if anchor else None
    return AuditVerifyView.of(audit.verify(ctx, anchors=parsed, state=state))


@operation("audit.head", write=False)
def audit_head(ctx: Context) -> AuditHeadView:
    """The chain head, to anchor outside the database."""
    seq, digest = audit.current_head(ctx)
    return AuditHeadView(seq=seq, hash=digest, anchor=f"{seq}:{digest}")


@operation("audit.log", write=False)
def audit_log(
    ctx: Context,
    limit: int = 50,
    offset: int = 0,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
) -> Page[AuditEventView]:
    """A page of audit events, newest first."""
    rows, total = audit.events(
        ctx,
        limit=limit,
        offset=offset,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
    )
    return Page(items=[AuditEventView.of(e) for e in rows], total=total, limit=limit, offset=offset)
