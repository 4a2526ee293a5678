"""Strategies compared: paired differences, P80 shifts and the document, checked on small runs.

One small comparison (the minimal example, a reserve-margin variant and a variant identical to
the base) is run once and kept; every figure is recomputed here from its run tables by hand.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capsim.analysis.strategies import (
    StrategyComparison,
    first_sentence,
    load_strategies,
    run_strategies,
)
from capsim.errors import ScenarioError, UsageError
from capsim.report.strategies import strategies_markdown
from capsim.runs.kpis import Percentiles

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "scenarios/minimal.yaml"
REPLICATIONS = 6


def variant(folder: Path, name: str, body: str = "") -> Path:
    """A variant file that extends the minimal example with ``body`` (YAML) changed."""
    path = folder / f"{name}.yaml"
    path.write_text(f"extends: {MINIMAL}\nname: {name}\n{body}", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[StrategyComparison, Path]:
    """The comparison of minimal, a 30% reserve margin and an identical variant; runs kept."""
    folder = tmp_path_factory.mktemp("strategies")
    lever = variant(
        folder,
        "reserve-30",
        "description: Reserve margin of 30%. Buys ahead of demand.\n"
        "policy:\n  reserve_margin: 0.3\n",
    )
    same = variant(folder, "same")
    strategy_set = load_strategies(MINIMAL, [lever, same], replications=REPLICATIONS)
    comparison = run_strategies(strategy_set, keep=folder / "runs", workers=1)
    return comparison, folder / "runs"


def kpis(run_dir: Path) -> pd.DataFrame:
    """A run's per-replication KPIs, indexed by replication."""
    return pd.read_parquet(run_dir / "kpis.parquet").set_index("replication").sort_index()


def portfolio_p80(run_dir: Path) -> str | None:
    """The P80 date of the lowest portfolio energised-MW milestone, read from summary.json."""
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    entries = [
        e
        for e in summary["p_dates"]
        if e["scope"] == "portfolio" and e["measure"] == "energized_mw"
    ]
    value: str | None = min(entries, key=lambda e: e["mw"])["p80"]
    return value


def test_paired_differences_equal_those_recomputed_from_the_run_tables(
    compared: tuple[StrategyComparison, Path],
) -> None:
    comparison, runs = compared
    base, lever = kpis(runs / "00-minimal"), kpis(runs / "01-reserve-30")
    row = comparison.strategies.set_index("strategy").loc["reserve-30"]
    for kpi, stem, unit in (
        ("served_share", "served_share_change", ""),
        ("cash_cost_usd", "cash_cost_change", "_usd"),
    ):
        diff = (lever[kpi] - base[kpi]).to_numpy()
        assert len(diff) == REPLICATIONS
        mean = diff.mean()
        error = diff.std(ddof=1) / math.sqrt(len(diff))
        assert row[f"{stem}_mean{unit}"] == pytest.approx(mean, rel=1e-12, abs=1e-12)
        assert row[f"{stem}_low{unit}"] == pytest.approx(mean - 1.96 * error, rel=1e-12)
        assert row[f"{stem}_high{unit}"] == pytest.approx(mean + 1.96 * error, rel=1e-12)
        detail = comparison.differences.set_index(["strategy", "kpi"]).loc[("reserve-30", kpi)]
        assert detail["standard_error"] == pytest.approx(error, rel=1e-12)
        assert detail["replications"] == REPLICATIONS
    assert not np.allclose(lever["served_share"], base["served_share"])  # the lever does act
    first = comparison.strategies.iloc[0]
    assert first["strategy"] == "minimal"
    assert math.isnan(first["served_share_change_mean"])
    summary = json.loads((runs / "00-minimal" / "summary.json").read_text(encoding="utf-8"))
    assert first["served_share_mean"] == summary["kpis"]["served_share"]["mean"]
    assert first["cash_cost_p50_usd"] == summary["kpis"]["cash_cost_usd"]["p50"]


def test_p80_shift_equals_the_months_between_the_summary_dates(
    compared: tuple[StrategyComparison, Path],
) -> None:
    comparison, runs = compared
    before, after = portfolio_p80(runs / "00-minimal"), portfolio_p80(runs / "01-reserve-30")
    assert before is not None and after is not None
    (year0, month0), (year1, month1) = (map(int, d.split("-")) for d in (before, after))
    expected = (year1 * 12 + month1) - (year0 * 12 + month0)
    row = comparison.strategies.set_index("strategy").loc["reserve-30"]
    assert row["first_milestone_p80_shift_months"] == expected
    mw = comparison.first_milestone_mw
    assert mw is not None
    assert comparison.p_date("minimal", mw, 80) == before
    assert comparison.p_date("reserve-30", mw, 80) == after


