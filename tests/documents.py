"""Reading the minutes documents back as their readers see them: DOCX text (python-docx) and PDF
text (poppler's pdftotext), normalised so Vietnamese compares in one Unicode form."""

from __future__ import annotations

import io
import re
import subprocess
import unicodedata

import docx


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def docx_text(data: bytes) -> tuple[str, str]:
    """(body paragraphs + table cells, page header)."""
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                parts.extend(p.text for p in cell.paragraphs)
    header = " ".join(p.text for section in document.sections for p in section.header.paragraphs)
    return norm("\n".join(parts)), norm(header)


def poppler(tool: str, data: bytes, *args: str) -> str:
    result = subprocess.run(
        [tool, *args, "-", "-"] if tool == "pdftotext" else [tool, "-"],
        input=data,
        capture_output=True,
        check=True,
        timeout=30,
    )
    return result.stdout.decode("utf-8")


def pdf_pages(data: bytes, mode: str = "-layout") -> list[str]:
    return poppler("pdftotext", data, mode).split("\f")[:-1]
