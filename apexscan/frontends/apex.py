"""Apex classes and triggers -> facts (tree-sitter grammar "apex", SOQL and SOSL included).

One `Lowerer` walks one file. Statements are handled by `stmt_<node type>` methods, expressions by
`expr_<node type>` methods returning the expression's value as a tuple of `Inflow`s; node types that
need no logic of their own share `_walk` (statements) or `_no_value` (expressions). Unknown node
types walk their children, or raise under `strict=True` (the test suite), so a grammar update
degrades gently and the tests still notice.

Everything decided here depends on this file alone; calls, field types of other classes and
endpoints are resolved in `link.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from apexscan.engine.facts import (
    Assign,
    Call,
    ClassInfo,
    DynamicQuery,
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
    StrPart,
)
from apexscan.engine.limits import LIMIT
from apexscan.engine.model import Diagnostic
from apexscan.frontends.common import CONCAT, all_unknown, bounded, choice, get_field, unescape_apex
from apexscan.frontends.parsing import parse, run_deep
from apexscan.frontends.visitor import StrictError, TreeLowerer, descendants, shorten  # noqa: F401  (StrictError: re-exported)
from apexscan.salesforce import agent_models as A
from apexscan.salesforce import apex_models as M

# Calls that read a collection held inside another: what is added to their result goes into it.
ELEMENT_ACCESSORS = frozenset({"get", "values"})


@dataclass
class Scope:
    """What a function body can see: its locals and parameters, with their declared types."""

    fid: str
    cls: str
    types: dict[str, str] = field(default_factory=dict)


@dataclass
class PlatformAction:
    """`Invocable.Action.createCustomAction(type, name)` / `createStandardAction(type)` held in a
    variable until `invoke()`: what runs, and the inputs set on it so far."""

    kind: str  # agent_models.TARGET_KINDS value ("apex", "flow", "template", "agent") or the raw type
    target: str  # the class, flow, template or agent name; "" for a standard action
    inputs: list[tuple[str, tuple[Inflow, ...]]] = field(default_factory=list)  # (lower-case name, value)
    whole: list[tuple[Inflow, ...]] = field(default_factory=list)  # setInvocations(maps): every input


@dataclass
class ClassCtx:
    name: str  # lower-case qualified
    display: str
    fields: dict[str, str]  # own fields: lower name -> lower type
    outer: "ClassCtx | None"
    trigger_object: str = ""
    superclass: str = ""  # lower-case, as written
    visible: set[str] | None = None  # own and enclosing classes' field names, computed once


def lower_apex(path: str, data: bytes, *, strict: bool = False) -> FileFacts:
    """Parse and lower one .cls or .trigger file. Never raises except in strict mode."""
    tree, data, diags = parse("apex", path, data)
    if tree is None:
        return FileFacts(path=path, diagnostics=diags)

    def lower() -> Lowerer:
        low = Lowerer(path, data, strict)
        low.file(tree.root_node)
        return low
    try:
        return lower().facts(diags)
    except RecursionError:
        pass
    try:  # code nested thousands deep: once more, with room for it
        return run_deep(lower).facts(diags)
    except RecursionError:
        return FileFacts(path=path, diagnostics=diags + (
            Diagnostic(path, LIMIT, "expressions or blocks nested too deeply to analyse; not analysed"),))


# Node types without a statement handler that are lowered as expressions.
EXPRESSION_TYPES = frozenset({"identifier", "field_access", "method_invocation", "this", "super",
                              "explicit_constructor_invocation"})


class Lowerer(TreeLowerer):
    EXPRESSION_TYPES = EXPRESSION_TYPES
    _walk, _skip = TreeLowerer._walk, TreeLowerer._skip  # named below for the handler aliases
    _no_value, _children = TreeLowerer._no_value, TreeLowerer._children

    def __init__(self, path: str, src: bytes, strict: bool):
        super().__init__(path, src, strict)
        self.classes: list[ClassInfo] = []
        self.functions: list[Function] = []
        self.assigns: list[Assign] = []
        self.strdefs: list[StrDef] = []
        self.calls: list[Call] = []
        self.sources: list[Source] = []
        self.queries: list[DynamicQuery] = []
        self.endpoints: list[EndpointSet] = []
        self.evidence: list[Evidence] = []
        self.sinks: list[Sink] = []
        self.cls: ClassCtx | None = None
        self.test_classes: set[str] = set()  # names of the test classes declared so far
        self.scope: Scope | None = None
        self.fn_display = ""
        # Maps with literal keys, for inputs passed by name (a flow's input variables): the pairs of
        # each map literal (by node id), and the entries put into each variable's map.
        self.map_pairs: dict[int, list[tuple[str, tuple[Inflow, ...]]]] = {}
        self.map_entries: dict[str, list[tuple[str, tuple[Inflow, ...]]]] = {}
        self.actions: dict[str, PlatformAction] = {}  # node holding an Invocable.Action -> what it runs

    def facts(self, diags: tuple[Diagnostic, ...]) -> FileFacts:
        return FileFacts(
            path=self.path, classes=tuple(self.classes), functions=tuple(self.functions),
            assigns=tuple(self.assigns), strdefs=tuple(self.strdefs), calls=tuple(self.calls),
            sources=tuple(self.sources), queries=tuple(self.queries), endpoints=tuple(self.endpoints),
            evidence=tuple(self.evidence), sinks=tuple(self.sinks), diagnostics=diags)

    # --- helpers --------------------------------------------------------------------------------

    # --- declarations ---------------------------------------------------------------------------

    def file(self, root: Node) -> None:
        for child in root.named_children:
            self.declaration(child, None)

    def declaration(self, n: Node, outer: ClassCtx | None) -> None:
        kind = n.type
        if kind in ("class_declaration", "interface_declaration", "enum_declaration"):
            self.class_decl(n, outer)
        elif kind == "trigger_declaration":
            self.trigger_decl(n)
        elif kind in ("comment", "line_comment", "block_comment", "ERROR"):
            return
        else:
            self.unknown(n)

    def modifiers(self, n: Node) -> tuple[set[str], set[str]]:
        """Modifier keywords and annotation names (lower-case) of a declaration."""
        mods: set[str] = set()
        annotations: set[str] = set()
        for child in n.named_children:
            if child.type != "modifiers":
                continue
            for m in child.named_children:
                if m.type == "annotation":
                    name = m.child_by_field_name("name")
                    if name is not None:
                        annotations.add(self.text(name).lower())
                else:
                    mods.add(self.text(m).lower())
        return mods, annotations

    def type_name(self, n: Node | None) -> str:
        return "" if n is None else "".join(self.text(n).split()).lower()

    def class_decl(self, n: Node, outer: ClassCtx | None) -> None:
        name_node = n.child_by_field_name("name")
        if name_node is None:
            return
        display = self.text(name_node)
        qual = f"{outer.name}.{display.lower()}" if outer else display.lower()
        qual_display = f"{outer.display}.{display}" if outer else display
        mods, annotations = self.modifiers(n)
        superclass = ""
        interfaces: list[str] = []
        sup = n.child_by_field_name("superclass")
        if sup is not None and sup.named_child_count:
            superclass = self.type_name(sup.named_children[0])
        ifs = n.child_by_field_name("interfaces")
        if ifs is not None:
            for tl in ifs.named_children:
                interfaces.extend(self.type_name(t) for t in tl.named_children)
        if n.type == "interface_declaration":
            ext = next((c for c in n.named_children if c.type == "extends_interfaces"), None)
            if ext is not None:
                for tl in ext.named_children:
                    interfaces.extend(self.type_name(t) for t in tl.named_children)
        body = n.child_by_field_name("body")
        members = body.named_children if body is not None else []
        fields: dict[str, str] = {}
        names: list[str] = []
        for m in members:
            if m.type == "field_declaration":
                ftype = self.type_name(m.child_by_field_name("type"))
                for d in m.children_by_field_name("declarator"):
                    fname = d.child_by_field_name("name")
                    if fname is not None:
                        fields[self.text(fname).lower()] = ftype
                        names.append(self.text(fname))
        kind = {"class_declaration": "class", "interface_declaration": "interface"}.get(n.type, "enum")
        ctx = ClassCtx(qual, qual_display, fields, outer, superclass=superclass)
        is_test = "istest" in annotations or (outer is not None and outer.name in self.test_classes)
        if is_test:
            self.test_classes.add(qual)
        self.classes.append(ClassInfo(
            name=qual, display=qual_display, kind=kind, superclass=superclass,
            interfaces=tuple(interfaces), fields=tuple(sorted(fields.items())), is_test=is_test,
            location=self.loc(name_node), field_names=tuple(names)))
        shape = sorted(f for f in fields if f in M.LLM_BODY_KEYS)
        if len(shape) > 1 or set(shape) & M.LLM_BODY_FIELDS:
            # A wrapper class serialized into the request body (`reqObj.messages = ...`): its
            # objects are shaped like an LLM request, as a map with these keys is.
            self.evidence.append(Evidence(Ref(f"F:{qual}.this"), f"fields {', '.join(shape)} of {qual_display}",
                                          self.loc(name_node)))
        saved = self.cls
        self.cls = ctx
        try:
            for m in members:
                self.member(m, ctx)
        finally:
            self.cls = saved

    def member(self, m: Node, ctx: ClassCtx) -> None:
        t = m.type
        if t in ("class_declaration", "interface_declaration", "enum_declaration"):
            self.class_decl(m, ctx)
        elif t in ("method_declaration", "constructor_declaration"):
            self.method_decl(m, ctx)
        elif t == "field_declaration":
            self.field_decl(m, ctx)
        elif t in ("static_initializer", "block"):
            self.in_function(m, ctx, "<clinit>", (), True, (), lambda: self.stmt(m))
        elif t in ("enum_constant", "comment", "line_comment", "block_comment", "ERROR", "modifiers"):
            return
        else:
            self.unknown(m)

    def in_function(self, n, ctx, name, params, is_static, annotations, body_fn, display=None, returns=""):
        fid = f"{ctx.name}.{name.lower()}/{len(params)}"
        saved_scope, saved_disp = self.scope, self.fn_display
        self.scope = Scope(fid, ctx.name, {p.name: p.type for p in params})
        self.fn_display = display or f"{ctx.display}.{name}"
        self.functions.append(Function(
            fid=fid, cls=ctx.name, name=name.lower(), display=self.fn_display, params=tuple(params),
            is_static=is_static, annotations=tuple(sorted(annotations)), location=self.loc(n),
            returns=returns))
        try:
            body_fn()
        finally:
            self.scope, self.fn_display = saved_scope, saved_disp

    def method_decl(self, m: Node, ctx: ClassCtx) -> None:
        name_node = m.child_by_field_name("name")
        name = "<init>" if m.type == "constructor_declaration" else (
            self.text(name_node) if name_node is not None else "?")
        mods, annotations = self.modifiers(m)
        params = []
        plist = m.child_by_field_name("parameters")
        if plist is not None:
            for p in plist.named_children:
                pn = p.child_by_field_name("name")
                if pn is not None:
                    params.append(Param(self.text(pn).lower(), self.type_name(p.child_by_field_name("type"))))
        body = m.child_by_field_name("body")
        display = f"{ctx.display}.{self.text(name_node) if name_node is not None else name}"

        def lower_body():
            for p in params:
                obj = M.PARAMETER_SOURCES.get(p.type)
                if obj:  # an inbound email handed to the org by an email service
                    self.sources.append(Source(f"{self.scope.fid}#{p.name}", obj, (("*",),), ("*",),
                                               f"the {obj} parameter {p.name}", self.loc(m)))
            if body is not None:
                self.stmt(body)
        returns = self.type_name(m.child_by_field_name("type")) if m.type == "method_declaration" else ""
        self.in_function(m, ctx, name, params, "static" in mods, annotations, lower_body, display,
                         returns="" if returns == "void" else returns)

    def field_decl(self, m: Node, ctx: ClassCtx) -> None:
        mods, _ = self.modifiers(m)
        ftype = self.type_name(m.child_by_field_name("type"))
        init_name = "<clinit>" if "static" in mods else "<fieldinit>"

        def body():
            for d in m.children_by_field_name("declarator"):
                fname = d.child_by_field_name("name")
                value = d.child_by_field_name("value")
                if fname is None:
                    continue
                target = Ref(f"F:{ctx.name}.{self.text(fname).lower()}", ftype)
                if value is not None:
                    self.assign(target, value, f"initialises {ctx.display}.{self.text(fname)}", d)
            for acc in m.named_children:
                if acc.type == "accessor_list":
                    self.stmt(acc)
        self.in_function(m, ctx, init_name, (), "static" in mods, (), body)

    def trigger_decl(self, n: Node) -> None:
        name_node = n.child_by_field_name("name")
        obj = n.child_by_field_name("object")
        display = self.text(name_node) if name_node is not None else "trigger"
        ctx = ClassCtx(display.lower(), display, {}, None,
                       trigger_object=self.text(obj) if obj is not None else "")
        self.classes.append(ClassInfo(
            name=ctx.name, display=display, kind="trigger", superclass="", interfaces=(), fields=(),
            is_test=False, trigger_object=ctx.trigger_object, location=self.loc(n)))
        body = n.child_by_field_name("body")
        self.cls = ctx
        self.in_function(n, ctx, "trigger", (), True, (), lambda: self.stmt(body) if body else None,
                         f"trigger {display}")
        self.cls = None

    # --- statements -----------------------------------------------------------------------------

    stmt_block = stmt_trigger_body = stmt_constructor_body = stmt_expression_statement = _walk
    stmt_while_statement = stmt_do_statement = stmt_try_statement = _walk
    stmt_catch_clause = stmt_finally_clause = stmt_switch_block = stmt_switch_rule = _walk
    stmt_labeled_statement = stmt_parenthesized_expression = stmt_accessor_list = _walk
    stmt_try_with_resources_statement = stmt_when_clause = stmt_static_initializer = _walk

    stmt_comment = stmt_line_comment = stmt_block_comment = stmt_ERROR = stmt_break_statement = _skip
    stmt_continue_statement = stmt_switch_label = stmt_modifiers = stmt_formal_parameter = _skip
    stmt_int = stmt_identifier = _skip

    def stmt_throw_statement(self, n: Node) -> None:
        for c in n.named_children:
            self.expr(c)

    def stmt_accessor_declaration(self, n: Node) -> None:
        body = n.child_by_field_name("body")
        if body is None:
            return
        # `get { return x; }` on a property: what it returns is what the property holds.
        parent = n.parent.parent if n.parent is not None else None
        decl = parent.child_by_field_name("declarator") if parent is not None else None
        fname = decl.child_by_field_name("name") if decl is not None else None
        if fname is None or self.cls is None:
            self.stmt(body)
            return
        saved = self.scope.fid
        self.scope.fid = f"{self.cls.name}.{self.text(fname).lower()}.accessor/0"
        self.stmt(body)
        for ret in descendants(body, "return_statement"):
            value = ret.named_children[0] if ret.named_children else None
            if value is not None:
                self.assign(Ref(f"F:{self.cls.name}.{self.text(fname).lower()}"), value,
                            f"returned by property {self.text(fname)}", ret)
        self.scope.fid = saved

    def stmt_local_variable_declaration(self, n: Node) -> None:
        vtype = self.type_name(n.child_by_field_name("type"))
        for d in n.children_by_field_name("declarator"):
            name = d.child_by_field_name("name")
            if name is None:
                continue
            lname = self.text(name).lower()
            self.scope.types[lname] = vtype
            value = d.child_by_field_name("value")
            if value is not None:
                self.assign(Ref(f"{self.scope.fid}#{lname}", vtype), value,
                            f"assigned to {self.text(name)}", d)

    stmt_field_declaration = stmt_local_variable_declaration

    def stmt_enhanced_for_statement(self, n: Node) -> None:
        name = n.child_by_field_name("name")
        vtype = self.type_name(n.child_by_field_name("type"))
        value = n.child_by_field_name("value")
        if name is not None and value is not None:
            lname = self.text(name).lower()
            self.scope.types[lname] = vtype
            self.assign(Ref(f"{self.scope.fid}#{lname}", vtype), value,
                        f"iterated as {self.text(name)}", n)
        self.stmt(n.child_by_field_name("body"))

    def stmt_for_statement(self, n: Node) -> None:
        for c in n.named_children:
            self.stmt(c)

    def stmt_return_statement(self, n: Node) -> None:
        if n.named_children:
            value = n.named_children[0]
            self.assign(Ref(f"{self.scope.fid}#return"), value, f"returned from {self.fn_display}", n)

    def stmt_switch_expression(self, n: Node) -> None:
        self.expr(n.child_by_field_name("condition"))
        self.stmt(n.child_by_field_name("body"))

    stmt_switch_statement = stmt_switch_expression

    def stmt_local_class_declaration(self, n: Node) -> None:
        return None

    # --- assignment -----------------------------------------------------------------------------

    def assign(self, target: Ref, value: Node, verb: str, at: Node) -> None:
        inflows = self.expr(value)
        # Hand-written JSON such as '{"model": "' + name + '", "messages": ['. Text inside a
        # literal is text of the whole value, so most values are ruled out without a walk.
        if M.LLM_BODY_LITERAL.search(self.text(value)):
            for lit in _outermost(value, "string_literal"):
                found = M.LLM_BODY_LITERAL.search(self.text(lit))
                if found:
                    self.evidence.append(Evidence(target, f"JSON text {found.group(0)}", self.loc(lit)))
                    break
        if inflows:
            self.assigns.append(Assign(target, inflows, verb, self.loc(at), self.scope.fid))
        if not target.path:
            if value.type == "map_creation_expression" and value.id in self.map_pairs:
                self.map_entries[target.node] = list(self.map_pairs[value.id])
            held = inflows[0].ref if len(inflows) == 1 and not inflows[0].ops else None
            if held is not None and not held.path and held.node in self.actions:
                self.actions[target.node] = self.actions[held.node]  # Invocable.Action a = ...create...()
        s = self.strexpr(value)
        if s and not all_unknown(s):
            self.strdefs.append(StrDef(target, s, self.scope.fid))

    # --- expressions ----------------------------------------------------------------------------

    expr_int = expr_decimal_floating_point_literal = expr_boolean = expr_null_literal = _no_value
    expr_comment = expr_line_comment = expr_block_comment = expr_type_identifier = _no_value
    expr_instanceof_expression = expr_ERROR = expr_class_literal = expr_void_type = _no_value
    expr_string_literal = expr_scoped_type_identifier = expr_generic_type = _no_value
    expr_array_type = expr_modifiers = _no_value

    expr_parenthesized_expression = expr_array_initializer = expr_argument_list = _children
    expr_map_initializer = _children

    def expr_identifier(self, n: Node) -> tuple[Inflow, ...]:
        name = self.text(n)
        ref = self.name_ref(name)
        return (Inflow(ref, (), name),) if ref is not None else ()

    def name_ref(self, name: str) -> Ref | None:
        lname = name.lower()
        if self.scope is not None and lname in self.scope.types:
            return Ref(f"{self.scope.fid}#{lname}", self.scope.types[lname])
        ctx = self.cls
        while ctx is not None:
            if lname in ctx.fields:
                return Ref(f"F:{ctx.name}.{lname}", ctx.fields[lname])
            ctx = ctx.outer
        if self.cls is not None and not self.cls.trigger_object:
            # Possibly inherited from a superclass in another file: link.py walks the hierarchy.
            return Ref(f"F:{self.cls.name}.{lname}")
        return None

    def expr_this(self, n: Node) -> tuple[Inflow, ...]:
        if self.cls is None:
            return ()
        return (Inflow(Ref(f"F:{self.cls.name}.this", self.cls.name), (), "this"),)

    expr_super = expr_this

    def expr_binary_expression(self, n: Node) -> tuple[Inflow, ...]:
        op_text = self.operator(n)
        if op_text == "+":
            return self.concatenation(n)
        left = self.expr(n.child_by_field_name("left"))
        right = self.expr(n.child_by_field_name("right"))
        if op_text in M.NO_FLOW_OPERATORS:
            return ()
        return left + right  # arithmetic on a balance is still the balance; ?? picks either side

    def operator(self, n: Node) -> str:
        """A binary expression's operator as written."""
        op = n.child_by_field_name("operator")
        return self.text(op) if op is not None else (self.text(n.children[1]) if n.child_count > 2 else "")

    def concatenation(self, n: Node) -> tuple[Inflow, ...]:
        """`a + b + c`: each term's value, turned into text once for every `+` above it. The terms
        are gathered first: turning everything below into text again at each `+` costs the cube
        of the number of terms."""
        terms: list[tuple[tuple[Inflow, ...], int]] = []  # (value, how many `+` above it)
        self._concatenated_terms(n, 1, terms)
        return tuple(Inflow(i.ref, i.ops + (CONCAT,) * depth, i.text) for value, depth in terms for i in value)

    def _concatenated_terms(self, n: Node, depth: int, terms: list) -> None:
        for side in (n.child_by_field_name("left"), n.child_by_field_name("right")):
            if side is not None and side.type == "binary_expression" and self.operator(side) == "+":
                self._concatenated_terms(side, depth + 1, terms)
            else:
                terms.append((self.expr(side), depth))

    def stmt_if_statement(self, n: Node) -> None:
        in_test = _test_only_condition(self, n.child_by_field_name("condition"))
        if in_test is None:
            self._walk(n)
            return
        # Only the branch that runs in production: the other runs only in Apex tests.
        branch = n.child_by_field_name("alternative" if in_test else "consequence")
        if branch is not None:
            self.stmt(branch)

    def expr_unary_expression(self, n: Node) -> tuple[Inflow, ...]:
        op = self.text(n.children[0]) if n.child_count else ""
        inner = self.expr(n.child_by_field_name("operand"))
        return () if op == "!" else inner

    def expr_update_expression(self, n: Node) -> tuple[Inflow, ...]:
        return ()

    def expr_ternary_expression(self, n: Node) -> tuple[Inflow, ...]:
        branch = _production_branch(self, n)
        if branch is not None:
            return self.expr(branch)
        self.expr(n.child_by_field_name("condition"))
        return self.expr(n.child_by_field_name("consequence")) + self.expr(
            n.child_by_field_name("alternative"))

    def expr_cast_expression(self, n: Node) -> tuple[Inflow, ...]:
        value = n.child_by_field_name("value")
        ctype = self.type_name(n.child_by_field_name("type"))
        if value is not None and _is_trigger_context(self, value):
            return self.trigger_source(value, ctype)
        out = self.expr(value)
        return tuple(Inflow(Ref(i.ref.node, ctype or i.ref.type, i.ref.path), i.ops, i.text)
                     if not i.ops and not i.ref.path else i for i in out)

    def expr_array_access(self, n: Node) -> tuple[Inflow, ...]:
        self.expr(n.child_by_field_name("index"))
        return self.expr(n.child_by_field_name("array"))  # collections are transparent

    def expr_assignment_expression(self, n: Node) -> tuple[Inflow, ...]:
        left = n.child_by_field_name("left")
        right = n.child_by_field_name("right")
        op = n.child_by_field_name("operator")
        # The left-hand side is lowered once: it names the place written (`getAcc().Name`), and
        # its value is the value of the whole assignment.
        place = self.expr(left)
        target = place[0].ref if len(place) == 1 and not place[0].ops else None
        if target is None or right is None:
            return self.expr(right)
        verb = "concatenated into" if op is not None and self.text(op) == "+=" else "assigned to"
        self.assign(target, right, f"{verb} {self.short(left, 40)}", n)
        return place

    def expr_field_access(self, n: Node) -> tuple[Inflow, ...]:
        obj = n.child_by_field_name("object")
        fld = n.child_by_field_name("field")
        if obj is None or fld is None:
            return ()
        fname = self.text(fld)
        if fname.lower() in TRIGGER_FIELDS and _is_trigger_context(self, n):
            return self.trigger_source(n, "")
        obj_text = self.text(obj)
        qualifier = obj_text.lower()
        if qualifier in ("label", "system.label"):
            return ()  # a Custom Label: configuration text, not record data
        if obj.type == "identifier" and not self.is_value_name(obj_text):
            # A class name: a static field (`Constants.ENDPOINT`) or a platform namespace.
            return (Inflow(Ref(f"F:{qualifier}.{fname.lower()}"), (), self.short(n)),)
        return get_field(self.expr(obj), fname.lower(), self.short(n))

    def is_value_name(self, name: str) -> bool:
        """A local, a parameter or a field of this class or an enclosing one (else: a class name)."""
        lname = name.lower()
        return (self.scope is not None and lname in self.scope.types) or lname in self._visible_fields()

    def _visible_fields(self) -> set[str]:
        if self.cls is None:
            return set()
        if self.cls.visible is None:
            names: set[str] = set()
            ctx = self.cls
            while ctx is not None:
                names.update(ctx.fields)
                ctx = ctx.outer
            self.cls.visible = names
        return self.cls.visible

    def expr_object_creation_expression(self, n: Node) -> tuple[Inflow, ...]:
        ctype = self.type_name(n.child_by_field_name("type"))
        args_node = n.child_by_field_name("arguments")
        args = args_node.named_children if args_node is not None else []
        # `new Account(Name = x, AnnualRevenue = y)`: named field initialisers build a record.
        if args and all(a.type == "assignment_expression" for a in args):
            out: list[Inflow] = []
            for a in args:
                left, right = a.child_by_field_name("left"), a.child_by_field_name("right")
                if left is None or right is None:
                    continue
                put = ("put", self.text(left).lower())
                out.extend(Inflow(i.ref, i.ops + (put,), i.text) for i in self.expr(right))
            return tuple(out)
        result = self.temp(n)
        if ctype.startswith(FLOW_INTERVIEW + ".") and args:
            # new Flow.Interview.My_Flow(inputs) (or .ns.My_Flow): runs that flow
            return self.run_flow(n, ctype.rsplit(".", 1)[-1], args[0], ctype)
        self.calls.append(self.make_call(n, "<init>", (), ctype, args, result, kind="new"))
        for a in args:
            self.evidence_for(Ref(result, ctype), a)
        return (Inflow(Ref(result, ctype), (), self.short(n)),)

    def named_inputs(self, arg: Node, value: tuple[Inflow, ...]) -> tuple[tuple[str, ...], tuple]:
        """(names, values) of inputs passed as a map: by key when the map is a literal, or a local
        built with `put('key', value)`; else the whole map for every input ("*")."""
        pairs = None
        if arg.type == "map_creation_expression":
            pairs = self.map_pairs.get(arg.id)
        elif arg.type == "identifier":
            ref = self.name_ref(self.text(arg))
            pairs = self.map_entries.get(ref.node) if ref is not None and not ref.path else None
        if pairs:
            return tuple(k for k, _ in pairs), tuple(v for _, v in pairs)
        return ("*",), (value,)

    def run_flow(self, n: Node, flow: str, inputs: Node, result_type: str) -> tuple[Inflow, ...]:
        """Flow.Interview: the flow named runs with these inputs, bound to its input variables by
        name; the interview holds its output variables (read with getVariableValue)."""
        result = self.temp(n)
        names, values = self.named_inputs(inputs, self.expr(inputs))
        self.calls.append(Call(
            site=self.site(n), caller=self.scope.fid, name=flow.lower(), receiver=(), static_type=flow.lower(),
            receiver_type="", args=values, arg_strs=tuple(() for _ in values), result=result,
            location=self.loc(n), text=self.short(n, 80), kind="flow", library="none", arg_names=names))
        return (Inflow(Ref(result, result_type), (), self.short(n)),)

    def expr_array_creation_expression(self, n: Node) -> tuple[Inflow, ...]:
        value = n.child_by_field_name("value")
        return self.expr(value) if value is not None else ()

    def expr_map_creation_expression(self, n: Node) -> tuple[Inflow, ...]:
        value = n.child_by_field_name("value")
        if value is None:
            return ()
        out: list[Inflow] = []
        evidence: list[str] = []
        pairs: list[tuple[str, tuple[Inflow, ...]]] = []
        for pair in value.named_children:
            kids = pair.named_children
            if len(kids) == 2:
                key = _literal(self, kids[0])
                if key is not None and key.lower() in M.LLM_BODY_KEYS:
                    evidence.append(key)
                item = self.expr(kids[1])
                if key is not None:
                    pairs.append((key.lower(), item))
                out.extend(item)
                out.extend(self.expr(kids[0]))
        if pairs:
            self.map_pairs[n.id] = pairs
        if evidence:
            temp = self.temp(n)
            self.evidence.append(Evidence(Ref(temp), f"map key '{evidence[0]}'", self.loc(n)))
            out.append(Inflow(Ref(temp), (), self.short(n)))
        return tuple(out)

    def expr_explicit_constructor_invocation(self, n: Node) -> tuple[Inflow, ...]:
        args_node = n.child_by_field_name("arguments")
        args = args_node.named_children if args_node is not None else []
        head = self.text(n.children[0]).lower() if n.child_count else "this"
        kind = "super" if head == "super" else "this"
        self.calls.append(self.make_call(n, "<init>", (), "", args, self.temp(n), kind=kind))
        return ()

    def expr_dml_expression(self, n: Node) -> tuple[Inflow, ...]:
        self.expr(n.child_by_field_name("target"))
        return ()

    def expr_query_expression(self, n: Node) -> tuple[Inflow, ...]:
        body = n.named_children[0] if n.named_children else None
        if body is None or self.scope is None:
            return ()
        node = self.temp(n)
        if body.type == "soql_query_body":
            obj, paths, display = self.soql_select(body)
            if obj and paths and not M.is_config_object(obj):
                self.sources.append(Source(node, obj, paths, display, "SOQL", self.loc(n)))
        elif body.type == "sosl_query_body":
            for ret in _outermost(body, "sobject_return"):
                kids = ret.named_children
                if not kids:
                    continue
                obj = self.text(kids[0])
                sel = next((k for k in kids if k.type == "selected_fields"), None)
                fields = [f for f in sel.named_children if f.type == "field_identifier"] if sel else []
                paths = tuple(tuple(p.lower() for p in self.text(f).split(".")) for f in fields)
                disp = tuple(self.text(f) for f in fields)
                if paths and not M.is_config_object(obj):
                    self.sources.append(Source(node, obj, paths, disp, "SOSL", self.loc(n)))
        for bound in _outermost(body, "bound_apex_expression"):
            for c in bound.named_children:
                self.expr(c)
        return (Inflow(Ref(node), (), self.short(n)),)

    def soql_select(self, body: Node) -> tuple[str, tuple[tuple[str, ...], ...], tuple[str, ...]]:
        sel = body.child_by_field_name("select_clause")
        frm = body.child_by_field_name("from_clause")
        obj = ""
        if frm is not None and frm.named_children:
            obj = self.text(frm.named_children[0]).split()[0]
        paths: list[tuple[str, ...]] = []
        display: list[str] = []
        if sel is None:
            return obj, (), ()
        for item in sel.named_children:
            if item.type == "field_identifier":
                t = self.text(item)
                paths.append(tuple(p.lower() for p in t.split(".")))
                display.append(t)
            elif item.type == "alias_expression" or item.type == "function_expression":
                for f in _outermost(item, "field_identifier"):
                    t = self.text(f)
                    paths.append(tuple(p.lower() for p in t.split(".")))
                    display.append(t)
            elif item.type == "fields_expression":
                paths.append(("*",))
                display.append(self.text(item))
            elif item.type == "subquery":
                inner = item.named_children[0] if item.named_children else None
                if inner is None:
                    continue
                rel, sub, sub_display = self.soql_select(inner)
                for p, d in zip(sub, sub_display):
                    paths.append((rel.lower(),) + p)
                    display.append(f"{rel}.{d}")
            elif item.type == "count_expression":
                continue
        return obj, tuple(paths), tuple(display)

    def trigger_source(self, n: Node, cast_type: str) -> tuple[Inflow, ...]:
        obj = self.cls.trigger_object if self.cls is not None and self.cls.trigger_object else ""
        if obj.lower().endswith("__e"):
            # A platform event trigger receives what publishers in the project put in the events.
            return (Inflow(Ref(f"E:{obj.lower()}"), (), self.short(n)), Inflow(Ref("E:*"), (), self.short(n)))
        if not obj:
            obj = _element_type(cast_type) or "SObject"
        node = self.temp(n)
        which = self.short(n)
        self.sources.append(Source(node, obj, (("*",),), ("*",), which, self.loc(n)))
        return (Inflow(Ref(node), (), which),)

    # --- method invocations ---------------------------------------------------------------------

    def stmt_method_invocation(self, n: Node) -> None:
        self.expr_method_invocation(n, want_value=False)  # `log(x);`: the call's value is dropped

    def expr_method_invocation(self, n: Node, want_value: bool = True) -> tuple[Inflow, ...]:
        obj = n.child_by_field_name("object")
        name_node = n.child_by_field_name("name")
        if name_node is None or self.scope is None:
            return ()
        name = self.text(name_node)
        lname = name.lower()
        args_node = n.child_by_field_name("arguments")
        args = args_node.named_children if args_node is not None else []
        static_type = ""
        receiver: tuple[Inflow, ...] = ()
        receiver_type = ""
        if obj is not None:
            obj_text, obj_type = self.text(obj), obj.type
            qualifier = obj_text.lower()
            is_class_name = obj_type == "identifier" and not self.is_value_name(obj_text)
            if obj_type in ("field_access", "scoped_identifier") and _looks_qualified_type(qualifier):
                is_class_name = True
            if obj_type == "super" and self.cls is not None and self.cls.superclass:
                static_type = self.cls.superclass  # super.m(): the parent's method, no dispatch
            elif is_class_name:
                static_type = qualifier
            else:
                receiver = self.expr(obj)
                receiver_type = _receiver_type(self, obj, receiver)

        special = self.special_call(n, static_type, lname, args, receiver, receiver_type)
        if special is not None:
            return special

        result = self.temp(n)
        call = self.make_call(n, lname, receiver, static_type, args, result,
                              receiver_type=receiver_type)
        self.calls.append(call)
        if lname in M.MUTATORS and receiver:
            # `byAccount.get(id).add(c)`: the list lives inside the map, so c goes into the map.
            target = self._element_holder(obj)
            if target is None:
                target = receiver[0].ref if len(receiver) == 1 and not receiver[0].ops else None
            if target is not None and not target.path and len(args) == 2 and lname in ("put", "setinvocationparameter"):
                key = _literal(self, args[0])
                if key is not None:  # an input by name, for a flow or an action run later
                    entry = (key.lower(), call.args[1])
                    if target.node in self.actions:
                        self.actions[target.node].inputs.append(entry)
                    else:
                        self.map_entries.setdefault(target.node, []).append(entry)
            if target is not None and lname == "setinvocations" and target.node in self.actions and args:
                self.actions[target.node].whole.append(call.args[0])
            if target is not None:
                value = tuple(inflow for arg in call.args for inflow in arg)  # lowered once, by make_call
                for a in args:
                    self.evidence_for(target, a)
                if value:
                    self.assigns.append(Assign(target, value, f"{M.MUTATORS[lname]} {self.short(obj, 40)}",
                                               self.loc(n), self.scope.fid))
                if lname == "put" and len(args) == 2 and not target.path:
                    self.strdefs.append(StrDef(target, (("mapentry", self.strexpr(args[0]),
                                                         self.strexpr(args[1])),), self.scope.fid))
        # call.text is self.short(n, 80): cut further, it is self.short(n).
        return (Inflow(Ref(result), (), shorten(call.text)),) if want_value else ()

    def _element_holder(self, obj: Node) -> Ref | None:
        """`m` in `m.get(k)` / `m.values()` (a collection read out of a variable or field), else None."""
        base, stepped = obj, False
        while base.type == "method_invocation" and base.child_by_field_name("object") is not None:
            name = base.child_by_field_name("name")
            if name is None or self.text(name).lower() not in ELEMENT_ACCESSORS:
                return None
            base, stepped = base.child_by_field_name("object"), True
        if not stepped or base.type not in ("identifier", "field_access"):
            return None
        return self.static_ref(base)  # `base` was lowered already, as the call's receiver

    def make_call(self, n, lname, receiver, static_type, args, result, *, kind="call",
                  receiver_type="") -> Call:
        arg_values = tuple([self.expr(a) for a in args])
        arg_strs = tuple([self.strexpr(a) for a in args])
        return Call(site=self.site(n), caller=self.scope.fid, name=lname, receiver=receiver,
                    static_type=static_type, receiver_type=receiver_type, args=arg_values,
                    arg_strs=arg_strs, result=result, location=self.loc(n), text=self.short(n, 80),
                    kind=kind, library=M.library_behaviour(static_type, lname))

    def special_call(self, n, static_type, lname, args, receiver, receiver_type):
        """Platform APIs with their own meaning. Returns the call's value, or None if ordinary."""
        key = f"{static_type}.{lname}" if static_type else lname
        if key in M.CALL_SOURCES:
            obj, fld = M.CALL_SOURCES[key]
            node = self.temp(n)
            self.sources.append(Source(node, obj, ((fld.lower(),),), (fld,), self.short(n), self.loc(n),
                                       scalar=True))
            return (Inflow(Ref(node), (), self.short(n)),)
        if key in M.DYNAMIC_QUERY_APIS and args:
            node = self.temp(n)
            self.expr(args[0])
            self.queries.append(DynamicQuery(node, self.strexpr(args[0]), key, self.loc(n), self.short(n)))
            return (Inflow(Ref(node), (), self.short(n)),)
        if key in M.SERIALIZERS:
            out: tuple[Inflow, ...] = ()
            for a in args:
                out += self.expr(a)
            wrapped = tuple(Inflow(i.ref, i.ops + (("collapse", "serialized"),), self.short(n)) for i in out)
            return wrapped
        if key in M.SANITIZER_APIS:
            for a in args:
                self.expr(a)
            return ()
        if lname == "setendpoint" and receiver and args:
            target = receiver[0].ref if not receiver[0].ops else None
            if target is not None:
                self.endpoints.append(EndpointSet(target, self.strexpr(args[0]), self.loc(n), self.short(n, 100)))
            return None
        if lname in M.HTTP_SINKS and len(args) == 1 and (
                receiver_type in ("http", "continuation") or static_type == "continuation" or
                (static_type == "" and receiver and self._arg_type(args[0]) == "httprequest")):
            arg = self.expr(args[0])
            ref = arg[0].ref if arg and not arg[0].ops else None
            api = M.HTTP_SINKS[lname]
            if ref is not None:
                self.sinks.append(Sink(ref, "http", api, self.scope.fid, self.loc(n), self.short(n)))
            return ()
        if lname in M.MODELS_API_METHODS and receiver_type in M.MODELS_API_TYPES and args:
            request = self.expr(args[-1])
            ref = request[0].ref if request and not request[0].ops else None
            if ref is not None:
                model = self.strexpr(args[0]) if len(args) == 2 else (("ref", Ref(ref.node, ref.type, ref.path + ("modelname",))),)
                api = f"aiplatform.ModelsAPI.{self.text(n.child_by_field_name('name'))}"
                self.endpoints.append(EndpointSet(ref, (("model", model),), self.loc(n), self.short(n, 100)))
                self.sinks.append(Sink(ref, "model", api, self.scope.fid, self.loc(n), self.short(n)))
            return (Inflow(Ref(self.temp(n)), (), self.short(n)),)
        if lname in M.NO_FLOW_METHODS and static_type == "":
            for a in args:
                self.expr(a)
            return ()
        if key == "connectapi.einsteinllm.generatemessagesforprompttemplate" and len(args) == 2:
            # Runs a Prompt Builder template (the template is the sink); what the input carries
            # fills the template's typed inputs.
            template = _literal(self, args[0])
            value = self.expr(args[1])
            if value:
                # The request as sent from here too: a template missing from the project, or named
                # at run time, is still a call to a model (endpoints.Resolver._template).
                request = Ref(f"{self.temp(n)}#request")
                self.assigns.append(Assign(request, value, "passed to the prompt template", self.loc(n),
                                           self.scope.fid))
                self.endpoints.append(EndpointSet(request, (("template", self.strexpr(args[0]), bool(template)),),
                                                  self.loc(n), self.short(n, 100)))
                self.sinks.append(Sink(request, "model", "ConnectApi.EinsteinLLM.generateMessagesForPromptTemplate",
                                       self.scope.fid, self.loc(n), self.short(n)))
            if template:
                self.calls.append(Call(
                    site=self.site(n), caller=self.scope.fid, name=template.lower(), receiver=(),
                    static_type=template.lower(), receiver_type="", args=(value,), arg_strs=((),),
                    result=self.temp(n), location=self.loc(n), text=self.short(n, 80), kind="template",
                    library="none", arg_names=("*",)))
            return (Inflow(Ref(self.temp(n)), (), self.short(n)),)
        if key == f"{FLOW_INTERVIEW}.createinterview" and len(args) in (2, 3):
            flow = _literal(self, args[-2])  # (namespace,) name, inputs
            if flow:
                return self.run_flow(n, flow, args[-1], FLOW_INTERVIEW)
            return None  # a flow named at run time: an ordinary call
        if lname == "getvariablevalue" and receiver and len(args) == 1 and \
                (receiver_type in ("", FLOW_INTERVIEW) or receiver_type.startswith(FLOW_INTERVIEW + ".")):
            variable = _literal(self, args[0])
            if variable is not None:  # one output variable of the interview's flow
                return get_field(receiver, variable.lower(), self.short(n))
        if key in (f"{INVOCABLE_ACTION}.createcustomaction", f"{INVOCABLE_ACTION}.createstandardaction") and args:
            return self.create_action(n, key.endswith("standardaction"), args)
        if lname == "invoke" and len(receiver) == 1 and not receiver[0].ops and not receiver[0].ref.path \
                and receiver[0].ref.node in self.actions:
            return self.invoke_action(n, receiver[0].ref, self.actions[receiver[0].ref.node])
        if key == "eventbus.publish" and args:
            value = self.expr(args[0])
            event = _element_type(self._arg_type(args[0])) or "*"
            if value:
                self.assigns.append(Assign(Ref(f"E:{event}"), value, "published as a platform event",
                                           self.loc(n), self.scope.fid))
            return ()
        if static_type and static_type in M.NO_FLOW_CLASSES:
            for a in args:
                self.expr(a)
            return ()
        if lname in ("get", "getsobject") and receiver and len(args) == 1 and \
                _is_record_type(receiver_type):
            field_name = _literal(self, args[0])
            if field_name is not None:
                return get_field(receiver, field_name.lower(), self.short(n))
        if static_type in ("system", "") and lname in M.ASYNC_STARTERS and args:
            # System.enqueueJob(new Job(data)) -> Job.execute(...) runs later with the job's fields.
            job = self.expr(args[0])
            if job and job[0].ref.type:
                self.calls.append(Call(
                    site=self.site(n), caller=self.scope.fid, name=M.ASYNC_STARTERS[lname], receiver=job,
                    static_type="", receiver_type=job[0].ref.type, args=(), arg_strs=(),
                    result=self.temp(n), location=self.loc(n), text=self.short(n, 80), kind="async",
                    library="none"))
            return ()
        if static_type == "database" and lname in M.BATCH_STARTERS and args:
            job = self.expr(args[0])
            if job and job[0].ref.type:
                for method in ("start", "execute", "finish"):
                    self.calls.append(Call(
                        site=self.site(n) + ":" + method, caller=self.scope.fid, name=method,
                        receiver=job, static_type="", receiver_type=job[0].ref.type, args=(),
                        arg_strs=(), result=self.temp(n), location=self.loc(n),
                        text=self.short(n, 80), kind="async", library="none"))
            return ()
        return None

    def create_action(self, n: Node, standard: bool, args: list[Node]) -> tuple[Inflow, ...]:
        """Invocable.Action.createCustomAction(type, [namespace,] name) / createStandardAction(type):
        an action object, remembered until it is invoked."""
        for a in args:
            self.expr(a)
        kind = _literal(self, args[0])
        target = "" if standard else (_literal(self, args[-1]) or "") if len(args) > 1 else ""
        node = self.temp(n)
        if kind is not None and (standard or target):
            self.actions[node] = PlatformAction(A.TARGET_KINDS.get(kind.lower(), kind.lower()), target)
        return (Inflow(Ref(node, INVOCABLE_ACTION), (), self.short(n)),)

    def invoke_action(self, n: Node, action_ref: Ref, action: PlatformAction) -> tuple[Inflow, ...]:
        """`action.invoke()`: the inputs set on it go to what it runs. An agent run from Apex is a
        request to the agents' model; a prompt template run by name is its own sink."""
        result = self.temp(n)
        names = tuple(k for k, _ in action.inputs) + ("*",) * len(action.whole)
        values = tuple(v for _, v in action.inputs) + tuple(action.whole)
        kinds = {"apex": ("invocable", "*"), "flow": ("flow", action.target.lower()),
                 "template": ("template", action.target.lower())}
        request = Ref(action_ref.node, action_ref.type)
        if action.kind in kinds and action.target:
            kind, name = kinds[action.kind]
            self.calls.append(Call(
                site=self.site(n), caller=self.scope.fid, name=name, receiver=(), static_type=action.target.lower(),
                receiver_type="", args=values, arg_strs=tuple(() for _ in values), result=result,
                location=self.loc(n), text=self.short(n, 80), kind=kind, library="none",
                arg_names=tuple(k.removeprefix("input:") for k in names) if kind == "template" else names))
        if action.kind == "template":
            # The template named (or, for the standard action, the one chosen at run time) is the
            # sink; this call is reported only when the template is not in the project.
            template = (("lit", action.target),) if action.target else (("unknown", "template chosen at run time"),)
            self.endpoints.append(EndpointSet(request, (("template", template, bool(action.target)),),
                                              self.loc(n), self.short(n, 100)))
            self.sinks.append(Sink(request, "model", f"Invocable.Action generatePromptResponse ({action.target or '?'})",
                                   self.scope.fid, self.loc(n), self.short(n)))
        elif action.kind == "agent" and action.target:
            self.endpoints.append(EndpointSet(request, (("model", (("lit", A.PLANNER_MODEL),)),),
                                              self.loc(n), self.short(n, 100)))
            self.sinks.append(Sink(request, "agent", f"Invocable.Action generateAiAgentResponse ({action.target})",
                                   self.scope.fid, self.loc(n), self.short(n)))
        return (Inflow(Ref(result), (), self.short(n)),)

    def _arg_type(self, a: Node) -> str:
        if a.type == "identifier":
            return self.scope.types.get(self.text(a).lower(), "")
        if a.type == "object_creation_expression":
            return self.type_name(a.child_by_field_name("type"))
        return ""

    def evidence_for(self, target: Ref, a: Node) -> None:
        lit = _literal(self, a)
        if lit is None:
            return
        if lit.lower() in M.LLM_BODY_KEYS:
            self.evidence.append(Evidence(target, f"key '{lit}'", self.loc(a)))
        elif M.LLM_BODY_LITERAL.search(lit):
            self.evidence.append(Evidence(target, f"JSON text {M.LLM_BODY_LITERAL.search(lit).group(0)}",
                                          self.loc(a)))

    # --- string expressions (for endpoints) -----------------------------------------------------
    # `strexpr(n)` (visitor.py) dispatches to a `str_<node type>` handler per node type that can
    # name a string, ("unknown", text) for any other expression.

    def str_string_literal(self, n: Node) -> StrExpr:
        return (("lit", _unquote(self.text(n))),)

    def str_parenthesized_expression(self, n: Node) -> StrExpr:
        inner = n.named_children
        return self.strexpr(inner[0]) if inner else self._str_unknown(n)

    def str_binary_expression(self, n: Node) -> StrExpr:
        if not self._is_concatenation(n):
            return self._str_unknown(n)
        parts: list[StrPart] = []
        self._concatenated_parts(n, parts)  # (a list: `a + b + c ...` nests one level per term)
        return tuple(parts)

    def _is_concatenation(self, n: Node) -> bool:
        # The operator field only: unlike `operator()`, string expressions never fell back to the
        # second child when the field is missing.
        op = n.child_by_field_name("operator")
        return op is not None and self.text(op) == "+"

    def _concatenated_parts(self, n: Node, parts: list[StrPart]) -> None:
        for side in (n.child_by_field_name("left"), n.child_by_field_name("right")):
            if side is not None and side.type == "binary_expression" and self._is_concatenation(side):
                self._concatenated_parts(side, parts)
            else:
                parts.extend(self.strexpr(side))

    def str_ternary_expression(self, n: Node) -> StrExpr:
        branch = _production_branch(self, n)
        if branch is not None:
            return self.strexpr(branch)
        a = self.strexpr(n.child_by_field_name("consequence"))
        b = self.strexpr(n.child_by_field_name("alternative"))
        return choice((a, b), self.short(n))

    def str_identifier(self, n: Node) -> StrExpr:
        ref = self.name_ref(self.text(n))
        return (("ref", ref),) if ref is not None else self._str_unknown(n)

    def str_field_access(self, n: Node) -> StrExpr:
        obj = n.child_by_field_name("object")
        fld = n.child_by_field_name("field")
        q = self.text(obj).lower() if obj is not None else ""
        f = self.text(fld) if fld is not None else ""
        if q in ("label", "system.label"):
            return (("label", f),)
        if obj is not None and obj.type == "method_invocation":
            rec = self.cmdt_record(obj)
            if rec is not None:
                return (("cmdt", rec[0], rec[1], f.lower()),)
            setting = self.custom_setting(obj)
            if setting:
                return (("setting", self.short(n)),)
        if obj is not None and obj.type == "array_access":
            # settings[0].Base_Url__c: a field of any element, as strings go (the records of one query)
            base = self.static_ref(obj.child_by_field_name("array"))
            if base is not None:
                return (("ref", Ref(base.node, base.type, base.path + (f.lower(),))),)
        ref = self.static_ref(n)
        return (("ref", ref),) if ref is not None else self._str_unknown(n)

    def str_method_invocation(self, n: Node) -> StrExpr:
        name = n.child_by_field_name("name")
        obj = n.child_by_field_name("object")
        lname = self.text(name).lower() if name is not None else ""
        q = self.text(obj).lower() if obj is not None else ""
        if q.startswith("url.") and ("getorgdomainurl" in q or "getsalesforcebaseurl" in q):
            return (("orgurl",),)
        if q in ("url",) and lname in ("getorgdomainurl", "getsalesforcebaseurl"):
            return (("orgurl",),)
        if lname in ("toexternalform", "tostring", "trim") and obj is not None:
            return self.strexpr(obj)
        rec = self.cmdt_record(n) if lname in CMDT_METHODS else None
        if rec is not None:
            return (("cmdtrec", rec[0], rec[1]),)
        if lname == "get" and obj is not None:
            args_node = n.child_by_field_name("arguments")
            args = args_node.named_children if args_node is not None else []
            base = self.static_ref(obj) if len(args) == 1 else None
            if base is not None:  # settings.get(Constants.ENDPOINT) on a map filled with constants
                return bounded((("mapget", base, self.strexpr(args[0])),), self.short(n))
        if q.endswith("__c") and lname in SETTING_METHODS:  # self.custom_setting(n), names read above
            return (("setting", self.short(n)),)
        if lname == "format" and q == "string":
            return self._str_unknown(n)
        return (("call", self.site(n)),)

    def str_cast_expression(self, n: Node) -> StrExpr:
        return self.strexpr(n.child_by_field_name("value"))

    def str_map_creation_expression(self, n: Node) -> StrExpr:
        value = n.child_by_field_name("value")
        pairs = [p.named_children for p in value.named_children] if value is not None else []
        return bounded((("map", tuple((self.strexpr(k), self.strexpr(v)) for k, v in
                                      (p for p in pairs if len(p) == 2))),), self.short(n))

    def str_query_expression(self, n: Node) -> StrExpr:
        body = n.named_children[0] if n.named_children else None
        if body is not None and body.type == "soql_query_body":
            frm = body.child_by_field_name("from_clause")
            obj = self.text(frm.named_children[0]).lower() if frm is not None and frm.named_children else ""
            if obj.endswith("__mdt"):  # [SELECT Endpoint__c FROM AI_Config__mdt ...]: every record
                return (("cmdtrec", obj[: -len("__mdt")], None),)
        return self._str_unknown(n)

    def str_array_access(self, n: Node) -> StrExpr:
        return self.strexpr(n.child_by_field_name("array"))

    def static_ref(self, n: Node) -> Ref | None:
        """The Ref a name or field chain denotes, worked out without emitting any fact."""
        if n.type == "identifier":
            return self.name_ref(self.text(n))
        if n.type == "this" and self.cls is not None:
            return Ref(f"F:{self.cls.name}.this", self.cls.name)
        if n.type != "field_access":
            return None
        obj, fld = n.child_by_field_name("object"), n.child_by_field_name("field")
        if obj is None or fld is None:
            return None
        fname = self.text(fld).lower()
        if obj.type == "identifier" and not self.is_value_name(self.text(obj)):
            return Ref(f"F:{self.text(obj).lower()}.{fname}")
        base = self.static_ref(obj)
        return Ref(base.node, base.type, base.path + (fname,)) if base is not None else None

    def cmdt_record(self, n: Node) -> tuple[str, str | StrExpr | None] | None:
        """`X__mdt.getInstance('Rec')` -> ("x", "rec"); `X__mdt.getAll().get('Rec')` likewise
        (so only calls named in CMDT_METHODS). A record named by an expression (a `static final`
        constant) is kept as that string expression, resolved with the endpoints; None when the
        call names no record at all."""
        name = n.child_by_field_name("name")
        obj = n.child_by_field_name("object")
        if name is None or obj is None:
            return None
        lname = self.text(name).lower()
        args_node = n.child_by_field_name("arguments")
        args = args_node.named_children if args_node is not None else []
        q = self.text(obj).lower()
        if q.endswith("__mdt") and lname == "getinstance":
            return (q[: -len("__mdt")], self._record_name(args))
        if lname == "get" and obj.type == "method_invocation":
            inner_name = obj.child_by_field_name("name")
            inner_obj = obj.child_by_field_name("object")
            if inner_name is not None and inner_obj is not None and \
                    self.text(inner_name).lower() == "getall" and self.text(inner_obj).lower().endswith("__mdt"):
                return (self.text(inner_obj).lower()[: -len("__mdt")], self._record_name(args))
        return None

    def _record_name(self, args: list[Node]) -> str | StrExpr | None:
        """The DeveloperName a custom metadata lookup names: a literal (lower-case), else the
        string expression of its argument, else None (every record of the type)."""
        if not args:
            return None
        rec = _literal(self, args[0])
        if rec is not None:
            return rec.lower() or None
        expr = self.strexpr(args[0])
        return None if all_unknown(expr) else expr

    def custom_setting(self, n: Node) -> bool:
        name = n.child_by_field_name("name")
        obj = n.child_by_field_name("object")
        if name is None or obj is None:
            return False
        return self.text(obj).lower().endswith("__c") and self.text(name).lower() in SETTING_METHODS


