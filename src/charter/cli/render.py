"""Printing results: JSON for machines, Rich tables and panels for people."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any, Literal

Format = Literal["text", "json"]

# Characters a terminal acts on rather than shows: C0 controls but tab and newline, DEL, C1
# controls, and the bidirectional overrides and isolates (RLO can make `evil.exe` read as
# `exe.live`). Stored text is user input; printed raw it could rewrite the screen, hide
# lines or fake a verdict.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe(text: str) -> str:
    """``text`` with terminal control and bidi-override characters shown as escapes."""
    return _UNSAFE.sub(_visible, text)


def _console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout: indented for a terminal, compact for a pipe.

    Indenting makes ``json`` use its pure-Python encoder, ~10x slower than the C one:
    half a second for `charter status` over 1,000 systems. Programs reading the output
    do not need the indentation.
    """
    if sys.stdout.isatty():
        text = json.dumps(data, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Such characters only occur inside JSON strings, where \\uXXXX means the same value.
    sys.stdout.write(_UNSAFE.sub(_json_escape, text) + "\n")


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False) if value else "-"
    return str(value)


def _cell(value: Any) -> str:
    """User data as a Rich cell: escaped, because `[sex]` in a contract key is not markup."""
    from rich.markup import escape

    return escape(safe(_plain(value)))


def table(
    title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str], total: int | None
) -> None:
    """Print rows as a Rich table with the given columns."""
    from rich.table import Table

    shown = (
        f"{title} ({len(rows)} of {total})" if total is not None and total > len(rows) else title
    )
    grid = Table(title=safe(shown), title_justify="left")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*(_cell(row.get(column)) for column in columns))
    _console().print(grid)


def plain_table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as plain fixed-width text: the title, a header, a rule, one line per row.

    For long listings, where a Rich table costs about a millisecond a row to lay out and
    wraps cells to the terminal's width. Cells are shown as :func:`table` shows them
    (``-`` for nothing, control characters escaped); columns are two spaces apart.
    """
    cells = [[safe(_plain(row.get(column))) for column in columns] for row in rows]
    widths = [
        max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)
    ]

    def joined(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    lines = [safe(title), joined(columns), joined(["-" * w for w in widths])]
    lines.extend(joined(line) for line in cells)
    return "\n".join(lines) + "\n"


def record(title: str, data: dict[str, Any], keys: Sequence[str] | None = None) -> None:
    """Print one record as aligned key/value lines."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key in keys or list(data):
        grid.add_row(key, _cell(data.get(key)))
    from rich.markup import escape

    console = _console()
    console.print(f"[bold]{escape(safe(title))}[/bold]")
    console.print(grid)


def escape(text: str) -> str:
    """Escape user data for Rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(safe(text))


def line(text: str) -> None:
    """Print a line of Rich markup."""
    _console().print(safe(text))


def error(message: str) -> None:
    """Print a one-line error on stderr."""
    sys.stderr.write(f"error: {safe(message)}\n")
