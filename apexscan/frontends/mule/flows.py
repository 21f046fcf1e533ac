"""Mule 4 configuration XML (src/main/mule/**/*.xml) -> facts, in the same shapes as Apex.

Each `<flow>` and `<sub-flow>` becomes a function `flow:mule:<app>:<name>` (ids are scoped by the
app's folder: flow names are unique per app, not per repository) whose parameters are the event it
receives from a `flow-ref`: `payload`, `vars` (one object, a field per variable) and `attributes`.
Inside a flow the event is followed in order, so it is flow-sensitive by construction: every
processor that sets the payload or a variable makes a new node, and later processors read the
newest one; routers (`choice`, `scatter-gather`, `first-successful`, `round-robin`) join their
branches, `foreach` and `parallel-foreach` see the collection's elements and carry variables
around the loop, `async` runs on a copy, `try` joins its error handlers, batch steps see the
records. `flow-ref` is a call (by name, resolved by the linker within the app); what the callee
leaves in `payload` and `vars` comes back through its return value.

Sources: the Salesforce connector's `query`/`query-all` (SOQL through the shared SOQL reader),
`retrieve` (object and `fields` array), the streaming listeners (platform events, change data
capture: every field of the event), and a SOAP outbound message arriving at an HTTP listener whose
DataWeave reads `Envelope.Body.notifications.Notification.sObject` (the pipeline joins it with the
org's outbound messages). Sinks: `http:request` (URL from its config's protocol, host, port and
basePath plus its path, or its `url`; body `<http:body>` else the payload) and the AI connectors'
operations (data file `mule_models.toml`), whose config names the provider and model.

Global configurations (`http:request-config`, the AI connectors' configs, `salesforce:sfdc-config`,
`mcp:client-config`) may sit in another file of the app: they are string definitions of nodes named
after the app and the config (`mule:<app>:config:<name>#url`), which operations reference; the
linker joins them by name. The same configs, the listeners and the operations' `config-ref`s are
also returned as metadata facts for the rules and the inventory.

Studio-disabled processors and flows are XML comments (`<!-- [STUDIO:"..."] ... [STUDIO] -->`):
the XML reader drops them, so they are never active.
"""
from __future__ import annotations

import re

from apexscan.engine.facts import (
    Assign,
    Call,
    ClassInfo,
    EndpointSet,
    Evidence,
    FileFacts,
    Function,
    Inflow,
    Param,
    Ref,
    Sink,
    Source,
    StrDef,
    StrExpr,
)
from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends.metadata import (
    ConfigValueMeta,
    ConnectorConfigMeta,
    ConnectorUseMeta,
    InboundMeta,
    MetadataFacts,
    RequestMeta,
    soql_fields,
    soql_select_items,
)
from apexscan.frontends.mule import dataweave as dw
from apexscan.frontends.mule.expressions import (
    PLACEHOLDER,
    WHAT,
    blank_placeholders,
    expression_segments,
    literal,
    string_expr,
)
from apexscan.frontends.mule.layout import app_root_of
from apexscan.frontends.xmlsafe import Element, XmlError
from apexscan.frontends.xmlsafe import parse as parse_xml
from apexscan.salesforce import mule_models as M
from apexscan.salesforce.apex_models import LLM_BODY_KEYS

RUNTIME_OBJECT = "SObject"  # records of an object known only at run time (findings.RUNTIME_OBJECT)
MAX_PROCESSORS = 20_000  # processors lowered per file; the rest is reported, not read
MAX_NESTING = 100  # scopes inside scopes (try in foreach in choice ...); deeper ones are reported, not read
# DataWeave that reads a SOAP outbound message's record (`...notifications.Notification.sObject`,
# or `notifications.*Notification map $.sObject`)
_OUTBOUND = re.compile(rb"\bnotifications\b[\s\S]{0,400}?\bsObject\b")
_SOURCE_NAMES = re.compile(r"(listener|scheduler|subscriber|poll|-trigger|^on-.*)$")

# A key of an LLM request body in a DataWeave object or JSON text (`messages: [...]`, `"model":`).
_LLM_BODY_KEY = re.compile(r'(?:^|[{,\s])"?(%s)"?\s*:' % "|".join(sorted(LLM_BODY_KEYS)), re.MULTILINE)


def lower_mule(path: str, data: bytes) -> tuple[FileFacts, MetadataFacts]:
    """One Mule configuration file -> (code facts, metadata facts)."""
    root = parse_xml(data)
    if isinstance(root, XmlError):
        return FileFacts(path=path, diagnostics=(root.diagnostic(path),)), MetadataFacts()
    if root.ns.startswith("http://www.mulesoft.org/schema/mule/") and not (root.tag == "mule" and root.ns == M.CORE):
        # Studio metadata (application-types.xml), XML SDK modules, domains: no flows of the app
        return FileFacts(path=path), MetadataFacts()
    if root.tag != "mule" or root.ns != M.CORE:
        message = f"not a Mule configuration (root element <{root.tag}> in namespace {root.ns or 'none'})"
        return FileFacts(path=path, diagnostics=(Diagnostic(path, "parse", message),)), MetadataFacts()
    return MuleFile(path, root, bool(_OUTBOUND.search(data))).run()


def app_id(path: str) -> str:
    return app_root_of(path).lower()


def flow_fid(app: str, name: str) -> str:
    return f"flow:mule:{app}:{name}".lower()


def config_node(app: str, name: str, what: str) -> str:
    return f"mule:{app}:config:{name}#{what}".lower()


def dwl_fid(app: str, resource: str) -> str:
    return flow_fid(app, "dwl:" + resource.replace("\\", "/").lstrip("/").removeprefix("classpath:").lstrip("/"))


class State:
    """The event at one point of a flow."""

    __slots__ = ("attributes", "calls", "payload", "vars")

    def __init__(self, payload: dw.Value, vars_: dict[str, dw.Value], calls: tuple[str, ...],
                 attributes: dw.Value = dw.NOTHING) -> None:
        self.payload = payload
        self.vars = vars_
        self.calls = calls  # result nodes of the flow-refs made so far (they may have set any variable)
        self.attributes = attributes

    def copy(self) -> State:
        return State(self.payload, dict(self.vars), self.calls, self.attributes)


