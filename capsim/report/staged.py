"""The run's ``charts/``: every chart of the suite, drawn from a run before it is published.

The runner calls its drawing hook on the staging directory, which has its tables and summary but
no manifest yet; ``StagedRunDir`` opens it as the suite's drawing functions expect an open run,
so ``charts/`` holds the same images, at the same size, as the report and the deck embed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsim.runs.bookkeeping import read_summary
from capsim.runs.rundir import RunDir

if TYPE_CHECKING:
    from capsim.runs.runner import StagedRun


class StagedRunDir(RunDir):
    """A staged run (tables and summary written, not yet published) read like a finished one."""

    def __init__(self, staged: StagedRun) -> None:
        """Open the staging directory with a manifest made of what the stage knows."""
        from capsim.version import __version__

        self._path = staged.directory
        self._summary = read_summary(staged.directory)
        self._scenario = staged.scenario
        self._manifest = {
            "scenario": staged.scenario.name,
            "scenario_sha256": staged.scenario_sha256,
            "seed": staged.scenario.seed,
            "replications": staged.replications,
            "capsim_version": __version__,
            "started": staged.run_date,
        }


def draw_suite(staged: StagedRun) -> None:
    """Save every chart of the suite into ``charts/`` of the staged run (PNG 300 dpi and SVG)."""
    from capsim.report import charts
    from capsim.report.documents import CHART_SIZE_IN
    from capsim.report.suite import SUITE

    run = StagedRunDir(staged)
    label = charts.run_label(run)
    directory = staged.directory / "charts"
    directory.mkdir(exist_ok=True)
    for spec in SUITE:
        fig = spec.draw(run, label)
        fig.set_size_inches(*CHART_SIZE_IN)
        charts.save(fig, directory, spec.name)
