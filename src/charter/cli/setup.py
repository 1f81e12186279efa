"""Setting up: `charter init`, `charter db`, `charter serve`, `charter whoami`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from charter.cli import render
from charter.cli.app import (
    FormatOpt,
    app,
    backend,
    check_format,
    database,
    db_app,
)

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
    from charter.services.setup import initialise, prepare_home
    from charter.settings import Settings, write_config

    settings = Settings.load()
    url = database_url or settings.database_url
    prepare_home(settings.home, url)
    db = database(url)
    done = initialise(db, admin=admin, apply_default_policy=policy, token=settings.token)
    if done.existing is not None:
        who = done.existing
        render.line(
            f"Already initialised (schema {done.revision}); you are {who.name} ({who.role})."
        )
        return
    assert done.token is not None
    assert done.admin is not None
    if done.policy_version is not None:
        render.line(f"Applied the default policy pack as version {done.policy_version}")
    values: dict[str, Any] = {"token": done.token, "user": done.admin}
    if database_url:
        values["database_url"] = database_url
    path = write_config(settings.home, values)
    render.line(
        f"Initialised Charter (schema {done.revision}) at {db.engine.url.render_as_string()}"
    )
    render.line(f"Admin [bold]{done.admin}[/bold] created; its token is stored in {path}")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the packaged migrations up to REVISION (default: the newest)."""
    from charter.store.migrate import upgrade

    db = database()
    render.line(f"Database at revision {upgrade(db, revision)}")


@db_app.command("current")
def db_current(fmt: FormatOpt = "text") -> None:
    """Show the database's schema revision and the newest one this Charter ships."""
    from charter.store.migrate import current_revision, head_revision

    db = database()
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

    from charter.store.migrate import ensure_current

    ensure_current(database())
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
    data = backend().call("whoami")
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        render.line(f"{data['name']} ({data['role']})")
