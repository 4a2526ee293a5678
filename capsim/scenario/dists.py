"""Distribution specs that analysts write in scenario files, and samplers that take an explicit RNG.

Each spec is a frozen pydantic model tagged by ``dist``; every uncertain field also accepts a
plain number (a fixed value). Specs know their support (for range checks in the schema) and
their mean (for the policy's expected-yield arithmetic). Sampling never touches global state.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

#: z-score of the 90th percentile of a standard normal, used to turn (median, P90) into sigma.
Z_P90 = NormalDist().inv_cdf(0.9)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take (may be infinite)."""
        raise NotImplementedError

    def mean(self) -> float:
        """Expected value of a draw."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> float:
        """One draw using the caller's generator."""
        raise NotImplementedError

    def ppf(self, u: float) -> float:
        """The value at cumulative probability ``u`` (0..1): the exact inverse of the CDF.

        ``ppf`` of a uniform ``u`` has exactly this distribution, which is how correlated draws
        (a copula) keep every field's distribution as written.
        """
        raise NotImplementedError


class Fixed(_Spec):
    """A known number: always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: float = Field(description="The value every draw returns.", allow_inf_nan=False)

    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator) -> float:
        return self.value

    def ppf(self, u: float) -> float:
        return self.value


class Uniform(_Spec):
    """Every value between min and max equally likely."""

    dist: Literal["uniform"]
    min: float = Field(description="Lower bound.", allow_inf_nan=False)
    max: float = Field(description="Upper bound (>= min).", allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.max < self.min:
            raise ValueError(f"max ({self.max:g}) is below min ({self.min:g}); expected min <= max")
        return self

    def support(self) -> tuple[float, float]:
        return (self.min, self.max)

    def mean(self) -> float:
        return (self.min + self.max) / 2

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.min, self.max))

    def ppf(self, u: float) -> float:
        return self.min + (self.max - self.min) * _unit(u)


class _ThreePoint(_Spec):
    min: float = Field(description="Smallest possible value.", allow_inf_nan=False)
    mode: float = Field(description="Most likely value (min <= mode <= max).", allow_inf_nan=False)
    max: float = Field(description="Largest possible value.", allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> _ThreePoint:
        if not self.min <= self.mode <= self.max:
            raise ValueError(
                f"mode ({self.mode:g}) is outside min..max ({self.min:g}..{self.max:g}); "
                "expected min <= mode <= max"
            )
        return self

    def support(self) -> tuple[float, float]:
        return (self.min, self.max)


class Triangular(_ThreePoint):
    """Triangle from min to max peaking at mode."""

    dist: Literal["triangular"]

    def mean(self) -> float:
        return (self.min + self.mode + self.max) / 3

    def sample(self, rng: np.random.Generator) -> float:
        if self.min == self.max:
            return self.min
        return float(rng.triangular(self.min, self.mode, self.max))

    def ppf(self, u: float) -> float:
        u = _unit(u)
        span = self.max - self.min
        if span == 0:
            return self.min
        left = (self.mode - self.min) / span  # the CDF at the mode
        if u <= left:
            return self.min + math.sqrt(u * span * (self.mode - self.min))
        return self.max - math.sqrt((1 - u) * span * (self.max - self.mode))


class Pert(_ThreePoint):
    """Beta-PERT: a smooth three-point estimate, the project-scheduling standard."""

    dist: Literal["pert"]

    def _shape(self) -> tuple[float, float]:
        span = self.max - self.min
        return (1 + 4 * (self.mode - self.min) / span, 1 + 4 * (self.max - self.mode) / span)

    def mean(self) -> float:
        return (self.min + 4 * self.mode + self.max) / 6

    def sample(self, rng: np.random.Generator) -> float:
        if self.min == self.max:
            return self.min
        alpha, beta = self._shape()
        return self.min + (self.max - self.min) * float(rng.beta(alpha, beta))

    def ppf(self, u: float) -> float:
        if self.min == self.max:
            return self.min
        from scipy.special import betaincinv  # type: ignore[import-untyped]

        alpha, beta = self._shape()
        share = float(betaincinv(alpha, beta, _unit(u)))
        if math.isnan(share):  # u within ~1e-300 of 0 or 1: the quantile is the bound itself
            share = 0.0 if u < 0.5 else 1.0
        return self.min + (self.max - self.min) * share


class Normal(_Spec):
    """Normal with mean and standard deviation, truncated to [min, max] when bounds are given."""

    dist: Literal["normal"]
    mean_: float = Field(alias="mean", description="Mean before truncation.", allow_inf_nan=False)
    sd: float = Field(
        ge=0, description="Standard deviation before truncation.", allow_inf_nan=False
    )
    min: float = Field(default=-math.inf, description="Lower truncation bound.")
    max: float = Field(default=math.inf, description="Upper truncation bound.")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _bounds(self) -> Normal:
        if math.isnan(self.min) or math.isnan(self.max):
            raise ValueError("min and max must be numbers or -.inf/.inf, not NaN")
        if self.max <= self.min:
            raise ValueError(f"max ({self.max:g}) must exceed min ({self.min:g})")
        if self.sd > 0:
            lo, hi = self._cdf_bounds()
            if hi - lo < 1e-9:
                raise ValueError(
                    "min..max excludes almost all of the distribution; "
                    "expected bounds within a few sd of the mean"
                )
        elif not self.min <= self.mean_ <= self.max:
            raise ValueError("with sd 0 the mean must lie within min..max")
        return self

    def _cdf_bounds(self) -> tuple[float, float]:
        base = NormalDist(self.mean_, self.sd)
        lo = base.cdf(self.min) if math.isfinite(self.min) else 0.0
        hi = base.cdf(self.max) if math.isfinite(self.max) else 1.0
        return lo, hi

    def support(self) -> tuple[float, float]:
        if self.sd == 0:
            return (self.mean_, self.mean_)
        return (self.min, self.max)

    def mean(self) -> float:
        if self.sd == 0:
            return self.mean_
        base = NormalDist()
        a = (self.min - self.mean_) / self.sd
        b = (self.max - self.mean_) / self.sd
        pa = base.pdf(a) if math.isfinite(a) else 0.0
        pb = base.pdf(b) if math.isfinite(b) else 0.0
        mass = base.cdf(b) - base.cdf(a)
        return self.mean_ + self.sd * (pa - pb) / mass

    def sample(self, rng: np.random.Generator) -> float:
        if self.sd == 0:
            return self.mean_
        return self.ppf(float(rng.random()))

    def ppf(self, u: float) -> float:
        if self.sd == 0:
            return self.mean_
        lo, hi = self._cdf_bounds()
        u = lo + (hi - lo) * _unit(u)
        u = min(max(u, 1e-15), 1 - 1e-15)
        value = NormalDist(self.mean_, self.sd).inv_cdf(u)
        return min(max(value, self.min), self.max)


class LogNormal(_Spec):
    """Right-skewed positive quantity given the way analysts state it: median and P90."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0, description="50th percentile.", allow_inf_nan=False)
    p90: float = Field(gt=0, description="90th percentile (>= median).", allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> LogNormal:
        if self.p90 < self.median:
            raise ValueError(
                f"p90 ({self.p90:g}) is below median ({self.median:g}); expected p90 >= median"
            )
        return self

    def _sigma(self) -> float:
        return math.log(self.p90 / self.median) / Z_P90

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf) if self.p90 > self.median else (self.median, self.median)

    def mean(self) -> float:
        return self.median * math.exp(self._sigma() ** 2 / 2)

    def sample(self, rng: np.random.Generator) -> float:
        return float(self.median * math.exp(self._sigma() * rng.standard_normal()))

    def ppf(self, u: float) -> float:
        u = min(max(_unit(u), 1e-300), 1 - 1e-16)  # 0 and 1 map to the far ends, not an error
        return self.median * math.exp(self._sigma() * NormalDist().inv_cdf(u))


