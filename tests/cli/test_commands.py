"""``capsim validate``, ``show`` and ``schema``: messages, exit codes, and the committed schema."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from capsim.cli.main import main
from capsim.scenario.json_schema import scenario_json_schema
from capsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_every_example_scenario_validates() -> None:
    assert len(SCENARIOS) >= 1
    result = CliRunner().invoke(main, ["validate", *map(str, SCENARIOS)])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok: ") == len(SCENARIOS)


def test_validate_reports_every_bad_file_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {ROOT / 'scenarios/minimal.yaml'}\nseed: -1\nreplications: x\n")
    result = CliRunner().invoke(main, ["validate", str(ROOT / "scenarios/minimal.yaml"), str(bad)])
    assert result.exit_code == 2
    assert "ok: " in result.output
    assert f"error: {bad}:2:7: seed: must be >= 0; found -1" in result.output
    assert f"error: {bad}:3:15: replications: expected a whole number, found text 'x'" in (
        result.output
    )


def test_show_prints_the_resolved_scenario_with_overrides() -> None:
    result = CliRunner().invoke(
        main, ["show", str(ROOT / "scenarios/minimal.yaml"), "--set", "policy.reserve_margin=0.3"]
    )
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.output)
    assert shown["policy"]["reserve_margin"] == 0.3
    assert shown["demand"]["pue"] == {"dist": "fixed", "value": 1.2}


def test_committed_json_schema_is_current() -> None:
    committed = json.loads((ROOT / "scenarios/schema.json").read_text())
    assert committed == scenario_json_schema(), "run: capsim schema -o scenarios/schema.json"


def test_json_schema_accepts_numbers_and_distributions_for_uncertain_fields() -> None:
    schema = scenario_json_schema()
    study = schema["$defs"]["Queue"]["properties"]["study_months"]
    kinds = [option.get("type") or option["$ref"].rsplit("/", 1)[-1] for option in study["anyOf"]]
    assert kinds[0] == "number"
    assert {"Pert", "LogNormal", "Exponential", "Empirical"} <= set(kinds)
    assert "extends" in schema["properties"]


def test_shown_scenario_loads_back_to_the_same_scenario(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["show", str(ROOT / "scenarios/minimal.yaml")])
    again = tmp_path / "again.yaml"
    again.write_text(result.output)
    assert load_scenario(again) == load_scenario(ROOT / "scenarios/minimal.yaml")


def test_committed_scenario_reference_is_current() -> None:
    from capsim.scenario.reference import scenario_reference_markdown

    committed = (ROOT / "docs" / "scenario_reference.md").read_text(encoding="utf-8")
    expected = scenario_reference_markdown()
    assert committed == expected, "run: capsim schema --reference docs/scenario_reference.md"
    for field in ("headroom_order", "withdrawal_per_year", "lead_time_months"):
        assert f"`{field}`" in committed


def test_report_help_offers_percentiles() -> None:
    result = CliRunner().invoke(main, ["report", "--help"])
    assert result.exit_code == 0, result.output
    assert "--percentiles" in result.output and "10,50,80,90" in result.output


def test_sensitivity_refuses_an_unknown_statistic_before_running(tmp_path: Path) -> None:
    out = tmp_path / "never"
    result = CliRunner().invoke(
        main,
        [
            "sensitivity",
            str(ROOT / "scenarios/minimal.yaml"),
            "--param",
            "deal_team.size=1:2",
            "--stat",
            "p100",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "error: unknown statistic 'p100' (expected mean or a percentile p1-p99" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.iterdir())
