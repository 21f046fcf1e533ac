"""Node.js service code (JavaScript and TypeScript) -> facts: the LWC JavaScript lowering
(frontends/lwc.py) with the module system, classes and libraries of a server.

A module (`services/nightly/src/summarise.ts`) is the class `js.services.nightly.src.summarise`,
named from its path without the extension (`index.ts` is its folder); each class declared in it is
`<module>.<class>` with its own methods (`constructor` is `<init>`) and fields. Relative imports
(`import { ask } from "./llm.js"`, `require("../db")`) name the other file's module class, and
CommonJS exports (`exports.run = function ...`) are module functions. Module classes have realm
"js" and take any number of arguments. TypeScript (grammars "typescript", "tsx") adds typed
parameters, which also say what a parameter holds (`conn: Connection` of jsforce), parameter
properties (`constructor(private openai: OpenAI)`), and type-only syntax, which is skipped.

Libraries come from data/service_models.toml, as in the Python frontend (frontends/python.py):
LLM clients (`new OpenAI({ baseURL })`, `new BedrockRuntimeClient({ region })` and its commands,
`generateText({ model: openai("gpt-4o") })`) whose value is their base URL, jsforce and Heroku
AppLink reads, node-postgres SQL on Heroku Connect tables, `fetch`/axios to the org's REST API, and
`process.env.X ?? "default"` as configuration. `fetch`, XMLHttpRequest and WebSocket are sinks as
in components.
"""
from __future__ import annotations

import posixpath
from dataclasses import replace

from tree_sitter import Node

from apexscan.engine.facts import Call, ClassInfo, FileFacts, Inflow, Ref, Source, StrDef, StrExpr
from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends import service_calls as SC
from apexscan.frontends.lwc import (
    FUNCTION_TYPES,
    Binding,
    Lowerer,
    Scope,
    _args,
    _key_name,
    _string_value,
    lower_javascript,
)
from apexscan.frontends.service_calls import Kind
from apexscan.salesforce import service_models as S

REALM = "js"
JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
CLASS_TYPES = ("class_declaration", "abstract_class_declaration", "class")
NODE_ROWS = ("rows",)  # node-postgres: `(await pool.query(sql)).rows`
MINIFIED_LINE = 5000  # characters: a line this long in the first 64 KB ...
MINIFIED_AVERAGE = 400  # ... in lines this long on average is a bundle, not source


