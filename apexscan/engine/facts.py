"""The language-neutral facts a frontend emits for one file.

Facts depend on that file alone (so they can be cached by content hash); everything that needs the
rest of the project — which class a type name means, which method a call reaches, what a Named
Credential points at — is decided later by `link.py`.

Node ids (strings) name the places values live:
  "<fid>#<name>"      a local variable or parameter of function <fid> ("acme.svc.send/1#prompt")
  "<fid>#return"      what function <fid> returns
  "<fid>#@L.C"        a temporary: the value of the call or query at line L, column C
  "F:<class>.<field>" a field of a project class (static or instance: one node per declaration)
  "F:<class>.this"    every instance of a project class, as a whole
Class and function ids are lower-case, since Apex names are case-insensitive.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from apexscan.engine.model import Diagnostic, Location

# An operation applied to a value as it moves along an edge:
#   ("get", f)     read field/relationship f of a record or object
#   ("put", f)     store into field f of a record or object
#   ("collapse",)  turn a structured value into text (concatenation, JSON.serialize, String.valueOf)
Op = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ref:
    """A place as written in source: a base node, its static type, and fields read or written after it."""

    node: str
    type: str = ""  # lower-case static type of `node` as declared ("account", "list<account>", "")
    path: tuple[str, ...] = ()  # lower-case field names after the base: x.a.b -> ("a", "b")


@dataclass(frozen=True, slots=True)
class Inflow:
    """Part of an expression's value: what comes from `ref`, transformed by `ops`."""

    ref: Ref
    ops: tuple[Op, ...]
    text: str  # the source text of the sub-expression, for messages


@dataclass(frozen=True, slots=True)
class Assign:
    """`value` flows into `target` (assignment, declaration, return, collection add, field store ...)."""

    target: Ref
    value: tuple[Inflow, ...]
    verb: str  # "assigned to", "concatenated into", "added to" ... (the step message's verb)
    location: Location
    caller: str  # fid of the function the assignment is in


# A string expression, kept symbolic so endpoints can be resolved across the project:
#   ("lit", s) | ("ref", Ref) | ("call", site_id) | ("label", name) | ("cmdt", type, record, field)
#   | ("setting", expr_text) | ("orgurl",) | ("unknown", expr_text) | ("choice", StrExpr, StrExpr, ...)
#   | ("config", path, key, default, what): the value of configuration key `key` (a Mule property,
#     an environment variable) as the deployable unit holding file `path` configures it; `default`
#     is the StrExpr used when the key is unset (() for none), `what` names the kind of key for
#     messages ("Mule property", "environment variable"). Resolved against the project's
#     configuration files (ProjectMetadata.config), nearest enclosing folder first. With key ""
#     the value is `default`, written in the unit's own configuration that `what` names
#     ("Mule HTTP request config OpenAI"): configured, not hard-coded.
StrPart = tuple
StrExpr = tuple[StrPart, ...]


@dataclass(frozen=True, slots=True)
class StrDef:
    """`target` may hold the string `expr` (used only to resolve endpoints)."""

    target: Ref
    expr: StrExpr
    caller: str  # fid of the function the definition is in


@dataclass(frozen=True, slots=True)
class Call:
    """A call whose callee is decided at link time."""

    site: str  # unique id: "<path>:<line>:<col>"
    caller: str  # fid
    name: str  # lower-case method name; "<init>" for `new T(...)`
    receiver: tuple[Inflow, ...]  # the value called on (empty for unqualified and static calls)
    static_type: str  # lower-case class named before the dot (`Foo.bar()`), or `T` in `new T()`
    receiver_type: str  # lower-case static type of the receiver when known
    args: tuple[tuple[Inflow, ...], ...]
    arg_strs: tuple[StrExpr, ...]
    result: str  # node receiving the result
    location: Location
    text: str
    kind: str = "call"  # "call", "new", "super", "this" (explicit constructor calls), "async",
    #                     "invocable" (Flow -> the class's @InvocableMethod), "flow" (a subflow),
    #                     "template" (a Flow prompt action running a Prompt Builder template),
    #                     "named" (the function whose fid is `static_type`, e.g. an agent's action)
    library: str = "tito"  # when no project method matches: "tito" (args and receiver flow to the
    #                        result) or "none" (the result carries nothing: sizes, booleans)
    arg_names: tuple[str, ...] = ()  # lower-case parameter names when arguments are passed by name
    #                                  (LWC `{recordId: id}`, Flow inputParameters), else positional;
    #                                  with names, "" binds the argument by position (Python
    #                                  `f(x, key=y)` is ("", "key"))


