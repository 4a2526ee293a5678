"""Monte Carlo runs.

Executors (in-process, local pool, Dask), the runner, the run-directory store, output tables
and KPIs, and their aggregation. Draws nothing.
"""
