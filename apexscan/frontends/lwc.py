"""Lightning Web Component JavaScript -> facts (tree-sitter grammar "javascript").

One module (`lwc/<bundle>/<file>.js`) is one class, `lwc:<bundle>`. Its methods, getters, setters
and module functions are Functions `lwc:<bundle>.<name>/<arity>`; class fields (`this.x`) and
module constants are heap nodes `F:lwc:<bundle>.<x>`; locals are `<fid>#<name>`, and names bound
inside a nested arrow function or callback carry that function's position (`<fid>#<name>@L.C`) so
two callbacks' `result` parameters stay apart. JavaScript names are case-sensitive, node ids are
lower-case like Apex's (two names differing only in case share a node: an over-approximation).

What the component reads:
  * Lightning Data Service wires (`@wire(getRecord, {fields: [EMAIL]}) contact`, GraphQL): each
    field is a Source on its own node, put where the UI API delivers it
    (`contact.data.fields.Email.value`); `getFieldValue(record, EMAIL)` reads it back.
  * Apex (`import m from '@salesforce/apex/Cls.m'`, imperative or wired): a Call by parameter name
    (`Call.arg_names` = the argument object's keys) whose result is what the Apex method returns;
    a wired property receives it as `.data`.
Where data leaves: `fetch`, `navigator.sendBeacon`, `XMLHttpRequest`, `WebSocket`, `EventSource`
(data/lwc_models.toml), each a Sink on a temporary node that receives the request's URL and body,
with an EndpointSet for the URL.

A schema import (`import EMAIL from '@salesforce/schema/Contact.Email'`) is a field *token*, not
the field's value: it is read statically where a wire or `getFieldValue` names it, and carries no
data itself (sending a list of field names is not sending client data).

Statements are handled by `stmt_<node type>` methods, expressions by `expr_<node type>` methods
returning the value as a tuple of `Inflow`s. Flow is insensitive to statement order within a
function; a callback's parameters receive the value it is called on (`.then(r => ...)`,
`.map(x => ...)`). Unknown node types walk their children, or raise under `strict=True`.
"""
from __future__ import annotations

import re
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from tree_sitter import Node

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
from apexscan.engine.limits import LIMIT
from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends.common import CONCAT, all_unknown, bounded, choice, get_field, unescape_js
from apexscan.frontends.parsing import parse, run_deep
from apexscan.frontends.visitor import StrictError, TreeLowerer, descendants  # noqa: F401  (StrictError: re-exported)
from apexscan.salesforce import lwc_models as M
from apexscan.salesforce.apex_models import LLM_BODY_KEYS, LLM_BODY_LITERAL

SERIALIZED = ("collapse", "serialized")
FUNCTION_TYPES = ("arrow_function", "function_expression", "generator_function")
PATTERN_TYPES = ("object_pattern", "array_pattern", "assignment_pattern", "rest_pattern")
# Class fields (TypeScript names them public_field_definition), and TypeScript members without a body.
FIELD_TYPES = ("field_definition", "public_field_definition")
SIGNATURE_TYPES = ("method_signature", "abstract_method_signature", "index_signature")


@dataclass(frozen=True, slots=True)
class Callable:
    """A function written inline (arrow, function expression, nested declaration)."""

    params: tuple[str, ...]  # the node each parameter lives in
    ret: str  # the node receiving what it returns ("" for a Promise's resolve)


@dataclass(frozen=True, slots=True)
class Binding:
    """What a name denotes.

    kind    value   a variable, parameter or module constant held in `node`
            func    an inline function: detail = (Callable,)
            method  a function of this module or class: detail = (class, name, parameter names)
            import  a name imported from another component module: detail = (class, name)
            namespace  `import * as m from 'c/m'`: detail = (class,)
            apex    an Apex method: detail = (class, method), lower-case
            schema  a field token: detail = (object, lower-case path, path as written)
            sobject an object token: detail = (object,)
            label   a Custom Label: detail = (name,)
            adapter a wire adapter, `gql` or a field reader: detail = (name as exported,)
            opaque  anything else imported: no data
    """

    kind: str
    node: str = ""
    detail: tuple = ()


@dataclass
class Scope:
    fid: str
    suffix: str  # "" for a function's own names, "@L.C" inside a nested function
    ret: str  # node receiving `return` values
    display: str
    names: dict[str, Binding] = field(default_factory=dict)
    parent: "Scope | None" = None

    def lookup(self, name: str) -> Binding | None:
        scope: Scope | None = self
        while scope is not None:
            b = scope.names.get(name)
            if b is not None:
                return b
            scope = scope.parent
        return None


def lower_lwc(path: str, data: bytes, *, strict: bool = False) -> FileFacts:
    """Parse and lower one LWC JavaScript file. Never raises except in strict mode."""
    return lower_javascript(Lowerer, path, data, strict)


def lower_javascript(lowerer: type, path: str, data: bytes, strict: bool, grammar: str = "javascript") -> FileFacts:
    """Parse one JavaScript (or TypeScript) file and lower it with `lowerer` (LWC's, or a subclass)."""
    tree, data, diags = parse(grammar, path, data)
    if tree is None:
        return FileFacts(path=path, diagnostics=diags)

    def lower():
        low = lowerer(path, data, strict)
        low.module(tree.root_node)
        return low.facts(diags)
    try:
        return lower()
    except RecursionError:
        pass
    try:  # code nested thousands deep: once more, with room for it
        return run_deep(lower)
    except RecursionError:
        return FileFacts(path=path, diagnostics=diags + (
            Diagnostic(path, LIMIT, "expressions or blocks nested too deeply to analyse; not analysed"),))


def bundle_of(path: str) -> str:
    """`force-app/main/default/lwc/myCmp/myCmp.js` -> "mycmp" (the folder under lwc/, else the parent)."""
    parts = path.replace("\\", "/").split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "lwc" and i + 1 < len(parts) - 1:
            return parts[i + 1].lower()
    return (parts[-2] if len(parts) > 1 else parts[-1].rsplit(".", 1)[0]).lower()


# Node types without a statement handler that are lowered as expressions.
EXPRESSION_TYPES = frozenset({"identifier", "member_expression", "call_expression", "this", "string", "number",
                              "template_string", "subscript_expression", "arrow_function", "object", "array",
                              "true", "false", "null", "undefined", "new_expression", "function_expression", "class"})


