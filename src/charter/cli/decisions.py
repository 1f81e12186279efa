"""Decisions: `charter approve`, `charter reject`, `charter decisions`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from charter.cli import render
from charter.cli.app import (
    FormatOpt,
    LimitOpt,
    OffsetOpt,
    app,
    backend,
    check_format,
    read_file,
    show_page,
)
from charter.domain.errors import BadInput

# --- decisions ---------------------------------------------------------------------------


def _contract_file(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    from charter.domain.text import load_yaml_document

    contract = load_yaml_document(read_file(path), str(path))
    if not isinstance(contract, dict):
        raise BadInput("a contract file must hold a mapping", location=str(path))
    return contract


def _decide(ref: str, fmt: str, **fields: Any) -> None:
    from pydantic import ValidationError

    from charter.domain.decisions import DecisionRequest

    check_format(fmt)
    try:
        request = DecisionRequest(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInput(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    data = backend().call("decision.create", ref=ref, request=request)
    if fmt == "json":
        render.emit_json(data)
    else:
        render.line(
            f"Decision {data['id']}: {data['verdict']} "
            f"{data['system']}@{data['digest'][:12]} by {data['actor']}"
        )


@app.command()
def approve(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST")],
    use_case: Annotated[str, typer.Option(help="The use the approval covers.")] = "",
    population: Annotated[str, typer.Option(help="The population it may be used on.")] = "",
    env: Annotated[list[str] | None, typer.Option(help="Environment covered (repeatable).")] = None,
    expires: Annotated[
        str | None, typer.Option(help="ISO date/datetime or duration (90d).")
    ] = None,
    fallback: Annotated[str | None, typer.Option(help="static:NAME or SYSTEM@DIGEST.")] = None,
    condition: Annotated[list[str] | None, typer.Option(help="A condition (repeatable).")] = None,
    note: Annotated[str, typer.Option(help="Free-text rationale.")] = "",
    contract: Annotated[
        Path | None, typer.Option(help="Contract file overriding the release's.")
    ] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Approve a release (with --condition: approve with conditions)."""
    _decide(
        ref,
        fmt,
        verdict="approve_with_conditions" if condition else "approve",
        use_case=use_case,
        population=population,
        environments=env or [],
        expires=expires,
        fallback=fallback,
        conditions=condition or [],
        note=note,
        contract=_contract_file(contract),
    )


@app.command()
def reject(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST")],
    note: Annotated[str, typer.Option(help="Why the release is rejected.")] = "",
    env: Annotated[list[str] | None, typer.Option(help="Environments (default: all).")] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Reject a release; it voids earlier approvals for the environments named."""
    _decide(ref, fmt, verdict="reject", note=note, environments=env or [])


@app.command()
def decisions(
    target: Annotated[str | None, typer.Argument(help="SYSTEM or SYSTEM@DIGEST.")] = None,
    fmt: FormatOpt = "text",
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
) -> None:
    """List decisions, newest first."""
    system, ref = (None, target) if target and "@" in target else (target, None)
    page = backend().call("decision.list", system=system, ref=ref, limit=limit, offset=offset)
    if check_format(fmt) == "text":
        for item in page["items"]:
            item["release"] = f"{item['system']}@{item['digest'][:12]}"
    show_page(
        "Decisions",
        page,
        ["id", "release", "verdict", "actor", "environments", "expires_at", "created_at"],
        fmt,
    )
