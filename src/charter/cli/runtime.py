"""`charter trace`, `charter incident ...`, `charter alerts ack/resolve`, `charter
interventions` and `charter drill`: the serving path's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from charter.cli import render
from charter.cli.app import FormatOpt, app, backend, check_format, command_group
from charter.cli.monitoring import alerts_app

incident_app = command_group("Incidents: open, acknowledge, mitigate, resolve, postmortem.")
app.add_typer(incident_app, name="incident")

NoteOpt = Annotated[str, typer.Option(help="A note for the timeline (and the audit log).")]
IncidentArg = Annotated[int, typer.Argument(help="Incident id.")]
INCIDENT_KEYS = [
    "system",
    "environment",
    "release",
    "severity",
    "status",
    "source",
    "alert_id",
    "breach_started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "mttd_seconds",
    "mttm_seconds",
]


@app.command()
def trace(
    inference_id: Annotated[str, typer.Argument(help="The inference id the SDK returned.")],
    system: Annotated[str | None, typer.Option(help="The system, if the id is ambiguous.")] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Trace one inference back to its release, approvers, attestation and guard verdicts."""
    data = backend().call("trace.show", inference_id=inference_id, system=system)
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.record(
        f"inference {inference_id}",
        {
            **data,
            "release": (data["release"] or {}).get("ref"),
            "approvers": ", ".join(
                f"{d['approver']} (#{d['id']}, policy v{d['policy_version']})"
                for d in data["decisions"]
                if d["counted"]
            ),
        },
        [
            "system",
            "environment",
            "at",
            "served",
            "release",
            "approvers",
            "approval_at_time",
            "exceptions",
            "deployment_at_time",
            "attestation",
            "guard",
            "flags",
            "record",
            "route_now",
        ],
    )


def show_runbook(runbook: dict[str, Any] | None) -> None:
    """Print an alert's runbook: title, Markdown steps, the commands to run, the link."""
    if not runbook:
        render.line("Runbook: none recorded (the alert opened before runbooks existed)")
        return
    origin = (
        f"policy v{runbook['policy_version']}"
        if runbook.get("source") == "policy"
        else "Charter's default"
    )
    render.line("")
    render.line(f"[bold]Runbook: {render.escape(runbook['title'])}[/bold]")
    render.line(render.escape(f"({runbook['id']}, {origin})"))
    render.line("")
    for text in runbook["steps"].rstrip().splitlines():
        render.line(render.escape(text))
    if runbook.get("commands"):
        render.line("")
        render.line("[bold]Commands[/bold]")
        for command in runbook["commands"]:
            render.line(f"  $ {render.escape(command)}")
    if runbook.get("link"):
        render.line("")
        render.line(f"More: {render.escape(runbook['link'])}")


def _show_incident(data: dict[str, Any], fmt: str) -> None:
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.record(f"incident #{data['id']}: {data['title']}", data, INCIDENT_KEYS)
    if data.get("timeline"):
        render.table("Timeline", data["timeline"], ["at", "kind", "actor", "note"], None)
    if data.get("alert_id") and data.get("timeline") is not None:
        show_runbook(data.get("runbook"))


