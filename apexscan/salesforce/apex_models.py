"""The Apex API model (data/apex_models.toml) as plain Python sets and dicts for the frontend."""
from __future__ import annotations

import re
import tomllib
from importlib.resources import files

_DATA = tomllib.loads(files("apexscan.salesforce.data").joinpath("apex_models.toml").read_text("utf-8"))

DYNAMIC_QUERY_APIS = frozenset(_DATA["dynamic_query"]["apis"])
SERIALIZERS = frozenset(_DATA["serializers"]["apis"])
SANITIZER_APIS = frozenset(_DATA["sanitizers"]["apis"])
MUTATORS = {k.rstrip("_"): v for k, v in _DATA["mutators"].items()}
NO_FLOW_METHODS = frozenset(_DATA["no_flow"]["methods"])
NO_FLOW_CLASSES = frozenset(_DATA["no_flow"]["classes"])
ASYNC_STARTERS = {k.lower(): v for k, v in _DATA["async_starters"].items()}
BATCH_STARTERS = frozenset(_DATA["batch"]["apis"])
LLM_BODY_KEYS = frozenset(_DATA["llm_body"]["keys"])
LLM_BODY_FIELDS = frozenset(_DATA["llm_body"]["class_fields"])
LLM_BODY_LITERAL = re.compile(_DATA["llm_body"]["literal"], re.IGNORECASE)
PLATFORM_NAMESPACES = frozenset(_DATA["platform"]["namespaces"])
NO_FLOW_OPERATORS = frozenset(_DATA["platform"]["no_flow_operators"])
CONFIG_OBJECTS = frozenset(_DATA["sources"]["config_objects"])
PARAMETER_SOURCES = {k.lower(): v for k, v in _DATA["sources"]["parameters"].items()}
MODELS_API_TYPES = frozenset(_DATA["models_api"]["types"])
MODELS_API_METHODS = frozenset(_DATA["models_api"]["methods"])
HTTP_SINKS = {k.lower(): v for k, v in _DATA["http_sinks"].items() if k != "source"}
CALL_SOURCES = {k.lower(): tuple(v.split(".", 1)) for k, v in _DATA["sources"]["calls"].items()}


def is_config_object(name: str) -> bool:
    """Custom metadata and schema/setup objects hold configuration, not client data."""
    lower = name.lower()
    return lower.endswith("__mdt") or lower in CONFIG_OBJECTS


def library_behaviour(static_type: str, name: str) -> str:
    """What a call's result carries when no project method matches: "tito" or "none"."""
    if name in NO_FLOW_METHODS or static_type in NO_FLOW_CLASSES:
        return "none"
    return "tito"
