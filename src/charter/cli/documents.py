"""Living documents: `charter card`, `evidence export|verify`, `kpis`, `report portfolio`.

Cards and reports are rendered here from the data the backend returns, so a local and a
remote run print the same bytes. `evidence verify` needs no database and no server.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from charter.cli import render
from charter.cli.app import app, backend, command_group
from charter.cli.evaluation import evidence_app
from charter.domain.errors import BadInput

report_app = command_group("Reports for the model risk committee.")
app.add_typer(report_app, name="report")

OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Write to this file (default: standard output).")
]


def write_output(data: bytes, out: Path | None, *, binary: bool = False) -> None:
    """Write to ``out`` only (complete or not at all), or to standard output."""
    if out is None:
        if binary and sys.stdout.isatty():
            raise BadInput("PDF output needs --out FILE (or a redirect)")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    if out.is_dir():
        raise BadInput(f"{str(out)!r} is a directory: give a file name")
    if not out.parent.is_dir():
        raise BadInput(f"the directory of {str(out)!r} does not exist")
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    render.line(f"wrote {out} ({len(data)} bytes)")


def _document_format(fmt: str, allowed: tuple[str, ...]) -> str:
    if fmt not in allowed:
        raise BadInput(f"unknown format {fmt!r}: use {', '.join(allowed)}")
    return fmt


@app.command("card")
def card(
    system: Annotated[str, typer.Argument(help="The system.")],
    release: Annotated[
        str | None, typer.Option(help="A release digest (default: what serves prod).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html, pdf or json.")] = "md",
    out: OutOpt = None,
    history: Annotated[
        bool, typer.Option("--history", help="List the stored snapshots instead.")
    ] = False,
    snapshot: Annotated[int | None, typer.Option(help="Render a stored snapshot.")] = None,
) -> None:
    """The system card (with a model card per model and a datasheet per reference),
    generated from the records and stamped with its "as of" time."""
    fmt = _document_format(fmt, ("md", "html", "pdf", "json"))
    if history:
        data = backend().call("card.history", system=system, limit=50)
        if fmt == "json":
            render.emit_json(data)
        else:
            render.table(
                f"Card snapshots of {system}",
                data["items"],
                ["id", "created_at", "trigger", "release", "digest"],
                None,
            )
        return
    data = backend().call("card.show", system=system, release=release, snapshot=snapshot)
    if fmt == "json":
        render.emit_json(data)
        return
    from charter.documents.card import render_card

    write_output(render_card(data["card"], fmt), out, binary=fmt == "pdf")


def _newest_checkpoint(sink: str | None) -> str | None:
    """The newest line of a checkpoint sink file (checkpoints live outside the database)."""
    if not sink:
        return None
    if sink.startswith(("http://", "https://")):
        raise BadInput("give the checkpoint sink as a file: read URLs with `audit verify`")
    try:
        lines = [line for line in Path(sink).read_text(encoding="utf-8").splitlines() if line]
    except OSError as exc:
        raise BadInput(f"cannot read the checkpoint sink {sink!r}: {exc.strerror}") from None
    return lines[-1] if lines else None


@evidence_app.command("export")
def evidence_export(
    system: Annotated[str, typer.Argument(help="The system.")],
    out: Annotated[Path, typer.Option("--out", help="The zip file to write.")],
    release: Annotated[str | None, typer.Option(help="Only this release (digest).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="From this date.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="To this date (inclusive).")] = None,
    checkpoints: Annotated[
        str | None,
        typer.Option(help="The checkpoint sink file (default: CHARTER_AUDIT_SINK)."),
    ] = None,
) -> None:
    """Write a self-contained evidence pack an auditor verifies offline."""
    from charter.domain.evidence_pack import write_pack

    if out.is_dir() or not out.parent.is_dir():
        raise BadInput(f"cannot write {str(out)!r}: give a file in an existing directory")
    checkpoint = _newest_checkpoint(checkpoints or os.environ.get("CHARTER_AUDIT_SINK"))
    data = backend().call(
        "pack.export", system=system, release=release, start=start, end=end, checkpoint=checkpoint
    )
    members = {name: text.encode("utf-8") for name, text in data["members"].items()}
    digest = write_pack(out, members, data["header"])
    render.line(f"wrote {out}: {len(members) + 1} members, manifest sha256 {digest}")
    for reason in data["header"].get("absent", []):
        render.line(f"  absent: {reason}")


@evidence_app.command("verify")
def evidence_verify(
    pack: Annotated[Path, typer.Argument(help="The evidence pack (zip).")],
    public_key: Annotated[
        str | None, typer.Option(help="Ed25519 public key (hex, or a file holding it).")
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="A key file (Ed25519 private key or secret).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Verify a pack offline (no database, no server); exit 1 naming what is wrong."""
    from charter.domain.evidence_pack import PackError, load_key, verify_pack

    _document_format(fmt, ("text", "json"))
    if not pack.is_file():
        raise BadInput(f"no such file: {str(pack)!r}")
    try:
        report = verify_pack(pack, key=load_key(public_key, key)).to_dict()
    except PackError as exc:
        report = {"ok": False, "refused": str(exc)}
    _print_verification(report, fmt)
    if not report["ok"]:
        raise typer.Exit(1)


def _print_verification(report: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        render.emit_json(report)
        return
    if "refused" in report:
        render.line(f"REFUSED: {render.escape(report['refused'])}")
        return
    for label in ("changed", "added", "removed"):
        for name in report[label]:
            render.line(f"{label.upper()}: {render.escape(name)}")
    for problem in report["problems"]:
        render.line(f"PROBLEM: {render.escape(problem)}")
    for warning in report["warnings"]:
        render.line(f"warning: {render.escape(warning)}")
    chain = report["chain"]
    if report["ok"]:
        head = chain.get("head", {})
        render.line(
            f"OK: {report['members']} members match the manifest; {chain.get('events')} audit "
            f"events chain to head {head.get('seq')}:{head.get('hash')}"
        )
    else:
        render.line("FAILED")


def _kpi_text(kpi: dict[str, Any]) -> str:
    value = kpi["value"]
    if value is None:
        return f"n/a ({kpi['note']})"
    if kpi["unit"] == "share":
        return f"{100 * value:.1f}% ({kpi['numerator']:g}/{kpi['denominator']:g})"
    if kpi["unit"] == "seconds":
        return f"{value:.0f} s (n={kpi['denominator']})"
    return str(value)


@app.command("kpis")
def kpis(
    period: Annotated[
        str | None, typer.Option(help="A quarter (2026Q4) or year; default: this quarter.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Portfolio KPIs, each computed from the records (formulas: docs/kpis.md)."""
    _document_format(fmt, ("text", "json"))
    data = backend().call("kpis.show", period=period)
    if fmt == "json":
        render.emit_json(data)
        return
    render.line(f"KPIs {data['period']['label']} as of {data['as_of']}")
    for kpi in data["kpis"]:
        render.line(f"  {kpi['name']}: {render.escape(_kpi_text(kpi))}")


@report_app.command("portfolio")
def report_portfolio(
    period: Annotated[
        str | None, typer.Option(help="A quarter (2026Q4) or year; default: this quarter.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, pdf, md or json.")] = "html",
    out: OutOpt = None,
) -> None:
    """The quarterly report: risk status, coverage and gaps, trends, overdue, incidents."""
    fmt = _document_format(fmt, ("html", "pdf", "md", "json"))
    data = backend().call("report.portfolio", period=period)
    if fmt == "json":
        render.emit_json(data)
        return
    from charter.documents.report import render_report

    write_output(render_report(data["report"], fmt), out, binary=fmt == "pdf")
