"""``capsim compare``: paired (common random numbers) or unpaired differences, and the outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from memo_runs import small_run

from capsim.analysis.compare import (
    PAIRED,
    UNPAIRED,
    is_paired,
    kpi_comparison,
    run_names,
    unpaired_reason,
)
from capsim.cli.memo import compare
from capsim.runs.rundir import RunDir

LEVER = ("policy.reserve_margin=0.3",)


def test_same_seed_with_a_changed_lever_is_paired_and_another_seed_is_not() -> None:
    base = RunDir(small_run("minimal"))
    assert is_paired(base, RunDir(small_run("minimal", sets=LEVER)))
    assert not is_paired(base, RunDir(small_run("minimal", sets=("seed=9",))))


def test_difference_table_equals_independent_paired_differences() -> None:
    base, lever = small_run("minimal"), small_run("minimal", sets=LEVER)
    other = small_run("minimal", sets=("seed=9",))
    runs = [RunDir(base), RunDir(lever), RunDir(other)]
    table = kpi_comparison(runs, ["base", "lever", "seed 9"])
    a = pd.read_parquet(base / "kpis.parquet").set_index("replication").sort_index()
    b = pd.read_parquet(lever / "kpis.parquet").set_index("replication").sort_index()
    c = pd.read_parquet(other / "kpis.parquet")
    for kpi in ("shortfall_mw_months", "capex_usd", "energized_mw_at_horizon"):
        diff = (b[kpi] - a[kpi]).to_numpy()
        row = table[(table["KPI"] == kpi) & (table["run"] == "lever")].iloc[0]
        assert row["comparison"] == PAIRED
        assert row["difference mean"] == pytest.approx(diff.mean())
        assert row["difference P50"] == pytest.approx(np.quantile(diff, 0.5))
        unpaired = table[(table["KPI"] == kpi) & (table["run"] == "seed 9")].iloc[0]
        assert unpaired["comparison"] == UNPAIRED
        assert unpaired["difference mean"] == pytest.approx(c[kpi].mean() - a[kpi].mean())
        assert np.isnan(unpaired["difference P50"])


def test_runs_reporting_other_percentiles_are_compared_at_every_one_of_them() -> None:
    base = small_run("minimal")
    other = small_run("minimal", sets=(*LEVER, "report.percentiles=[25,50,75]"))
    summary_bytes = (other / "summary.json").read_bytes()
    table = kpi_comparison([RunDir(base), RunDir(other)], ["base", "lever"])
    headings = ["P10", "P25", "P50", "P75", "P80", "P90"]
    assert [c for c in table.columns if c.startswith("P")] == headings
    assert [c for c in table.columns if c.startswith("difference P")] == [
        f"difference {h}" for h in headings
    ]
    a = pd.read_parquet(base / "kpis.parquet").set_index("replication").sort_index()
    b = pd.read_parquet(other / "kpis.parquet").set_index("replication").sort_index()
    kpi = "shortfall_mw_months"
    rows = table[table["KPI"] == kpi].set_index("run")
    assert rows.loc["base", "P25"] == pytest.approx(np.quantile(a[kpi], 0.25))
    assert rows.loc["lever", "P80"] == pytest.approx(np.quantile(b[kpi], 0.8))
    assert rows.loc["lever", "difference P75"] == pytest.approx(np.quantile(b[kpi] - a[kpi], 0.75))
    assert (other / "summary.json").read_bytes() == summary_bytes


def test_compare_command_writes_outputs_and_refuses_to_overwrite(tmp_path: Path) -> None:
    runs = [str(small_run("minimal")), str(small_run("minimal", sets=LEVER))]
    out = tmp_path / "cmp"
    result = CliRunner().invoke(compare, [*runs, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["compare.html", "compare.pptx", "compare.xlsx"]
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert "paired: per-replication differences" in page and "http" not in page
    again = CliRunner().invoke(compare, [*runs, "-o", str(out)])
    assert again.exit_code == 3 and "already exists" in again.output
    forced = CliRunner().invoke(compare, [*runs, "-o", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert not list(tmp_path.glob(".*"))


def test_compare_documents_show_every_percentile_the_runs_report(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    base = small_run("minimal")
    other = small_run("minimal", sets=(*LEVER, "report.percentiles=[25,50,75]"))
    out = tmp_path / "cmp"
    result = CliRunner().invoke(compare, [str(base), str(other), "-o", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out / "compare.xlsx", read_only=True)
    header = [str(c) for c in next(book["KPIs compared"].iter_rows(values_only=True))]
    assert [c for c in header if c.startswith("P")] == ["P10", "P25", "P50", "P75", "P80", "P90"]
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert "P90 shortfall: " in page and "P10&#47;P25&#47;P50&#47;P75&#47;P80&#47;P90" in page


def test_compare_command_rejects_a_non_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        compare, [str(small_run()), str(tmp_path), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and "not a complete capsim run" in result.output
    assert "Traceback" not in result.output


@pytest.fixture()
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    """Copies of two small runs, side by side in ``tmp/runs``."""
    import shutil

    runs = tmp_path / "runs"
    first, second = runs / "base", runs / "lever"
    shutil.copytree(small_run("minimal"), first)
    shutil.copytree(small_run("minimal", sets=LEVER), second)
    return first, second


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("where", ["an_input", "the_inputs_folder", "inside_an_input"])
def test_compare_refuses_an_output_that_is_contains_or_lies_inside_an_input(
    where: str, two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    first, second = two_runs
    output = {
        "an_input": second,
        "the_inputs_folder": second.parent,
        "inside_an_input": second / "cmp",
    }[where]
    relation = {
        "an_input": "is",
        "the_inputs_folder": "contains",
        "inside_an_input": "lies inside",
    }[where]
    before = _files(tmp_path)
    result = CliRunner().invoke(compare, [str(first), str(second), "-o", str(output), "--force"])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert f"error: the output {output} {relation} the input " in result.output
    assert _files(tmp_path) == before  # both runs untouched, nothing written


def test_compare_refuses_a_damaged_run_naming_its_parts(
    two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    first, second = two_runs
    (second / "kpis.parquet" / "part-00000.parquet").write_bytes(b"")
    out = tmp_path / "cmp"
    result = CliRunner().invoke(compare, [str(first), str(second), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert f"{second} is damaged: kpis.parquet/part-00000.parquet (checksum mismatch)" in (
        result.output
    )
    assert "capsim run --resume" in result.output
    assert not out.exists() and not list(tmp_path.glob(".*"))


def test_every_kpi_of_runs_sharing_seed_replications_and_calendar_is_paired() -> None:
    """Summary KPIs without a column of their own are paired too, from the column they count."""
    base, lever = small_run("minimal"), small_run("minimal", sets=LEVER)
    table = kpi_comparison([RunDir(base), RunDir(lever)], ["base", "lever"])
    others = table[table["run"] == "lever"]
    assert set(others["comparison"]) == {PAIRED}
    a = pd.read_parquet(base / "kpis.parquet").set_index("replication").sort_index()
    b = pd.read_parquet(lever / "kpis.parquet").set_index("replication").sort_index()
    covered = (
        b["covered_for_good_month"].notna().astype(float)
        - a["covered_for_good_month"].notna().astype(float)
    ).to_numpy()
    row = others[others["KPI"] == "covered_by_horizon"].iloc[0]
    assert row["difference mean"] == pytest.approx(covered.mean())
    assert row["difference P90"] == pytest.approx(np.quantile(covered, 0.9))


def test_runs_with_another_seed_or_calendar_are_not_paired_and_say_why() -> None:
    base = RunDir(small_run("minimal"))
    other_seed = RunDir(small_run("minimal", sets=("seed=9",)))
    shorter = RunDir(small_run("minimal", sets=("end=2032-12",)))
    assert not is_paired(base, other_seed) and not is_paired(base, shorter)
    assert unpaired_reason(base, other_seed) == "seed 9, not 7"
    assert unpaired_reason(base, shorter) == "calendar 2026-01 to 2032-12, not 2026-01 to 2033-12"
    assert unpaired_reason(base, RunDir(small_run("minimal", sets=LEVER))) == ""
    table = kpi_comparison([base, shorter], ["base", "shorter"])
    assert set(table.loc[table["run"] == "shorter", "comparison"]) == {UNPAIRED}


def test_compare_document_has_one_row_per_kpi_and_says_what_paired_means_once(
    tmp_path: Path,
) -> None:
    runs = [small_run("minimal"), small_run("minimal", sets=LEVER)]
    runs.append(small_run("minimal", sets=("seed=9",)))
    out = tmp_path / "cmp"
    result = CliRunner().invoke(compare, [*map(str, runs), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert page.count("paired: per-replication differences") == 1
    from openpyxl import load_workbook

    sheet = load_workbook(out / "compare.xlsx", read_only=True)["differences"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    kpis = RunDir(runs[0]).summary["kpis"]
    assert len(rows) == len(kpis)
    first = run_names([RunDir(r) for r in runs])[0]
    assert list(header) == ["KPI", "unit", f"{first}: mean", *(list(header)[3:])]
    assert [str(h).rsplit(" (", 1)[-1] for h in header[3:]] == ["paired)", "unpaired)"]
    shortfall = next(r for r in rows if r[0] == "shortfall")
    a = pd.read_parquet(runs[0] / "kpis.parquet").set_index("replication").sort_index()
    b = pd.read_parquet(runs[1] / "kpis.parquet").set_index("replication").sort_index()
    expected = (b["shortfall_mw_months"] - a["shortfall_mw_months"]).mean()
    assert shortfall[3] == pytest.approx(expected)


def test_many_runs_are_drawn_as_small_multiples_and_two_are_overlaid() -> None:
    from capsim.report import charts, charts_compare
    from capsim.runs.aggregate import monthly_bands
    from capsim.runs.kpis import DEFAULT

    paths = [small_run("minimal"), small_run("minimal", sets=LEVER)]
    paths.append(small_run("minimal", sets=("seed=9",)))
    runs = [RunDir(p) for p in paths]
    names = run_names(runs)
    bands = {n: monthly_bands(r, DEFAULT) for n, r in zip(names, runs, strict=True)}
    labels = [charts.run_label(r) for r in runs]
    panels = charts_compare.capacity_vs_demand(bands, labels)
    shown = [ax for ax in panels.axes if ax.axison]
    assert [ax.get_title(loc="left") for ax in shown] == names
    first_median = bands[names[0]]["capacity_p50_mw"].to_numpy()
    for ax in shown[1:]:  # every other panel repeats the first run's median for reference
        assert any(np.array_equal(line.get_ydata(), first_median) for line in ax.get_lines())
    two = {n: bands[n] for n in names[:2]}
    overlaid = charts_compare.capacity_vs_demand(two, labels[:2])
    assert len([ax for ax in overlaid.axes if ax.axison]) == 1
