"""Cash paid between two month ends that is neither capex nor energy: queue fees and deposits.

Processes add to it as payments fall due; the month-end snapshot books what accumulated into
that month's timeseries row and starts again from zero.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Ledger:
    """Payments since the last month end, by category (USD; refunds are negative)."""

    #: Grid queue deposits and milestone payments of our requests, less deposit refunds.
    queue_fees_usd: float = 0.0
    #: Deposits on factory slots reserved ahead of need.
    reservation_usd: float = 0.0

    def drain(self) -> tuple[float, float]:
        """The month's (queue fees, reservation deposits), and start the next month at zero."""
        out = (self.queue_fees_usd, self.reservation_usd)
        self.queue_fees_usd = 0.0
        self.reservation_usd = 0.0
        return out
