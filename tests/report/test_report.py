"""``capsim report``: one self-contained HTML page, a deck and a workbook, read back and checked."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from memo_runs import small_run

from capsim.cli.memo import report
from capsim.report import suite
from capsim.report.memo import write_report

MINIMAL = Path(__file__).resolve().parents[2] / "scenarios" / "minimal.yaml"
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
    return {
        str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file()
    }


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
    assert len(images) == len(suite.CHART_NAMES)
    for link in images:
        png = base64.b64decode(link.split(",", 1)[1], validate=True)
        assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width > 500 and height > 300
    assert parser.tables >= 2
    for needed in ("Executive summary", "Headline KPIs", "Assumptions and their sources", "Method"):
        assert needed in page


def test_deck_has_a_title_slide_then_one_chart_per_slide(reported: Reported) -> None:
    from pptx import Presentation

    deck = Presentation(str(reported[0] / "memo.pptx"))
    slides = list(deck.slides)
    texts = [[s.text_frame.text for s in slide.shapes if s.has_text_frame] for slide in slides]
    assert "minimal" in texts[0][0]
    chart_slides = [
        (slide, words)
        for slide, words in zip(slides, texts, strict=True)
        if words and words[0] in {spec.title for spec in suite.SUITE}
    ]
    assert [words[0] for _, words in chart_slides] == [spec.title for spec in suite.SUITE]
    for slide, words in chart_slides:
        assert 13 in [shape.shape_type for shape in slide.shapes]  # a picture
        assert any(len(t) > 10 for t in words[1:])
    assert "P90 shortfall" in "".join(chart_slides[0][1])


def _display(key: str, value: float | None, start: str) -> object:
    """A summary figure in the units the workbook shows it (``kpi_display``)."""
    from capsim.runs.kpi_display import memo_format
    from capsim.runs.kpis import lookup

    shown = memo_format(lookup(key)).value(value, start)
    return "never" if isinstance(shown, float) and math.isinf(shown) else shown


def test_workbook_sheets_and_kpis_equal_summary(reported: Reported) -> None:
    from openpyxl import load_workbook

    from capsim.runs.rundir import RunDir

    run_dir = reported[0]
    start = RunDir(run_dir).scenario.start
    book = load_workbook(run_dir / "tables.xlsx", read_only=True)
    assert book.sheetnames[0] == "KPIs"  # the full list: test_documents_workbook.py
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    percentiles = summary["report"]["percentiles"]
    rows = list(book["KPIs"].iter_rows(values_only=True))
    header = list(rows[0])
    assert header == [
        "KPI",
        "unit",
        "mean (unit)",
        *(f"P{p} (unit)" for p in percentiles),
        "n (replications or deals)",
        "key",
        "unit in summary.json",
    ]
    for row in rows[1:]:
        key = row[header.index("key")]
        stats = summary["kpis"][key]
        assert row[header.index("unit in summary.json")] == stats["unit"]
        for column, stat in [
            ("mean (unit)", "mean"),
            *((f"P{p} (unit)", f"p{p}") for p in percentiles),
        ]:
            value, expected = row[header.index(column)], _display(key, stats[stat], start)
            if expected is None:
                assert value is None
            elif isinstance(expected, float):
                assert value == pytest.approx(expected)
            elif isinstance(expected, str):
                assert value == expected
            else:
                assert value.date() == expected
    labels = {row[header.index("key")]: row[0] for row in rows[1:]}
    assert labels["total_cost_usd"] == "total cost including the penalty"
    assert labels["cash_cost_usd"] == "cash cost"
    year_header = next(book["per year"].iter_rows(values_only=True))
    assert "shortfall probability (fraction)" in year_header
    assert any("(MW)" in str(c) for c in next(book["deals"].iter_rows(values_only=True)))


def test_cost_sheet_and_takeaway_keep_cash_and_the_notional_penalty_apart(
    reported: Reported,
) -> None:
    from openpyxl import load_workbook

    run_dir = reported[0]
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["kpis"]
    rows = list(
        load_workbook(run_dir / "tables.xlsx", read_only=True)["cost"].iter_rows(values_only=True)
    )
    by_cost = {row[0]: row for row in rows[1:]}
    cash, penalty = by_cost["cash cost"], by_cost["unserved-demand penalty"]
    total = by_cost["total cost including the penalty"]
    assert (cash[1], penalty[1], total[1]) == ("cash", "notional penalty", "cash plus penalty")
    assert cash[2] == pytest.approx(summary["cash_cost_usd"]["mean"] / 1e6)
    assert penalty[2] == pytest.approx(summary["unserved_penalty_usd"]["mean"] / 1e6)
    assert total[2] == pytest.approx(cash[2] + penalty[2])
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Mean cash cost USD" in page and "notional unserved-demand penalty USD" in page
    assert "total cost including the penalty USD" in page


def _html_headings(page: str, title: str) -> list[str]:
    """The column headings of the report table titled ``title``."""
    match = re.search(f"<h2>{re.escape(title)}</h2><table><tr>(.*?)</tr>", page)
    assert match, f"no table {title!r}"
    return re.findall(r"<th[^>]*>(.*?)</th>", match.group(1))


def _percentile_headings(headings: list[str]) -> list[str]:
    """The headings that name a percentile (``P80``, ``P80 (unit)``...)."""
    return [h for h in headings if re.match(r"P\d+\b", h)]


def test_run_with_percentiles_reports_exactly_those_percentiles(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from capsim.cli.main import main

    out = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(MINIMAL),
            "-n",
            "2",
            "--workers",
            "1",
            "-o",
            str(out),
            "--percentiles",
            "10,50,80,90",
            "--report",
        ],
    )
    assert result.exit_code == 0, result.output
    expected = ["P10", "P50", "P80", "P90"]
    book = load_workbook(out / "tables.xlsx", read_only=True)
    header = [str(c) for c in next(book["KPIs"].iter_rows(values_only=True))]
    assert _percentile_headings(header) == [f"{p} (unit)" for p in expected]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert _percentile_headings(_html_headings(page, "Headline KPIs")) == expected


def test_report_percentiles_option_reports_them_and_leaves_the_run_unchanged(
    tmp_path: Path,
) -> None:
    from openpyxl import load_workbook

    from capsim.runs.aggregate import summary_from_parts
    from capsim.runs.kpis import Percentiles
    from capsim.runs.rundir import RunDir

    run_dir = _copy(small_run("minimal"), tmp_path)
    summary_bytes = (run_dir / "summary.json").read_bytes()
    before = _fingerprint(run_dir)
    result = CliRunner().invoke(report, [str(run_dir), "--percentiles", "25,50,75"])
    assert result.exit_code == 0, result.output
    assert (run_dir / "summary.json").read_bytes() == summary_bytes
    after = _fingerprint(run_dir)
    written = {"report.html", "memo.pptx", "tables.xlsx"}
    assert {k: v for k, v in after.items() if k not in written} == {
        k: v for k, v in before.items() if k not in written
    }
    expected = ["P25", "P50", "P75"]
    book = load_workbook(run_dir / "tables.xlsx", read_only=True)
    sheets = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    kpi_header = [str(c) for c in sheets["KPIs"][0]]
    assert _percentile_headings(kpi_header) == [f"{p} (unit)" for p in expected]
    assert _percentile_headings([str(c) for c in sheets["cost"][0]]) == [
        f"{p} (USD m)" for p in expected
    ]
    region_header = [str(c) for c in sheets["per region"][0]]
    assert [h for h in region_header if h.startswith("energised at horizon")] == [
        f"energised at horizon {p} (MW)" for p in expected
    ]
    year_header = [str(c) for c in sheets["per year"][0]]
    assert [h for h in year_header if h.startswith("shortfall P")] == [
        f"shortfall {p} (MW-months)" for p in expected
    ]
    run = RunDir(run_dir)
    recomputed = summary_from_parts(run_dir, run.scenario, Percentiles((25, 50, 75)))["kpis"]
    for row in sheets["KPIs"][1:]:
        key = row[kpi_header.index("key")]
        value = row[kpi_header.index("P25 (unit)")]
        raw = recomputed[key]["p25"]
        wanted = _display(key, None if raw is None else float(raw), run.scenario.start)
        if wanted is None or isinstance(wanted, str):
            assert value == wanted, key
        elif isinstance(wanted, float):
            assert value == pytest.approx(wanted), key
        else:
            assert value.date() == wanted, key
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert _percentile_headings(_html_headings(page, "Headline KPIs")) == expected
    assert "P75 shortfall" in page and "demand P25-P75" in page
    tables = page.split("<figure>")[0]  # title, KPI and cost tables, before any chart
    assert "P10" not in tables and "P90" not in tables


@pytest.mark.parametrize("value", ["10,x", "10,90", "50,10", "0,50", "50,100", ""])
def test_report_refuses_bad_percentiles_with_exit_2(value: str, tmp_path: Path) -> None:
    run_dir = _copy(small_run("minimal"), tmp_path)
    before = _fingerprint(run_dir)
    result = CliRunner().invoke(report, [str(run_dir), "--percentiles", value])
    assert result.exit_code == 2, result.output
    assert "error: --percentiles: " in result.output
    assert "expected whole numbers from 1 to 99, increasing, with 50" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert _fingerprint(run_dir) == before


def test_report_command_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(report, [str(tmp_path)])
    assert result.exit_code == 2
    assert "not a complete capsim run" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(report, [str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not a directory" in missing.output


def test_run_with_report_flag_writes_the_memo_files(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from capsim.cli.main import main

    out = tmp_path / "run"
    minimal = Path(__file__).resolve().parents[2] / "scenarios" / "minimal.yaml"
    result = CliRunner().invoke(
        main, ["run", str(minimal), "-n", "2", "--workers", "1", "-o", str(out), "--report"]
    )
    assert result.exit_code == 0, result.output
    for name in ("report.html", "memo.pptx", "tables.xlsx"):
        assert (out / name).stat().st_size > 0
        assert f"wrote {out / name}" in result.output


# --- a damaged run is refused, never reported ----------------------------------------------------


@pytest.fixture(scope="module")
def chunked_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished four-replication run in two chunks (two parts per table)."""
    from capsim.runs.runner import RunOptions, run_scenario
    from capsim.scenario.loader import load_scenario

    out = tmp_path_factory.mktemp("chunked") / "run"
    scenario = load_scenario(MINIMAL, ["replications=4"])
    run_scenario(scenario, RunOptions(output=out, workers=1, chunk_size=2, charts=False))
    return out


