"""Survival estimators for right-censored queue times: nonparametric curves and parametric fits.

A request still active at the as-of month has waited at least until then: its time is censored,
not short. Leaving it out (or counting it as done) biases every duration down. Here the
Kaplan-Meier and Aalen-Johansen curves and the maximum-likelihood Weibull, exponential and
lognormal fits all take (time, event) pairs, where a False event means "known only to exceed".
Every estimate carries a 95% interval from the observed information (delta method on the log
scale, so intervals stay positive) or an exact Poisson interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats  # type: ignore[import-untyped]

#: Two-sided 95% normal quantile; P90 of a standard normal.
Z95 = float(stats.norm.ppf(0.975))
Z_P90 = float(stats.norm.ppf(0.9))
#: Durations shorter than a day are read as a day, so logs stay finite (months).
MIN_MONTHS = 1.0 / 30.4375


@dataclass(frozen=True)
class Estimate:
    """A fitted figure, its 95% interval and unit."""

    value: float
    lower: float
    upper: float
    unit: str

    def covers(self, truth: float) -> bool:
        """Whether the interval contains ``truth``."""
        return self.lower <= truth <= self.upper

    def as_dict(self) -> dict[str, float | str]:
        """``{value, lower, upper, unit}`` for JSON."""
        return {"value": self.value, "lower": self.lower, "upper": self.upper, "unit": self.unit}


def _log_normal_interval(value: float, log_se: float, unit: str) -> Estimate:
    """An estimate whose log is approximately normal with standard error ``log_se``."""
    spread = Z95 * log_se if math.isfinite(log_se) else math.inf
    return Estimate(value, value * math.exp(-spread), value * math.exp(spread), unit)


def _clean(times: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Times as floats of at least a day, events as booleans, checked for equal length."""
    t = np.maximum(np.asarray(times, dtype=float), MIN_MONTHS)
    e = np.asarray(events, dtype=bool)
    if t.shape != e.shape:
        raise ValueError("times and events differ in length")
    return t, e


def hessian(function: Callable[[np.ndarray], float], at: np.ndarray) -> np.ndarray:
    """Central finite-difference Hessian of ``function`` at ``at`` (steps scaled to each value)."""
    n = at.size
    steps = 1e-4 * np.maximum(1.0, np.abs(at))
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei = np.zeros(n)
            ej = np.zeros(n)
            ei[i] = steps[i]
            ej[j] = steps[j]
            value = (
                function(at + ei + ej)
                - function(at + ei - ej)
                - function(at - ei + ej)
                + function(at - ei - ej)
            ) / (4 * steps[i] * steps[j])
            out[i, j] = out[j, i] = value
    return out


def _minimise(
    negative_loglik: Callable[[np.ndarray], float], start: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """Parameters that minimise a negative log-likelihood, its minimum and their covariance."""
    found = optimize.minimize(
        negative_loglik,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 20_000},
    )
    polished = optimize.minimize(negative_loglik, found.x, method="BFGS")
    best = polished.x if polished.fun <= found.fun else found.x
    information = hessian(negative_loglik, best)
    try:
        covariance = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        covariance = np.full_like(information, np.inf)
    if not np.all(np.isfinite(covariance)) or np.any(np.diag(covariance) < 0):
        covariance = np.full_like(information, np.inf)
    return best, float(negative_loglik(best)), covariance


class _LikelihoodFit:
    """What every maximum-likelihood fit here shares: its Akaike criterion from its log-likelihood.

    ``PARAMETERS`` is how many parameters the fit estimates (two unless a fit says otherwise).
    """

    PARAMETERS: ClassVar[int] = 2
    loglik: float

    @property
    def aic(self) -> float:
        """Akaike information criterion: twice the parameters less twice the log-likelihood."""
        return 2.0 * self.PARAMETERS - 2.0 * self.loglik


