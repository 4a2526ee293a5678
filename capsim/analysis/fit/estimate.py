"""Every figure of a region's grid section fitted from queue data, censoring done right.

Times run from each request's filing. A request still active at the as-of month is censored
there. Withdrawal and progress compete: withdrawal is an event only if it came before the
interconnection agreement (or, without agreement dates, before connection), and a request that
reached agreement first is censored at it, as the model stops a request's withdrawal hazard
when its connection works start. The time to agreement is likewise censored at a withdrawal,
and the works (agreement to connection) at the as-of month.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from scipy import stats  # type: ignore[import-untyped]

from capsim.analysis.fit.censored import (
    ArrivalFit,
    Estimate,
    ExponentialFit,
    LognormalFit,
    WeibullFit,
    fit_arrivals,
    fit_exponential,
    fit_lognormal,
    fit_weibull,
    kolmogorov_smirnov,
)
from capsim.analysis.fit.readers import QueueData

T = TypeVar("T")
#: Mean days in a month: the month unit of every duration.
DAYS_PER_MONTH = 30.4375
_EPOCH = pd.Timestamp("1900-01-01")
#: Final outcomes coded for the cumulative incidence: censored, withdrawn, connected.
CENSORED, WITHDRAWN, CONNECTED = 0, 1, 2


def to_months(dates: pd.Series) -> np.ndarray:
    """Dates as months since 1900-01-01 (NaN where NaT), the scale every duration is read on."""
    days = (pd.to_datetime(dates) - _EPOCH).dt.total_seconds() / 86_400.0
    return np.asarray(days / DAYS_PER_MONTH, dtype=float)


@dataclass(frozen=True)
class Durations:
    """Each request's times (months) and whether each was seen or censored."""

    withdraw_months: np.ndarray
    withdraw_event: np.ndarray
    study_months: np.ndarray
    study_event: np.ndarray
    works_months: np.ndarray
    works_event: np.ndarray
    outcome_months: np.ndarray
    outcome_cause: np.ndarray


@dataclass(frozen=True)
class QueueFit:
    """A queue file fitted: arrivals, sizes, withdrawal (two models), study and works months."""

    data: QueueData
    arrivals: ArrivalFit
    size: LognormalFit
    size_ks: tuple[float, float]
    withdrawal_weibull: WeibullFit
    withdrawal_exponential: ExponentialFit
    study: LognormalFit
    works: LognormalFit | None
    durations: Durations
    counts: dict[str, int]
    to_connection_median: Estimate | None
    to_agreement_median: Estimate | None

    @property
    def withdrawal_model(self) -> str:
        """'weibull' or 'exponential': the lower AIC (Weibull only if it is lower)."""
        better = self.withdrawal_weibull.aic < self.withdrawal_exponential.aic
        return "weibull" if better else "exponential"

    @property
    def study_label(self) -> str:
        """What the study months measure in these data."""
        if self.works is None:
            return "filing to connection (no agreement dates)"
        return "filing to interconnection agreement"


def durations(data: QueueData) -> Durations:
    """Times from filing to each outcome, censored as the module says."""
    r = data.requests
    filed = to_months(r["filed"])
    withdrawn = to_months(r["withdrawn"])
    connected = to_months(r["connected"])
    agreement = to_months(r["agreement"])
    end = float(to_months(pd.Series([data.as_of_end]))[0])
    has_ia = data.has_agreement
    progress = agreement if has_ia else connected
    # Connected without an agreement date: agreement came earlier but when is unknown.
    progress = np.where(has_ia & np.isnan(agreement) & ~np.isnan(connected), filed, progress)
    w_end = np.fmin(np.fmin(withdrawn, progress), end)
    w_event = ~np.isnan(withdrawn) & ~(progress <= withdrawn)
    s_end = np.fmin(np.fmin(progress, withdrawn), end)
    s_event = ~np.isnan(progress) & ~(withdrawn < progress)
    if has_ia:
        keep = ~(np.isnan(agreement) & ~np.isnan(connected))
        s_event = s_event & keep
        s_end = np.where(keep, s_end, np.nan)
    k_start = agreement if has_ia else np.full_like(filed, np.nan)
    k_end = np.fmin(np.fmin(connected, withdrawn), end) - k_start
    k_event = ~np.isnan(connected) & ~np.isnan(k_start)
    outcome_end = np.fmin(np.fmin(withdrawn, connected), end)
    cause = np.where(
        ~np.isnan(withdrawn), WITHDRAWN, np.where(~np.isnan(connected), CONNECTED, CENSORED)
    )
    return Durations(
        withdraw_months=w_end - filed,
        withdraw_event=w_event,
        study_months=s_end - filed,
        study_event=s_event,
        works_months=k_end,
        works_event=k_event,
        outcome_months=outcome_end - filed,
        outcome_cause=cause,
    )