class MuleFile:
    def __init__(self, path: str, root: Element, reads_outbound: bool) -> None:
        self.path = path
        self.root = root
        self.app = app_id(path)
        self.scope = app_root_of(path)
        self.reads_outbound = reads_outbound
        self.classes: list[ClassInfo] = []
        self.functions: list[Function] = []
        self.assigns: list[Assign] = []
        self.strdefs: list[StrDef] = []
        self.calls: list[Call] = []
        self.sources: list[Source] = []
        self.endpoints: list[EndpointSet] = []
        self.sinks: list[Sink] = []
        self.evidence: list[Evidence] = []
        self.diags: list[Diagnostic] = []
        self.configs: list[ConnectorConfigMeta] = []
        self.uses: list[ConnectorUseMeta] = []
        self.inbounds: list[InboundMeta] = []
        self.config_values: list[ConfigValueMeta] = []
        self.requests: list[RequestMeta] = []
        self.listener_configs: dict[str, Element] = {}
        self.mcp_servers: dict[str, str] = {}  # MCP server config -> the HTTP listener config it serves on
        self.fid = ""
        self.flow_name = ""
        self.places: dict[str, list[tuple[tuple[str, ...], Ref, str]]] = {}
        self.nodes: set[str] = set()
        self.budget = MAX_PROCESSORS
        self.depth = 0

    # --- places -----------------------------------------------------------------------------

    def loc(self, e: Element) -> Location:
        return Location(self.path, e.line, e.col)

    def node(self, what: str, e: Element) -> str:
        base = f"{self.fid}#{what}@{e.line}.{e.col}"
        name, n = base, 1
        while name in self.nodes:
            n += 1
            name = f"{base}.{n}"
        self.nodes.add(name)
        return name

    def doc_name(self, e: Element) -> str:
        return e.qattr(M.DOC, "name")

    def label(self, e: Element, short: str) -> str:
        name = self.doc_name(e)
        return f'{short} "{name}"' if name and name.lower() != short.split(":")[-1].replace("-", " ") else short

    # --- the file ----------------------------------------------------------------------------

    def run(self) -> tuple[FileFacts, MetadataFacts]:
        top = self.root.children
        for e in top:  # configurations first: flows in this file use them
            self.global_element(e)
        for e in top:
            if e.ns == M.CORE and e.tag in ("flow", "sub-flow"):
                self.flow(e)
        facts = FileFacts(path=self.path, classes=tuple(self.classes), functions=tuple(self.functions),
                          assigns=tuple(self.assigns), strdefs=tuple(self.strdefs), calls=tuple(self.calls),
                          sources=tuple(self.sources), endpoints=tuple(self.endpoints), sinks=tuple(self.sinks),
                          evidence=tuple(self.evidence), diagnostics=tuple(self.diags))
        meta = MetadataFacts(config_values=tuple(self.config_values), connector_configs=tuple(self.configs),
                             connector_uses=tuple(self.uses), inbounds=tuple(self.inbounds),
                             requests=tuple(self.requests))
        return facts, meta

    def global_element(self, e: Element) -> None:
        name = e.attrs.get("name", "")
        if e.ns == M.CORE and e.tag == "global-property" and name and e.attrs.get("value"):
            self.config_values.append(ConfigValueMeta(self.scope, name, e.attrs["value"],
                                                      f"global-property in {self.path.rsplit('/', 1)[-1]}",
                                                      "high", self.loc(e)))
            return
        if not name:
            return
        if e.ns == M.HTTP and e.tag == M.HTTP_MODEL["request_config"]:
            self.request_config(e, name)
        elif e.ns == M.HTTP and e.tag == M.HTTP_MODEL["listener_config"]:
            self.listener_config(e, name)
        elif e.ns == M.SALESFORCE and e.tag == M.SF["config"]:
            self.salesforce_config(e, name)
        elif e.ns == M.MCP and e.tag == M.MCP_MODEL["client_config"]:
            self.mcp_client_config(e, name)
        elif e.ns == M.MCP and e.tag == "server-config":
            self.mcp_servers[name] = next((c.attrs["listenerConfig"] for c in e.iter() if c.attrs.get("listenerConfig")), "")
        elif e.ns in M.CONNECTOR_BY_NS and e.tag in M.CONNECTOR_BY_NS[e.ns].configs:
            self.ai_config(e, name, M.CONNECTOR_BY_NS[e.ns])

    def configured(self, expr: StrExpr, what: str) -> StrExpr:
        """An endpoint written in the app's own configuration (a global element): configured, so
        never a "hard-coded" URL, and named that way in messages."""
        return (("config", self.path, "", expr, what),) if expr else expr

    def strdef(self, node: str, expr: StrExpr) -> None:
        if expr:
            self.strdefs.append(StrDef(Ref(node), expr, ""))

    # --- configurations ----------------------------------------------------------------------

    def attr_expr(self, text: str) -> StrExpr:
        return string_expr(text, self.path)

    def request_config(self, e: Element, name: str) -> None:
        conn = next((c for c in e.children if c.ns == M.HTTP and c.tag == M.HTTP_MODEL["request_connection"]), None)
        attrs = conn.attrs if conn is not None else {}
        protocol = attrs.get("protocol", "HTTP")
        proto = literal(self.attr_expr(protocol))
        expr: list[tuple] = list(self.attr_expr(protocol.lower()) if proto is not None else self.attr_expr(protocol))
        expr.append(("lit", "://"))
        host = attrs.get("host", "")
        expr.extend(self.attr_expr(host) if host else (("unknown", f"host of HTTP request config {name}"),))
        port = attrs.get("port", "")
        default_port = M.DEFAULT_PORTS.get((proto or "").upper(), "")
        if port and port != default_port:
            expr.append(("lit", ":"))
            expr.extend(self.attr_expr(port))
        base = e.attrs.get("basePath", "")
        if base and base != "/":
            expr.extend(self.attr_expr(("/" + base.lstrip("/")).rstrip("/")))
        url = self.configured(tuple(expr), f"Mule HTTP request config {name}")
        self.strdef(config_node(self.app, name, "url"), url)
        self.configs.append(ConnectorConfigMeta(self.scope, name, "http", f"http:request-config {name}", url, (), (),
                                                (), self.loc(e)))

    def listener_config(self, e: Element, name: str) -> None:
        """Its base path and port, for listeners that use it from any file of the app."""
        self.listener_configs[name] = e
        conn = next((c for c in e.children if c.ns == M.HTTP and c.tag == "listener-connection"), None)
        base = e.attrs.get("basePath", "").strip("/")
        port = conn.attrs.get("port", "") if conn is not None else ""
        self.strdef(config_node(self.app, name, "basepath"), self.attr_expr("/" + base) if base else (("lit", ""),))
        self.strdef(config_node(self.app, name, "port"), self.attr_expr(port) if port else (("lit", ""),))

    def salesforce_config(self, e: Element, name: str) -> None:
        conn = next((c for c in e.iter() if c is not e and c.ns == M.SALESFORCE and c.attrs), None)
        attrs: dict[str, str] = {}
        for c in e.iter():
            if c is not e and c.ns == M.SALESFORCE:
                attrs.update(c.attrs)
        identity = next((attrs[a] for a in M.SF_IDENTITY_ATTRIBUTES if attrs.get(a)), "")
        user = next((attrs[a] for a in M.SF_USER_ATTRIBUTES if attrs.get(a)), "")
        url = next((attrs[a] for a in M.SF_URL_ATTRIBUTES if attrs.get(a)), "")
        what = f"salesforce:sfdc-config {name}" + (f" ({conn.tag})" if conn is not None else "")
        self.configs.append(ConnectorConfigMeta(
            self.scope, name, "salesforce", what, self.attr_expr(url) if url else (), (),
            self.attr_expr(identity) if identity else (), self.attr_expr(user) if user else (), self.loc(e)))

    def mcp_client_config(self, e: Element, name: str) -> None:
        url = next((c.attrs[a] for c in e.iter() for a in M.MCP_MODEL["client_url_attributes"] if c.attrs.get(a)), "")
        expr = self.configured(self.attr_expr(url), f"Mule MCP client config {name}") if url else \
            (("unknown", f"server URL of MCP client {name}"),)
        self.strdef(config_node(self.app, name, "url"), expr)
        self.configs.append(ConnectorConfigMeta(self.scope, name, "mcp-client", f"mcp:client-config {name}", expr,
                                                (), (), (), self.loc(e)))
        self.requests.append(RequestMeta(self.scope, "mcp-client", expr, config_node(self.app, name, "results"),
                                         self.loc(e)))

    def ai_config(self, e: Element, name: str, connector: M.Connector) -> None:
        attrs = dict(e.attrs)
        conn = next((c for c in e.children if c.tag.endswith("-connection")), None)
        if conn is not None:
            attrs.update(conn.attrs)
        what = f"{connector.name}:{e.tag} {name}"
        if connector.provider_by == "model":
            self.configs.append(ConnectorConfigMeta(self.scope, name, "llm", what, (), (), (), (), self.loc(e)))
            return
        if connector.provider_by == "fixed":
            chosen = connector.fixed_provider
        elif connector.provider_by == "connection" and conn is not None and conn.tag != "llm-connection":
            chosen = conn.tag[: -len("-connection")]
            what += f" ({conn.tag})"
        else:
            chosen = attrs.get(connector.provider_attribute, "")
            what += f" ({connector.provider_attribute} {chosen})" if chosen else ""
        provider = M.provider(connector.name, chosen) if chosen and literal(self.attr_expr(chosen)) is not None \
            else None
        if provider is not None:
            url = self.provider_url(provider, attrs)
            if connector.operation_path:  # the operations add the model: they need the base alone
                self.strdef(config_node(self.app, name, "base"),
                            self.configured(self.provider_url(provider, attrs), f"{connector.product} config {name}"))
            model = self.model_expr(provider.model + connector.model_attributes, attrs)
        elif chosen and (PLACEHOLDER.search(chosen) or "#[" in chosen):
            # the provider itself is a property or an expression: one URL per value it may take
            table = config_node(self.app, name, "providers")
            entries = tuple(((("lit", n),), self.provider_url(p, attrs))
                            for p in M.providers_of(connector.name) for n in p.names)
            self.strdef(table, (("map", entries),))
            url = (("mapget", Ref(table), self.attr_expr(chosen)),)
            model = self.model_expr(connector.model_attributes, attrs)
        else:
            shown = chosen or "none"
            url = (("unknown", f"{connector.product} provider {shown} of config {name}"),)
            model = self.model_expr(connector.model_attributes, attrs)
        url = self.configured(url, f"{connector.product} config {name}")
        self.strdef(config_node(self.app, name, "url"), url)
        self.configs.append(ConnectorConfigMeta(self.scope, name, "llm", what, url, model, (), (), self.loc(e)))

    def provider_url(self, provider: M.Provider, attrs: dict[str, str]) -> StrExpr:
        if provider.base_attribute and attrs.get(provider.base_attribute):
            base = self.attr_expr(attrs[provider.base_attribute].rstrip("/"))
        elif provider.base_key:
            default = self.template(provider.base, attrs) if provider.base else ()
            base = (("config", self.path, provider.base_key, default, "AI Chain configuration key"),)
        else:
            base = self.template(provider.base, attrs)
        return base + self.template(provider.path, attrs)

    def template(self, text: str, attrs: dict[str, str]) -> StrExpr:
        """`https://{azureOpenaiResourceName}.openai.azure.com` with the attributes' values."""
        out: list[tuple] = []
        at = 0
        for m in re.finditer(r"\{([A-Za-z0-9_]+)(?:=([^}]*))?\}", text):
            if m.start() > at:
                out.append(("lit", text[at:m.start()]))
            value = attrs.get(m.group(1), "")
            if value:
                out.extend(self.attr_expr(value))
            elif m.group(2) is not None:
                out.append(("lit", m.group(2)))
            else:
                out.append(("unknown", f"attribute {m.group(1)} is not set"))
            at = m.end()
        if at < len(text):
            out.append(("lit", text[at:]))
        return tuple(out)

    def model_expr(self, names: tuple[str, ...], attrs: dict[str, str]) -> StrExpr:
        value = next((attrs[n] for n in names if attrs.get(n)), "")
        return self.attr_expr(value) if value else ()

    # --- flows -------------------------------------------------------------------------------

    def flow(self, e: Element) -> None:
        name = e.attrs.get("name", "")
        if not name:
            return
        self.fid = fid = flow_fid(self.app, name)
        self.flow_name = name
        self.places = {}
        kind = "mule-flow" if e.tag == "flow" else "mule-subflow"
        where = f" (app {self.scope})" if self.scope else ""
        display = f"Mule {'flow' if e.tag == 'flow' else 'sub-flow'} {name}{where}"
        loc = self.loc(e)
        children = list(e.children)
        source = children[0] if e.tag == "flow" and children and self.is_source(children[0]) else None
        annotations = ("mule-flow",) + (("mule-source:" + source.tag,) if source is not None else ())
        self.functions.append(Function(fid, fid, name.lower(), display,
                                       (Param("payload", ""), Param("vars", ""), Param("attributes", "")),
                                       True, annotations, loc))
        self.classes.append(ClassInfo(fid, display, kind, "", (), (), False, location=loc))
        state = State(dw.Value((Inflow(Ref(f"{fid}#payload"), (), "payload"),)), {}, ())
        if source is not None:
            state = self.source(source, state)
            children = children[1:]
        handlers = [c for c in children if c.ns == M.CORE and c.tag == "error-handler"]
        body = [c for c in children if c not in handlers]
        out = self.sequence(body, state)
        if handlers:
            joined = self.merge([state, out])
            out = self.merge([out] + [self.sequence(h.children, joined.copy()) for h in handlers])
        self.finish(out, e)

    def is_source(self, e: Element) -> bool:
        if e.ns == M.SALESFORCE and (M.SF_LISTENER.match(e.tag) or M.SF_OBJECT_LISTENER.match(e.tag)):
            return True
        return bool(_SOURCE_NAMES.search(e.tag))

    def finish(self, state: State, e: Element) -> None:
        """What the flow leaves in the event goes back to whoever called it (through its return)."""
        ret = f"{self.fid}#return"
        loc = self.loc(e)
        if state.payload.flows:
            self.assigns.append(Assign(Ref(ret, "", ("payload",)), state.payload.flows,
                                       f"left in the payload by {self.flow_display()}", loc, self.fid))
        for name, value in sorted(state.vars.items()):
            if value.flows:
                self.assigns.append(Assign(Ref(ret, "", ("vars", name.lower())), value.flows,
                                           f"left in vars.{name} by {self.flow_display()}", loc, self.fid))

    def flow_display(self) -> str:
        return f"flow {self.flow_name}"

    # --- the event -----------------------------------------------------------------------------

    def var(self, state: State, name: str) -> dw.Value:
        if name in state.vars:
            return state.vars[name]
        key = name.lower()
        flows = [Inflow(Ref(f"{self.fid}#vars", "", (key,)), (), f"vars.{name}")]
        flows += [Inflow(Ref(r, "", ("vars", key)), (), f"vars.{name}") for r in state.calls]
        return dw.Value(tuple(flows))

    def all_vars(self, state: State) -> dw.Value:
        """`vars` as a whole: every variable set so far, and those the flow received."""
        out = dw.Value((Inflow(Ref(f"{self.fid}#vars"), (), "vars"),))
        for name, value in state.vars.items():
            out = out.union(dw.apply(value, ("put", name.lower())))
        return out

    def set_payload(self, state: State, value: dw.Value, e: Element, verb: str) -> None:
        node = self.node("payload", e)
        if value.flows:
            self.assigns.append(Assign(Ref(node), value.flows, verb, self.loc(e), self.fid))
        state.payload = dw.Value((Inflow(Ref(node), (), "payload"),))

    def set_var(self, state: State, name: str, value: dw.Value, e: Element, verb: str) -> None:
        node = self.node(f"vars.{name.lower()}", e)
        if value.flows:
            self.assigns.append(Assign(Ref(node), value.flows, verb, self.loc(e), self.fid))
        state.vars[name] = dw.Value((Inflow(Ref(node), (), f"vars.{name}"),))

    def output(self, state: State, value: dw.Value, e: Element, what: str) -> None:
        """An operation's result: into the payload, or into vars.<target> (through targetValue)."""
        target = e.attrs.get("target", "")
        if not target:
            self.set_payload(state, value, e, f"returned by {what} as the payload")
            return
        target_value = e.attrs.get("targetValue", "")
        if target_value:
            inner = state.copy()
            inner.payload = value
            value = self.evaluate(target_value, inner, e)
        self.set_var(state, target, value, e, f"stored in vars.{target} by {what}")

    def merge(self, states: list[State]) -> State:
        if len(states) == 1:
            return states[0]
        payload = dw.NOTHING
        for s in states:
            payload = payload.union(s.payload)
        names = sorted({n for s in states for n in s.vars})
        vars_ = {}
        for n in names:
            value = dw.NOTHING
            for s in states:
                value = value.union(self.var(s, n))
            vars_[n] = value
        calls = tuple(dict.fromkeys(c for s in states for c in s.calls))
        return State(payload, vars_, calls, states[0].attributes)

    # --- DataWeave ----------------------------------------------------------------------------

    def evaluate(self, text: str, state: State, e: Element, offset: int = 0, whole: bool = False) -> dw.Value:
        """A Mule value: `#[...]` expressions (and literal text around them, which makes the result
        text); `whole` when `text` is a script itself (ee:transform, a content child in CDATA)."""
        if whole and not text.lstrip().startswith("#["):
            return self.script(text, state, e, offset)
        out = dw.NOTHING
        segments = expression_segments(text)
        literal_text = any(k == "lit" and part.strip() for k, part, _ in segments)
        for kind, part, at in segments:
            if kind == "expr":
                value = self.script(part, state, e, offset + at)
                out = out.union(dw.collapse(value) if literal_text else value)
        return out

    def script(self, src: str, state: State, e: Element, offset: int) -> dw.Value:
        evaluator = dw.Evaluator(state.payload, lambda n: self.var(state, n), lambda: self.all_vars(state),
                                 state.attributes)
        places = self.places
        if places:
            evaluator.rewrite = lambda value: self.rewrite(value)
        source = blank_placeholders(src)
        try:
            return evaluator.run(dw.parse(source))
        except dw.DataWeaveError as exc:
            line, _ = e.text_position(offset + exc.offset) if e.text else (e.line, e.col)
            self.diags.append(Diagnostic(self.path, "parse", f"DataWeave in <{e.tag}> not read: {exc}; the values "
                                         "it names are followed as whole values", line))
            return dw.mentions(source, state.payload, lambda n: self.var(state, n))
        except RecursionError:
            self.diags.append(Diagnostic(self.path, "parse", f"DataWeave in <{e.tag}> nested too deeply; the values "
                                         "it names are followed as whole values", e.line))
            return dw.mentions(source, state.payload, lambda n: self.var(state, n))

    def rewrite(self, value: dw.Value) -> dw.Value:
        """Reads of a place the flow knows more about: a SOAP outbound message's record."""
        out = []
        for f in value.flows:
            for path, ref, text in self.places.get(f.ref.node, ()):
                if not f.ops and f.ref.path[:len(path)] == path:
                    f = Inflow(Ref(ref.node, ref.type, f.ref.path[len(path):]), (), text)
                    break
            out.append(f)
        return dw.Value(tuple(out), value.text)

    def text_value(self, child: Element, state: State) -> dw.Value:
        """The value of a content child (`<http:body>`, `<ms-aichain:prompt>`): its text is a Mule
        value (`#[...]` or literal text)."""
        text = child.text
        start = len(text) - len(text.lstrip())
        return self.evaluate(text.strip(), state, child, start)

    # --- processors ---------------------------------------------------------------------------

    def sequence(self, elements, state: State) -> State:
        self.depth += 1
        try:
            for e in elements:
                if self.depth > MAX_NESTING:
                    self.diags.append(Diagnostic(self.path, "parse", f"scopes nested deeper than {MAX_NESTING} "
                                                 "levels; the processors inside are not read", e.line))
                    break
                state = self.processor(e, state)
            return state
        finally:
            self.depth -= 1

    def processor(self, e: Element, state: State) -> State:
        self.budget -= 1
        if self.budget == 0:
            self.diags.append(Diagnostic(self.path, "parse", f"more than {MAX_PROCESSORS} processors; the rest of "
                                         "the file is not read", e.line))
        if self.budget <= 0:
            return state
        ns, tag = e.ns, e.tag
        if ns == M.CORE:
            return self.core(e, state)
        if ns == M.EE and tag == "transform":
            return self.transform(e, state)
        if ns == M.BATCH and tag == "job":
            return self.batch(e, state)
        if ns == M.HTTP and tag == M.HTTP_MODEL["request"]:
            return self.http_request(e, state)
        if ns == M.SALESFORCE:
            return self.salesforce(e, state)
        if ns in M.CONNECTOR_BY_NS:
            connector = M.CONNECTOR_BY_NS[ns]
            if tag in connector.local_operations:
                return self.operation(e, state)
            if tag not in connector.configs:
                return self.ai_operation(e, state, connector)
            return state
        if ns == M.MCP and tag in ("call-tool", "list-tools"):
            self.use(e)
            state = state.copy()
            client = e.attrs.get("config-ref", "")
            value = dw.Value((Inflow(Ref(config_node(self.app, client, "results")), (), f"results of MCP client {client}"),)) \
                if client else dw.NOTHING
            self.output(state, value, e, f"mcp:{tag}")
            return state
        return self.operation(e, state)

    def use(self, e: Element) -> None:
        ref = e.attrs.get("config-ref", "")
        if ref:
            self.uses.append(ConnectorUseMeta(self.scope, ref, self.loc(e)))

    def operation(self, e: Element, state: State) -> State:
        """A processor of another connector: its result is data from elsewhere, unless it is one of
        those that keep the payload (writes, publishes, validations)."""
        self.use(e)
        prefixed = f"{_short_ns(e.ns)}:{e.tag}"
        if prefixed in M.KEEP_PAYLOAD or e.tag.startswith(("validate", "is-", "store")) or e.tag in M.KEEP_PAYLOAD:
            return state
        state = state.copy()
        self.output(state, dw.NOTHING, e, prefixed)
        return state

    def core(self, e: Element, state: State) -> State:
        tag = e.tag
        if tag == "set-payload":
            state = state.copy()
            value = self.evaluate(e.attrs.get("value", ""), state, e)
            self.set_payload(state, value, e, f"set as the payload by {self.label(e, 'set-payload')}")
            return state
        if tag == "set-variable":
            name = e.attrs.get("variableName", "")
            if not name:
                return state
            state = state.copy()
            value = self.evaluate(e.attrs.get("value", ""), state, e)
            self.set_var(state, name, value, e, f"stored in vars.{name} by {self.label(e, 'set-variable')}")
            return state
        if tag == "remove-variable":
            name = e.attrs.get("variableName", "")
            state = state.copy()
            if name:
                state.vars[name] = dw.NOTHING
            return state
        if tag == "flow-ref":
            return self.flow_ref(e, state)
        if tag in M.ROUTERS:
            branches = [c for c in e.children if c.ns == M.CORE and c.tag in ("when", "otherwise", "route")]
            for c in branches:
                if c.attrs.get("expression"):
                    self.evaluate(c.attrs["expression"], state, c)
            outs = [self.sequence(c.children, state.copy()) for c in branches]
            if tag == "choice" and not any(c.tag == "otherwise" for c in branches):
                outs.append(state)
            return self.merge(outs or [state])
        if tag == "scatter-gather":
            routes = [c for c in e.children if c.ns == M.CORE and c.tag == "route"]
            outs = [self.sequence(c.children, state.copy()) for c in routes]
            if not outs:
                return state
            joined = self.merge(outs)
            # the result is an object of the routes' results: payload."0".payload, payload."1".payload ...
            joined.payload = dw.apply(joined.payload, ("put", "payload"))
            self.output(joined, joined.payload, e, "scatter-gather")
            return joined
        if tag in ("foreach", "parallel-foreach"):
            return self.loop(e, state)
        if tag == "async":
            self.sequence(e.children, state.copy())
            return state
        if tag == "try":
            body = [c for c in e.children if not (c.ns == M.CORE and c.tag == "error-handler")]
            out = self.sequence(body, state.copy())
            handlers = [c for c in e.children if c.ns == M.CORE and c.tag == "error-handler"]
            if handlers:
                joined = self.merge([state, out])
                out = self.merge([out] + [self.sequence(h.children, joined.copy()) for h in handlers])
            return out
        if tag in M.SEQUENTIAL:
            return self.sequence(e.children, state)
        if tag == "parse-template":
            state = state.copy()
            self.output(state, dw.NOTHING, e, "parse-template")
            return state
        if tag in M.KEEP_PAYLOAD or tag == "logger":
            return state
        return self.sequence(e.children, state) if e.children else state

    def loop(self, e: Element, state: State) -> State:
        """foreach: the body sees each element of the collection (the collection itself: elements are
        not told apart), variables go round the loop, and the payload afterwards is the one before
        (parallel-foreach: the bodies' results)."""
        collection = e.attrs.get("collection", "")
        elements = self.evaluate(collection, state, e) if collection else state.payload
        body = state.copy()
        body.payload = elements
        heads = {}
        for name in list(state.vars):
            head = self.node(f"vars.{name.lower()}", e)
            heads[name] = head
            if state.vars[name].flows:
                self.assigns.append(Assign(Ref(head), state.vars[name].flows, f"carried into {e.tag}", self.loc(e),
                                           self.fid))
            body.vars[name] = dw.Value((Inflow(Ref(head), (), f"vars.{name}"),))
        out = self.sequence(e.children, body)
        for name, head in heads.items():
            value = self.var(out, name)
            if value.flows and value.flows != (Inflow(Ref(head), (), f"vars.{name}"),):
                self.assigns.append(Assign(Ref(head), value.flows, f"carried to the next iteration of {e.tag}",
                                           self.loc(e), self.fid))
        after = out.copy()
        if e.tag == "foreach":
            after.payload = state.payload
        return after

    def flow_ref(self, e: Element, state: State) -> State:
        target = e.attrs.get("name", "")
        if not target or "#[" in target:
            return state  # a flow chosen at run time
        fid = flow_fid(self.app, target)
        result = self.node("call", e)
        payload = state.payload.flows
        vars_flows: list[Inflow] = [Inflow(Ref(f"{self.fid}#vars"), (), "vars")]
        for name, value in sorted(state.vars.items()):
            vars_flows.extend(dw.apply(value, ("put", name.lower())).flows)
        for r in state.calls:
            vars_flows.append(Inflow(Ref(r, "", ("vars",)), (), "vars"))
        self.calls.append(Call(
            site=f"{self.path}:{e.line}:{e.col}", caller=self.fid, name=target.lower(), receiver=(),
            static_type=fid[len("flow:"):], receiver_type="", args=(payload, tuple(vars_flows), state.attributes.flows),
            arg_strs=((), (), ()), result=result, location=self.loc(e), text=f"flow-ref {target}", kind="flow",
            library="none", arg_names=("payload", "vars", "attributes")))
        state = state.copy()
        returned = dw.Value((Inflow(Ref(result, "", ("payload",)), (), f"the payload flow {target} leaves"),))
        if e.attrs.get("target"):  # Mule 4.3+: the callee's payload into a variable, this payload kept
            self.output(state, returned, e, f"flow-ref {target}")
        else:
            self.set_payload(state, returned, e, f"returned by flow {target}")
        for name in list(state.vars):
            state.vars[name] = state.vars[name].union(
                dw.Value((Inflow(Ref(result, "", ("vars", name.lower())), (), f"vars.{name}"),)))
        state.calls = state.calls + (result,)
        return state

    def transform(self, e: Element, state: State) -> State:
        """ee:transform: every script reads the event as it came in; then the payload and variables
        are set."""
        results: list[tuple[str, dw.Value, Element]] = []
        for section in e.children:
            if section.ns != M.EE:
                continue
            if section.tag == "message":
                for part in section.children:
                    if part.ns == M.EE and part.tag == "set-payload":
                        results.append(("", self.transform_script(part, state), part))
            elif section.tag == "variables":
                for part in section.children:
                    name = part.attrs.get("variableName", "")
                    if part.ns == M.EE and part.tag == "set-variable" and name:
                        results.append((name, self.transform_script(part, state), part))
        if not results:
            return state
        state = state.copy()
        label = self.label(e, "ee:transform")
        for name, value, part in results:
            if name:
                self.set_var(state, name, value, part, f"stored in vars.{name} by {label}")
            else:
                self.set_payload(state, value, part, f"set as the payload by {label}")
        return state

    def transform_script(self, part: Element, state: State) -> dw.Value:
        resource = part.attrs.get("resource", "")
        if resource:
            if "#[" in resource:
                return dw.mentions("payload vars", state.payload, lambda n: self.var(state, n))
            return self.call_script(resource, part, state)
        text = part.text
        start = len(text) - len(text.lstrip())
        return self.evaluate(text, state, part, start, whole=True) if text.strip() else dw.NOTHING

    def call_script(self, resource: str, e: Element, state: State) -> dw.Value:
        """A DataWeave file of the app's resources (`resource="dw/x.dwl"`): a call, since the script
        is another file (lowered by `lower_dataweave`)."""
        fid = dwl_fid(self.app, resource)
        result = self.node("call", e)
        vars_flows = list(self.all_vars(state).flows)
        self.calls.append(Call(
            site=f"{self.path}:{e.line}:{e.col}", caller=self.fid, name=fid.rsplit(":", 1)[-1], receiver=(),
            static_type=fid[len("flow:"):], receiver_type="", args=(state.payload.flows, tuple(vars_flows),
                                                                     state.attributes.flows),
            arg_strs=((), (), ()), result=result, location=self.loc(e), text=f"DataWeave script {resource}",
            kind="flow", library="none", arg_names=("payload", "vars", "attributes")))
        return dw.Value((Inflow(Ref(result), (), f"the result of {resource}"),))

    def batch(self, e: Element, state: State) -> State:
        """batch:job: each step sees the records of the payload; the flow goes on with a job instance."""
        records = state.copy()
        for part in e.children:
            if part.ns == M.BATCH and part.tag == "process-records":
                for step in part.children:
                    if step.ns == M.BATCH and step.tag == "step":
                        records = self.batch_step(step, records)
            elif part.ns == M.BATCH and part.tag == "on-complete":
                done = state.copy()
                done.payload = dw.NOTHING
                self.sequence(part.children, done)
        after = state.copy()
        self.set_payload(after, dw.NOTHING, e, "batch job instance")
        return after

    def batch_step(self, step: Element, state: State) -> State:
        out = state
        for c in step.children:
            if c.ns == M.BATCH and c.tag == "aggregator":
                out = self.sequence(c.children, out)
            else:
                out = self.processor(c, out)
        return out

    # --- sources ------------------------------------------------------------------------------

    def source(self, e: Element, state: State) -> State:
        if e.ns == M.SALESFORCE and M.SF_LISTENER.match(e.tag):
            return self.salesforce_listener(e, state)
        if e.ns == M.SALESFORCE and M.SF_OBJECT_LISTENER.match(e.tag):
            self.use(e)
            obj = e.attrs.get(M.SF_OBJECT_ATTRIBUTE, "") or RUNTIME_OBJECT
            return self.read(e, state, obj, (("*",),), ("*",), f"salesforce:{e.tag} {obj}")
        if e.ns == M.HTTP and e.tag == M.HTTP_MODEL["listener"]:
            self.http_listener(e)
        elif e.ns == M.MCP and e.tag == M.MCP_MODEL["tool_listener"]:
            name = e.attrs.get("name", "")
            listener = self.mcp_servers.get(e.attrs.get("config-ref", ""), "")
            port = (("ref", Ref(config_node(self.app, listener, "port"))),) if listener else ()
            self.inbounds.append(InboundMeta(self.scope, "mcp-tool", name, (), port, self.fid, "", self.loc(e)))
        self.use(e)
        return state

    def http_listener(self, e: Element) -> None:
        path = e.attrs.get("path", "")
        config_name = e.attrs.get("config-ref", "")
        config = self.listener_configs.get(config_name)
        base = config.attrs.get("basePath", "") if config is not None else ""
        shown = "/" + "/".join(p.strip("/") for p in (base, path) if p.strip("/"))
        rest = ("/" + path.strip("/")) if path.strip("/") else ""
        full = (("ref", Ref(config_node(self.app, config_name, "basepath"))),) + self.attr_expr(rest) \
            if config_name else self.attr_expr(rest or "/")
        port = (("ref", Ref(config_node(self.app, config_name, "port"))),) if config_name else ()
        node = ""
        if self.reads_outbound:
            node = f"mule:{self.app}:outbound:{self.flow_name.lower()}#record"
            self.places.setdefault(f"{self.fid}#payload", []).append(
                (M.OUTBOUND_RECORD_PATH, Ref(node), "the outbound message's record"))
        self.inbounds.append(InboundMeta(self.scope, "http-listener", shown, full, port, self.fid, node, self.loc(e)))

    def salesforce_listener(self, e: Element, state: State) -> State:
        self.use(e)
        channel = next((e.attrs[a] for a in M.SF_CHANNEL_ATTRIBUTES if e.attrs.get(a)), "")
        obj = _channel_object(channel)
        state = state.copy()
        node = self.node("payload", e)
        how = f"salesforce:{e.tag} {channel}".strip()
        self.sources.append(Source(node, obj or RUNTIME_OBJECT, (("*",),), ("*",), how, self.loc(e)))
        if obj.lower().endswith("__e"):  # what the org's Apex and flows publish on the event
            self.assigns.append(Assign(Ref(node), (Inflow(Ref(f"E:{obj.lower()}"), (), obj),),
                                       f"delivered to {self.flow_display()} by {how}", self.loc(e), self.fid))
        state.payload = dw.Value((Inflow(Ref(node), (), "payload"),))
        self.inbounds.append(InboundMeta(self.scope, "salesforce-channel", channel, (), (), self.fid, "", self.loc(e)))
        return state

    # --- Salesforce operations ------------------------------------------------------------------

    def salesforce(self, e: Element, state: State) -> State:
        tag = e.tag
        if M.SF_LISTENER.match(tag):
            return self.salesforce_listener(e, state)
        self.use(e)
        label = self.label(e, f"salesforce:{tag}")
        if tag in M.SF_QUERY:
            child = next((c for c in e.children if c.ns == M.SALESFORCE and c.tag == M.SF["soql_child"]), None)
            soql = child.text if child is not None else e.attrs.get("salesforceQuery", "")
            obj, fields, display = _soql(soql)
            return self.read(e, state, obj, fields, display, label)
        if tag in M.SF_RETRIEVE:
            obj = e.attrs.get("type", "")
            child = next((c for c in e.children if c.ns == M.SALESFORCE and c.tag == M.SF["retrieve_child"]), None)
            names = _retrieve_fields(child.text) if child is not None else ()
            fields = tuple((n.lower(),) for n in names) or (("*",),)
            return self.read(e, state, obj or RUNTIME_OBJECT, fields, names or ("*",), label)
        if tag in M.SF_SEARCH:
            child = next((c for c in e.children if c.ns == M.SALESFORCE and c.tag == M.SF["sosl_child"]), None)
            found = _sosl(child.text if child is not None else "")
            state = state.copy()
            node = self.node("payload", e)
            for obj, fields, display in found or [(RUNTIME_OBJECT, (("*",),), ("*",))]:
                self.sources.append(Source(node, obj, fields, display, label, self.loc(e)))
            state.payload = dw.Value((Inflow(Ref(node), (), "payload"),))
            return state
        state = state.copy()  # writes and the rest: save results, not record data
        self.output(state, dw.NOTHING, e, label)
        return state

    def read(self, e: Element, state: State, obj: str, fields, display, label: str) -> State:
        state = state.copy()
        target = e.attrs.get("target", "")
        node = self.node(f"vars.{target.lower()}" if target else "payload", e)
        self.sources.append(Source(node, obj, fields, display, label, self.loc(e)))
        value = dw.Value((Inflow(Ref(node), (), f"the records of {label}"),))
        if target:
            target_value = e.attrs.get("targetValue", "")
            if target_value:
                inner = state.copy()
                inner.payload = value
                value = self.evaluate(target_value, inner, e)
                self.set_var(state, target, value, e, f"stored in vars.{target} by {label}")
            else:
                state.vars[target] = dw.Value((Inflow(Ref(node), (), f"vars.{target}"),))
        else:
            state.payload = dw.Value((Inflow(Ref(node), (), "payload"),))
        return state

    # --- sinks ----------------------------------------------------------------------------------

    def http_request(self, e: Element, state: State) -> State:
        self.use(e)
        config = e.attrs.get("config-ref", "")
        url = e.attrs.get("url", "")
        path = e.attrs.get("path", "")
        if url:
            expr = self.configured(self.attr_expr(url), "the url of Mule http:request")
        elif config:
            expr = (("ref", Ref(config_node(self.app, config, "url"))),) + (
                self.attr_expr("/" + path.lstrip("/")) if path and path != "/" else ())
        else:
            expr = (("unknown", "http:request without a config-ref or url"),) + self.attr_expr(path)
        method = e.attrs.get("method", "GET").upper()
        data = dw.NOTHING
        has_body = False
        shaped = ""
        for child in e.children:
            if child.ns == M.HTTP and child.tag in M.HTTP_DATA_CHILDREN:
                has_body = has_body or child.tag == "body"
                data = data.union(self.text_value(child, state))
                found = _LLM_BODY_KEY.search(child.text) if child.tag == "body" else None
                shaped = shaped or (found.group(1) if found else "")
        if not has_body:
            data = data.union(state.payload)
        request = self.node("request", e)
        api = self.label(e, "http:request")
        if shaped:  # `{ model: ..., messages: [...] }`: an LLM API call, whatever the host
            self.evidence.append(Evidence(Ref(request), f"key {shaped}", self.loc(e)))
        where = url or (f"{path} (config {config})" if config else path)
        self.request(request, data, e, api, f"{method} {where}".strip(), expr, "http")
        state = state.copy()
        response = self.node("response", e)
        self.requests.append(RequestMeta(self.scope, "http", expr, response, self.loc(e)))
        self.output(state, dw.Value((Inflow(Ref(response), (), "the response"),)), e, api)
        return state

    def request(self, node: str, data: dw.Value, e: Element, api: str, text: str, expr: StrExpr, kind: str) -> None:
        loc = self.loc(e)
        if data.flows:
            sent = dw.collapse(data, dw.SERIALIZED)
            self.assigns.append(Assign(Ref(node), sent.flows, f"sent by {api}", loc, self.fid))
        self.endpoints.append(EndpointSet(Ref(node), expr, loc, f"{api} {text}"))
        if kind != "http":  # an AI connector operation is an LLM request whatever host it is sent to
            self.evidence.append(Evidence(Ref(node), f"the shape of an AI connector operation ({api})", loc))
        self.sinks.append(Sink(Ref(node), kind, api, self.fid, loc, text))

    def ai_operation(self, e: Element, state: State, connector: M.Connector) -> State:
        self.use(e)
        config = e.attrs.get("config-ref", "")
        api = self.label(e, f"{connector.name}:{e.tag}")
        data = dw.NOTHING
        written = False
        for child in e.iter():
            if child is e or child.ns != e.ns or not child.text.strip():
                continue
            written = True
            data = data.union(self.text_value(child, state))
        for key, value in e.attrs.items():
            if key not in ("config-ref", "target", "targetValue") and "#[" in value:
                data = data.union(self.evaluate(value, state, e))
        if not written:
            data = data.union(state.payload)  # the operation's primary content defaults to the payload
        for child in e.iter():  # tools of an MCP client: their results go to the model too
            client = child.attrs.get("mcpClientConfigRef", "")
            if client:
                self.uses.append(ConnectorUseMeta(self.scope, client, self.loc(child)))
                data = data.union(dw.Value((Inflow(Ref(config_node(self.app, client, "results")), (),
                                                   f"tool results of MCP client {client}"),)))
        if connector.provider_by == "model":
            model = e.attrs.get(connector.model_attribute, "") or connector.model_default
            expr: StrExpr = (("model", self.attr_expr(model)),)
            text = f"model {model}"
            kind = "model"
        else:
            if not config:
                expr = (("unknown", f"{api} without a config-ref"),)
            elif connector.operation_path:
                expr = (("ref", Ref(config_node(self.app, config, "base"))),) + \
                    self.template(connector.operation_path, e.attrs)
            else:
                expr = (("ref", Ref(config_node(self.app, config, "url"))),)
            text = f"config {config}" if config else api
            kind = "llm"
        request = self.node("request", e)
        self.request(request, data, e, api, text, expr, kind)
        state = state.copy()
        self.output(state, dw.Value((Inflow(Ref(self.node("response", e)), (), "the model's answer"),)), e, api)
        return state


