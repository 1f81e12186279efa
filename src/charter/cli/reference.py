"""The CLI reference in ``docs/cli.md``, generated from the Typer app itself.

``python -m charter.cli.reference`` rewrites the generated part of ``docs/cli.md`` (between
the two markers below); a test fails when the committed page differs from what the app
says, so the reference never drifts from the commands. The roles table comes from
:data:`charter.domain.roles.GRANTS` the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

BEGIN = "<!-- begin generated: python -m charter.cli.reference -->"
END = "<!-- end generated -->"


# Typer ships its own copy of click, so parameters and groups are told apart by what they
# have rather than by their class.


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")


def _commands(group: Any, prefix: str) -> list[tuple[str, Any]]:
    """Every leaf command under a click group, with its full name, in help order."""
    context = group.context_class(group)
    found: list[tuple[str, Any]] = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if command is None or command.hidden:
            continue
        full = f"{prefix} {name}"
        if _is_group(command):
            if command.invoke_without_command:
                found.append((full, command))
            found.extend(_commands(command, full))
        else:
            found.append((full, command))
    return found


def _usage(full: str, command: Any) -> str:
    parts = [full]
    for param in command.params:
        if param.param_type_name == "argument":
            name = (param.metavar or param.name or "").upper()
            parts.append(name if param.required else f"[{name}]")
    return " ".join(parts)


def _option_rows(command: Any) -> list[str]:
    rows = []
    for param in command.params:
        if param.param_type_name != "option" or param.hidden or param.name == "help":
            continue
        flags = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        default = ""
        if param.default not in (None, False, (), [], "") and not param.required:
            default = f" (default: `{param.default}`)"
        required = " **required**" if param.required else ""
        help_text = (param.help or "").replace("|", "\\|")
        rows.append(f"| {flags} | {help_text}{default}{required} |")
    return rows


def command_reference() -> str:
    """The Markdown of every command: usage, summary, options."""
    import typer

    from charter.cli.main import load_commands

    app = load_commands()
    root = typer.main.get_command(app)
    out = ["## Command reference", ""]
    for full, command in _commands(root, "charter"):
        out.append(f"### `{_usage(full, command)}`")
        out.append("")
        text = (command.help or "").strip()
        if text:
            out.append(text)
            out.append("")
        rows = _option_rows(command)
        if rows:
            out += ["| option | meaning |", "|---|---|", *rows, ""]
    return "\n".join(out)


def roles_table() -> str:
    """Who may do what, from the grants the services check."""
    from charter.domain.roles import GRANTS, Role

    roles = list(Role)
    out = [
        "## Roles",
        "",
        "| permission | " + " | ".join(r.value for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for permission, holders in GRANTS.items():
        marks = " | ".join("✓" if r in holders else "" for r in roles)
        out.append(f"| `{permission.value}` | {marks} |")
    return "\n".join(out) + "\n"


def generated() -> str:
    """The generated part of ``docs/cli.md``, markers included."""
    return f"{BEGIN}\n\n{roles_table()}\n{command_reference()}\n{END}"


def render_page(current: str) -> str:
    """``current`` with its generated part replaced (appended when it has none)."""
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + generated() + tail
    return current.rstrip() + "\n\n" + generated() + "\n"


def main(path: str = "docs/cli.md") -> None:
    """Rewrite the generated part of the CLI page in place."""
    page = Path(path)
    page.write_text(render_page(page.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
