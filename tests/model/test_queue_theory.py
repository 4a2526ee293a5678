"""The grid queue against queueing theory: M/M/c waits (Erlang C), Little's law, cluster studies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from tiny import queue_only

from capsim.model.records import QueueRow
from capsim.model.world import simulate

ARRIVALS_PER_YEAR = 24.0  # lambda = 2 per month
STUDY_MEAN_MONTHS = 1.5  # mu = 2/3 per month
SLOTS = 4  # offered load a = 3 Erlangs, utilisation 0.75
WARMUP_MONTHS = 24
HORIZON_MONTHS = 240


def erlang_c_wait_months(arrivals_per_month: float, service_months: float, servers: int) -> float:
    """Mean wait in queue of an M/M/c system (Erlang C)."""
    a = arrivals_per_month * service_months
    top = a**servers / math.factorial(servers) * servers / (servers - a)
    bottom = sum(a**k / math.factorial(k) for k in range(servers)) + top
    return (top / bottom) / (servers / service_months - arrivals_per_month)


def _mmc_requests(replications: int) -> list[pd.DataFrame]:
    scenario = queue_only(
        **{
            "end": "2045-12",
            "regions.r1.grid.queue.study_slots": SLOTS,
            "regions.r1.grid.queue.study_months": {
                "dist": "exponential",
                "mean": STUDY_MEAN_MONTHS,
            },
            "regions.r1.grid.competitors.arrivals_per_year": ARRIVALS_PER_YEAR,
        }
    )
    assert scenario.horizon_months == HORIZON_MONTHS
    tables = []
    for rep in range(replications):
        rows = simulate(scenario, rep).recorder.queue
        tables.append(pd.DataFrame(rows, columns=QueueRow._fields))
    return tables


def test_erlang_c_formula_matches_a_textbook_value() -> None:
    # a = 3 Erlangs on 4 servers: C = 13.5 / 26.5, Wq = C / (4 * 2/3 - 2).
    assert math.isclose(erlang_c_wait_months(2.0, 1.5, 4), (13.5 / 26.5) / (2 / 3))


def test_serial_study_wait_matches_erlang_c_within_confidence_interval() -> None:
    waits = []
    for table in _mmc_requests(50):
        steady = table[
            (table["arrived"] >= WARMUP_MONTHS)
            & (table["arrived"] < HORIZON_MONTHS - WARMUP_MONTHS)
        ]
        assert steady["study_start"].notna().all()
        waits.append(float((steady["study_start"] - steady["arrived"]).mean()))
    mean = float(np.mean(waits))
    half_width = 3.0 * float(np.std(waits, ddof=1)) / math.sqrt(len(waits))
    theory = erlang_c_wait_months(ARRIVALS_PER_YEAR / 12, STUDY_MEAN_MONTHS, SLOTS)
    assert abs(mean - theory) <= half_width, (mean, theory, half_width)
    assert half_width < 0.25 * theory  # the check is sharp enough to catch a wrong model


def test_littles_law_holds_for_requests_waiting_for_a_study() -> None:
    window = (WARMUP_MONTHS, HORIZON_MONTHS - WARMUP_MONTHS)
    span = window[1] - window[0]
    for table in _mmc_requests(3):
        inside = table[(table["arrived"] >= window[0]) & (table["arrived"] < window[1])]
        arrival_rate = len(inside) / span
        mean_wait = float((inside["study_start"] - inside["arrived"]).mean())
        # Time-average number waiting, by integrating each request's waiting interval clipped
        # to the window.
        start = table["arrived"].clip(window[0], window[1])
        end = table["study_start"].fillna(HORIZON_MONTHS).clip(window[0], window[1])
        mean_number_waiting = float((end - start).sum()) / span
        # L and lambda*W differ only by the waits of requests that straddle the window's edges;
        # that bound is exact on every sample path, and it is small next to L.
        waits = table["study_start"].fillna(HORIZON_MONTHS) - table["arrived"]
        straddles = ((table["arrived"] < window[0]) & (table["arrived"] + waits > window[0])) | (
            (table["arrived"] < window[1]) & (table["arrived"] + waits > window[1])
        )
        edge = float(waits[straddles].sum()) / span
        assert abs(mean_number_waiting - arrival_rate * mean_wait) <= edge + 1e-9
        assert edge < 0.15 * mean_number_waiting


def test_cluster_mode_studies_each_window_together() -> None:
    scenario = queue_only(
        **{
            "regions.r1.grid.queue.mode": "cluster",
            "regions.r1.grid.queue.cluster_window_months": 6,
            "regions.r1.grid.queue.study_months": 4,
            "regions.r1.grid.queue.study_slots": 1,
            "regions.r1.grid.competitors.arrivals_per_year": 10,
        }
    )
    table = pd.DataFrame(simulate(scenario, 0).recorder.queue, columns=QueueRow._fields)
    studied = table[table["study_end"].notna()].copy()
    studied["window"] = (studied["arrived"] // 6).astype(int)
    assert studied["window"].nunique() >= 3
    for window, group in studied.groupby("window"):
        assert group["study_start"].nunique() == 1
        assert group["study_end"].nunique() == 1
        start = float(group["study_start"].iloc[0])
        assert start >= 6 * (window + 1)
        assert float(group["study_end"].iloc[0]) - start == 4.0
    # With one study slot, clusters follow one another and never overlap.
    spans = studied.groupby("window")[["study_start", "study_end"]].first().sort_index()
    assert (spans["study_start"].to_numpy()[1:] >= spans["study_end"].to_numpy()[:-1]).all()


def test_withdrawal_hazard_removes_the_expected_share_of_requests() -> None:
    # With no study capacity to speak of (one slot, very long studies) a request withdraws
    # at rate h while waiting; over a wait of T months the share gone is 1 - exp(-h T/12).
    scenario = queue_only(
        **{
            "regions.r1.grid.queue.study_months": 1000,
            "regions.r1.grid.competitors.initial_requests": 2000,
            "regions.r1.grid.competitors.withdrawal_per_year": 0.5,
        }
    )
    table = pd.DataFrame(simulate(scenario, 0).recorder.queue, columns=QueueRow._fields)
    waiting = table.iloc[1:]  # the first request holds the only slot
    share = float(waiting["withdrawn"].notna().mean())
    expected = 1 - math.exp(-0.5 * 24 / 12)
    assert abs(share - expected) < 3 * math.sqrt(expected * (1 - expected) / len(waiting))
