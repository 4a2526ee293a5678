"""Tests for capsim.dists: samplers against theory, ``mean()``, support, and validation errors.

Every sampler test uses a fixed seed and ``N`` draws; a sample mean must lie within ``Z``
standard errors of the theoretical mean, using the theoretical standard deviation.
"""

from __future__ import annotations

import math
from collections import Counter
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from capsim.scenario.dists import (
    Z_P90,
    AnyDist,
    AtLeastOneDist,
    Choice,
    Dist,
    Empirical,
    Exponential,
    Fixed,
    FractionDist,
    LogNormal,
    NonNegativeDist,
    Normal,
    Pert,
    Triangular,
    Uniform,
)

N = 20_000
Z = 5.0  # a 5-standard-error band: a false alarm would be a one-in-a-million seed
SEED = 20260101

DIST: TypeAdapter[AnyDist] = TypeAdapter(Dist)
NON_NEGATIVE: TypeAdapter[AnyDist] = TypeAdapter(NonNegativeDist)
AT_LEAST_ONE: TypeAdapter[AnyDist] = TypeAdapter(AtLeastOneDist)
FRACTION: TypeAdapter[AnyDist] = TypeAdapter(FractionDist)


def spec(data: Any) -> AnyDist:
    """A distribution as a scenario file would give it (a number or a ``{dist: ...}`` mapping)."""
    return DIST.validate_python(data)


def draws(dist: AnyDist, n: int = N, seed: int = SEED) -> np.ndarray[Any, np.dtype[np.float64]]:
    rng = np.random.default_rng(seed)
    return np.array([dist.sample(rng) for _ in range(n)])


def _pert_sd(lo: float, mode: float, hi: float) -> float:
    a = 1 + 4 * (mode - lo) / (hi - lo)
    b = 1 + 4 * (hi - mode) / (hi - lo)
    return (hi - lo) * math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


def _triangular_sd(lo: float, mode: float, hi: float) -> float:
    return math.sqrt((lo**2 + mode**2 + hi**2 - lo * mode - lo * hi - mode * hi) / 18)


def _truncated_normal(mu: float, sd: float, lo: float, hi: float) -> tuple[float, float]:
    """Mean and standard deviation of a normal truncated to [lo, hi] (textbook formulas)."""
    unit = NormalDist()
    a, b = (lo - mu) / sd, (hi - mu) / sd
    pa = unit.pdf(a) if math.isfinite(a) else 0.0
    pb = unit.pdf(b) if math.isfinite(b) else 0.0
    apa = a * pa if math.isfinite(a) else 0.0
    bpb = b * pb if math.isfinite(b) else 0.0
    mass = unit.cdf(b) - unit.cdf(a)
    mean = mu + sd * (pa - pb) / mass
    var = sd**2 * (1 + (apa - bpb) / mass - ((pa - pb) / mass) ** 2)
    return mean, math.sqrt(var)


def _lognormal_sd(median: float, p90: float) -> float:
    sigma = math.log(p90 / median) / Z_P90
    return median * math.sqrt((math.exp(sigma**2) - 1) * math.exp(sigma**2))


# (spec as written, theoretical mean, theoretical sd)
THEORY: list[tuple[dict[str, Any], float, float]] = [
    ({"dist": "uniform", "min": 2, "max": 10}, 6.0, 8 / math.sqrt(12)),
    (
        {"dist": "triangular", "min": 60, "mode": 120, "max": 200},
        380 / 3,
        _triangular_sd(60, 120, 200),
    ),
    ({"dist": "triangular", "min": 0, "mode": 0, "max": 3}, 1.0, _triangular_sd(0, 0, 3)),
    ({"dist": "pert", "min": 4, "mode": 8, "max": 14}, (4 + 32 + 14) / 6, _pert_sd(4, 8, 14)),
    ({"dist": "pert", "min": 0.15, "mode": 0.25, "max": 0.4}, 1.55 / 6, _pert_sd(0.15, 0.25, 0.4)),
    ({"dist": "pert", "min": 1, "mode": 1, "max": 9}, 14 / 6, _pert_sd(1, 1, 9)),
    ({"dist": "normal", "mean": 5, "sd": 2}, 5.0, 2.0),
    (
        {"dist": "normal", "mean": 0, "sd": 1, "min": 0},  # half-normal
        math.sqrt(2 / math.pi),
        math.sqrt(1 - 2 / math.pi),
    ),
    (
        {"dist": "normal", "mean": 10, "sd": 4, "min": 8, "max": 20},
        *_truncated_normal(10, 4, 8, 20),
    ),
    (
        {"dist": "normal", "mean": 0, "sd": 1, "min": 2, "max": 3},  # far in a tail
        *_truncated_normal(0, 1, 2, 3),
    ),
    (
        {"dist": "lognormal", "median": 10, "p90": 16},
        10 * math.exp((math.log(1.6) / Z_P90) ** 2 / 2),
        _lognormal_sd(10, 16),
    ),
    ({"dist": "exponential", "mean": 3.5}, 3.5, 3.5),
    (
        {"dist": "choice", "values": [1, 2, 10]},
        13 / 3,
        math.sqrt((1 + 4 + 100) / 3 - (13 / 3) ** 2),
    ),
    (
        {"dist": "choice", "values": [0, 10], "weights": [3, 1]},
        2.5,
        math.sqrt(0.25 * 0.75) * 10,
    ),
    (
        {"dist": "empirical", "samples": [3, 5, 5, 12]},
        6.25,
        math.sqrt((9 + 50 + 144) / 4 - 6.25**2),
    ),
]
THEORY_IDS = [f"{case[0]['dist']}-{i}" for i, case in enumerate(THEORY)]


