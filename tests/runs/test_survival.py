"""Aalen-Johansen incidence of first power: a worked example; Kaplan-Meier without deaths."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capsim.runs.survival import (
    CENSORED,
    DIED,
    POWERED,
    cumulative_incidence,
    deal_outcomes,
    months_to_incidence,
    time_to_power_row,
)


def test_worked_example_with_ties_deaths_and_censoring() -> None:
    # Six deals. At 2: one powered and one died (6 at risk); at 3: one censored; at 4: one
    # powered and one censored (3 at risk; the event counts first); at 6: the last powered.
    # Power incidence: 1/6 at 2; + (4/6)(1/3) = 7/18 at 4; + (4/9)(1/1) = 15/18 at 6.
    months = np.array([2.0, 2.0, 3.0, 4.0, 4.0, 6.0])
    outcome = np.array([POWERED, DIED, CENSORED, POWERED, CENSORED, POWERED])
    curve = cumulative_incidence(months, outcome)
    assert curve["months"].tolist() == [2.0, 3.0, 4.0, 6.0]
    assert curve["at_risk"].tolist() == [6, 4, 3, 1]
    assert curve["power_incidence"].to_numpy() == pytest.approx([1 / 6, 1 / 6, 7 / 18, 15 / 18])
    assert curve["death_incidence"].to_numpy() == pytest.approx([1 / 6] * 4)
    assert curve["survival"].to_numpy() == pytest.approx([4 / 6, 4 / 6, 4 / 9, 0.0])
    assert months_to_incidence(curve, 0.5) == 6.0
    assert months_to_incidence(curve, 0.9) is None


def kaplan_meier_survival(months: np.ndarray, powered: np.ndarray) -> dict[float, float]:
    """Plain product-limit survival after each distinct time (the reference, written longhand)."""
    out: dict[float, float] = {}
    survival = 1.0
    for t in sorted(set(months.tolist())):
        at_risk = int((months >= t).sum())
        events = int(((months == t) & powered).sum())
        survival *= 1 - events / at_risk
        out[t] = survival
    return out


@given(
    st.lists(
        st.tuples(st.integers(0, 24), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_without_deaths_the_incidence_is_one_minus_kaplan_meier(
    deals: list[tuple[int, bool]],
) -> None:
    months = np.array([float(m) for m, _ in deals])
    powered = np.array([p for _, p in deals])
    curve = cumulative_incidence(months, np.where(powered, POWERED, CENSORED))
    reference = kaplan_meier_survival(months, powered)
    for t, incidence in zip(curve["months"], curve["power_incidence"], strict=True):
        assert incidence == pytest.approx(1 - reference[t], abs=1e-12)


@given(
    st.lists(
        st.tuples(st.integers(0, 24), st.sampled_from([CENSORED, POWERED, DIED])),
        min_size=1,
        max_size=60,
    )
)
def test_incidences_and_survival_add_up_to_one(deals: list[tuple[int, int]]) -> None:
    months = np.array([float(m) for m, _ in deals])
    outcome = np.array([o for _, o in deals])
    curve = cumulative_incidence(months, outcome)
    total = curve["power_incidence"] + curve["death_incidence"] + curve["survival"]
    assert np.allclose(total, 1.0)
    assert (np.diff(curve["power_incidence"]) >= -1e-15).all()


def test_deal_outcomes_read_power_death_and_the_horizon() -> None:
    deals = pd.DataFrame(
        {
            "launched": [1.0, 2.0, 3.0],
            "first_power": [13.0, math.nan, math.nan],
            "ended_month": [math.nan, 8.0, math.nan],
        }
    )
    months, outcome = deal_outcomes(deals, horizon_months=24.0)
    assert months.tolist() == [12.0, 6.0, 21.0]
    assert outcome.tolist() == [POWERED, DIED, CENSORED]
    row = time_to_power_row(deals, 24.0)
    assert row["launched"] == 3
    assert row["powered_share"] == pytest.approx(1 / 3)
    assert row["died_share"] == pytest.approx(1 / 3)
    assert row["power_incidence_at_horizon"] == pytest.approx(1 / 3)
    assert row["months_to_50pct_powered"] is None
