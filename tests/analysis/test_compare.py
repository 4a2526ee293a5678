"""``capsim compare``: paired (common random numbers) or unpaired differences, and the outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from memo_runs import small_run

from capsim.analysis.compare import PAIRED, UNPAIRED, is_paired, kpi_comparison
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
