"""Calibration targets: metrics on hand-made tables, cross-field checks, and ``capsim check``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from tiny import TINY, tiny

from capsim.analysis.calibration import (
    CalibrationTables,
    evaluate,
    format_results,
    metric_by_replication,
)
from capsim.cli.check import check
from capsim.runs.kpis import Percentiles
from capsim.scenario.checks import run_checks
from capsim.scenario.schema import Scenario, Target

ROOT = Path(__file__).resolve().parents[2]
WITH_TARGETS = sorted(
    p for p in (ROOT / "scenarios").glob("*.yaml") if yaml.safe_load(p.read_text()).get("targets")
)
NAN = math.nan


def _scenario(*targets: dict[str, Any]) -> Scenario:
    """The tiny scenario (start 2026-01, 24 months) with a second region and these targets."""
    return tiny(**{"regions.r2": TINY["regions"]["r1"], "targets": list(targets)})


def _target(**fields: Any) -> dict[str, Any]:
    return {"name": "t", "min": 0, "source": "hand-made", **fields}


def _queue_row(
    rep: int,
    region: str,
    applicant: str,
    mw: float,
    arrived: float,
    study: tuple[float, float] | None,
    connected: float | None,
    withdrawn: float | None,
) -> dict[str, Any]:
    start, end = study if study is not None else (None, None)
    return {
        "replication": rep,
        "region": region,
        "applicant": applicant,
        "mw": mw,
        "arrived": arrived,
        "study_start": start,
        "study_end": end,
        "connected": connected,
        "withdrawn": withdrawn,
    }


# Replication 0: three requests; replication 1: two; replication 2: none at all.
QUEUE = pd.DataFrame(
    [
        _queue_row(0, "r1", "own", 100, 0.0, (1.0, 5.0), 20.0, None),
        _queue_row(0, "r1", "background", 300, 2.0, (2.0, 8.0), None, 10.0),
        _queue_row(0, "r2", "background", 100, 30.0, (31.0, 37.0), 60.0, None),
        _queue_row(1, "r1", "background", 200, 6.0, (6.0, 16.0), 40.0, None),
        _queue_row(1, "r1", "background", 200, 10.0, None, None, 12.0),
    ]
).astype({"study_start": float, "study_end": float, "connected": float, "withdrawn": float})
HEADROOM = pd.DataFrame(
    {
        "replication": [0, 1, 0],
        "region": ["r1", "r1", "r2"],
        "mw": [500.0, 500.0, 200.0],
        "in_service_month": [11.5, 12.5, 3.0],
    }
)
REGIONS = pd.DataFrame(
    {
        "replication": [0, 0, 0, 0, 1, 1, 2, 2],
        "month": [11, 12, 11, 12, 12, 12, 12, 12],
        "region": ["r1", "r1", "r2", "r2", "r1", "r2", "r1", "r2"],
        "energized_mw": [50.0, 80.0, 5.0, 7.0, 30.0, 0.0, 0.0, 1.0],
    }
)
TABLES = CalibrationTables(np.array([0, 1, 2]), QUEUE, REGIONS, HEADROOM)


def _per_replication(**fields: Any) -> list[float]:
    scenario = _scenario(_target(**fields))
    return metric_by_replication(scenario.targets[0], scenario, TABLES).tolist()


def _same(found: list[float], expected: list[float]) -> bool:
    return all(
        (math.isnan(a) and math.isnan(b)) or math.isclose(a, b)
        for a, b in zip(found, expected, strict=True)
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"metric": "request_to_connection_months"}, [25.0, 34.0, NAN]),
        ({"metric": "request_to_connection_months", "applicant": "own"}, [20.0, NAN, NAN]),
        ({"metric": "connected_mw_share"}, [0.4, 0.5, NAN]),
        ({"metric": "connected_mw_share", "filed_before": "2027-01"}, [0.25, 0.5, NAN]),
        ({"metric": "connected_mw_share", "region": "r2"}, [1.0, NAN, NAN]),
        ({"metric": "study_months", "region": "r1"}, [5.0, 10.0, NAN]),
        ({"metric": "request_to_study_end_months", "region": ["r1"]}, [5.5, 10.0, NAN]),
        ({"metric": "withdrawn_share"}, [0.6, 0.5, NAN]),
        ({"metric": "withdrawn_share", "applicant": "background"}, [0.75, 0.5, NAN]),
        (
            {"metric": "headroom_mw_at_month", "region": "r1", "month": "2026-12"},
            [1500.0, 1000.0, 1000.0],
        ),
        ({"metric": "headroom_mw_at_month", "month": "2026-12"}, [2700.0, 2000.0, 2000.0]),
        (
            {"metric": "headroom_mw_at_month", "region": "r2", "month": "2026-03"},
            [1200.0, 1000.0, 1000.0],
        ),
        (
            {"metric": "energized_mw_at_month", "region": "r1", "month": "2026-12"},
            [80.0, 30.0, 0.0],
        ),
        ({"metric": "energized_mw_at_month", "month": "2026-11"}, [55.0, NAN, NAN]),
        ({"metric": "energized_mw_at_month", "month": "2026-12"}, [87.0, 30.0, 1.0]),
    ],
)
def test_metric_on_hand_made_tables(fields: dict[str, Any], expected: list[float]) -> None:
    found = _per_replication(**fields)
    assert _same(found, expected), found


def test_quantiles_leave_out_replications_without_a_figure_and_compare_the_statistic() -> None:
    values = pd.Series([*range(1, 12), NAN], dtype=float)
    inside = Target.model_validate(_target(metric="study_months", min=5.5, max=6.5))
    result = evaluate(inside, values)
    assert result.quantiles == {"p10": 2.0, "p50": 6.0, "p80": 9.0, "p90": 10.0}
    assert result.replications == 11
    assert result.passed
    p90 = Target.model_validate(_target(metric="study_months", min=0, max=9, statistic="p90"))
    assert not evaluate(p90, values).passed
    point = Target.model_validate(
        {"name": "t", "metric": "study_months", "value": 5, "tolerance": 1, "source": "x"}
    )
    assert evaluate(point, values).passed
    assert not evaluate(point.model_copy(update={"tolerance": 0.5}), values).passed
    empty = evaluate(inside, pd.Series([NAN, NAN]))
    assert empty.replications == 0 and not empty.passed


def test_format_results_shows_published_model_quantiles_and_verdicts() -> None:
    scenario = _scenario(
        _target(name="wait", metric="request_to_connection_months", min=20, max=30),
        _target(name="share", metric="connected_mw_share", min=0.9),
    )
    results = [evaluate(t, metric_by_replication(t, scenario, TABLES)) for t in scenario.targets]
    text = format_results(results, "tiny", 3)
    wait_line = next(line for line in text.splitlines() if line.startswith("wait"))
    assert "20-30 months" in wait_line and wait_line.endswith("pass")
    share_line = next(line for line in text.splitlines() if line.startswith("share"))
    assert ">= 0.9" in share_line and share_line.endswith("FAIL")
    assert "source: hand-made" in text
    assert text.splitlines()[-1] == "1 of 2 targets met; 1 missed"


def test_results_follow_the_run_percentiles_plus_each_target_statistic() -> None:
    values = pd.Series([*range(1, 12), NAN], dtype=float)
    p90 = Target.model_validate(_target(metric="study_months", min=0, max=12, statistic="p90"))
    result = evaluate(p90, values, Percentiles((25, 50, 75)))
    assert list(result.quantiles) == ["p25", "p50", "p75", "p90"]
    assert result.quantiles["p75"] == pytest.approx(np.quantile(range(1, 12), 0.75))
    assert result.model_value == result.quantiles["p90"] == 10.0 and result.passed
    median = Target.model_validate(_target(name="m", metric="study_months", min=5, max=7))
    text = format_results([result, evaluate(median, values, Percentiles((25, 50, 75)))], "x", 11)
    header = text.splitlines()[1].split()
    assert header[header.index("stat") + 1 : -1] == ["P25", "P50", "P75", "P90"]
    median_line = next(line for line in text.splitlines() if line.startswith("m "))
    assert median_line.split()[-2] == "-"  # the median target has no P90 of its own


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        ({"region": "r9"}, ("targets", 0, "region"), "region 'r9' is not defined"),
        ({"region": ["r1", "r3"]}, ("targets", 0, "region", 1), "region 'r3' is not defined"),
        (
            {"metric": "headroom_mw_at_month", "month": "2028-01"},
            ("targets", 0, "month"),
            "2028-01 is past the horizon (end 2027-12)",
        ),
        (
            {"metric": "headroom_mw_at_month", "month": "2025-12"},
            ("targets", 0, "month"),
            "2025-12 is before start 2026-01",
        ),
        ({"filed_before": "2026-01"}, ("targets", 0, "filed_before"), "no request is filed"),
        ({"min": 5, "max": 4}, ("targets", 0, "max"), "max 4 is below min 5"),
        ({"min": None}, ("targets", 0), "no published figure"),
        ({"value": 3}, ("targets", 0, "value"), "either value (with tolerance) or min/max"),
        ({"tolerance": 1}, ("targets", 0, "tolerance"), "tolerance needs a value"),
        ({"metric": "headroom_mw_at_month"}, ("targets", 0, "metric"), "expected month"),
        ({"month": "2026-06"}, ("targets", 0, "month"), "remove month"),
        (
            {"metric": "energized_mw_at_month", "month": "2026-06", "applicant": "own"},
            ("targets", 0, "applicant"),
            "remove applicant",
        ),
    ],
)
def test_cross_field_checks_of_targets(
    fields: dict[str, Any], path: tuple[str | int, ...], message: str
) -> None:
    base = {"metric": "study_months", **fields}
    findings = run_checks(_scenario(_target(**base)))
    assert [p for p, _ in findings] == [path], findings
    assert message in findings[0][1]


def test_duplicate_target_names_are_refused() -> None:
    findings = run_checks(_scenario(_target(metric="study_months"), _target(metric="study_months")))
    assert findings == [(("targets", 1, "name"), "target name 't' is used twice")]


def test_examples_declare_targets_with_sources() -> None:
    names = ["apac_2026.yaml", "apac_2026_file_early.yaml", "us_2026.yaml"]
    assert [p.name for p in WITH_TARGETS] == names


@pytest.mark.slow
@pytest.mark.parametrize("path", WITH_TARGETS, ids=lambda p: p.stem)
def test_check_passes_on_every_example_with_targets(path: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        check, [str(path), "-n", "40", "--workers", "1", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "targets met" in result.output and "FAIL" not in result.output
    assert "run directory: " in result.output


def test_check_fails_with_a_table_when_a_target_is_out_of_reach() -> None:
    result = CliRunner().invoke(
        check,
        [
            str(ROOT / "scenarios/us_2026.yaml"),
            "-n",
            "8",
            "--workers",
            "1",
            "--set",
            "targets[0].min=70",
            "--set",
            "targets[0].max=80",
        ],
    )
    assert result.exit_code == 1, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("us_request_to_connection"))
    assert "70-80 months" in line and line.endswith("FAIL")
    assert "1 of 2 targets met; 1 missed" in result.stdout


def test_check_refuses_a_target_in_an_undefined_region_with_its_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"extends: {ROOT / 'scenarios/minimal.yaml'}\n"
        "targets:\n"
        "  - name: wait\n"
        "    metric: study_months\n"
        "    region: nowhere\n"
        "    max: 12\n"
        "    source: test\n"
    )
    result = CliRunner().invoke(check, [str(bad), "-n", "2", "--workers", "1"])
    assert result.exit_code == 2, result.output
    assert f"error: {bad}:5:13: targets[0].region: region 'nowhere' is not defined" in (
        result.output
    )
    assert "targets met" not in result.output


def test_check_refuses_a_scenario_without_targets() -> None:
    result = CliRunner().invoke(check, [str(ROOT / "scenarios/minimal.yaml"), "-n", "2"])
    assert result.exit_code == 2
    assert "declares no targets" in result.output
