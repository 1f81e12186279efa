"""The audit log: `charter audit verify|head|checkpoint|log`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

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
    checkpoints: Annotated[
        str | None,
        typer.Option(
            help="A checkpoint sink (file or http(s) URL): check the chain against its "
            "signed checkpoints (keys: see `audit checkpoint`)."
        ),
    ] = None,
    state: Annotated[
        bool, typer.Option(help="Also check every governed row against the chain.")
    ] = True,
    fmt: FormatOpt = "text",
) -> None:
    """Recompute the hash chain and check the state; exit 1 naming what is wrong.

    Without checkpoints (or an anchor) a deleted tail or a re-hashed chain cannot be
    told from a shorter honest one: checkpoints written outside the database catch both.
    """
    check_format(fmt)
    anchors = [anchor] if anchor else []
    problems: list[str] = []
    newest: Any = None
    if checkpoints:
        from charter.services import checkpoints as sinks

        good, problems = sinks.checked(checkpoints, sinks.verifying_key())
        text = sinks.anchors_text(good)
        if text:
            anchors.append(text)
        newest = max(good, key=lambda c: c.seq) if good else None
        if not good and not problems:
            problems.append(f"the sink {checkpoints} holds no checkpoints")
    data = backend().call("audit.verify", anchor=",".join(anchors) or None, state=state)
    if checkpoints:
        data["checkpoint_problems"] = problems
        data["newest_checkpoint"] = (
            None if newest is None else {"seq": newest.seq, "hash": newest.hash, "at": newest.at}
        )
        if problems:
            data["ok"] = False
    if fmt == "json":
        render.emit_json(data)
    else:
        _show(data)
    if not data["ok"]:
        raise typer.Exit(1)


def _show(data: dict[str, Any]) -> None:
    covered = f", checked against {data['anchors']} anchor(s)" if data.get("anchors") else ""
    rows = "" if data.get("rows_checked") is None else f", {data['rows_checked']} rows match"
    newest = data.get("newest_checkpoint")
    if data.get("reason") is None and data["ok"]:
        render.line(
            f"[green]OK[/green]: {data['events']} events, "
            f"head {data['head_seq']}:{data['head_hash']}{covered}{rows}"
        )
        if newest is not None and newest["seq"] < data["head_seq"]:
            render.line(
                f"events after {newest['seq']} are not covered by a checkpoint yet "
                f"(newest {newest['at']})"
            )
        return
    if data.get("reason") is not None:
        if data.get("rows_checked") is not None and data.get("row_findings_total"):
            render.line(
                f"[red]STATE DIFFERS[/red]: {data['row_findings_total']} governed row(s) "
                f"do not match the chain ({data['events']} events verified)"
            )
            for finding in data["row_findings"]:
                seq = f" (recorded by event {finding['seq']})" if finding["seq"] else ""
                render.line(f"  {finding['row']}: {finding['problem']}{seq}")
        else:
            render.line(f"[red]BROKEN[/red] at event {data['broken_seq']}: {data['reason']}")
    for problem in data.get("checkpoint_problems", []):
        render.line(f"[red]CHECKPOINT[/red]: {problem}")


@audit_app.command("head")
def audit_head(fmt: FormatOpt = "text") -> None:
    """Print the chain head (SEQ:HASH) to anchor outside the database."""
    data = backend().call("audit.head")
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        sys.stdout.write(data["anchor"] + "\n")


@audit_app.command("checkpoint")
def audit_checkpoint(
    sink: Annotated[
        str | None,
        typer.Option(help="File or http(s) URL; default CHARTER_AUDIT_SINK or config audit_sink."),
    ] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Sign the chain head and append it to a sink outside the database.

    Signed with CHARTER_AUDIT_KEY (HMAC) or the Ed25519 key in $CHARTER_HOME/audit.key
    that `charter init` creates (0600). The worker writes one after each pass that moved
    the head, when a sink is configured.
    """
    check_format(fmt)
    from charter.domain.errors import BadInput
    from charter.services import checkpoints as sinks

    target = sink or sinks.configured_sink()
    if not target:
        raise BadInput("no sink: pass --sink or set CHARTER_AUDIT_SINK (or config audit_sink)")
    key = sinks.signing_key()
    head = backend().call("audit.head")
    checkpoint = sinks.sign_head(int(head["seq"]), str(head["hash"]), key)
    sinks.write(target, checkpoint)
    if fmt == "json":
        render.emit_json({"sink": target, **_fields(checkpoint)})
    else:
        render.line(f"Checkpoint of event {checkpoint.seq} ({checkpoint.at}) written to {target}")


def _fields(checkpoint: Any) -> dict[str, Any]:
    import json

    return dict(json.loads(checkpoint.to_json()))


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
