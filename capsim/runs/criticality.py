"""Criticality: which causes held the megawatts back, weighted by the MW they held.

Every powered deal's months from launch to first power are split by cause along its critical
path (``model.delays``). Weighting each deal's months by its MW says which constraint cost the
portfolio most megawatt-months of waiting, per region and for the portfolio.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from capsim.runs.milestones import PORTFOLIO

DELAY_PREFIX, DELAY_SUFFIX = "delay_", "_months"


def delay_column(cause: str) -> str:
    """The deals-table column of a delay cause, e.g. ``delay_study_wait_months``."""
    return f"{DELAY_PREFIX}{cause}{DELAY_SUFFIX}"


def delay_causes_in(columns: Iterable[str]) -> list[str]:
    """The delay causes that a deals table with these columns has columns for, in order."""
    return [
        str(c).removeprefix(DELAY_PREFIX).removesuffix(DELAY_SUFFIX)
        for c in columns
        if str(c).startswith(DELAY_PREFIX) and str(c).endswith(DELAY_SUFFIX)
    ]


def delay_shares(deals: pd.DataFrame) -> dict[str, Any]:
    """Per scope: powered deals, their MW, and per cause the MW-weighted share and months.

    ``share`` of a cause is its MW-months of delay over all MW-months of delay (they add to 1);
    ``months_per_mw`` is its months of delay averaged over the powered MW.
    """
    causes = delay_causes_in(deals.columns)
    powered = deals[deals["first_power"].notna()]
    scopes: list[tuple[str, pd.DataFrame]] = [(PORTFOLIO, powered)]
    scopes += [(str(r), g) for r, g in powered.groupby("region", sort=True)]
    out: dict[str, Any] = {}
    for scope, group in scopes:
        mw = group["mw"].to_numpy(dtype=float)
        weighted = {c: float((group[delay_column(c)] * mw).sum()) for c in causes}
        total = sum(weighted.values())
        mw_total = float(mw.sum())
        out[scope] = {
            "powered_deals": len(group),
            "powered_mw": mw_total,
            "causes": {
                c: {
                    "share": w / total if total > 0 else 0.0,
                    "months_per_mw": w / mw_total if mw_total > 0 else 0.0,
                }
                for c, w in weighted.items()
            },
        }
    return out


def top_causes(shares: dict[str, Any], scope: str, count: int = 3) -> list[tuple[str, float]]:
    """The ``count`` causes with the largest share in ``scope``: (cause, share), largest first."""
    causes = shares.get(scope, {}).get("causes", {})
    ranked = sorted(causes.items(), key=lambda item: -item[1]["share"])
    return [(c, float(v["share"])) for c, v in ranked[:count] if v["share"] > 0]
