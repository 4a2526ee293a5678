"""Checks shared by the tests that compare whole runs (executors, faults, signals)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from capsim.runs.rundir import RUN_TABLES


def assert_same_tables(first: Path, second: Path) -> None:
    """Both runs hold exactly the same rows in every table, and the same summary."""
    for table in RUN_TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(first / f"{table}.parquet"),
            pd.read_parquet(second / f"{table}.parquet"),
            obj=table,
        )
    assert (first / "summary.csv").read_text() == (second / "summary.csv").read_text()