def _short_ns(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def _channel_object(channel: str) -> str:
    """/event/Loan_Event__e -> Loan_Event__e; /data/AccountChangeEvent -> Account;
    /data/Loan__ChangeEvent -> Loan__c; a PushTopic or /data/ChangeEvents -> "" (any object)."""
    parts = [p for p in channel.strip().split("/") if p]
    if len(parts) == 2 and parts[0] == "event":
        return parts[1]
    if len(parts) == 2 and parts[0] == "data" and parts[1] != "ChangeEvents":
        name = parts[1]
        if name.endswith("__ChangeEvent"):
            return name[: -len("__ChangeEvent")] + "__c"
        return name.removesuffix("ChangeEvent")
    return ""


_FROM = re.compile(r"\bfrom\s+([A-Za-z_]\w*)", re.IGNORECASE)


def _soql(text: str) -> tuple[str, tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """Object, field paths and fields as written of a SOQL query; every field of a run-time object
    when the query is an expression or unreadable."""
    soql = text.strip()
    if soql.startswith("#["):
        soql = soql[2:].rstrip("]")
    soql = PLACEHOLDER.sub("x", soql)
    obj, items = soql_select_items(soql)
    if obj:
        names = soql_fields(items)
        if any("FIELDS(" in n for n in names) or not names:
            return obj, (("*",),), ("*",)
        return obj, tuple(tuple(p.lower() for p in n.split(".")) for n in names), names
    m = _FROM.search(soql)
    return (m.group(1) if m else RUNTIME_OBJECT), (("*",),), ("*",)


_FIELDS_ARRAY = re.compile(r"\bfields\s*:\s*\[([^\]]*)\]", re.IGNORECASE)
_QUOTED = re.compile(r"""["']([A-Za-z_][\w.]*)["']""")


def _retrieve_fields(text: str) -> tuple[str, ...]:
    m = _FIELDS_ARRAY.search(text)
    return tuple(dict.fromkeys(_QUOTED.findall(m.group(1)))) if m else ()


_RETURNING = re.compile(r"\bRETURNING\s+(.*)$", re.IGNORECASE | re.DOTALL)
_SOSL_OBJECT = re.compile(r"([A-Za-z_]\w*)\s*(?:\(([^)]*)\))?")


def _sosl(text: str) -> list[tuple[str, tuple, tuple]]:
    m = _RETURNING.search(text)
    if not m:
        return []
    out = []
    for obj, inner in _SOSL_OBJECT.findall(m.group(1).split("]")[0]):
        if obj.upper() in ("LIMIT", "WHERE", "ORDER", "BY", "WITH", "UPDATE", "OFFSET", "ASC", "DESC"):
            break
        names = tuple(n.strip().split()[0] for n in inner.split(",") if n.strip()) if inner else ()
        names = tuple(n for n in names if re.fullmatch(r"[A-Za-z_][\w.]*", n) and n.upper() not in ("WHERE", "LIMIT"))
        out.append((obj, tuple((n.lower(),) for n in names) or (("*",),), names or ("*",)))
    return out


__all__ = ["WHAT", "config_node", "dwl_fid", "flow_fid", "lower_mule"]
