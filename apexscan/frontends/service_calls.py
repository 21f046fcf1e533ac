"""What the Python and Node frontends share about service code: the string values of library
objects (an LLM client's value is its base URL), SOQL, SQL and REST reads recognised in strings,
and configuration keys as endpoint parts. Pure functions of string expressions and the model in
salesforce/service_models.py; the frontends find the arguments, these decide what they mean.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from apexscan.engine.facts import DynamicQuery, EndpointSet, Evidence, Inflow, Ref, Sink, Source, StrDef, StrExpr
from apexscan.salesforce import service_models as S

ENV = "environment variable"  # what a config part of an environment variable is called in messages
# `find(args)`: the string expression of the first argument `args` names, or None when none is given.
Find = Callable[[S.Args], "StrExpr | None"]

_HOLE = re.compile(r"\{([A-Za-z_][\w:]*)\}")


def config_part(path: str, key: str, default: StrExpr = ()) -> tuple:
    """The value of environment variable `key` for the service holding file `path`."""
    return ("config", path, key, default, ENV)


def env_value(path: str, keys: tuple[str, ...], default: StrExpr) -> StrExpr:
    """The first of several environment variables that is set, else `default`."""
    out = default
    for key in reversed(keys):
        out = (config_part(path, key, out),)
    return out


def fill(template: str, hole: Callable[[str], StrExpr]) -> StrExpr:
    """A URL template ("https://bedrock-runtime.{region}.amazonaws.com") with its holes filled."""
    out: list[tuple] = []
    pos = 0
    for m in _HOLE.finditer(template):
        if m.start() > pos:
            out.append(("lit", template[pos:m.start()]))
        out.extend(hole(m.group(1)))
        pos = m.end()
    if pos < len(template):
        out.append(("lit", template[pos:]))
    return tuple(out)


def client_url(client: S.Client, path: str, find: Find, given: Callable[[S.Args], bool],
               parent: StrExpr = ()) -> StrExpr:
    """The base URL of a client made by a constructor call whose arguments `find` reads; `given`
    says whether an argument is passed at all (and is not False/None); `parent` is the value of
    the client a factory method was called on."""
    url = next((v.url for v in client.variants if given(v.when)), client.url)
    seen: set[str] = set()

    def hole(name: str) -> StrExpr:
        param = client.params.get(name)
        if param is None or name in seen:
            return (("unknown", f"{client.provider} {name}"),)
        seen.add(name)
        try:
            return param_value(param, path, find, parent, hole)
        finally:
            seen.discard(name)

    return fill(url, hole)


def param_value(param: S.Param, path: str, find: Find, parent: StrExpr,
                hole: Callable[[str], StrExpr]) -> StrExpr:
    found = find(param.args) if param.args else None
    if found is not None:
        return found
    if param.parent and parent:
        return parent
    default = fill(param.default, hole) if param.default else ()
    if param.global_name:
        setting = (("ref", Ref(global_node(param.global_name))),)
        return setting if not param.env else (("choice", setting, env_value(path, param.env, default)),)
    if param.env:
        return env_value(path, param.env, default)
    return default or (("unknown", f"{param.name} is not given"),)


def global_node(name: str) -> str:
    """The node holding a library-wide setting (`vertexai.init(location=...)`): one for the project."""
    return f"F:lib.{name.lower()}"


def call_path(call_args: dict[str, S.Args], template: str, find: Find) -> StrExpr:
    """The request path a call adds to its client's URL ("/model/{model}/invoke")."""
    def hole(name: str) -> StrExpr:
        found = find(call_args.get(name, ()))
        return found if found is not None else (("unknown", f"{name} of the call"),)
    return fill(template, hole)


