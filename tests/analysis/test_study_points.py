"""Studies vary one scenario in memory and run their points on the runs executors."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from capsim.analysis import experiment
from capsim.analysis.decide import SensitivityRequest, run_sensitivity
from capsim.analysis.experiment import ExperimentSetup, parameter_change
from capsim.analysis.sensitivity import Parameter
from capsim.errors import ScenarioError
from capsim.runs import executors
from capsim.scenario import loader, yamlio
from capsim.scenario.loader import Change, load_scenario

MINIMAL = Path(__file__).resolve().parents[2] / "scenarios/minimal.yaml"


def _copy(tmp_path: Path) -> Path:
    """A copy of the minimal scenario the test may delete."""
    path = tmp_path / "minimal.yaml"
    shutil.copyfile(MINIMAL, path)
    return path


def test_a_study_reads_the_scenario_file_once_and_never_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the setup has read the file, no point reads it (the file may even be gone)."""
    reads: list[Path] = []
    original = yamlio.load_yaml

    def counting(path: Path, *args: Any, **kwargs: Any) -> Any:
        """Count the file reads and read as usual."""
        reads.append(path)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(loader, "load_yaml", counting)
    scenario_file = _copy(tmp_path)
    setup = ExperimentSetup(scenario_file, ("replications=2",), workers=1)
    setup.load()
    assert len(reads) == 1
    scenario_file.unlink()
    request = SensitivityRequest(params=("policy.reserve_margin=0:0.4", "deal_team.size=1:4"))
    outcome = run_sensitivity(setup, request, tmp_path / "study")
    assert len(reads) == 1
    assert len(outcome.manifest["parameters"]) == 2 and outcome.manifest["points"] == 5


def test_point_values_are_set_in_memory_as_a_file_would_set_them(tmp_path: Path) -> None:
    """Whole-number fields stay integers, and a point equals the file with the same ``--set``."""
    setup = ExperimentSetup(_copy(tmp_path))
    team = Parameter("deal_team.size", 1, 6, integer=True)
    changed = setup.load([parameter_change(team, 2.6, "--param deal_team.size=1:6")])
    assert changed.deal_team.size == 3 and isinstance(changed.deal_team.size, int)
    margin = Parameter("policy.reserve_margin", 0, 1)
    point = setup.load([parameter_change(margin, 0.15, "--param x")])
    assert point == load_scenario(MINIMAL, ["policy.reserve_margin=0.15"])
    assert setup.load() == load_scenario(MINIMAL)


def test_a_bad_point_value_gives_the_located_error_a_set_gives(tmp_path: Path) -> None:
    """The same message and path as ``--set``, blamed on the change's source."""
    setup = ExperimentSetup(_copy(tmp_path))
    with pytest.raises(ScenarioError) as from_set:
        load_scenario(MINIMAL, ["policy.reserve_margin=-1"])
    change = Change(("policy", "reserve_margin"), -1, "--param policy.reserve_margin=-1:0")
    with pytest.raises(ScenarioError) as in_memory:
        setup.load([change])
    [expected], [found] = from_set.value.problems, in_memory.value.problems
    assert (found.path, found.message) == (expected.path, expected.message)
    assert found.file == "--param policy.reserve_margin=-1:0"
    missing = Change(("policy", "reserve_margn"), 1, "--param p")
    with pytest.raises(ScenarioError, match="unknown field 'reserve_margn'"):
        setup.load([missing])
    assert setup.load().policy.reserve_margin == load_scenario(MINIMAL).policy.reserve_margin


class _Recording(executors.InProcessExecutor):
    """An in-process executor that remembers the tasks it ran and whether it was closed."""

    def __init__(self) -> None:
        """Nothing run, nothing closed yet."""
        self.tasks: list[Any] = []
        self.closed = False

    def run_tasks(self, function: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        """Record the tasks, then run them here."""
        self.tasks.extend(tasks)
        yield from super().run_tasks(function, tasks)

    def close(self) -> None:
        """Remember the close."""
        self.closed = True


def test_points_run_as_tasks_of_the_runs_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several points on several workers go to ``executors.local_executor``, which is closed."""
    made: list[int | None] = []
    recording = _Recording()

    def factory(workers: int | None) -> executors.InProcessExecutor:
        """Hand out the recording executor first (each point's own run gets a plain one)."""
        made.append(workers)
        return recording if len(made) == 1 else executors.InProcessExecutor()

    monkeypatch.setattr(executors, "local_executor", factory)
    setup = ExperimentSetup(_copy(tmp_path), ("replications=2",), workers=4)
    base = setup.load()
    named = [("a", base), ("b", base), ("c", base)]
    progress: list[tuple[int, int]] = []
    outputs = experiment.run_points(
        setup, named, tmp_path / "runs", lambda done, total, _: progress.append((done, total))
    )
    assert made == [3, 1, 1, 1] and len(recording.tasks) == 3 and recording.closed
    assert [p.name for p in outputs] == ["a", "b", "c"] and all(p.is_dir() for p in outputs)
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert not hasattr(experiment, "ProcessPoolExecutor")


def test_the_local_pool_runs_any_tasks_and_yields_their_indexes() -> None:
    """``run_tasks`` on a real pool: every task once, each result with its task's index."""
    pool = executors.local_executor(2)
    try:
        assert isinstance(pool, executors.ProcessPoolChunkExecutor)
        results = dict(pool.run_tasks(abs, [-3, -1, -2, 5]))
    finally:
        pool.close()
    assert results == {0: 3, 1: 1, 2: 2, 3: 5}
    assert dict(executors.local_executor(1).run_tasks(abs, [-1])) == {0: 1}
