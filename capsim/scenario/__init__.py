"""Scenario files in.

The schema, distributions, YAML reading with positions, the loader, cross-field checks, the
JSON Schema and the field reference.
"""
