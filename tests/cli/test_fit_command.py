"""``capsim fit`` and ``capsim export-queue`` from the command line: outputs, snapshots, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from capsim.api import run
from capsim.cli.main import main
from capsim.runs.rundir import RunDir
from capsim.scenario.loader import load_scenario

FIXTURES = Path(__file__).parent.parent / "fixtures" / "queues"
CSV_ROLES = [
    "--columns", "id=q_id", "--columns", "mw=mw1", "--columns", "filed=q_date",
    "--columns", "withdrawn=wd_date", "--columns", "connected=on_date",
    "--columns", "agreement=ia_date",
]  # fmt: skip


def invoke(*args: str) -> Result:
    """Run capsim with ``args``; exceptions other than exits are returned, not raised."""
    return CliRunner().invoke(main, list(args))


def fit_json(directory: Path) -> dict[str, Any]:
    """fit.json of a fit directory, without its fit date."""
    payload: dict[str, Any] = json.loads((directory / "fit.json").read_text())
    payload.pop("fitted_on")
    payload["data"].pop("file")
    payload["data"].pop("sha256")
    payload["data"].pop("format")
    payload["data"].pop("columns")
    return payload


def flat(payload: Any, prefix: str = "") -> dict[str, Any]:
    """A nested JSON value as one mapping from dotted paths to leaves."""
    if isinstance(payload, dict):
        return {
            k: v for key, item in payload.items() for k, v in flat(item, f"{prefix}{key}.").items()
        }
    if isinstance(payload, list):
        return {
            k: v for i, item in enumerate(payload) for k, v in flat(item, f"{prefix}{i}.").items()
        }
    return {prefix: payload}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, args",
    [
        ("gridstatus.csv", ["--format", "gridstatus"]),
        ("gridstatus.parquet", ["--format", "gridstatus"]),
        ("queued_up.xlsx", ["--format", "queued-up"]),
        ("queue.csv", ["--format", "csv", *CSV_ROLES]),
    ],
)
def test_every_fixture_fits_and_writes_the_whole_directory(
    tmp_path: Path, name: str, args: list[str]
) -> None:
    """Each format's fixture fits; grid.yaml, fit.json, report and charts appear together."""
    result = invoke("fit", str(FIXTURES / name), *args, "--region", "r1", "-o", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert "204 requests as of 2027-06 (0 rows left out)" in result.output
    files = {p.name for p in (tmp_path / "o").iterdir()}
    assert {"grid.yaml", "fit.json", "report.md", "withdrawal.png", "outcomes.png"} <= files
    fragment = yaml.safe_load((tmp_path / "o" / "grid.yaml").read_text())
    assert fragment["grid"]["queue"]["study_slots"] == 10_000
    assert fragment["targets"][0]["region"] == "r1"


@pytest.mark.slow
def test_the_same_rows_in_two_formats_give_the_same_fit(tmp_path: Path) -> None:
    """The workbook and the CSV hold the same queue: the same estimates (to rounding of MW)."""
    workbook, table = tmp_path / "xlsx", tmp_path / "csv"
    invoke("fit", str(FIXTURES / "queued_up.xlsx"), "--format", "queued-up", "-o", str(workbook))
    invoke("fit", str(FIXTURES / "queue.csv"), "--format", "csv", *CSV_ROLES, "-o", str(table))
    first, second = flat(fit_json(workbook)), flat(fit_json(table))
    assert first.keys() == second.keys()
    for key, value in first.items():
        if isinstance(value, float):
            assert second[key] == pytest.approx(value, rel=1e-9), key
        else:
            assert second[key] == value, key


@pytest.mark.slow
def test_a_fit_is_reproducible(tmp_path: Path) -> None:
    """Fitting the same file twice gives the same fragment, estimates and charts."""
    for name in ("a", "b"):
        invoke("fit", str(FIXTURES / "gridstatus.csv"), "--format", "gridstatus",
               "-o", str(tmp_path / name))  # fmt: skip
    assert fit_json(tmp_path / "a") == fit_json(tmp_path / "b")
    for chart in ("withdrawal.png", "outcomes.png"):
        assert (tmp_path / "a" / chart).read_bytes() == (tmp_path / "b" / chart).read_bytes()


@pytest.mark.slow
def test_bad_rows_are_reported_with_their_row_numbers(tmp_path: Path) -> None:
    """A row withdrawn before it was filed is named on stderr, in fit.json and in the report."""
    table = pd.read_csv(FIXTURES / "gridstatus.csv", dtype=str, keep_default_na=False)
    table.loc[3, "Withdrawn Date"] = "2019-01-01"
    table.loc[3, "Status"] = "Withdrawn"
    table.loc[3, "Actual Completion Date"] = ""
    path = tmp_path / "bad.csv"
    table.to_csv(path, index=False)
    result = invoke("fit", str(path), "--format", "gridstatus", "-o", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert "left out: bad.csv: row 5: 'Withdrawn Date' is before the filing date" in result.output
    payload = json.loads((tmp_path / "o" / "fit.json").read_text())
    assert payload["bad_rows"] == [
        {"row": 5, "reason": "'Withdrawn Date' is before the filing date"}
    ]
    assert "row 5" in (tmp_path / "o" / "report.md").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "gridstatus", str(FIXTURES / "queue.csv")], "did you mean"),
        (["--format", "queued-up", "--where", "region=nowhere", str(FIXTURES / "queue.csv")],
         "no rows left after --where region=nowhere"),
        (["--format", "csv", "--columns", "size=mw1", str(FIXTURES / "queue.csv")],
         "valid roles: id, mw, filed, withdrawn, connected, agreement, status"),
        (["--format", "queued-up", "--where", "regoin=r1", str(FIXTURES / "queue.csv")],
         "did you mean 'region'?"),
        (["--format", "queued-up", "--as-of", "2027-13", str(FIXTURES / "queue.csv")],
         "--as-of"),
        (["--format", "queued-up", "--region", "R1", str(FIXTURES / "queue.csv")], "--region"),
        (["--format", "queued-up", str(FIXTURES / "missing.csv")], "no such file"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_a_message_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """Every bad input is one located message, exit code 2, no traceback, no output directory."""
    result = invoke("fit", *args, "-o", str(tmp_path / "o"))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert list(tmp_path.iterdir()) == []


def test_missing_gridstatus_columns_are_all_named(tmp_path: Path) -> None:
    """A queued-up file read as gridstatus names each missing gridstatus column."""
    result = invoke("fit", str(FIXTURES / "queue.csv"), "--format", "gridstatus",
                    "-o", str(tmp_path / "o"))  # fmt: skip
    for column in ("'Queue ID'", "'Capacity (MW)'", "'Queue Date'", "'Withdrawn Date'"):
        assert column in result.output


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixtures' scenario run once (two replications)."""
    out = tmp_path_factory.mktemp("export") / "run"
    run(load_scenario(FIXTURES / "scenario.yaml"), replications=2, output=out, workers=1)
    return out


@pytest.mark.slow
def test_export_queue_shows_the_queue_as_of_its_month(fixture_run: Path, tmp_path: Path) -> None:
    """Later filings are dropped and later outcomes shown active; earlier ones keep their dates."""
    path = tmp_path / "snap.csv"
    result = invoke("export-queue", str(fixture_run), "--format", "queued-up", "--as-of",
                    "2024-06", "--replication", "1", "-o", str(path))  # fmt: skip
    assert result.exit_code == 0, result.output
    snap = pd.read_csv(path, parse_dates=["q_date", "ia_date", "wd_date", "on_date"])
    queue = RunDir(fixture_run).table("queue")
    cut = 4 * 12 + 6  # months from 2020-01 to the end of 2024-06
    assert len(snap) == int(((queue["replication"] == 1) & (queue["arrived"] < cut)).sum())
    end = pd.Timestamp("2024-07-01")
    for column in ("q_date", "ia_date", "wd_date", "on_date"):
        assert (snap[column].dropna() < end).all()
    assert set(snap.loc[snap["wd_date"].notna(), "q_status"]) == {"withdrawn"}
    assert set(snap.loc[snap["on_date"].notna(), "q_status"]) == {"operational"}
    active = snap["wd_date"].isna() & snap["on_date"].isna()
    assert set(snap.loc[active, "q_status"]) == {"active"}
    later = invoke("export-queue", str(fixture_run), "--format", "queued-up", "--replication",
                   "1", "-o", str(tmp_path / "all.csv"))  # fmt: skip
    assert later.exit_code == 0
    assert len(pd.read_csv(tmp_path / "all.csv")) > len(snap)


@pytest.mark.slow
def test_export_queue_gridstatus_has_the_standard_columns(
    fixture_run: Path, tmp_path: Path
) -> None:
    """The gridstatus snapshot carries that library's columns and its status words."""
    path = tmp_path / "snap.parquet"
    assert invoke("export-queue", str(fixture_run), "--format", "gridstatus",
                  "-o", str(path)).exit_code == 0  # fmt: skip
    snap = pd.read_parquet(path)
    assert list(snap.columns)[:3] == ["Queue ID", "Project Name", "Interconnecting Entity"]
    assert set(snap["Status"]) <= {"Active", "Withdrawn", "Completed"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["--as-of", "2031-01"], "outside the run's months 2020-01 to 2029-12"),
        (["--replication", "7"], "--replication 7: not in the run"),
        (["-o", "snap.txt"], "expected a .csv, .parquet or .xlsx file"),
    ],
)
def test_export_queue_bad_input_exits_2(
    fixture_run: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    """A month outside the run, a missing replication or an unknown file type: exit 2."""
    output = ["-o", str(tmp_path / "snap.csv")] if "-o" not in args else []
    result = invoke("export-queue", str(fixture_run), "--format", "gridstatus", *args, *output)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "snap.csv").exists()


@pytest.mark.slow
def test_a_constant_hazard_fragment_without_agreement_dates_validates(tmp_path: Path) -> None:
    """The gridstatus fixture (no agreement dates) picks the constant hazard; it still loads."""
    result = invoke("fit", str(FIXTURES / "gridstatus.csv"), "--format", "gridstatus",
                    "--region", "r1", "-o", str(tmp_path / "o"))  # fmt: skip
    assert result.exit_code == 0, result.output
    fragment = yaml.safe_load((tmp_path / "o" / "grid.yaml").read_text())
    assert "withdrawal_per_year" in fragment["grid"]["competitors"]
    assert fragment["grid"]["queue"]["works_months"] == 0
    data = yaml.safe_load((FIXTURES / "scenario.yaml").read_text())
    data["regions"]["r1"]["grid"] = fragment["grid"]
    data["targets"] = fragment["targets"]
    path = tmp_path / "pasted.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    scenario = load_scenario(path)
    assert [t.metric for t in scenario.targets] == ["request_to_connection_months"]
