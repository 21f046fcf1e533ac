"""The service-code model (data/service_models.toml) as plain tables for the Python and Node frontends.

Everything a frontend needs to know about a library — which import makes an LLM client, where its
base URL comes from, which of its methods sends a request, which Salesforce client method reads
records — is a row there; this module only gives the rows shapes and indexes them by name.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files

_DATA = tomllib.loads(files("apexscan.salesforce.data").joinpath("service_models.toml").read_text("utf-8"))

Args = tuple[str, ...]  # where a value is written: keyword names and positions ("0"), tried in order


@dataclass(frozen=True, slots=True)
class Param:
    """A hole of a client's URL template and where its value comes from."""

    name: str
    args: Args  # the constructor's arguments
    parent: bool  # the value of the client a factory method is called on (a boto3 Session's region)
    global_name: str  # a library-wide setting ([[globals]]), before the environment
    env: tuple[str, ...]  # environment variables, first listed first
    default: str  # a template itself ("https://bedrock-runtime.{region}.amazonaws.com"); "" = none


@dataclass(frozen=True, slots=True)
class Variant:
    when: Args  # arguments whose presence (not False/None) selects this URL
    url: str


@dataclass(frozen=True, slots=True)
class Client:
    """A library class (or factory) whose instances send requests through their methods."""

    id: str
    provider: str  # shown in messages: "OpenAI SDK"
    url: str  # template of the client's base URL, holes "{param}"
    variants: tuple[Variant, ...]
    params: dict[str, Param]
    llm: bool  # False: a helper object (an AWS session) whose value feeds its clients
    select: tuple[Args, tuple[str, ...]]  # (argument, accepted literal values) for a factory; ((), ()) = none


@dataclass(frozen=True, slots=True)
class LlmCall:
    methods: tuple[str, ...]  # dotted after the client: "chat.completions.create"
    path: str  # template appended to the client's URL
    args: dict[str, Args]  # the path's holes
    fallback: bool  # a sink on any receiver


@dataclass(frozen=True, slots=True)
class Command:
    """An object built to be sent by a client (AWS SDK v3): its value is the request's path."""

    path: str
    args: dict[str, Args]


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    url: str  # holes "{model}" (the model without the prefix) and "{env:NAME}"


@dataclass(frozen=True, slots=True)
class LlmFunction:
    """A function that calls an LLM itself (litellm.completion, the AI SDK's generateText)."""

    id: str
    provider: str
    model_arg: Args
    url_arg: Args
    routes: tuple[Route, ...]
    model_url: Args  # the model object's value is the URL (AI SDK)


@dataclass(frozen=True, slots=True)
class SoqlMethod:
    methods: tuple[str, ...]
    soql_arg: Args
    records: tuple[str, ...]  # where the records sit in the result, outermost first; ("csv",) = as text
    via: str = ""  # an attribute between the client and the method (`conn.bulk.query`)


@dataclass(frozen=True, slots=True)
class ObjectMethod:
    """`sf.Contact.get(id)`, `sf.bulk.Contact.query(soql)`: called on an attribute named after the object."""

    via: str
    methods: tuple[str, ...]
    whole: bool  # the whole record (every field), not a query
    soql_arg: Args
    records: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SobjectMethod:
    """`conn.sobject("Contact").find(conditions, fields)`."""

    methods: tuple[str, ...]
    fields_arg: dict[str, str]  # method -> position of its field list ("" = none)
    whole: bool
    single: bool  # one record, not a list


@dataclass(frozen=True, slots=True)
class SalesforceClient:
    id: str
    provider: str
    soql: tuple[SoqlMethod, ...]
    object_methods: tuple[ObjectMethod, ...]
    sobject: tuple[tuple[str, ...], Args]  # (methods that select an object, the object argument)
    sobject_methods: tuple[SobjectMethod, ...]

    def soql_method(self, name: str, via: str = "") -> SoqlMethod | None:
        return next((m for m in self.soql if name in m.methods and m.via == via), None)


@dataclass(frozen=True, slots=True)
class HttpClient:
    base_url: Args
    methods: tuple[str, ...]
    url: Args


def _args(value) -> Args:
    return tuple(str(v) for v in (value or ()))


def _params(row: dict) -> dict[str, Param]:
    return {name: Param(name, _args(p.get("args")), bool(p.get("parent")), p.get("global", ""),
                        tuple(p.get("env", ())), p.get("default", ""))
            for name, p in row.get("params", {}).items()}


