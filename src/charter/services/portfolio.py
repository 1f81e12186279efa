"""`charter status` and the console's portfolio: every system right now, with what needs
re-approval and why. The read-model itself is plain SQL (:mod:`charter.services.status_read`);
this module runs it on a service context's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from charter.domain.roles import Permission
from charter.services import status_read
from charter.services.context import Context
from charter.services.status_read import DEFAULT_NOTICE_DAYS, EXPIRY_WARNING

__all__ = ["DEFAULT_NOTICE_DAYS", "EXPIRY_WARNING", "portfolio", "reader_of", "status_systems"]


def reader_of(session: Session) -> status_read.Reader:
    """The read-model's reader on the session's connection, inside its transaction."""
    connection = session.connection()
    return status_read.Reader(connection.connection.driver_connection, connection.dialect.name)


def portfolio(ctx: Context) -> list[dict[str, Any]]:
    """One entry per system: tier, live release per environment, approval, flags, exceptions
    (see :func:`charter.services.status_read.portfolio`)."""
    ctx.require(Permission.STATUS_READ)
    ctx.require(Permission.MONITOR_READ)
    return status_read.portfolio(reader_of(ctx.session), ctx.now())


def status_systems(ctx: Context) -> list[dict[str, Any]]:
    """`charter status`'s systems as JSON data: the portfolio plus, per route, what the
    serving processes attest, the guard block rate and the open incidents."""
    ctx.require(Permission.STATUS_READ)
    ctx.require(Permission.MONITOR_READ)
    return status_read.status_systems(reader_of(ctx.session), ctx.now())
