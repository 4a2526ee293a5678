"""Fitting a region's grid queue to real queue data: read a file, fit, write a grid fragment.

``readers`` turns a queue file (gridstatus, Berkeley Lab "Queued Up", or any CSV with a role
mapping) into one table of requests and the rows it had to leave out; ``censored`` holds the
survival estimators (Kaplan-Meier, cumulative incidence, censored Weibull and lognormal fits);
``estimate`` fits every figure of the model's grid section; ``fragment`` writes the result as
a ``regions.<id>.grid`` fragment with calibration targets, and as JSON.
"""