@pytest.mark.parametrize(("data", "mean", "sd"), THEORY, ids=THEORY_IDS)
def test_mean_method_matches_theory(data: dict[str, Any], mean: float, sd: float) -> None:
    assert spec(data).mean() == pytest.approx(mean, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("data", "mean", "sd"), THEORY, ids=THEORY_IDS)
def test_sample_mean_is_within_standard_errors_of_mean(
    data: dict[str, Any], mean: float, sd: float
) -> None:
    dist = spec(data)
    values = draws(dist)
    standard_error = sd / math.sqrt(N)
    assert abs(values.mean() - dist.mean()) < Z * standard_error
    # the spread is right too (loose: the sd of a sample sd is about sd / sqrt(2N) for normals)
    assert values.std() == pytest.approx(sd, rel=0.05)


@pytest.mark.parametrize(("data", "mean", "sd"), THEORY, ids=THEORY_IDS)
def test_draws_respect_the_support(data: dict[str, Any], mean: float, sd: float) -> None:
    dist = spec(data)
    low, high = dist.support()
    values = draws(dist, n=10_000)
    assert values.min() >= low
    assert values.max() <= high
    assert np.isfinite(values).all()


@pytest.mark.parametrize(
    "data",
    [
        {"dist": "uniform", "min": -1, "max": 1},
        {"dist": "triangular", "min": 1, "mode": 2, "max": 4},
        {"dist": "pert", "min": 1, "mode": 2.5, "max": 4},
        {"dist": "normal", "mean": 0, "sd": 10, "min": -1, "max": 1},
    ],
)
def test_bounded_draws_fill_their_range(data: dict[str, Any]) -> None:
    dist = spec(data)
    values = draws(dist, n=20_000)
    low, high = dist.support()
    span = high - low
    assert values.min() < low + 0.05 * span
    assert values.max() > high - 0.05 * span


def test_truncated_normal_with_bounds_far_from_the_mean_stays_inside() -> None:
    values = draws(spec({"dist": "normal", "mean": 0, "sd": 1, "min": 4, "max": 4.5}), n=5_000)
    assert values.min() >= 4
    assert values.max() <= 4.5


def test_lognormal_median_and_p90_match_the_spec() -> None:
    median, p90 = 10.0, 16.0
    values = draws(spec({"dist": "lognormal", "median": median, "p90": p90}))
    sigma = math.log(p90 / median) / Z_P90
    for p, target in ((0.5, median), (0.9, p90)):
        # standard error of a sample quantile: sqrt(p (1 - p) / N) / density at the quantile
        density = NormalDist().pdf(NormalDist().inv_cdf(p)) / (target * sigma)
        standard_error = math.sqrt(p * (1 - p) / N) / density
        assert abs(float(np.quantile(values, p)) - target) < Z * standard_error
    assert values.min() > 0


def test_exponential_is_memoryless_around_its_mean() -> None:
    values = draws(spec({"dist": "exponential", "mean": 2.0}))
    assert values.min() >= 0
    share_above_mean = float((values > 2.0).mean())
    assert abs(share_above_mean - math.exp(-1)) < Z * math.sqrt(math.exp(-1) * 0.63 / N)
    beyond = values[values > 2.0] - 2.0
    assert abs(beyond.mean() - 2.0) < Z * 2.0 / math.sqrt(len(beyond))


