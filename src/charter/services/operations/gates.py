"""Operations of the release gate and its exceptions."""

from __future__ import annotations

from typing import Literal

from charter.services import exceptions, gates
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import ExceptionView, GateReportView, Page


@operation("gate.run", write=True)
def run_gate(ctx: Context, ref: str, environment: str) -> GateReportView:
    """Evaluate every control for a release in an environment; the run is stored."""
    return GateReportView.model_validate(gates.run_gate(ctx, ref, environment).report)


@operation("exception.request", write=True)
def request_exception(
    ctx: Context,
    ref: str,
    control_id: str,
    justification: str,
    compensating: str,
    expires: str,
    environment: str | None = None,
) -> ExceptionView:
    """Request a time-boxed waiver of one control."""
    item = exceptions.request_exception(
        ctx,
        ref,
        control_id=control_id,
        justification=justification,
        compensating=compensating,
        expires=expires,
        environment=environment,
    )
    return ExceptionView.of(item)


@operation("exception.decide", write=True)
def decide_exception(
    ctx: Context,
    exception_id: int,
    verdict: Literal["approve", "reject", "revoke"],
    note: str = "",
) -> ExceptionView:
    """Approve, reject or revoke an exception."""
    if verdict == "revoke":
        return ExceptionView.of(exceptions.revoke_exception(ctx, exception_id, note=note))
    return ExceptionView.of(exceptions.decide_exception(ctx, exception_id, verdict, note=note))


@operation("exception.show", write=False)
def get_exception(ctx: Context, exception_id: int) -> ExceptionView:
    """One exception."""
    return ExceptionView.of(exceptions.get_exception(ctx, exception_id))


@operation("exception.list", write=False)
def list_exceptions(
    ctx: Context,
    system: str | None = None,
    status: str | None = None,
    expiring: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[ExceptionView]:
    """Exceptions, soonest expiry first."""
    rows, total = exceptions.list_exceptions(
        ctx,
        system_name=system,
        status=status,
        expiring_within=exceptions.parse_window(expiring) if expiring else None,
        limit=limit,
        offset=offset,
    )
    return Page(items=[ExceptionView.of(x) for x in rows], total=total, limit=limit, offset=offset)
