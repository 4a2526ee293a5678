"""The executive summary states the run's own figures, and the assumptions carry their sources."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from documents_fixture import documented_run

from capsim.report.memo import HEADLINE_KPIS, assumptions_table, kpi_table
from capsim.report.summary_text import executive_summary, kpi_figure, near_term_risk
from capsim.runs.rundir import RunDir
from capsim.scenario.provenance import read_provenance


def test_summary_figures_equal_the_kpi_table_and_the_summary() -> None:
    run = RunDir(documented_run())
    summary = executive_summary(run)
    table = kpi_table(run, HEADLINE_KPIS, summary.risk)
    rows = table.set_index("KPI")
    served, risk, cash = summary.headlines
    assert served.text == rows.loc["served share", "mean"]
    assert served.value == run.summary["kpis"]["served_share"]["mean"]
    assert cash.value == run.summary["kpis"]["cash_cost_usd"]["mean"]
    assert cash.text == f"USD {rows.loc['cash cost', 'mean']} bn"
    assert risk.text == rows.loc[summary.risk.label, "mean"]
    text = " ".join(summary.sentences)
    assert f"{served.text} of the demand" in text
    assert f"USD {rows.loc['cash cost', 'mean']} bn" in text
    assert f"({'P90'} USD {rows.loc['cash cost', 'P90']} bn)" in text
    assert 4 <= len(summary.sentences) <= 6


def test_near_term_risk_counts_replications_short_in_any_of_the_first_years() -> None:
    run = RunDir(documented_run())
    kpis = run.table("kpis")
    first = sorted(c for c in kpis.columns if c.startswith("beyond_tolerance_in_"))[:3]
    expected = float((kpis[first].max(axis=1) > 0).mean())
    figure, span = near_term_risk(run)
    assert figure.value == expected
    assert span == f"{first[0][-4:]}-{first[-1][-4:]}"


def test_milestone_sentence_gives_the_p80_dates_of_the_summary() -> None:
    run = RunDir(documented_run())
    sentence = executive_summary(run).sentences[0]
    rows = [
        r
        for r in run.summary["p_dates"]
        if r["scope"] == "portfolio" and r["measure"] == "energized_mw"
    ]
    for row in rows:
        if row["p80"]:
            month = pd.Period(row["p80"], freq="M").strftime("%b %Y")
            assert f"{row['mw']:,.0f} MW by {month}" in sentence


def test_kpi_figure_formats_the_catalogue_units() -> None:
    run = RunDir(documented_run())
    cash = kpi_figure(run, "cash_cost_usd", "mean")
    assert cash.unit == "USD bn"
    assert cash.text == f"{run.summary['kpis']['cash_cost_usd']['mean'] / 1e9:,.2f}"
    assert re.fullmatch(r"\d+\.\d%", kpi_figure(run, "served_share", "p50").text)


def test_assumptions_table_carries_the_comments_of_the_file_and_its_base() -> None:
    table = assumptions_table(RunDir(documented_run())).set_index("field")
    assert table.loc["policy.reserve_margin", "source"] == "board paper, March 2026"
    assert table.loc["policy.reserve_margin", "file:line"] == "variant.yaml:8"
    assert table.loc["demand.pue", "source"] == "hyperscale PUE 1.1-1.2 (Uptime Institute 2023-24)"
    assert table.loc["demand.pue", "file:line"].startswith("minimal.yaml:")
    assert table.loc["start", "value"] == "Jan 2026 to Dec 2033"
    upgrades = table.loc["regions.au_nsw.grid.upgrades", "value"]
    assert "month" not in upgrades and "2027" in upgrades  # calendar months, not offsets


def test_provenance_reads_same_line_and_above_comments_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "name: base\n"
        "# where the seed comes from\n"
        "seed: 1\n"
        "demand:\n"
        "  pue: 1.2   # base source\n"
        "  it_mw_start: 60   # base start\n"
        "  label: 'a # not a comment'\n",
        encoding="utf-8",
    )
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\ndemand:\n  pue: 1.3   # child source\n  it_mw_start: 70\n",
        encoding="utf-8",
    )
    found = {k: v.text for k, v in read_provenance(tmp_path / "child.yaml").items()}
    assert found["seed"] == "where the seed comes from"
    assert found["demand.pue"] == "child source"
    assert "demand.it_mw_start" not in found  # set again without a comment: no source
    assert "demand.label" not in found
