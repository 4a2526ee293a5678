"""Correlated per-replication draws: marginals kept, rank correlation achieved, errors located.

The copula keeps each field's distribution and achieves the rank correlation asked for, a
scenario without correlations is handed to the model untouched, and bad correlations are
located errors.

Statistical checks use ``N`` replications of the draws the model actually receives, under a
fixed seed, so each check gives the same answer on every run. The bounds:

* Marginals: the two-sample Kolmogorov-Smirnov distance between the correlated draws and the
  model's own uncorrelated draws must stay below the 0.1% critical value
  ``sqrt(ln(2 / 0.001) / 2) * sqrt(2 / N)`` (0.062 for N = 2000). The same bound is shown to
  reject a marginal that is slightly wrong (a PERT whose mode moved by a tenth of its range).
* Rank correlation: Spearman's coefficient of N pairs has a standard error of at most
  ``1 / sqrt(N - 1)`` (its value with no correlation; less with correlation); the measured
  coefficient must lie within 4 such errors (0.089) of the rho asked for.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from capsim.errors import ScenarioError
from capsim.model.correlated import Pinned, correlated_draws, pin_correlated_draws
from capsim.model.demand import DemandPath
from capsim.model.env import Streams
from capsim.model.world import build_world, simulate
from capsim.scenario.correlations import cholesky, normal_rho
from capsim.scenario.dists import (
    AnyDist,
    Choice,
    Empirical,
    Exponential,
    Fixed,
    LogNormal,
    Normal,
    Pert,
    Triangular,
    Uniform,
)
from capsim.scenario.loader import load_scenario
from capsim.scenario.schema import Correlation, Scenario

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "scenarios" / "minimal.yaml"
N = 2000
KS_CRITICAL = math.sqrt(math.log(2 / 0.001) / 2) * math.sqrt(2 / N)
SPEARMAN_BOUND = 4 / math.sqrt(N - 1)
PUE = ("demand", "pue")
GROWTH = ("demand", "growth", "annual_growth")
FIRST_UPGRADE = ("regions", "au_nsw", "grid", "upgrades", 0, "month")
SECOND_UPGRADE = ("regions", "au_nsw", "grid", "upgrades", 1, "month")

CORRELATED = """
demand:
  pue: {dist: pert, min: 1.1, mode: 1.2, max: 1.4}
correlations:
  - between: [demand.pue, demand.growth.annual_growth]
    rho: 0.7
  - between:
      - regions.au_nsw.grid.upgrades.0.month
      - regions.au_nsw.grid.upgrades[1].month
    rho: -0.5
"""


def scenario_from(tmp_path: Path, body: str, name: str = "corr") -> Scenario:
    """A scenario extending the minimal example with ``body``."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"extends: {MINIMAL}\nname: {name}\n{body}", encoding="utf-8")
    return load_scenario(path)


def errors_of(tmp_path: Path, body: str) -> list[str]:
    """The located messages of a scenario that must be refused."""
    with pytest.raises(ScenarioError) as caught:
        scenario_from(tmp_path, body, "bad")
    return caught.value.messages()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return scenario_from(tmp_path_factory.mktemp("corr"), CORRELATED)


@pytest.fixture(scope="module")
def draws(scenario: Scenario) -> dict[tuple[Any, ...], np.ndarray[Any, Any]]:
    """Each correlated field's value in replications 0..N-1, as the model receives it."""
    rows = [correlated_draws(scenario, r) for r in range(N)]
    return {path: np.array([row[path] for row in rows]) for path in rows[0]}


def uncorrelated(scenario: Scenario, path: tuple[Any, ...]) -> np.ndarray[Any, Any]:
    """The model's own draws of a field without correlations, replications 0..N-1."""
    base = scenario.model_copy(update={"correlations": []})
    if path[0] == "demand":
        paths = [DemandPath(base.demand, Streams(base.seed, r).get("demand")) for r in range(N)]
        if path == PUE:
            return np.array([p.pue for p in paths])
        return np.array([p._rate for p in paths])
    upgrades = base.regions["au_nsw"].grid.upgrades  # drawn in order from the region's stream
    streams = [Streams(base.seed, r).get("grid:au_nsw") for r in range(N)]
    return np.array([[u.month.sample(rng) for u in upgrades][path[4]] for rng in streams])


