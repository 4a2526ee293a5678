"""A ``Document`` as one self-contained HTML page, in the order a reader needs it.

Title, the executive summary with its headline figures, the tables, every chart with its
takeaway, the appendix (assumptions, calibration), then method and limitations. Images are
base64 data URIs, CSS is inline and every ``/`` in text is an entity, so the page holds no
external reference of any kind and makes no network request when opened.
"""

from __future__ import annotations

import base64
import html
from typing import Any

from capsim.report.documents import ChartImage, Document, Table, looks_numeric

CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:1.2em auto;max-width:62em;color:#222;
padding:0 1em;line-height:1.4}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.15em;margin-top:1.6em;
border-bottom:1px solid #ccc}p.sub{color:#555;margin-top:0;font-size:.85em}
section.summary{background:#f4f6f8;border-left:4px solid #0072B2;padding:.6em 1em;margin:.8em 0}
section.summary h2{margin-top:.2em;border:none}
div.headlines{display:flex;gap:1em;margin:.4em 0 .8em 0}
div.headline{flex:1;background:#fff;border:1px solid #d8dde2;padding:.4em .7em}
div.headline b{display:block;font-size:2em;color:#0072B2;font-weight:600}
div.headline span{font-size:.85em;color:#444}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;vertical-align:top}
th{background:#f0f0f0}.text,.source{text-align:left!important}
td.source{color:#555;font-size:.92em}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;height:auto}
figcaption{font-size:.95em;color:#222;margin-top:.3em}p.note{font-size:.85em;color:#444}
"""


def text(value: Any) -> str:
    """Escaped text with every slash as an entity, so no ``//`` or URL survives in the page."""
    return html.escape(str(value)).replace("/", "&#47;")


def _empty(value: Any) -> bool:
    """Whether a cell has nothing to show (None or NaN)."""
    return value is None or (isinstance(value, float) and value != value)


def _shown(value: Any) -> str:
    """A cell's text: floats with separators and three significant digits, empty for nothing."""
    if _empty(value):
        return ""
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def table_html(table: Table) -> str:
    """A titled table: columns of figures right-aligned, text left; 'source' set apart in grey.

    Headings carry their column's alignment class, so a heading sits over its figures.
    """
    frame = table.frame
    head_cells, kinds = [], []
    for column in frame.columns:
        cells = [_shown(v) for v in frame[column]]
        kind = (
            "source"
            if str(column) == "source"
            else ("num" if all(map(looks_numeric, cells)) else "text")
        )
        kinds.append(kind)
        head_cells.append(f'<th class="{kind}">{text(column)}</th>')
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td class="{kind}">{text(_shown(v))}</td>' for v, kind in zip(row, kinds, strict=True)
        )
        + "</tr>"
        for row in frame.itertuples(index=False)
    )
    note = f'<p class="note">{text(table.note)}</p>' if table.note else ""
    return f"<h2>{text(table.title)}</h2><table><tr>{''.join(head_cells)}</tr>{rows}</table>{note}"


def _summary(doc: Document) -> str:
    """The executive summary section (empty if the document has none)."""
    if not doc.summary and not doc.headlines:
        return ""
    figures = "".join(
        f'<div class="headline"><b>{text(h.value)}</b><span>{text(h.label)}</span></div>'
        for h in doc.headlines
    )
    sentences = " ".join(text(s) for s in doc.summary)
    return (
        '<section class="summary" id="executive-summary"><h2>Executive summary</h2>'
        f'<div class="headlines">{figures}</div><p>{sentences}</p></section>'
    )


def _chart(chart: ChartImage) -> str:
    """A chart section: heading, image at its drawn size, takeaway as the caption."""
    data = base64.b64encode(chart.png).decode("ascii")
    size = (
        f' style="width:{chart.size_in[0]:g}in"' if chart.size_in is not None else ' width="100%"'
    )
    return (
        f'<h2 id="{text(chart.name)}">{text(chart.title)}</h2><figure>'
        f'<img alt="{text(chart.title)}"{size} src="data:image/png;base64,{data}">'
        f"<figcaption>{text(chart.takeaway)}</figcaption></figure>"
    )


def render(doc: Document) -> str:
    """The whole document as one self-contained HTML page."""
    parts = [f"<h1>{text(doc.title)}</h1>", f'<p class="sub">{text(doc.subtitle)}</p>']
    parts.append(_summary(doc))
    parts += [table_html(t) for t in doc.tables]
    parts += [_chart(c) for c in doc.charts]
    parts += [table_html(t) for t in doc.appendix]
    if doc.method_note:
        parts.append(f'<h2>Method</h2><p class="note">{text(doc.method_note)}</p>')
    if doc.limitations:
        items = "".join(f"<li>{text(item)}</li>" for item in doc.limitations)
        parts.append(f'<h2>Limitations</h2><ul class="note">{items}</ul>')
    body = "\n".join(p for p in parts if p)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{text(doc.title)}</title><style>{CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
