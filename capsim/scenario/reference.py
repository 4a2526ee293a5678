"""The scenario reference: every field of a scenario file with its unit, default and choices.

Generated from the JSON Schema (itself generated from the pydantic models), so the reference
cannot drift from what the loader accepts; a test fails when ``docs/scenario_reference.md`` is
stale. Units are read from the field names, which carry them by convention (``_mw``,
``_months``, ``_usd_per_mwh``).
"""

from __future__ import annotations

from typing import Any

from capsim.scenario.json_schema import scenario_json_schema

#: Name endings and the unit they carry, longest first so that ``_usd_per_mwh`` beats ``_mwh``.
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_usd_per_mw_month", "USD per MW-month"),
    ("_usd_per_mwh", "USD/MWh"),
    ("_usd_per_mw", "USD/MW"),
    ("_usd_per_unit", "USD per unit"),
    ("_mw_per_year", "MW per year"),
    ("_mw_per_site", "MW"),
    ("_per_100mw", "units per 100 MW"),
    ("units_per_year", "units per year"),
    ("_per_year", "per year"),
    ("_it_mw", "IT MW"),
    ("_mw", "MW"),
    ("_months", "months"),
    ("_units", "units"),
    ("_usd", "USD"),
    ("share", "fraction 0-1"),
    ("success", "probability 0-1"),
    ("reserve_margin", "fraction"),
    ("annual_growth", "fraction per year"),
    ("discount_rate_per_year", "fraction per year"),
    ("pue", "ratio"),
)

_INTRO = """# Scenario reference

Every field a scenario file can hold, section by section: its type, unit, default (blank where
the field is required), allowed values and meaning. Generated from the schema by
`capsim schema --reference docs/scenario_reference.md`; a test fails when this page is stale.

A field whose type is *distribution* takes a number (a fixed value) or a mapping such as
`{dist: pert, min: 6, mode: 9, max: 15}`; see the *distributions* sections at the end.
"""


def unit_of(field: str) -> str:
    """The unit a field name carries by its ending, or '' when it names none."""
    for suffix, unit in _UNIT_SUFFIXES:
        if field.endswith(suffix):
            return unit
    return ""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type_of(spec: dict[str, Any]) -> str:
    """A short readable type: a section name, 'distribution', a list or map of something."""
    if "$ref" in spec:
        return _ref_name(spec["$ref"])
    if "anyOf" in spec or "oneOf" in spec:
        every = spec.get("anyOf", spec.get("oneOf", []))
        options = [o for o in every if o.get("type") != "null"]
        if sum("$ref" in o for o in options) > 2:
            return "distribution" if len(options) == len(every) else "distribution (optional)"
        kinds = " or ".join(sorted({_type_of(o) for o in options}))
        return f"{kinds} (optional)" if len(options) < len(every) else kinds
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(spec.get('items', {}))}"
    if kind == "object" and "additionalProperties" in spec:
        return f"map of {_type_of(spec['additionalProperties'])}"
    if kind == "object" and "patternProperties" in spec:
        (value,) = spec["patternProperties"].values()
        return f"map of {_type_of(value)}"
    return str(kind)


def _allowed(spec: dict[str, Any]) -> str:
    """Choices or bounds of a field, as text."""
    if "enum" in spec:
        return ", ".join(f"`{v}`" for v in spec["enum"])
    if "const" in spec:
        return f"`{spec['const']}`"
    parts = []
    for key, sign in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if key in spec:
            parts.append(f"{sign} {spec[key]:g}")
    if "minItems" in spec:
        parts.append(f"at least {spec['minItems']} items")
    if "maxItems" in spec:
        parts.append(f"at most {spec['maxItems']} items")
    if "pattern" in spec:
        parts.append(f"pattern `{spec['pattern']}`")
    for option in spec.get("anyOf", []):
        inner = _allowed(option)
        if inner:
            parts.append(inner)
    return "; ".join(parts)


def _default(spec: dict[str, Any], required: bool) -> str:
    if required:
        return ""
    if "default" not in spec:
        if "$ref" in spec:
            return "its fields' defaults"
        return "empty" if spec.get("type") in ("array", "object") else "none"
    value = spec["default"]
    if value == "":
        return "empty"
    if isinstance(value, dict | list):
        return "`" + str(value).replace("'", "") + "`" if value else "empty"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return "none" if value is None else f"`{value}`"


def _see(spec: dict[str, Any]) -> str:
    """For a field that is a whole section: where that section is described."""
    if "$ref" in spec:
        return f"See section {_ref_name(spec['$ref'])}."
    inner = spec.get("items") or next(iter(spec.get("patternProperties", {}).values()), None)
    if inner is None and isinstance(spec.get("additionalProperties"), dict):
        inner = spec["additionalProperties"]
    return _see(inner) if isinstance(inner, dict) else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _section(name: str, spec: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    if spec.get("description"):
        lines += [spec["description"].strip(), ""]
    properties: dict[str, Any] = spec.get("properties", {})
    if not properties:
        return []
    required = set(spec.get("required", []))
    lines += [
        "| field | type | unit | default | allowed | description |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for field, field_spec in properties.items():
        lines.append(
            "| "
            + " | ".join(
                _cell(text)
                for text in (
                    f"`{field}`",
                    _type_of(field_spec),
                    unit_of(field),
                    _default(field_spec, field in required),
                    _allowed(field_spec),
                    field_spec.get("description") or _see(field_spec),
                )
            )
            + " |"
        )
    return [*lines, ""]


def scenario_reference_markdown() -> str:
    """The whole reference page: the top level first, then each section in schema order."""
    schema = scenario_json_schema()
    lines = [_INTRO]
    lines += _section("Scenario (top level)", schema)
    for name, spec in schema.get("$defs", {}).items():
        lines += _section(name, spec)
    return "\n".join(lines).rstrip() + "\n"
