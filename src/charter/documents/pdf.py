"""PDF rendering of a block document with fpdf2.

fpdf2 is pure Python (its dependencies Pillow, fontTools and defusedxml ship wheels), so
PDF output needs no system package: WeasyPrint would render the HTML itself but needs
Pango from the operating system. Text is set in the PDF core font Helvetica, which covers
Latin-1 only; the few other characters the records use are spelt out (``>=``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from charter.documents.blocks import Block

_SPELL = {
    "\u2265": ">=",
    "\u2264": "<=",
    "\u2014": "-",
    "\u2013": "-",
    "\u2026": "...",
    "\u2192": "->",
    "\u2713": "v",
    "\u2717": "x",
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2022": "-",
}


def latin1(text: Any) -> str:
    """Text the core fonts can set: known symbols spelt out, anything else as '?'."""
    value = str(text)
    for char, spelt in _SPELL.items():
        value = value.replace(char, spelt)
    return value.encode("latin-1", "replace").decode("latin-1")


def to_pdf(title: str, blocks: Sequence[Block]) -> bytes:
    """The document as PDF bytes (A4, one column, tables with wrapped cells)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_creator("Charter")
    pdf.set_title(latin1(title))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, latin1(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.ln(2)
    for block in blocks:
        kind = block["type"]
        if kind == "heading":
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 13 if block["level"] <= 2 else 11)
            pdf.multi_cell(
                0, 7, latin1(block["text"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L"
            )
        elif kind == "para":
            pdf.set_font("Helvetica", "", 9)
            pdf.multi_cell(
                0, 5, latin1(block["text"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L"
            )
        elif kind == "list":
            pdf.set_font("Helvetica", "", 9)
            for item in block["items"]:
                pdf.multi_cell(
                    0, 5, latin1(f"- {item}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L"
                )
        elif kind in ("facts", "table"):
            _table(pdf, block)
        elif kind == "chart":
            _chart(pdf, block)
        pdf.ln(1)
    return bytes(pdf.output())


def _table(pdf: Any, block: Block) -> None:
    pdf.set_font("Helvetica", "", 8)
    if block["type"] == "facts":
        rows, widths, header = block["rows"], (50, 140), None
    else:
        rows, header = block["rows"], block["columns"]
        widths = None
    with pdf.table(
        col_widths=widths,
        first_row_as_headings=header is not None,
        line_height=4.5,
        text_align="LEFT",
    ) as table:
        if header is not None:
            cells = table.row()
            for column in header:
                cells.cell(latin1(column))
        for row in rows:
            cells = table.row()
            for value in row:
                cells.cell(latin1(value)[:2000])


def _chart(pdf: Any, block: Block) -> None:
    # fpdf2 draws SVG itself; a chart it cannot draw is named rather than dropped silently.
    try:
        pdf.image(io.BytesIO(block["svg"].encode()), w=120)
    except Exception:
        pdf.set_font("Helvetica", "I", 8)
        pdf.multi_cell(0, 5, latin1(f"[chart: {block['title']}]"))
        return
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 5, latin1(block["title"]))
