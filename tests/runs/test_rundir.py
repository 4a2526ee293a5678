"""``RunDir``: a published run opened once, its tables read in part, its calendar, its errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from memo_runs import small_run

from capsim.errors import UsageError
from capsim.runs import bookkeeping, rundir
from capsim.runs.rundir import RunDir
from capsim.scenario.schema import Scenario


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of a shared run that a test may damage."""
    return Path(shutil.copytree(run_dir, tmp_path / run_dir.name))


def test_opening_reads_manifest_summary_and_scenario_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, int] = {"manifest": 0, "summary": 0, "scenario": 0}

    def counted(name: str, read: Any) -> Any:
        """``read`` that counts its calls under ``name``."""

        def wrapper(path: Path) -> Any:
            """Count one read, then read."""
            calls[name] += 1
            return read(path)

        return wrapper

    monkeypatch.setattr(rundir, "read_manifest", counted("manifest", bookkeeping.read_manifest))
    monkeypatch.setattr(rundir, "read_summary", counted("summary", bookkeeping.read_summary))
    monkeypatch.setattr(rundir, "load_run_scenario", counted("scenario", rundir.load_run_scenario))
    run = RunDir(small_run())
    for _ in range(3):
        assert run.manifest["replications"] == run.replications == 3
        assert "kpis" in run.summary
        assert isinstance(run.scenario, Scenario)
        assert run.seed == int(run.manifest["seed"])
        run.verify()
    assert calls == {"manifest": 1, "summary": 1, "scenario": 1}


def test_table_returns_only_the_columns_and_rows_asked() -> None:
    run = RunDir(small_run())
    whole = run.table("queue")
    own = run.table("queue", columns=["region", "applicant"], filters=[("applicant", "==", "own")])
    assert list(own.columns) == ["region", "applicant"]
    assert set(own["applicant"]) == {"own"}
    assert len(own) == int((whole["applicant"] == "own").sum()) < len(whole)
    with pytest.raises(UsageError, match=r"no table 'deal'.*deals"):
        run.table("deal")


def test_calendar_maps_month_one_to_the_start_months_end() -> None:
    run = RunDir(small_run())
    start = pd.Period(run.scenario.start, freq="M")
    assert run.start == start and run.end == pd.Period(run.scenario.end, freq="M")
    assert run.horizon_months == (run.end - run.start).n + 1
    dates = run.month_end([1, 2, run.horizon_months])
    assert dates[0] == start.to_timestamp(how="end").normalize()
    assert dates[1] == (start + 1).to_timestamp(how="end").normalize()
    assert dates[2] == run.end.to_timestamp(how="end").normalize()
    stored = run.table("timeseries", ["month", "date"]).drop_duplicates("month")
    assert list(run.month_end(stored["month"])) == list(pd.to_datetime(stored["date"]))
    assert run.month_label(0.5) == start.strftime("%b %Y")
    assert len(run.month_end([])) == 0


def test_a_directory_that_is_not_a_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a complete capsim run"):
        RunDir(tmp_path)
    with pytest.raises(UsageError, match="is not a directory"):
        RunDir(tmp_path / "missing")


def test_a_damaged_run_is_a_clear_error(tmp_path: Path) -> None:
    run_dir = _copy(small_run(), tmp_path)
    (run_dir / "kpis.parquet" / "part-00000.parquet").unlink()
    opened = RunDir(run_dir)  # bookkeeping intact: it opens; the checksums find the damage
    with pytest.raises(UsageError, match=r"kpis\.parquet/part-00000\.parquet \(missing\)"):
        opened.verify()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps({**manifest, "seed": "x"}))
    with pytest.raises(UsageError, match="the run directory is damaged"):
        RunDir(run_dir)


def test_a_damaged_scenario_copy_is_a_clear_error(tmp_path: Path) -> None:
    run_dir = _copy(small_run(), tmp_path)
    (run_dir / "scenario.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"scenario\.yaml.*the run directory is damaged"):
        RunDir(run_dir)
