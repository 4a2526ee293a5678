"""A ``Document`` as a 16:9 deck, laid out on blank slides with boxes sized to the slide.

Slides: title, executive summary (headline figures and sentences), every table as a native table
(long ones over several slides), one slide per chart with its takeaway beside it, then method and
limitations. Every box lies inside the slide, and its font size is the largest whose estimated
lines fit the box (``fits``), so no text runs out of its box.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd

from capsim.report.documents import ChartImage, Document, Table, looks_numeric

#: Slide size (inches): 16:9.
SLIDE_W_IN, SLIDE_H_IN = 13.333, 7.5
MARGIN_IN = 0.5
TITLE_TOP_IN, TITLE_H_IN = 0.3, 0.85
BODY_TOP_IN = 1.3
BODY_H_IN = SLIDE_H_IN - BODY_TOP_IN - 0.45
#: Average glyph width as a share of the font size (sans serif text, a little generous: wide
#: fonts such as DejaVu Sans, which LibreOffice substitutes, set about 0.55 em), and bold text's.
CHAR_EM = 0.6
BOLD_EM = 0.7
#: Line height as a share of the font size.
LINE_EM = 1.2
#: Inner margins a text box keeps (python-pptx's defaults: 0.1 in left/right, 0.05 in top/bottom).
INSET_W_IN, INSET_H_IN = 0.2, 0.1
ACCENT = (0x00, 0x72, 0xB2)
GREY = (0x55, 0x55, 0x55)


def lines_needed(text: str, width_in: float, size_pt: float, bold: bool = False) -> int:
    """Estimated lines ``text`` takes in a box ``width_in`` wide (word wrap, each paragraph)."""
    em = BOLD_EM if bold else CHAR_EM
    per_line = max(1, int((width_in - INSET_W_IN) * 72 / (size_pt * em)))
    total = 0
    for paragraph in text.split("\n"):
        lines, current = 1, 0
        for word in paragraph.split():
            need = len(word) if current == 0 else current + 1 + len(word)
            if need <= per_line:
                current = need
                continue
            if current:
                lines += 1
            lines += (len(word) - 1) // per_line
            current = len(word) - ((len(word) - 1) // per_line) * per_line
        total += lines
    return total


def fits(text: str, width_in: float, height_in: float, size_pt: float, bold: bool = False) -> bool:
    """Whether ``text`` at ``size_pt`` fits a box of ``width_in`` by ``height_in`` (estimate)."""
    height = lines_needed(text, width_in, size_pt, bold) * size_pt * LINE_EM / 72
    return height + INSET_H_IN <= height_in


def fitting_size(
    text: str, width_in: float, height_in: float, largest: float, bold: bool = False
) -> float:
    """The largest font size (whole points, ``largest`` down to 9) that fits the box."""
    size = largest
    while size > 9 and not fits(text, width_in, height_in, size, bold):
        size -= 1
    return size


def _inches(value: float) -> Any:
    from pptx.util import Inches

    return Inches(value)


def _rgb(color: tuple[int, int, int]) -> Any:
    from pptx.dml.color import RGBColor

    return RGBColor(*color)  # type: ignore[no-untyped-call]


def add_text(
    slide: Any,
    text: str,
    box: tuple[float, float, float, float],
    largest: float,
    *,
    bold: bool = False,
    color: tuple[int, int, int] = (0x22, 0x22, 0x22),
    centred: bool = False,
) -> Any:
    """A word-wrapped text box at ``box`` (left, top, width, height in inches), font fitted."""
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.util import Pt

    left, top, width, height = box
    shape = slide.shapes.add_textbox(_inches(left), _inches(top), _inches(width), _inches(height))
    frame = shape.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.TOP
    size = fitting_size(text, width, height, largest, bold)
    for i, paragraph_text in enumerate(text.split("\n")):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = paragraph_text
        paragraph.alignment = PP_ALIGN.CENTER if centred else PP_ALIGN.LEFT
        paragraph.font.size = Pt(size)
        paragraph.font.bold = bold
        paragraph.font.color.rgb = _rgb(color)
    return shape


def _title(slide: Any, text: str) -> None:
    """The slide's title across the top, with a rule under it."""
    width = SLIDE_W_IN - 2 * MARGIN_IN
    add_text(slide, text, (MARGIN_IN, TITLE_TOP_IN, width, TITLE_H_IN), 28, bold=True)
    line = slide.shapes.add_shape(
        1, _inches(MARGIN_IN), _inches(TITLE_TOP_IN + TITLE_H_IN + 0.02), _inches(width), 0
    )
    line.height = _inches(0.03)
    line.fill.solid()
    line.fill.fore_color.rgb = _rgb(ACCENT)
    line.line.fill.background()


