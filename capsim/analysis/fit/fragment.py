"""A queue fit written out: a ``regions.<id>.grid`` fragment with targets, and fit.json.

The fragment is YAML in the scenario's own schema, with comments saying where each figure came
from (file and SHA-256, filters, as-of month, requests used, fit date) and its 95% interval.
Its ``grid`` mapping pastes under ``regions.<id>``; its ``targets`` list joins the scenario's
``targets`` so that ``capsim check`` compares a run with the data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from capsim.analysis.fit.censored import Estimate, LognormalFit
from capsim.analysis.fit.estimate import QueueFit
from capsim.version import __version__

#: Study slots that never make a request wait: the fitted study months already hold the wait.
UNLIMITED_SLOTS = 10_000
MAX_INITIAL_REQUESTS = 10_000


def number(value: float) -> str:
    """A figure to four significant digits, written as a plain decimal YAML reads as a number."""
    if value == 0 or not math.isfinite(value):
        return "0"
    digits = max(0, 3 - math.floor(math.log10(abs(value))))
    text = f"{round(value, digits):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def interval(estimate: Estimate) -> str:
    """'95% CI a-b' for a comment."""
    return f"95% CI {number(estimate.lower)}-{number(estimate.upper)}"


def _lognormal(fit: LognormalFit) -> str:
    """A lognormal distribution in flow style."""
    return f"{{dist: lognormal, median: {number(fit.median.value)}, p90: {number(fit.p90.value)}}}"


def headroom_mw(fit: QueueFit) -> float:
    """Headroom that never binds: every MW the data requested, rounded up to a round figure."""
    total = float(fit.data.requests["mw"].sum())
    step = 10 ** max(0, math.floor(math.log10(max(total, 1.0))) - 1)
    return float(math.ceil(total / step) * step)


def provenance(fit: QueueFit, fitted_on: str) -> list[str]:
    """The comment lines naming the data behind the fit."""
    d = fit.data
    filters = ", ".join(d.filters) or "none"
    return [
        f"# Fitted by capsim {__version__} on {fitted_on} (capsim fit).",
        f"# File: {d.file} (sha256 {d.sha256})",
        f"# Format: {d.format}; filters (--where): {filters}; as of: {d.as_of} (data to its end)",
        f"# Requests: {fit.counts['requests']} used of {d.rows_selected} selected "
        f"({d.rows_read} rows read); {len(d.bad_rows)} rows left out (listed in fit.json)",
        f"# Outcomes by {d.as_of}: {fit.counts['withdrawn']} withdrawn, "
        f"{fit.counts['connected']} connected, {fit.counts['active']} active (censored).",
    ]


def fragment_yaml(fit: QueueFit, region: str, fitted_on: str) -> str:
    """The grid fragment and targets as commented YAML."""
    a = fit.arrivals
    rate = a.latest_per_year if a.trend else a.per_year
    trend = (
        f"trend {number(100 * a.growth_per_year.value)}%/yr ({interval(a.growth_per_year)}), "
        "rate at the as-of month"
        if a.trend
        else f"no trend (growth {number(100 * a.growth_per_year.value)}%/yr, "
        f"p={a.trend_p_value:.2f})"
    )
    w, e = fit.withdrawal_weibull, fit.withdrawal_exponential
    aic = f"AIC weibull {w.aic:.1f} vs constant {e.aic:.1f}"
    if fit.withdrawal_model == "weibull":
        withdrawal = (
            f"    withdrawal: {{model: weibull, shape: {number(w.shape.value)}, "
            f"scale_months: {number(w.scale_months.value)}}}\n"
            f"    # shape {interval(w.shape)}; scale {interval(w.scale_months)} months; {aic}"
        )
    else:
        withdrawal = (
            f"    withdrawal_per_year: {number(e.per_year.value)}  # {interval(e.per_year)}; {aic}"
        )
    works = (
        f"    works_months: {_lognormal(fit.works)}\n"
        f"    # agreement to connection: median {interval(fit.works.median)}, "
        f"P90 {interval(fit.works.p90)}"
        if fit.works is not None
        else "    works_months: 0  # no agreement dates: the study months run to connection"
    )
    ks_d, ks_p = fit.size_ks
    initial = min(fit.counts["active_before_agreement"], MAX_INITIAL_REQUESTS)
    lines = [
        f"# regions.{region}.grid fragment and calibration targets.",
        *provenance(fit, fitted_on),
        f"# Paste 'grid' under regions.{region} and the entries of 'targets' under the",
        "# scenario's targets (checked by capsim check).",
        "grid:",
        "  # Not in queue data: headroom that never binds (every MW requested), so the fitted",
        "  # durations, which already include every wait, are not lengthened. Set your own.",
        f"  headroom_mw: {number(headroom_mw(fit))}",
        "  queue:",
        "    mode: serial",
        f"    study_slots: {UNLIMITED_SLOTS}  # no extra waiting: the study months include it",
        f"    study_months: {_lognormal(fit.study)}",
        f"    # {fit.study_label}: median {interval(fit.study.median)}, "
        f"P90 {interval(fit.study.p90)}",
        works,
        "    withdrawal_per_year: 0  # our own requests: not in the data; set by policy",
        "  competitors:",
        f"    arrivals_per_year: {number(rate.value)}  # {interval(rate)}; {trend}",
        f"    initial_requests: {initial}  # active before agreement at the as-of month",
        f"    mw: {_lognormal(fit.size)}",
        f"    # median {interval(fit.size.median)} MW, P90 {interval(fit.size.p90)} MW; "
        f"KS D {ks_d:.3f} (p {ks_p:.2f})",
        withdrawal,
        "targets:",
        *_targets(fit, region),
    ]
    return "\n".join(lines) + "\n"


def _targets(fit: QueueFit, region: str) -> list[str]:
    """Targets for capsim check: the data's median times, each with its 95% interval as range."""
    d = fit.data
    source = f"capsim fit of {d.file} (sha256 {d.sha256[:12]}) as of {d.as_of}"
    found: list[tuple[str, str, Estimate, str]] = []
    if fit.to_connection_median is not None:
        found.append(
            (
                "connection",
                "request_to_connection_months",
                fit.to_connection_median,
                f"median filing to connection of {fit.counts['connected']} connected requests",
            )
        )
    if fit.to_agreement_median is not None:
        found.append(
            (
                "agreement",
                "request_to_study_end_months",
                fit.to_agreement_median,
                "median filing to interconnection agreement of the requests that reached it",
            )
        )
    lines: list[str] = []
    for suffix, metric, estimate, what in found:
        lines += [
            f"  - name: {region[:25]}_to_{suffix}",
            f"    metric: {metric}",
            f"    region: {region}",
            "    applicant: background",
            f"    min: {number(estimate.lower)}",
            f"    max: {number(estimate.upper)}",
            "    statistic: p50",
            f'    source: "{source}: {what}, 95% interval"',
        ]
    return lines or ["  []"]