@dataclass(frozen=True, slots=True)
class Source:
    """`node` now holds these fields of `object` (SOQL select list, Trigger.new, ...)."""

    node: str
    object: str  # as written ("Account"); "" when unknown
    fields: tuple[tuple[str, ...], ...]  # lower-case field paths; ("*",) = every field of the object
    display: tuple[str, ...]  # the same paths as written, for messages ("Owner.Email")
    how: str  # "SOQL", "SOSL", "Trigger.new", "Database.query"
    location: Location
    scalar: bool = False  # the node holds the field's value itself, not a record with that field


@dataclass(frozen=True, slots=True)
class DynamicQuery:
    """Database.query(expr) and friends: the select list is resolved at link time."""

    node: str
    query: StrExpr
    how: str
    location: Location
    text: str
    language: str = "soql"  # the query's language: "soql", or "sql" (a service reading a database)


@dataclass(frozen=True, slots=True)
class EndpointSet:
    """`req.setEndpoint(expr)`: the request `target` will be sent to `expr`."""

    target: Ref
    expr: StrExpr
    location: Location
    text: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """A hint that the value flowing into `target` is an LLM request (a `messages` key ...)."""

    target: Ref
    text: str
    location: Location


@dataclass(frozen=True, slots=True)
class Sink:
    """Data leaves the org here: the value of `arg` is sent (Http.send(req))."""

    arg: Ref
    kind: str  # "http"
    api: str  # "Http.send"
    caller: str
    location: Location
    text: str


@dataclass(frozen=True, slots=True)
class Barrier:
    """Nothing that reaches `node` leaves through it: a sink there sends nothing (an output the
    receiving side is configured never to see). `reason` says why, for the inventory."""

    node: str
    reason: str
    location: Location


@dataclass(frozen=True, slots=True)
class Param:
    name: str  # lower-case
    type: str  # lower-case


@dataclass(frozen=True, slots=True)
class Function:
    fid: str  # "<class>.<name>/<arity>", "<trigger>.trigger/0", "<class>.<init>/N"
    cls: str  # lower-case qualified class ("outer.inner"); the trigger name for triggers
    name: str  # lower-case
    display: str  # "AccountService.summarize" for messages
    params: tuple[Param, ...]
    is_static: bool
    annotations: tuple[str, ...]  # lower-case: "future", "auraenabled", "invocablemethod", "istest"
    location: Location
    returns: str = ""  # lower-case declared return type ("" for void, constructors and flows)


@dataclass(frozen=True, slots=True)
class ClassInfo:
    name: str  # lower-case qualified ("outer.inner")
    display: str
    kind: str  # "class", "interface", "enum", "trigger", "flow", "template", "lwc"
    superclass: str  # lower-case type name as written, "" if none
    interfaces: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]  # (lower-case name, lower-case type)
    is_test: bool
    trigger_object: str = ""  # for triggers: the SObject
    location: Location | None = None
    field_names: tuple[str, ...] = ()  # the fields as declared (case kept), for messages
    # Calls of its methods and constructors bind as many arguments as they pass, whatever the
    # parameter count (JavaScript, Python: defaults, rest parameters): no overloads by arity.
    any_arity: bool = False
    # Type names written in a class resolve only to classes of the same realm: "" for the org's
    # code (Apex, Flow, components, which call each other), a service language's own realm for the
    # modules of services ("py", "js"), whose import of `utils` never means an Apex class Utils.
    realm: str = ""


@dataclass(frozen=True, slots=True)
class FileFacts:
    path: str
    classes: tuple[ClassInfo, ...] = ()
    functions: tuple[Function, ...] = ()
    assigns: tuple[Assign, ...] = ()
    strdefs: tuple[StrDef, ...] = ()
    calls: tuple[Call, ...] = ()
    sources: tuple[Source, ...] = ()
    queries: tuple[DynamicQuery, ...] = ()
    endpoints: tuple[EndpointSet, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    sinks: tuple[Sink, ...] = ()
    barriers: tuple[Barrier, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default=())
