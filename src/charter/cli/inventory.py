"""The inventory: `charter user`, `charter system`, `charter release`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from charter.cli import render
from charter.cli.app import (
    FormatOpt,
    LimitOpt,
    OffsetOpt,
    backend,
    check_format,
    read_file,
    release_app,
    show_page,
    system_app,
    user_app,
)

# --- users -------------------------------------------------------------------------------


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[
        str, typer.Option(help="admin, risk_engineer, developer, approver, auditor, service")
    ],
    fmt: FormatOpt = "text",
) -> None:
    """Create a user and print its API token (shown this once only)."""
    data = backend().call("user.create", name=name, role=role)
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        render.line(
            f"User [bold]{data['name']}[/bold] ({data['role']}) created. Token (shown once):"
        )
        sys.stdout.write(data["token"] + "\n")


@user_app.command("token")
def user_token(name: str, fmt: FormatOpt = "text") -> None:
    """Revoke a user's tokens and print a new one."""
    data = backend().call("user.token", name=name)
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        sys.stdout.write(data["token"] + "\n")


@user_app.command("list")
def user_list(fmt: FormatOpt = "text", limit: LimitOpt = 50, offset: OffsetOpt = 0) -> None:
    """List users and their roles."""
    show_page(
        "Users",
        backend().call("user.list", limit=limit, offset=offset),
        ["name", "role", "created_at", "disabled"],
        fmt,
    )


# --- systems -----------------------------------------------------------------------------


@system_app.command("register")
def system_register(
    name: str,
    owner: Annotated[str | None, typer.Option(help="Accountable owner (person or team).")] = None,
    purpose: Annotated[str | None, typer.Option(help="What the system is for.")] = None,
    population: Annotated[str | None, typer.Option(help="Who is affected by its outputs.")] = None,
    surface: Annotated[
        list[str] | None, typer.Option(help="Where it is exposed (repeatable).")
    ] = None,
    intake: Annotated[
        Path | None,
        typer.Option(
            help="Intake file (YAML) with owner, purpose, answers... The questions and their "
            "help text: charter policy questions (--interactive writes the file)."
        ),
    ] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Register a system in the inventory."""
    from charter.domain.systems import parse_intake

    check_format(fmt)
    parsed = parse_intake(read_file(intake), str(intake)) if intake else None
    fields = {"owner": owner, "purpose": purpose, "population": population, "surfaces": surface}
    data = backend().call("system.register", name=name, **fields, intake=parsed)
    if fmt == "json":
        render.emit_json(data)
    else:
        render.line(
            f"Registered [bold]{data['name']}[/bold] (tier {data['tier']}, {data['status']})"
        )


@system_app.command("list")
def system_list(fmt: FormatOpt = "text", limit: LimitOpt = 50, offset: OffsetOpt = 0) -> None:
    """List the systems in the inventory."""
    show_page(
        "Systems",
        backend().call("system.list", limit=limit, offset=offset),
        ["name", "owner", "tier", "status", "created_at"],
        fmt,
    )


@system_app.command("show")
def system_show(name: str, fmt: FormatOpt = "text") -> None:
    """Show one system."""
    data = backend().call("system.show", name=name)
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        render.record(f"System {name}", data)


@system_app.command("set-status")
def system_set_status(
    name: str,
    status: Annotated[str, typer.Argument(help="proposed, active, suspended or retired")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit log).")],
    fmt: FormatOpt = "text",
) -> None:
    """Move a system through its lifecycle."""
    data = backend().call("system.status", name=name, status=status, reason=reason)
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        render.line(f"{name} is now {data['status']}")


# --- releases ----------------------------------------------------------------------------


@release_app.command("create")
def release_create(
    system: str,
    file: Annotated[
        Path, typer.Option("-f", "--file", help="The release manifest (release.yaml).")
    ],
    allow_root: Annotated[
        list[Path] | None,
        typer.Option(
            "--allow-root",
            help="A directory absolute `path:` entries may point into (repeatable); "
            "relative paths always stay inside the manifest's directory.",
        ),
    ] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Create a release from a manifest and print its digest."""
    from charter.domain.releases import ReleaseManifest, parse_manifest, resolve_manifest

    check_format(fmt)
    manifest = parse_manifest(read_file(file), str(file))
    # Local files (model artifacts, prompt files) are resolved here, on the machine that
    # has them; the backend receives content only, so a server computes the same digest.
    resolved = resolve_manifest(
        manifest, system=system, base_dir=file.resolve().parent, roots=allow_root or ()
    )
    content = ReleaseManifest.model_validate(
        {
            "system": system,
            "label": resolved.label,
            "description": resolved.description,
            "components": resolved.components,
            "config": resolved.document["config"],
            "contract": resolved.document["contract"],
        }
    )
    data = backend().call("release.create", system=system, manifest=content)
    if fmt == "json":
        render.emit_json(data)
    else:
        verb = "Created" if data.get("created") else "Already exists:"
        render.line(f"{verb} release {data['system']}@{data['digest']}")


@release_app.command("list")
def release_list(
    system: str, fmt: FormatOpt = "text", limit: LimitOpt = 50, offset: OffsetOpt = 0
) -> None:
    """List a system's releases, newest first."""
    show_page(
        f"Releases of {system}",
        backend().call("release.list", system=system, limit=limit, offset=offset),
        ["ref", "label", "created_by", "created_at"],
        fmt,
    )


@release_app.command("show")
def release_show(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST")], fmt: FormatOpt = "text"
) -> None:
    """Show a release: components, config, contract and approval state."""
    data = backend().call("release.show", ref=ref)
    if check_format(fmt) == "json":
        render.emit_json(data)
        return
    render.record(
        f"Release {data['system']}@{data['digest']}",
        data,
        ["label", "description", "created_by", "created_at", "config", "contract"],
    )
    render.table("Components", data["components"], ["kind", "name", "digest"], None)
    render.table(
        "Approvals",
        data.get("approvals") or [],
        ["environment", "state", "approvals", "quorum", "valid_until"],
        None,
    )
