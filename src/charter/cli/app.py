"""The Typer application and what every command module shares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from charter.cli import render
from charter.domain.errors import BadInput

if TYPE_CHECKING:
    from charter.cli.backend import Backend
    from charter.store.db import Database

app = typer.Typer(
    name="charter",
    help="Charter: the control plane for AI model risk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def command_group(help_text: str) -> typer.Typer:
    """A sub-command group. Plain help text: Rich help formatting doubles start-up time."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)


db_app = command_group("Database schema migrations.")
user_app = command_group("Users, roles and API tokens.")
system_app = command_group("The inventory of AI systems.")
release_app = command_group("Immutable, content-addressed releases.")
audit_app = command_group("The hash-chained audit log.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(system_app, name="system")
app.add_typer(release_app, name="release")
app.add_typer(audit_app, name="audit")

FormatOpt = Annotated[str, typer.Option("--format", help="Output format: text or json.")]
LimitOpt = Annotated[int, typer.Option(min=1, max=500, help="Items per page.")]
OffsetOpt = Annotated[int, typer.Option(min=0, help="Items to skip.")]


def check_format(value: str) -> str:
    if value not in ("text", "json"):
        raise BadInput(f"unknown format {value!r}: use text or json")
    return value


#: What the running command opened (backends, databases), closed when it ends.
_OPENED: list[Callable[[], None]] = []


def backend() -> Backend:
    """The command's backend (local database or server), closed when the command ends."""
    from charter.cli.backend import open_backend
    from charter.settings import Settings

    opened = open_backend(Settings.load())
    _OPENED.append(opened.close)
    return opened


def database(url: str | None = None) -> Database:
    """The command's database (default: the settings'), disposed when the command ends."""
    from charter.settings import Settings
    from charter.store.db import Database

    db = Database(url or Settings.load().database_url)
    _OPENED.append(db.dispose)
    return db


def closing(close: Callable[[], None]) -> None:
    """Run ``close`` when the command ends (for what a command opens by other means)."""
    _OPENED.append(close)


def close_backends() -> None:
    """Close everything the command opened (database engines, HTTP connections): a
    command run in process (tests, the demo) must not leave pooled connections behind."""
    while _OPENED:
        _OPENED.pop()()


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise BadInput(f"{str(path)!r} is a directory, not a file") from None
    except OSError as exc:
        raise BadInput(f"cannot read {str(path)!r}: {exc.strerror}") from None


def show_page(title: str, page: dict[str, Any], columns: list[str], fmt: str) -> None:
    if check_format(fmt) == "json":
        render.emit_json(page)
    else:
        render.table(title, page["items"], columns, page["total"])
