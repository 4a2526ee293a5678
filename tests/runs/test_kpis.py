"""The KPI catalogue covers every KPI a run writes, and the CLI prints its labels."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from capsim.cli.main import HEADLINE, format_headline
from capsim.model.records import BACKGROUND, OWN, QueueRow
from capsim.runs.kpis import (
    CATALOGUE,
    CONNECTION_WAIT,
    DEFAULT,
    HEADROOM_WAIT,
    KPIS,
    QUEUE_WAITS,
    REQUEST_TO_CONNECTION,
    REQUEST_TO_STUDY_END,
    STUDY_DURATION,
    STUDY_WAIT,
    SUMMARY_WAITS,
    Percentiles,
    lookup,
)
from capsim.runs.runner import RunOptions, RunOutcome, run_scenario
from capsim.runs.tables import KPI_UNITS
from capsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
#: Queue row fields past ``withdrawn`` for a plain request: no class, no flexible, no fees.
AS_FILED = ("", "deal", None, None, 0.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> RunOutcome:
    """A four-replication run of the minimal example, without charts."""
    scenario = load_scenario(ROOT / "scenarios/minimal.yaml", ["replications=4"])
    out = tmp_path_factory.mktemp("kpis") / "run"
    return run_scenario(scenario, RunOptions(output=out, workers=1, charts=False))


def test_catalogue_covers_every_kpi_column_of_a_run(small_run: RunOutcome) -> None:
    columns = pd.read_parquet(small_run.run_dir / "kpis.parquet").columns
    kpi_columns = [c for c in columns if c != "replication"]
    assert any(c.startswith("shortfall_in_") for c in kpi_columns)
    for column in kpi_columns:
        assert lookup(column).name == column


def test_catalogue_covers_every_summary_figure(small_run: RunOutcome) -> None:
    summary = json.loads((small_run.run_dir / "summary.json").read_text())
    for name, stats in summary["kpis"].items():
        assert lookup(name).unit == stats["unit"]
    for waits in summary["queue_waits_months"].values():
        assert list(waits) == [w.name for w in SUMMARY_WAITS]
    assert "months_to_first_power_of_powered_deals" in CATALOGUE
    for year in summary["shortfall_probability_by_year"]:
        assert lookup(f"shortfall_in_{year}").unit == "probability"
        assert lookup(f"beyond_tolerance_in_{year}").unit == "probability"
        assert lookup(f"served_share_in_{year}").unit == "fraction"


def test_every_entry_has_a_unit_label_and_description() -> None:
    for kpi in CATALOGUE.values():
        assert kpi.unit and kpi.label and kpi.description, kpi
        assert kpi.title.startswith(kpi.label)
        assert kpi.format(1234.5), kpi
    assert {k.name: k.unit for k in KPIS} == KPI_UNITS


def test_unknown_names_are_not_in_the_catalogue() -> None:
    with pytest.raises(KeyError):
        lookup("shortfall_in_next_year")
    with pytest.raises(KeyError):
        lookup("no_such_kpi")


def test_default_percentiles_read_p80_as_schedule_risk_does() -> None:
    assert DEFAULT.values == (10, 50, 80, 90)
    assert DEFAULT.quantiles == {"p10": 0.1, "p50": 0.5, "p80": 0.8, "p90": 0.9}
    assert list(DEFAULT.labels.values()) == ["P10", "P50", "P80", "P90"]
    assert (DEFAULT.low, DEFAULT.high, DEFAULT.band_label) == ("p10", "p90", "P10-P90")


def test_percentiles_parse_and_refuse_what_cannot_be_reported() -> None:
    assert Percentiles.parse("5, 50,95").keys == ("p5", "p50", "p95")
    for bad in ("10,90", "50,10", "10,x,50", "0,50", "50,100", "50,50"):
        with pytest.raises(ValueError, match="percentiles"):
            Percentiles.parse(bad)


def test_queue_waits_are_measured_between_their_steps() -> None:
    rows = [
        QueueRow(0, "r1", OWN, "d1", 10.0, 1.0, 3.0, 7.0, 9.0, 12.0, None, *AS_FILED),
        QueueRow(1, "r1", BACKGROUND, "", 5.0, 2.0, None, None, None, None, 4.0, *AS_FILED),
    ]
    queue = pd.DataFrame(rows, columns=QueueRow._fields)
    assert STUDY_WAIT.months(queue).iloc[0] == 2.0
    assert CONNECTION_WAIT.months(queue).iloc[0] == 5.0
    assert HEADROOM_WAIT.months(queue).iloc[0] == 2.0
    assert STUDY_DURATION.months(queue).iloc[0] == 4.0
    assert REQUEST_TO_STUDY_END.months(queue).iloc[0] == 6.0
    assert REQUEST_TO_CONNECTION.months(queue).iloc[0] == 11.0
    assert all(w.kpi.unit == "months" for w in QUEUE_WAITS.values())
    assert STUDY_WAIT.months(queue).isna().iloc[1]


def test_cli_table_shows_catalogue_labels_and_units(small_run: RunOutcome) -> None:
    text = format_headline(small_run.summary, small_run.manifest)
    lines = text.splitlines()
    assert lines[1].split() == ["KPI", *DEFAULT.labels.values()]
    for name in HEADLINE:
        kpi = lookup(name)
        assert any(line.startswith(kpi.title) for line in lines), kpi.title
    assert "cash cost (USD m)" in text
    assert "shortfall (MW-months)" in text
    assert "P(any shortfall) by year:" in text
    assert "P(shortfall beyond 5% of demand) by year:" in text
    assert "delay to first power, MW-weighted:" in text