def route_url(function: S.LlmFunction, model: StrExpr, path: str) -> StrExpr | None:
    """The URL of a model-routing function (LiteLLM) for a literal model name; None when the model
    is not a literal or no route matches."""
    if len(model) != 1 or model[0][0] != "lit":
        return None
    name = model[0][1]
    for route in function.routes:
        if name.startswith(route.prefix):
            rest = name[len(route.prefix):] if route.prefix.endswith("/") else name

            def hole(hole_name: str) -> StrExpr:
                if hole_name == "model":
                    return (("lit", rest),)
                if hole_name.startswith("env:"):
                    return (config_part(path, hole_name[4:]),)
                return (("unknown", hole_name),)
            return fill(route.url, hole)
    return None


# --- strings that read Salesforce data ---------------------------------------------------------------

def literal_text(expr: StrExpr) -> str:
    """The literal parts of a string expression, with "\\x00" where a part is not literal."""
    return "".join(part[1] if part[0] == "lit" else "\x00" for part in expr)


_SELECT = re.compile(r"^\s*\(?\s*select\s", re.IGNORECASE)
_FROM = re.compile(r"\sfrom\s+(\"?[A-Za-z_][\w$]*\"?)(\s*\.\s*\"?[A-Za-z_][\w$]*\"?)?", re.IGNORECASE)


def query_language(text: str) -> str:
    """"sql" for a SELECT from a schema-qualified table (`salesforce.contact`), "soql" for a SELECT
    from an object name written as Salesforce names objects (`Contact`, `Loan__c`), "" otherwise."""
    if not _SELECT.match(text):
        return ""
    m = _FROM.search(text)
    if m is None:
        return ""
    if m.group(2):
        return "sql"
    name = m.group(1).strip('"')
    return "soql" if name[:1].isupper() or name.lower().endswith("__c") else ""


def rest_read(url: StrExpr, params_q: StrExpr | None) -> tuple[str, StrExpr | str] | None:
    """What a request to the org's REST API reads: ("soql", the query) for /query?q=..., ("record",
    object name) for /sobjects/<Object>/<id>; None for any other URL."""
    rest = S.REST
    text = literal_text(url)
    at = text.find(rest.api_path)
    if at < 0:
        return None
    tail = text[at + len(rest.api_path):]
    if any(re.search(re.escape(p) + r"/?(\?|$|\x00)", tail) for p in rest.query_paths):
        if params_q is not None:
            return "soql", params_q
        return ("soql", _after_query_param(url, rest.query_param)) if f"{rest.query_param}=" in text else None
    sobjects = tail.find(rest.sobject_path)
    if sobjects >= 0:
        name = re.match(r"([A-Za-z_]\w*)/", tail[sobjects + len(rest.sobject_path):])
        return ("record", name.group(1)) if name else None
    return None


def _after_query_param(url: StrExpr, param: str) -> StrExpr:
    """The parts of a URL after `?q=` up to the next `&`."""
    out: list[tuple] = []
    started = False
    for part in url:
        if not started:
            if part[0] == "lit" and f"{param}=" in part[1]:
                started = True
                rest = part[1].split(f"{param}=", 1)[1]
                if "&" in rest:
                    return tuple(out) + (("lit", rest.split("&", 1)[0]),)
                if rest:
                    out.append(("lit", rest))
            continue
        if part[0] == "lit" and "&" in part[1]:
            head = part[1].split("&", 1)[0]
            return tuple(out) + ((("lit", head),) if head else ())
        out.append(part)
    return tuple(out)


# --- configuration values --------------------------------------------------------------------------

_URL = re.compile(r"^([a-z][a-z0-9+.-]*://)(?:[^@/?#]*@)?([^/?#\s]*)([^?#\s]*)", re.IGNORECASE)
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,120}$")


def kept_value(key: str, value: str) -> str | None:
    """The part of a configuration value worth keeping, or None: a URL without user, password,
    query or fragment, or a short plain word (a region, a model) for a key that names a place.
    Nothing is kept for a key that names a secret."""
    if S.is_secret_key(key):
        return None
    value = value.strip()
    m = _URL.match(value)
    if m is not None:
        return m.group(1) + m.group(2) + m.group(3)
    if S.names_a_place(key) and _WORD.match(value):
        return value
    return None


