"""The JSON Schema of scenario files, for editors that validate and complete YAML as you type."""

from __future__ import annotations

from typing import Any

from capsim.scenario.schema import Scenario


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of a scenario file: the schema's input form plus the ``extends`` key."""
    schema = Scenario.model_json_schema(mode="validation", by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["properties"]["extends"] = {
        "type": "string",
        "pattern": r"\.([yY][aA][mM][lL]|[yY][mM][lL])$",
        "description": "Path of a base scenario file (.yaml or .yml) this file inherits from "
        "(deep-merged).",
    }
    return schema
