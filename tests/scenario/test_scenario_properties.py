"""Property tests of the loader: dumped scenarios load back equal; broken ones fail cleanly.

(a) A valid scenario, dumped to plain data and YAML and loaded from a file, equals itself; so
    does the copy a run stores (``dump_scenario_text``), read back by ``load_stored_scenario``.
(b) Random mutations of scenarios/minimal.yaml (a leaf replaced by an odd value, a key deleted,
    an unknown key added) give a Scenario or a ScenarioError whose every problem has a message
    and a file, never any other exception. So do random ``--set`` overrides.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capsim.errors import ScenarioError
from capsim.scenario.dists import DIST_NAMES
from capsim.scenario.loader import load_scenario, load_stored_scenario, scenario_to_data
from capsim.scenario.schema import Scenario
from capsim.scenario.yamlio import PathKey, dump_scenario_text, load_yaml

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "scenarios" / "minimal.yaml"
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml"))
BASE: dict[str, Any] = load_yaml(MINIMAL).data

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

Draw = st.DrawFn


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def round_trip(scenario: Scenario, folder: Path) -> Scenario:
    """Dump the scenario as ``capsim show`` does, write it to a file and load that file."""
    return load_scenario(write(folder, "dumped.yaml", scenario_to_data(scenario)))


# --- (a) round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_every_example_scenario_survives_a_dump_and_reload(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    assert round_trip(scenario, tmp_path) == scenario


def numbers(low: float = 0.0, high: float = 1e6) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


@st.composite
def non_negative_dists(draw: Draw) -> Any:
    """Any distribution, as a file would write it, that never draws below zero."""
    kind = draw(st.sampled_from(["number", *DIST_NAMES]))
    if kind == "number":
        return draw(st.one_of(st.integers(0, 10**6), numbers()))
    if kind == "fixed":
        return {"dist": "fixed", "value": draw(numbers())}
    if kind == "uniform":
        low, high = sorted(draw(st.lists(numbers(), min_size=2, max_size=2)))
        return {"dist": "uniform", "min": low, "max": high}
    if kind in ("triangular", "pert"):
        low, mode, high = sorted(draw(st.lists(numbers(), min_size=3, max_size=3)))
        return {"dist": kind, "min": low, "mode": mode, "max": high}
    if kind == "normal":
        mean, sd = draw(numbers(0, 100)), draw(numbers(0.1, 50))
        bounds = {"min": 0} | ({"max": mean + draw(numbers(1, 500))} if draw(st.booleans()) else {})
        return {"dist": "normal", "mean": mean, "sd": sd, **bounds}
    if kind == "lognormal":
        median = draw(numbers(0.01, 1e4))
        return {"dist": "lognormal", "median": median, "p90": median * draw(numbers(1, 20))}
    if kind == "exponential":
        return {"dist": "exponential", "mean": draw(numbers(0.01, 1e4))}
    values = draw(st.lists(numbers(), min_size=1, max_size=6))
    if kind == "empirical":
        return {"dist": "empirical", "samples": values}
    spec: dict[str, Any] = {"dist": "choice", "values": values}
    if draw(st.booleans()):
        weights = draw(st.lists(numbers(0, 10), min_size=len(values), max_size=len(values)))
        spec["weights"] = [*weights[:-1], weights[-1] + 1]  # not all zero
    return spec


region_ids = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
text = st.text(st.characters(codec="utf-8"), max_size=40)


@st.composite
def months(draw: Draw) -> tuple[str, str]:
    start = draw(st.integers(2000 * 12, 2100 * 12))
    end = start + draw(st.integers(0, 599))
    return tuple(f"{m // 12:04d}-{m % 12 + 1:02d}" for m in (start, end))  # type: ignore[return-value]


@st.composite
def valid_scenarios(draw: Draw) -> dict[str, Any]:
    """minimal.yaml with many fields drawn at random, valid by construction."""
    data = copy.deepcopy(BASE)
    data["name"] = draw(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True))
    data["description"] = draw(text)
    data["start"], data["end"] = draw(months())
    data["seed"] = draw(st.integers(0, 2**63 - 1))
    data["replications"] = draw(st.integers(1, 10_000_000))
    demand = data["demand"]
    demand["it_mw_start"] = draw(non_negative_dists())
    demand["pue"] = draw(st.one_of(numbers(1, 3), st.just({"dist": "uniform", "min": 1, "max": 2})))
    demand["growth"]["annual_growth"] = draw(non_negative_dists())
    demand["shocks"] = [
        {
            "name": draw(text),
            "rate_per_year": draw(numbers(0, 120)),
            "it_mw": draw(non_negative_dists()),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    region = data["regions"].pop("au_nsw")
    ids = draw(st.lists(region_ids, min_size=1, max_size=3, unique=True))
    for rid in ids:
        copied = copy.deepcopy(region)
        queue = copied["grid"]["queue"]
        queue["study_months"] = draw(non_negative_dists())
        queue["works_months"] = draw(non_negative_dists())
        queue["mode"] = draw(st.sampled_from(["serial", "cluster"]))
        copied["grid"]["competitors"]["mw"] = draw(non_negative_dists())
        copied["grid"]["upgrades"][0]["month"] = draw(non_negative_dists())
        copied["name"] = draw(text.filter(lambda name: len(name) <= 80))
        data["regions"][rid] = copied
    data["policy"]["region_weights"] = {rid: draw(numbers(0.1, 10)) for rid in ids}
    shares = draw(st.lists(numbers(0, 1 / 3), max_size=3))
    demand["region_bound"] = [
        {"region": draw(st.sampled_from(ids)), "share": share} for share in shares
    ]
    stages = [s["name"] for s in data["deal_kinds"]["greenfield"]["stages"]]
    data["deals_in_flight"] = [
        {
            "id": f"deal_{i}",
            "kind": "greenfield",
            "region": draw(st.sampled_from(ids)),
            "mw": draw(numbers(0.1, 500)),
            "stage": draw(st.sampled_from([*stages, "signed"])),
        }
        for i in range(draw(st.integers(0, 3)))
    ]
    for stage in data["deal_kinds"]["greenfield"]["stages"]:
        stage["months"] = draw(non_negative_dists())
        stage["success"] = draw(numbers(0, 1))
    data["deal_kinds"]["greenfield"]["months_between_phases"] = draw(non_negative_dists())
    data["build"]["permitting_months"] = draw(non_negative_dists())
    data["build"]["construction_months"] = draw(non_negative_dists())
    data["equipment"]["transformer"]["lead_time_months"] = draw(non_negative_dists())
    if draw(st.booleans()):
        data["bridge"] = {
            "enabled": True,
            "max_mw_per_site": draw(numbers(1, 1000)),
            "lead_time_months": draw(non_negative_dists()),
        }
    return data


@pytest.mark.slow
@PROPERTY
@given(data=valid_scenarios())
def test_random_valid_scenario_survives_a_dump_and_reload(
    data: dict[str, Any], tmp_path: Path
) -> None:
    scenario = load_scenario(write(tmp_path, "random.yaml", data))
    again = round_trip(scenario, tmp_path)
    assert again == scenario
    assert scenario_to_data(again) == scenario_to_data(scenario)


#: Text that some YAML reader could take for a number, a boolean, null or a line break.
number_like_text = st.one_of(
    st.sampled_from(
        [
            "1e3",
            "0E0",
            "014",
            "1:30",
            "0o14",
            "0x1F",
            "1_000",
            "+1e5",
            ".5e3",
            "yes",
            "~",
            "null",
            "2026-01-01",
            "\x85",
            "a\u2028b",
            "=",
            "<<",
        ]
    ),
    text,
)


@PROPERTY
@given(
    data=valid_scenarios(),
    words=st.lists(number_like_text, min_size=3, max_size=3),
    name=st.sampled_from(["1e3", "0e0", "014", "0o14", "1_000", "plain"]),
)
@pytest.mark.slow
def test_random_valid_scenario_survives_the_stored_copy_round_trip(
    data: dict[str, Any], words: list[str], name: str, tmp_path: Path
) -> None:
    data["name"] = name
    data["description"] = words[0]
    for region in data["regions"].values():
        region["name"] = words[1][:80]
    data["demand"]["shocks"] = [{"name": words[2][:80], "rate_per_year": 1, "it_mw": 5}]
    scenario = load_scenario(write(tmp_path, "random.yaml", data))
    stored = tmp_path / "scenario.yaml"
    stored.write_text(dump_scenario_text(scenario_to_data(scenario)), encoding="utf-8")
    assert load_stored_scenario(stored) == scenario


# --- (b) mutations never crash the loader --------------------------------------------------------

odd_text = st.one_of(
    text,
    st.sampled_from(
        ["", " ", "~", "null", "yes", "2026-13", "-.inf", "1e3", "𝔰𝔠𝔢𝔫𝔞𝔯𝔦𝔬", "\u202e", "{"]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**63, -(10**30)]),
    st.floats(),  # includes nan, inf, -0.0 and huge values
    odd_text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(odd_text, inner, max_size=4)
    ),
    max_leaves=12,
)


def all_paths(node: Any, prefix: PathKey = ()) -> list[PathKey]:
    """Every path in the data, containers and leaves, root excluded."""
    found: list[PathKey] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in items:
        found.append((*prefix, key))
        found += all_paths(child, (*prefix, key))
    return found


def get(data: Any, path: PathKey) -> Any:
    for step in path:
        data = data[step]
    return data


@st.composite
def mutated(draw: Draw) -> dict[str, Any]:
    """minimal.yaml's data after one to three random mutations."""
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        paths = all_paths(data)
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if not paths:
            action = "add"
        if action == "add":
            mappings = [p for p in [(), *paths] if isinstance(get(data, p), dict)]
            get(data, draw(st.sampled_from(mappings)))[draw(odd_text)] = draw(values)
            continue
        path = draw(st.sampled_from(paths))
        parent = get(data, path[:-1])
        if action == "replace":
            parent[path[-1]] = draw(values)
        else:
            del parent[path[-1]]
    return data