class Lowerer(TreeLowerer):
    EXPRESSION_TYPES = EXPRESSION_TYPES
    _walk, _skip = TreeLowerer._walk, TreeLowerer._skip  # named below for the handler aliases
    _no_value, _children = TreeLowerer._no_value, TreeLowerer._children

    def __init__(self, path: str, src: bytes, strict: bool):
        super().__init__(path, src, strict)
        self.bundle = bundle_of(path)
        self.cls = f"lwc:{self.bundle}"
        self.display = self.bundle
        self.functions: list[Function] = []
        self.assigns: list[Assign] = []
        self.strdefs: list[StrDef] = []
        self.calls: list[Call] = []
        self.sources: list[Source] = []
        self.endpoints: list[EndpointSet] = []
        self.evidence: list[Evidence] = []
        self.sinks: list[Sink] = []
        self.fields: dict[str, str] = {}  # declared class fields (lower) -> ""
        self.methods: dict[str, tuple[str, ...]] = {}  # class methods and module functions -> params
        self.module_values: dict[str, Node] = {}  # module constant -> its initializer
        self.requests: dict[str, M.RequestObject] = {}  # variable/field name (lower) -> request class
        self.keys: dict[str, set[str]] = defaultdict(set)  # node -> keys of objects stored in it
        self.module_scope = Scope(f"{self.cls}.<module>/0", "", "", self.bundle)
        self.scope = self.module_scope

    def facts(self, diags: tuple[Diagnostic, ...]) -> FileFacts:
        info = ClassInfo(name=self.cls, display=self.display, kind="lwc", superclass="", interfaces=(),
                         fields=tuple(sorted(self.fields.items())), is_test=False,
                         location=Location(self.path, 1, 1), any_arity=True)
        return FileFacts(
            path=self.path, classes=(info,), functions=tuple(self.functions),
            assigns=tuple(self.assigns), strdefs=tuple(self.strdefs), calls=tuple(self.calls),
            sources=tuple(self.sources), endpoints=tuple(self.endpoints),
            evidence=tuple(self.evidence), sinks=tuple(self.sinks), diagnostics=diags)

    # --- helpers --------------------------------------------------------------------------------

    def field_node(self, name: str) -> str:
        return f"F:{self.cls}.{name.lower()}"

    def local_node(self, name: str, scope: Scope | None = None) -> str:
        scope = scope or self.scope
        return f"{scope.fid}#{name.lower()}{scope.suffix}"

    def add_assign(self, target: Ref, value: tuple[Inflow, ...], verb: str, at: Node) -> None:
        if value:
            self.assigns.append(Assign(target, value, verb, self.loc(at), self.scope.fid))

    @contextmanager
    def entered(self, scope: Scope):
        saved = self.scope
        self.scope = scope
        try:
            yield scope
        finally:
            self.scope = saved

    # --- module: declarations first, then bodies ------------------------------------------------

    def module(self, root: Node) -> None:
        self.declare_module(root)
        self.functions.append(self.function_fact(self.module_scope.fid, "<module>", (), root, ()))
        for child in root.named_children:
            self.stmt(child)

    def declare_module(self, root: Node) -> None:
        """Bind imports, module constants and functions, and collect class members, before any body
        is lowered: a method may call one declared below it."""
        for child in root.named_children:
            decl = child
            if child.type == "export_statement":
                decl = child.child_by_field_name("declaration") or child.child_by_field_name("value")
                if decl is None:
                    continue
            if decl.type == "import_statement":
                self.declare_import(decl)
            elif decl.type in ("lexical_declaration", "variable_declaration"):
                for d in decl.named_children:
                    if d.type != "variable_declarator":
                        continue
                    name, value = d.child_by_field_name("name"), d.child_by_field_name("value")
                    if name is None:
                        continue
                    if name.type == "identifier" and value is not None and value.type in FUNCTION_TYPES:
                        self.declare_module_function(self.text(name), value)
                        continue
                    for ident in _pattern_names(name):
                        self.module_scope.names[self.text(ident)] = Binding("value", self.field_node(self.text(ident)))
                    if name.type == "identifier" and value is not None:
                        self.module_values[self.text(name)] = value
            elif decl.type in ("function_declaration", "generator_function_declaration"):
                name = decl.child_by_field_name("name")
                if name is not None:
                    self.declare_module_function(self.text(name), decl)
            elif decl.type in ("class_declaration", "class"):  # `export default class extends ...`
                self.declare_class(decl)
        for n in descendants(root, "new_expression"):
            ctor = n.child_by_field_name("constructor")
            spec = M.REQUEST_OBJECTS.get(self.text(ctor)) if ctor is not None else None
            if spec is None:
                continue
            holder = _holder_name(self, n)
            if holder:
                self.requests[holder] = spec

    def declare_module_function(self, name: str, n: Node) -> None:
        params = self.param_names(_params_node(n))
        self.methods[name.lower()] = params
        self.module_scope.names[name] = Binding("method", "", (self.cls, name.lower(), params))

    def declare_import(self, n: Node) -> None:
        source = n.child_by_field_name("source")
        clause = next((c for c in n.named_children if c.type == "import_clause"), None)
        if source is None or clause is None:
            return
        module = _string_value(self, source) or ""
        for part in clause.named_children:
            if part.type == "identifier":  # default import
                self.module_scope.names[self.text(part)] = self.import_binding(module, "default")
            elif part.type == "namespace_import":
                for ident in part.named_children:
                    self.module_scope.names[self.text(ident)] = self.import_binding(module, "*")
            elif part.type == "named_imports":
                for spec in part.named_children:
                    if spec.type != "import_specifier":
                        continue
                    name = spec.child_by_field_name("name")
                    alias = spec.child_by_field_name("alias") or name
                    if name is not None and alias is not None:
                        self.module_scope.names[self.text(alias)] = self.import_binding(module, self.text(name))

    def import_binding(self, module: str, name: str) -> Binding:
        if name == "default":
            for prefix in ("@salesforce/apex/", "@salesforce/apexContinuation/"):
                if module.startswith(prefix):
                    parts = module[len(prefix):].split(".")
                    if len(parts) >= 2:  # ns.Class.method: the project's class has no namespace
                        return Binding("apex", "", (parts[-2].lower(), parts[-1].lower()))
            if module.startswith("@salesforce/schema/"):
                parts = module[len("@salesforce/schema/"):].split(".")
                if len(parts) == 1:
                    return Binding("sobject", "", (parts[0],))
                return Binding("schema", "", (parts[0], tuple(p.lower() for p in parts[1:]), ".".join(parts[1:])))
            if module.startswith("@salesforce/label/"):
                label = module[len("@salesforce/label/"):]
                return Binding("label", "", (label[2:] if label.startswith("c.") else label,))
        if module.startswith(("lightning/", "@salesforce/apex")) and (
                name in M.ADAPTERS or name in M.FIELD_READERS or name == "gql"):
            return Binding("adapter", "", (name,))
        if module.startswith("c/") and name == "*":  # import * as utils from 'c/utils'
            return Binding("namespace", "", (f"lwc:{module[2:].split('/', 1)[0].lower()}",))
        if module.startswith("c/") and name != "default":
            other = f"lwc:{module[2:].split('/', 1)[0].lower()}"
            return Binding("import", f"F:{other}.{name.lower()}", (other, name.lower()))
        if module.startswith("./") and name != "default":  # another file of this bundle
            return Binding("import", self.field_node(name), (self.cls, name.lower()))
        return Binding("opaque")

    def declare_class(self, n: Node) -> None:
        name = n.child_by_field_name("name")
        if name is not None and self.display == self.bundle:
            self.display = self.text(name)
        body = n.child_by_field_name("body")
        for m in body.named_children if body is not None else ():
            member = m.child_by_field_name("name") or m.child_by_field_name("property")
            if member is None:
                continue
            mname = self.text(member).lower()
            if m.type == "method_definition":
                if _accessor_kind(m) == "":
                    self.methods[mname] = self.param_names(m.child_by_field_name("parameters"))
            elif m.type in FIELD_TYPES:
                value = m.child_by_field_name("value")
                if value is not None and value.type in FUNCTION_TYPES:
                    self.methods[mname] = self.param_names(_params_node(value))
                else:
                    self.fields[mname] = ""

    def param_names(self, params: Node | None) -> tuple[str, ...]:
        if params is None:
            return ()
        if params.type == "identifier":  # `x => ...`
            return (self.text(params).lower(),)
        out = []
        for i, p in enumerate(c for c in params.named_children if c.type != "comment"):
            p, _ = _parameter(p)
            if p.type == "rest_pattern" and p.named_children and p.named_children[0].type == "identifier":
                p = p.named_children[0]
            out.append(self.text(p).lower() if p.type == "identifier" else f"${i}")
        return tuple(out)

    # --- functions ------------------------------------------------------------------------------

    def function_fact(self, fid: str, name: str, params: tuple[str, ...], n: Node,
                      annotations: tuple[str, ...], is_static: bool = False, display: str = "") -> Function:
        return Function(fid=fid, cls=self.cls, name=name.lower(), display=display or f"{self.display}.{name}",
                        params=tuple(Param(p, "") for p in params), is_static=is_static,
                        annotations=tuple(sorted(set(annotations))), location=self.loc(n))

    def function(self, n: Node, name: str, fn: Node, annotations: tuple[str, ...] = (),
                 is_static: bool = False) -> str:
        """Lower a method, accessor or module function `fn` (its parameters and body); returns its fid."""
        params_node = _params_node(fn)
        params = self.param_names(params_node)
        fid = f"{self.cls}.{name.lower()}/{len(params)}"
        display = f"{self.display}.{name}"
        self.functions.append(self.function_fact(fid, name, params, n, annotations, is_static, display))
        scope = Scope(fid, "", f"{fid}#return", display, parent=self.module_scope)
        with self.entered(scope):
            self.body(fn, params_node, params)
        return fid

    def nested(self, fn: Node, funcs: dict[int, Callable] | None = None) -> Callable:
        """Lower an inline function in the current function; its names get the function's position.
        `funcs` binds parameters to functions (a Promise executor's `resolve`)."""
        scope = self.nested_scope(fn)
        params_node = _params_node(fn)
        params = self.param_names(params_node)
        with self.entered(scope):
            self.body(fn, params_node, params, funcs or {})
        return self.callable_of(fn)

    def nested_scope(self, fn: Node) -> Scope:
        (line, col) = fn.start_point
        suffix = f"@{line + 1}.{col + 1}"
        outer = self.scope
        return Scope(outer.fid, suffix, f"{outer.fid}#return{suffix}", outer.display, parent=outer)

    def callable_of(self, fn: Node) -> Callable:
        """The nodes of an inline function's parameters and result (known before its body is lowered)."""
        scope = self.nested_scope(fn)
        return Callable(tuple(self.local_node(p, scope) for p in self.param_names(_params_node(fn))), scope.ret)

    def body(self, fn: Node, params_node: Node | None, params: tuple[str, ...],
             funcs: dict[int, Callable] | None = None) -> None:
        scope = self.scope
        plist = [] if params_node is None else (
            [params_node] if params_node.type == "identifier" else
            [c for c in params_node.named_children if c.type != "comment"])
        for i, (p, pname) in enumerate(zip(plist, params)):
            node = self.local_node(pname)
            if funcs and i in funcs and p.type == "identifier":
                scope.names[self.text(p)] = Binding("func", "", (funcs[i],))
                continue
            p, default = _parameter(p)
            if p.type == "rest_pattern" and p.named_children:
                p = p.named_children[0]
            if p.type == "identifier":
                scope.names[self.text(p)] = Binding("value", node)
            else:
                self.predeclare_pattern(p)
                self.bind_pattern(p, (Inflow(Ref(node), (), pname),), "destructured into", p)
            if default is not None:
                self.add_assign(Ref(node), self.expr(default), f"default value of {pname}", default)
        body = fn.child_by_field_name("body")
        if body is None:
            return
        if body.type == "statement_block":
            self.predeclare(body)
            self.stmt(body)
        else:  # an arrow function's expression body is its return value
            self.add_assign(Ref(scope.ret), self.expr(body), f"returned from {scope.display}", body)

    def predeclare(self, block: Node) -> None:
        """Bind every name declared in a function body (not in nested functions) before lowering it."""
        stack = [block]
        while stack:
            n = stack.pop()
            t = n.type
            if t in ("lexical_declaration", "variable_declaration"):
                for d in n.named_children:
                    name = d.child_by_field_name("name") if d.type == "variable_declarator" else None
                    if name is not None:
                        self.predeclare_pattern(name)
            elif t in ("function_declaration", "generator_function_declaration"):
                name = n.child_by_field_name("name")
                if name is not None:  # hoisted: callable above its declaration
                    self.scope.names[self.text(name)] = Binding("func", "", (self.callable_of(n),))
            elif t == "catch_clause":
                param = n.child_by_field_name("parameter")
                if param is not None:
                    self.predeclare_pattern(param)
                stack.extend(n.named_children)
            elif t == "for_in_statement":
                left = n.child_by_field_name("left")
                if left is not None:
                    self.predeclare_pattern(left)
                stack.extend(n.named_children)
            elif t.endswith("statement") or t in ("statement_block", "else_clause", "switch_body",
                                                  "switch_case", "switch_default", "finally_clause"):
                stack.extend(n.named_children)

    def predeclare_pattern(self, p: Node) -> None:
        for ident in _pattern_names(p):
            self.scope.names.setdefault(self.text(ident), Binding("value", self.local_node(self.text(ident))))

    def bind_pattern(self, p: Node, value: tuple[Inflow, ...], verb: str, at: Node) -> None:
        """Destructuring: `{a, b: c} = v` reads v.a and v.b; `[x, y] = v` reads v's elements."""
        t = p.type
        if t in ("identifier", "member_expression", "subscript_expression"):
            target = self.place(p)
            if target is not None:
                self.add_assign(target, value, f"{verb} {self.short(p, 40)}", at)
        elif t == "object_pattern":
            for c in p.named_children:
                if c.type == "shorthand_property_identifier_pattern":
                    self.bind_pattern(c, get_field(value, self.text(c).lower(), self.text(c)), verb, at)
                elif c.type == "pair_pattern":
                    key, inner = c.child_by_field_name("key"), c.child_by_field_name("value")
                    name = _key_name(self, key)
                    if inner is not None:
                        self.bind_pattern(inner, get_field(value, name, self.short(c, 40)) if name else value, verb, at)
                elif c.type == "object_assignment_pattern":
                    left, right = c.child_by_field_name("left"), c.child_by_field_name("right")
                    if left is not None:
                        got = get_field(value, self.text(left).lower(), self.text(left)) if left.type.startswith(
                            "shorthand") else value
                        self.bind_pattern(left, got + (self.expr(right) if right is not None else ()), verb, at)
                elif c.type == "rest_pattern":
                    self.bind_pattern(c, value, verb, at)
                elif c.type != "comment":
                    self.unknown(c)
        elif t == "array_pattern":
            for c in p.named_children:
                if c.type != "comment":
                    self.bind_pattern(c, value, verb, at)
        elif t == "assignment_pattern":
            left, right = p.child_by_field_name("left"), p.child_by_field_name("right")
            if left is not None:
                self.bind_pattern(left, value + (self.expr(right) if right is not None else ()), verb, at)
        elif t == "rest_pattern":
            for c in p.named_children:
                self.bind_pattern(c, value, verb, at)
        elif t == "shorthand_property_identifier_pattern":
            b = self.scope.lookup(self.text(p))
            node = b.node if b is not None and b.kind == "value" else self.local_node(self.text(p))
            self.add_assign(Ref(node), value, f"{verb} {self.text(p)}", at)
        elif t == "ERROR":
            return
        else:
            self.unknown(p)

    # --- classes --------------------------------------------------------------------------------

    def class_body(self, n: Node) -> None:
        body = n.child_by_field_name("body")
        if body is None:
            return
        init_fid = f"{self.cls}.<fieldinit>/0"
        init = Scope(init_fid, "", f"{init_fid}#return", f"{self.display} fields", parent=self.module_scope)
        if not any(f.fid == init_fid for f in self.functions):
            self.functions.append(self.function_fact(init_fid, "<fieldinit>", (), n, ()))
        for m in body.named_children:
            if m.type == "method_definition":
                self.method(m, init)
            elif m.type in FIELD_TYPES:
                self.field(m, init)
            elif m.type == "class_static_block":
                with self.entered(init):
                    block = m.child_by_field_name("body")
                    if block is not None:
                        self.predeclare(block)
                        self.stmt(block)
            elif m.type in ("comment", "ERROR") or m.type in SIGNATURE_TYPES:
                continue
            else:
                self.unknown(m)

    def decorators(self, m: Node) -> tuple[tuple[str, ...], list[Node]]:
        """(annotation names, the @wire(...) call nodes) of a class member."""
        names, wires = [], []
        for d in m.children:
            if d.type != "decorator" or not d.named_children:
                continue
            expr = d.named_children[0]
            if expr.type == "call_expression":
                fn = expr.child_by_field_name("function")
                name = self.text(fn) if fn is not None else ""
                if name == "wire":
                    wires.append(expr)
            else:
                name = self.text(expr)
            names.append(name.lower())
        return tuple(names), wires

    def method(self, m: Node, init: Scope) -> None:
        name_node = m.child_by_field_name("name")
        if name_node is None:
            return
        name = self.text(name_node)
        annotations, wires = self.decorators(m)
        kind = _accessor_kind(m)
        is_static = any(c.type == "static" for c in m.children)
        if kind == "get":
            fid = self.function(m, name, m, annotations + ("getter",), is_static)
            self.assigns.append(Assign(Ref(self.field_node(name)), (Inflow(Ref(f"{fid}#return"), (), name),),
                                       f"returned by getter {name}", self.loc(name_node), fid))
            return
        fid = self.function(m, name, m, annotations + (("setter",) if kind == "set" else ()), is_static)
        params = self.param_names(m.child_by_field_name("parameters"))
        if kind == "set" and params:
            self.assigns.append(Assign(Ref(self.field_node(name)), (Inflow(Ref(f"{fid}#{params[0]}"), (), name),),
                                       f"set through setter {name}", self.loc(name_node), fid))
        for wire in wires:
            with self.entered(init):
                target = Ref(f"{fid}#{params[0]}") if params else None
                self.wire(wire, target, name)

    def field(self, m: Node, init: Scope) -> None:
        prop = m.child_by_field_name("property") or m.child_by_field_name("name")
        if prop is None:
            return
        name = self.text(prop)
        value = m.child_by_field_name("value")
        annotations, wires = self.decorators(m)
        is_static = any(c.type == "static" for c in m.children)
        if value is not None and value.type in FUNCTION_TYPES:
            self.function(m, name, value, annotations, is_static)
            return
        target = Ref(self.field_node(name))
        with self.entered(init):
            if value is not None:
                self.assign(target, value, f"initialises {self.display}.{name}", m)
            for wire in wires:
                self.wire(wire, target, name)

    # --- wires ----------------------------------------------------------------------------------

    def wire(self, call: Node, target: Ref | None, member: str) -> None:
        """`@wire(adapter, config) member`: Apex results and record fields delivered to `target`."""
        args = _args(call)
        if not args:
            return
        adapter = args[0]
        config = args[1] if len(args) > 1 else None
        b = self.scope.lookup(self.text(adapter)) if adapter.type == "identifier" else None
        if b is not None and b.kind == "apex":
            result = self.apex_call(call, b, [config] if config is not None else [], reactive=True)
            if target is not None:
                shown = "@" + self.short(call)
                self.add_assign(target, tuple(Inflow(i.ref, i.ops + (("put", "data"),), shown) for i in result),
                                f"wired into {member}.data", call)
            return
        if b is not None and b.kind == "adapter" and b.detail[0] in M.ADAPTERS:
            spec = M.ADAPTERS[b.detail[0]]
            if config is not None:
                self.expr(config)
            if target is not None:
                self.record_wire(call, spec, config, target, member)
            return
        if config is not None:
            self.expr(config)

    def record_wire(self, call: Node, spec: M.Adapter, config: Node | None, target: Ref, member: str) -> None:
        how = f"@wire({spec.name})"
        if spec.query_key:
            query = _config_value(self, config, spec.query_key) if config is not None else None
            text = self.gql_text(query)
            for alias, obj, paths in _graphql_selection(text) if text else ():
                for lpath, shown in paths:
                    self.field_source(call, target, obj, lpath, shown, spec, how, member, alias)
            return
        fields = self.wire_fields(config, spec) if config is not None else None
        wildcard = config is not None and any(_config_value(self, config, k) is not None for k in spec.wildcard_keys)
        if fields is None and wildcard:
            fields = []
        elif fields is None:  # the field list is computed at run time: every field token of the module
            fields = self.module_field_tokens()
            wildcard = not fields
        for obj, lpath, shown in fields:
            self.field_source(call, target, obj, lpath, shown, spec, how, member)
        if wildcard:
            objects = sorted({obj for obj, _, _ in fields} | {b.detail[0] for b in self.module_scope.names.values()
                                                              if b.kind == "sobject"}) or ["SObject"]
            for obj in objects:
                node = self.temp(call, f":{obj.lower()}.*")
                self.sources.append(Source(node, obj, (("*",),), ("*",), f"{how} (whole layout)", self.loc(call)))
                ops = _puts(spec.shape[: spec.shape.index("{field}")] if "{field}" in spec.shape else spec.shape)
                self.add_assign(target, (Inflow(Ref(node), ops, f"{obj} record"),), f"wired into {member}", call)

    def field_source(self, call: Node, target: Ref, obj: str, lpath: tuple[str, ...], shown: str,
                     spec: M.Adapter, how: str, member: str, result_key: str = "") -> None:
        node = self.temp(call, f":{obj.lower()}.{'.'.join(lpath)}")
        self.sources.append(Source(node, obj, (lpath,), (shown,), how, self.loc(call), scalar=True))
        shape = _expand(spec.shape, lpath, spec.join, result_key or obj.lower())
        self.add_assign(target, (Inflow(Ref(node), _puts(shape), f"{obj}.{shown}"),), f"wired into {member}", call)

    def wire_fields(self, config: Node, spec: M.Adapter) -> list[tuple[str, tuple[str, ...], str]] | None:
        """(object, lower path, path as written) of every field the config names; None if not static."""
        out: list[tuple[str, tuple[str, ...], str]] = []
        found = False
        for key in spec.field_keys:
            for value in _config_values(self, config, key):
                found = True
                listed = self.static_fields(value, 0)
                if listed is None:
                    return None
                out.extend(listed)
        return out if found else None

    def static_fields(self, n: Node, depth: int) -> list[tuple[str, tuple[str, ...], str]] | None:
        if depth > 4:
            return None
        if n.type == "array":
            out = []
            for c in n.named_children:
                if c.type == "comment":
                    continue
                inner = c.named_children[0] if c.type == "spread_element" and c.named_children else c
                got = self.static_fields(inner, depth + 1)
                if got is None:
                    return None
                out.extend(got)
            return out
        if n.type == "string":
            value = _string_value(self, n) or ""
            if value.startswith("$"):
                return None
            parts = value.split(".")
            return [(parts[0], tuple(p.lower() for p in parts[1:]), ".".join(parts[1:]))] if len(parts) > 1 else []
        if n.type in ("identifier", "shorthand_property_identifier"):  # `{ fields }` names a constant
            b = self.scope.lookup(self.text(n))
            if b is not None and b.kind == "schema":
                return [b.detail]
            if self.text(n) in self.module_values and b is not None and b.kind == "value" and b.node.startswith("F:"):
                return self.static_fields(self.module_values[self.text(n)], depth + 1)
        return None

    def module_field_tokens(self) -> list[tuple[str, tuple[str, ...], str]]:
        return sorted({b.detail for b in self.module_scope.names.values() if b.kind == "schema"})

    def gql_text(self, n: Node | None) -> str:
        """The text of a gql`...` query (or of a module constant holding one)."""
        if n is None:
            return ""
        if n.type == "identifier" and self.text(n) in self.module_values:
            return self.gql_text(self.module_values[self.text(n)])
        if n.type == "call_expression":
            args = n.child_by_field_name("arguments")
            if args is not None and args.type == "template_string":
                return self.text(args)[1:-1]
        if n.type in ("template_string", "string"):
            return self.text(n)[1:-1]
        return ""

    # --- statements -----------------------------------------------------------------------------

    stmt_program = stmt_statement_block = stmt_if_statement = stmt_else_clause = _walk
    stmt_while_statement = stmt_do_statement = stmt_try_statement = stmt_finally_clause = _walk
    stmt_switch_body = stmt_labeled_statement = stmt_with_statement = _walk
    stmt_parenthesized_expression = stmt_expression_statement = stmt_sequence_expression = _walk

    stmt_comment = stmt_ERROR = stmt_break_statement = stmt_continue_statement = _skip
    stmt_empty_statement = stmt_debugger_statement = stmt_hash_bang_line = stmt_import_statement = _skip
    stmt_statement_identifier = stmt_html_comment = _skip

    def stmt_export_statement(self, n: Node) -> None:
        decl = n.child_by_field_name("declaration")
        value = n.child_by_field_name("value")
        if decl is not None:
            self.stmt(decl)
        elif value is not None:
            if value.type in FUNCTION_TYPES:
                self.function(value, "default", value)
            elif value.type == "class":
                self.class_body(value)
            else:
                self.expr(value)

    def stmt_class_declaration(self, n: Node) -> None:
        if self.scope is self.module_scope:
            self.class_body(n)
        else:  # a class inside a function: its members still belong to the component
            self.declare_class(n)
            self.class_body(n)

    def stmt_function_declaration(self, n: Node) -> None:
        name = n.child_by_field_name("name")
        if name is None:
            return
        if self.scope is self.module_scope:
            self.function(n, self.text(name), n)
            return
        self.scope.names[self.text(name)] = Binding("func", "", (self.nested(n),))

    stmt_generator_function_declaration = stmt_function_declaration

    def stmt_lexical_declaration(self, n: Node) -> None:
        for d in n.named_children:
            if d.type == "variable_declarator":
                self.declarator(d)
            elif d.type not in ("comment",):
                self.unknown(d)

    stmt_variable_declaration = stmt_using_declaration = stmt_lexical_declaration

    def declarator(self, d: Node) -> None:
        name, value = d.child_by_field_name("name"), d.child_by_field_name("value")
        if name is None:
            return
        if value is None:
            if self.scope is not self.module_scope:
                self.predeclare_pattern(name)
            return
        if name.type == "identifier" and value.type in FUNCTION_TYPES:
            if self.scope is self.module_scope:
                self.function(d, self.text(name), value)
            else:
                self.scope.names[self.text(name)] = Binding("func", "", (self.nested(value),))
            return
        if name.type == "identifier":
            b = self.scope.lookup(self.text(name))
            target = Ref(b.node) if b is not None and b.kind == "value" else Ref(self.local_node(self.text(name)))
            if b is None:
                self.scope.names[self.text(name)] = Binding("value", target.node)
            self.assign(target, value, f"assigned to {self.text(name)}", d)
            return
        self.predeclare_pattern(name)
        self.bind_pattern(name, self.expr(value), "destructured into", d)

    def stmt_return_statement(self, n: Node) -> None:
        if n.named_children and self.scope.ret:
            value = n.named_children[0]
            self.add_assign(Ref(self.scope.ret), self.expr(value), f"returned from {self.scope.display}", n)

    def stmt_throw_statement(self, n: Node) -> None:
        for c in n.named_children:
            self.expr(c)

    def stmt_for_statement(self, n: Node) -> None:
        for c in n.named_children:
            if c.type == "statement_block" or c.type.endswith("statement") or c.type.endswith("declaration"):
                self.stmt(c)
            else:
                self.expr(c)

    def stmt_for_in_statement(self, n: Node) -> None:
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        op = n.child_by_field_name("operator")
        value = self.expr(right)
        if left is not None and op is not None and self.text(op) == "of":
            self.bind_pattern(left, value, "iterated as", n)
        self.stmt(n.child_by_field_name("body"))

    def stmt_catch_clause(self, n: Node) -> None:
        self.stmt(n.child_by_field_name("body"))

    def stmt_switch_statement(self, n: Node) -> None:
        self.expr(n.child_by_field_name("value"))
        self.stmt(n.child_by_field_name("body"))

    def stmt_switch_case(self, n: Node) -> None:
        value = n.child_by_field_name("value")
        for c in n.named_children:
            if value is not None and c.id == value.id:
                self.expr(c)
            else:
                self.stmt(c)

    stmt_switch_default = stmt_switch_case

    # --- assignment -----------------------------------------------------------------------------

    def assign(self, target: Ref, value: Node, verb: str, at: Node) -> None:
        inflows = self.expr(value)
        self.add_assign(target, inflows, verb, at)
        if not target.path:
            self.keys[target.node].update(_object_keys(self, value))
        s = self.strexpr(value)
        if s and not all_unknown(s):
            self.strdefs.append(StrDef(target, s, self.scope.fid))

    def place(self, n: Node) -> Ref | None:
        """The Ref written by an assignment's left-hand side (None when it cannot be named).
        Emits no facts: callers evaluate sub-expressions (an index) themselves."""
        t = n.type
        if t == "identifier":
            b = self.scope.lookup(self.text(n))
            if b is not None and b.kind == "value":
                return Ref(b.node)
            if b is not None and b.kind == "import":
                return Ref(b.node)
            node = self.local_node(self.text(n)) if self.scope is not self.module_scope else self.field_node(self.text(n))
            return Ref(node)  # an undeclared name: an implicit variable
        if t == "member_expression":
            obj, prop = n.child_by_field_name("object"), n.child_by_field_name("property")
            if obj is None or prop is None:
                return None
            if obj.type == "this":
                return Ref(self.field_node(self.text(prop)))
            base = self.place_of_value(obj)
            return Ref(base.node, base.type, base.path + (self.text(prop).lower(),)) if base is not None else None
        if t == "subscript_expression":
            obj, index = n.child_by_field_name("object"), n.child_by_field_name("index")
            base = self.place_of_value(obj) if obj is not None else None
            key = _string_value(self, index) if index is not None and index.type == "string" else None
            if base is not None and key is not None:
                return Ref(base.node, base.type, base.path + (key.lower(),))
            return base  # arrays and maps are transparent
        if t == "parenthesized_expression" and n.named_children:
            return self.place(n.named_children[0])
        return None

    def place_of_value(self, n: Node) -> Ref | None:
        if n.type in ("identifier", "member_expression", "subscript_expression", "parenthesized_expression"):
            if n.type == "identifier":
                b = self.scope.lookup(self.text(n))
                if b is None or b.kind not in ("value", "import"):
                    return None
            return self.place(n)
        return None

    # --- expressions ----------------------------------------------------------------------------

    expr_number = expr_true = expr_false = expr_null = expr_undefined = expr_regex = _no_value
    expr_comment = expr_ERROR = expr_this = expr_super = expr_meta_property = expr_import = _no_value
    expr_update_expression = expr_property_identifier = expr_private_property_identifier = _no_value
    expr_html_comment = expr_empty_statement = _no_value

    expr_array = expr_spread_element = expr_await_expression = expr_yield_expression = _children
    expr_parenthesized_expression = expr_arguments = expr_computed_property_name = _children

    def expr_sequence_expression(self, n: Node) -> tuple[Inflow, ...]:
        out: tuple[Inflow, ...] = ()
        for c in n.named_children:
            out = self.expr(c)
        return out

    def expr_string(self, n: Node) -> tuple[Inflow, ...]:
        found = LLM_BODY_LITERAL.search(self.text(n))
        if found is None:
            return ()
        temp = self.temp(n)  # hand-written JSON such as '{"model": "gpt-4o", "messages": ['
        self.evidence.append(Evidence(Ref(temp), f"JSON text {found.group(0)}", self.loc(n)))
        return (Inflow(Ref(temp), (), self.short(n)),)

    def expr_template_string(self, n: Node) -> tuple[Inflow, ...]:
        out: tuple[Inflow, ...] = self.expr_string(n)
        for c in n.named_children:
            if c.type == "template_substitution":
                out += _collapse(self._children(c))
        return out

    def expr_identifier(self, n: Node) -> tuple[Inflow, ...]:
        b = self.scope.lookup(self.text(n))
        if b is not None and b.kind in ("value", "import"):
            return (Inflow(Ref(b.node), (), self.text(n)),)
        return ()  # functions, Apex methods, field tokens, labels, globals: not data

    expr_shorthand_property_identifier = expr_identifier

    def expr_member_expression(self, n: Node) -> tuple[Inflow, ...]:
        obj, prop = n.child_by_field_name("object"), n.child_by_field_name("property")
        if obj is None or prop is None:
            return ()
        name = self.text(prop)
        if obj.type == "this":
            return (Inflow(Ref(self.field_node(name)), (), self.short(n)),)
        namespace = self.namespace_of(obj)
        if namespace:  # utils.CONSTANT of `import * as utils from 'c/utils'`
            return (Inflow(Ref(f"F:{namespace}.{name.lower()}"), (), self.short(n)),)
        base = self.expr(obj)
        if name in M.NO_FLOW_PROPERTIES:
            return ()
        return get_field(base, name.lower(), self.short(n))

    def expr_subscript_expression(self, n: Node) -> tuple[Inflow, ...]:
        index = n.child_by_field_name("index")
        self.expr(index)
        base = self.expr(n.child_by_field_name("object"))
        key = _string_value(self, index) if index is not None and index.type == "string" else None
        return get_field(base, key.lower(), self.short(n)) if key else base  # arrays are transparent

    def expr_binary_expression(self, n: Node) -> tuple[Inflow, ...]:
        op = n.child_by_field_name("operator")
        op_text = self.text(op) if op is not None else ""
        left = self.expr(n.child_by_field_name("left"))
        right = self.expr(n.child_by_field_name("right"))
        if op_text in M.NO_FLOW_OPERATORS:
            return ()
        if op_text == "+":
            return _collapse(left + right)
        return left + right  # arithmetic keeps the value; && || ?? return an operand

    def expr_unary_expression(self, n: Node) -> tuple[Inflow, ...]:
        op = n.child_by_field_name("operator")
        inner = self.expr(n.child_by_field_name("argument"))
        return () if op is not None and self.text(op) in ("!", "typeof", "void", "delete") else inner

    def expr_ternary_expression(self, n: Node) -> tuple[Inflow, ...]:
        self.expr(n.child_by_field_name("condition"))
        return self.expr(n.child_by_field_name("consequence")) + self.expr(n.child_by_field_name("alternative"))

    def expr_assignment_expression(self, n: Node) -> tuple[Inflow, ...]:
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        if left is None or right is None:
            return self.expr(right)
        if left.type in PATTERN_TYPES:
            value = self.expr(right)
            self.bind_pattern(left, value, "destructured into", n)
            return value
        target = self.place(left)
        if left.type == "subscript_expression":
            self.expr(left.child_by_field_name("index"))
        if target is None:
            self.expr(left)
            return self.expr(right)
        if len(target.path) == 1:
            self.keys[target.node].add(target.path[0])
        self.assign(target, right, f"assigned to {self.short(left, 40)}", n)
        return (Inflow(target, (), self.short(left)),)

    def expr_augmented_assignment_expression(self, n: Node) -> tuple[Inflow, ...]:
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        value = _collapse(self.expr(right))
        target = self.place(left) if left is not None else None
        if target is not None:
            self.add_assign(target, value, f"concatenated into {self.short(left, 40)}", n)
            return (Inflow(target, (), self.short(left)),)
        return value

    def expr_object(self, n: Node) -> tuple[Inflow, ...]:
        out: tuple[Inflow, ...] = ()
        llm_key = ""
        for c in n.named_children:
            if c.type == "pair":
                key, value = c.child_by_field_name("key"), c.child_by_field_name("value")
                name = _key_name(self, key)
                if key is not None and key.type == "computed_property_name":
                    self.expr(key)
                got = self.expr(value)
                if name:
                    if not llm_key and name in LLM_BODY_KEYS:
                        llm_key = self.text(key).strip("'\"")
                    got = tuple(Inflow(i.ref, i.ops + (("put", name),), i.text) for i in got)
                out += got
            elif c.type == "shorthand_property_identifier":
                name = self.text(c)
                if not llm_key and name.lower() in LLM_BODY_KEYS:
                    llm_key = name
                out += tuple(Inflow(i.ref, i.ops + (("put", name.lower()),), i.text) for i in self.expr_identifier(c))
            elif c.type == "spread_element":
                out += self._children(c)  # {...a}: a's fields, at the same level
            elif c.type == "method_definition":
                self.nested(c)
            elif c.type != "comment":
                self.unknown(c)
        if llm_key:
            temp = self.temp(n)
            self.evidence.append(Evidence(Ref(temp), f"key '{llm_key}'", self.loc(n)))
            out += (Inflow(Ref(temp), (), self.short(n)),)
        return out

    def expr_arrow_function(self, n: Node) -> tuple[Inflow, ...]:
        self.nested(n)
        return ()

    expr_function_expression = expr_generator_function = expr_arrow_function

    def expr_class(self, n: Node) -> tuple[Inflow, ...]:
        self.declare_class(n)
        self.class_body(n)
        return ()

    def expr_new_expression(self, n: Node) -> tuple[Inflow, ...]:
        ctor = n.child_by_field_name("constructor")
        args = _args(n)
        name = self.text(ctor) if ctor is not None else ""
        shadowed = ctor is not None and ctor.type == "identifier" and self.scope.lookup(name) is not None
        spec = None if shadowed else M.REQUEST_OBJECTS.get(name)
        if spec is not None:
            temp = self.temp(n)
            ref = Ref(temp, spec.constructor.lower())
            value: tuple[Inflow, ...] = ()
            if spec.url_arg is not None and len(args) > spec.url_arg:
                url = args[spec.url_arg]
                value += self.expr(url)
                self.endpoints.append(EndpointSet(ref, self.strexpr(url), self.loc(n), self.short(n, 100)))
            for i, a in enumerate(args):
                if i != spec.url_arg:
                    self.arg_value(a)
            self.add_assign(ref, value, f"put into the {spec.constructor} request", n)
            if not spec.send_method:
                self.sinks.append(Sink(ref, "http", spec.api, self.scope.fid, self.loc(n), self.short(n)))
            return (Inflow(ref, (), self.short(n)),)
        if name == "Promise" and not shadowed and args and args[0].type in FUNCTION_TYPES:
            temp = self.temp(n)  # new Promise((resolve) => resolve(x)): x is the promise's value
            self.nested(args[0], {0: Callable((temp,), "")})
            return (Inflow(Ref(temp), (), self.short(n)),)
        if ctor is not None and ctor.type not in ("identifier", "member_expression"):
            self.expr(ctor)
        out: tuple[Inflow, ...] = ()
        for a in args:
            out += self.arg_value(a)
        return out  # new Map(entries), new Blob([text]), new URLSearchParams(obj): hold their arguments

    # --- calls ----------------------------------------------------------------------------------

    def arg_value(self, a: Node) -> tuple[Inflow, ...]:
        """An argument's value; inline functions are lowered (their parameters receive nothing)."""
        if a.type in FUNCTION_TYPES:
            self.nested(a)
            return ()
        return self.expr(a)

    def expr_call_expression(self, n: Node) -> tuple[Inflow, ...]:
        fn = n.child_by_field_name("function")
        args_node = n.child_by_field_name("arguments")
        if fn is None:
            return ()
        if args_node is not None and args_node.type == "template_string":  # gql`...`, tagged templates
            self.expr(args_node)
            return ()
        args = _args(n)
        if fn.type == "identifier":
            b = self.scope.lookup(self.text(fn))
            if b is not None:
                handled = self.call_binding(n, b, args)
                if handled is not None:
                    return handled
            dotted = self.text(fn) if b is None or b.kind == "opaque" else ""
            return self.global_call(n, dotted, args) if dotted else self.tito(args)
        if fn.type == "member_expression":
            return self.method_call(n, fn, args)
        if fn.type in FUNCTION_TYPES:  # (() => { ... })()
            self.nested(fn)
            return self.tito(args)
        if fn.type in ("super", "import"):
            self.tito(args)
            return ()
        return self.expr(fn) + self.tito(args)

    def tito(self, args: list[Node]) -> tuple[Inflow, ...]:
        out: tuple[Inflow, ...] = ()
        for a in args:
            out += self.arg_value(a)
        return out

    def call_binding(self, n: Node, b: Binding, args: list[Node]) -> tuple[Inflow, ...] | None:
        if b.kind == "apex":
            return self.apex_call(n, b, args)
        if b.kind == "adapter" and b.detail[0] in M.FIELD_READERS:
            return self.field_read(n, M.FIELD_READERS[b.detail[0]], args)
        if b.kind == "method":
            return self.method_invoke(n, b.detail[0], b.detail[1], b.detail[2], [self.arg_value(a) for a in args],
                                      [self.strexpr(a) for a in args])
        if b.kind == "import":
            return self.method_invoke(n, b.detail[0], b.detail[1], None, [self.arg_value(a) for a in args],
                                      [self.strexpr(a) for a in args])
        if b.kind == "func":
            return self.invoke_callable(b.detail[0], [self.arg_value(a) for a in args], n)
        return None

    def global_call(self, n: Node, dotted: str, args: list[Node]) -> tuple[Inflow, ...]:
        """A call of a platform function by name (`fetch`, `JSON.stringify`, `Object.assign` ...)."""
        spec = M.SEND_CALLS.get(dotted)
        if spec is not None:
            return self.send_call(n, spec, args)
        if dotted in M.SERIALIZER_CALLS:
            return tuple(Inflow(i.ref, i.ops + (SERIALIZED,), self.short(n)) for i in self.tito(args))
        if dotted in M.NO_FLOW_CALLS:
            self.tito(args)
            return ()
        if dotted in M.MUTATOR_CALLS and args:
            values = [self.arg_value(a) for a in args]
            target = self.place_of_value(args[0])
            rest = tuple(i for v in values[1:] for i in v)
            if target is not None:
                self.add_assign(target, rest, f"{M.MUTATOR_CALLS[dotted]} {self.short(args[0], 40)}", n)
            return values[0] + rest
        return self.tito(args)

    def method_call(self, n: Node, fn: Node, args: list[Node]) -> tuple[Inflow, ...]:
        obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
        if obj is None or prop is None:
            return self.tito(args)
        name = self.text(prop)
        if obj.type == "this":
            if name.lower() in self.methods:
                return self.method_invoke(n, self.cls, name.lower(), self.methods[name.lower()],
                                          [self.arg_value(a) for a in args], [self.strexpr(a) for a in args])
            values = self.tito(args)
            return () if name in M.NO_FLOW_METHODS else values
        if obj.type == "super":
            self.tito(args)
            return ()
        namespace = self.namespace_of(obj)
        if namespace:
            return self.method_invoke(n, namespace, name.lower(), None, [self.arg_value(a) for a in args],
                                      [self.strexpr(a) for a in args])
        dotted = self.dotted(fn)
        if dotted:
            spec = M.SEND_CALLS.get(dotted)
            if spec is not None:
                return self.send_call(n, spec, args)
            if dotted in M.SERIALIZER_CALLS or dotted in M.NO_FLOW_CALLS or dotted in M.MUTATOR_CALLS:
                return self.global_call(n, dotted, args)
        if name in M.CALLBACKS:
            return self.callback_call(n, obj, name, args)
        receiver = self.expr(obj)
        request = self.request_receiver(obj)
        if request is not None:
            target = receiver[0].ref if len(receiver) == 1 and not receiver[0].ops else None
            if target is not None and name == request.url_method and len(args) > request.url_method_arg:
                url = args[request.url_method_arg]
                self.endpoints.append(EndpointSet(target, self.strexpr(url), self.loc(n), self.short(n, 100)))
                self.add_assign(target, self.tito(args), f"put into the {request.constructor} request", n)
                return ()
            if target is not None and name == request.send_method:
                self.add_assign(target, self.tito(args), f"sent by {request.api}", n)
                self.sinks.append(Sink(target, "http", request.api, self.scope.fid, self.loc(n), self.short(n)))
                return ()
        if name == "bind":
            self.tito(args)
            return receiver
        if name in M.MUTATORS:
            target = self.place_of_value(obj)
            values = self.tito(args)
            if target is not None:
                self.add_assign(target, values, f"{M.MUTATORS[name]} {self.short(obj, 40)}", n)
                if name in ("set", "append") and len(args) == 2 and not target.path:
                    self.strdefs.append(StrDef(target, (("mapentry", self.strexpr(args[0]), self.strexpr(args[1])),),
                                               self.scope.fid))
            return receiver + values
        values = self.tito(args)
        if name in M.NO_FLOW_METHODS:
            return ()
        if name in M.SERIALIZER_METHODS:
            return tuple(Inflow(i.ref, i.ops + (SERIALIZED,), self.short(n)) for i in receiver + values)
        return receiver + values  # str.trim(), JSON-ish helpers, response.json(): carry what they are given

    def namespace_of(self, n: Node) -> str:
        if n.type != "identifier":
            return ""
        b = self.scope.lookup(self.text(n))
        return b.detail[0] if b is not None and b.kind == "namespace" else ""

    def dotted(self, n: Node) -> str:
        """`window.navigator.sendBeacon` as written, when its base is a global (not a local name)."""
        if n.type == "identifier":
            b = self.scope.lookup(self.text(n))
            return self.text(n) if b is None or b.kind == "opaque" else ""
        if n.type == "member_expression":
            obj, prop = n.child_by_field_name("object"), n.child_by_field_name("property")
            if obj is None or prop is None or prop.type != "property_identifier":
                return ""
            base = self.dotted(obj)
            return f"{base}.{self.text(prop)}" if base else ""
        return ""

    def request_receiver(self, obj: Node) -> M.RequestObject | None:
        if obj.type == "identifier":
            return self.requests.get(self.text(obj).lower())
        if obj.type == "member_expression":
            inner, prop = obj.child_by_field_name("object"), obj.child_by_field_name("property")
            if inner is not None and inner.type == "this" and prop is not None:
                return self.requests.get(self.text(prop).lower())
        return None

    def callback_call(self, n: Node, obj: Node, name: str, args: list[Node]) -> tuple[Inflow, ...]:
        receives, returns = M.CALLBACKS[name]
        receiver = self.expr(obj)
        out: tuple[Inflow, ...] = ()
        others: tuple[Inflow, ...] = ()
        for i, a in enumerate(args):
            target = self.function_value(a)
            if target is None:
                others += self.expr(a)
                continue
            values = [receiver] * receives
            result = self.invoke(target, values, n, f":{i}" if i else "", f"handed to the .{name} callback")
            if returns in ("callback", "both"):
                out += result
        if name.startswith("reduce"):
            out += others  # the initial value of the accumulator
        if returns in ("receiver", "both"):
            out += receiver
        return out

    def function_value(self, a: Node):
        """The function an argument denotes: an inline Callable, a method, or None."""
        if a.type in FUNCTION_TYPES:
            return self.nested(a)
        if a.type == "identifier":
            b = self.scope.lookup(self.text(a))
            if b is not None and b.kind == "func":
                return b.detail[0]
            if b is not None and b.kind in ("method", "import"):
                return b
            return None
        if a.type == "member_expression":
            obj, prop = a.child_by_field_name("object"), a.child_by_field_name("property")
            if obj is not None and obj.type == "this" and prop is not None and self.text(prop).lower() in self.methods:
                name = self.text(prop).lower()
                return Binding("method", "", (self.cls, name, self.methods[name]))
            return None
        if a.type == "call_expression":  # this.handle.bind(this)
            fn = a.child_by_field_name("function")
            if fn is not None and fn.type == "member_expression":
                prop = fn.child_by_field_name("property")
                inner = fn.child_by_field_name("object")
                if prop is not None and self.text(prop) == "bind" and inner is not None:
                    return self.function_value(inner)
        return None

    def invoke(self, target, values: list[tuple[Inflow, ...]], n: Node, tag: str, verb: str) -> tuple[Inflow, ...]:
        if isinstance(target, Callable):
            return self.invoke_callable(target, values, n, verb)
        cls, name = target.detail[0], target.detail[1]
        params = target.detail[2] if target.kind == "method" else None
        return self.method_invoke(n, cls, name, params, values, [() for _ in values], tag)

    def invoke_callable(self, c: Callable, values: list[tuple[Inflow, ...]], n: Node,
                        verb: str = "passed to a local function") -> tuple[Inflow, ...]:
        for param, value in zip(c.params, values):
            self.add_assign(Ref(param), value, verb, n)
        return (Inflow(Ref(c.ret), (), self.short(n)),) if c.ret else ()

    def method_invoke(self, n: Node, cls: str, name: str, params: tuple[str, ...] | None,
                      values: list[tuple[Inflow, ...]], strs: list[StrExpr], tag: str = "") -> tuple[Inflow, ...]:
        """A call of a component method or module function: a Call fact resolved by link.py.

        Parameters are passed by name when the callee is declared in this file, so a JavaScript
        call with fewer or more arguments than parameters still binds the ones it passes."""
        names: tuple[str, ...] = ()
        if params:
            names = params
            values = (values + [()] * len(params))[: len(params)]
            strs = (strs + [()] * len(params))[: len(params)]
        elif params is not None:
            values, strs = [], []
        result = self.temp(n, tag)
        self.calls.append(Call(
            site=self.site(n, tag), caller=self.scope.fid, name=name, receiver=(), static_type=cls,
            receiver_type="", args=tuple(values), arg_strs=tuple(strs), result=result, location=self.loc(n),
            text=self.short(n, 80), kind="call", library="tito", arg_names=names))
        return (Inflow(Ref(result), (), self.short(n)),)

    def apex_call(self, n: Node, b: Binding, args: list[Node], reactive: bool = False) -> tuple[Inflow, ...]:
        """`method({ recordId: id })` of an Apex import: a Call by parameter name."""
        cls, method = b.detail
        names, values, strs = self.named_args(args, reactive)
        result = self.temp(n)
        self.calls.append(Call(
            site=self.site(n), caller=self.scope.fid, name=method, receiver=(), static_type=cls,
            receiver_type="", args=values, arg_strs=strs, result=result, location=self.loc(n),
            text=self.short(n, 80), kind="call", library="tito", arg_names=names))
        return (Inflow(Ref(result), (), self.short(n)),)

    def named_args(self, args: list[Node], reactive: bool):
        """(names, values, string expressions) of the object literal passed to an Apex method."""
        names: list[str] = []
        values: list[tuple[Inflow, ...]] = []
        strs: list[StrExpr] = []
        if not args:
            return (), (), ()
        a = args[0]
        for extra in args[1:]:
            self.arg_value(extra)
        if a.type == "object":
            for c in a.named_children:
                if c.type == "pair":
                    key, value = c.child_by_field_name("key"), c.child_by_field_name("value")
                    name = _key_name(self, key)
                    if not name or value is None:
                        self.expr(value)
                        continue
                    names.append(name)
                    if reactive:
                        got = self.reactive_value(value)
                        values.append(got)
                        reactive_ref = value.type == "string" and got
                        strs.append((("ref", got[0].ref),) if reactive_ref else self.strexpr(value))
                    else:
                        values.append(self.arg_value(value))
                        strs.append(self.strexpr(value))
                elif c.type == "shorthand_property_identifier":
                    names.append(self.text(c).lower())
                    values.append(self.expr_identifier(c))
                    strs.append(self.strexpr(c))
                elif c.type == "spread_element":
                    self.expr(c)
                elif c.type == "method_definition":
                    self.nested(c)
            return tuple(names), tuple(values), tuple(strs)
        value = self.expr(a)
        base = self.place_of_value(a)
        keys = sorted(self.keys.get(base.node, ())) if base is not None and not base.path else []
        if keys:  # params = { recordId: id }; params.notes = n; method(params)
            return (tuple(keys), tuple(get_field(value, k, f"{self.short(a, 30)}.{k}") for k in keys),
                    tuple(() for _ in keys))
        return (), (value,), (self.strexpr(a),)

    def reactive_value(self, n: Node) -> tuple[Inflow, ...]:
        """A wire config value: '$recordId' is the component's property recordId."""
        if n.type == "string":
            value = _string_value(self, n) or ""
            if value.startswith("$") and len(value) > 1:
                head, *rest = value[1:].split(".")
                return (Inflow(Ref(self.field_node(head), "", tuple(p.lower() for p in rest)), (), value),)
            return ()
        return self.expr(n)

    def field_read(self, n: Node, reader: tuple[tuple[str, ...], tuple[str, ...]], args: list[Node]) -> tuple[Inflow, ...]:
        """getFieldValue(record, FIELD): the field's value inside the record."""
        if not args:
            return ()
        record = self.expr(args[0])
        for a in args[1:]:
            self.expr(a)
        shape, join = reader
        path = self.field_path(args[1]) if len(args) > 1 else None
        if path is None:  # a field chosen at run time: any field of the record
            names = [s for s in shape[: shape.index("{field}")]] if "{field}" in shape else []
        else:
            names = _expand(shape, path, join, "")
        out = record
        for name in names:
            out = get_field(out, name.lower(), self.short(n))
        return out

    def field_path(self, n: Node) -> tuple[str, ...] | None:
        if n.type == "identifier":
            b = self.scope.lookup(self.text(n))
            return b.detail[1] if b is not None and b.kind == "schema" else None
        if n.type == "string":
            parts = (_string_value(self, n) or "").split(".")
            return tuple(p.lower() for p in parts[1:]) if len(parts) > 1 else None
        return None

    def send_call(self, n: Node, spec: M.SendCall, args: list[Node]) -> tuple[Inflow, ...]:
        """`fetch(url, { body })`: the URL and everything in the init object are sent."""
        temp = self.temp(n)
        ref = Ref(temp)
        value: tuple[Inflow, ...] = ()
        for i, a in enumerate(args):
            got = self.arg_value(a)
            if i == spec.url_arg:
                self.endpoints.append(EndpointSet(ref, self.strexpr(a), self.loc(n), self.short(n, 100)))
                value += got
            elif i == spec.data_arg:
                value += got
        self.add_assign(ref, value, f"sent by {spec.api}", n)
        self.sinks.append(Sink(ref, "http", spec.api, self.scope.fid, self.loc(n), self.short(n)))
        return ()  # the response holds what the server answered, not what was sent

    # --- string expressions (for endpoints) -----------------------------------------------------

    # `strexpr(n)` (visitor.py) dispatches to a `str_<node type>` handler per node type that can
    # name a string, ("unknown", text) for any other expression.

    def str_string(self, n: Node) -> StrExpr:
        value = _string_value(self, n)
        return (("lit", value),) if value is not None else self._str_unknown(n)

    def str_parenthesized_expression(self, n: Node) -> StrExpr:
        return self.strexpr(n.named_children[-1]) if n.named_children else self._str_unknown(n)

    def str_binary_expression(self, n: Node) -> StrExpr:
        op = n.child_by_field_name("operator")
        if op is not None and self.text(op) == "+":
            return self.strexpr(n.child_by_field_name("left")) + self.strexpr(n.child_by_field_name("right"))
        if op is not None and self.text(op) in ("||", "??"):
            return choice((self.strexpr(n.child_by_field_name("left")),
                           self.strexpr(n.child_by_field_name("right"))), self.short(n))
        return self._str_unknown(n)

    def str_ternary_expression(self, n: Node) -> StrExpr:
        return choice((self.strexpr(n.child_by_field_name("consequence")),
                       self.strexpr(n.child_by_field_name("alternative"))), self.short(n))

    def str_identifier(self, n: Node) -> StrExpr:
        b = self.scope.lookup(self.text(n))
        if b is not None and b.kind == "label":
            return (("label", b.detail[0]),)
        if b is not None and b.kind in ("value", "import"):
            return (("ref", Ref(b.node)),)
        return self._str_unknown(n)

    def str_member_expression(self, n: Node) -> StrExpr:
        obj, prop = n.child_by_field_name("object"), n.child_by_field_name("property")
        if obj is None or prop is None:
            return self._str_unknown(n)
        if obj.type == "this":
            return (("ref", Ref(self.field_node(self.text(prop)))),)
        namespace = self.namespace_of(obj)
        if namespace:
            return (("ref", Ref(f"F:{namespace}.{self.text(prop).lower()}")),)
        base = self.place_of_value(obj)
        if base is not None and not base.path:  # CONFIG.url with CONFIG = { url: '...' }
            return bounded((("mapget", base, (("lit", self.text(prop)),)),), self.short(n))
        return self._str_unknown(n)

    def str_object(self, n: Node) -> StrExpr:
        entries = []
        for c in n.named_children:
            if c.type == "pair":
                key, value = c.child_by_field_name("key"), c.child_by_field_name("value")
                name = _key_name(self, key, lower=False)
                if name:
                    entries.append(((("lit", name),), self.strexpr(value)))
        return bounded((("map", tuple(entries)),), self.short(n)) if entries else self._str_unknown(n)

    def str_call_expression(self, n: Node) -> StrExpr:
        fn = n.child_by_field_name("function")
        if fn is not None and fn.type == "member_expression":
            prop = fn.child_by_field_name("property")
            obj = fn.child_by_field_name("object")
            if prop is not None and obj is not None and self.text(prop) in ("toString", "trim"):
                return self.strexpr(obj)
        return self._str_unknown(n)

    def str_await_expression(self, n: Node) -> StrExpr:
        return self.strexpr(n.named_children[0]) if n.named_children else self._str_unknown(n)

    def str_template_string(self, n: Node) -> StrExpr:
        out: list[tuple] = []
        pos = n.start_byte + 1
        for c in n.named_children:
            if c.type != "template_substitution":
                continue
            if c.start_byte > pos:
                out.append(("lit", unescape_js(self.src[pos:c.start_byte].decode("utf-8", "replace"))))
            inner = c.named_children[0] if c.named_children else None
            part = self.strexpr(inner) if inner is not None else ()
            out.extend(part if part else (("unknown", self.short(c)),))
            pos = c.end_byte
        if n.end_byte - 1 > pos:
            out.append(("lit", unescape_js(self.src[pos:n.end_byte - 1].decode("utf-8", "replace"))))
        return tuple(out)


