"""Summaries from Parquet parts equal the same figures computed from whole tables in memory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from capsim.cli.main import main
from capsim.runs.aggregate import (
    BANDED,
    monthly_bands,
    regional_means,
    summary_from_parts,
)
from capsim.runs.kpis import Percentiles
from capsim.runs.rundir import RunDir, load_run_scenario, read_table
from capsim.runs.tables import summarize

ROOT = Path(__file__).resolve().parents[2]


def bands_by_groupby(ts: pd.DataFrame) -> pd.DataFrame:
    """The same bands computed the plain way, with every row in memory (the oracle)."""
    grouped = ts.groupby("date", sort=True)
    out = pd.DataFrame(index=grouped.size().index)
    for column in BANDED:
        for tag, q in (("p10", 0.1), ("p50", 0.5), ("p80", 0.8), ("p90", 0.9)):
            out[f"{column[:-3]}_{tag}_mw"] = grouped[column].quantile(q)
    out["shortfall_probability"] = grouped["shortfall_mw"].apply(lambda s: float((s > 1e-6).mean()))
    out["replications"] = grouped.size()
    return out.reset_index()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("agg") / "run"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(ROOT / "scenarios/minimal.yaml"),
            "-n",
            "9",
            "--chunk-size",
            "4",
            "--workers",
            "1",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_column_at_a_time_bands_equal_the_in_memory_groupby(run_dir: Path) -> None:
    streamed = monthly_bands(RunDir(run_dir))
    whole = bands_by_groupby(read_table(run_dir, "timeseries"))
    assert len(streamed) == 96
    assert (streamed["replications"] == 9).all()
    pd.testing.assert_frame_equal(streamed, whole[streamed.columns], check_dtype=False)


def test_regional_means_summed_part_by_part_equal_the_whole_table_mean(run_dir: Path) -> None:
    regions = read_table(run_dir, "regions", ["date", "region", "energized_mw"])
    expected = regions.groupby(["date", "region"])["energized_mw"].mean().unstack("region")
    streamed = regional_means(RunDir(run_dir)).set_index("date")
    pd.testing.assert_frame_equal(streamed, expected, check_names=False, check_freq=False)


def test_summary_from_parts_equals_the_summary_of_whole_tables(run_dir: Path) -> None:
    whole = {name: read_table(run_dir, name) for name in ("kpis", "deals", "queue", "milestones")}
    scenario = load_run_scenario(run_dir)
    assert summary_from_parts(run_dir, scenario) == summarize(whole, scenario)


def test_bands_follow_the_percentiles_asked(run_dir: Path) -> None:
    bands = monthly_bands(RunDir(run_dir), Percentiles((25, 50, 75)))
    assert {"capacity_p25_mw", "capacity_p50_mw", "capacity_p75_mw"} <= set(bands.columns)
    assert "capacity_p90_mw" not in bands.columns
