"""The portfolio status operation."""

from __future__ import annotations

from charter.services import portfolio
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import StatusView


@operation("status", write=False)
def status(ctx: Context) -> StatusView:
    """Every system right now: tier, live releases, approvals, flags, exceptions, and per
    route the attestation, guard block rate and open incidents."""
    return StatusView(systems=portfolio.status_systems(ctx))