def _copy(run: Path, folder: Path) -> Path:
    import shutil

    copy = folder / "run"
    shutil.copytree(run, copy)
    return copy


def _zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def _zeroed(path: Path) -> None:
    path.write_bytes(b"\0" * path.stat().st_size)


def _extra(path: Path) -> None:
    path.with_name("part-00007.parquet").write_bytes(path.read_bytes())


PART_DAMAGE: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "zero_byte": ("kpis.parquet/part-00001.parquet", _zero_bytes, "checksum mismatch"),
    "deleted": ("timeseries.parquet/part-00001.parquet", Path.unlink, "missing"),
    "zeroed": ("deals.parquet/part-00000.parquet", _zeroed, "checksum mismatch"),
    "unlisted": ("kpis.parquet/part-00000.parquet", _extra, "not listed in the manifest"),
}


@pytest.mark.parametrize("damage", sorted(PART_DAMAGE))
def test_report_refuses_a_run_whose_parts_do_not_match_the_manifest(
    damage: str, chunked_run: Path, tmp_path: Path
) -> None:
    run_dir = _copy(chunked_run, tmp_path)
    relative, spoil, reason = PART_DAMAGE[damage]
    spoil(run_dir / relative)
    shown = relative if damage != "unlisted" else relative.replace("00000", "00007")
    result = CliRunner().invoke(report, [str(run_dir)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"error: {run_dir} is damaged: {shown} ({reason})" in result.output
    assert f"repair it with 'capsim run --resume {run_dir}'" in result.output
    assert not list(run_dir.glob("report.html")) and not list(run_dir.glob(".*"))


def test_damaged_run_reports_again_once_repaired(chunked_run: Path, tmp_path: Path) -> None:
    from capsim.cli.main import main

    run_dir = _copy(chunked_run, tmp_path)
    (run_dir / "timeseries.parquet" / "part-00001.parquet").unlink()
    assert CliRunner().invoke(report, [str(run_dir)]).exit_code == 2
    repaired = CliRunner().invoke(main, ["run", "--resume", str(run_dir), "--workers", "1"])
    assert repaired.exit_code == 0, repaired.output
    result = CliRunner().invoke(report, [str(run_dir)])
    assert result.exit_code == 0, result.output
    assert (run_dir / "report.html").is_file()


@pytest.mark.parametrize(
    "key", ["parts", "seed", "plan", "scenario", "scenario_sha256", "replications", "started"]
)
def test_report_refuses_a_manifest_missing_a_key(
    key: str, chunked_run: Path, tmp_path: Path
) -> None:
    run_dir = _copy(chunked_run, tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    del manifest[key]
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(report, [str(run_dir)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"cannot read {run_dir / 'manifest.json'}: missing {key!r}" in result.output
    assert "the run directory is damaged" in result.output


@pytest.mark.parametrize(
    "change", [{"seed": "x"}, {"parts": {}}, {"replications": None}, {"parts": [{"table": "kpis"}]}]
)
def test_report_refuses_a_manifest_with_values_of_the_wrong_type(
    change: dict[str, object], chunked_run: Path, tmp_path: Path
) -> None:
    run_dir = _copy(chunked_run, tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps({**manifest, **change}))
    result = CliRunner().invoke(report, [str(run_dir)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "the run directory is damaged" in result.output


def test_open_run_refuses_a_damaged_run(chunked_run: Path, tmp_path: Path) -> None:
    import capsim
    from capsim.errors import UsageError

    run_dir = _copy(chunked_run, tmp_path)
    assert capsim.open_run(run_dir).manifest["replications"] == 4
    (run_dir / "kpis.parquet" / "part-00001.parquet").unlink()
    with pytest.raises(UsageError, match=r"kpis\.parquet/part-00001\.parquet \(missing\)"):
        capsim.open_run(run_dir)
