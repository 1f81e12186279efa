"""The audit log: `charter audit verify|head|log`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from charter.cli import render
from charter.cli.app import (
    FormatOpt,
    LimitOpt,
    OffsetOpt,
    audit_app,
    backend,
    check_format,
    show_page,
)

# --- audit -------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        str | None, typer.Option(help="SEQ:HASH recorded earlier by `audit head`.")
    ] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Recompute the hash chain; exit 1 and name the first broken link if it is broken."""
    data = backend().call("audit.verify", anchor=anchor)
    if check_format(fmt) == "json":
        render.emit_json(data)
    elif data["ok"]:
        render.line(
            f"[green]OK[/green]: {data['events']} events, "
            f"head {data['head_seq']}:{data['head_hash']}"
        )
    else:
        render.line(f"[red]BROKEN[/red] at event {data['broken_seq']}: {data['reason']}")
    if not data["ok"]:
        raise typer.Exit(1)


@audit_app.command("head")
def audit_head(fmt: FormatOpt = "text") -> None:
    """Print the chain head (SEQ:HASH) to anchor outside the database."""
    data = backend().call("audit.head")
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        sys.stdout.write(data["anchor"] + "\n")


@audit_app.command("log")
def audit_log(
    fmt: FormatOpt = "text",
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
    entity_type: Annotated[str | None, typer.Option(help="user, system, release...")] = None,
    entity_id: Annotated[
        str | None, typer.Option(help="e.g. credit-limit or SYSTEM@DIGEST")
    ] = None,
    action: Annotated[str | None, typer.Option(help="e.g. decision.approve")] = None,
) -> None:
    """Show audit events, newest first."""
    filters = {"entity_type": entity_type, "entity_id": entity_id, "action": action}
    page = backend().call(
        "audit.log", limit=limit, offset=offset, **{k: v for k, v in filters.items() if v}
    )
    show_page("Audit log", page, ["seq", "at", "actor", "action", "entity_id"], fmt)