def _blank(deck: Any) -> Any:
    """A new slide on the blank layout (no placeholders)."""
    return deck.slides.add_slide(deck.slide_layouts[6])


def _title_slide(deck: Any, doc: Document) -> None:
    slide = _blank(deck)
    width = SLIDE_W_IN - 2 * 0.9
    add_text(slide, doc.title, (0.9, 2.0, width, 1.3), 40, bold=True, color=ACCENT)
    if doc.subtitle:
        add_text(slide, doc.subtitle, (0.9, 3.5, width, 2.6), 20, color=GREY)


def _summary_slide(deck: Any, doc: Document) -> None:
    slide = _blank(deck)
    _title(slide, "Executive summary")
    count = max(1, len(doc.headlines))
    gap = 0.3
    width = (SLIDE_W_IN - 2 * MARGIN_IN - gap * (count - 1)) / count
    for i, headline in enumerate(doc.headlines):
        left = MARGIN_IN + i * (width + gap)
        frame = slide.shapes.add_shape(
            1, _inches(left), _inches(BODY_TOP_IN), _inches(width), _inches(1.7)
        )
        frame.fill.solid()
        frame.fill.fore_color.rgb = _rgb((0xF0, 0xF4, 0xF8))
        frame.line.color.rgb = _rgb((0xD0, 0xD8, 0xE0))
        add_text(
            slide,
            headline.value,
            (left, BODY_TOP_IN + 0.1, width, 0.85),
            36,
            bold=True,
            color=ACCENT,
            centred=True,
        )
        add_text(
            slide,
            headline.label,
            (left, BODY_TOP_IN + 0.95, width, 0.7),
            14,
            color=GREY,
            centred=True,
        )
    top = BODY_TOP_IN + (2.0 if doc.headlines else 0.0)
    body = "\n".join(doc.summary)
    add_text(slide, body, (MARGIN_IN, top, SLIDE_W_IN - 2 * MARGIN_IN, SLIDE_H_IN - top - 0.4), 18)


def _column_widths(frame: pd.DataFrame, total_in: float, size_pt: float) -> list[float]:
    """Column widths as wide as their longest text (header or cell) needs.

    They are narrowed in proportion when the table would be wider than ``total_in``.
    """
    natural = []
    for column in frame.columns:
        cells = [len(str(v)) for v in frame[column]] + [len(str(column))]
        characters = min(max(max(cells), 6), 60) + 3
        natural.append(characters * size_pt * CHAR_EM / 72)
    scale = min(1.0, total_in / sum(natural))
    return [width * scale for width in natural]


def _row_height_in(values: list[str], widths: list[float], size_pt: float) -> float:
    """Estimated height of one table row: its tallest cell."""
    lines = max(lines_needed(v, w, size_pt) for v, w in zip(values, widths, strict=True))
    return lines * size_pt * LINE_EM / 72 + 0.1


def table_pages(
    table: Table, size_pt: float, width_in: float, height_in: float
) -> list[pd.DataFrame]:
    """The table's rows split into pages whose estimated height fits ``height_in``."""
    frame = table.frame.astype(object).where(table.frame.notna(), "")
    widths = _column_widths(frame, width_in, size_pt)
    header = _row_height_in([str(c) for c in frame.columns], widths, size_pt)
    pages: list[pd.DataFrame] = []
    start, used = 0, header
    for i in range(len(frame)):
        height = _row_height_in([str(v) for v in frame.iloc[i]], widths, size_pt)
        if i > start and (used + height > height_in or i - start >= table.rows_per_slide):
            pages.append(frame.iloc[start:i])
            start, used = i, header
        used += height
    pages.append(frame.iloc[start:])
    return pages