# --- facts of library calls, for both frontends ------------------------------------------------------

MAX_CHAIN = 6  # links of a method chain looked at: the model's longest is four ("beta.chat.completions.parse")


def method_chain(low, fn, member: str, object_field: str, name_field: str) -> list[tuple[object, str]]:
    """`a.b.c.d` as [(a.b.c, "d"), (a.b, "c.d"), (a, "b.c.d")]: each receiver and the method chain
    after it, at most MAX_CHAIN links (tree-sitter node type and field names of the grammar)."""
    out = []
    rest: list[str] = []
    cur = fn
    while cur is not None and cur.type == member and len(rest) < MAX_CHAIN:
        name = cur.child_by_field_name(name_field)
        rest.insert(0, low.text(name) if name is not None else "")
        cur = cur.child_by_field_name(object_field)
        if cur is not None:
            out.append((cur, ".".join(rest)))
    return out


@dataclass(frozen=True, slots=True)
class Kind:
    """What library object (or project class instance) a value is.

    what  llm        an LLM client (or a chain of one): detail = (Client,)
          sf         a Salesforce client: detail = (SalesforceClient,)
          sobject    an object of a Salesforce client (`conn.sobject("Contact")`): detail = (client, object)
          http       an HTTP client with a base URL: detail = (HttpClient,)
          instance   an instance of a project class: detail = (class name as the code resolves it,)
    """

    what: str
    detail: tuple = ()