@dataclass(frozen=True)
class WeibullFit(_LikelihoodFit):
    """Censored Weibull fit of time to an event: shape, scale (months), log-likelihood, AIC."""

    shape: Estimate
    scale_months: Estimate
    loglik: float
    events: int
    n: int

    def cdf(self, months: np.ndarray) -> np.ndarray:
        """Share that has had the event by ``months`` (no competing outcome)."""
        return 1.0 - np.exp(-((np.asarray(months) / self.scale_months.value) ** self.shape.value))


def fit_weibull(times: np.ndarray, events: np.ndarray) -> WeibullFit:
    """Maximum-likelihood Weibull on right-censored times; intervals on the log scale."""
    t, e = _clean(times, events)
    if e.sum() < 2:
        raise ValueError("a Weibull fit needs at least two events")
    log_t = np.log(t)

    def nll(theta: np.ndarray) -> float:
        log_k, log_lam = theta
        k = math.exp(log_k)
        z = log_t - log_lam
        return float(-(np.sum(e * (log_k + (k - 1.0) * z - log_lam)) - np.sum(np.exp(k * z))))

    start = np.array([0.0, float(np.log(np.sum(t) / e.sum()))])
    best, minimum, cov = _minimise(nll, start)
    return WeibullFit(
        shape=_log_normal_interval(math.exp(best[0]), math.sqrt(cov[0, 0]), "no unit"),
        scale_months=_log_normal_interval(math.exp(best[1]), math.sqrt(cov[1, 1]), "months"),
        loglik=-minimum,
        events=int(e.sum()),
        n=int(t.size),
    )


@dataclass(frozen=True)
class ExponentialFit(_LikelihoodFit):
    """Constant-hazard fit: rate per month with an exact interval, log-likelihood, AIC."""

    PARAMETERS: ClassVar[int] = 1

    rate_per_month: Estimate
    loglik: float
    events: int
    n: int

    @property
    def per_year(self) -> Estimate:
        """The hazard per year (the model's ``withdrawal_per_year``)."""
        r = self.rate_per_month
        return Estimate(12 * r.value, 12 * r.lower, 12 * r.upper, "per year")

    def cdf(self, months: np.ndarray) -> np.ndarray:
        """Share that has had the event by ``months``."""
        return 1.0 - np.exp(-self.rate_per_month.value * np.asarray(months))


def fit_exponential(times: np.ndarray, events: np.ndarray) -> ExponentialFit:
    """Constant hazard: events over exposure, with the exact (chi-square) Poisson interval."""
    t, e = _clean(times, events)
    exposure = float(t.sum())
    d = int(e.sum())
    if d == 0:
        raise ValueError("a constant-hazard fit needs at least one event")
    rate = d / exposure
    rate_est = poisson_rate(d, exposure, "per month")
    loglik = d * math.log(rate) - rate * exposure
    return ExponentialFit(
        Estimate(rate, rate_est.lower, rate_est.upper, "per month"), loglik, d, int(t.size)
    )


def poisson_rate(count: int, exposure: float, unit: str) -> Estimate:
    """A Poisson count over an exposure, with the exact (Garwood) 95% interval."""
    low = stats.chi2.ppf(0.025, 2 * count) / 2 if count > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * count + 2) / 2
    return Estimate(count / exposure, float(low) / exposure, float(high) / exposure, unit)


@dataclass(frozen=True)
class LognormalFit(_LikelihoodFit):
    """Lognormal fit (possibly censored): median and P90 with intervals, mu and sigma of the log."""

    median: Estimate
    p90: Estimate
    mu: float
    sigma: float
    loglik: float
    events: int
    n: int

    def cdf(self, values: np.ndarray) -> np.ndarray:
        """Share at or below ``values``."""
        v = np.maximum(np.asarray(values, dtype=float), 1e-300)
        return np.asarray(stats.norm.cdf((np.log(v) - self.mu) / self.sigma))