# --- small pure helpers ---------------------------------------------------------------------------


def _collapse(inflows: tuple[Inflow, ...]) -> tuple[Inflow, ...]:
    return tuple(Inflow(i.ref, i.ops + (CONCAT,), i.text) for i in inflows)


def _puts(shape_outer_first) -> tuple[tuple[str, str], ...]:
    """Ops that place a value at `a.b.c` (outermost first): put c, then b, then a."""
    return tuple(("put", s.lower()) for s in reversed(tuple(shape_outer_first)))


def _expand(shape: tuple[str, ...], path: tuple[str, ...], join: tuple[str, ...], obj: str) -> list[str]:
    out: list[str] = []
    for s in shape:
        if s == "{field}":
            for i, p in enumerate(path):
                if i:
                    out.extend(join)
                out.append(p)
        elif s == "{object}":
            out.append(obj)
        else:
            out.append(s)
    return out


def _string_value(low: Lowerer, n: Node) -> str | None:
    if n.type != "string":
        return None
    t = low.text(n)
    return unescape_js(t[1:-1]) if len(t) >= 2 else None


def _key_name(low: Lowerer, key: Node | None, lower: bool = True) -> str:
    """The static name of an object key (`a`, 'a', 1), or "" when computed."""
    if key is None:
        return ""
    if key.type in ("property_identifier", "number", "private_property_identifier"):
        name = low.text(key)
    elif key.type == "string":
        name = _string_value(low, key) or ""
    else:
        return ""
    return name.lower() if lower else name


