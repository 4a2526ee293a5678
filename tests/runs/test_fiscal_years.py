"""Fiscal years: per-year tables cut where ``report.fiscal_year_start_month`` says, named FY...

The tiny scenario (start 2026-01, 24 months) is short 100 MW at every month end until its one
deal energises: 50 MW in December 2026 (50 MW short) and the rest in January 2027, after which
nothing is short. So with April years FY2026 is Jan-Mar 2026 (all short), FY2027 is Apr 2026 to
Mar 2027 (850 of 1,200 MW-months short) and FY2028 is Apr-Dec 2027 (none short).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tiny import tiny

from capsim.model.world import simulate
from capsim.runs.fiscal import is_year_label, year_label, year_labels, year_of
from capsim.runs.kpis import SERVED_SHARE_IN_YEAR, SHORTFALL_IN_YEAR, lookup, yearly_columns
from capsim.runs.tables import frames, summarize
from capsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def _tables(start_month: int | None = None, **changes: Any) -> dict[str, pd.DataFrame]:
    """The tiny scenario's tables (one replication), years starting in ``start_month``."""
    if start_month is not None:
        changes["report"] = {"fiscal_year_start_month": start_month}
    scenario = tiny(**changes)
    return frames([simulate(scenario, 0)], scenario)


def test_the_known_shortfall_months_are_those_the_docstring_traces() -> None:
    ts = _tables()["timeseries"]
    short = ts.loc[ts["shortfall_mw"] > 0, ["date", "shortfall_mw"]]
    assert list(short["date"].dt.strftime("%Y-%m")) == [f"2026-{m:02d}" for m in range(1, 13)]
    assert list(short["shortfall_mw"]) == [100.0] * 11 + [50.0]


def test_april_years_are_named_by_the_year_they_end_in() -> None:
    kpis = _tables(4)["kpis"].iloc[0]
    flags = {c: kpis[c] for c in yearly_columns(SHORTFALL_IN_YEAR, list(kpis.index))}
    assert flags == {
        "shortfall_in_FY2026": 1.0,
        "shortfall_in_FY2027": 1.0,
        "shortfall_in_FY2028": 0.0,
    }
    assert kpis["served_share_in_FY2026"] == 0.0
    assert kpis["served_share_in_FY2027"] == (1200 - 850) / 1200
    assert kpis["served_share_in_FY2028"] == 1.0


def test_july_years_cut_the_same_months_elsewhere() -> None:
    kpis = _tables(7)["kpis"].iloc[0]
    shares = {c: kpis[c] for c in yearly_columns(SERVED_SHARE_IN_YEAR, list(kpis.index))}
    assert shares == {
        "served_share_in_FY2026": 0.0,  # Jan-Jun 2026
        "served_share_in_FY2027": (1200 - 550) / 1200,  # Jul 2026-Jun 2027
        "served_share_in_FY2028": 1.0,  # Jul-Dec 2027
    }


def test_calendar_years_keep_their_plain_names_and_values() -> None:
    default, january = _tables()["kpis"], _tables(1)["kpis"]
    pd.testing.assert_frame_equal(default, january)
    assert list(yearly_columns(SHORTFALL_IN_YEAR, list(default.columns)).values()) == [
        "2026",
        "2027",
    ]
    assert default["served_share_in_2026"].iloc[0] == (1200 - 1150) / 1200


def test_the_summary_reports_fiscal_years_by_name() -> None:
    scenario = tiny(report={"fiscal_year_start_month": 4})
    tables = frames([simulate(scenario, 0)], scenario)
    summary = summarize(tables, scenario)
    assert summary["shortfall_probability_by_year"] == {"FY2026": 1.0, "FY2027": 1.0, "FY2028": 0.0}
    assert summary["report"]["fiscal_year_start_month"] == 4
    kpi = lookup("shortfall_in_FY2027")
    assert (kpi.label, kpi.unit) == ("P(any shortfall) FY2027", "probability")


def test_the_per_year_sheet_of_the_report_uses_fiscal_years(tmp_path: Path) -> None:
    from capsim.report.memo import per_year_table
    from capsim.runs.rundir import RunDir
    from capsim.runs.runner import RunOptions, run_scenario

    scenario = tiny(report={"fiscal_year_start_month": 4})
    run_scenario(scenario, RunOptions(output=tmp_path / "run", workers=1, charts=False))
    table = per_year_table(RunDir(tmp_path / "run"))
    assert list(table["year"]) == ["FY2026", "FY2027", "FY2028"]
    assert list(table["shortfall probability (fraction)"]) == [1.0, 1.0, 0.0]
    assert list(table["peak shortfall P50 (MW)"]) == [100.0, 100.0, 0.0]


def test_a_fiscal_month_outside_1_to_12_is_a_located_error() -> None:
    from capsim.errors import ScenarioError

    with pytest.raises(ScenarioError) as info:
        load_scenario(ROOT / "scenarios" / "minimal.yaml", ["report.fiscal_year_start_month=13"])
    (problem,) = info.value.problems
    assert problem.file == "--set report.fiscal_year_start_month=13"
    assert (problem.path, problem.message) == (
        "report.fiscal_year_start_month",
        "must be <= 12; found 13",
    )


def test_labels_name_calendar_and_fiscal_years() -> None:
    dates = pd.Series(pd.to_datetime(["2027-03-31", "2027-04-30", "2027-12-31"]))
    assert list(year_labels(dates)) == ["2027", "2027", "2027"]
    assert list(year_labels(dates, 4)) == ["FY2027", "FY2028", "FY2028"]
    assert list(year_labels(dates, 7)) == ["FY2027", "FY2027", "FY2028"]
    assert is_year_label("2027") and is_year_label("FY2028") and not is_year_label("next")


@given(
    year=st.integers(min_value=1900, max_value=2200),
    month=st.integers(min_value=1, max_value=12),
    start_month=st.integers(min_value=2, max_value=12),
)
def test_a_fiscal_year_holds_twelve_months_ending_in_its_name(
    year: int, month: int, start_month: int
) -> None:
    """FYn is the twelve months from ``start_month`` of year n-1 to the month before it in n."""
    fiscal = year_of(year, month, start_month)
    months_since_start = (year * 12 + month - 1) - ((fiscal - 1) * 12 + start_month - 1)
    assert 0 <= months_since_start < 12
    assert year_label(fiscal, start_month) == f"FY{fiscal}"
    assert year_of(year, month, 1) == year


def test_every_month_of_a_run_falls_in_exactly_one_fiscal_year() -> None:
    """The fiscal flags agree with the months they cover, read straight off the timeseries."""
    tables = _tables(10, **{"demand.growth.annual_growth": 0.4})
    ts, kpis = tables["timeseries"], tables["kpis"].iloc[0]
    months = ts["date"].dt.month.to_numpy()
    years = ts["date"].dt.year.to_numpy() + (months >= 10)
    for fiscal in np.unique(years):
        inside = years == fiscal
        short = bool((ts["shortfall_mw"].to_numpy()[inside] > 1e-6).any())
        assert kpis[f"shortfall_in_FY{fiscal}"] == float(short)