def fit_lognormal(times: np.ndarray, events: np.ndarray, unit: str) -> LognormalFit:
    """Maximum-likelihood lognormal on right-censored values; median and P90 by the delta method."""
    t, e = _clean(times, events)
    if e.sum() < 2:
        raise ValueError("a lognormal fit needs at least two observed values")
    y = np.log(t)

    def nll(theta: np.ndarray) -> float:
        mu, log_sigma = theta
        sigma = math.exp(log_sigma)
        z = (y - mu) / sigma
        observed = stats.norm.logpdf(z[e]) - log_sigma
        censored = stats.norm.logsf(z[~e])
        return float(-(observed.sum() + censored.sum()))

    start = np.array([float(y[e].mean()), math.log(max(float(y[e].std()), 1e-3))])
    if e.all():  # closed form: the mean and spread of the logs, information diag(n/s2, 2n)
        best, minimum = start, nll(start)
        cov = np.diag([math.exp(2 * start[1]) / y.size, 1.0 / (2 * y.size)])
    else:
        best, minimum, cov = _minimise(nll, start)
    mu, sigma = float(best[0]), math.exp(best[1])
    # log P90 = mu + z * exp(log sigma): gradient (1, z * sigma).
    grad = np.array([1.0, Z_P90 * sigma])
    p90_se = math.sqrt(max(float(grad @ cov @ grad), 0.0)) if np.all(np.isfinite(cov)) else math.inf
    return LognormalFit(
        median=_log_normal_interval(math.exp(mu), math.sqrt(cov[0, 0]), unit),
        p90=_log_normal_interval(math.exp(mu + Z_P90 * sigma), p90_se, unit),
        mu=mu,
        sigma=sigma,
        loglik=-minimum,
        events=int(e.sum()),
        n=int(t.size),
    )


def kolmogorov_smirnov(values: np.ndarray, fit: LognormalFit) -> tuple[float, float]:
    """KS distance between the values and a fitted lognormal, and its p-value.

    The parameters were fitted to the same values, so the p-value is conservative (too high).
    """
    result = stats.kstest(np.asarray(values, dtype=float), lambda v: fit.cdf(v))
    return float(result.statistic), float(result.pvalue)


