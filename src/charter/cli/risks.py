"""`charter risk add|list|show|update|review|accept|seed|link-incident|assessment`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from charter.cli import render
from charter.cli.app import FormatOpt, app, backend, check_format, command_group, read_file
from charter.domain.errors import BadInput

risk_app = command_group("The risk register: each system's risks, reviews and acceptances.")
app.add_typer(risk_app, name="risk")

SystemArg = Annotated[str, typer.Argument(help="The system.")]
RiskArg = Annotated[int, typer.Argument(help="Risk id.")]
NoteOpt = Annotated[str, typer.Option(help="A note for the new version (and the audit log).")]
FileOpt = Annotated[
    Path | None, typer.Option("--file", "-f", help="A YAML or JSON file of the risk's fields.")
]
TitleOpt = Annotated[str | None, typer.Option(help="What could go wrong, in a line.")]
CategoryOpt = Annotated[str | None, typer.Option(help="A category the pack lists.")]
NistOpt = Annotated[
    list[str] | None, typer.Option("--nist", help="A NIST AI RMF subcategory (MEASURE 2.11).")
]
OwaspOpt = Annotated[list[str] | None, typer.Option("--owasp", help="An OWASP LLM id (LLM01).")]
CauseOpt = Annotated[str | None, typer.Option(help="What would cause it.")]
FailureOpt = Annotated[str | None, typer.Option("--failure-mode", help="How it shows.")]
PopulationOpt = Annotated[str | None, typer.Option("--population", help="Who it affects.")]
LikelihoodOpt = Annotated[int | None, typer.Option(help="Inherent likelihood (pack's scale).")]
ImpactOpt = Annotated[int | None, typer.Option(help="Inherent impact (pack's scale).")]
ResidualLOpt = Annotated[
    int | None, typer.Option("--residual-likelihood", help="Likelihood after the controls.")
]
ResidualIOpt = Annotated[
    int | None, typer.Option("--residual-impact", help="Impact after the controls.")
]
OwnerOpt = Annotated[str | None, typer.Option(help="The owner: a Charter user name.")]
ControlOpt = Annotated[
    list[str] | None, typer.Option("--control", help="A pack control that mitigates it.")
]
SignalOpt = Annotated[
    list[str] | None, typer.Option("--signal", help="A monitor that would show it happening.")
]
RemediationOpt = Annotated[str | None, typer.Option(help="The remediation plan.")]
RISK_KEYS = [
    "system",
    "status",
    "version",
    "category",
    "nist_ai_rmf",
    "owasp_llm",
    "cause",
    "failure_mode",
    "affected_population",
    "inherent_rating",
    "inherent_score",
    "residual_rating",
    "residual_score",
    "owner",
    "controls",
    "signals",
    "remediation",
    "reviewed_at",
    "reviewed_by",
    "review_due",
    "accepted_by",
    "accepted_at",
    "gaps",
    "realised_incidents",
]


def _change(file: Path | None, fields: dict[str, Any]) -> Any:
    """The request: the file's fields, overridden by the flags given."""
    from pydantic import ValidationError

    from charter.domain.risks import RiskChange
    from charter.domain.text import load_yaml_document

    values: dict[str, Any] = {}
    if file is not None:
        loaded = load_yaml_document(read_file(file), str(file))
        if not isinstance(loaded, dict):
            raise BadInput("a risk file must be a mapping of fields", location=str(file))
        values.update(loaded)
    values.update({k: v for k, v in fields.items() if v is not None and v != []})
    try:
        return RiskChange(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        raise BadInput(f"{'.'.join(map(str, first['loc']))}: {message}") from None


def _show(data: dict[str, Any], fmt: str) -> None:
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.record(f"risk #{data['id']}: {data['title']}", data, RISK_KEYS)
    if data.get("history"):
        columns = ["version", "change", "at", "actor", "note"]
        render.table("Versions", data["history"], columns, None)


def _fields(**flags: Any) -> dict[str, Any]:
    return {
        "title": flags["title"],
        "category": flags["category"],
        "nist_ai_rmf": flags["nist"],
        "owasp_llm": flags["owasp"],
        "cause": flags["cause"],
        "failure_mode": flags["failure_mode"],
        "affected_population": flags["population"],
        "likelihood": flags["likelihood"],
        "impact": flags["impact"],
        "residual_likelihood": flags["residual_likelihood"],
        "residual_impact": flags["residual_impact"],
        "owner": flags["owner"],
        "controls": flags["control"],
        "signals": flags["signal"],
        "remediation": flags["remediation"],
    }


@risk_app.command("add")
def risk_add(
    system: SystemArg,
    file: FileOpt = None,
    title: TitleOpt = None,
    category: CategoryOpt = None,
    nist: NistOpt = None,
    owasp: OwaspOpt = None,
    cause: CauseOpt = None,
    failure_mode: FailureOpt = None,
    population: PopulationOpt = None,
    likelihood: LikelihoodOpt = None,
    impact: ImpactOpt = None,
    residual_likelihood: ResidualLOpt = None,
    residual_impact: ResidualIOpt = None,
    owner: OwnerOpt = None,
    control: ControlOpt = None,
    signal: SignalOpt = None,
    remediation: RemediationOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Add a risk to the system's register (from flags, a file, or both)."""
    check_format(fmt)
    change = _change(file, _fields(**locals()))
    _show(backend().call("risk.add", system=system, risk=change), fmt)


@risk_app.command("list")
def risk_list(
    system: SystemArg,
    status: Annotated[str | None, typer.Option(help="open or closed.")] = None,
    fmt: FormatOpt = "text",
) -> None:
    """The system's register, highest residual rating first, with what each risk lacks."""
    data = backend().call("risk.list", system=system, status=status)
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    rows = [
        {
            **item,
            "realised": len(item["realised_incidents"]),
            "gaps": "; ".join(item["gaps"]) or "-",
        }
        for item in data["items"]
    ]
    render.table(
        f"Risks of {system} (tier {data['tier']}, review every {data['review_days']} days)",
        rows,
        [
            "id",
            "title",
            "category",
            "inherent_rating",
            "residual_rating",
            "owner",
            "status",
            "reviewed_at",
            "accepted_by",
            "realised",
            "gaps",
        ],
        len(rows),
    )


@risk_app.command("show")
def risk_show(system: SystemArg, risk_id: RiskArg, fmt: FormatOpt = "text") -> None:
    """One risk with every version of it and the incidents that realised it."""
    _show(backend().call("risk.show", system=system, risk_id=risk_id), fmt)


@risk_app.command("update")
def risk_update(
    system: SystemArg,
    risk_id: RiskArg,
    file: FileOpt = None,
    title: TitleOpt = None,
    category: CategoryOpt = None,
    nist: NistOpt = None,
    owasp: OwaspOpt = None,
    cause: CauseOpt = None,
    failure_mode: FailureOpt = None,
    population: PopulationOpt = None,
    likelihood: LikelihoodOpt = None,
    impact: ImpactOpt = None,
    residual_likelihood: ResidualLOpt = None,
    residual_impact: ResidualIOpt = None,
    owner: OwnerOpt = None,
    control: ControlOpt = None,
    signal: SignalOpt = None,
    remediation: RemediationOpt = None,
    status: Annotated[str | None, typer.Option(help="open or closed.")] = None,
    note: NoteOpt = "",
    fmt: FormatOpt = "text",
) -> None:
    """Change a risk (a new version; a changed rating, owner or mitigation clears the
    acceptance of its residual rating)."""
    check_format(fmt)
    fields = _fields(**locals())
    fields["status"] = status
    change = _change(file, fields)
    data = backend().call("risk.update", system=system, risk_id=risk_id, risk=change, note=note)
    _show(data, fmt)


@risk_app.command("review")
def risk_review(
    system: SystemArg,
    risk_id: RiskArg,
    note: Annotated[str, typer.Option(help="What the review looked at.")],
    fmt: FormatOpt = "text",
) -> None:
    """Record that you reviewed the risk today (the gate reads who and when)."""
    check_format(fmt)
    _show(backend().call("risk.review", system=system, risk_id=risk_id, note=note), fmt)


@risk_app.command("accept")
def risk_accept(
    system: SystemArg,
    risk_id: RiskArg,
    note: Annotated[str, typer.Option(help="Why the residual risk is acceptable.")],
    fmt: FormatOpt = "text",
) -> None:
    """Accept the risk's residual rating (not as its owner or the one who rated it)."""
    check_format(fmt)
    _show(backend().call("risk.accept", system=system, risk_id=risk_id, note=note), fmt)


@risk_app.command("seed")
def risk_seed(system: SystemArg, fmt: FormatOpt = "text") -> None:
    """Add the pack's template risks for the system's tier and intake answers."""
    data = backend().call("risk.seed", system=system)
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.table(
        f"Risks of {system}", data["items"], ["id", "template", "title", "residual_rating"], None
    )


@risk_app.command("link-incident")
def risk_link_incident(
    incident_id: Annotated[int, typer.Argument(help="The incident.")],
    risk: Annotated[int, typer.Option("--risk", help="The risk it realised.")],
    note: NoteOpt = "",
    fmt: FormatOpt = "text",
) -> None:
    """Record that an incident realised a risk (the register shows it)."""
    check_format(fmt)
    data = backend().call("risk.link_incident", incident_id=incident_id, risk_id=risk, note=note)
    _show(data, fmt)


@risk_app.command("assessment")
def risk_assessment(
    system: SystemArg,
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (default: standard output).")
    ] = None,
) -> None:
    """The model risk assessment: the system, its risks and ratings, the evidence and
    monitoring that bear on each, and the residual risk accepted and by whom."""
    if fmt not in ("md", "html", "json"):
        raise BadInput(f"unknown format {fmt!r}: use md, html or json")
    data = backend().call("risk.assessment", system=system)
    if fmt == "json":
        render.emit_json(data)
        return
    from charter.cli.documents import write_output
    from charter.documents.risk_assessment import render_assessment

    write_output(render_assessment(data["assessment"], fmt), out)
