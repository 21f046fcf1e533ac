"""Aura component bundles -> facts: the LWC JavaScript lowering plus a small adapter.

A bundle is a folder `aura/<bundle>/`. Its files lower on their own (facts depend on one file):

  * `<bundle>.cmp` (or `.app`): only the root tag is read, for `controller="Cls"`. It becomes the
    class `aura:<bundle>` whose superclass is the Apex controller, so that link.py, which walks a
    class's ancestors for calls by parameter name, resolves `aura:<bundle>.summarize` to the
    controller's `summarize`. The markup is not parsed as XML: Aura allows HTML entities (`&nbsp;`).
  * `<bundle>Controller.js`, `<bundle>Helper.js`, `<bundle>Renderer.js`: an object literal of
    functions, `({ doInit: function(component, event, helper) { ... } })`. Each file is the class
    `aura:<bundle>:<role>` and each function a method of it, lowered by the LWC `Lowerer` (fetch,
    XMLHttpRequest and WebSocket sinks, promises, callbacks, JSON.stringify ... all as in LWC).

The adapter (names from data/lwc_models.toml [aura]):

  * `component.get("c.m")` assigned to a variable makes it a server action of method m; the
    action's `setParams({ accountId: id })` is a Call of `aura:<bundle>.m` by parameter name (an
    action enqueued without setParams is a Call without arguments). What the method returns lands in
    the action, and the callback of `action.setCallback(this, function (response) {...})` receives it
    (`response.getReturnValue()`).
  * `component.get("v.account.Name")` / `component.set("v.account", value)` read and write the
    attribute `account`, a node shared by the bundle's files (`F:aura:<bundle>:v.account`).
    `component` is the first parameter of every function of the literal.
  * `helper.format(component, x)` in a controller (the helper is a function's third parameter; a
    renderer's second) calls the helper file's function; in the helper itself it is `this.format`.

Left out (see the module's tests for what is covered): `<force:recordData>` fields (the markup
names fields without their object), attributes bound between components (`value="{!v.x}"`),
inherited controllers (`extends="c:base"`), application events (`$A.get("e.c:evt").setParams`),
`$A.get("e.force:navigateToURL")` as a sink, and actions passed to other functions before setParams.
"""
from __future__ import annotations

import dataclasses
import re

from tree_sitter import Node

from apexscan.engine.facts import Call, ClassInfo, FileFacts, Inflow, Ref
from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends.lwc import (
    FUNCTION_TYPES,
    Binding,
    Lowerer,
    Scope,
    _args,
    _key_name,
    _params_node,
    _string_value,
    lower_javascript,
)
from apexscan.salesforce import lwc_models as M

A = M.AURA
_ROLES = ("controller", "helper", "renderer")
_MARKUP_OPEN = re.compile(r"<\s*aura:(?:component|application)\b", re.IGNORECASE)
_MARKUP_TAG_REST = re.compile(r"((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")  # matched once, at the first opening
# A name, and its value when it has one. Matching the name alone too means a search never starts
# again inside a name it already read: a long name without `=` costs one pass, not one per letter.
_MARKUP_ATTR = re.compile(r"([\w:.-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'))?")
RESULT = "$result"  # where an action keeps what its Apex method returned


def lower_aura(path: str, data: bytes, *, strict: bool = False) -> FileFacts:
    """One file of an Aura bundle -> facts. Never raises except in strict mode."""
    if path.lower().endswith((".cmp", ".app")):
        return lower_markup(path, data)
    return lower_javascript(AuraLowerer, path, data, strict)


def aura_bundle(path: str) -> tuple[str, str]:
    """("bundle" as written, file role): `aura/clientBrief/clientBriefHelper.js` -> ("clientBrief", "helper");
    the role of the markup is "component"."""
    parts = path.replace("\\", "/").split("/")
    bundle = parts[-2] if len(parts) > 1 else parts[-1].rsplit(".", 1)[0]
    name = parts[-1].lower()
    role = next((r for r in _ROLES if name.endswith(f"{r}.js")), "component")
    return bundle, role


# --- markup ---------------------------------------------------------------------------------------


