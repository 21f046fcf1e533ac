"""The Mule 4 model (data/mule_models.toml) as plain Python tables for the Mule frontend."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files

_DATA = tomllib.loads(files("apexscan.salesforce.data").joinpath("mule_models.toml").read_text("utf-8"))

NS = {k: v for k, v in _DATA["namespaces"].items() if k != "source"}
CORE, EE, HTTP, SALESFORCE, BATCH, MCP, DOC = (NS[k] for k in ("core", "ee", "http", "salesforce", "batch", "mcp",
                                                                  "documentation"))

_CORE = _DATA["core"]
SEQUENTIAL = frozenset(_CORE["sequential"])
ROUTERS = frozenset(_CORE["routers"])
KEEP_PAYLOAD = frozenset(_CORE["keep_payload"])

HTTP_MODEL = _DATA["http"]
HTTP_DATA_CHILDREN = frozenset(HTTP_MODEL["data_children"])
DEFAULT_PORTS = {k.upper(): v for k, v in HTTP_MODEL["default_ports"].items()}

SF = _DATA["salesforce"]
SF_QUERY = frozenset(SF["query"])
SF_RETRIEVE = frozenset(SF["retrieve"])
SF_SEARCH = frozenset(SF["search"])
SF_LISTENER = re.compile(SF["listener"])
SF_CHANNEL_ATTRIBUTES = tuple(SF["channel_attributes"])
SF_OBJECT_LISTENER = re.compile(SF["object_listener"])
SF_OBJECT_ATTRIBUTE = SF["object_attribute"]
SF_IDENTITY_ATTRIBUTES = tuple(SF["identity_attributes"])
SF_USER_ATTRIBUTES = tuple(SF["user_attributes"])
SF_URL_ATTRIBUTES = tuple(SF["url_attributes"])

OUTBOUND_RECORD_PATH = tuple(p.lower() for p in _DATA["outbound_message"]["record_path"])
MCP_MODEL = _DATA["mcp"]


@dataclass(frozen=True, slots=True)
class Connector:
    name: str  # "ms-inference": how messages name it
    product: str
    namespaces: tuple[str, ...]
    configs: frozenset[str]
    provider_by: str  # "connection", "attribute", "model", "fixed"
    provider_attribute: str
    model_attributes: tuple[str, ...]
    model_attribute: str  # for provider_by "model": the operation's model API name
    model_default: str
    fixed_provider: str
    operation_path: str  # when the operation names the model: the path after the config's base URL
    local_operations: frozenset[str]  # operations that call no model


@dataclass(frozen=True, slots=True)
class Provider:
    connector: str
    names: tuple[str, ...]
    base: str  # may hold {attr} and {attr=default}
    base_attribute: str
    base_key: str
    path: str
    model: tuple[str, ...]


CONNECTORS = tuple(Connector(
    name=c["name"], product=c["product"], namespaces=tuple(c["namespaces"]), configs=frozenset(c["configs"]),
    provider_by=c["provider_by"], provider_attribute=c.get("provider_attribute", ""),
    model_attributes=tuple(c.get("model_attributes", ())), model_attribute=c.get("model_attribute", ""),
    model_default=c.get("model_default", ""), fixed_provider=c.get("fixed_provider", ""),
    operation_path=c.get("operation_path", ""), local_operations=frozenset(c.get("local_operations", ())))
    for c in _DATA["connectors"])
CONNECTOR_BY_NS = {ns: c for c in CONNECTORS for ns in c.namespaces}
PROVIDERS = tuple(Provider(
    connector=p["connector"], names=tuple(p["names"]), base=p["base"], base_attribute=p.get("base_attribute", ""),
    base_key=p.get("base_key", ""), path=p.get("path", ""), model=tuple(p.get("model", ())))
    for p in _DATA["providers"])
_PROVIDER_INDEX = {(p.connector, name.lower()): p for p in PROVIDERS for name in p.names}


def provider(connector: str, name: str) -> Provider | None:
    """The provider a connector's connection element or enum value names (case-insensitive)."""
    return _PROVIDER_INDEX.get((connector, name.lower()))


def providers_of(connector: str) -> tuple[Provider, ...]:
    return tuple(p for p in PROVIDERS if p.connector == connector)


_DW = _DATA["dataweave"]
DW_NO_FLOW = frozenset(_DW["no_flow"])
DW_IDENTITY = frozenset(_DW["identity"])
DW_ITERATE = frozenset(_DW["iterate"])
DW_SERIALIZE = frozenset(_DW["serialize"])

CLOUDHUB = _DATA["cloudhub"]
CLOUDHUB_DEPLOYMENTS = dict(CLOUDHUB["deployments"])
CLOUDHUB_CONTROL_PLANES = dict(CLOUDHUB["control_planes"])
CLOUDHUB_SHARED_SPACES = dict(CLOUDHUB["shared_spaces"])
CLOUDHUB_TARGET_PREFIX = CLOUDHUB["target_prefix"]


def cloudhub_region_code(target: str) -> str:
    """An AWS region code for a CloudHub region or CloudHub 2 target as written ("us-east-2",
    "Cloudhub-EU-Central-1", "US East (Ohio)"); "" when it names a private space or nothing known."""
    text = target.strip().lower()
    if text in CLOUDHUB_SHARED_SPACES:
        return CLOUDHUB_SHARED_SPACES[text]
    text = text.removeprefix(CLOUDHUB_TARGET_PREFIX)
    return text if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", text) else ""
