"""A chart and its takeaway share one computation of their table per open run."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from memo_runs import small_run

from capsim.report import data as memo_data
from capsim.report.charts import run_label
from capsim.report.suite import chart_spec
from capsim.runs.rundir import RunDir


@pytest.mark.parametrize("name", ["deal_funnel", "queue_waits", "equipment_backlog"])
def test_a_chart_reuses_the_table_its_takeaway_read(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = RunDir(small_run())
    reads: list[str] = []
    original = RunDir.table

    def counting(self: RunDir, table: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
        reads.append(table)
        return original(self, table, *args, **kwargs)

    monkeypatch.setattr(RunDir, "table", counting)
    spec = chart_spec(name)
    spec.takeaway(run)
    read_by_takeaway = len(reads)
    spec.draw(run, run_label(run))
    assert read_by_takeaway > 0
    assert len(reads) == read_by_takeaway


def test_each_caller_gets_its_own_copy_of_a_shared_table() -> None:
    run = RunDir(small_run())
    table = memo_data.funnel(run)
    table.loc[:, "reached"] = -1.0
    assert (memo_data.funnel(run)["reached"] != -1.0).all()