# --- marginals and rank correlation ---------------------------------------------------------


@pytest.mark.parametrize("path", [PUE, GROWTH, FIRST_UPGRADE, SECOND_UPGRADE], ids=str)
def test_the_copula_keeps_each_fields_distribution(
    scenario: Scenario, draws: dict[tuple[Any, ...], np.ndarray[Any, Any]], path: tuple[Any, ...]
) -> None:
    distance = stats.ks_2samp(draws[path], uncorrelated(scenario, path)).statistic
    assert distance < KS_CRITICAL


def test_the_marginal_check_rejects_a_slightly_wrong_distribution(
    draws: dict[tuple[Any, ...], np.ndarray[Any, Any]],
) -> None:
    shifted = Pert(dist="pert", min=1.1, mode=1.23, max=1.4)  # mode moved by 0.1 of the range
    rng = np.random.default_rng(5)
    wrong = np.array([shifted.sample(rng) for _ in range(N)])
    assert stats.ks_2samp(draws[PUE], wrong).statistic > KS_CRITICAL


@pytest.mark.parametrize(
    ("a", "b", "rho"), [(PUE, GROWTH, 0.7), (FIRST_UPGRADE, SECOND_UPGRADE, -0.5)]
)
def test_the_draws_have_the_rank_correlation_asked_for(
    draws: dict[tuple[Any, ...], np.ndarray[Any, Any]],
    a: tuple[Any, ...],
    b: tuple[Any, ...],
    rho: float,
) -> None:
    measured = stats.spearmanr(draws[a], draws[b]).statistic
    assert abs(measured - rho) < SPEARMAN_BOUND


def test_fields_not_correlated_with_each_other_stay_independent(
    draws: dict[tuple[Any, ...], np.ndarray[Any, Any]],
) -> None:
    measured = stats.spearmanr(draws[PUE], draws[FIRST_UPGRADE]).statistic
    assert abs(measured) < SPEARMAN_BOUND


def test_rho_one_moves_the_fields_in_lockstep(tmp_path: Path) -> None:
    body = (
        "correlations:\n  - {between: [regions.au_nsw.grid.upgrades.0.month, "
        "regions.au_nsw.grid.upgrades.1.month], rho: 1}\n"
    )
    scenario = scenario_from(tmp_path, body)
    rows = [correlated_draws(scenario, r) for r in range(200)]
    first = [row[FIRST_UPGRADE] for row in rows]
    second = [row[SECOND_UPGRADE] for row in rows]
    assert stats.spearmanr(first, second).statistic == pytest.approx(1.0)


def test_the_rank_to_normal_conversion_is_the_gaussian_copulas() -> None:
    # Spearman of a bivariate normal with correlation r is (6 / pi) asin(r / 2)
    for rho in (-1.0, -0.3, 0.0, 0.5, 0.9, 1.0):
        assert 6 / math.pi * math.asin(normal_rho(rho) / 2) == pytest.approx(rho, abs=1e-12)


def test_the_factor_reproduces_the_matrix_even_when_singular() -> None:
    matrix = [[1.0, 1.0, 0.5], [1.0, 1.0, 0.5], [0.5, 0.5, 1.0]]
    factor = np.array(cholesky(matrix))
    assert np.allclose(factor @ factor.T, matrix, atol=1e-12)


# --- the model receives the draws ------------------------------------------------------------


def test_the_model_reads_the_replications_draws(scenario: Scenario) -> None:
    for replication in range(3):
        values = correlated_draws(scenario, replication)
        world = build_world(scenario, replication)
        assert world.demand.pue == values[PUE]
        assert world.demand._rate == values[GROWTH]
        upgrade = world.scenario.regions["au_nsw"].grid.upgrades[0].month
        assert isinstance(upgrade, Pinned)
        assert upgrade.sample(np.random.default_rng(0)) == values[FIRST_UPGRADE]


def test_upgrades_enter_service_in_the_replications_correlated_month(scenario: Scenario) -> None:
    result = simulate(scenario, 4)
    values = correlated_draws(scenario, 4)
    months = [row.in_service_month for row in result.recorder.headroom]
    assert months == [values[FIRST_UPGRADE], values[SECOND_UPGRADE]]


