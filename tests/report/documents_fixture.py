"""A small commented run shared by the document tests: a variant of minimal.yaml with sources."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from memo_runs import session_folder

from capsim.report.memo import write_report
from capsim.runs.runner import RunOptions, run_scenario
from capsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: A variant that extends minimal.yaml and comments the values it sets.
VARIANT = """\
extends: minimal.yaml
name: minimal_sourced
title: Sydney programme outlook
# set for the document tests
# (two comment lines above the key)
seed: 11
policy:
  reserve_margin: 0.3           # board paper, March 2026
"""


@functools.cache
def documented_run() -> Path:
    """A finished 4-replication run of the variant, started from its file, with its report."""
    root = session_folder("capsim-doc-tests-")
    shutil.copy(SCENARIOS / "minimal.yaml", root / "minimal.yaml")
    variant = root / "variant.yaml"
    variant.write_text(VARIANT, encoding="utf-8")
    output = root / "run"
    run_scenario(
        load_scenario(variant, ["replications=4"]),
        RunOptions(output=output, workers=1, charts=False, inputs=(variant,)),
    )
    write_report(output)
    return output