CMDT_METHODS = ("getinstance", "get")  # the calls `cmdt_record` can recognise
FLOW_INTERVIEW = "flow.interview"  # the Apex class that runs a flow
INVOCABLE_ACTION = "invocable.action"  # the Apex class that runs an invocable action by name
SETTING_METHODS = ("getorgdefaults", "getinstance", "getvalues", "getall")  # on a custom setting


# --- small pure helpers ---------------------------------------------------------------------------


def _unquote(lit: str) -> str:
    body = lit[1:-1] if len(lit) >= 2 and lit[0] == lit[-1] == "'" else lit
    return unescape_apex(body)


def _literal(low: Lowerer, n: Node) -> str | None:
    return _unquote(low.text(n)) if n.type == "string_literal" else None


def _outermost(n: Node, kind: str):
    """The nodes of type `kind` under `n` (`n` included) that are not inside another, in source order."""
    stack = [n]
    while stack:
        cur = stack.pop()
        if cur.type == kind:
            yield cur
            continue
        stack.extend(reversed(cur.named_children))


TRIGGER_CONTEXT = {"trigger.new", "trigger.old", "trigger.newmap", "trigger.oldmap"}
# A field access ends with its field: one whose field is none of these is none of the above.
TRIGGER_FIELDS = {name.split(".")[1] for name in TRIGGER_CONTEXT}