def _call_args(row: dict) -> dict[str, Args]:
    return {name: _args(spec) for name, spec in row.get("args", {}).items()}


CLIENTS: dict[str, Client] = {}
CLIENT_IMPORTS: dict[str, Client] = {}  # "openai.OpenAI" -> client
CLIENT_MODULES: dict[str, Client] = {}  # "openai" -> the module's own client
FACTORIES: dict[tuple[str, str], list[Client]] = {}  # (parent client id, method) -> clients it makes
for _row in _DATA["clients"]:
    _select = _row.get("select", {})
    _client = Client(_row["id"], _row["provider"], _row["url"],
                     tuple(Variant(_args(v["when"]), v["url"]) for v in _row.get("variants", ())),
                     _params(_row), _row.get("llm", True),
                     (_args(_select.get("args")), tuple(_select.get("equals", ()))))
    CLIENTS[_client.id] = _client
    for _name in _row.get("imports", ()):
        CLIENT_IMPORTS[_name] = _client
    for _name in _row.get("modules", ()):
        CLIENT_MODULES[_name] = _client
    for _parent in _row.get("factory_of", ()):
        FACTORIES.setdefault((_parent, _row["factory_method"]), []).append(_client)

LLM_CALLS: dict[str, dict[str, LlmCall]] = {}  # client id -> method chain -> call
FALLBACK_CALLS: dict[str, LlmCall] = {}  # method chain -> call, on any receiver
for _row in _DATA["llm_calls"]:
    _call = LlmCall(tuple(_row["methods"]), _row["path"], _call_args(_row), _row.get("fallback", False))
    for _id in _row["clients"]:
        for _method in _call.methods:
            LLM_CALLS.setdefault(_id, {})[_method] = _call
    if _call.fallback:
        for _method in _call.methods:
            FALLBACK_CALLS.setdefault(_method, _call)

COMMANDS: dict[str, Command] = {name: Command(row["path"], _call_args(row))
                                for row in _DATA["commands"] for name in row["imports"]}
GLOBALS: dict[str, tuple[str, Args]] = {name: (row["name"], _args(row["args"]))
                                        for row in _DATA["globals"] for name in row["imports"]}
LLM_FUNCTIONS: dict[str, LlmFunction] = {}
for _row in _DATA["llm_functions"]:
    _function = LlmFunction(_row["id"], _row["provider"], _args(_row.get("model_arg")), _args(_row.get("url_arg")),
                            tuple(Route(r["prefix"], r["url"]) for r in _row.get("routes", ())),
                            _args(_row.get("model_url")))
    for _name in _row["imports"]:
        LLM_FUNCTIONS[_name] = _function

SALESFORCE_IMPORTS: dict[str, SalesforceClient] = {}
SALESFORCE_RECEIVERS: dict[str, SalesforceClient] = {}  # attribute name -> client (`org.dataApi`)
SALESFORCE_CLIENTS: dict[str, SalesforceClient] = {}
for _row in _DATA["salesforce_clients"]:
    _soql = tuple(SoqlMethod(tuple(m["methods"]), _args(m["soql_arg"]), tuple(m["records"]))
                  for m in _row.get("soql", ())) + \
        tuple(SoqlMethod(tuple(m["methods"]), _args(m["soql_arg"]), tuple(m["records"]), m["via"])
              for m in _row.get("via_soql", ()))
    _sobject = _row.get("sobject", {})
    _client_sf = SalesforceClient(
        _row["id"], _row["provider"], _soql,
        tuple(ObjectMethod(m["via"], tuple(m["methods"]), m.get("whole", False), _args(m.get("soql_arg")),
                           tuple(m.get("records", ()))) for m in _row.get("object_methods", ())),
        (tuple(_sobject.get("methods", ())), _args(_sobject.get("object_arg"))),
        tuple(SobjectMethod(tuple(m["methods"]), dict(m.get("fields_arg", {})), m.get("whole", False),
                            m.get("single", False)) for m in _row.get("sobject_methods", ())))
    SALESFORCE_CLIENTS[_client_sf.id] = _client_sf
    for _name in _row.get("imports", ()):
        SALESFORCE_IMPORTS[_name] = _client_sf
    for _name in _row.get("receiver_attributes", ()):
        SALESFORCE_RECEIVERS[_name] = _client_sf
SALESFORCE_FALLBACK: dict[str, SalesforceClient] = {
    method: SALESFORCE_CLIENTS[row["client"]] for row in _DATA["salesforce_fallback"] for method in row["methods"]}

