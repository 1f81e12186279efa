"""The block model every document is written in, and its Markdown/HTML/PDF renderings.

A block is a small dict: ``heading`` (level, text), ``para`` (text), ``facts`` (rows of
label and value), ``table`` (columns, rows), ``list`` (items) or ``chart`` (title, svg).
Writing a document once as blocks keeps its three formats saying the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, Literal

Block = dict[str, Any]
Format = Literal["md", "html", "pdf"]
FORMATS: tuple[str, ...] = ("md", "html", "pdf")


def heading(text: str, level: int = 2) -> Block:
    """A section heading (level 1 is the document title)."""
    return {"type": "heading", "level": level, "text": text}


def para(text: str) -> Block:
    """A paragraph of plain text."""
    return {"type": "para", "text": text}


def facts(rows: Sequence[tuple[str, Any]]) -> Block:
    """Label/value rows; None values print as "not recorded"."""
    return {"type": "facts", "rows": [[label, show(value)] for label, value in rows]}


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "none") -> Block:
    """A table; with no rows, a paragraph saying ``empty`` instead."""
    if not rows:
        return para(empty)
    return {
        "type": "table",
        "columns": list(columns),
        "rows": [[show(v) for v in row] for row in rows],
    }


def bullets(items: Sequence[str], empty: str = "none") -> Block:
    """A bulleted list; with no items, a paragraph saying ``empty``."""
    return {"type": "list", "items": list(items)} if items else para(empty)


def chart(title: str, svg: str) -> Block:
    """An inline SVG chart (HTML shows it; Markdown and PDF name it and show its data)."""
    return {"type": "chart", "title": title, "svg": svg}


def show(value: Any) -> str:
    """A value as text for a reader."""
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(show(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show(v)}" for k, v in value.items()) if value else "none"
    return str(value)


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("charter.documents", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(title: str, blocks: Sequence[Block], fmt: str) -> bytes:
    """The document in ``fmt`` (md, html or pdf) as bytes."""
    if fmt == "pdf":
        from charter.documents.pdf import to_pdf

        return to_pdf(title, blocks)
    if fmt not in FORMATS:
        from charter.domain.errors import BadInput

        raise BadInput(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    template = _environment().get_template(f"document.{fmt}.j2")
    return str(template.render(title=title, blocks=blocks)).encode()