def _is_trigger_context(low: Lowerer, n: Node) -> bool:
    return n.type == "field_access" and "".join(low.text(n).split()).lower() in TRIGGER_CONTEXT


def _test_only_condition(lowerer, cond: Node | None) -> bool | None:
    """True for `Test.isRunningTest()`, False for `!Test.isRunningTest()` (parentheses allowed),
    None for any other condition."""
    negated = False
    while cond is not None:
        if cond.type == "parenthesized_expression" and cond.named_child_count == 1:
            cond = cond.named_children[0]
        elif cond.type == "unary_expression" and cond.child_count and lowerer.text(cond.children[0]) == "!":
            negated, cond = not negated, cond.child_by_field_name("operand")
        else:
            break
    if cond is None or cond.type != "method_invocation":
        return None
    obj, name = cond.child_by_field_name("object"), cond.child_by_field_name("name")
    if obj is None or name is None:
        return None
    if lowerer.text(obj).lower() != "test" or lowerer.text(name).lower() != "isrunningtest":
        return None
    return not negated


def _production_branch(lowerer, n: Node) -> Node | None:
    """The branch of an `if` or `?:` on Test.isRunningTest() that runs in production, else None.
    The other branch (a dummy endpoint, a mock response) never runs outside Apex tests."""
    in_test = _test_only_condition(lowerer, n.child_by_field_name("condition"))
    if in_test is None:
        return None
    return n.child_by_field_name("alternative" if in_test else "consequence")


def _element_type(t: str) -> str:
    """'list<account>' -> 'account'; 'map<id,contact>' -> 'contact'; 'account[]' -> 'account'."""
    inner = t.replace(" ", "").rstrip(">").replace("[]", "")
    inner = inner.rsplit("<", 1)[-1].rsplit(",", 1)[-1]
    return "" if inner in ("sobject", "object", "") else inner


def _is_record_type(t: str) -> bool:
    if not t:
        return True  # unknown receiver: `.get('Field')` on a record is the common case
    head = t.split("<", 1)[0]
    return head not in ("map", "list", "set") and "<" not in t


def _receiver_type(low: Lowerer, obj: Node, receiver: tuple[Inflow, ...]) -> str:
    if obj.type == "object_creation_expression":
        return low.type_name(obj.child_by_field_name("type"))
    if len(receiver) == 1 and not receiver[0].ops and not receiver[0].ref.path:
        return receiver[0].ref.type
    return ""


def _looks_qualified_type(q: str) -> bool:
    """`Schema.SObjectType`, `ConnectApi.EinsteinLLM`: dotted names that are namespaces, not values."""
    head = q.split(".", 1)[0]
    return head in M.PLATFORM_NAMESPACES
