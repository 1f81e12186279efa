"""Policy, gate, exception, deployment and status commands."""

from __future__ import annotations

import os
import sys
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
    command_group,
    read_file,
    show_page,
    system_app,
)
from charter.domain.errors import BadInput

policy_app = command_group("Policy packs: apply, show, diff.")
exception_app = command_group("Time-boxed exceptions to controls.")
app.add_typer(policy_app, name="policy")
app.add_typer(exception_app, name="exception")

EnvOpt = Annotated[str, typer.Option("--env", help="Environment, e.g. prod.")]
ReasonOpt = Annotated[str, typer.Option(help="Why (recorded in the audit log).")]
GATE_FORMATS = ("text", "json", "junit", "github")


# --- policy ------------------------------------------------------------------------------


def _text(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("a policy pack must be UTF-8 text", location=str(path)) from None


def read_pack(path: Path) -> bytes:
    """A pack file with its runbook files (``path:``, inside the pack's directory) bundled
    in: the server never opens a client's files."""
    from charter.domain.runbooks import bundle_runbooks

    return bundle_runbooks(read_file(path), path.resolve().parent, str(path))


@policy_app.command("apply")
def policy_apply(file: Path, fmt: FormatOpt = "text") -> None:
    """Validate a policy pack and apply it as a new version (invalid packs change nothing)."""
    check_format(fmt)
    data = backend().call("policy.apply", source=_text(read_pack(file), file), name=str(file))
    if fmt == "json":
        render.emit_json(data)
    elif data.get("created"):
        render.line(f"Applied policy {data['name']} as version {data['version']}")
    else:
        render.line(f"Unchanged: version {data['version']} already has this content")


@policy_app.command("questions")
def policy_questions(
    file: Annotated[
        Path | None, typer.Option("--file", help="A pack file (default: the policy in force).")
    ] = None,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive", help="Ask each question with its help text, then show the tier."
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="With --interactive: write the answers as an intake file."),
    ] = None,
    fmt: FormatOpt = "text",
) -> None:
    """List the intake questions with their help text, or walk through them (--interactive)."""
    import yaml

    from charter.cli import questions
    from charter.domain.policy import load_policy

    check_format(fmt)
    if file is not None:
        policy = load_policy(read_pack(file), str(file))
    else:
        shown = backend().call("policy.show", version=None)
        policy = load_policy(shown["source"].encode("utf-8"), f"policy v{shown['version']}")
    if not interactive:
        if fmt == "json":
            render.emit_json(questions.describe(policy))
        else:
            sys.stdout.write(questions.listing(policy))
        return

    def ask(prompt: str) -> str:
        sys.stderr.write(prompt)
        sys.stderr.flush()
        reply = sys.stdin.readline()
        if not reply:
            raise EOFError
        return reply

    try:
        answers = questions.ask_all(policy, ask)
    except EOFError:
        raise BadInput("input ended before every question was answered") from None
    result = questions.summary(policy, answers)
    if out is not None:
        out.write_text(yaml.safe_dump({"answers": answers}, sort_keys=False), encoding="utf-8")
    if fmt == "json":
        render.emit_json(result)
        return
    verdict = "REFUSED" if result["refused"] else f"tier {result['tier']}"
    render.line(f"{verdict}: {render.escape(result['reason'])}")
    for flag, why in result["flags"].items():
        render.line(f"  flag {flag}: {render.escape(why)}")
    render.line(f"{len(result['controls'])} control(s) apply")
    if out is not None:
        render.line(f"Answers written to {out}: charter system register NAME --intake {out}")