def module_name(path: str) -> str:
    """`services/nightly/src/summarise.ts` -> "js.services.nightly.src.summarise"; an index file
    is its folder."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    stem = parts[-1]
    for suffix in JS_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    parts = parts[:-1] + ([] if stem.lower() == "index" else [stem])
    return ".".join([REALM] + [p.lower() for p in parts])


def lower_node(path: str, data: bytes, *, strict: bool = False) -> FileFacts:
    """Parse and lower one JavaScript or TypeScript file of a service. Never raises except in strict mode."""
    if not data.strip():
        return FileFacts(path=path)
    if _minified(data):
        return FileFacts(path=path, diagnostics=(Diagnostic(
            path, "parse", "minified or generated JavaScript (lines of thousands of characters); not analysed"),))
    lower = path.lower()
    grammar, lowerer = ("tsx", TsxLowerer) if lower.endswith(".tsx") else \
        ("typescript", TsLowerer) if lower.endswith((".ts", ".mts", ".cts")) else ("javascript", NodeLowerer)
    return lower_javascript(lowerer, path, data, strict, grammar)


class NodeLowerer(SC.ServiceFacts, Lowerer):
    """The LWC lowering of one server module, with modules, classes and libraries (see the docstring)."""

    FALSE_TYPES = ("false", "null", "undefined")

    def __init__(self, path: str, src: bytes, strict: bool):
        super().__init__(path, src, strict)
        self.module_cls = module_name(path)
        self.cls = self.module_cls
        stem = path.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0]
        self.display = self.module_display = stem if stem.lower() != "index" else self.module_cls.rsplit(".", 1)[-1]
        self.module_scope = Scope(f"{self.cls}.<module>/0", "", "", self.display)
        self.scope = self.module_scope
        self.queries = []
        self.kinds: dict[str, Kind] = {}
        self.kind_memo: dict[int, Kind | None] = {}  # call node id -> its kind
        self.class_members: dict[str, tuple[dict, dict, str, str]] = {}  # class -> (methods, fields, display, base)
        self.class_infos: list[ClassInfo] = []

    def facts(self, diags: tuple[Diagnostic, ...]) -> FileFacts:
        module = ClassInfo(name=self.module_cls, display=self.module_display, kind="node", superclass="",
                           interfaces=(), fields=(), is_test=False, location=Location(self.path, 1, 1),
                           any_arity=True, realm=REALM)
        return FileFacts(
            path=self.path, classes=(module,) + tuple(self.class_infos), functions=tuple(self.functions),
            assigns=tuple(self.assigns), strdefs=tuple(self.strdefs), calls=tuple(self.calls),
            sources=tuple(self.sources), queries=tuple(self.queries), endpoints=tuple(self.endpoints),
            evidence=tuple(self.evidence), sinks=tuple(self.sinks), diagnostics=diags)

    # --- modules --------------------------------------------------------------------------------

    def relative_module(self, spec: str) -> str:
        """The module class a relative import names, from this file's own path."""
        folder = posixpath.dirname(self.path.replace("\\", "/"))
        target = posixpath.normpath(posixpath.join(folder, spec))
        return module_name(target if target.lower().endswith(JS_SUFFIXES) else target + ".js")

    def import_binding(self, module: str, name: str) -> Binding:
        if module.startswith((".", "/")):
            other = self.relative_module(module)
            if name in ("default", "*"):
                return Binding("namespace", "", (other,))
            return Binding("import", f"F:{other}.{name.lower()}", (other, name.lower()))
        if module.startswith(("@salesforce/", "lightning/", "c/")):
            return super().import_binding(module, name)
        return Binding("library", "", (module if name == "*" else f"{module}.{name}",))

    def module(self, root: Node) -> None:
        super().module(root)
        module_fn = next(i for i, f in enumerate(self.functions) if f.fid == self.module_scope.fid)
        self.functions[module_fn] = replace(self.functions[module_fn], annotations=("module",))

    def declare_module(self, root: Node) -> None:
        super().declare_module(root)
        for child in root.named_children:
            decl = child.child_by_field_name("declaration") if child.type == "export_statement" else child
            if decl is None:
                continue
            if decl.type in ("lexical_declaration", "variable_declaration"):
                for d in decl.named_children:
                    if d.type == "variable_declarator":
                        self.declare_require(d, self.module_scope)
            elif decl.type == "function_declaration" and child.type == "export_statement" and \
                    any(c.type == "default" for c in child.children):
                name = decl.child_by_field_name("name")
                if name is not None:  # `export default function handler`: importers call it "default"
                    params = self.param_names(decl.child_by_field_name("parameters"))
                    self.methods["default"] = params
                    self.module_scope.names[self.text(name)] = Binding("method", "", (self.cls, "default", params))
            elif decl.type == "expression_statement" and decl.named_children:
                export = self.commonjs_export(decl.named_children[0])
                if export is not None:
                    self.declare_module_function(*export)
            elif decl.type == "import_alias" or decl.type == "import_require_clause":
                continue
        self.prepare_kinds(root)

    def declare_require(self, d: Node, scope: Scope) -> None:
        """`const x = require("m")`, `const { A, B: C } = require("m")`."""
        name, value = d.child_by_field_name("name"), d.child_by_field_name("value")
        module = _required(self, value)
        if name is None or module is None:
            return
        if name.type == "identifier":
            scope.names[self.text(name)] = self.import_binding(module, "default")
        elif name.type == "object_pattern":
            for c in name.named_children:
                if c.type == "shorthand_property_identifier_pattern":
                    scope.names[self.text(c)] = self.import_binding(module, self.text(c))
                elif c.type == "pair_pattern":
                    key, alias = c.child_by_field_name("key"), c.child_by_field_name("value")
                    if key is not None and alias is not None and alias.type == "identifier":
                        scope.names[self.text(alias)] = self.import_binding(module, _key_name(self, key, lower=False))

    def commonjs_export(self, n: Node) -> tuple[str, Node] | None:
        """`exports.run = function ...` / `module.exports.run = (...) => ...`: (name, function)."""
        if n.type != "assignment_expression":
            return None
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        if left is None or right is None or right.type not in FUNCTION_TYPES or left.type != "member_expression":
            return None
        obj, prop = left.child_by_field_name("object"), left.child_by_field_name("property")
        if obj is None or prop is None or self.text(obj) not in ("exports", "module.exports"):
            return None
        return self.text(prop), right

    def stmt_export_statement(self, n: Node) -> None:
        decl = n.child_by_field_name("declaration")
        if decl is not None and decl.type == "function_declaration" and any(c.type == "default" for c in n.children):
            self.function(decl, "default", decl)
            return
        super().stmt_export_statement(n)

    def stmt_expression_statement(self, n: Node) -> None:
        if self.scope is self.module_scope and n.named_children:
            export = self.commonjs_export(n.named_children[0])
            if export is not None:
                self.function(n, export[0], export[1])
                return
        self._walk(n)

    stmt_import_alias = stmt_interface_declaration = stmt_type_alias_declaration = Lowerer._skip
    stmt_ambient_declaration = stmt_enum_declaration = stmt_abstract_method_signature = Lowerer._skip
    stmt_function_signature = stmt_export_assignment = Lowerer._skip

    def stmt_lexical_declaration(self, n: Node) -> None:
        for d in n.named_children:
            if d.type == "variable_declarator" and _required(self, d.child_by_field_name("value")) is not None:
                if self.scope is not self.module_scope:
                    self.declare_require(d, self.scope)
                continue
            if d.type == "variable_declarator":
                self.env_destructuring(d)
        super().stmt_lexical_declaration(n)

    stmt_variable_declaration = stmt_lexical_declaration

    def env_destructuring(self, d: Node) -> None:
        """`const { OPENAI_BASE_URL = "https://..." } = process.env`."""
        name, value = d.child_by_field_name("name"), d.child_by_field_name("value")
        if name is None or value is None or name.type != "object_pattern" or self.dotted(value) not in S.ENV_MAPPINGS:
            return
        for c in name.named_children:
            key, default = (c, None) if c.type == "shorthand_property_identifier_pattern" else \
                (c.child_by_field_name("left"), c.child_by_field_name("right")) if c.type == "object_assignment_pattern" \
                else (None, None)
            if key is None:
                continue
            target = self.place(key) if key.type == "identifier" else Ref(self.local_node(self.text(key))
                                                                           if self.scope is not self.module_scope
                                                                           else self.field_node(self.text(key)))
            if target is not None:
                expr = SC.config_part(self.path, self.text(key), self.strexpr(default) if default is not None else ())
                self.strdefs.append(StrDef(target, (expr,), self.scope.fid))

    # --- classes: one class per declaration ------------------------------------------------------

    def class_id(self, n: Node) -> str:
        name = n.child_by_field_name("name")
        return f"{self.module_cls}.{self.text(name).lower()}" if name is not None else self.module_cls

    def declare_class(self, n: Node) -> None:
        cid = self.class_id(n)
        name = n.child_by_field_name("name")
        if cid == self.module_cls:  # `export default class extends ...`: the module's own
            super().declare_class(n)
            return
        methods, fields, _, _ = self.class_members.setdefault(
            cid, ({}, {}, self.text(name), self.base_class(n)))
        saved = (self.methods, self.fields, self.display)
        self.methods, self.fields = methods, fields
        try:
            super().declare_class(n)
        finally:
            self.methods, self.fields, self.display = saved
        scope = self.module_scope if self.scope is self.module_scope else self.scope
        scope.names[self.text(name)] = Binding("class", "", (cid,))

    def class_body(self, n: Node) -> None:
        cid = self.class_id(n)
        if cid not in self.class_members:
            if cid == self.module_cls:
                super().class_body(n)
                return
            self.declare_class(n)
        methods, fields, display, base = self.class_members[cid]
        saved = (self.cls, self.methods, self.fields, self.display)
        self.cls, self.methods, self.fields, self.display = cid, methods, fields, display
        try:
            self.constructor_kinds(n)
            super().class_body(n)
        finally:
            self.cls, self.methods, self.fields, self.display = saved
        name = n.child_by_field_name("name")
        self.class_infos.append(ClassInfo(
            name=cid, display=display, kind="node", superclass=base, interfaces=(),
            fields=tuple(sorted(fields.items())), is_test=False,
            location=self.loc(name) if name is not None else self.loc(n), any_arity=True, realm=REALM))

    def stmt_class_declaration(self, n: Node) -> None:
        self.class_body(n)

    stmt_abstract_class_declaration = stmt_class_declaration

    def base_class(self, n: Node) -> str:
        heritage = next((c for c in n.named_children if c.type == "class_heritage"), None)
        if heritage is None:
            return ""
        value = next((c for c in heritage.named_children if c.type != "implements_clause"), None)
        if value is not None and value.type == "extends_clause":
            value = value.child_by_field_name("value") or (value.named_children[0] if value.named_children else None)
        if value is None or value.type != "identifier":
            return ""
        b = self.module_scope.lookup(self.text(value))
        if b is not None and b.kind == "class":
            return b.detail[0]
        if b is not None and b.kind == "import":
            return f"{b.detail[0]}.{b.detail[1]}"
        return f"{self.module_cls}.{self.text(value).lower()}"

    def function(self, n: Node, name: str, fn: Node, annotations: tuple[str, ...] = (),
                 is_static: bool = False) -> str:
        return super().function(n, "<init>" if name == "constructor" else name, fn, annotations, is_static)

    def body(self, fn: Node, params_node: Node | None, params: tuple[str, ...], funcs=None) -> None:
        super().body(fn, params_node, params, funcs)
        if params_node is None or params_node.type == "identifier":
            return
        plist = [c for c in params_node.named_children if c.type != "comment"]
        for p, pname in zip(plist, params):
            node = self.local_node(pname)
            annotation = p.child_by_field_name("type")
            kind = self.type_kind(annotation) if annotation is not None else None
            if kind is not None:
                self.kinds[node] = kind
            if any(c.type == "accessibility_modifier" or c.type == "readonly" for c in p.children):
                field = self.field_node(pname)  # `constructor(private readonly conn: Connection)`
                self.fields.setdefault(pname, "")
                self.add_assign(Ref(field), (Inflow(Ref(node), (), pname),), f"kept in this.{pname}", p)
                self.strdefs.append(StrDef(Ref(field), (("ref", Ref(node)),), self.scope.fid))
                if kind is not None:
                    self.kinds[field] = kind

    def type_kind(self, annotation: Node) -> Kind | None:
        """`conn: Connection` (jsforce), `client: OpenAI`, `svc: LlmService`."""
        inner = annotation.named_children[0] if annotation.type == "type_annotation" and annotation.named_children \
            else annotation
        if inner.type == "generic_type":
            inner = inner.child_by_field_name("name") or inner
        if inner.type not in ("type_identifier", "identifier", "nested_type_identifier"):
            return None
        text = self.text(inner)
        b = self.scope.lookup(text.split(".", 1)[0])
        if b is None:
            return None
        if b.kind == "class":
            return Kind("instance", (b.detail[0],))
        if b.kind == "import":
            return Kind("instance", (f"{b.detail[0]}.{b.detail[1]}",))
        if b.kind == "library":
            q = b.detail[0] + text[len(text.split(".", 1)[0]):]
            return self.library_kind(q)
        return None

    # --- what library object a value is ---------------------------------------------------------------

    def prepare_kinds(self, root: Node) -> None:
        """Module constants made by a library constructor, before any body uses them."""
        for child in root.named_children:
            decl = child.child_by_field_name("declaration") if child.type == "export_statement" else child
            if decl is None or decl.type not in ("lexical_declaration", "variable_declaration"):
                continue
            for d in decl.named_children:
                name, value = d.child_by_field_name("name"), d.child_by_field_name("value")
                if d.type == "variable_declarator" and name is not None and name.type == "identifier":
                    kind = self.kind_of(value)
                    if kind is not None:
                        self.kinds[self.field_node(self.text(name))] = kind

    def constructor_kinds(self, cls: Node) -> None:
        """`this.client = new OpenAI()` in any method of the class, before its methods are lowered."""
        body = cls.child_by_field_name("body")
        stack = list(body.named_children) if body is not None else []
        while stack:
            n = stack.pop()
            if n.type == "assignment_expression":
                left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
                if left is not None and left.type == "member_expression":
                    obj, prop = left.child_by_field_name("object"), left.child_by_field_name("property")
                    if obj is not None and obj.type == "this" and prop is not None:
                        kind = self.kind_of(right)
                        if kind is not None:
                            self.kinds[self.field_node(self.text(prop))] = kind
            elif n.type in FIELD_VALUE_TYPES:
                prop = n.child_by_field_name("property") or n.child_by_field_name("name")
                kind = self.kind_of(n.child_by_field_name("value"))
                if kind is not None and prop is not None:
                    self.kinds[self.field_node(self.text(prop))] = kind
            if n.type not in CLASS_TYPES:
                stack.extend(n.named_children)

    def qualified(self, n: Node | None) -> str:
        """The dotted name of an expression rooted at a library import ("openai.default",
        "@aws-sdk/client-bedrock-runtime.InvokeModelCommand", "axios.default.post"), else ""."""
        if n is None:
            return ""
        if n.type == "identifier":
            b = self.scope.lookup(self.text(n))
            return b.detail[0] if b is not None and b.kind == "library" else ""
        if n.type == "member_expression":
            base = self.qualified(n.child_by_field_name("object"))
            prop = n.child_by_field_name("property")
            return f"{base}.{self.text(prop)}" if base and prop is not None else ""
        return ""

    def kind_of(self, n: Node | None) -> Kind | None:
        """What library object (or project class instance) `n` is; calls are memoised, as a
        builder chain `q.a().b()...` asks again for every link."""
        if n is None:
            return None
        if n.type in ("call_expression", "new_expression"):
            if n.id not in self.kind_memo:
                self.kind_memo[n.id] = self._kind_of(n)
            return self.kind_memo[n.id]
        return self._kind_of(n)

    def _kind_of(self, n: Node) -> Kind | None:
        t = n.type
        if t in ("await_expression", "parenthesized_expression", "as_expression", "non_null_expression",
                 "satisfies_expression") and n.named_children:
            return self.kind_of(n.named_children[0] if t != "parenthesized_expression" else n.named_children[-1])
        if t in ("identifier", "member_expression"):
            place = self.place_of_value(n) if t == "identifier" or n.child_by_field_name("object").type != "this" \
                else self.place(n)
            return self.kinds.get(place.node) if place is not None and not place.path else None
        if t == "new_expression":
            ctor = n.child_by_field_name("constructor")
            q = self.qualified(ctor)
            if q:
                return self.library_kind(q)
            if ctor is not None and ctor.type == "identifier":
                b = self.scope.lookup(self.text(ctor))
                if b is not None and b.kind == "class":
                    return Kind("instance", (b.detail[0],))
                if b is not None and b.kind == "import":
                    return Kind("instance", (f"{b.detail[0]}.{b.detail[1]}",))
            return None
        if t != "call_expression":
            return None
        fn = n.child_by_field_name("function")
        q = self.qualified(fn)
        if q:
            return self.library_kind(q)
        if fn is not None and fn.type == "member_expression":
            obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
            base = self.kind_of(obj)
            method = self.text(prop) if prop is not None else ""
            if base is not None and base.what == "sf" and method in base.detail[0].sobject[0]:
                found = self.find_arg(n, base.detail[0].sobject[1])
                name = _string_value(self, found) if found is not None else None
                return Kind("sobject", (base.detail[0], name or ""))
            if method == "pipe":  # LangChain `prompt.pipe(model)`
                for side in [obj] + _args(n):
                    kind = self.kind_of(side)
                    if kind is not None and kind.what == "llm":
                        return kind
        return None

    def assign(self, target: Ref, value: Node, verb: str, at: Node) -> None:
        super().assign(target, value, verb, at)
        if not target.path:
            kind = self.kind_of(value)
            if kind is not None:
                self.kinds.setdefault(target.node, kind)

    def stmt_return_statement(self, n: Node) -> None:
        if n.named_children and self.scope.ret:
            self.assign(Ref(self.scope.ret), n.named_children[0], f"returned from {self.scope.display}", n)

    # --- arguments --------------------------------------------------------------------------------

    def find_arg(self, call: Node, where: S.Args) -> Node | None:
        """The argument `where` names: a position, `0.url` (a key of a positional object), or a
        key of the call's object-literal arguments (`new OpenAI({ baseURL })`)."""
        args = _args(call)
        for name in where:
            head, _, key = name.partition(".")
            if head.isdigit():
                if int(head) < len(args):
                    return _object_value(self, args[int(head)], key) if key else args[int(head)]
                continue
            for a in args:
                found = _object_value(self, a, name)
                if found is not None:
                    return found
        return None

    def call_values(self, call: Node) -> tuple[Inflow, ...]:
        out: tuple[Inflow, ...] = ()
        for a in _args(call):
            out += self.arg_value(a)
        return out

    def map_value(self, n: Node, key: str) -> StrExpr | None:
        found = _object_value(self, n, key)
        return self.strexpr(found) if found is not None else None

    def literal(self, n: Node) -> str | None:
        return _string_value(self, n)

    # --- calls ----------------------------------------------------------------------------------

    def expr_call_expression(self, n: Node) -> tuple[Inflow, ...]:
        fn = n.child_by_field_name("function")
        if fn is None:
            return ()
        if fn.type == "await_expression" and fn.named_children:  # TypeScript: `await x.query<T>(...)`
            fn = fn.named_children[0]
        args_node = n.child_by_field_name("arguments")
        if args_node is not None and args_node.type == "template_string" and fn.type == "identifier" \
                and self.text(fn) in S.SQL.tagged_templates:  # postgres.js: sql`SELECT ...`
            self.expr(args_node)
            sql = self.strexpr(args_node)
            if SC.query_language(SC.literal_text(sql)) == "sql":
                return self.sql_read(n, sql, self.text(fn))
            return ()
        if _required(self, n) is not None:
            return ()
        q = self.qualified(fn)
        if q:
            handled = self.library_call(n, q)
            if handled is not None:
                return handled
        if fn.type == "identifier":
            b = self.scope.lookup(self.text(fn))
            if b is not None and b.kind == "namespace":  # the default export of a module, called
                return self.method_invoke(n, b.detail[0], "default", None, [self.arg_value(a) for a in _args(n)],
                                          [self.strexpr(a) for a in _args(n)])
        if fn.type == "member_expression":
            handled = self.service_method(n, fn)
            if handled is not None:
                return handled
        return super().expr_call_expression(n)

    def library_call(self, n: Node, q: str) -> tuple[Inflow, ...] | None:
        function = self.lookup(S.LLM_FUNCTIONS, q)
        if function is not None:
            return self.llm_function(n, function, q.rsplit(".", 1)[-1])
        url = self.lookup(S.HTTP_CALLS, q)
        if url is not None:
            return self.http_call(n, q.replace(".default", ""), url, ())
        return self.library_construction(n, q)

    def service_method(self, n: Node, fn: Node) -> tuple[Inflow, ...] | None:
        """A method call the service model knows: of a library object, a Salesforce read, an LLM
        request on any receiver, SQL text, a project class's instance; None for any other."""
        obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
        if obj is None or prop is None or obj.type in ("this", "super"):
            return None
        name = self.text(prop)
        steps = SC.method_chain(self, fn, "member_expression", "object", "property")
        for base, rest in steps:
            kind = self.kind_of(base)
            if kind is None:
                continue
            handled = self.kind_call(n, base, rest, kind)
            if handled is not None:
                return handled
            break
        if obj.type in ("member_expression", "identifier"):  # `org.dataApi.query`, `dataApi.query`
            holder = obj.child_by_field_name("property") if obj.type == "member_expression" else obj
            sf = S.SALESFORCE_RECEIVERS.get(self.text(holder)) if holder is not None else None
            method = sf.soql_method(name) if sf is not None else None
            if method is not None:
                return self.soql_call(n, method, f"{sf.provider} {name}") + self.expr(obj)
        fallback = self.fallback_llm_call(n, [(b, r) for b, r in steps if self.namespace_of(b) == ""])
        if fallback is not None:
            return fallback
        if name in S.SQL.methods:
            found = self.find_arg(n, ("0", "text"))
            text = self.strexpr(found) if found is not None else ()
            language = SC.query_language(SC.literal_text(text)) if text else ""
            if language == "soql" and name in ("query", "queryAll"):
                return self.soql_read(n, text, f"SOQL query ({name})", ("records",)) + self.expr(obj) + \
                    self.call_values(n)
            if language == "sql":
                return self.sql_read(n, text, name, NODE_ROWS) + self.expr(obj) + self.call_values(n)
        return None

    def base_value(self, base: Node) -> StrExpr:
        place = self.place_of_value(base) if base.type != "member_expression" or \
            base.child_by_field_name("object").type != "this" else self.place(base)
        return (("ref", place),) if place is not None else self.strexpr(base)

    def kind_call(self, n: Node, base: Node, rest: str, kind: Kind) -> tuple[Inflow, ...] | None:
        if kind.what in ("llm", "http"):
            return self.library_method(n, base, rest, kind)
        if kind.what == "sf":
            sf = kind.detail[0]
            parts = rest.split(".")
            method = sf.soql_method(parts[-1], ".".join(parts[:-1]))
            if method is not None:
                return self.soql_call(n, method, f"{sf.provider} {rest}") + self.expr(base)
            return None
        if kind.what == "sobject" and "." not in rest:
            return self.sobject_call(n, rest, kind.detail[0], kind.detail[1])
        if kind.what == "instance" and "." not in rest:
            receiver = self.expr(base)
            result = self.temp(n)
            args = _args(n)
            self.calls.append(Call(
                site=self.site(n), caller=self.scope.fid, name=rest.lower(), receiver=receiver, static_type="",
                receiver_type=kind.detail[0], args=tuple(self.arg_value(a) for a in args),
                arg_strs=tuple(self.strexpr(a) for a in args), result=result, location=self.loc(n),
                text=self.short(n, 80), kind="call", library="tito"))
            return (Inflow(Ref(result), (), self.short(n)),)
        return None

    def sobject_call(self, n: Node, method: str, sf: S.SalesforceClient, obj: str) -> tuple[Inflow, ...] | None:
        """`conn.sobject("Contact").find(conditions, ["Id", "Email"])`: records with those fields."""
        spec = next((m for m in sf.sobject_methods if method in m.methods), None)
        if spec is None:
            return None
        values = self.call_values(n)
        node = self.temp(n, ":record")
        how = f"{sf.provider} sobject({obj or '?'}).{method}"
        fields = None if spec.whole else self.field_list(n, spec.fields_arg.get(method, ""))
        paths = (("*",),) if not fields else tuple(tuple(p.lower() for p in f.split(".")) for f in fields)
        shown = ("*",) if not fields else tuple(fields)
        self.sources.append(Source(node, obj or "SObject", paths, shown, how, self.loc(n)))
        return (Inflow(Ref(node), (), self.short(n)),) + values

    def field_list(self, n: Node, position: str) -> tuple[str, ...] | None:
        """A jsforce field list: ["Id", "Email"], "Id, Email" or { Id: 1, Email: 1 }; None = every field."""
        found = self.find_arg(n, (position,)) if position else None
        if found is None:
            return None
        if found.type == "array":
            names = [_string_value(self, c) for c in found.named_children if c.type == "string"]
            return tuple(x for x in names if x) or None
        if found.type == "string":
            text = _string_value(self, found) or ""
            return tuple(f.strip() for f in text.split(",") if f.strip()) or None
        if found.type == "object":
            return tuple(_key_name(self, c.child_by_field_name("key"), lower=False) for c in found.named_children
                         if c.type == "pair") or None
        return None

    def expr_new_expression(self, n: Node) -> tuple[Inflow, ...]:
        ctor = n.child_by_field_name("constructor")
        q = self.qualified(ctor)
        if q:
            made = self.library_construction(n, q)
            if made is not None:
                return made
            if self.lookup(S.COMMANDS, q) is not None:
                return self.call_values(n)
        if ctor is not None and ctor.type == "identifier":
            b = self.scope.lookup(self.text(ctor))
            cid = b.detail[0] if b is not None and b.kind == "class" else \
                f"{b.detail[0]}.{b.detail[1]}" if b is not None and b.kind == "import" else ""
            if cid:
                result = self.temp(n)
                args = _args(n)
                self.calls.append(Call(
                    site=self.site(n), caller=self.scope.fid, name="<init>", receiver=(), static_type=cid,
                    receiver_type="", args=tuple(self.arg_value(a) for a in args),
                    arg_strs=tuple(self.strexpr(a) for a in args), result=result, location=self.loc(n),
                    text=self.short(n, 80), kind="new", library="tito"))
                return (Inflow(Ref(result), (), self.short(n)),)
        return super().expr_new_expression(n)

    def send_call(self, n: Node, spec, args: list[Node]) -> tuple[Inflow, ...]:
        """`fetch(url, init)`: a sink as in components; a read of the org's REST API returns records."""
        super().send_call(n, spec, args)
        if spec.url_arg >= len(args):
            return ()
        return self.rest_read(n, self.strexpr(args[spec.url_arg]), spec.api, S.REST.records)

    # --- switched-off code ------------------------------------------------------------------------

    def stmt_if_statement(self, n: Node) -> None:
        """`if (false) { ... }` and `if (DEBUG)` with `const DEBUG = false`: the branch never runs."""
        if self.constant_false(n.child_by_field_name("condition")):
            self.stmt(n.child_by_field_name("alternative"))
            return
        self._walk(n)

    def constant_false(self, n: Node | None) -> bool:
        if n is None:
            return False
        if n.type == "parenthesized_expression" and n.named_children:
            return self.constant_false(n.named_children[0])
        if n.type in ("false", "null", "undefined") or (n.type == "number" and self.text(n) == "0"):
            return True
        if n.type == "identifier" and self.scope.lookup(self.text(n)) is self.module_scope.names.get(self.text(n)):
            value = self.module_values.get(self.text(n))
            declaration = value.parent.parent if value is not None and value.parent is not None else None
            return value is not None and value.type == "false" and declaration is not None and \
                declaration.type == "lexical_declaration" and self.text(declaration).startswith("const")
        return False

    # --- TypeScript expressions ---------------------------------------------------------------------

    def _first_value(self, n: Node) -> tuple[Inflow, ...]:
        return self.expr(n.named_children[0]) if n.named_children else ()

    expr_as_expression = expr_satisfies_expression = expr_non_null_expression = _first_value

    def expr_type_assertion(self, n: Node) -> tuple[Inflow, ...]:
        return self.expr(n.named_children[-1]) if n.named_children else ()

    def expr_internal_module(self, n: Node) -> tuple[Inflow, ...]:
        self.stmt(n.child_by_field_name("body"))
        return ()

    expr_type_arguments = expr_type_annotation = Lowerer._no_value

    # --- string expressions ----------------------------------------------------------------------

    def _str_first(self, n: Node) -> StrExpr:
        return self.strexpr(n.named_children[0]) if n.named_children else self._str_unknown(n)

    str_as_expression = str_satisfies_expression = str_non_null_expression = _str_first

    def str_member_expression(self, n: Node) -> StrExpr:
        obj, prop = n.child_by_field_name("object"), n.child_by_field_name("property")
        if obj is not None and prop is not None and self.dotted(obj) in S.ENV_MAPPINGS:
            return (SC.config_part(self.path, self.text(prop)),)
        if obj is not None and prop is not None and obj.type == "identifier":
            b = self.scope.lookup(self.text(obj))
            if b is not None and b.kind == "value" and not b.node.startswith("F:") or \
                    b is not None and b.kind == "value" and self.kinds.get(b.node) is not None:
                return (("ref", Ref(b.node, "", (self.text(prop).lower(),))),)
        return super().str_member_expression(n)

    def str_subscript_expression(self, n: Node) -> StrExpr:
        obj, index = n.child_by_field_name("object"), n.child_by_field_name("index")
        key = _string_value(self, index) if index is not None and index.type == "string" else None
        if obj is not None and key is not None and self.dotted(obj) in S.ENV_MAPPINGS:
            return (SC.config_part(self.path, key),)
        return self._str_unknown(n)

    def str_binary_expression(self, n: Node) -> StrExpr:
        op = n.child_by_field_name("operator")
        if op is not None and self.text(op) in ("??", "||"):
            left = self.strexpr(n.child_by_field_name("left"))  # once: `a || b || c ...` nests deep
            right = self.strexpr(n.child_by_field_name("right"))
            if len(left) == 1 and left[0][0] == "config" and not left[0][3]:  # process.env.X ?? "default"
                return (left[0][:3] + (right,) + left[0][4:],)
            return (("choice", left, right),)
        return super().str_binary_expression(n)

    def str_new_expression(self, n: Node) -> StrExpr:
        ctor = n.child_by_field_name("constructor")
        q = self.qualified(ctor)
        command = self.lookup(S.COMMANDS, q)
        if command is not None:
            return SC.call_path(command.args, command.path, self.finder(n))
        made = self.library_strexpr(n, q) if q else None
        return made if made is not None else self._str_unknown(n)

    def str_call_expression(self, n: Node) -> StrExpr:
        fn = n.child_by_field_name("function")
        q = self.qualified(fn)
        made = self.library_strexpr(n, q) if q else None  # createOpenAI({ baseURL }), a model openai("gpt-4o")
        if made is not None:
            return made
        if fn is not None and fn.type == "identifier" and self.dotted(fn) in S.NODE.string_passthrough:
            args = _args(n)
            return self.strexpr(args[0]) if args else self._str_unknown(n)
        if fn is not None and fn.type == "member_expression":
            prop = fn.child_by_field_name("property")
            if prop is not None and self.text(prop) == "pipe":  # LangChain `prompt.pipe(model)`: the model's value
                for side in [fn.child_by_field_name("object")] + _args(n):
                    kind = self.kind_of(side)
                    if kind is not None and kind.what == "llm":
                        return self.base_value(side)
        if fn is not None and fn.type == "identifier":
            b = self.scope.lookup(self.text(fn))
            if b is not None and b.kind == "value" and self.kinds.get(b.node) is not None:
                return (("ref", Ref(b.node)),)  # myOpenAI("gpt-4o") of a provider made by createOpenAI
            if b is not None and b.kind in ("method", "import", "namespace"):
                return (("call", self.site(n)),)
        if fn is not None and fn.type == "member_expression":
            prop = fn.child_by_field_name("property")
            obj = fn.child_by_field_name("object")
            if self.namespace_of(obj) or (obj is not None and obj.type == "this" and prop is not None
                                          and self.text(prop).lower() in self.methods):
                return (("call", self.site(n)),)
        return super().str_call_expression(n)