def assert_fails_cleanly(error: ScenarioError, *files: str) -> None:
    assert error.problems
    for problem in error.problems:
        assert problem.message.strip(), problem
        assert problem.file.strip(), problem
        assert any(problem.file.startswith(f) for f in files), problem
    assert all(line.strip() for line in error.messages())


@PROPERTY
@given(data=mutated())
def test_mutated_scenario_loads_or_fails_with_located_problems(
    data: dict[str, Any], tmp_path: Path
) -> None:
    path = write(tmp_path, "mutated.yaml", data)
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        if "extends" not in data:  # an unknown key can happen to be 'extends'
            assert_fails_cleanly(error, str(path))
        return
    assert isinstance(scenario, Scenario)


override_paths = st.sampled_from([""] + [".".join(map(str, p)) for p in all_paths(BASE)])
override_values = st.one_of(
    odd_text, values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip())
)


@PROPERTY
@given(
    overrides=st.lists(
        st.one_of(
            st.tuples(override_paths, override_values).map("=".join),
            st.tuples(override_paths, st.sampled_from([".x", "[0]", ".0", "[99]", ".", "[]"]))
            .map("".join)
            .map(lambda path: f"{path}=1"),
            text,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_random_overrides_load_or_fail_with_located_problems(overrides: list[str]) -> None:
    try:
        scenario = load_scenario(MINIMAL, overrides)
    except ScenarioError as error:
        assert_fails_cleanly(error, str(MINIMAL), "--set ")
        return
    assert isinstance(scenario, Scenario)
