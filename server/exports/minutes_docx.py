"""The minutes (biên bản) as DOCX in the Party's document format (R-MIN-3), for the minute-taker to file.

A4, Times New Roman (the font of Party documents; Word has it, LibreOffice maps it to the metric-compatible
Liberation Serif): the wording and order come from minutes_text, so the DOCX and the PDF say the same.
A draft carries "DỰ THẢO" in the page header and in the title. No I/O: the JSON in, the bytes out.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from server.exports.minutes_text import build
from server.exports.minutes_wording import ADDENDA_HEADING, DRAFT_MARK, PARTY, MinutesText

FONT_NAME = "Times New Roman"
FONT_SIZE = Pt(13)
GREY = RGBColor(0x80, 0x80, 0x80)


def _set_font(element: Any, name: str) -> None:
    """Set every script's font (Vietnamese needs ascii/hAnsi; cs/eastAsia keep Word from substituting)."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), name)


def _paragraph(
    container: Any,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = None,
    size: Pt | None = None,
    first_line: Cm | None = None,
    left: Cm | None = None,
    after: Pt | None = None,
) -> Paragraph:
    paragraph: Paragraph = container.add_paragraph()
    if text:
        run = paragraph.add_run(text)
        run.bold, run.italic, run.underline = bold, italic, underline
        if size is not None:
            run.font.size = size
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(0), Pt(3) if after is None else after
    if first_line is not None:
        fmt.first_line_indent = first_line
    if left is not None:
        fmt.left_indent = left
    return paragraph


def _cell_paragraph(cell: _Cell, text: str, **style: Any) -> Paragraph:
    """The first paragraph of a new cell is reused, the next ones added."""
    first = cell.paragraphs[0]
    if not first.runs and not first.text:
        element = first._p
        paragraph = _paragraph(cell, text, **style)
        element.getparent().remove(element)
        return paragraph
    return _paragraph(cell, text, **style)


def _no_borders(table: Any) -> None:
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    tblpr.append(borders)


def _two_columns(document: Any) -> tuple[_Cell, _Cell]:
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _no_borders(table)
    left, right = table.rows[0].cells
    left.width, right.width = Cm(7.5), Cm(9.0)
    return left, right


def _header(document: Any, text: MinutesText) -> None:
    center = WD_ALIGN_PARAGRAPH.CENTER
    left, right = _two_columns(document)
    if text.parent_name:
        _cell_paragraph(left, text.parent_name, align=center, after=Pt(0))
    _cell_paragraph(left, text.unit_name, bold=True, align=center, after=Pt(0))
    _cell_paragraph(left, "*", align=center, after=Pt(0))
    _cell_paragraph(left, text.number, align=center, after=Pt(0))
    _cell_paragraph(right, PARTY, bold=True, underline=True, align=center, after=Pt(6))
    _cell_paragraph(right, text.date_line, italic=True, align=center, after=Pt(0))


def _body(document: Any, text: MinutesText) -> None:
    for line in text.body:
        if line.style == "heading":
            _paragraph(document, line.text, bold=True, after=Pt(4)).paragraph_format.space_before = Pt(8)
            continue
        if line.style == "item":
            _paragraph(document, line.text, bold=True, first_line=Cm(1), after=Pt(3))
            continue
        indent = Cm(1) if line.style == "bullet" else None
        paragraph = _paragraph(document, first_line=Cm(1) if indent is None else None, left=indent)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        if line.style == "bullet":
            paragraph.add_run("- ")
        if line.label:
            label = paragraph.add_run(line.label)
            label.bold = line.style != "text"
            label.italic = line.style == "label"
        if line.text:
            paragraph.add_run(line.text)


def _signatures(document: Any, text: MinutesText) -> None:
    _paragraph(document, after=Pt(6))
    cells = _two_columns(document)
    center = WD_ALIGN_PARAGRAPH.CENTER
    # The names line up: every column gets as many lines above the signing space as the tallest one.
    height = max((len(s.roles) + bool(s.signed) for s in text.signatures), default=0)
    for cell, signature in zip(cells, text.signatures, strict=False):
        for role in signature.roles:
            _cell_paragraph(cell, role, bold=True, align=center, after=Pt(0))
        if signature.signed:
            _cell_paragraph(cell, signature.signed, italic=True, align=center, size=Pt(11), after=Pt(0))
        for _ in range(height - len(signature.roles) - bool(signature.signed)):
            _cell_paragraph(cell, "", after=Pt(0))
        _cell_paragraph(cell, "", after=Pt(48))
        _cell_paragraph(cell, signature.full_name, bold=True, align=center, after=Pt(0))


def _addenda(document: Any, text: MinutesText) -> None:
    if not text.addenda:
        return
    heading = _paragraph(document, ADDENDA_HEADING, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    heading.paragraph_format.space_before = Pt(18)
    for addendum in text.addenda:
        _paragraph(document, addendum.heading, bold=True, after=Pt(2))
        for paragraph in addendum.text:
            _paragraph(document, paragraph, first_line=Cm(1))
        _paragraph(document, addendum.hash_line, size=Pt(9), after=Pt(6))


def render_docx(minutes: Mapping[str, Any]) -> bytes:
    """The minutes JSON (docs/api.md "Minutes") as a DOCX document."""
    text = build(minutes)
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = FONT_NAME
    normal.font.size = FONT_SIZE
    _set_font(normal.element, FONT_NAME)
    properties = document.core_properties
    properties.title = f"{text.title} {text.meeting_title}".strip()
    properties.language = "vi-VN"
    properties.author = text.unit_name.title() if text.unit_name else ""

    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    section.left_margin, section.right_margin = Cm(3.0), Cm(1.5)
    header = section.header
    header.is_linked_to_previous = False
    mark = header.paragraphs[0]
    mark.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if text.draft:
        run = mark.add_run(DRAFT_MARK)
        run.bold = True
        run.font.size = Pt(16)
        run.font.color.rgb = GREY
    if text.hash_line:
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = footer.add_run(text.hash_line)
        run.font.size = Pt(8)

    _header(document, text)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(
        document, text.title, bold=True, align=center, size=Pt(15), after=Pt(0)
    ).paragraph_format.space_before = Pt(18)
    _paragraph(document, text.meeting_title, bold=True, align=center, after=Pt(12))
    _body(document, text)
    _signatures(document, text)
    _addenda(document, text)

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