def kaplan_meier(times: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier share still without the event, by time, with a log-log 95% band.

    Columns: ``months``, ``survival``, ``lower``, ``upper``, ``at_risk``; starts at 0 months.
    """
    t, e = _clean(times, events)
    t_sorted = np.sort(t)
    unique, counts = np.unique(t[e], return_counts=True)
    at_risk = (t.size - np.searchsorted(t_sorted, unique, side="left")).astype(float)
    deaths = counts.astype(float)
    survival = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(deaths / (at_risk * (at_risk - deaths)))
        log_s = np.log(survival)
        se = np.sqrt(greenwood) / np.abs(log_s)
        lower = survival ** np.exp(Z95 * se)
        upper = survival ** np.exp(-Z95 * se)
    lower = np.where(np.isfinite(lower), lower, 0.0)
    upper = np.where(np.isfinite(upper), upper, 1.0)
    return pd.DataFrame(
        {
            "months": np.concatenate([[0.0], unique]),
            "survival": np.concatenate([[1.0], survival]),
            "lower": np.concatenate([[1.0], lower]),
            "upper": np.concatenate([[1.0], upper]),
            "at_risk": np.concatenate([[float(t.size)], at_risk]),
        }
    )


def km_median(curve: pd.DataFrame) -> Estimate:
    """The median time of a Kaplan-Meier curve, with the interval read off its band."""

    def first_below(column: str) -> float:
        below = curve.loc[curve[column] <= 0.5, "months"]
        return float(below.iloc[0]) if not below.empty else math.inf

    return Estimate(first_below("survival"), first_below("lower"), first_below("upper"), "months")


def cumulative_incidence(times: np.ndarray, causes: np.ndarray) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of each cause (1, 2, ...; 0 = censored) by time.

    Columns: ``months`` and ``cause_<k>`` for every cause present; starts at 0 months.
    """
    t = np.maximum(np.asarray(times, dtype=float), MIN_MONTHS)
    c = np.asarray(causes, dtype=int)
    kinds = sorted(int(k) for k in np.unique(c) if k != 0)
    unique, all_events = np.unique(t[c != 0], return_counts=True)
    at_risk = (t.size - np.searchsorted(np.sort(t), unique, side="left")).astype(float)
    survival = np.cumprod(1.0 - all_events / at_risk)
    before = np.concatenate([[1.0], survival[:-1]])
    out = {"months": np.concatenate([[0.0], unique])}
    for k in kinds:
        times_k, counts_k = np.unique(t[c == k], return_counts=True)
        events_k = np.zeros(unique.size)
        events_k[np.searchsorted(unique, times_k)] = counts_k
        out[f"cause_{k}"] = np.concatenate([[0.0], np.cumsum(before * events_k / at_risk)])
    return pd.DataFrame(out)


@dataclass(frozen=True)
class ArrivalFit:
    """Requests filed per year: the mean rate, and a log-linear trend if the data show one."""

    per_year: Estimate
    growth_per_year: Estimate
    trend_p_value: float
    trend: bool
    latest_per_year: Estimate
    years: pd.DataFrame


def fit_arrivals(filed_months: np.ndarray, start_months: float, end_months: float) -> ArrivalFit:
    """Poisson arrivals between ``start_months`` and ``end_months`` (an absolute month scale).

    The rate counts every filing after the first (the first only marks where the window opens),
    with an exact interval. A log-linear Poisson regression of yearly counts (partial years
    weighted by their exposure) gives the growth per year; it counts as a trend when its 95%
    interval excludes zero, and then ``latest_per_year`` is the trend's rate at the end.
    """
    months = np.sort(np.asarray(filed_months, dtype=float))
    span = end_months - start_months
    if span <= 0 or months.size < 2:
        raise ValueError("arrivals need at least two filings over a positive span")
    rate = poisson_rate(months.size - 1, span / 12.0, "per year")
    edges = np.arange(start_months, end_months, 12.0)
    exposure = np.minimum(edges + 12.0, end_months) - edges
    counts = np.histogram(months, bins=[*edges, end_months])[0].astype(float)
    years = pd.DataFrame(
        {"start_months": edges, "exposure_years": exposure / 12.0, "requests": counts}
    )
    if edges.size < 3:
        flat = Estimate(0.0, -math.inf, math.inf, "fraction per year")
        return ArrivalFit(rate, flat, 1.0, False, rate, years)
    x = (edges + exposure / 2 - (start_months + end_months) / 2) / 12.0
    log_e = np.log(exposure / 12.0)

    def nll(theta: np.ndarray) -> float:
        eta = theta[0] + theta[1] * x + log_e
        return float(-(np.sum(counts * eta) - np.sum(np.exp(eta))))

    start = np.array([math.log(max(rate.value, 1e-6)), 0.0])
    best = optimize.minimize(nll, start, method="BFGS").x
    mu = np.exp(best[0] + best[1] * x + log_e)
    information = np.array([[mu.sum(), (mu * x).sum()], [(mu * x).sum(), (mu * x * x).sum()]])
    cov = np.linalg.inv(information)
    slope, slope_se = float(best[1]), math.sqrt(cov[1, 1])
    p_value = float(2 * stats.norm.sf(abs(slope / slope_se)))
    growth = Estimate(
        math.expm1(slope),
        math.expm1(slope - Z95 * slope_se),
        math.expm1(slope + Z95 * slope_se),
        "fraction per year",
    )
    trend = p_value < 0.05
    latest = rate
    if trend:
        x_end = (end_months - (start_months + end_months) / 2) / 12.0
        grad = np.array([1.0, x_end])
        log_rate = best[0] + best[1] * x_end
        latest = _log_normal_interval(
            math.exp(log_rate), math.sqrt(float(grad @ cov @ grad)), "per year"
        )
    return ArrivalFit(rate, growth, p_value, trend, latest, years)