@incident_app.command("list")
def incident_list(
    system: Annotated[str | None, typer.Option(help="Only this system.")] = None,
    status: Annotated[
        str | None, typer.Option(help="open, acknowledged, mitigated or resolved.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    fmt: FormatOpt = "text",
) -> None:
    """Incidents, newest first."""
    data = backend().call("incident.list", system=system, status=status, limit=limit)
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.table(
        "Incidents",
        data["items"],
        [
            "id",
            "system",
            "environment",
            "severity",
            "status",
            "title",
            "mttd_seconds",
            "mttm_seconds",
        ],
        None,
    )


@incident_app.command("show")
def incident_show(incident_id: IncidentArg, fmt: FormatOpt = "text") -> None:
    """One incident with its timeline, MTTD and MTTM."""
    _show_incident(backend().call("incident.show", incident_id=incident_id), fmt)


@incident_app.command("open")
def incident_open(
    system: Annotated[str, typer.Argument(help="The system.")],
    env: Annotated[str, typer.Option("--env", help="Environment, e.g. prod.")],
    title: Annotated[str, typer.Option(help="What is wrong, in a line.")],
    severity: Annotated[str, typer.Option(help="sev1 (worst) to sev4.")] = "sev2",
    note: NoteOpt = "",
    alert: Annotated[int | None, typer.Option(help="The alert it is about.")] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Open an incident by hand."""
    data = backend().call(
        "incident.open",
        system=system,
        environment=env,
        title=title,
        severity=severity,
        note=note,
        alert_id=alert,
    )
    _show_incident(data, fmt)


def _step(step: str, incident_id: int, note: str, fmt: str) -> None:
    _show_incident(backend().call(f"incident.{step}", incident_id=incident_id, note=note), fmt)


@incident_app.command("ack")
def incident_ack(incident_id: IncidentArg, note: NoteOpt = "", fmt: FormatOpt = "text") -> None:
    """Acknowledge an incident (someone is on it)."""
    _step("ack", incident_id, note, fmt)


@incident_app.command("mitigate")
def incident_mitigate(
    incident_id: IncidentArg, note: NoteOpt = "", fmt: FormatOpt = "text"
) -> None:
    """Record that the impact has stopped (e.g. killed to the fallback)."""
    _step("mitigate", incident_id, note, fmt)


@incident_app.command("resolve")
def incident_resolve(incident_id: IncidentArg, note: NoteOpt = "", fmt: FormatOpt = "text") -> None:
    """Resolve an incident."""
    _step("resolve", incident_id, note, fmt)


@incident_app.command("postmortem")
def incident_postmortem(
    incident_id: IncidentArg,
    out: Annotated[Path | None, typer.Option(help="Write the Markdown here.")] = None,
    save: Annotated[
        Path | None,
        typer.Option(help="Store this Markdown file as the incident's postmortem."),
    ] = None,
) -> None:
    """The incident's postmortem: the newest one saved, else a Markdown draft from its
    timeline. With --save FILE, store FILE as the postmortem (each revision is kept)."""
    if save is not None:
        from charter.domain.errors import BadInput

        try:
            text = save.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read {str(save)!r}: {exc}") from None
        saved = backend().call("incident.postmortem_save", incident_id=incident_id, markdown=text)
        render.line(f"saved the postmortem of incident #{incident_id} ({saved['at']})")
        return
    markdown = backend().call("incident.postmortem", incident_id=incident_id)["markdown"]
    if out is None:
        typer.echo(markdown)
    else:
        out.write_text(markdown, encoding="utf-8")
        render.line(f"wrote {out}")


@incident_app.command("metrics")
def incident_metrics(
    system: Annotated[str | None, typer.Option(help="Only this system.")] = None,
    fmt: FormatOpt = "text",
) -> None:
    """MTTD (breach start to alert) and MTTM (alert to mitigation), in seconds."""
    data = backend().call("incident.metrics", system=system)
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.record("Incident metrics", data, ["incidents", "open", "mttd_seconds", "mttm_seconds"])


def _alert(action: str, alert_id: int, note: str, fmt: str) -> None:
    data = backend().call(f"incident.alert_{action}", alert_id=alert_id, note=note)
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.record(
        f"alert #{alert_id}", data, ["system", "environment", "severity", "status", "actions"]
    )


@alerts_app.command("show")
def alert_show(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    fmt: FormatOpt = "text",
) -> None:
    """One alert with its runbook: what to do, the commands to run, the link."""
    data = backend().call("alert.show", alert_id=alert_id)
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.record(
        f"alert #{alert_id}: {data['summary']}",
        data,
        [
            "system",
            "environment",
            "release",
            "monitor",
            "subject",
            "severity",
            "status",
            "breach_started_at",
            "opened_at",
            "resolved_at",
            "incident_id",
        ],
    )
    if data.get("actions"):
        render.table("Actions", data["actions"], ["at", "action", "actor", "note"], None)
    show_runbook(data.get("runbook"))


@alerts_app.command("ack")
def alert_ack(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    note: NoteOpt = "",
    fmt: FormatOpt = "text",
) -> None:
    """Acknowledge an alert (and its incident)."""
    _alert("ack", alert_id, note, fmt)


@alerts_app.command("resolve")
def alert_resolve(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    note: NoteOpt = "",
    fmt: FormatOpt = "text",
) -> None:
    """Resolve an alert by hand."""
    _alert("resolve", alert_id, note, fmt)


@app.command()
def interventions(
    system: Annotated[str | None, typer.Option(help="Only this system.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    fmt: FormatOpt = "text",
) -> None:
    """Automatic interventions: what the policy made the worker do about each alert."""
    data = backend().call("intervention.list", system=system, limit=limit)
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.table(
        "Interventions",
        data["items"],
        [
            "id",
            "alert_id",
            "system",
            "environment",
            "action",
            "status",
            "policy_version",
            "outcome",
            "incident_id",
        ],
        None,
    )


@app.command()
def drill(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST, or SYSTEM for the prod release.")],
    scenario: Annotated[
        str, typer.Option(help="drift, fairness, performance, abuse or outage.")
    ] = "drift",
    fmt: FormatOpt = "text",
    history: Annotated[
        bool, typer.Option("--history", help="List the system's drills instead of running one.")
    ] = False,
) -> None:
    """Run a drill in the sandbox environment; exit 1 when it fails. Stored as evidence."""
    if history:
        listed = backend().call("drill.list", system=ref.split("@")[0], limit=100)
        if check_format(fmt) == "json":
            render.emit_json(listed)
            return
        render.table(
            f"Drills of {ref.split('@')[0]}",
            listed["items"],
            ["evidence_id", "recorded_at", "scenario", "passed", "release"],
            None,
        )
        return
    if "@" not in ref:
        route = backend().call("route.show", system=ref, environment="prod")
        ref = route["release"]
    data = backend().call("drill.run", ref=ref, scenario=scenario)
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        verdict = "PASSED" if data["passed"] else "FAILED"
        render.line(
            f"drill {scenario} of {data['release']}: {verdict} (evidence #{data['evidence_id']})"
        )
        rows = [
            {"step": name, **data["steps"][name]}
            for name in ("detection", "notification", "intervention", "fallback")
        ]
        render.table("Steps", rows, ["step", "ok", "seconds", "detail"], None)
        for note in data["notes"]:
            render.line(f"note: {note}")
    if not data["passed"]:
        raise typer.Exit(1)


@incident_app.command("link-risk")
def incident_link_risk(
    incident_id: IncidentArg,
    risk: Annotated[int, typer.Option("--risk", help="The risk of the system it realised.")],
    note: NoteOpt = "",
    fmt: FormatOpt = "text",
) -> None:
    """Record that the incident realised a risk in its system's register."""
    data = backend().call("risk.link_incident", incident_id=incident_id, risk_id=risk, note=note)
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.line(f"incident #{incident_id} realised risk #{data['id']}: {data['title']}")