class Exponential(_Spec):
    """Memoryless waiting time given by its mean (the M in M/M/c)."""

    dist: Literal["exponential"]
    mean_: float = Field(alias="mean", gt=0, description="Mean of a draw.", allow_inf_nan=False)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.exponential(self.mean_))

    def ppf(self, u: float) -> float:
        u = _unit(u)
        return math.inf if u >= 1 else -self.mean_ * math.log1p(-u)


class Choice(_Spec):
    """One of a few discrete values, with weights (normalised; need not sum to 1)."""

    dist: Literal["choice"]
    values: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        min_length=1, max_length=10_000, description="Possible values."
    )
    weights: list[float] | None = Field(
        default=None, description="Relative weight of each value (default: equal)."
    )

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is None:
            return self
        if len(self.weights) != len(self.values):
            raise ValueError(
                f"{len(self.weights)} weights for {len(self.values)} values; expected one each"
            )
        total = sum(self.weights)
        if any(w < 0 or not math.isfinite(w) for w in self.weights) or not 0 < total < math.inf:
            raise ValueError("weights must be finite, >= 0, not all 0, and add up to a finite sum")
        return self

    def _probabilities(self) -> list[float]:
        if self.weights is None:
            return [1 / len(self.values)] * len(self.values)
        total = sum(self.weights)
        return [w / total for w in self.weights]

    def support(self) -> tuple[float, float]:
        return (min(self.values), max(self.values))

    def mean(self) -> float:
        return sum(v * p for v, p in zip(self.values, self._probabilities(), strict=True))

    def sample(self, rng: np.random.Generator) -> float:
        index = int(rng.choice(len(self.values), p=self._probabilities()))
        return self.values[index]

    def ppf(self, u: float) -> float:
        """The smallest value whose cumulative probability reaches ``u`` (values in order)."""
        ordered = sorted(zip(self.values, self._probabilities(), strict=True))
        return _discrete_ppf(ordered, _unit(u))


