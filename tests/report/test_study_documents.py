"""``capsim report`` on a study directory: a sensitivity study or a sweep gets its documents.

Small studies of the minimal scenario (fixed seed, three replications per point) are run once;
the command must tell them from runs by their manifests, write the three documents into them,
and carry every evaluated point into the workbook under readable headings.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from capsim.analysis.decide import SensitivityRequest, SweepRequest, run_sensitivity, run_sweep
from capsim.analysis.experiment import ExperimentSetup
from capsim.cli.memo import report

MINIMAL = Path(__file__).resolve().parents[2] / "scenarios/minimal.yaml"
DOCUMENTS = ["memo.pptx", "report.html", "tables.xlsx"]


@pytest.fixture(scope="module")
def sensitivity_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-at-a-time study of two parameters (5 points of 3 replications)."""
    setup = ExperimentSetup(MINIMAL, ("replications=3",), workers=1)
    out = tmp_path_factory.mktemp("studies") / "sensitivity"
    request = SensitivityRequest(params=("policy.reserve_margin=0:0.6", "deal_team.size=1:6"))
    run_sensitivity(setup, request, out)
    return out


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep of 2 x 2 strategies (3 replications each)."""
    setup = ExperimentSetup(MINIMAL, ("replications=3",), workers=1)
    out = tmp_path_factory.mktemp("studies") / "sweep"
    grid = ("policy.reserve_margin=0,0.6", "policy.equipment_order_at=signed,launch")
    run_sweep(setup, SweepRequest(grid), out)
    return out


def _sheet(path: Path, name: str) -> pd.DataFrame:
    """One sheet of a workbook as a DataFrame (header row as columns)."""
    from openpyxl import load_workbook

    header, *rows = list(load_workbook(path, read_only=True)[name].iter_rows(values_only=True))
    return pd.DataFrame(rows, columns=[str(h) for h in header])


def _written(directory: Path) -> list[str]:
    """The documents present in ``directory``, sorted."""
    return sorted(p.name for p in directory.iterdir() if p.name in DOCUMENTS)


def _report_writes_every_document(directory: Path) -> None:
    """``capsim report`` on ``directory`` succeeds and leaves all three documents there."""
    result = CliRunner().invoke(report, [str(directory)])
    assert result.exit_code == 0, result.output
    assert _written(directory) == DOCUMENTS


def test_report_on_a_sensitivity_study_writes_three_documents_holding_every_point(
    sensitivity_dir: Path,
) -> None:
    _report_writes_every_document(sensitivity_dir)
    points = pd.read_parquet(sensitivity_dir / "points.parquet")
    sheet = _sheet(sensitivity_dir / "tables.xlsx", "points")
    assert list(sheet["point"]) == list(points["point"])
    assert list(sheet["run directory"]) == list(points["run_dir"])
    assert list(sheet["Capacity target above forecast (fraction)"]) == pytest.approx(
        list(points["policy.reserve_margin"])
    )
    assert list(sheet["shortfall, P50 (MW-months)"]) == pytest.approx(
        list(points["shortfall_mw_months_p50"])
    )
    effects = _sheet(sensitivity_dir / "tables.xlsx", "effects")
    table = pd.read_parquet(sensitivity_dir / "sensitivity.parquet")
    assert list(effects["path"]) == list(table["parameter"])
    assert list(effects["paired SE at low (MW-months)"]) == pytest.approx(
        list(table["se_change_at_low"])
    )
    page = (sensitivity_dir / "report.html").read_text(encoding="utf-8")
    assert "Deal-team members" in page and "Capacity target above forecast" in page
    assert "data:image/png;base64," in page and not list(sensitivity_dir.glob(".*tmp"))


def test_report_on_a_sweep_writes_three_documents_holding_every_strategy(sweep_dir: Path) -> None:
    _report_writes_every_document(sweep_dir)
    strategies = pd.read_parquet(sweep_dir / "strategies.parquet")
    sheet = _sheet(sweep_dir / "tables.xlsx", "strategies")
    assert list(sheet["strategy"]) == list(strategies["label"])
    assert list(sheet["cash cost, P50 (USD m)"]) == pytest.approx(
        list(strategies["cash_cost_usd_p50"] / 1e6)
    )
    assert list(sheet["on the frontier"]) == [
        "yes" if v else "no" for v in strategies["on_frontier"]
    ]
    assert list(sheet["When equipment is ordered"]) == list(strategies["policy.equipment_order_at"])
    page = (sweep_dir / "report.html").read_text(encoding="utf-8")
    assert "strategies are on the frontier" in page


def test_report_refuses_a_directory_that_is_neither_run_nor_study(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a study")
    result = CliRunner().invoke(report, [str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "capsim report takes a run directory (capsim run), a sensitivity study" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_report_names_an_unknown_kind_and_refuses_percentiles_on_a_study(
    sensitivity_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"kind": "calibration"}))
    result = CliRunner().invoke(report, [str(other)])
    assert result.exit_code == 2 and "holds a 'calibration'" in result.output
    copy = tmp_path / "study"
    shutil.copytree(sensitivity_dir, copy)
    refused = CliRunner().invoke(report, [str(copy), "--percentiles", "10,50,90"])
    assert refused.exit_code == 2 and "--percentiles applies to a run directory" in refused.output


def test_a_study_missing_its_table_is_a_clean_error(sweep_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "sweep"
    shutil.copytree(sweep_dir, copy)
    for name in DOCUMENTS:
        (copy / name).unlink(missing_ok=True)
    (copy / "strategies.parquet").unlink()
    result = CliRunner().invoke(report, [str(copy)])
    assert result.exit_code == 2, result.output
    assert "is not a complete sweep study: cannot read strategies.parquet" in result.output
    assert _written(copy) == []


def test_a_study_manifest_missing_an_entry_is_a_clean_error(
    sensitivity_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "sensitivity"
    shutil.copytree(sensitivity_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["parameters"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(report, [str(copy)])
    assert result.exit_code == 2, result.output
    assert "missing 'parameters'; the study directory is damaged" in result.output
    assert "Traceback" not in result.output
