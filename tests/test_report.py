"""``capsim report``: one self-contained HTML page, a deck and a workbook, read back and checked."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from memo_runs import small_run

from capsim import charts
from capsim.cli_memo import report
from capsim.report import CHART_TITLES, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: run directory, report paths, file hashes before and after the report.
Reported = tuple[Path, list[Path], dict[str, str], dict[str, str]]


class _Links(HTMLParser):
    """Every src and href attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tables += tag == "table"
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]


def _fingerprint(run_dir: Path) -> dict[str, str]:
    """SHA-256 of every file of a run (tables, manifest, summary...)."""
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run_dir.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reported() -> Reported:
    run_dir = small_run("minimal")
    before = _fingerprint(run_dir)
    paths = write_report(run_dir)
    after = _fingerprint(run_dir)
    return run_dir, paths, before, after


def test_report_writes_three_files_and_changes_nothing_else(reported: Reported) -> None:
    run_dir, paths, before, after = reported
    assert [p.name for p in paths] == ["report.html", "memo.pptx", "tables.xlsx"]
    assert {k: v for k, v in after.items() if k not in {p.name for p in paths}} == before
    assert not list(run_dir.glob(".*.tmp"))


def test_html_is_self_contained_and_every_image_decodes(reported: Reported) -> None:
    page = (reported[0] / "report.html").read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(page)
    assert parser.links, "no images"
    assert all(link.startswith(("data:", "#")) for link in parser.links)
    without_data = re.sub(r"data:[^\"']*", "", page)
    assert "http" not in without_data.lower() and "//" not in without_data
    assert "url(" not in page and "@import" not in page
    images = [link for link in parser.links if link.startswith("data:image/png;base64,")]
    assert len(images) == len(charts.CHART_NAMES)
    for link in images:
        png = base64.b64decode(link.split(",", 1)[1], validate=True)
        assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width > 500 and height > 300
    assert parser.tables >= 2
    for needed in ("Headline KPIs", "Key assumptions", "Method", "shortfall_mw_months"):
        assert needed in page


def test_deck_has_a_title_slide_then_one_chart_per_slide(reported: Reported) -> None:
    from pptx import Presentation

    deck = Presentation(str(reported[0] / "memo.pptx"))
    slides = list(deck.slides)
    assert len(slides) == 1 + len(charts.CHART_NAMES)
    assert "minimal" in slides[0].shapes.title.text
    titles = [slide.shapes.title.text for slide in slides[1:]]
    assert titles == [CHART_TITLES[name] for name in charts.CHART_NAMES]
    for slide in slides[1:]:
        kinds = [shape.shape_type for shape in slide.shapes]
        assert 13 in kinds  # a picture
        texts = [s.text_frame.text for s in slide.shapes
                 if s.has_text_frame and s != slide.shapes.title]
        assert any(len(t) > 10 for t in texts)
    assert "P90 shortfall" in "".join(s.text_frame.text for s in slides[1].shapes
                                      if s.has_text_frame)


def test_workbook_sheets_and_kpis_equal_summary(reported: Reported) -> None:
    from openpyxl import load_workbook

    run_dir = reported[0]
    book = load_workbook(run_dir / "tables.xlsx", read_only=True)
    assert book.sheetnames == ["KPIs", "per year", "per region", "deals", "assumptions"]
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["kpis"]
    rows = list(book["KPIs"].iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:3] == ["KPI", "unit", "mean (unit)"]
    for row in rows[1:]:
        stats = summary[row[0]]
        assert row[1] == stats["unit"]
        for column, key in (("mean (unit)", "mean"), ("P10 (unit)", "p10"),
                            ("P50 (unit)", "p50"), ("P90 (unit)", "p90")):
            value, expected = row[header.index(column)], stats[key]
            if expected is None or expected != expected:
                assert value is None
            else:
                assert value == pytest.approx(expected)
    year_header = next(book["per year"].iter_rows(values_only=True))
    assert "shortfall probability (fraction)" in year_header
    assert any("(MW)" in str(c) for c in next(book["deals"].iter_rows(values_only=True)))


def test_report_command_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(report, [str(tmp_path)])
    assert result.exit_code == 2
    assert "not a complete capsim run" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(report, [str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not a directory" in missing.output


def test_run_with_report_flag_writes_the_memo_files(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from capsim.cli import main

    out = tmp_path / "run"
    minimal = Path(__file__).resolve().parents[1] / "scenarios" / "minimal.yaml"
    result = CliRunner().invoke(
        main, ["run", str(minimal), "-n", "2", "--workers", "1", "-o", str(out), "--report"]
    )
    assert result.exit_code == 0, result.output
    for name in ("report.html", "memo.pptx", "tables.xlsx"):
        assert (out / name).stat().st_size > 0
        assert f"wrote {out / name}" in result.output
