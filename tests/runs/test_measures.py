"""Decision measures in summary.json equal the same figures recomputed from the monthly tables.

P-dates, served share, the probability of a shortfall beyond tolerance, time to power and the
delay shares are computed here by another route (whole tables in memory, month by month) and
must match what the run wrote.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from capsim.runs.rundir import read_table
from capsim.runs.runner import RunOptions, run_scenario
from capsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Ten replications of the APAC example in three chunks, with milestones set."""
    scenario = load_scenario(
        ROOT / "scenarios/apac_2026.yaml",
        [
            "replications=10",
            "report.milestones_mw=[400, 800, 1600]",
            "report.shortfall_tolerance=0.2",
        ],
    )
    out = tmp_path_factory.mktemp("measures") / "run"
    run_scenario(scenario, RunOptions(output=out, workers=1, chunk_size=4, charts=False))
    return out, json.loads((out / "summary.json").read_text())


def p_date(share_by_month: pd.Series, q: float) -> str | None:
    """First month end by which at least ``q`` of replications had reached the level."""
    reached = share_by_month[share_by_month >= q - 1e-12]
    return None if reached.empty else reached.index[0].strftime("%Y-%m")


def test_p_dates_equal_the_share_reached_month_by_month(run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, summary = run
    ts = read_table(run_dir, "timeseries")
    regions = read_table(run_dir, "regions")
    regions["capacity_mw"] = regions["energized_mw"] + regions["bridge_mw"]
    scopes = {"portfolio": ts, **{str(r): g for r, g in regions.groupby("region")}}
    entries = {(e["scope"], e["measure"], e["mw"]): e for e in summary["p_dates"]}
    assert len(entries) == len(scopes) * 2 * 3
    for scope, table in scopes.items():
        for measure in ("energized_mw", "capacity_mw"):
            wide = table.pivot(index="date", columns="replication", values=measure).sort_index()
            for level in (400.0, 800.0, 1600.0):
                ever = wide.ge(level - 1e-9).cummax()
                share = ever.mean(axis=1)
                entry = entries[(scope, measure, level)]
                for key in ("p10", "p50", "p80", "p90"):
                    assert entry[key] == p_date(share, int(key[1:]) / 100), (scope, measure, key)
                assert entry["never_share"] == pytest.approx(1 - ever.iloc[-1].mean())
    portfolio = entries[("portfolio", "energized_mw", 400.0)]
    assert portfolio["p50"] is not None  # the example does reach 400 MW


def test_served_share_and_beyond_tolerance_from_the_monthly_table(
    run: tuple[Path, dict[str, Any]],
) -> None:
    run_dir, summary = run
    ts = read_table(run_dir, "timeseries")
    kpis = read_table(run_dir, "kpis").set_index("replication")
    for rep, g in ts.groupby("replication"):
        served = 1 - g["shortfall_mw"].sum() / g["demand_mw"].sum()
        assert kpis.loc[rep, "served_share"] == pytest.approx(served)
        beyond = (g["shortfall_mw"] - 0.2 * g["demand_mw"]).clip(lower=0).sum()
        assert kpis.loc[rep, "shortfall_beyond_tolerance_mw_months"] == pytest.approx(beyond)
    ts["year"] = ts["date"].dt.year.astype(str)
    ts["beyond"] = ts["shortfall_mw"] > 0.2 * ts["demand_mw"] + 1e-6
    by_year = ts.groupby(["year", "replication"])["beyond"].any().groupby("year").mean()
    assert summary["beyond_tolerance_probability_by_year"] == pytest.approx(by_year.to_dict())
    served_by_year = ts.groupby(["year", "replication"]).apply(
        lambda g: 1 - g["shortfall_mw"].sum() / g["demand_mw"].sum()
    )
    assert summary["served_share_by_year"] == pytest.approx(
        served_by_year.groupby("year").mean().to_dict()
    )
    any_short = (ts["shortfall_mw"] > 1e-6).groupby([ts["year"], ts["replication"]]).any()
    assert summary["shortfall_probability_by_year"] == pytest.approx(
        any_short.groupby("year").mean().to_dict()
    )
    stats = summary["kpis"]["served_share"]
    values = kpis["served_share"].to_numpy()
    assert stats["p80"] == pytest.approx(np.quantile(values, 0.8))


def test_cash_and_penalty_add_up_to_total_cost(run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, _ = run
    ts = read_table(run_dir, "timeseries")
    kpis = read_table(run_dir, "kpis").set_index("replication")
    paid = ["capex_usd", "energy_usd", "bridge_premium_usd", "queue_fees_usd", "reservation_usd"]
    sums = ts.groupby("replication")[[*paid, "unserved_usd"]].sum()
    cash = sums[paid].sum(axis=1)
    assert np.allclose(kpis["cash_cost_usd"], cash)
    assert np.allclose(kpis["unserved_penalty_usd"], sums["unserved_usd"])
    assert np.allclose(kpis["total_cost_usd"], kpis["cash_cost_usd"] + kpis["unserved_penalty_usd"])


def test_time_to_power_counts_every_launched_deal(run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, summary = run
    deals = read_table(run_dir, "deals")
    launched = deals[~deals["in_flight"]]
    row = summary["time_to_power"]["portfolio"]
    assert row["launched"] == len(launched)
    assert row["powered_share"] == pytest.approx(launched["first_power"].notna().mean())
    assert row["died_share"] == pytest.approx(launched["ended_month"].notna().mean())
    assert 0 < row["power_incidence_at_horizon"] <= 1
    for kind, g in launched.groupby("kind"):
        assert summary["time_to_power"]["by_kind"][kind]["launched"] == len(g)
    ended = launched[launched["ended_month"].notna()]
    assert set(ended["ended_reason"]) <= {"grid_withdrawn"} | {
        o for o in ended["outcome"] if o.startswith("lost_at_")
    }
    assert (ended["ended_reason"] == ended["outcome"]).all()


def test_delay_shares_weight_each_deal_by_its_mw(run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, summary = run
    deals = read_table(run_dir, "deals")
    powered = deals[deals["first_power"].notna()]
    columns = [c for c in deals.columns if c.startswith("delay_")]
    for scope, held in summary["criticality"].items():
        rows = powered if scope == "portfolio" else powered[powered["region"] == scope]
        weighted = rows[columns].mul(rows["mw"], axis=0).sum()
        shares = {
            c[len("delay_") : -len("_months")]: v / weighted.sum() for c, v in weighted.items()
        }
        assert {c: v["share"] for c, v in held["causes"].items()} == pytest.approx(shares)
        assert sum(v["share"] for v in held["causes"].values()) == pytest.approx(1.0)
        assert held["powered_mw"] == pytest.approx(rows["mw"].sum())
    assert not math.isnan(summary["criticality"]["portfolio"]["powered_mw"])