@policy_app.command("show")
def policy_show(
    version: Annotated[int | None, typer.Option(help="A version (default: in force).")] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Print a policy version's pack as applied."""
    data = backend().call("policy.show", version=version)
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        render.line(
            f"# policy {data['name']} version {data['version']} ({data['digest'][:12]}), "
            f"applied by {data['created_by']} at {data['created_at']}"
        )
        sys.stdout.write(data["source"])


@policy_app.command("list")
def policy_list(fmt: FormatOpt = "text", limit: LimitOpt = 50, offset: OffsetOpt = 0) -> None:
    """List applied policy versions, newest first."""
    page = backend().call("policy.list", limit=limit, offset=offset)
    show_page(
        "Policy versions", page, ["version", "name", "digest", "created_by", "created_at"], fmt
    )


@policy_app.command("diff")
def policy_diff(
    old: Annotated[int | None, typer.Option("--from", help="Older version.")] = None,
    new: Annotated[int | None, typer.Option("--to", help="Newer version.")] = None,
    file: Annotated[Path | None, typer.Option(help="Compare a candidate pack with --from.")] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Show what changed between two versions (default: the last two), or against a file."""
    data = backend().call(
        "policy.diff",
        old=old,
        new=new,
        candidate=_text(read_pack(file), file) if file else None,
    )
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.line(f"Policy version {data['from']} -> {data['to']}")
    for change in data["changes"] or ["no changes"]:
        render.line(f"  {render.escape(str(change))}")


@system_app.command("intake")
def system_intake(
    name: str,
    intake: Annotated[Path, typer.Option(help="Intake file (YAML) with the new answers.")],
    fmt: FormatOpt = "text",
) -> None:
    """Re-run intake with new answers: the system is re-tiered (audited)."""
    from charter.domain.systems import parse_intake

    check_format(fmt)
    data = backend().call(
        "system.intake", name=name, intake=parse_intake(read_file(intake), str(intake))
    )
    if fmt == "json":
        render.emit_json(data)
    elif data.get("intake_proposal"):
        proposal = data["intake_proposal"]
        render.line(
            f"Proposed: {data['name']} would become tier {proposal['tier']} "
            f"(now {data['tier']}); a risk engineer accepts it with "
            f"`charter system intake-accept {data['name']}`"
        )
    else:
        _print_assessment(data)


@system_app.command("intake-accept")
def system_intake_accept(name: str, fmt: FormatOpt = "text") -> None:
    """Accept a system's pending intake proposal: the system is re-tiered (audited)."""
    data = backend().call("system.intake_accept", name=name)
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        _print_assessment(data)


def _print_assessment(data: dict[str, Any]) -> None:
    assessment = data.get("assessment") or {}
    render.line(f"[bold]{data['name']}[/bold]: tier {data['tier']} ({data['status']})")
    if assessment.get("rule"):
        render.line(f"  rule {assessment['rule']}: {render.escape(str(assessment.get('reason')))}")
    controls = assessment.get("controls") or []
    if controls:
        render.line(f"  {len(controls)} controls apply: {', '.join(controls)}")


# --- gate --------------------------------------------------------------------------------


@app.command()
def gate(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST")],
    env: EnvOpt,
    fmt: Annotated[str, typer.Option("--format", help="text, json, junit or github.")] = "text",
    output: Annotated[Path | None, typer.Option(help="Also write the report to this file.")] = None,
) -> None:
    """Evaluate every control for a release in an environment. Exit 0 pass, 1 fail, 2 error."""
    if fmt not in GATE_FORMATS:
        raise BadInput(f"unknown format {fmt!r}: use {', '.join(GATE_FORMATS)}")
    report = backend().call("gate.run", ref=ref, environment=env)
    rendered = _render_gate(report, fmt)
    if rendered is not None:
        sys.stdout.write(rendered)
        if output:
            output.write_text(rendered, encoding="utf-8")
    if not report["passed"]:
        raise typer.Exit(1)


def _render_gate(report: dict[str, Any], fmt: str) -> str | None:
    import json

    from charter.domain import gate_report

    if fmt == "json":
        return json.dumps(report, indent=2) + "\n"
    if fmt == "junit":
        return gate_report.to_junit(report, f"charter gate {report['ref']} {report['environment']}")
    if fmt == "github":
        annotations, summary = gate_report.to_github(report)
        summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_path:
            with open(summary_path, "a", encoding="utf-8") as handle:
                handle.write(summary)
        return annotations
    verdict = "[green]PASS[/green]" if report["passed"] else "[red]FAIL[/red]"
    render.table(
        f"Gate {report['ref']} in {report['environment']} (tier {report['tier']}, "
        f"policy v{report['policy_version']})",
        [{**r, "status": r["status"].upper().replace("_", " ")} for r in report["results"]],
        ["control_id", "status", "reason"],
        None,
    )
    counts = ", ".join(f"{v} {k}" for k, v in report["counts"].items())
    render.line(f"{verdict} ({counts})")
    return None


# --- exceptions --------------------------------------------------------------------------


@exception_app.command("request")
def exception_request(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST")],
    control: Annotated[str, typer.Option(help="The control id to waive.")],
    justification: Annotated[str, typer.Option(help="Why the control cannot be met now.")],
    compensating: Annotated[str, typer.Option(help="What mitigates the risk meanwhile.")],
    expires: Annotated[str, typer.Option(help="ISO date or duration (14d); capped by policy.")],
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Request a time-boxed waiver of one control for one release."""
    check_format(fmt)
    fields = {
        "control_id": control,
        "justification": justification,
        "compensating": compensating,
        "expires": expires,
        "environment": env,
    }
    data = backend().call("exception.request", ref=ref, **fields)
    if fmt == "json":
        render.emit_json(data)
    else:
        render.line(f"Exception {data['id']} requested for {control} until {data['expires_at']}")


def _decide_exception(exception_id: int, verdict: str, note: str, fmt: str) -> None:
    check_format(fmt)
    data = backend().call("exception.decide", exception_id=exception_id, verdict=verdict, note=note)
    if fmt == "json":
        render.emit_json(data)
    else:
        render.line(f"Exception {data['id']} is {data['status']}")


@exception_app.command("approve")
def exception_approve(exception_id: int, note: str = "", fmt: FormatOpt = "text") -> None:
    """Approve a requested exception (not your own)."""
    _decide_exception(exception_id, "approve", note, fmt)


@exception_app.command("reject")
def exception_reject(exception_id: int, note: str = "", fmt: FormatOpt = "text") -> None:
    """Reject a requested exception."""
    _decide_exception(exception_id, "reject", note, fmt)


@exception_app.command("revoke")
def exception_revoke(
    exception_id: int,
    note: Annotated[str, typer.Option(help="Why it is withdrawn.")] = "",
    fmt: FormatOpt = "text",
) -> None:
    """Withdraw a requested or approved exception."""
    _decide_exception(exception_id, "revoke", note, fmt)


@exception_app.command("list")
def exception_list(
    expiring: Annotated[
        str | None, typer.Option(help="Approved ones ending within e.g. 14d.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="requested, approved, rejected, revoked")
    ] = None,
    system: Annotated[str | None, typer.Option(help="Only this system.")] = None,
    fmt: FormatOpt = "text",
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
) -> None:
    """List exceptions, soonest expiry first."""
    filters = {"expiring": expiring, "status": status, "system": system}
    page = backend().call(
        "exception.list", **{k: v for k, v in filters.items() if v}, limit=limit, offset=offset
    )
    show_page(
        "Exceptions",
        page,
        ["id", "system", "control_id", "environment", "status", "expires_at", "requested_by"],
        fmt,
    )


# --- deployments -------------------------------------------------------------------------


def _print_route(data: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        render.emit_json(data)
        return
    render.record(
        f"{data['system']} in {data['environment']}",
        data,
        [
            "state",
            "release",
            "previous_release",
            "fallback",
            "approval",
            "serve",
            "rollout",
            "why",
            "reason",
        ],
    )


def _intervene(action: str, system: str, env: str, reason: str) -> dict[str, Any]:
    return backend().call(f"deployment.{action}", system=system, environment=env, reason=reason)


@app.command()
def deploy(
    target: Annotated[str, typer.Argument(help="SYSTEM@DIGEST, or SYSTEM followed by RELEASE")],
    env: EnvOpt,
    release: Annotated[
        str | None, typer.Argument(help="RELEASE (SYSTEM@DIGEST or a digest) after SYSTEM")
    ] = None,
    reason: Annotated[str, typer.Option(help="Change reference or note.")] = "",
    canary: Annotated[
        float | None,
        typer.Option(
            help="Serve the release to this share of traffic, in (0, 1), beside the live one."
        ),
    ] = None,
    shadow: Annotated[
        bool, typer.Option("--shadow", help="Score the live traffic with it, never serving it.")
    ] = False,
    fmt: FormatOpt = "text",
) -> None:
    """Make a release live; refused unless its gate passes and an approval covers the env.

    With --canary SHARE or --shadow the release starts a rollout beside the live one
    (same gate and approval); `charter rollout promote` gives it the traffic.
    """
    system = None
    ref = target
    if release is not None:
        system = target
        ref = release if "@" in release else f"{target}@{release}"
    _print_route(
        backend().call(
            "deployment.deploy",
            ref=ref,
            environment=env,
            reason=reason,
            canary=canary,
            shadow=shadow,
            system=system,
        ),
        check_format(fmt),
    )


@app.command()
def rollback(system: str, env: EnvOpt, reason: ReasonOpt = "", fmt: FormatOpt = "text") -> None:
    """Return to the previous approved release."""
    _print_route(_intervene("rollback", system, env, reason), check_format(fmt))


@app.command()
def kill(system: str, env: EnvOpt, reason: ReasonOpt = "", fmt: FormatOpt = "text") -> None:
    """Switch a system to its approved fallback."""
    _print_route(_intervene("kill", system, env, reason), check_format(fmt))


@app.command()
def resume(system: str, env: EnvOpt, reason: ReasonOpt = "", fmt: FormatOpt = "text") -> None:
    """Undo a kill."""
    _print_route(_intervene("resume", system, env, reason), check_format(fmt))


@app.command()
def route(system: str, env: EnvOpt, fmt: FormatOpt = "text") -> None:
    """Show what serves a system in an environment right now."""
    _print_route(backend().call("route.show", system=system, environment=env), check_format(fmt))


@app.command()
def status(fmt: FormatOpt = "text") -> None:
    """Every system right now: tier, live release per environment, approval, flags."""
    data = backend().call("status")
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    from charter.cli.status_text import print_status

    print_status(data)