def lower_markup(path: str, data: bytes) -> FileFacts:
    """The class `aura:<bundle>`, whose superclass is the Apex class named by `controller=`."""
    bundle, _ = aura_bundle(path)
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")
    text = _without_comments(text)
    opening = _MARKUP_OPEN.search(text)
    root = _MARKUP_TAG_REST.match(text, opening.end()) if opening is not None else None
    if root is None:
        if not text.strip():
            return FileFacts(path=path, diagnostics=(Diagnostic(path, "parse", "empty file"),))
        return FileFacts(path=path, diagnostics=(Diagnostic(
            path, "parse", "no <aura:component> or <aura:application> root tag; bundle not linked to Apex",
            not_analysed=True),))
    controller, where = "", opening.start()
    for attr in _MARKUP_ATTR.finditer(root.group(1)):
        if attr.group(1).lower() == "controller" and attr.lastindex and attr.lastindex > 1:
            controller = (attr.group(2) if attr.group(2) is not None else attr.group(3)).strip()
            where = root.start(1) + attr.start()
    line = text.count("\n", 0, where) + 1
    col = where - (text.rfind("\n", 0, where) + 1) + 1
    info = ClassInfo(name=f"aura:{bundle.lower()}", display=bundle, kind="aura",
                     superclass=controller.rsplit(".", 1)[-1].lower(),  # ns.Cls: the project's class has no namespace
                     interfaces=(), fields=(), is_test=False, location=Location(path, line, col), any_arity=True)
    return FileFacts(path=path, classes=(info,))


# --- JavaScript -----------------------------------------------------------------------------------


