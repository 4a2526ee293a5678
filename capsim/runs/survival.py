"""Time to power with competing outcomes: the Aalen-Johansen cumulative incidence.

A launched deal ends in one of three ways by the horizon: it gets power (the event of interest),
it dies without power (lost at a stage, stranded by a withdrawn grid request: a competing
outcome, after which power can never come), or it is still live (censored at the horizon). The
cumulative incidence of power at month t is the share of launched deals powered within t months
of launch, with censoring accounted for; its plateau is the share that ever gets power. Ignoring
deaths (a plain Kaplan-Meier on power) would overstate it, and counting only powered deals (the
old "months to first power") understates the wait.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: Outcome codes of a deal: censored (still live at the horizon), powered, died without power.
CENSORED, POWERED, DIED = 0, 1, 2


def deal_outcomes(deals: pd.DataFrame, horizon_months: float) -> tuple[np.ndarray, np.ndarray]:
    """Months since launch to each deal's outcome, and the outcome code (deals table rows)."""
    launched = deals["launched"].to_numpy(dtype=float)
    first_power = deals["first_power"].to_numpy(dtype=float)
    ended = deals["ended_month"].to_numpy(dtype=float)
    outcome = np.where(~np.isnan(first_power), POWERED, np.where(~np.isnan(ended), DIED, CENSORED))
    end = np.where(
        outcome == POWERED, first_power, np.where(outcome == DIED, ended, horizon_months)
    )
    return end - launched, outcome


def cumulative_incidence(months: np.ndarray, outcome: np.ndarray) -> pd.DataFrame:
    """Aalen-Johansen estimate at each distinct outcome time.

    Columns: ``months``, ``at_risk`` (deals with no outcome before that time), ``powered``,
    ``died`` and ``censored`` at that time, ``survival`` (no outcome yet, just after it),
    ``power_incidence`` and ``death_incidence`` (cumulative, just after it). At tied times
    events count before censorings, as usual.
    """
    columns = [
        "months",
        "at_risk",
        "powered",
        "died",
        "censored",
        "survival",
        "power_incidence",
        "death_incidence",
    ]
    if len(months) == 0:
        return pd.DataFrame(columns=columns)
    times, inverse = np.unique(months, return_inverse=True)
    counts = np.zeros((len(times), 3))
    np.add.at(counts, (inverse, outcome), 1.0)
    censored, powered, died = counts[:, CENSORED], counts[:, POWERED], counts[:, DIED]
    leaving = counts.sum(axis=1)
    at_risk = len(months) - np.concatenate(([0.0], np.cumsum(leaving)[:-1]))
    hazard = (powered + died) / at_risk
    survival_after = np.cumprod(1.0 - hazard)
    survival_before = np.concatenate(([1.0], survival_after[:-1]))
    power_incidence = np.cumsum(survival_before * powered / at_risk)
    death_incidence = np.cumsum(survival_before * died / at_risk)
    return pd.DataFrame(
        {
            "months": times,
            "at_risk": at_risk,
            "powered": powered,
            "died": died,
            "censored": censored,
            "survival": survival_after,
            "power_incidence": power_incidence,
            "death_incidence": death_incidence,
        },
        columns=columns,
    )


def months_to_incidence(curve: pd.DataFrame, level: float) -> float | None:
    """First outcome time at which the power incidence reaches ``level`` (None if never)."""
    reached = curve.loc[curve["power_incidence"] >= level - 1e-12, "months"]
    return float(reached.iloc[0]) if len(reached) else None


def time_to_power_row(deals: pd.DataFrame, horizon_months: float) -> dict[str, Any]:
    """summary.json's entry of one scope: launched, raw shares, incidence plateau and median."""
    months, outcome = deal_outcomes(deals, horizon_months)
    curve = cumulative_incidence(months, outcome)
    launched = len(months)
    return {
        "launched": launched,
        "powered_share": float((outcome == POWERED).mean()) if launched else math.nan,
        "died_share": float((outcome == DIED).mean()) if launched else math.nan,
        "live_share": float((outcome == CENSORED).mean()) if launched else math.nan,
        "power_incidence_at_horizon": float(curve["power_incidence"].iloc[-1])
        if launched
        else math.nan,
        "months_to_50pct_powered": months_to_incidence(curve, 0.5) if launched else None,
    }