def median_interval(values: np.ndarray, unit: str) -> Estimate | None:
    """Sample median with its distribution-free 95% interval (binomial order statistics)."""
    v = np.sort(np.asarray(values, dtype=float))
    n = v.size
    if n < 3:
        return None
    low = int(stats.binom.ppf(0.025, n, 0.5))
    high = int(stats.binom.isf(0.025, n, 0.5))
    return Estimate(
        float(np.median(v)), float(v[max(low - 1, 0)]), float(v[min(high, n - 1)]), unit
    )


def fit_queue(data: QueueData) -> QueueFit:
    """Fit every figure; a ValueError says which figure the data cannot support and why."""
    r = data.requests
    if len(r) < 5:
        raise ValueError(f"only {len(r)} usable requests; a fit needs at least 5")
    times = durations(data)
    filed = to_months(r["filed"])
    end = float(to_months(pd.Series([data.as_of_end]))[0])
    arrivals = fit_arrivals(filed, float(filed.min()), end)
    mw = r["mw"].to_numpy(dtype=float)
    size = fit_lognormal(mw, np.ones(mw.size, dtype=bool), "MW")
    w_ok = ~np.isnan(times.withdraw_months)
    weibull = _named(
        "withdrawal", fit_weibull, times.withdraw_months[w_ok], times.withdraw_event[w_ok]
    )
    exponential = _named(
        "withdrawal", fit_exponential, times.withdraw_months[w_ok], times.withdraw_event[w_ok]
    )
    s_ok = ~np.isnan(times.study_months)
    study = _named(
        "time to agreement" if data.has_agreement else "time to connection",
        lambda t, e: fit_lognormal(t, e, "months"),
        times.study_months[s_ok],
        times.study_event[s_ok],
    )
    works = None
    k_ok = ~np.isnan(times.works_months)
    if data.has_agreement and times.works_event[k_ok].sum() >= 2:
        works = fit_lognormal(times.works_months[k_ok], times.works_event[k_ok], "months")
    cause = times.outcome_cause
    counts = {
        "requests": len(r),
        "withdrawn": int(np.sum(cause == WITHDRAWN)),
        "connected": int(np.sum(cause == CONNECTED)),
        "active": int(np.sum(cause == CENSORED)),
        "active_before_agreement": int(
            np.sum((cause == CENSORED) & r["agreement"].isna().to_numpy())
        ),
        "bad_rows": len(data.bad_rows),
    }
    done = cause == CONNECTED
    to_agreement = None
    if data.has_agreement:
        reached = r["agreement"].notna().to_numpy()
        to_agreement = median_interval((to_months(r["agreement"]) - filed)[reached], "months")
    return QueueFit(
        data=data,
        arrivals=arrivals,
        size=size,
        size_ks=kolmogorov_smirnov(mw, size),
        withdrawal_weibull=weibull,
        withdrawal_exponential=exponential,
        study=study,
        works=works,
        durations=times,
        counts=counts,
        to_connection_median=median_interval(times.outcome_months[done], "months"),
        to_agreement_median=to_agreement,
    )


def _named(
    what: str, fit: Callable[[np.ndarray, np.ndarray], T], times: np.ndarray, events: np.ndarray
) -> T:
    """Run a fit, turning 'not enough events' into a ValueError that names the figure."""
    try:
        return fit(times, events)
    except ValueError as exc:
        raise ValueError(
            f"cannot fit the {what}: {exc} ({int(np.sum(events))} seen of {times.size})"
        ) from None


def naive_weibull(fit: QueueFit) -> WeibullFit:
    """The withdrawal fitted wrongly, on the withdrawn requests alone (censoring ignored).

    Kept to show in the report how far the censored fit moves the figures.
    """
    t = fit.durations.withdraw_months[fit.durations.withdraw_event]
    return fit_weibull(t, np.ones(t.size, dtype=bool))


def isfinite_estimate(estimate: Estimate) -> bool:
    """Whether an estimate and its interval are finite numbers."""
    return all(math.isfinite(x) for x in (estimate.value, estimate.lower, estimate.upper))
