"""Sensitivity analysis: common random numbers, Ishigami indices, integer rounding, LHS.

One-at-a-time runs on a real scenario; Sobol and Morris on the Ishigami function through the
same analysis code that scenarios use.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from capsim.analysis.sampling import latin_hypercube, sampling_rng, scale_to_bounds, strata_of
from capsim.analysis.sensitivity import (
    Parameter,
    morris_indices,
    one_at_a_time,
    sobol_design,
    sobol_indices,
)
from capsim.cli.decide import sensitivity

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = str(ROOT / "scenarios/minimal.yaml")

# Ishigami (a=7, b=0.1) on [-pi, pi]^3: analytic first-order and total indices
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
TOLERANCE = 0.06


def ishigami(points: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """The Ishigami test function, in the ``evaluate`` shape the scenario model also uses."""
    x1, x2, x3 = points.T
    values: np.ndarray = np.sin(x1) + 7 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)
    return values


ISHIGAMI_PARAMS = [Parameter(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)]


@pytest.mark.parametrize("sampling", ["default", "lhs"])
def test_sobol_indices_of_ishigami_match_the_analytic_values(sampling: str) -> None:
    table = sobol_indices(
        ISHIGAMI_PARAMS, ishigami, samples=2048, seed=11, sampling=sampling
    ).table.set_index("parameter")
    for name in ISHIGAMI_S1:
        row = table.loc[name]
        assert abs(row["S1"] - ISHIGAMI_S1[name]) <= max(row["S1_conf"], TOLERANCE), (name, row)
        assert abs(row["ST"] - ISHIGAMI_ST[name]) <= max(row["ST_conf"], TOLERANCE), (name, row)
        assert 0 < row["S1_conf"] < 0.1 and 0 < row["ST_conf"] < 0.1


def test_morris_on_ishigami_ranks_x1_and_x2_above_x3() -> None:
    table = morris_indices(ISHIGAMI_PARAMS, ishigami, trajectories=40, seed=3).table
    mu_star = table.set_index("parameter")["mu_star"]
    assert min(mu_star["x1"], mu_star["x2"]) > mu_star["x3"]
    assert list(table["parameter"])[-1] == "x3"


def test_one_at_a_time_gives_exact_changes_and_sorts_by_swing() -> None:
    params = [
        Parameter("a", 0, 1, base=0.5),
        Parameter("b", -2, 2, base=0.0),
        Parameter("c", 5, 9, base=7.0),
    ]

    def linear(points: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        assert labels[0] == "base" and len(labels) == 7
        values: np.ndarray = 2 * points[:, 0] - 3 * points[:, 1] + 0 * points[:, 2]
        return values

    table = one_at_a_time(params, linear).table
    assert list(table["parameter"]) == ["b", "a", "c"]
    assert list(table["swing"]) == [12.0, 2.0, 0.0]
    assert table.loc[0, "change_at_low"] == 6.0 and table.loc[0, "change_at_high"] == -6.0


def test_integer_parameters_are_rounded_and_every_whole_number_is_reached() -> None:
    slots = Parameter("slots", 1, 4, integer=True)
    seen: list[np.ndarray] = []

    def record(points: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        seen.append(points.copy())
        values: np.ndarray = points[:, 0] + points[:, 1]
        return values

    sobol_indices([slots, Parameter("x", 0, 1)], record, samples=64, seed=5)
    values = seen[0][:, 0]
    assert set(values) == {1.0, 2.0, 3.0, 4.0}
    assert slots.settable(2.5) == 3.0 and slots.settable(0.51) == 1.0
    assert slots.settable(4.49) == 4.0


def test_latin_hypercube_puts_one_sample_in_every_stratum_of_every_dimension() -> None:
    samples = 50
    bounds = [(0.0, 1.0), (-3.0, 7.0), (100.0, 101.0)]
    design = scale_to_bounds(latin_hypercube(samples, 3, sampling_rng(42)), bounds)
    for j, (low, high) in enumerate(bounds):
        assert sorted(strata_of(design[:, j], low, high, samples)) == list(range(samples))
    again = scale_to_bounds(latin_hypercube(samples, 3, sampling_rng(42)), bounds)
    assert np.array_equal(design, again)


def test_sobol_design_from_latin_hypercubes_keeps_one_sample_per_stratum() -> None:
    params = [Parameter("a", 0, 1), Parameter("b", 10, 20)]
    design = sobol_design(params, 16, seed=9, sampling="lhs").reshape(16, 4, 2)
    a_block, b_block = design[:, 0, :], design[:, 3, :]
    for block in (a_block, b_block):
        for j, p in enumerate(params):
            assert sorted(strata_of(block[:, j], p.low, p.high, 16)) == list(range(16))
    assert np.array_equal(design[:, 1, 1], a_block[:, 1])  # AB_1 takes a from B, b from A
    assert np.array_equal(design[:, 1, 0], b_block[:, 0])


def test_common_random_numbers_zero_swing_for_ignored_and_monotone_for_deal_team(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sens"
    result = CliRunner().invoke(
        sensitivity,
        [
            MINIMAL,
            "--param",
            "money.discount_rate_per_year=0.02:0.15",
            "--param",
            "deal_team.size=1:6",
            "-n",
            "4",
            "--workers",
            "1",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "sensitivity.parquet")
    assert set(table["output"]) == {"shortfall_mw_months_p50", "shortfall_mw_months_p90"}
    ignored = table[table["parameter"] == "money.discount_rate_per_year"]
    assert (ignored["swing"] == 0.0).all() and (ignored["change_at_low"] == 0.0).all()
    team = table[table["parameter"] == "deal_team.size"]
    # One member is a bottleneck; beyond three the team no longer binds in these futures, and
    # with common random numbers an unbinding lever moves nothing at all.
    assert (team["at_base"] < team["at_low"]).all()
    assert (team["at_high"] <= team["at_base"]).all()
    assert team["integer"].all() and list(table["rank"][:2]) == [1, 1]
    assert pd.read_csv(out / "sensitivity.csv").shape == table.shape

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sensitivity" and manifest["seed"] == 7
    assert manifest["replications"] == 4 and len(manifest["scenario_sha256"]) == 64
    assert [p["path"] for p in manifest["parameters"]] == [
        "money.discount_rate_per_year",
        "deal_team.size",
    ]
    assert manifest["wall_seconds"] > 0 and manifest["capsim_version"]
    for suffix in ("png", "svg"):
        assert (out / "charts" / f"tornado.{suffix}").stat().st_size > 0
    points = pd.read_parquet(out / "points.parquet")
    assert len(points) == 5
    for run_dir in points["run_dir"]:
        run = json.loads((out / run_dir / "manifest.json").read_text())
        assert run["seed"] == 7 and run["replications"] == 4
        assert (out / run_dir / "kpis.parquet").exists()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())

    again = CliRunner().invoke(
        sensitivity, [MINIMAL, "--param", "deal_team.size=1:2", "-o", str(out)]
    )
    assert again.exit_code == 3 and "--force" in again.output


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("policy.reserve_margn=0:1", "unknown field 'reserve_margn'"),
        (
            "policy.reserve_margin=-1:0.2",
            "error: --param policy.reserve_margin=-1:0.2: policy.reserve_margin: must be >= 0",
        ),
        ("regions.au_nsw.grid.queue.study_months.median=30:40", "study_months"),
        ("policy.reserve_margin=0.3", "expected dotted.path=LOW:HIGH"),
    ],
)
def test_bad_parameter_gives_a_located_error_and_exit_code_2(
    tmp_path: Path, param: str, expected: str
) -> None:
    out = tmp_path / "never"
    result = CliRunner().invoke(sensitivity, [MINIMAL, "--param", param, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert not out.exists() and not list(tmp_path.iterdir())
