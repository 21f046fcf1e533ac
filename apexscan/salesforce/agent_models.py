"""The Agentforce model (data/agent_models.toml) as plain values for the frontends."""
from __future__ import annotations

import tomllib
from importlib.resources import files

_DATA = tomllib.loads(files("apexscan.salesforce.data").joinpath("agent_models.toml").read_text("utf-8"))

PLANNER_MODEL: str = _DATA["planner"]["model"]
# invocation target type (lower-case) -> "apex" | "flow" | "template" | "agent"
TARGET_KINDS = {k.lower(): v for k, v in _DATA["invocation_targets"].items() if k != "source"}
RECORD_READING_ACTIONS = frozenset(a.lower() for a in _DATA["standard_actions"]["reads_records"])
