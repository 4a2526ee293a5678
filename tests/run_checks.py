"""Checks shared by the tests that compare whole runs (executors, faults, signals)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from capsim.runs.rundir import RUN_TABLES


def tables_only(args: Sequence[str]) -> list[str]:
    """``capsim`` arguments with ``--no-charts`` added to a new run (a resume keeps its plan's).

    For tests of tables, locks and signals: drawing the chart suite costs a few seconds a run
    and is checked by the report tests.
    """
    given = list(args)
    if given[:1] == ["run"] and "--resume" not in given:
        return [*given, "--no-charts"]
    return given


def assert_same_tables(first: Path, second: Path) -> None:
    """Both runs hold exactly the same rows in every table, and the same summary."""
    for table in RUN_TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(first / f"{table}.parquet"),
            pd.read_parquet(second / f"{table}.parquet"),
            obj=table,
        )
    assert (first / "summary.csv").read_text() == (second / "summary.csv").read_text()