def _object_keys(low: Lowerer, n: Node) -> set[str]:
    if n.type != "object":
        return set()
    out = set()
    for c in n.named_children:
        if c.type == "pair":
            name = _key_name(low, c.child_by_field_name("key"))
            if name:
                out.add(name)
        elif c.type == "shorthand_property_identifier":
            out.add(low.text(c).lower())
    return out


def _args(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    if args is None or args.type != "arguments":
        return []
    return [a for a in args.named_children if a.type != "comment"]


def _params_node(fn: Node) -> Node | None:
    return fn.child_by_field_name("parameters") or fn.child_by_field_name("parameter")


def _parameter(p: Node) -> tuple[Node, Node | None]:
    """A parameter's pattern and default value: `x = 1` in JavaScript, `x: T = 1` in TypeScript."""
    if p.type in ("required_parameter", "optional_parameter"):
        return p.child_by_field_name("pattern") or p, p.child_by_field_name("value")
    if p.type == "assignment_pattern":
        return p.child_by_field_name("left") or p, p.child_by_field_name("right")
    return p, None


def _accessor_kind(m: Node) -> str:
    """"get" or "set" for accessors, "" for ordinary methods."""
    for c in m.children:
        if c.type in ("get", "set") and not c.is_named:
            return c.type
        if c.type in ("property_identifier", "private_property_identifier", "computed_property_name"):
            break
    return ""


def _pattern_names(p: Node):
    """The identifiers a declaration pattern binds."""
    stack = [p]
    while stack:
        n = stack.pop()
        t = n.type
        if t in ("identifier", "shorthand_property_identifier_pattern"):
            yield n
        elif t == "pair_pattern":
            value = n.child_by_field_name("value")
            if value is not None:
                stack.append(value)
        elif t in ("assignment_pattern", "object_assignment_pattern"):
            left = n.child_by_field_name("left")
            if left is not None:
                stack.append(left)
        elif t in ("object_pattern", "array_pattern", "rest_pattern"):
            stack.extend(reversed(n.named_children))


def _holder_name(low: Lowerer, new: Node) -> str:
    """The variable or field (lower-case) a `new X()` is stored in: `const x = new X()`, `this.x = ...`."""
    parent = new.parent
    if parent is None:
        return ""
    if parent.type == "variable_declarator":
        name = parent.child_by_field_name("name")
        return low.text(name).lower() if name is not None and name.type == "identifier" else ""
    if parent.type in FIELD_TYPES:
        prop = parent.child_by_field_name("property") or parent.child_by_field_name("name")
        return low.text(prop).lower() if prop is not None else ""
    if parent.type == "assignment_expression":
        left = parent.child_by_field_name("left")
        if left is None:
            return ""
        if left.type == "identifier":
            return low.text(left).lower()
        if left.type == "member_expression":
            prop = left.child_by_field_name("property")
            return low.text(prop).lower() if prop is not None else ""
    return ""


def _config_value(low: Lowerer, config: Node | None, key: str) -> Node | None:
    """The value of `key` in a wire config object literal (shorthand `{ fields }` gives the name)."""
    if config is None or config.type != "object":
        return None
    for c in config.named_children:
        if c.type == "pair" and _key_name(low, c.child_by_field_name("key"), lower=False) == key:
            return c.child_by_field_name("value")
        if c.type == "shorthand_property_identifier" and low.text(c) == key:
            return c
    return None


def _config_values(low: Lowerer, config: Node, key: str):
    """Every value of `key` in the config, also inside nested objects and arrays (getRecords)."""
    stack = [config]
    while stack:
        n = stack.pop()
        if n.type == "object":
            for c in n.named_children:
                if c.type == "pair":
                    value = c.child_by_field_name("value")
                    if _key_name(low, c.child_by_field_name("key"), lower=False) == key and value is not None:
                        yield value
                    elif value is not None:
                        stack.append(value)
                elif c.type == "shorthand_property_identifier" and low.text(c) == key:
                    yield c
        elif n.type == "array":
            stack.extend(n.named_children)


# --- GraphQL selections -----------------------------------------------------------------------------

_GQL_TOKEN = re.compile(r'#[^\n]*|"(?:[^"\\]|\\.)*"|\.\.\.|[A-Za-z_][A-Za-z0-9_]*|\$\{[^}]*\}|[{}():]|\S')


def _graphql_selection(text: str) -> list[tuple[str, str, list[tuple[tuple[str, ...], str]]]]:
    """(result key, object, [(lower field path, path as written)]) for each object a UI API
    GraphQL query reads: `uiapi { query { Contact { edges { node { Name { value } } } } } }`."""
    tokens = [t for t in _GQL_TOKEN.findall(text) if not t.startswith("#")]
    tree = _gql_parse(tokens)
    out = []
    for uiapi in (c for c in tree if c[1] == "uiapi"):
        for query in (c for c in uiapi[2] if c[1] == "query"):
            for alias, obj, children in query[2]:
                paths: list[tuple[tuple[str, ...], str]] = []
                for edges in (c for c in children if c[1] == "edges"):
                    for node in (c for c in edges[2] if c[1] == "node"):
                        _gql_fields(node[2], (), paths)
                out.append((alias.lower(), obj, paths))
    return out


def _gql_fields(selection, prefix: tuple[str, ...], out: list) -> None:
    for alias, name, children in selection:
        if name in ("value", "displayValue", "__typename"):
            continue
        path = prefix + (name,)
        inner = [c for c in children if c[1] not in ("value", "displayValue", "__typename")]
        if inner:
            _gql_fields(inner, path, out)
        else:
            out.append((tuple(p.lower() for p in path), ".".join(path)))


def _gql_parse(tokens: list[str]):
    """The top selection set of a GraphQL document as nested (alias, name, children) tuples."""
    pos = 0
    while pos < len(tokens) and tokens[pos] != "{":
        pos += 1

    def selection_set(i: int):
        items = []
        i += 1  # past "{"
        while i < len(tokens) and tokens[i] != "}":
            tok = tokens[i]
            if tok == "...":  # fragment spread or inline fragment: its fields count too
                i += 1
                if i < len(tokens) and tokens[i] == "on":
                    i += 2
                elif i < len(tokens) and tokens[i] != "{":
                    i += 1
                    continue
                if i < len(tokens) and tokens[i] == "{":
                    inner, i = selection_set(i)
                    items.extend(inner)
                continue
            if not re.match(r"[A-Za-z_]", tok):
                i += 1
                continue
            alias = name = tok
            i += 1
            if i < len(tokens) and tokens[i] == ":" and i + 1 < len(tokens):
                name = tokens[i + 1]
                i += 2
            if i < len(tokens) and tokens[i] == "(":
                depth = 0
                while i < len(tokens):
                    depth += tokens[i] == "("
                    depth -= tokens[i] == ")"
                    i += 1
                    if depth == 0:
                        break
            children = []
            if i < len(tokens) and tokens[i] == "{":
                children, i = selection_set(i)
            items.append((alias, name, children))
        return items, i + 1

    if pos >= len(tokens):
        return []
    return selection_set(pos)[0]
