"""Small runs shared by the memo tests (charts, report, compare), made once per test session."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from capsim.runs.runner import RunOptions, run_scenario
from capsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parent.parent / "scenarios"


def session_folder(prefix: str) -> Path:
    """A temporary folder for runs shared by a test session, removed when the session ends."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


_ROOT = session_folder("capsim-memo-tests-")


def small_run(scenario: str = "minimal", replications: int = 3, sets: tuple[str, ...] = ()) -> Path:
    """A finished run (made on first use, then shared); see ``_run``."""
    return _run(scenario, replications, tuple(sets))


@functools.cache
def _run(scenario: str, replications: int, sets: tuple[str, ...]) -> Path:
    """A finished run of ``scenarios/<scenario>.yaml`` with a few replications, in-process.

    The runner's own 300 dpi charts are skipped (``charts=False``: they are not what these
    tests check, and they take most of a small run's time); every table and file else is written.
    """
    changes = [f"replications={replications}", *sets]
    name = "-".join([scenario, str(replications), *(s.replace("=", "_") for s in sets)])
    output = _ROOT / name.replace(".", "_").replace("[", "_").replace("]", "_")
    run_scenario(
        load_scenario(SCENARIOS / f"{scenario}.yaml", changes),
        RunOptions(output=output, workers=1, charts=False),
    )
    return output
