"""Memo documents from tables and chart images: one self-contained HTML page, a deck, a workbook.

Each is written atomically (temporary name, then rename).
``report`` (one run) and ``compare`` (several runs) fill a ``Document``; this module only lays it
out, so the two share one look. The HTML embeds every image as a base64 data URI and escapes
every ``/`` in text, so the file holds no external reference of any kind.
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Images for documents: 150 dpi keeps the HTML small and sharp on screen and in slides.
DOCUMENT_DPI = 150
CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;
border-bottom:1px solid #ccc}p.sub{color:#555;margin-top:0}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{width:100%;max-width:56em}
figcaption{font-size:.9em;color:#333}p.note{font-size:.85em;color:#444}
"""


@dataclass(frozen=True)
class ChartImage:
    """One chart of a document: its name, slide title, one-line takeaway and PNG bytes."""

    name: str
    title: str
    takeaway: str
    png: bytes


@dataclass(frozen=True)
class Table:
    """A titled table with an optional note under it."""

    title: str
    frame: pd.DataFrame
    note: str = ""


@dataclass
class Document:
    """What a memo says, independent of format."""

    title: str
    subtitle: str
    tables: list[Table] = field(default_factory=list)
    charts: list[ChartImage] = field(default_factory=list)
    appendix: list[Table] = field(default_factory=list)
    method_note: str = ""


def figure_png(fig: Figure, dpi: int = DOCUMENT_DPI) -> bytes:
    """A figure as PNG bytes (no file)."""
    from io import BytesIO

    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _text(value: Any) -> str:
    """Escaped text with every slash as an entity, so no ``//`` or URL survives in the page."""
    return html.escape(str(value)).replace("/", "&#47;")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return ""
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return _text(value)


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{_text(c)}</th>" for c in table.frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in table.frame.itertuples(index=False)
    )
    note = f'<p class="note">{_text(table.note)}</p>' if table.note else ""
    return f"<h2>{_text(table.title)}</h2><table><tr>{head}</tr>{rows}</table>{note}"


def render_html(doc: Document) -> str:
    """The whole document as one self-contained HTML page."""
    parts = [f"<h1>{_text(doc.title)}</h1>", f'<p class="sub">{_text(doc.subtitle)}</p>']
    parts += [_html_table(t) for t in doc.tables]
    for chart in doc.charts:
        data = base64.b64encode(chart.png).decode("ascii")
        parts.append(
            f'<h2 id="{_text(chart.name)}">{_text(chart.title)}</h2><figure>'
            f'<img alt="{_text(chart.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_text(chart.takeaway)}</figcaption></figure>"
        )
    parts += [_html_table(t) for t in doc.appendix]
    if doc.method_note:
        parts.append(f'<h2>Method</h2><p class="note">{_text(doc.method_note)}</p>')
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_text(doc.title)}</title><style>{CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_pptx(doc: Document, path: Path) -> None:
    """A deck: a title slide, then one chart per slide with its title and takeaway."""
    from io import BytesIO

    from pptx import Presentation
    from pptx.util import Inches, Pt

    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    title_slide = deck.slides.add_slide(deck.slide_layouts[0])
    title_slide.shapes.title.text = doc.title
    title_slide.placeholders[1].text = doc.subtitle
    for chart in doc.charts:
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = chart.title
        slide.shapes.title.text_frame.paragraphs[0].font.size = Pt(28)
        box = slide.shapes.add_textbox(Inches(0.6), Inches(1.35), Inches(12.1), Inches(0.6))
        box.text_frame.text = chart.takeaway
        box.text_frame.paragraphs[0].font.size = Pt(18)
        box.text_frame.word_wrap = True
        slide.shapes.add_picture(BytesIO(chart.png), Inches(1.9), Inches(2.0), height=Inches(5.3))
    deck.save(str(path))


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """A workbook with one sheet per table, bold frozen headers and readable column widths."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(name[:31])
        _write_row(sheet, 1, [str(c) for c in frame.columns])
        for number, row in enumerate(frame.itertuples(index=False), start=2):
            _write_row(sheet, number, [_excel_value(v) for v in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for i, column in enumerate(frame.columns, start=1):
            letter = sheet.cell(row=1, column=i).column_letter
            sheet.column_dimensions[letter].width = min(40, max(10, len(str(column)) + 2))
    book.save(str(path))


def _excel_value(value: Any) -> Any:
    """Plain Python values for openpyxl; NaN and infinity become empty cells."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value


#: Leading characters that make a spreadsheet read a text cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _write_row(sheet: Any, row: int, values: Sequence[Any]) -> None:
    """Write one row in which text such as ``=1+2`` stays text and numbers stay numbers.

    Such text is stored as a string with a quote prefix, so no spreadsheet runs it as a formula.
    """
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            value = _NOT_IN_XML.sub(lambda m: ascii(m.group())[1:-1], value)
        cell = sheet.cell(row=row, column=column, value=value)
        if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
            cell.data_type = "s"
            cell.quotePrefix = True


def write_atomically(
    directory: Path, writers: Sequence[tuple[str, Callable[[Path], None]]]
) -> list[Path]:
    """Write every file under a temporary name first, then rename them all into place.

    A failure leaves no half-written file behind and no earlier file replaced.
    """
    temporary: list[tuple[Path, Path]] = []
    try:
        for name, write in writers:
            final = directory / name
            staged = directory / f".{name}.{os.getpid()}.tmp"
            temporary.append((staged, final))
            write(staged)
    except BaseException:
        for staged, _ in temporary:
            staged.unlink(missing_ok=True)
        raise
    for staged, final in temporary:
        os.replace(staged, final)
    return [final for _, final in temporary]


def write_document(
    doc: Document, sheets: dict[str, pd.DataFrame], directory: Path, stem: str
) -> list[Path]:
    """``<stem>.html``, a deck and a workbook for ``doc``, written atomically into ``directory``."""
    deck, book = (
        ("memo.pptx", "tables.xlsx") if stem == "report" else (f"{stem}.pptx", f"{stem}.xlsx")
    )

    def write_html(path: Path) -> None:
        path.write_text(render_html(doc), encoding="utf-8")

    return write_atomically(
        directory,
        [
            (f"{stem}.html", write_html),
            (deck, lambda p: write_pptx(doc, p)),
            (book, lambda p: write_xlsx(sheets, p)),
        ],
    )