class AuraLowerer(Lowerer):
    """The LWC lowering of one Aura JavaScript file, with the Aura idioms of the module docstring."""

    def __init__(self, path: str, src: bytes, strict: bool):
        super().__init__(path, src, strict)
        bundle, self.role = aura_bundle(path)
        self.bundle = bundle.lower()
        self.component_cls = f"aura:{self.bundle}"
        self.cls = f"{self.component_cls}:{self.role}"
        self.display = path.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]  # clientBriefController
        self.module_scope = Scope(f"{self.cls}.<module>/0", "", "", self.display)
        self.scope = self.module_scope
        self.component_nodes: set[str] = set()  # parameter nodes that hold the component
        self.helper_nodes: set[str] = set()  # parameter nodes that hold the helper
        self.actions: dict[str, str] = {}  # node of a variable holding a server action -> method as written
        self.sent: set[str] = set()  # action nodes whose Call is made (by setParams)

    def facts(self, diags: tuple[Diagnostic, ...]) -> FileFacts:
        facts = super().facts(diags)
        return dataclasses.replace(facts, classes=tuple(dataclasses.replace(c, kind="aura") for c in facts.classes))

    # --- the object literal ---------------------------------------------------------------------

    def module(self, root: Node) -> None:
        self.declare_module(root)
        self.functions.append(self.function_fact(self.module_scope.fid, "<module>", (), root, ()))
        literal = _literal(root)
        if literal is None:  # not the usual shape: lower it as a script
            for child in root.named_children:
                self.stmt(child)
            return
        members: list[tuple[Node, str, Node]] = []
        values: list[tuple[Node, str, Node]] = []
        for c in literal.named_children:
            if c.type == "pair":
                key, value = c.child_by_field_name("key"), c.child_by_field_name("value")
                name = _key_name(self, key, lower=False)
                if name and value is not None:
                    (members if value.type in FUNCTION_TYPES else values).append((c, name, value))
            elif c.type == "method_definition":  # doInit(component, event, helper) { ... }
                key = c.child_by_field_name("name")
                if key is not None:
                    members.append((c, self.text(key), c))
            elif c.type not in ("comment", "spread_element"):
                self.unknown(c)
        for _, name, fn in members:
            self.methods[name.lower()] = self.param_names(_params_node(fn))
        for _, name, _value in values:
            self.fields[name.lower()] = ""
        for _, name, value in values:
            with self.entered(self.module_scope):
                self.assign(Ref(self.field_node(name)), value, f"initialises {self.display}.{name}", value)
        helper_at = A.helper_param.get(self.role)
        for at, name, fn in members:
            params = self.methods[name.lower()]
            fid = f"{self.cls}.{name.lower()}/{len(params)}"
            if params and not params[0].startswith("$"):
                self.component_nodes.add(f"{fid}#{params[0]}")
            if helper_at is not None and len(params) > helper_at and not params[helper_at].startswith("$"):
                self.helper_nodes.add(f"{fid}#{params[helper_at]}")
            self.function(at, name, fn)

    # --- the adapter ----------------------------------------------------------------------------

    def assign(self, target: Ref, value: Node, verb: str, at: Node) -> None:
        method = self.action_of(value)
        if method and not target.path:
            self.actions[target.node] = method
        super().assign(target, value, verb, at)

    def method_call(self, n: Node, fn: Node, args: list[Node]) -> tuple[Inflow, ...]:
        obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
        if obj is None or prop is None:
            return super().method_call(n, fn, args)
        name = self.text(prop)
        if self.dotted(fn) in A.enqueue:
            return self.enqueue(n, args)
        holder = self.bound_node(obj)
        if holder in self.component_nodes and args:
            key = _string_value(self, args[0]) or ""
            if name == A.component_get and key.startswith(A.action_prefix):
                return ()  # a server action: its data flows through setParams and setCallback
            if key.startswith(A.attribute_prefix) and name in (A.component_get, A.component_set):
                attribute = self.attribute(key)
                if name == A.component_get:
                    return (Inflow(attribute, (), key),)
                value = self.arg_value(args[1]) if len(args) > 1 else ()
                self.add_assign(attribute, value, f"set into attribute {key}", n)
                return ()
        if holder in self.helper_nodes:
            return self.method_invoke(n, f"{self.component_cls}:helper", name.lower(), None,
                                      [self.arg_value(a) for a in args], [self.strexpr(a) for a in args])
        if holder in self.actions:
            if name == A.set_params:
                self.send(n, holder, args[0] if args else None)
                return ()
            if name == A.set_callback:
                result = (Inflow(Ref(holder, "", (RESULT,)), (), f"the response of c.{self.actions[holder]}"),)
                for i, a in enumerate(args):
                    target = self.function_value(self.unwrapped(a))
                    if target is None:
                        self.arg_value(a)
                    else:
                        self.invoke(target, [result], n, f":{i}" if i else "", "handed to the action's callback")
                return ()
        if name in A.no_flow_methods:
            self.tito(args)
            self.expr(obj)
            return ()
        return super().method_call(n, fn, args)

    def enqueue(self, n: Node, args: list[Node]) -> tuple[Inflow, ...]:
        """`$A.enqueueAction(action)`: an action without setParams is a Call without arguments."""
        holder = self.bound_node(args[0]) if args else None
        if holder in self.actions and holder not in self.sent:
            self.send(n, holder, None)
        elif args and self.action_of(args[0]):  # $A.enqueueAction(component.get("c.m"))
            self.send(n, "", None, self.action_of(args[0]))
        elif args:
            self.arg_value(args[0])
        for a in args[1:]:
            self.arg_value(a)
        return ()

    def send(self, n: Node, holder: str, params: Node | None, method: str = "") -> None:
        """A Call of the component's Apex method by parameter name; its result goes into the action."""
        method = method or self.actions[holder]
        names, values, strs = self.named_args([params], reactive=False) if params is not None else ((), (), ())
        result = self.temp(n)
        self.calls.append(Call(
            site=self.site(n), caller=self.scope.fid, name=method.lower(), receiver=(), static_type=self.component_cls,
            receiver_type="", args=values, arg_strs=strs, result=result, location=self.loc(n),
            text=self.short(n, 80), kind="call", library="tito", arg_names=names))
        if holder:
            self.sent.add(holder)
            self.add_assign(Ref(holder, "", (RESULT,)), (Inflow(Ref(result), (), f"what c.{method} returned"),),
                            "kept in the action for its callback", n)

    # --- helpers --------------------------------------------------------------------------------

    def action_of(self, n: Node | None) -> str:
        """The Apex method of `component.get("c.method")` as written; "" for anything else."""
        if n is None or n.type != "call_expression":
            return ""
        fn = n.child_by_field_name("function")
        if fn is None or fn.type != "member_expression":
            return ""
        obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
        args = _args(n)
        if obj is None or prop is None or self.text(prop) != A.component_get or not args:
            return ""
        key = _string_value(self, args[0]) or ""
        if self.bound_node(obj) not in self.component_nodes or not key.startswith(A.action_prefix):
            return ""
        return key[len(A.action_prefix):]

    def unwrapped(self, n: Node) -> Node:
        """`fn` for `$A.getCallback(fn)`, else `n`."""
        if n.type == "call_expression":
            fn, args = n.child_by_field_name("function"), _args(n)
            if fn is not None and len(args) == 1 and self.dotted(fn) in A.callback_wrappers:
                return args[0]
        return n

    def bound_node(self, n: Node) -> str | None:
        """The node of a plain variable or parameter (`component`, `action`), else None."""
        if n.type != "identifier":
            return None
        b: Binding | None = self.scope.lookup(self.text(n))
        return b.node if b is not None and b.kind == "value" else None

    def attribute(self, key: str) -> Ref:
        """`v.account.Name` -> the attribute node of `account`, path ("name",)."""
        head, *rest = key[len(A.attribute_prefix):].split(".")
        return Ref(f"F:{self.component_cls}:v.{head.lower()}", "", tuple(p.lower() for p in rest))


def _without_comments(text: str) -> str:
    """`<!-- ... -->` blanked (newlines kept), so positions stay right and a commented-out root tag
    is ignored; an unterminated comment runs to the end. Linear, whatever the input."""
    out, pos = [], 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        end = len(text) if end < 0 else end + 3
        out.append(text[pos:start])
        out.append(re.sub(r"[^\n]", " ", text[start:end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _literal(root: Node) -> Node | None:
    """The object literal of `({ ... })`, the whole content of an Aura JavaScript file."""
    for child in root.named_children:
        if child.type == "comment":
            continue
        node = child.named_children[0] if child.type == "expression_statement" and child.named_children else child
        while node.type == "parenthesized_expression" and node.named_children:
            node = node.named_children[0]
        return node if node.type == "object" else None
    return None
