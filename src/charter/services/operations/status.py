"""The portfolio status operation."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from charter.services import portfolio
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import StatusView


@operation("status", write=False)
def status(ctx: Context) -> StatusView:
    """Every system right now: tier, live releases, approvals, flags, exceptions."""
    entries = portfolio.portfolio(ctx)
    systems: list[dict[str, Any]] = TypeAdapter(list[dict[str, Any]]).dump_python(
        entries, mode="json"
    )
    from charter.services.attestation import add_to_status

    add_to_status(ctx, systems)  # attestation, guard block rate, open incidents per route
    return StatusView(systems=systems)