def test_pinned_fields_keep_the_planners_expected_value(scenario: Scenario) -> None:
    pinned = pin_correlated_draws(scenario, 0)
    original = scenario.regions["au_nsw"].grid.upgrades[0].month
    assert pinned.regions["au_nsw"].grid.upgrades[0].month.mean() == original.mean()
    assert pinned.regions["au_nsw"].grid.upgrades[0].month.mean() == pytest.approx(32.0)


def test_without_correlations_the_scenario_is_handed_over_untouched() -> None:
    scenario = load_scenario(MINIMAL)
    assert pin_correlated_draws(scenario, 3) is scenario


def test_correlated_runs_are_reproducible(scenario: Scenario) -> None:
    first, again = simulate(scenario, 1), simulate(scenario, 1)
    assert first.events == again.events
    assert first.recorder.deals == again.recorder.deals
    assert correlated_draws(scenario, 1) != correlated_draws(scenario, 2)


# --- located errors ---------------------------------------------------------------------------


def test_a_matrix_that_is_not_positive_definite_is_located_with_the_rho_that_would_fit(
    tmp_path: Path,
) -> None:
    body = (
        "correlations:\n"
        "  - between: [demand.pue, demand.growth.annual_growth]\n"
        "    rho: 0.6\n"
        "  - between: [demand.growth.annual_growth, regions.au_nsw.grid.upgrades.0.month]\n"
        "    rho: 0.6\n"
        "  - between: [demand.pue, regions.au_nsw.grid.upgrades.0.month]\n"
        "    rho: -0.9\n"
    )
    (message,) = errors_of(tmp_path, body)
    assert message.startswith(f"{tmp_path / 'bad.yaml'}:9:10: correlations[2].rho: rho -0.9 ")
    assert "not positive definite" in message
    # with the normals' correlation a = 2 sin(0.6 pi / 6) on two pairs, the third pair's must be
    # at least 2a^2 - 1 = -0.236, a rank correlation of (6 / pi) asin(-0.118) = -0.226
    assert (
        "choose rho from -0.22 to 1.00 here or loosen correlations[0], correlations[1]" in message
    )


def test_an_unknown_path_lists_the_fields_that_can_be_correlated(tmp_path: Path) -> None:
    body = "correlations:\n  - {between: [demand.pue, demand.growth.anual_growth], rho: 0.5}\n"
    (message,) = errors_of(tmp_path, body)
    assert message == (
        f"{tmp_path / 'bad.yaml'}:4:28: correlations[0].between[1]: no field "
        "'demand.growth.anual_growth' in this scenario (did you mean "
        "'demand.growth.annual_growth'?); fields that can be correlated: demand.it_mw_start, "
        "demand.pue, demand.growth.annual_growth, regions.au_nsw.grid.upgrades.0.month, "
        "regions.au_nsw.grid.upgrades.1.month"
    )


@pytest.mark.parametrize(
    ("field", "drawn"),
    [
        ("deal_kinds.greenfield.size_mw", "per deal (or per site of a deal)"),
        ("deal_kinds.greenfield.stages.0.months", "per deal (or per site of a deal)"),
        ("regions.au_nsw.grid.queue.study_months", "per connection request"),
        ("equipment.transformer.lead_time_months", "per equipment order"),
        ("build.permitting_months", "per site"),
    ],
)
def test_a_field_drawn_per_deal_or_request_is_refused(
    tmp_path: Path, field: str, drawn: str
) -> None:
    body = f"correlations:\n  - {{between: [demand.pue, {field}], rho: 0.5}}\n"
    (message,) = errors_of(tmp_path, body)
    assert message.startswith(f"{tmp_path / 'bad.yaml'}:4:28: correlations[0].between[1]: {field}")
    assert f"is drawn {drawn}" in message
    assert "not once per replication" in message
    assert "fields that can be correlated: demand.it_mw_start" in message


def test_a_plain_setting_and_a_pair_given_twice_are_refused(tmp_path: Path) -> None:
    body = (
        "correlations:\n"
        "  - {between: [demand.pue, policy.reserve_margin], rho: 0.5}\n"
        "  - {between: [demand.pue, demand.growth.annual_growth], rho: 0.5}\n"
        "  - {between: [demand.growth.annual_growth, demand.pue], rho: 0.2}\n"
    )
    messages = errors_of(tmp_path, body)
    assert any("policy.reserve_margin is not an uncertain field" in m for m in messages)
    assert any(
        ":6:15: correlations[2].between: demand.growth.annual_growth and demand.pue are already "
        "correlated by correlations[1]" in m
        for m in messages
    )


