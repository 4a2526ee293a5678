"""Questions asked of runs.

Calibration targets, comparisons, sensitivity (with its sampling designs) and sweeps.
"""