HTTP_CALLS: dict[str, Args] = {name: _args(row["url"]) for row in _DATA["http_calls"] for name in row["imports"]}
HTTP_CLIENTS: dict[str, HttpClient] = {
    name: HttpClient(_args(row["base_url"]), tuple(row["methods"]), _args(row["url"]))
    for row in _DATA["http_clients"] for name in row["imports"]}


@dataclass(frozen=True, slots=True)
class Rest:
    api_path: str
    query_paths: tuple[str, ...]
    query_param: str
    params_args: Args
    sobject_path: str
    records: tuple[str, ...]


REST = Rest(_DATA["rest"]["api_path"], tuple(_DATA["rest"]["query_paths"]), _DATA["rest"]["query_param"],
            _args(_DATA["rest"]["params_args"]), _DATA["rest"]["sobject_path"], tuple(_DATA["rest"]["records"]))


@dataclass(frozen=True, slots=True)
class Sql:
    methods: frozenset[str]
    holder_methods: frozenset[str]
    functions: frozenset[str]
    tagged_templates: frozenset[str]
    max_chars: int


SQL = Sql(frozenset(_DATA["sql"]["methods"]), frozenset(_DATA["sql"]["holder_methods"]),
          frozenset(_DATA["sql"]["functions"]), frozenset(_DATA["sql"]["tagged_templates"]),
          int(_DATA["sql"]["max_chars"]))

ENV_READS: dict[str, tuple[Args, Args]] = {name: (_args(row["key"]), _args(row["default"]))
                                           for row in _DATA["env_reads"] for name in row["imports"]}
ENV_MAPPINGS = frozenset(_DATA["env"]["mappings"])


@dataclass(frozen=True, slots=True)
class Config:
    settings_bases: frozenset[str]
    place_suffixes: tuple[str, ...]
    secret_words: tuple[str, ...]
    llm_credentials: frozenset[str]


CONFIG = Config(frozenset(_DATA["config"]["settings_bases"]), tuple(_DATA["config"]["place_suffixes"]),
                tuple(_DATA["config"]["secret_words"]), frozenset(_DATA["config"]["llm_credentials"]))


@dataclass(frozen=True, slots=True)
class Heroku:
    inference_addons: frozenset[str]
    connect_addons: frozenset[str]
    default_schema: str
    system_columns: frozenset[str]
    default_region: str
    regions: dict[str, str]  # Heroku region name -> country or group code


HEROKU = Heroku(frozenset(_DATA["heroku"]["inference_addons"]), frozenset(_DATA["heroku"]["connect_addons"]),
                _DATA["heroku"]["default_schema"], frozenset(_DATA["heroku"]["system_columns"]),
                _DATA["heroku"]["default_region"],
                {k: v for k, v in _DATA["heroku"]["regions"].items() if k != "source"})


@dataclass(frozen=True, slots=True)
class PythonModel:
    serializers: frozenset[str]
    serializer_methods: frozenset[str]
    string_passthrough: frozenset[str]
    no_flow: frozenset[str]
    no_flow_methods: frozenset[str]
    mutators: dict[str, str]
    route_decorators: frozenset[str]
    false_guards: frozenset[str]
    rename_methods: dict[str, str]  # method -> keyword of its {old: new} mapping


_PY = _DATA["python"]
PYTHON = PythonModel(frozenset(_PY["serializers"]), frozenset(_PY["serializer_methods"]),
                     frozenset(_PY["string_passthrough"]), frozenset(_PY["no_flow"]),
                     frozenset(_PY["no_flow_methods"]), dict(_PY["mutators"]), frozenset(_PY["route_decorators"]),
                     frozenset(_PY["false_guards"]), dict(_PY["rename_methods"]))


@dataclass(frozen=True, slots=True)
class NodeModel:
    string_passthrough: frozenset[str]
    route_methods: frozenset[str]
    route_receivers: frozenset[str]


NODE = NodeModel(frozenset(_DATA["node"]["string_passthrough"]), frozenset(_DATA["node"]["route_methods"]),
                 frozenset(_DATA["node"]["route_receivers"]))


def is_secret_key(key: str) -> bool:
    """Whether a configuration key names a secret, whose value must never be kept."""
    upper = key.upper()
    return any(word in upper for word in CONFIG.secret_words)


def names_a_place(key: str) -> bool:
    """Whether a configuration key says where data goes (a URL, host, region or model)."""
    upper = key.upper()
    return upper.endswith(CONFIG.place_suffixes) and not is_secret_key(key)
