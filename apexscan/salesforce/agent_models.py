"""The Agentforce and Einstein model (data/agent_models.toml) as plain values."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files

_DATA = tomllib.loads(files("apexscan.salesforce.data").joinpath("agent_models.toml").read_text("utf-8"))

PLANNER_MODEL: str = _DATA["planner"]["model"]
# invocation target type (lower-case) -> "apex" | "flow" | "template" | "agent"
TARGET_KINDS = {k.lower(): v for k, v in _DATA["invocation_targets"].items() if k != "source"}
RECORD_READING_ACTIONS = frozenset(a.lower() for a in _DATA["standard_actions"]["reads_records"])



@dataclass(frozen=True, slots=True)
class EinsteinProvider:
    provider: str
    disable: str  # the EinsteinGptSettings element that turns it off ("true")
    enable: str  # the older element that turns it on ("true")
    fallback: bool  # region fallback (disableAIProviderRegionFallback) applies to its requests
    leaves_region: bool  # while on, some of its models are served outside the org's region anyway
    note: str


EINSTEIN_PLATFORM: str = _DATA["einstein"]["platform"]
EINSTEIN_REGION_FALLBACK: str = _DATA["einstein"]["region_fallback"]
EINSTEIN_FALLBACK_REGION: str = _DATA["einstein"]["fallback_region"]
EINSTEIN_PROVIDERS = tuple(EinsteinProvider(r["provider"], r["disable"], r["enable"], r["fallback"],
                                           r["leaves_region"], r["note"]) for r in _DATA["einstein_providers"])
EINSTEIN_PII_MASKING: str = _DATA["einstein_ai"]["pii_masking"]
