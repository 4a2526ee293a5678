"""Fuzzing: random scenario files give a result or a clear error, never a traceback or a hang.

Random valid scenarios are validated through the CLI and simulated; mutations of the example
scenarios (wrong types, extreme numbers, NaN and infinity, deep nesting, huge lists, odd unicode)
are validated through the CLI and, when accepted, simulated. Every example has a wall-clock
limit, enforced by an alarm so that a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import copy
import math
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from fuzz_support import valid_scenarios
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capsim.cli.main import main
from capsim.errors import ScenarioError
from capsim.model.world import simulate
from capsim.runs.tables import frames
from capsim.scenario.loader import load_scenario
from capsim.scenario.schema import Scenario
from capsim.scenario.yamlio import PathKey, load_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml"))
MINIMAL = ROOT / "scenarios" / "minimal.yaml"
SECONDS_PER_EXAMPLE = 20.0

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


class HangError(Exception):
    """Raised by the alarm when one example runs past its wall-clock limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise HangError(f"example ran longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.perf_counter()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - started < seconds


def write(path: Path, data: Any) -> Path:
    """Write scenario data as YAML (NaN and infinities come out as .nan and .inf)."""
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def cli(*args: str) -> Result:
    """Invoke the capsim command in-process."""
    return CliRunner().invoke(main, list(args))


def assert_clean_refusal(result: Result, file: str) -> None:
    """Exit code 2, only ``error:`` lines naming the file, no traceback, no stray exception."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert lines, "a refusal must say why"
    for line in lines:
        assert line.startswith("error: "), line
        assert len(line) > len("error: "), line
    assert any(file in line for line in lines), lines
    assert "Traceback" not in result.output


def run_briefly(scenario: Scenario, replications: int = 1) -> dict[str, Any]:
    """Simulate the first replications in-process and build every output table."""
    results = [simulate(scenario, rep) for rep in range(replications)]
    tables = frames(results, scenario)
    assert len(tables["timeseries"]) == replications * scenario.horizon_months
    assert sorted(tables["kpis"]["replication"]) == list(range(replications))
    return tables


# --- random valid scenarios ----------------------------------------------------------------------


@pytest.mark.slow
@FUZZ
@given(data=valid_scenarios())
def test_random_valid_scenario_validates_and_runs(data: dict[str, Any], tmp_path: Path) -> None:
    path = write(tmp_path / "random.yaml", data)
    with time_limit(SECONDS_PER_EXAMPLE):
        result = cli("validate", str(path))
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"ok: {path}")
        scenario = load_scenario(path)
        run_briefly(scenario, scenario.replications)


@pytest.mark.slow
@settings(FUZZ, max_examples=4)
@given(data=valid_scenarios())
def test_random_valid_scenario_runs_through_the_cli(data: dict[str, Any], tmp_path: Path) -> None:
    path = write(tmp_path / "random.yaml", data)
    out = tmp_path / f"run-{time.monotonic_ns()}"
    with time_limit(SECONDS_PER_EXAMPLE * 2):
        result = cli("run", str(path), "-n", "2", "--workers", "1", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").is_file()
    assert "Traceback" not in result.output


# --- mutations of the example scenarios ----------------------------------------------------------

EXTREMES: list[Any] = [
    1e308,
    -1e308,
    1.7976931348623157e308,
    5e-324,
    -5e-324,
    math.inf,
    -math.inf,
    math.nan,
    2**64,
    -(2**63),
    10**30,
    -1,
    0,
    0.0,
    -0.0,
    None,
    True,
    False,
    "",
    "x" * 5000,
    "\u202eevil",
    "𝔰𝔠𝔢𝔫𝔞𝔯𝔦𝔬",
    "ｆｕｌｌｗｉｄｔｈ",
    "\u0000",
    "\ufeff",
    "🙂" * 10,
    "2026-13",
    "../../etc/passwd",
    "!!python/object:os.system",
    "\x1b[2J",
    "a\u2028b",
    [],
    {},
    [0] * 1_500,
    {"dist": "lognormal", "median": 1e308, "p90": 1e308},
    {"dist": "choice", "values": [1, 2], "weights": [1e308, 1e308]},
    {"dist": "normal", "mean": 0, "sd": 1e308},
    {"dist": "empirical", "samples": [1e308, -1e308]},
]


def nested(depth: int) -> Any:
    """A value nested ``depth`` lists deep."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


odd_values = st.one_of(
    st.sampled_from(EXTREMES),
    st.floats(),
    st.integers(-(2**80), 2**80),
    st.text(max_size=30),
    st.integers(30, 120).map(nested),
    st.dictionaries(st.text(max_size=8), st.sampled_from(EXTREMES[:20]), max_size=3),
)


def paths_of(node: Any, prefix: PathKey = ()) -> list[PathKey]:
    """Every path in the data, containers and leaves, the root excluded."""
    found: list[PathKey] = []
    children = (
        node.items()
        if isinstance(node, dict)
        else (enumerate(node) if isinstance(node, list) else [])
    )
    for key, child in children:
        found.append((*prefix, key))
        found += paths_of(child, (*prefix, key))
    return found


def at(data: Any, path: PathKey) -> Any:
    for step in path:
        data = data[step]
    return data


EXAMPLE_DATA = {path.name: load_yaml(path).data for path in EXAMPLES}


@st.composite
def mutated_examples(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """One example scenario's data after one to three random mutations."""
    name = draw(st.sampled_from(sorted(EXAMPLE_DATA)))
    data = copy.deepcopy(EXAMPLE_DATA[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in paths_of(data) if p != ("extends",)]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "add" or not paths:
            mappings = [p for p in [(), *paths] if isinstance(at(data, p), dict)]
            key = draw(st.one_of(st.text(max_size=10), st.sampled_from(["name", "dist", "<<"])))
            at(data, draw(st.sampled_from(mappings)))[key] = draw(odd_values)
            continue
        path = draw(st.sampled_from(paths))
        parent = at(data, path[:-1])
        if action == "replace":
            parent[path[-1]] = draw(odd_values)
        else:
            del parent[path[-1]]
    return name, data


@pytest.fixture(scope="module")
def examples_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the examples, so that mutated files find the bases they extend."""
    folder = tmp_path_factory.mktemp("examples")
    for path in EXAMPLES:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.mark.slow
@settings(FUZZ, max_examples=40)
@given(case=mutated_examples())
def test_mutated_example_validates_or_fails_cleanly(
    case: tuple[str, dict[str, Any]], examples_copy: Path
) -> None:
    name, data = case
    path = write(examples_copy / f"mutated_{name}", data)
    with time_limit(SECONDS_PER_EXAMPLE):
        result = cli("validate", str(path))
        if result.exit_code != 0:
            assert_clean_refusal(result, str(path))
            return
        assert result.output.startswith(f"ok: {path}"), result.output
        run_briefly(load_scenario(path))


# --- extreme but valid inputs --------------------------------------------------------------------

HEAVY = [
    "policy.review_months=0.0001",
    "regions.au_nsw.grid.queue.mode=cluster",
    "regions.au_nsw.grid.competitors.arrivals_per_year=10000",
    "regions.au_nsw.grid.competitors.initial_requests=10000",
    "equipment.transformer.other_orders_per_year=100000",
]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ([HEAVY[0]], "policy.review_months", "at most 2,400"),
        (
            [HEAVY[1], "regions.au_nsw.grid.queue.cluster_window_months=0.001"],
            "regions.au_nsw.grid.queue.cluster_window_months",
            "cluster window",
        ),
        ([HEAVY[2]], "regions.au_nsw.grid.competitors.arrivals_per_year", "80,000 grid requests"),
        (
            [HEAVY[3], "regions.au_nsw.grid.competitors.arrivals_per_year=1500"],
            "regions.au_nsw.grid.competitors.arrivals_per_year",
            "22,000 grid requests",
        ),
        ([HEAVY[4]], "equipment.transformer.other_orders_per_year", "800,000 equipment orders"),
    ],
    ids=["reviews", "cluster_windows", "competitor_arrivals", "initial_requests", "other_orders"],
)
def test_workload_that_would_hang_a_run_is_refused_with_the_field(
    overrides: list[str], field: str, words: str
) -> None:
    args = [arg for o in overrides for arg in ("--set", o)]
    with time_limit(5):
        result = cli("validate", str(MINIMAL), *args)
    assert_clean_refusal(result, "--set")
    assert any(field in line and words in line for line in result.stderr.splitlines()), (
        result.stderr
    )


EXTREME_BUT_RUNNABLE = {
    "huge_growth": ["demand.growth.annual_growth=1e10", "end=2075-12"],
    "huge_demand": ["demand.it_mw_start=1e308", "demand.pue=3"],
    "huge_deals": ["deal_kinds.greenfield.size_mw=1e308", "deal_kinds.greenfield.phase_mw=1e308"],
    "deal_larger_than_int64_units": [
        "deal_kinds.greenfield.size_mw=1e25",
        "deal_kinds.greenfield.phase_mw=1e25",
    ],
    "heavy_tailed_deal_tiny_phase": [
        "deal_kinds.greenfield.size_mw={dist: lognormal, median: 100, p90: 1e9}",
        "deal_kinds.greenfield.phase_mw=0.001",
        "deal_kinds.greenfield.months_between_phases=0",
    ],
    "tiny_factory": ["equipment.transformer.units_per_year=1e-300"],
    "many_study_slots": ["regions.au_nsw.grid.queue.study_slots=10000"],
    "steep_logistic": [
        "demand.it_mw_start=1e-300",
        "demand.growth={model: logistic, ceiling_it_mw: 1e308, steepness_per_year: 1000}",
    ],
    "huge_money": [
        "deal_kinds.greenfield.capex_usd_per_mw=1e308",
        "money.unserved_usd_per_mw_month=1e308",
    ],
    "huge_headroom": ["regions.au_nsw.grid.headroom_mw=1e308", "regions.au_nsw.existing_mw=1e308"],
    "all_limits_at_once": [
        "policy.review_months=0.25",
        "end=2075-12",
        "regions.au_nsw.grid.competitors.arrivals_per_year=300",
    ],
}


@pytest.mark.parametrize("name", sorted(EXTREME_BUT_RUNNABLE))
def test_extreme_but_valid_scenario_runs_in_bounded_time(name: str) -> None:
    with time_limit(SECONDS_PER_EXAMPLE):
        scenario = load_scenario(MINIMAL, EXTREME_BUT_RUNNABLE[name])
        tables = run_briefly(scenario)
    assert (tables["deals"]["energized_mw"] <= tables["deals"]["mw"]).all()
    assert (tables["equipment"]["units"] >= 0).all()


def test_choice_weights_whose_sum_overflows_are_refused() -> None:
    spec = "{dist: choice, values: [60, 200], weights: [1e308, 1e308]}"
    with pytest.raises(ScenarioError) as error:
        load_scenario(MINIMAL, [f"deal_kinds.greenfield.size_mw={spec}"])
    assert "add up to a finite sum" in error.value.messages()[0]