@pytest.mark.parametrize(
    ("data", "probabilities"),
    [
        ({"dist": "choice", "values": [12, 18, 24]}, {12.0: 1 / 3, 18.0: 1 / 3, 24.0: 1 / 3}),
        (
            {"dist": "choice", "values": [1, 2, 3], "weights": [6, 3, 1]},
            {1.0: 0.6, 2.0: 0.3, 3.0: 0.1},
        ),
        ({"dist": "choice", "values": [5, 7], "weights": [0, 2]}, {7.0: 1.0}),
        ({"dist": "empirical", "samples": [3, 5, 5, 12]}, {3.0: 0.25, 5.0: 0.5, 12.0: 0.25}),
        ({"dist": "empirical", "samples": [9.5]}, {9.5: 1.0}),
    ],
)
def test_discrete_draws_take_only_given_values_at_their_frequencies(
    data: dict[str, Any], probabilities: dict[float, float]
) -> None:
    counts = Counter(draws(spec(data)).tolist())
    assert set(counts) == set(probabilities)  # nothing but the given values (and no zero weights)
    for value, p in probabilities.items():
        assert abs(counts[value] / N - p) <= Z * math.sqrt(p * (1 - p) / N) + 1e-12


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (7, 7.0),
        (2.5, 2.5),
        ({"dist": "fixed", "value": -3}, -3.0),
        ({"dist": "pert", "min": 4, "mode": 4, "max": 4}, 4.0),
        ({"dist": "triangular", "min": 4, "mode": 4, "max": 4}, 4.0),
        ({"dist": "uniform", "min": 4, "max": 4}, 4.0),
        ({"dist": "lognormal", "median": 4, "p90": 4}, 4.0),
        ({"dist": "normal", "mean": 4, "sd": 0}, 4.0),
        ({"dist": "choice", "values": [4]}, 4.0),
    ],
)
def test_degenerate_distributions_always_draw_their_one_value(data: Any, value: float) -> None:
    dist = spec(data)
    assert set(draws(dist, n=200).tolist()) == {value}
    assert dist.mean() == value
    assert dist.support() == (value, value)


def test_plain_number_is_a_fixed_distribution() -> None:
    assert spec(3) == Fixed(value=3.0)
    assert spec(0.25) == Fixed(dist="fixed", value=0.25)


@pytest.mark.parametrize(("data", "mean", "sd"), THEORY, ids=THEORY_IDS)
def test_sampling_uses_only_the_callers_generator(
    data: dict[str, Any], mean: float, sd: float
) -> None:
    dist = spec(data)
    np.random.seed(1)
    global_state = np.random.get_state()[1].copy()  # type: ignore[index]
    first = draws(dist, n=50, seed=3)
    again = draws(dist, n=50, seed=3)
    assert first.tolist() == again.tolist()
    assert (np.random.get_state()[1] == global_state).all()  # type: ignore[index]
    assert all(isinstance(dist.sample(np.random.default_rng(0)), float) for _ in range(3))


def test_spec_classes_are_what_the_dist_tag_names() -> None:
    kinds = {
        "uniform": Uniform,
        "triangular": Triangular,
        "pert": Pert,
        "normal": Normal,
        "lognormal": LogNormal,
        "exponential": Exponential,
        "choice": Choice,
        "empirical": Empirical,
    }
    for data, _, _ in THEORY:
        assert type(spec(data)) is kinds[data["dist"]]


# --- validation ----------------------------------------------------------------------------------


def error_of(adapter: TypeAdapter[AnyDist], data: Any) -> str:
    """The one validation message for ``data`` (pydantic's 'Value error, ' prefix removed)."""
    with pytest.raises(ValidationError) as info:
        adapter.validate_python(data)
    errors = info.value.errors()
    assert len(errors) == 1, errors
    return str(errors[0]["msg"]).removeprefix("Value error, ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"dist": "pert", "min": 1, "mode": 5, "max": 4},
            "mode (5) is outside min..max (1..4); expected min <= mode <= max",
        ),
        (
            {"dist": "pert", "min": 1, "mode": 0.5, "max": 4},
            "mode (0.5) is outside min..max (1..4); expected min <= mode <= max",
        ),
        (
            {"dist": "triangular", "min": 60, "mode": 40, "max": 200},
            "mode (40) is outside min..max (60..200); expected min <= mode <= max",
        ),
        (
            {"dist": "lognormal", "median": 10, "p90": 8},
            "p90 (8) is below median (10); expected p90 >= median",
        ),
        (
            {"dist": "uniform", "min": 5, "max": 2},
            "max (2) is below min (5); expected min <= max",
        ),
        (
            {"dist": "choice", "values": [1, 2, 3], "weights": [1, 2]},
            "2 weights for 3 values; expected one each",
        ),
        (
            {"dist": "choice", "values": [1, 2], "weights": [1, -1]},
            "weights must be finite, >= 0, not all 0, and add up to a finite sum",
        ),
        (
            {"dist": "choice", "values": [1, 2], "weights": [0, 0]},
            "weights must be finite, >= 0, not all 0, and add up to a finite sum",
        ),
        ({"dist": "normal", "mean": 0, "sd": 1, "min": 3, "max": 3}, "max (3) must exceed min (3)"),
        (
            {"dist": "normal", "mean": 0, "sd": 1, "min": 40},
            "min..max excludes almost all of the distribution; "
            "expected bounds within a few sd of the mean",
        ),
        (
            {"dist": "normal", "mean": 9, "sd": 0, "min": 0, "max": 5},
            "with sd 0 the mean must lie within min..max",
        ),
        (
            {"dist": "normal", "mean": 5, "sd": 1, "min": math.nan},
            "min and max must be numbers or -.inf/.inf, not NaN",
        ),
        (
            "sixty",
            "expected a number or a distribution such as {dist: pert, min: 1, mode: 2, "
            "max: 4}, found text 'sixty'",
        ),
        (True, "expected a number or a distribution, found true/false"),
    ],
)
def test_inconsistent_parameters_are_refused_with_a_clear_message(data: Any, message: str) -> None:
    assert error_of(DIST, data) == message