def test_a_scenario_built_in_code_with_a_bad_correlation_is_refused_by_the_model() -> None:
    scenario = load_scenario(MINIMAL)
    bad = Correlation(between=["demand.pue", "build.permitting_months"], rho=0.5)
    with pytest.raises(ScenarioError, match=r"build\.permitting_months is drawn per site"):
        simulate(scenario.model_copy(update={"correlations": [bad]}), 0)
    impossible = [
        Correlation(between=["demand.pue", "demand.it_mw_start"], rho=0.9),
        Correlation(between=["demand.it_mw_start", "demand.growth.annual_growth"], rho=0.9),
        Correlation(between=["demand.pue", "demand.growth.annual_growth"], rho=-0.9),
    ]
    with pytest.raises(ScenarioError, match="not positive definite"):
        simulate(scenario.model_copy(update={"correlations": impossible}), 0)


def test_rho_outside_minus_one_to_one_is_refused(tmp_path: Path) -> None:
    body = "correlations:\n  - {between: [demand.pue, demand.it_mw_start], rho: 1.5}\n"
    (message,) = errors_of(tmp_path, body)
    assert (
        message == f"{tmp_path / 'bad.yaml'}:4:54: correlations[0].rho: must be <= 1.0; found 1.5"
    )


# --- inverse CDFs: exact per family -----------------------------------------------------------

FAMILIES: list[tuple[AnyDist, Any]] = [
    (Uniform(dist="uniform", min=2, max=5), stats.uniform(2, 3)),
    (Triangular(dist="triangular", min=1, mode=2, max=6), stats.triang(0.2, 1, 5)),
    (Pert(dist="pert", min=1, mode=2, max=6), stats.beta(1.8, 4.2, 1, 5)),
    (Normal(dist="normal", mean=10, sd=2), stats.norm(10, 2)),
    (Normal(dist="normal", mean=10, sd=2, min=9, max=15), stats.truncnorm(-0.5, 2.5, 10, 2)),
    (
        LogNormal(dist="lognormal", median=10, p90=16),
        stats.lognorm(math.log(1.6) / 1.2815515655446004, 0, 10),
    ),
    (Exponential(dist="exponential", mean=4), stats.expon(0, 4)),
]


@pytest.mark.parametrize(("spec", "theory"), FAMILIES, ids=lambda x: getattr(x, "dist", ""))
def test_ppf_equals_the_theoretical_quantile(spec: AnyDist, theory: Any) -> None:
    for u in (0.001, 0.05, 0.3, 0.5, 0.77, 0.95, 0.999):
        assert spec.ppf(u) == pytest.approx(float(theory.ppf(u)), rel=1e-6)


@given(st.floats(0, 1), st.floats(0, 1))
def test_ppf_never_decreases_and_stays_in_the_support(u: float, v: float) -> None:
    low, high = sorted((u, v))
    for spec, _ in FAMILIES:
        lo, hi = spec.support()
        assert lo <= spec.ppf(low) <= spec.ppf(high) <= hi


def test_discrete_ppf_gives_each_value_its_weight() -> None:
    choice = Choice(dist="choice", values=[3, 1, 2], weights=[1, 2, 1])
    empirical = Empirical(dist="empirical", samples=[5, 1, 5, 2])
    grid = [(i + 0.5) / 10_000 for i in range(10_000)]
    counts = {v: sum(choice.ppf(u) == v for u in grid) for v in (1, 2, 3)}
    assert counts == {1: 5000, 2: 2500, 3: 2500}
    counts = {v: sum(empirical.ppf(u) == v for u in grid) for v in (1, 2, 5)}
    assert counts == {1: 2500, 2: 2500, 5: 5000}
    assert Fixed(value=7).ppf(0.3) == 7


def test_normal_sampling_is_the_inverse_cdf_of_one_uniform() -> None:
    spec = Normal(dist="normal", mean=10, sd=2, min=9, max=15)
    rng, again = np.random.default_rng(3), np.random.default_rng(3)
    assert [spec.sample(rng) for _ in range(5)] == [
        spec.ppf(float(again.random())) for _ in range(5)
    ]
