"""The written fit: the fragment takes a trend's latest rate, fit.json is strict JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from capsim.analysis.fit.estimate import fit_queue
from capsim.analysis.fit.fragment import fit_json, fragment_yaml, number
from capsim.analysis.fit.readers import read_queue


def synthetic_queue(path: Path, years: int, doubling_years: float | None, seed: int) -> Path:
    """A made-up queue file (csv layout) from 2015: growing or flat filings, known outcomes."""
    rng = np.random.default_rng(seed)
    filed_months: list[float] = []
    for year in range(years):
        rate = 40 * (2 ** (year / doubling_years) if doubling_years else 1.0)
        filed_months += list(12 * year + rng.uniform(0, 12, rng.poisson(rate)))
    filed = np.sort(np.array(filed_months))
    withdraw = 30 * rng.weibull(1.4, filed.size)
    study = 12 * np.exp(0.5 * rng.standard_normal(filed.size))
    start = pd.Timestamp("2015-01-01")
    end_months = 12.0 * years
    day = pd.Timedelta(days=30.4375)
    rows = []
    for i, f in enumerate(filed):
        w, s = f + withdraw[i], f + study[i]
        rows.append(
            {
                "id": f"q{i}",
                "mw": float(np.exp(4 + rng.standard_normal())),
                "filed": (start + f * day).date(),
                "withdrawn": (start + w * day).date() if w < s and w < end_months else "",
                "agreement": (start + s * day).date() if s <= w and s < end_months else "",
            }
        )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


ROLES = {"id": "id", "mw": "mw", "filed": "filed", "withdrawn": "withdrawn"}


def test_a_growing_queue_shows_a_trend_and_the_fragment_takes_the_latest_rate(
    tmp_path: Path,
) -> None:
    """Filings doubling every three years: a trend, and arrivals_per_year is its end rate."""
    path = synthetic_queue(tmp_path / "q.csv", 9, 3.0, seed=4)
    data = read_queue(path, "csv", {**ROLES, "agreement": "agreement"}, as_of="2023-12")
    fit = fit_queue(data)
    assert fit.arrivals.trend
    assert fit.arrivals.growth_per_year.covers(2 ** (1 / 3) - 1)
    fragment = yaml.safe_load(fragment_yaml(fit, "r1", "2026-01-01"))
    rate = fragment["grid"]["competitors"]["arrivals_per_year"]
    assert rate == float(number(fit.arrivals.latest_per_year.value))
    assert rate > fit.arrivals.per_year.value


def test_fit_json_is_strict_json_when_an_interval_is_open(tmp_path: Path) -> None:
    """Two years give no trend interval: its open ends are null, never NaN or Infinity."""
    path = synthetic_queue(tmp_path / "q.csv", 2, None, seed=8)
    fit = fit_queue(read_queue(path, "csv", {**ROLES, "agreement": "agreement"}))
    text = json.dumps(fit_json(fit, "r1", "2026-01-01"), allow_nan=False)
    payload = json.loads(text)
    assert payload["arrivals"]["growth_per_year"]["lower"] is None
    assert payload["arrivals"]["trend"] is False
    assert math.isfinite(payload["withdrawal"]["weibull"]["aic"])