@pytest.mark.parametrize(
    ("data", "error_type"),
    [
        ({"dist": "exponential", "mean": 0}, "greater_than"),
        ({"dist": "lognormal", "median": 0, "p90": 1}, "greater_than"),
        ({"dist": "normal", "mean": 0, "sd": -1}, "greater_than_equal"),
        ({"dist": "fixed", "value": math.inf}, "finite_number"),
        ({"dist": "pert", "min": 0, "mode": 1, "max": math.nan}, "finite_number"),
        ({"dist": "choice", "values": [1, math.inf]}, "finite_number"),
        ({"dist": "empirical", "samples": [1, math.nan]}, "finite_number"),
        ({"dist": "choice", "values": []}, "too_short"),
        ({"dist": "empirical", "samples": []}, "too_short"),
        ({"dist": "pert", "min": 0, "mode": 1, "max": 2, "mod": 1}, "extra_forbidden"),
        ({"dist": "pert", "min": 0, "max": 2}, "missing"),
        ({"dist": "gaussian", "mean": 0}, "union_tag_invalid"),
        ({"min": 0, "mode": 1, "max": 2}, "union_tag_not_found"),
    ],
)
def test_bad_parameters_are_refused(data: Any, error_type: str) -> None:
    with pytest.raises(ValidationError) as info:
        DIST.validate_python(data)
    assert [error["type"] for error in info.value.errors()] == [error_type]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (-3, "can draw -3, below the allowed minimum 0"),
        ({"dist": "uniform", "min": -1, "max": 4}, "can draw -1, below the allowed minimum 0"),
        (
            {"dist": "pert", "min": -2, "mode": 1, "max": 4},
            "can draw -2, below the allowed minimum 0",
        ),
        ({"dist": "normal", "mean": 5, "sd": 1}, "can draw -inf, below the allowed minimum 0"),
        ({"dist": "choice", "values": [3, -0.5]}, "can draw -0.5, below the allowed minimum 0"),
        ({"dist": "empirical", "samples": [-1, 2]}, "can draw -1, below the allowed minimum 0"),
    ],
)
def test_non_negative_fields_refuse_distributions_that_can_draw_below_zero(
    data: Any, message: str
) -> None:
    assert error_of(NON_NEGATIVE, data) == message


@pytest.mark.parametrize(
    "data",
    [
        0,
        {"dist": "normal", "mean": 5, "sd": 1, "min": 0},
        {"dist": "normal", "mean": 5, "sd": 0},  # always 5, whatever its (infinite) bounds
        {"dist": "lognormal", "median": 1, "p90": 100},
        {"dist": "exponential", "mean": 1},
        {"dist": "triangular", "min": 0, "mode": 0, "max": 1},
    ],
)
def test_non_negative_fields_accept_distributions_bounded_at_zero(data: Any) -> None:
    assert NON_NEGATIVE.validate_python(data).support()[0] >= 0


def test_at_least_one_and_fraction_fields_check_their_range() -> None:
    assert error_of(AT_LEAST_ONE, 0.9) == "can draw 0.9, below the allowed minimum 1"
    assert AT_LEAST_ONE.validate_python({"dist": "uniform", "min": 1, "max": 1.4}).mean() == 1.2
    assert error_of(FRACTION, {"dist": "uniform", "min": 0, "max": 1.5}) == (
        "can draw 0..1.5; expected values within 0..1"
    )
    assert FRACTION.validate_python({"dist": "pert", "min": 0, "mode": 0.2, "max": 1}).mean() == (
        pytest.approx(0.3)
    )
