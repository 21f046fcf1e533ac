"""The LWC JavaScript model (data/lwc_models.toml) as plain Python tables for the frontend."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files

_DATA = tomllib.loads(files("apexscan.salesforce.data").joinpath("lwc_models.toml").read_text("utf-8"))


@dataclass(frozen=True, slots=True)
class SendCall:
    """A function that sends a request when called (`fetch(url, init)`)."""

    api: str
    url_arg: int
    data_arg: int


@dataclass(frozen=True, slots=True)
class RequestObject:
    """A class whose instances send what their methods are given (`new WebSocket(url).send(x)`)."""

    api: str
    constructor: str
    url_arg: int | None  # the constructor's URL argument
    url_method: str  # or the method that sets the URL ...
    url_method_arg: int  # ... and its URL argument
    send_method: str  # "" when constructing the object is the request itself


@dataclass(frozen=True, slots=True)
class Adapter:
    """A Lightning Data Service wire adapter that delivers record fields."""

    name: str
    field_keys: tuple[str, ...]
    wildcard_keys: tuple[str, ...]
    query_key: str
    shape: tuple[str, ...]  # outermost first; "{field}" and "{object}" are placeholders
    join: tuple[str, ...]  # between relationship segments of one field path


SEND_CALLS = {callee: SendCall(row["api"], row["url_arg"], row["data_arg"])
              for row in _DATA["send_calls"] for callee in row["callee"]}
REQUEST_OBJECTS = {row["constructor"]: RequestObject(
    row["api"], row["constructor"], row.get("url_arg"), row.get("url_method", ""),
    row.get("url_method_arg", 0), row.get("send_method", "")) for row in _DATA["request_objects"]}
ADAPTERS = {name: Adapter(name, tuple(row["field_keys"]), tuple(row["wildcard_keys"]),
                          row.get("query_key", ""), tuple(row["shape"]), tuple(row["join"]))
            for name, row in _DATA["adapters"].items()}
FIELD_READERS = {name: (tuple(row["shape"]), tuple(row["join"])) for name, row in _DATA["field_readers"].items()}
CALLBACKS = {name: (row["receives"], row["returns"]) for name, row in _DATA["callbacks"].items()}
SERIALIZER_CALLS = frozenset(_DATA["serializers"]["calls"])
SERIALIZER_METHODS = frozenset(_DATA["serializers"]["methods"])
MUTATORS = dict(_DATA["mutators"])
MUTATOR_CALLS = dict(_DATA["mutator_calls"])
NO_FLOW_CALLS = frozenset(_DATA["no_flow"]["calls"])
NO_FLOW_METHODS = frozenset(_DATA["no_flow"]["methods"])
NO_FLOW_PROPERTIES = frozenset(_DATA["no_flow"]["properties"])
NO_FLOW_OPERATORS = frozenset(_DATA["no_flow"]["operators"])


@dataclass(frozen=True, slots=True)
class AuraModel:
    """How Aura component JavaScript reaches its Apex controller and its attributes ([aura])."""

    component_get: str
    component_set: str
    action_prefix: str
    attribute_prefix: str
    set_params: str
    set_callback: str
    enqueue: frozenset[str]
    callback_wrappers: frozenset[str]
    helper_param: dict[str, int]  # file role ("controller", "renderer") -> index of the helper parameter
    no_flow_methods: frozenset[str]


AURA = AuraModel(
    _DATA["aura"]["component_get"], _DATA["aura"]["component_set"], _DATA["aura"]["action_prefix"],
    _DATA["aura"]["attribute_prefix"], _DATA["aura"]["set_params"], _DATA["aura"]["set_callback"],
    frozenset(_DATA["aura"]["enqueue"]), frozenset(_DATA["aura"]["callback_wrappers"]),
    dict(_DATA["aura"]["helper_param"]),
    frozenset(_DATA["aura"]["no_flow_methods"]))