class Empirical(_Spec):
    """Resample observed values (e.g. past project durations), each equally likely."""

    dist: Literal["empirical"]
    samples: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        min_length=1, max_length=100_000, description="Observed values to resample."
    )

    def support(self) -> tuple[float, float]:
        return (min(self.samples), max(self.samples))

    def mean(self) -> float:
        return sum(self.samples) / len(self.samples)

    def sample(self, rng: np.random.Generator) -> float:
        return self.samples[int(rng.integers(len(self.samples)))]

    def ppf(self, u: float) -> float:
        """The ``u`` quantile of the observed values, each of weight 1/n (no interpolation)."""
        ordered = sorted(self.samples)
        return ordered[min(int(_unit(u) * len(ordered)), len(ordered) - 1)]


def _unit(u: float) -> float:
    """``u`` clipped to 0..1 (a probability)."""
    return min(max(u, 0.0), 1.0)


def _discrete_ppf(ordered: list[tuple[float, float]], u: float) -> float:
    """Inverse CDF of (value, probability) pairs sorted by value: first value with CDF >= u."""
    total = 0.0
    for value, probability in ordered:
        total += probability
        if u <= total and probability > 0:
            return value
    return next(value for value, probability in reversed(ordered) if probability > 0)


AnyDist = (
    Fixed | Uniform | Triangular | Pert | Normal | LogNormal | Exponential | Choice | Empirical
)
DIST_NAMES: tuple[str, ...] = tuple(
    str(get_args(member.model_fields["dist"].annotation)[0]) for member in get_args(AnyDist)
)
"""The ``dist`` tags, in the order of ``AnyDist`` (for messages listing the valid choices)."""


def _number_to_fixed(value: Any) -> Any:
    """Let a plain number stand for a fixed distribution; refuse text early with a clear message."""
    if isinstance(value, bool):
        raise ValueError("expected a number or a distribution, found true/false")
    if isinstance(value, int | float):
        return {"dist": "fixed", "value": value}
    if isinstance(value, str):
        raise ValueError(
            f"expected a number or a distribution such as {{dist: pert, min: 1, mode: 2, max: 4}},"
            f" found text {value!r}"
        )
    return value


Dist = Annotated[
    Annotated[AnyDist, Field(discriminator="dist")],
    BeforeValidator(_number_to_fixed, json_schema_input_type=float | AnyDist),
]
"""A field type: a plain number or any distribution spec, tagged by ``dist``."""


def _support_at_least(lower: float) -> Any:
    def check(spec: AnyDist) -> AnyDist:
        low, _ = spec.support()
        if low < lower:
            raise ValueError(f"can draw {low:g}, below the allowed minimum {lower:g}")
        return spec

    return check


def _support_within(lower: float, upper: float) -> Any:
    def check(spec: AnyDist) -> AnyDist:
        low, high = spec.support()
        if low < lower or high > upper:
            raise ValueError(
                f"can draw {low:g}..{high:g}; expected values within {lower:g}..{upper:g}"
            )
        return spec

    return check


NonNegativeDist = Annotated[Dist, AfterValidator(_support_at_least(0.0))]
"""A distribution that never draws below zero (durations, sizes, costs)."""

AtLeastOneDist = Annotated[Dist, AfterValidator(_support_at_least(1.0))]
"""A distribution that never draws below one (PUE, multipliers that cannot shrink)."""

FractionDist = Annotated[Dist, AfterValidator(_support_within(0.0, 1.0))]
"""A distribution whose draws are fractions in 0..1 (shares, probabilities)."""