def _table_slides(deck: Any, table: Table) -> None:
    """One or more slides holding ``table`` as a native table."""
    from pptx.util import Pt

    width = SLIDE_W_IN - 2 * MARGIN_IN
    note_h = 0.5 if table.note else 0.0
    height = BODY_H_IN - note_h
    size = 12.0 if len(table.frame.columns) <= 7 else 10.0
    pages = table_pages(table, size, width, height)
    for number, page in enumerate(pages, start=1):
        slide = _blank(deck)
        suffix = f" ({number} of {len(pages)})" if len(pages) > 1 else ""
        _title(slide, table.title + suffix)
        widths = _column_widths(page, width, size)
        header = _row_height_in([str(c) for c in page.columns], widths, size)
        rows = [
            _row_height_in([str(v) for v in r], widths, size) for r in page.itertuples(index=False)
        ]
        shape = slide.shapes.add_table(
            len(page) + 1,
            len(page.columns),
            _inches(MARGIN_IN),
            _inches(BODY_TOP_IN),
            _inches(sum(widths)),
            _inches(header + sum(rows)),
        )
        grid = shape.table
        for j, column_width in enumerate(widths):
            grid.columns[j].width = _inches(column_width)
        for i, row_height in enumerate([header, *rows]):
            grid.rows[i].height = _inches(row_height)
        right = [all(looks_numeric(str(v)) for v in page[c]) for c in page.columns]
        for j, column in enumerate(page.columns):
            _cell(grid.cell(0, j), str(column), size, Pt, bold=True, right=right[j])
        for i, row in enumerate(page.itertuples(index=False), start=1):
            for j, value in enumerate(row):
                _cell(grid.cell(i, j), str(value), size, Pt, right=right[j])
        if table.note:
            add_text(slide, table.note, (MARGIN_IN, SLIDE_H_IN - 0.95, width, 0.6), 11, color=GREY)


def _cell(
    cell: Any, value: str, size: float, points: Any, bold: bool = False, right: bool = False
) -> None:
    """Fill one table cell with text at ``size`` points (figures ``right``-aligned)."""
    from pptx.enum.text import PP_ALIGN

    cell.text = value
    cell.margin_left = cell.margin_right = _inches(0.05)
    cell.margin_top = cell.margin_bottom = _inches(0.03)
    for paragraph in cell.text_frame.paragraphs:
        paragraph.font.size = points(size)
        paragraph.font.bold = bold
        paragraph.alignment = PP_ALIGN.RIGHT if right else PP_ALIGN.LEFT


def _chart_slide(deck: Any, chart: ChartImage) -> None:
    """The chart at its drawn size on the left, its takeaway on the right."""
    slide = _blank(deck)
    _title(slide, chart.title)
    width, height = chart.size_in or (8.6, 5.0)
    scale = min(1.0, (SLIDE_W_IN - 2 * MARGIN_IN - 3.3) / width, BODY_H_IN / height)
    width, height = width * scale, height * scale
    slide.shapes.add_picture(
        BytesIO(chart.png),
        _inches(MARGIN_IN),
        _inches(BODY_TOP_IN),
        _inches(width),
        _inches(height),
    )
    left = MARGIN_IN + width + 0.3
    add_text(
        slide,
        chart.takeaway,
        (left, BODY_TOP_IN + 0.2, SLIDE_W_IN - MARGIN_IN - left, height - 0.2),
        20,
    )


def _method_slide(deck: Any, doc: Document) -> None:
    slide = _blank(deck)
    _title(slide, "Method and limitations")
    text = doc.method_note
    if doc.limitations:
        text += "\nLimitations:\n" + "\n".join(f"- {item}" for item in doc.limitations)
    add_text(slide, text, (MARGIN_IN, BODY_TOP_IN, SLIDE_W_IN - 2 * MARGIN_IN, BODY_H_IN), 16)


def write_deck(doc: Document, path: Path) -> None:
    """The deck of ``doc``: title, summary, tables, charts, appendix tables, method."""
    from pptx import Presentation

    deck = Presentation()
    deck.slide_width, deck.slide_height = _inches(SLIDE_W_IN), _inches(SLIDE_H_IN)
    _title_slide(deck, doc)
    if doc.summary or doc.headlines:
        _summary_slide(deck, doc)
    for table in doc.tables:
        _table_slides(deck, table)
    for chart in doc.charts:
        _chart_slide(deck, chart)
    for table in doc.appendix:
        _table_slides(deck, table)
    if doc.method_note or doc.limitations:
        _method_slide(deck, doc)
    deck.save(str(path))


def shape_inside(shape: Any, width_emu: int, height_emu: int) -> bool:
    """Whether a shape lies wholly within a slide of the given size (EMU)."""
    return bool(
        shape.left >= 0
        and shape.top >= 0
        and shape.left + shape.width <= width_emu
        and shape.top + shape.height <= height_emu
    )