class ServiceFacts:
    """The facts a service frontend emits for the library calls of data/service_models.toml: LLM
    requests, HTTP requests, Salesforce and SQL reads. A lowerer that mixes this in provides
    `find_arg(call, args)` (the argument node `args` names), `call_values(call)` (the value of every
    argument), `strexpr`, `literal(node)` (a plain string literal's text, or None), `base_value`
    (the string value of a receiver), `map_value(node, key)` (a key of a dict or object literal),
    FALSE_TYPES (the grammar's false and null literals), and the fact lists and position helpers of
    visitor.TreeLowerer."""

    FALSE_TYPES: tuple[str, ...] = ()

    @staticmethod
    def lookup(table: dict, q: str):
        """A library table entry for a dotted name; a member of a Node default import also by its
        plain name (`jsforce.default.Connection` is `jsforce.Connection`)."""
        if not q:
            return None
        found = table.get(q)
        if found is None and ".default." in q:
            found = table.get(q.replace(".default.", ".", 1))
        return found

    def given(self, call, where: S.Args) -> bool:
        """Whether the call passes the argument at all (and not as False or null)."""
        found = self.find_arg(call, where)
        return found is not None and found.type not in self.FALSE_TYPES

    def selected(self, client: S.Client, call) -> bool:
        """Whether a factory call makes this client (`boto3.client("bedrock-runtime")`)."""
        where, accepted = client.select
        if not where:
            return True
        found = self.find_arg(call, where)
        return found is not None and self.literal(found) in accepted

    def library_kind(self, q: str, call=None) -> Kind | None:
        """The library object a constructor or factory named `q` makes."""
        client = self.lookup(S.CLIENT_IMPORTS, q)
        if client is not None and (call is None or self.selected(client, call)):
            return Kind("llm", (client,))
        sf = self.lookup(S.SALESFORCE_IMPORTS, q)
        if sf is not None:
            return Kind("sf", (sf,))
        http = self.lookup(S.HTTP_CLIENTS, q)
        if http is not None:
            return Kind("http", (http,))
        return None

    def library_construction(self, n, q: str) -> tuple[Inflow, ...] | None:
        """A library constructor or setting call: a client (its configuration is its value), or
        a library-wide setting (`vertexai.init(location=...)`); None for any other name."""
        kind = self.library_kind(q, n)
        if kind is not None:
            llm = kind.what == "llm" and kind.detail[0].llm
            return self.client_construction(n, kind.detail[0].provider if llm else "")
        if q in S.GLOBALS:
            name, where = S.GLOBALS[q]
            found = self.find_arg(n, where)
            if found is not None:
                self.strdefs.append(StrDef(Ref(global_node(name)), self.strexpr(found), self.scope.fid))
            self.call_values(n)
            return ()
        return None

    def library_strexpr(self, n, q: str) -> StrExpr | None:
        """The string value of a library object made by a call: a client's base URL, an HTTP
        client's base URL (or ""); None for any other call."""
        client = self.lookup(S.CLIENT_IMPORTS, q)
        if client is not None and self.selected(client, n):
            return client_url(client, self.path, self.finder(n), lambda where: self.given(n, where))
        http = self.lookup(S.HTTP_CLIENTS, q)
        if http is not None:
            found = self.find_arg(n, http.base_url)
            return self.strexpr(found) if found is not None else (("lit", ""),)
        return None

    def library_method(self, n, base, rest: str, kind: Kind) -> tuple[Inflow, ...] | None:
        """A request by an LLM or HTTP client the receiver is known to be; None for other methods."""
        if kind.what == "llm":
            call = S.LLM_CALLS.get(kind.detail[0].id, {}).get(rest)
            if call is None:
                return None
            return self.llm_call(n, call, kind.detail[0], self.base_value(base), self.expr(base), rest)
        if kind.what == "http" and rest in kind.detail[0].methods:
            return self.http_call(n, rest, kind.detail[0].url, self.base_value(base)) + self.expr(base)
        return None

    def fallback_llm_call(self, n, steps) -> tuple[Inflow, ...] | None:
        """A distinctive LLM method chain on any receiver (`x.chat.completions.create`), the
        longest chain first; its URL is the receiver's value."""
        for base, rest in reversed(steps):
            call = S.FALLBACK_CALLS.get(rest)
            if call is not None:
                return self.llm_call(n, call, None, self.base_value(base), self.expr(base), rest)
        return None

    def finder(self, call) -> Find:
        def find(where: S.Args):
            found = self.find_arg(call, where)
            return self.strexpr(found) if found is not None else None
        return find

    def client_construction(self, n, provider: str) -> tuple[Inflow, ...]:
        """An SDK client holds what it is configured with; an LLM client says it is one (the
        evidence follows it to every request it sends)."""
        values = self.call_values(n)
        if not provider:
            return values
        temp = self.temp(n, ":client")
        self.evidence.append(Evidence(Ref(temp), f"{provider} client", self.loc(n)))
        return values + (Inflow(Ref(temp), (), self.short(n)),)

    def llm_call(self, n, call: S.LlmCall, client: S.Client | None, base: StrExpr,
                 receiver: tuple[Inflow, ...], method: str) -> tuple[Inflow, ...]:
        """A request to an LLM: everything the call is given, and the client itself, is sent to the
        client's URL plus the call's path. Without a known client (a fallback method on any
        receiver) the URL is the receiver's value alone and only the receiver says it is an LLM."""
        ref = Ref(self.temp(n))
        path = call_path(call.args, call.path, self.finder(n)) if client is not None else ()
        self.endpoints.append(EndpointSet(ref, base + path, self.loc(n), self.short(n, 100)))
        api = f"{client.provider} {method}" if client is not None else method
        self.add_assign(ref, receiver + self.call_values(n), f"sent by {api}", n)
        if client is not None:
            self.evidence.append(Evidence(ref, f"{client.provider} {method} call", self.loc(n)))
        self.sinks.append(Sink(ref, "http", api, self.scope.fid, self.loc(n), self.short(n)))
        return ()  # the response: what the model answered

    def llm_function(self, n, function: S.LlmFunction, name: str) -> tuple[Inflow, ...]:
        """litellm.completion(model=...), generateText({ model }): the model decides the URL."""
        ref = Ref(self.temp(n))
        find = self.finder(n)
        url = find(function.url_arg) if function.url_arg else None
        if url is None and function.routes:
            model = find(function.model_arg)
            url = route_url(function, model, self.path) if model is not None else None
        if url is None and function.model_url:
            url = find(function.model_url)
        if url is None:
            url = (("unknown", f"{function.provider} model"),)
        self.endpoints.append(EndpointSet(ref, url, self.loc(n), self.short(n, 100)))
        api = f"{function.provider} {name}"
        self.add_assign(ref, self.call_values(n), f"sent by {api}", n)
        self.evidence.append(Evidence(ref, f"{api} call", self.loc(n)))
        self.sinks.append(Sink(ref, "http", api, self.scope.fid, self.loc(n), self.short(n)))
        return ()

    def http_call(self, n, api: str, url_arg: S.Args, base: StrExpr,
                  records: tuple[str, ...] = S.REST.records) -> tuple[Inflow, ...]:
        """`requests.post(url, json=...)`, `axios.post(url, data)`: the URL and everything else is
        sent; a read of the org's REST API returns its records."""
        ref = Ref(self.temp(n))
        found = self.find_arg(n, url_arg)
        url = self.strexpr(found) if found is not None else (("unknown", "URL"),)
        if base and not (url and url[0][0] == "lit" and "://" in url[0][1]):
            url = base + url  # a path relative to the client's base URL
        self.endpoints.append(EndpointSet(ref, url, self.loc(n), self.short(n, 100)))
        self.add_assign(ref, self.call_values(n), f"sent by {api}", n)
        self.sinks.append(Sink(ref, "http", api, self.scope.fid, self.loc(n), self.short(n)))
        return self.rest_read(n, url, api, records)

    def rest_read(self, n, url: StrExpr, api: str, records: tuple[str, ...]) -> tuple[Inflow, ...]:
        params = self.find_arg(n, S.REST.params_args)
        params_q = self.map_value(params, S.REST.query_param) if params is not None else None
        read = rest_read(url, params_q)
        if read is None:
            return ()
        if read[0] == "soql":
            return self.soql_read(n, read[1], f"Salesforce REST query ({api})", records)
        return self.whole_record(n, read[1], f"Salesforce REST sObject read ({api})")

    def soql_call(self, n, method: S.SoqlMethod, how: str) -> tuple[Inflow, ...]:
        found = self.find_arg(n, method.soql_arg)
        values = self.call_values(n)
        if found is None:
            return values
        return self.soql_read(n, self.strexpr(found), how, method.records) + values

    def soql_read(self, n, soql: StrExpr, how: str, records: tuple[str, ...]) -> tuple[Inflow, ...]:
        """Records of a SOQL query resolved at link time, placed where the API returns them."""
        node = self.temp(n, ":query")
        self.queries.append(DynamicQuery(node, soql, how, self.loc(n), self.short(n, 100)))
        return (Inflow(Ref(node), record_ops(records), self.short(n)),)

    def whole_record(self, n, obj: str, how: str) -> tuple[Inflow, ...]:
        node = self.temp(n, ":record")
        self.sources.append(Source(node, obj, (("*",),), ("*",), how, self.loc(n)))
        return (Inflow(Ref(node), (), self.short(n)),)

    def sql_read(self, n, sql: StrExpr, api: str, records: tuple[str, ...] = ()) -> tuple[Inflow, ...]:
        node = self.temp(n, ":sql")
        self.queries.append(DynamicQuery(node, sql, f"SQL ({api})", self.loc(n), self.short(n, 100), language="sql"))
        return (Inflow(Ref(node), record_ops(records), self.short(n)),)


SERIALIZED = ("collapse", "serialized")


def record_ops(records: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Where an API puts the records of a query in its result: `result["records"][i]["Email"]`
    is ("records",); ("csv",) is the records as text."""
    if records == ("csv",):
        return (SERIALIZED,)
    return tuple(("put", s.lower()) for s in reversed(records))