def test_a_variant_identical_to_the_base_gives_zero_differences_and_zero_width_intervals(
    compared: tuple[StrategyComparison, Path],
) -> None:
    comparison, _ = compared
    row = comparison.strategies.set_index("strategy").loc["same"]
    for column in (
        "served_share_change_mean",
        "served_share_change_low",
        "served_share_change_high",
        "cash_cost_change_mean_usd",
        "cash_cost_change_low_usd",
        "cash_cost_change_high_usd",
        "first_milestone_p80_shift_months",
    ):
        assert row[column] == 0.0, column
    same = comparison.differences[comparison.differences["strategy"] == "same"]
    assert (same["standard_error"] == 0.0).all()
    table = comparison.beyond_tolerance
    assert table.loc["same"].tolist() == table.loc["minimal"].tolist()


def test_the_document_has_every_section_and_reads_from_the_numbers(
    compared: tuple[StrategyComparison, Path],
) -> None:
    comparison, runs = compared
    text = strategies_markdown(comparison, "capsim strategies a.yaml b.yaml", "2026-01-31", runs)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Procurement strategies compared against minimal",
        "## Strategies",
        "## Probability of a shortfall beyond tolerance, by year",
        "## What holds the megawatts",
        "## Reading",
    ]
    for fact in (
        f"- Replications: {REPLICATIONS} per strategy",
        "- Seed: 7",
        "- capsim version: ",
        "- Command: `capsim strategies a.yaml b.yaml`",
        "- Date: 2026-01-31",
    ):
        assert fact in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    strategy_rows = [r for r in rows if r.split(" | ")[0] in ("| minimal", "| reserve-30")]
    assert strategy_rows[0].startswith("| minimal | One 100 MW IT programme")
    assert "| reserve-30 | Reserve margin of 30%. |" in text  # the first sentence only
    years = [str(y) for y in range(2026, 2034)]
    assert "| strategy | " + " | ".join(years) + " |" in text
    assert "headroom wait" in text or "connection works" in text  # readable cause names
    assert "headroom_wait" not in text
    earliest, month = comparison.earliest_at_commitment()
    served, share = comparison.most_served()
    reading = text.split("## Reading\n\n")[1]
    assert f"{month}" in reading and earliest[0] in reading
    assert f"{served[0]} serves the most demand: {share:.1%}" in reading
    assert "same against minimal: P80 date of 120 MW unchanged, the same cash cost" in reading
    shift = int(comparison.strategies.set_index("strategy").loc["reserve-30"].iloc[-1])
    assert f"reserve-30 against minimal: P80 date of 120 MW {abs(shift)} months" in reading


def test_every_variant_runs_with_the_base_seed_replications_and_report_settings(
    tmp_path: Path,
) -> None:
    other = variant(
        tmp_path,
        "other",
        "seed: 99\nreplications: 1000\nreport:\n  milestones_mw: [500]\n  percentiles: [25, 50]\n",
    )
    loaded = load_strategies(MINIMAL, [other], replications=4, seed=11)
    base, changed = (s.scenario for s in loaded.strategies)
    assert (changed.seed, changed.replications) == (base.seed, base.replications) == (11, 4)
    assert changed.report == base.report
    assert changed.report.milestones_mw == [120.0, 160.0, 240.0]
    assert 80 in changed.report.percentiles
    assert loaded.date_percentiles == Percentiles((50, 80))


def test_bad_variants_are_all_reported_with_their_file_and_line(tmp_path: Path) -> None:
    bad = variant(tmp_path, "bad", "policy:\n  reserve_margin: -1\n")
    with pytest.raises(ScenarioError) as raised:
        load_strategies(MINIMAL, [bad, tmp_path / "missing.yaml"])
    messages = raised.value.messages()
    assert f"{bad}:4:19: policy.reserve_margin: must be >= 0.0; found -1" in messages
    assert any(m.startswith(f"{tmp_path / 'missing.yaml'}: cannot read file") for m in messages)


def test_a_variant_on_another_calendar_is_refused(tmp_path: Path) -> None:
    later = variant(tmp_path, "later", "end: 2034-12\n")
    with pytest.raises(UsageError, match="compared on one calendar"):
        load_strategies(MINIMAL, [later])


def test_strategies_sharing_a_name_are_told_apart_by_their_file(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    one = variant(tmp_path, "twin")
    two = variant(tmp_path / "a", "twin")
    labels = [s.label for s in load_strategies(MINIMAL, [one, two]).strategies]
    assert labels == ["minimal", f"twin ({one})", f"twin ({two})"]
    again = [s.label for s in load_strategies(MINIMAL, [one, one]).strategies]
    assert again == ["minimal", f"twin ({one}) #2", f"twin ({one}) #3"]


def test_runs_without_keep_leave_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    loaded = load_strategies(MINIMAL, [variant(tmp_path, "same")], replications=2)
    comparison = run_strategies(loaded, workers=1)
    assert comparison.run_dirs == ()
    assert comparison.names == ["minimal", "same"]
    assert list(scratch.iterdir()) == []


def test_first_sentence_of_a_description() -> None:
    assert first_sentence("Raise the margin. Then wait.") == "Raise the margin."
    assert first_sentence("Grid v2.1 first\n  filed. More.") == "Grid v2.1 first filed."
    assert first_sentence("No full stop") == "No full stop"
    assert first_sentence("") == ""
