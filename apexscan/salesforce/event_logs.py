"""What apexscan knows about Event Monitoring logs: `data/event_log_types.toml`, loaded and validated.

Which event types exist, what role each plays (an outbound callout, an API read, a name table),
which column holds which meaning, which inventory channels the logs can show at all, and the
thresholds of the anomaly baseline. The file's header documents the format; `load_event_types`
rejects a malformed file with `EventTypesError` naming the row and the key (a packaging bug).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

EVENT_TYPES_FILE = "event_log_types.toml"
ROLES = ("callout", "api", "identity", "login")
MEANINGS = ("url", "request_bytes", "response_bytes", "success", "app_id", "app_name", "client_name", "user",
            "user_name", "client_ip", "entity", "operation", "rows", "bytes", "bytes_per_row", "job", "category",
            "description")
_ROW_KEYS = {"name", "role", "family", "source", "agent", "bytes_unit", "read_operations", "export", "required",
             *MEANINGS}


class EventTypesError(ValueError):
    """event_log_types.toml is malformed."""


@dataclass(frozen=True, slots=True)
class EventType:
    name: str  # the EVENT_TYPE value
    role: str  # one of ROLES
    family: str  # "REST", "Bulk 2.0" (api role); "" otherwise
    source: str  # documentation page of the columns
    columns: tuple[tuple[str, str], ...]  # (meaning, COLUMN), in MEANINGS order
    agent: tuple[str, ...]  # columns that name an agent when not empty
    bytes_unit: int
    read_operations: tuple[str, ...] | None  # None: every row reads records
    export: bool
    required: tuple[str, ...]  # meanings

    def column(self, meaning: str) -> str:
        """The column that holds `meaning`, or "" when this type has none."""
        return dict(self.columns).get(meaning, "")


@dataclass(frozen=True, slots=True)
class Anomaly:
    min_days: int  # shorter windows have no baseline
    robust_z: float
    min_ratio: float
    floor_share: float


@dataclass(frozen=True, slots=True)
class EventTypes:
    types: tuple[EventType, ...]
    event_type_column: str  # "EVENT_TYPE"
    derived_time: str  # "TIMESTAMP_DERIVED"
    compact_time: str  # "TIMESTAMP"
    compact_format: str
    logged_kinds: tuple[str, ...]  # inventory channel kinds whose traffic ApexCallout rows show
    not_logged: tuple[tuple[str, str], ...]  # (channel kind, why no event type shows it)
    anomaly: Anomaly

    def get(self, name: str) -> EventType | None:
        return next((t for t in self.types if t.name == name), None)


@cache
def load_event_types() -> EventTypes:
    text = files("apexscan.salesforce.data").joinpath(EVENT_TYPES_FILE).read_text(encoding="utf-8")
    return parse_event_types(text)


def parse_event_types(text: str) -> EventTypes:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise EventTypesError(f"{EVENT_TYPES_FILE}: {e}") from None
    stamps = _table(data, "timestamps")
    observability = _table(data, "observability")
    anomaly = _table(data, "anomaly")
    types = tuple(_type(row) for row in data.get("types", []))
    names = [t.name for t in types]
    if not types or len(set(names)) != len(names):
        raise EventTypesError(f"{EVENT_TYPES_FILE}: [[types]] must list each event type once")
    not_logged = observability.get("not_logged", {})
    try:
        return EventTypes(
            types=types,
            event_type_column=_str(stamps, "event_type", "timestamps"),
            derived_time=_str(stamps, "derived", "timestamps"),
            compact_time=_str(stamps, "compact", "timestamps"),
            compact_format=_str(stamps, "compact_format", "timestamps"),
            logged_kinds=tuple(_strs(observability, "logged", "observability")),
            not_logged=tuple(sorted((str(k), str(v)) for k, v in not_logged.items())),
            anomaly=Anomaly(int(anomaly["min_days"]), float(anomaly["robust_z"]), float(anomaly["min_ratio"]),
                            float(anomaly["floor_share"])),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise EventTypesError(f"{EVENT_TYPES_FILE}: [anomaly] or [observability]: {e}") from None


def _type(row: dict) -> EventType:
    name = row.get("name", "?")
    where = f"{EVENT_TYPES_FILE}: type {name}"
    unknown = sorted(set(row) - _ROW_KEYS)
    if unknown:
        raise EventTypesError(f"{where}: unknown keys {unknown}")
    if row.get("role") not in ROLES:
        raise EventTypesError(f"{where}: role must be one of {ROLES}")
    columns = tuple((m, row[m]) for m in MEANINGS if m in row)
    if not all(isinstance(c, str) and c.isupper() for _, c in columns):
        raise EventTypesError(f"{where}: columns must be upper-snake names")
    required = tuple(row.get("required", ()))
    missing = [m for m in required if m not in dict(columns)]
    if missing:
        raise EventTypesError(f"{where}: required meanings {missing} have no column")
    reads = row.get("read_operations")
    return EventType(name=str(name), role=row["role"], family=str(row.get("family", "")),
                     source=str(row.get("source", "")), columns=columns, agent=tuple(row.get("agent", ())),
                     bytes_unit=int(row.get("bytes_unit", 1)),
                     read_operations=None if reads is None else tuple(str(r) for r in reads),
                     export=bool(row.get("export", False)), required=required)


def _table(data: dict, name: str) -> dict:
    value = data.get(name)
    if not isinstance(value, dict):
        raise EventTypesError(f"{EVENT_TYPES_FILE}: [{name}] is missing")
    return value


def _str(table: dict, key: str, name: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise EventTypesError(f"{EVENT_TYPES_FILE}: [{name}] {key} must be a string")
    return value


def _strs(table: dict, key: str, name: str) -> list[str]:
    value = table.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EventTypesError(f"{EVENT_TYPES_FILE}: [{name}] {key} must be a list of strings")
    return value