class TsLowerer(NodeLowerer):
    """TypeScript: the same lowering over the "typescript" grammar (handlers are cached per grammar)."""


class TsxLowerer(TsLowerer):
    """TypeScript with JSX ("tsx" grammar)."""

    def _jsx(self, n: Node) -> tuple[Inflow, ...]:
        return self._children(n)

    expr_jsx_element = expr_jsx_self_closing_element = expr_jsx_expression = expr_jsx_fragment = _jsx
    expr_jsx_opening_element = expr_jsx_attribute = _jsx
    expr_jsx_closing_element = expr_jsx_text = expr_jsx_namespace_name = Lowerer._no_value


FIELD_VALUE_TYPES = ("field_definition", "public_field_definition")


# --- small pure helpers ---------------------------------------------------------------------------


def _minified(data: bytes) -> bool:
    """A bundle or minified file: a line of thousands of characters in a file of few lines (source
    with one long literal among ordinary lines is analysed)."""
    head = data[:65536]
    lines = head.split(b"\n")
    return any(len(line) > MINIFIED_LINE for line in lines) and len(head) / len(lines) > MINIFIED_AVERAGE


def _required(low: NodeLowerer, n: Node | None) -> str | None:
    """The module of `require("m")` (or `await import("m")`), else None."""
    if n is None:
        return None
    if n.type == "await_expression" and n.named_children:
        n = n.named_children[0]
    if n.type != "call_expression":
        return None
    fn = n.child_by_field_name("function")
    if fn is None or fn.type not in ("identifier", "import") or low.text(fn) not in ("require", "import"):
        return None
    if fn.type == "identifier" and low.scope.lookup("require") is not None:
        return None
    args = _args(n)
    return _string_value(low, args[0]) if args and args[0].type == "string" else None


def _object_value(low: NodeLowerer, n: Node, key: str) -> Node | None:
    """The value of `key` in an object literal (`{ key: v }`, `{ key }`), else None."""
    if n.type != "object":
        return None
    for c in n.named_children:
        if c.type == "pair" and _key_name(low, c.child_by_field_name("key"), lower=False) == key:
            return c.child_by_field_name("value")
        if c.type == "shorthand_property_identifier" and low.text(c) == key:
            return c
    return None


