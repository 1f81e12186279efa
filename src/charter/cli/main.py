"""The ``charter`` command line: thin commands over a backend (local database or server).

Exit codes: 0 success; 1 a check failed (e.g. the audit chain is broken); 2 bad input or a
refused operation, with a one-line reason on stderr. Heavy modules are imported inside
the commands so that ``charter --help`` starts fast.
"""

from __future__ import annotations

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
    audit_app,
    backend,
    check_format,
    db_app,
    read_file,
    release_app,
    show_page,
    system_app,
    user_app,
)
from charter.domain.errors import BadInput, CharterError

# --- setup -------------------------------------------------------------------------------


@app.command()
def init(
    admin: Annotated[str, typer.Option(help="Name of the first admin user.")] = "admin",
    database_url: Annotated[
        str | None, typer.Option(help="Database URL to store in the local config.")
    ] = None,
    policy: Annotated[
        bool, typer.Option(help="Apply the default policy pack if none is in force.")
    ] = True,
) -> None:
    """Create the database (or upgrade it), a first admin, and apply the default policy."""
    from charter.services.context import system_clock
    from charter.services.users import authenticate, bootstrap_admin, has_users
    from charter.settings import Settings, write_config
    from charter.store.db import Database
    from charter.store.migrate import upgrade

    settings = Settings.load()
    url = database_url or settings.database_url
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(url)
    revision = upgrade(db)
    with db.transaction(write=True) as session:
        if has_users(session):
            if settings.token:
                actor = authenticate(session, settings.token)
                render.line(
                    f"Already initialised (schema {revision}); you are {actor.name} ({actor.role})."
                )
                return
            raise CharterError("Charter is already initialised here: ask an admin for a token")
        user, token = bootstrap_admin(session, admin, system_clock())
    if policy:
        from charter.services import policies
        from charter.services.context import Charter

        with Charter(db).act(token, write=True) as ctx:
            if policies.current_version(ctx.session) is None:
                version, _ = policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
                render.line(f"Applied the default policy pack as version {version.version}")
    values: dict[str, Any] = {"token": token, "user": user.name}
    if database_url:
        values["database_url"] = database_url
    path = write_config(settings.home, values)
    render.line(f"Initialised Charter (schema {revision}) at {db.engine.url.render_as_string()}")
    render.line(f"Admin [bold]{user.name}[/bold] created; its token is stored in {path}")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the packaged migrations up to REVISION (default: the newest)."""
    from charter.settings import Settings
    from charter.store.db import Database
    from charter.store.migrate import upgrade

    db = Database(Settings.load().database_url)
    render.line(f"Database at revision {upgrade(db, revision)}")


@db_app.command("current")
def db_current(fmt: FormatOpt = "text") -> None:
    """Show the database's schema revision and the newest one this Charter ships."""
    from charter.settings import Settings
    from charter.store.db import Database
    from charter.store.migrate import current_revision, head_revision

    db = Database(Settings.load().database_url)
    data = {"current": current_revision(db), "head": head_revision()}
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        render.record("Schema", data)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the web console (at /) and the HTTP API (OpenAPI docs at /api/v1/docs)."""
    import uvicorn

    from charter.settings import Settings
    from charter.store.db import Database
    from charter.store.migrate import ensure_current

    ensure_current(Database(Settings.load().database_url))
    render.line(
        f"Charter on http://{host}:{port}/ (console; sign in with an API token), "
        "API at /api/v1, docs at /api/v1/docs"
    )
    uvicorn.run(
        "charter.api.server:app", host=host, port=port, workers=workers, log_level="warning"
    )


@app.command()
def whoami(fmt: FormatOpt = "text") -> None:
    """Show which user this CLI acts as."""
    data = backend().whoami()
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        render.line(f"{data['name']} ({data['role']})")


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
    data = backend().create_user(name, role)
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
    data = backend().rotate_token(name)
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        sys.stdout.write(data["token"] + "\n")


@user_app.command("list")
def user_list(fmt: FormatOpt = "text", limit: LimitOpt = 50, offset: OffsetOpt = 0) -> None:
    """List users and their roles."""
    show_page(
        "Users",
        backend().list_users(limit, offset),
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
        Path | None, typer.Option(help="Intake file (YAML) with owner, purpose, answers...")
    ] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Register a system in the inventory."""
    from charter.domain.systems import parse_intake

    check_format(fmt)
    parsed = parse_intake(read_file(intake), str(intake)) if intake else None
    fields = {"owner": owner, "purpose": purpose, "population": population, "surfaces": surface}
    data = backend().register_system(name, fields, parsed)
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
        backend().list_systems(limit, offset),
        ["name", "owner", "tier", "status", "created_at"],
        fmt,
    )


@system_app.command("show")
def system_show(name: str, fmt: FormatOpt = "text") -> None:
    """Show one system."""
    data = backend().get_system(name)
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
    data = backend().set_status(name, status, reason)
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
    fmt: FormatOpt = "text",
) -> None:
    """Create a release from a manifest and print its digest."""
    from charter.domain.releases import ReleaseManifest, parse_manifest, resolve_manifest

    check_format(fmt)
    manifest = parse_manifest(read_file(file), str(file))
    # Local files (model artifacts, prompt files) are resolved here, on the machine that
    # has them; the backend receives content only, so a server computes the same digest.
    resolved = resolve_manifest(manifest, system=system, base_dir=file.resolve().parent)
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
    data = backend().create_release(system, content)
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
        backend().list_releases(system, limit, offset),
        ["ref", "label", "created_by", "created_at"],
        fmt,
    )


@release_app.command("show")
def release_show(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST")], fmt: FormatOpt = "text"
) -> None:
    """Show a release: components, config, contract and approval state."""
    data = backend().get_release(ref)
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
    data = backend().decide(ref, request)
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
    page = backend().list_decisions(system, ref, limit, offset)
    if check_format(fmt) == "text":
        for item in page["items"]:
            item["release"] = f"{item['system']}@{item['digest'][:12]}"
    show_page(
        "Decisions",
        page,
        ["id", "release", "verdict", "actor", "environments", "expires_at", "created_at"],
        fmt,
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
    data = backend().audit_verify(anchor)
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
    data = backend().audit_head()
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
    page = backend().audit_log(limit, offset, {k: v for k, v in filters.items() if v})
    show_page("Audit log", page, ["seq", "at", "actor", "action", "entity_id"], fmt)


def run() -> None:
    """Console-script entry point: maps Charter errors to exit code 2 with a one-line reason."""
    import gc

    # Importing SQLAlchemy, pydantic and the ORM models allocates hundreds of thousands of
    # objects that live until exit; with the default threshold (700) the collector walks
    # them again and again (~0.1 s per command, measured in benchmarks/bench_gate.py). A
    # higher first threshold keeps collecting in long-running commands (serve, worker).
    gc.set_threshold(20_000, 10, 10)
    # Importing these registers their commands (policy, gate, deployments; evaluation).
    import charter.cli.evaluation
    import charter.cli.governance
    import charter.cli.monitoring  # noqa: F401

    try:
        app()
    except CharterError as exc:
        render.error(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        render.error("interrupted")
        sys.exit(130)
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            render.error(f"database error: {str(exc).splitlines()[0]}")
            sys.exit(2)
        raise
    finally:
        # Exit without the collector visiting every object one last time (~0.1 s).
        gc.freeze()
