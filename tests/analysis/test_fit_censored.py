"""The survival estimators against hand-worked answers, theory and their defining properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from capsim.analysis.fit.censored import (
    cumulative_incidence,
    fit_arrivals,
    fit_exponential,
    fit_lognormal,
    fit_weibull,
    kaplan_meier,
    poisson_rate,
)
from capsim.analysis.fit.estimate import median_interval


def test_kaplan_meier_matches_the_hand_worked_curve() -> None:
    """Times 1, 2, 2+, 3, 4+: survival 4/5, then x 3/4, then x 1/2 (two at risk at 3)."""
    curve = kaplan_meier(np.array([1, 2, 2, 3, 4.0]), np.array([1, 1, 0, 1, 0], dtype=bool))
    assert curve["months"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert curve["survival"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.3])
    assert curve["at_risk"].tolist() == [5.0, 5.0, 4.0, 2.0]


def test_cumulative_incidence_matches_the_hand_worked_curve() -> None:
    """Causes 1, 2, censored, 1 at months 1-4: 1/4; then 3/4 x 1/3; then the last at risk."""
    curve = cumulative_incidence(np.array([1, 2, 3, 4.0]), np.array([1, 2, 0, 1]))
    assert curve["cause_1"].tolist() == pytest.approx([0.0, 0.25, 0.25, 0.75])
    assert curve["cause_2"].tolist() == pytest.approx([0.0, 0.0, 0.25, 0.25])


def test_constant_hazard_is_events_over_exposure() -> None:
    """Three events in ten months of exposure: 0.3 per month, log-likelihood 3 ln 0.3 - 3."""
    fit = fit_exponential(np.array([1, 2, 3, 4.0]), np.array([1, 1, 1, 0], dtype=bool))
    assert fit.rate_per_month.value == pytest.approx(0.3)
    assert fit.loglik == pytest.approx(3 * math.log(0.3) - 3)
    assert fit.per_year.value == pytest.approx(3.6)
    assert fit.rate_per_month.lower < 0.3 < fit.rate_per_month.upper


def test_poisson_interval_is_the_exact_one() -> None:
    """Garwood's interval: 10 events in 2 years gives 5 a year in [2.40, 9.19]; none has 0 below."""
    rate = poisson_rate(10, 2.0, "per year")
    assert (rate.value, rate.lower, rate.upper) == pytest.approx((5.0, 2.3977, 9.1954), abs=1e-3)
    assert poisson_rate(0, 1.0, "per year").lower == 0.0


def test_uncensored_lognormal_is_the_mean_and_spread_of_the_logs() -> None:
    """Without censoring the MLE is the mean and (population) standard deviation of the logs."""
    values = np.array([3.0, 5.0, 8.0, 13.0, 21.0, 34.0])
    fit = fit_lognormal(values, np.ones(values.size, dtype=bool), "months")
    logs = np.log(values)
    assert fit.mu == pytest.approx(logs.mean(), abs=1e-5)
    assert fit.sigma == pytest.approx(logs.std(), rel=1e-4)
    assert fit.p90.value == pytest.approx(math.exp(fit.mu + stats.norm.ppf(0.9) * fit.sigma))


def test_uncensored_weibull_matches_scipy() -> None:
    """Without censoring the fit equals scipy's maximum likelihood (location fixed at zero)."""
    rng = np.random.default_rng(3)
    times = 20.0 * rng.weibull(1.7, 400)
    fit = fit_weibull(times, np.ones(times.size, dtype=bool))
    shape, _, scale = stats.weibull_min.fit(times, floc=0)
    assert fit.shape.value == pytest.approx(shape, rel=1e-3)
    assert fit.scale_months.value == pytest.approx(scale, rel=1e-3)


def test_censored_weibull_recovers_known_figures_under_heavy_censoring() -> None:
    """Half the times censored at random: the intervals still hold shape 0.8 and scale 40."""
    rng = np.random.default_rng(11)
    latent = 40.0 * rng.weibull(0.8, 3000)
    censor = rng.uniform(0, 60, 3000)
    fit = fit_weibull(np.minimum(latent, censor), latent <= censor)
    assert 0.3 < 1 - fit.events / fit.n < 0.7
    assert fit.shape.covers(0.8)
    assert fit.scale_months.covers(40.0)


def test_censored_lognormal_recovers_known_figures() -> None:
    """Lognormal months with a competing censoring time: median 12 and P90 30 recovered."""
    rng = np.random.default_rng(5)
    sigma = math.log(30 / 12) / stats.norm.ppf(0.9)
    latent = 12 * np.exp(sigma * rng.standard_normal(2000))
    censor = rng.exponential(25.0, 2000)
    fit = fit_lognormal(np.minimum(latent, censor), latent <= censor, "months")
    assert fit.median.covers(12.0)
    assert fit.p90.covers(30.0)


def test_arrivals_see_a_trend_only_when_there_is_one() -> None:
    """Filings doubling every two years show growth near 41%/yr; a flat rate shows none."""
    rng = np.random.default_rng(2)
    flat = np.sort(rng.uniform(0, 120, 600))
    assert not fit_arrivals(flat, 0.0, 120.0).trend
    years = np.arange(10)
    counts = (20 * 2 ** (years / 2)).astype(int)
    growing = np.concatenate(
        [12 * y + rng.uniform(0, 12, n) for y, n in zip(years, counts, strict=True)]
    )
    fit = fit_arrivals(growing, 0.0, 120.0)
    assert fit.trend
    assert fit.growth_per_year.covers(2**0.5 - 1)
    assert fit.latest_per_year.value > fit.per_year.value


def test_median_interval_brackets_the_sample_median() -> None:
    """The order-statistic interval of 1..99 holds 50 and is inside the data."""
    estimate = median_interval(np.arange(1, 100, dtype=float), "months")
    assert estimate is not None
    assert estimate.value == 50.0
    assert 1 <= estimate.lower < 50 < estimate.upper <= 99


@given(
    st.lists(
        st.tuples(st.floats(0.1, 100, allow_nan=False), st.booleans()), min_size=1, max_size=40
    )
)
def test_kaplan_meier_falls_from_one_and_stays_in_its_band(pairs: list[tuple[float, bool]]) -> None:
    """Survival starts at 1, never rises, and its band holds it; no censoring gives 1 - ECDF."""
    times = np.array([t for t, _ in pairs])
    events = np.array([e for _, e in pairs])
    curve = kaplan_meier(times, events)
    survival = curve["survival"].to_numpy()
    assert survival[0] == 1.0
    assert np.all(np.diff(survival) <= 1e-12)
    assert np.all(curve["lower"] <= survival + 1e-12)
    assert np.all(survival <= curve["upper"] + 1e-12)
    if events.all():
        ecdf = [np.mean(times > t) for t in curve["months"].iloc[1:]]
        assert survival[1:] == pytest.approx(ecdf)
