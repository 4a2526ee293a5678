"""Memo documents from tables and chart images: one self-contained HTML page, a deck, a workbook.

Each is written atomically (temporary name, then rename).
``report`` (one run) and ``compare`` (several runs) fill a ``Document``; ``html``, ``deck`` and
``workbook`` lay it out, so every document shares one look. This module holds what they share and
``write_document``, the one entry point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from capsim.runs.publish import publish_files

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Images for documents: drawn at the size they are shown, at print resolution.
DOCUMENT_DPI = 300
#: Size a chart is drawn and shown at in the report and the deck (inches, width x height).
CHART_SIZE_IN = (8.6, 5.0)


@dataclass(frozen=True)
class ChartImage:
    """One chart of a document: its name, slide title, one-line takeaway and PNG bytes."""

    name: str
    title: str
    takeaway: str
    png: bytes
    #: Size the image is drawn at and shown at (inches); None: the deck fits it to the slide.
    size_in: tuple[float, float] | None = None


@dataclass(frozen=True)
class Table:
    """A titled table with an optional note under it."""

    title: str
    frame: pd.DataFrame
    note: str = ""
    #: Slide rows per page in the deck (long tables run over several slides).
    rows_per_slide: int = 12


@dataclass(frozen=True)
class Headline:
    """A headline figure of the executive summary: its value as shown and what it is."""

    value: str
    label: str


@dataclass
class Document:
    """What a memo says, independent of format."""

    title: str
    subtitle: str
    tables: list[Table] = field(default_factory=list)
    charts: list[ChartImage] = field(default_factory=list)
    appendix: list[Table] = field(default_factory=list)
    method_note: str = ""
    #: Executive summary: a few sentences, shown first, with its headline figures.
    summary: list[str] = field(default_factory=list)
    headlines: list[Headline] = field(default_factory=list)
    #: Limitations of the method, one sentence each, after the method note.
    limitations: list[str] = field(default_factory=list)


def figure_png(fig: Figure, dpi: int = DOCUMENT_DPI) -> bytes:
    """A figure as PNG bytes (no file)."""
    from io import BytesIO

    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def looks_numeric(text: str) -> bool:
    """Whether a cell's text reads as a figure ('1,234.5', '78.6%', '-', 'never', 'Aug 2029').

    Columns of such cells are right-aligned in every document.
    """
    bare = text.replace(",", "").replace(".", "").replace("%", "").lstrip("-")
    month = len(text) == 8 and text[3] == " " and text[4:].isdigit()
    return bare.isdigit() or text in ("", "-", "never") or month


def render_html(doc: Document) -> str:
    """The whole document as one self-contained HTML page (``report.html`` lays it out)."""
    from capsim.report.html import render

    return render(doc)


def write_pptx(doc: Document, path: Path) -> None:
    """A 16:9 deck of the document (``report.deck`` lays it out)."""
    from capsim.report.deck import write_deck

    write_deck(doc, path)


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """A workbook with one sheet per table (``report.workbook`` formats it)."""
    from capsim.report.workbook import write_workbook

    write_workbook(sheets, path)


#: Leading characters that make a spreadsheet read a text cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def write_document(
    doc: Document, sheets: dict[str, pd.DataFrame], directory: Path, stem: str
) -> list[Path]:
    """``<stem>.html``, a deck and a workbook for ``doc``, written atomically into ``directory``."""
    deck, book = (
        ("memo.pptx", "tables.xlsx") if stem == "report" else (f"{stem}.pptx", f"{stem}.xlsx")
    )

    def write_html(path: Path) -> None:
        path.write_text(render_html(doc), encoding="utf-8")

    return publish_files(
        directory,
        [
            (f"{stem}.html", write_html),
            (deck, lambda p: write_pptx(doc, p)),
            (book, lambda p: write_xlsx(sheets, p)),
        ],
    )
