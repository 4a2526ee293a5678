"""Golden tables: every example scenario's output tables, under a fixed seed, stay byte-identical.

A refactor or a speed-up must not change a single result. The digests in
``golden_tables.json`` were written by the code before such a change; a change that is meant to
alter results rewrites them with ``CAPSIM_UPDATE_GOLDEN=1`` and says why in its commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from capsim.model.world import simulate
from capsim.runs.tables import frames
from capsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden_tables.json"
REPLICATIONS = 2
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def table_digests(path: Path) -> dict[str, str]:
    """SHA-256 of each output table (CSV, full float precision) of a small fixed-seed run."""
    scenario = load_scenario(path)
    tables = frames([simulate(scenario, r) for r in range(REPLICATIONS)], scenario)
    return {
        name: hashlib.sha256(table.to_csv(index=False).encode("utf-8")).hexdigest()
        for name, table in sorted(tables.items())
    }


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_example_tables_equal_the_golden_digests(path: Path) -> None:
    digests = table_digests(path)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.is_file() else {}
    if os.environ.get("CAPSIM_UPDATE_GOLDEN") == "1":
        golden[path.stem] = digests
        GOLDEN.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"golden digests of {path.stem} rewritten")
    assert path.stem in golden, f"no golden digests for {path.stem}; CAPSIM_UPDATE_GOLDEN=1"
    assert digests == golden[path.stem]
