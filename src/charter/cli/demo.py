"""`charter demo`: build a realistic portfolio on SQLite from real data, then serve it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from charter.cli import render
from charter.cli.app import app

#: Who the printed tokens sign in as, in the order a visitor would try them.
SIGN_IN = ("admin", "rita", "avery", "dana", "audrey")


@app.command()
def demo(
    home: Annotated[
        Path | None,
        typer.Option(
            help="Where the demo's database lives (default: $CHARTER_HOME or ./.charter-demo)."
        ),
    ] = None,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the console when built.")
    ] = True,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
    force: Annotated[bool, typer.Option(help="Replace a home the demo did not create.")] = False,
) -> None:
    """Build the demo portfolio (credit, car-loan, LLM assistant, every tier), then serve it."""
    from charter.demo import build_demo

    where = home or Path(os.environ.get("CHARTER_HOME") or ".charter-demo")
    render.line(f"Building the demo portfolio in {where} (SQLite):")
    result = build_demo(where, force=force)
    total = sum(seconds for _, seconds in result.timings)
    render.line(f"Built in {total:.0f} s. Sign in with one of these tokens:")
    for name in SIGN_IN:
        render.line(f"  {name:<7} {result.tokens[name]}")
    render.line(f"CLI: CHARTER_HOME={result.home} charter status")
    if not serve:
        return
    import uvicorn

    os.environ["CHARTER_HOME"] = str(result.home)
    os.environ.pop("CHARTER_URL", None)
    os.environ.pop("CHARTER_DATABASE_URL", None)
    render.line(f"Console on http://{host}:{port}/ (Ctrl-C to stop), API docs at /api/v1/docs")
    uvicorn.run("charter.api.server:app", host=host, port=port, log_level="warning")