def fit_json(fit: QueueFit, region: str, fitted_on: str) -> dict[str, Any]:
    """Every estimate with its interval, the AICs and the rows left out, for fit.json."""
    d = fit.data
    w, e = fit.withdrawal_weibull, fit.withdrawal_exponential
    payload: dict[str, Any] = _json_safe(
        {
            "capsim_version": __version__,
            "fitted_on": fitted_on,
            "region": region,
            "data": {
                "file": d.file,
                "sha256": d.sha256,
                "format": d.format,
                "columns": d.columns,
                "filters": d.filters,
                "as_of": d.as_of,
                "rows_read": d.rows_read,
                "rows_selected": d.rows_selected,
                "has_agreement_dates": d.has_agreement,
            },
            "counts": fit.counts,
            "arrivals": {
                "per_year": fit.arrivals.per_year.as_dict(),
                "growth_per_year": fit.arrivals.growth_per_year.as_dict(),
                "trend_p_value": fit.arrivals.trend_p_value,
                "trend": fit.arrivals.trend,
                "latest_per_year": fit.arrivals.latest_per_year.as_dict(),
                "years": fit.arrivals.years.to_dict(orient="list"),
            },
            "size_mw": {
                "median": fit.size.median.as_dict(),
                "p90": fit.size.p90.as_dict(),
                "ks_distance": fit.size_ks[0],
                "ks_p_value": fit.size_ks[1],
            },
            "withdrawal": {
                "chosen": fit.withdrawal_model,
                "weibull": {
                    "shape": w.shape.as_dict(),
                    "scale_months": w.scale_months.as_dict(),
                    "loglik": w.loglik,
                    "aic": w.aic,
                    "events": w.events,
                    "n": w.n,
                },
                "constant": {
                    "per_year": e.per_year.as_dict(),
                    "loglik": e.loglik,
                    "aic": e.aic,
                },
            },
            "study_months": {
                "measures": fit.study_label,
                "median": fit.study.median.as_dict(),
                "p90": fit.study.p90.as_dict(),
                "events": fit.study.events,
                "n": fit.study.n,
            },
            "works_months": None
            if fit.works is None
            else {
                "median": fit.works.median.as_dict(),
                "p90": fit.works.p90.as_dict(),
                "events": fit.works.events,
                "n": fit.works.n,
            },
            "targets": {
                "request_to_connection_months": _maybe(fit.to_connection_median),
                "request_to_agreement_months": _maybe(fit.to_agreement_median),
            },
            "bad_rows": [{"row": b.row, "reason": b.reason} for b in d.bad_rows],
        }
    )
    return payload


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (an open interval end) replaced by None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _maybe(estimate: Estimate | None) -> dict[str, float | str] | None:
    """An estimate as a dict, or None."""
    return None if estimate is None else estimate.as_dict()
