"""Tolerances for megawatt tallies, shared by every process that adds and subtracts MW."""

from __future__ import annotations

#: MW below which a tally or a gap counts as zero.
MW_EPS = 1e-6


def settle_mw(tally_mw: float) -> float:
    """A running MW tally after a subtraction, with float drift (e.g. -3e-14) set to zero."""
    return 0.0 if abs(tally_mw) < MW_EPS else tally_mw
