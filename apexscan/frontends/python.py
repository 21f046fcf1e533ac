"""Python service code -> facts (tree-sitter grammar "python").

A module (`services/copilot/app/llm.py`) is the class `py.services.copilot.app.llm`, named from
its path (`__init__.py` is its package): a module's functions are its Functions, module-level
names are its fields (`F:py.services.copilot.app.llm.client`), and a class in it is
`py.services.copilot.app.llm.llmclient` with its methods (`__init__` is `<init>`, `self` is not a
parameter) and attributes (`self.x` and class-level names are fields). Module-level code is the
module's function `<module>/0`. Locals are `<fid>#<name>`; names bound in a lambda, a
comprehension or a nested function carry its position (`<fid>#<name>@L.C`).

Imports are resolved by name, as the linker resolves class names: `from .llm import ask` (relative
to this file's own path) is `py.services.copilot.app.llm`; `from app.llm import ask` is the module
`app.llm` of the nearest enclosing folder that has one (link.py tries the enclosing packages of the
importing module, then the project root). Module classes have realm "py" (never an Apex class) and
take any number of arguments (defaults, *args): keyword arguments bind by name.

What a service reads and where it sends it comes from data/service_models.toml: Salesforce client
methods (simple_salesforce, salesforce-bulk, Heroku AppLink) are DynamicQuery facts on their SOQL
argument, REST reads of `/services/data/.../query` and `/sobjects/` are sources, SQL text run
through a driver (`cursor.execute`) is a DynamicQuery in language "sql", resolved against Heroku
Connect tables at scan time. LLM clients (`OpenAI(base_url=...)`) have their base URL as their
string value, so it follows the client through variables, attributes, returns and imports; their
calls (`client.chat.completions.create(...)`) are Sinks whose endpoint is that value plus the API
path. Environment variables read with a default (`os.getenv("X", "https://...")`) are ("config",
...) string parts. HTTP calls (`requests.post`, `httpx`) are sinks as in Apex.

Flow is insensitive to statement order within a function. Code under a constant-false guard
(`if False:`, `if TYPE_CHECKING:`, a module constant set once to False) is not analysed. Unknown
node types walk their children, or raise under `strict=True`.
"""
from __future__ import annotations

from contextlib import contextmanager
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
)
from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends import service_calls as SC
from apexscan.frontends.common import CONCAT, all_unknown, get_field, unescape_js
from apexscan.frontends.parsing import parse, run_deep
from apexscan.frontends.service_calls import Kind
from apexscan.frontends.visitor import StrictError, TreeLowerer  # noqa: F401  (StrictError: re-exported)
from apexscan.salesforce import service_models as S
from apexscan.salesforce.apex_models import LLM_BODY_KEYS, LLM_BODY_LITERAL

M = S.PYTHON
REALM = "py"
SERIALIZED = ("collapse", "serialized")
FUNCTION_TYPES = ("function_definition", "lambda")
SCOPE_TYPES = ("list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression")
PATTERN_TYPES = ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "list_splat_pattern",
                 "parenthesized_expression")
FALSE_LITERALS = ("false", "none")
MAX_PATH = 8  # fields of a place told apart (the taint search keeps fewer: engine/taint.MAX_REL)


def module_name(path: str) -> str:
    """`services/copilot/app/llm.py` -> "py.services.copilot.app.llm" (a package's `__init__.py`
    is the package)."""
    parts = path.replace("\\", "/").split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    parts = parts[:-1] + ([] if stem == "__init__" else [stem])
    return ".".join([REALM] + [p.lower() for p in parts if p])


def lower_python(path: str, data: bytes, *, strict: bool = False) -> FileFacts:
    """Parse and lower one Python file. Never raises except in strict mode."""
    if not data.strip():  # an empty module (a package's __init__.py) is common and fine
        return PyLowerer(path, b"", strict).facts(())
    tree, data, diags = parse("python", path, data)
    if tree is None:
        return FileFacts(path=path, diagnostics=diags)

    def lower() -> PyLowerer:
        low = PyLowerer(path, data, strict)
        low.module(tree.root_node)
        return low
    try:
        return lower().facts(diags)
    except RecursionError:
        pass
    try:  # code nested hundreds deep (a long SQL concatenation): once more, with room for it
        return run_deep(lower).facts(diags)
    except RecursionError:
        return FileFacts(path=path, diagnostics=diags + (
            Diagnostic(path, "lower", "expression nesting too deep to analyse; file skipped"),))


@dataclass(frozen=True, slots=True)
class Callable:
    """A function written inline (lambda, nested def): its parameter nodes and result node."""

    params: tuple[str, ...]
    names: tuple[str, ...]
    ret: str


@dataclass(frozen=True, slots=True)
class Binding:
    """What a name denotes.

    kind   value   a variable, parameter, module-level name or class attribute held in `node`
           func    a function of this module: detail = (class, name, parameter names)
           class   a class of this module: detail = (class id,)
           nested  a nested function or lambda: detail = (Callable,)
           import  something imported: detail = (qualified name "module.export" or "module",)
           self    the instance in a method: detail = (class id,)
    """

    kind: str
    node: str = ""
    detail: tuple = ()


@dataclass
class Scope:
    fid: str
    suffix: str
    ret: str
    display: str
    cls: str = ""  # the class whose method this is ("" for module functions)
    names: dict[str, Binding] = field(default_factory=dict)
    parent: "Scope | None" = None
    globals_: set[str] = field(default_factory=set)

    def lookup(self, name: str) -> Binding | None:
        scope: Scope | None = self
        while scope is not None:
            b = scope.names.get(name)
            if b is not None:
                return b
            scope = scope.parent
        return None


class PyLowerer(SC.ServiceFacts, TreeLowerer):
    FALSE_TYPES = FALSE_LITERALS
    _walk, _skip = TreeLowerer._walk, TreeLowerer._skip
    _no_value, _children = TreeLowerer._no_value, TreeLowerer._children

    def __init__(self, path: str, src: bytes, strict: bool):
        super().__init__(path, src, strict)
        self.module_cls = module_name(path)
        self.package = self.module_cls.rsplit(".", 1)[0] if not path.endswith("__init__.py") else self.module_cls
        stem = path.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        self.display = stem if stem != "__init__" else self.module_cls.rsplit(".", 1)[-1]
        self.classes: list[ClassInfo] = []
        self.class_fields: dict[str, dict[str, str]] = {}  # class -> declared field (lower) -> as written
        self.functions: list[Function] = []
        self.assigns: list[Assign] = []
        self.strdefs: list[StrDef] = []
        self.calls: list[Call] = []
        self.sources: list[Source] = []
        self.queries: list[DynamicQuery] = []
        self.endpoints: list[EndpointSet] = []
        self.evidence: list[Evidence] = []
        self.sinks: list[Sink] = []
        self.kinds: dict[str, Kind] = {}  # node -> what library object it holds
        self.returns: dict[str, Kind] = {}  # fid -> what it returns
        self.false_names: set[str] = set()  # module names that are a constant False
        self.scopes: dict[int, Scope] = {}  # function node id -> its scope (made before bodies are lowered)
        self.kind_memo: dict[int, Kind | None] | None = None  # call node id -> its kind, once kinds are known
        self.module_scope = Scope(f"{self.module_cls}.<module>/0", "", "", self.display)
        self.scope = self.module_scope

    def facts(self, diags: tuple[Diagnostic, ...]) -> FileFacts:
        module = ClassInfo(name=self.module_cls, display=self.display, kind="python", superclass="", interfaces=(),
                           fields=self.typed_fields(self.module_cls),
                           is_test=False, location=Location(self.path, 1, 1),
                           field_names=tuple(sorted(self.class_fields.get(self.module_cls, {}).values())),
                           any_arity=True, realm=REALM)
        return FileFacts(
            path=self.path, classes=(module,) + tuple(self.classes), functions=tuple(self.functions),
            assigns=tuple(self.assigns), strdefs=tuple(self.strdefs), calls=tuple(self.calls),
            sources=tuple(self.sources), queries=tuple(self.queries), endpoints=tuple(self.endpoints),
            evidence=tuple(self.evidence), sinks=tuple(self.sinks), diagnostics=diags)

    # --- helpers --------------------------------------------------------------------------------

    def field_node(self, cls: str, name: str) -> str:
        return f"F:{cls}.{name.lower()}"

    def local_node(self, name: str, scope: Scope | None = None) -> str:
        scope = scope or self.scope
        if scope is self.module_scope:
            return self.field_node(self.module_cls, name)
        return f"{scope.fid}#{name.lower()}{scope.suffix}"

    def add_assign(self, target: Ref, value: tuple[Inflow, ...], verb: str, at: Node) -> None:
        if value:
            self.assigns.append(Assign(target, value, verb, self.loc(at), self.scope.fid))

    def add_strdef(self, target: Ref, s: StrExpr) -> None:
        if s and not all_unknown(s):
            self.strdefs.append(StrDef(target, s, self.scope.fid))

    @contextmanager
    def entered(self, scope: Scope):
        saved = self.scope
        self.scope = scope
        try:
            yield scope
        finally:
            self.scope = saved

    def typed_fields(self, cls: str) -> tuple[tuple[str, str], ...]:
        """A class's (or module's) fields, typed with the project class of the instance they hold."""
        out = []
        for name in sorted(self.class_fields.get(cls, {})):
            kind = self.kinds.get(self.field_node(cls, name))
            out.append((name, kind.detail[0] if kind is not None and kind.what == "instance" else ""))
        return tuple(out)

    def declare_field(self, cls: str, name: str) -> None:
        self.class_fields.setdefault(cls, {}).setdefault(name.lower(), name)

    # --- names of imported things -----------------------------------------------------------------

    def absolute(self, module: str, level: int) -> str:
        """`from ..util import x` in this file: the dotted module name it means ("py...." for
        relative imports, as written for absolute ones)."""
        if level == 0:
            return module
        base = self.package
        for _ in range(level - 1):
            base = base.rpartition(".")[0] or base
        return f"{base}.{module}" if module else base

    def qualified(self, n: Node | None) -> str:
        """The dotted name of an expression rooted at an import (`os.environ.get`), "" otherwise."""
        if n is None:
            return ""
        if n.type == "identifier":
            b = self.scope.lookup(self.text(n))
            return b.detail[0] if b is not None and b.kind == "import" else ""
        if n.type == "attribute":
            base = self.qualified(n.child_by_field_name("object"))
            attr = n.child_by_field_name("attribute")
            return f"{base}.{self.text(attr)}" if base and attr is not None else ""
        return ""

    # --- module: declarations first, then bodies ------------------------------------------------

    def module(self, root: Node) -> None:
        self.functions.append(self.function_fact(self.module_scope.fid, "<module>", (), root, ("module",),
                                                 cls=self.module_cls))
        self.false_names = self.constant_false_names(root)
        self.declare_block(root, self.module_scope, self.module_cls)
        self.prepare_kinds(root)
        self.kind_memo = {}
        for child in root.named_children:
            self.stmt(child)

    def constant_false_names(self, root: Node) -> set[str]:
        """Module names assigned exactly once in the file, at module level, to False or None."""
        counts: dict[str, int] = {}
        false: set[str] = set()
        stack = [root]
        while stack:
            n = stack.pop()
            if n.type in ("assignment", "augmented_assignment"):
                left = n.child_by_field_name("left")
                if left is not None and left.type == "identifier":
                    name = self.text(left)
                    counts[name] = counts.get(name, 0) + 1
                    right = n.child_by_field_name("right")
                    if n.parent is not None and n.parent.id == root.id and right is not None \
                            and right.type in FALSE_LITERALS:
                        false.add(name)
            elif n.type in ("global_statement", "nonlocal_statement"):
                for c in n.named_children:
                    counts[self.text(c)] = counts.get(self.text(c), 0) + 2
            stack.extend(n.named_children)
        return {name for name in false if counts.get(name) == 1}

    def declare_block(self, block: Node, scope: Scope, cls: str) -> None:
        """Bind the imports, functions, classes and assigned names of a module or class body."""
        for child in block.named_children:
            node = child.child_by_field_name("definition") if child.type == "decorated_definition" else child
            if node is None:
                continue
            if node.type in ("import_statement", "import_from_statement", "future_import_statement"):
                self.bind_import(node, scope)
            elif node.type == "function_definition":
                name = node.child_by_field_name("name")
                if name is not None:
                    params = self.param_names(node, in_class=bool(cls) and cls != self.module_cls)
                    scope.names[self.text(name)] = Binding("func", "", (cls, _method_name(self.text(name)), params))
            elif node.type == "class_definition":
                name = node.child_by_field_name("name")
                if name is not None:
                    scope.names[self.text(name)] = Binding("class", "", (f"{cls}.{self.text(name).lower()}",))
            elif node.type in ("assignment", "augmented_assignment"):
                self.declare_targets(node, scope, cls)
            if node.type in ("if_statement", "try_statement", "with_statement", "for_statement", "while_statement"):
                loop = node.child_by_field_name("left") if node.type == "for_statement" else None
                aliases = [_with_value(i)[1] for i in _with_items(node)] if node.type == "with_statement" else []
                for target in [loop, *aliases]:
                    for ident in _target_names(target):
                        self.declare_name(scope, cls, self.text(ident))
                for inner in _blocks(node):  # `try: import x except ImportError: x = None`
                    self.declare_block(inner, scope, cls)

    def declare_targets(self, n: Node, scope: Scope, cls: str) -> None:
        left = n.child_by_field_name("left")
        right = n.child_by_field_name("right")
        for ident in _target_names(left):
            self.declare_name(scope, cls, self.text(ident))
        if right is not None and right.type == "assignment":
            self.declare_targets(right, scope, cls)

    def declare_name(self, scope: Scope, cls: str, name: str) -> None:
        if scope.names.get(name) is None or scope.names[name].kind == "value":
            scope.names[name] = Binding("value", self.field_node(cls, name))
            self.declare_field(cls, name)

    def bind_import(self, n: Node, scope: Scope) -> None:
        if n.type == "import_statement":
            for c in n.named_children:
                if c.type == "dotted_name":  # `import a.b` binds a, the package
                    first = self.text(c).split(".", 1)[0]
                    scope.names[first] = Binding("import", "", (first,))
                elif c.type == "aliased_import":
                    name, alias = c.child_by_field_name("name"), c.child_by_field_name("alias")
                    if name is not None and alias is not None:
                        scope.names[self.text(alias)] = Binding("import", "", (self.text(name),))
            return
        if n.type == "future_import_statement":
            return
        module_node = n.child_by_field_name("module_name")
        if module_node is None:
            return
        level, module = 0, self.text(module_node)
        if module_node.type == "relative_import":
            prefix = next((c for c in module_node.children if c.type == "import_prefix"), None)
            level = len(self.text(prefix)) if prefix is not None else 0
            dotted = next((c for c in module_node.named_children if c.type == "dotted_name"), None)
            module = self.text(dotted) if dotted is not None else ""
        base = self.absolute(module, level)
        for c in n.children_by_field_name("name"):
            if c.type == "dotted_name":
                scope.names[self.text(c)] = Binding("import", "", (f"{base}.{self.text(c)}",))
            elif c.type == "aliased_import":
                name, alias = c.child_by_field_name("name"), c.child_by_field_name("alias")
                if name is not None and alias is not None:
                    scope.names[self.text(alias)] = Binding("import", "", (f"{base}.{self.text(name)}",))

    # --- what library object a value is ---------------------------------------------------------------

    def prepare_kinds(self, root: Node) -> None:
        """Before any body is lowered: the scopes of every module function and method, and what
        library objects module names, attributes, locals and returns hold (twice, for chains)."""
        functions: list[tuple[Node, Scope]] = []
        self.collect_functions(root, self.module_scope, self.module_cls, functions)
        for _ in range(2):
            self.kinds_of_block(root, self.module_scope, self.module_cls)
            for fn, scope in functions:
                with self.entered(scope):
                    body = fn.child_by_field_name("body")
                    if body is not None:
                        self.kinds_of_block(body, scope, scope.cls or self.module_cls)
                        kind = self.return_kind(body)
                        if kind is not None:
                            self.returns[scope.fid] = kind

    def collect_functions(self, block: Node, scope: Scope, cls: str, out: list) -> None:
        for child in block.named_children:
            node = child.child_by_field_name("definition") if child.type == "decorated_definition" else child
            if node is None:
                continue
            if node.type == "function_definition":
                out.append((node, self.function_scope(node, cls, child)))
            elif node.type == "class_definition":
                name, body = node.child_by_field_name("name"), node.child_by_field_name("body")
                if name is not None and body is not None:
                    inner = f"{cls}.{self.text(name).lower()}"
                    class_scope = Scope(f"{inner}.<fieldinit>/0", "", "", self.text(name), inner, parent=scope)
                    self.scopes[node.id] = class_scope
                    self.declare_block(body, class_scope, inner)
                    self.collect_functions(body, class_scope, inner, out)
            elif node.type in ("if_statement", "try_statement"):
                for inner_block in _blocks(node):
                    self.collect_functions(inner_block, scope, cls, out)

    def function_scope(self, fn: Node, cls: str, decorated: Node) -> Scope:
        """The scope of a module function or method, with its parameters and locals bound."""
        name = self.text(fn.child_by_field_name("name"))
        in_class = cls != self.module_cls
        params = self.param_names(fn, in_class)
        fid = f"{cls}.{_method_name(name)}/{len(params)}"
        display = f"{self.class_display(cls)}.{name}"
        parent = self.module_scope
        scope = Scope(fid, "", f"{fid}#return", display, cls if in_class else "", parent=parent)
        self.scopes[fn.id] = scope
        with self.entered(scope):
            self.bind_params(fn, in_class and not _is_static(decorated, self.src))
            body = fn.child_by_field_name("body")
            if body is not None:
                self.predeclare(body)
        return scope

    def class_display(self, cls: str) -> str:
        if cls == self.module_cls:
            return self.display
        return next((c.display for c in self.classes if c.name == cls), cls.rsplit(".", 1)[-1])

    def kinds_of_block(self, block: Node, scope: Scope, cls: str) -> None:
        stack = list(reversed(block.named_children))
        while stack:
            n = stack.pop()
            t = n.type
            if t == "assignment":
                right = n.child_by_field_name("right")
                while right is not None and right.type == "assignment":
                    self.kind_target(right.child_by_field_name("left"), right.child_by_field_name("right"))
                    right = right.child_by_field_name("right")
                self.kind_target(n.child_by_field_name("left"), right)
            elif t == "with_statement":
                for item in _with_items(n):
                    value, alias = _with_value(item)
                    if alias is not None:
                        self.kind_target(alias, value)
                stack.extend(reversed(n.named_children))
            elif t in ("decorated_definition", "function_definition", "class_definition", "lambda"):
                continue
            elif t.endswith("statement") or t in ("block", "else_clause", "elif_clause", "except_clause",
                                                  "finally_clause", "case_clause"):
                stack.extend(reversed(n.named_children))

    def kind_target(self, left: Node | None, right: Node | None) -> None:
        if left is None or right is None:
            return
        kind = self.kind_of(right)
        if kind is None:
            return
        target = self.place(left)
        if target is not None and not target.path:
            self.kinds[target.node] = kind

    def return_kind(self, body: Node) -> Kind | None:
        stack = [body]
        while stack:
            n = stack.pop()
            if n.type == "return_statement" and n.named_children:
                kind = self.kind_of(n.named_children[0])
                if kind is not None:
                    return kind
            elif n.type not in ("function_definition", "class_definition", "lambda", "decorated_definition"):
                stack.extend(n.named_children)
        return None

    def kind_of(self, n: Node | None) -> Kind | None:
        """The library object (or project class instance) expression `n` evaluates to, if known.
        Calls are memoised once every kind is known: a builder chain `q.a().b()...` asks again for
        every link."""
        if n is None:
            return None
        if n.type == "call" and self.kind_memo is not None:
            if n.id not in self.kind_memo:
                self.kind_memo[n.id] = self._kind_of(n)
            return self.kind_memo[n.id]
        return self._kind_of(n)

    def _kind_of(self, n: Node) -> Kind | None:
        t = n.type
        if t in ("await", "parenthesized_expression") and n.named_children:
            return self.kind_of(n.named_children[-1])
        if t in ("identifier", "attribute"):
            place = self.place_of_value(n)
            if place is not None and not place.path and place.node in self.kinds:
                return self.kinds[place.node]
            if place is not None and place.type:
                cls_kind = self.kinds.get(f"{place.node}")
                owner = cls_kind.detail[0] if cls_kind is not None and cls_kind.what == "instance" else place.type
                return self.kinds.get(self.field_node(owner, place.path[-1])) if place.path else None
            if t == "attribute" and place is not None and place.path:
                return self.kinds.get(f"F:{place.type}.{place.path[-1]}") if place.type else None
            return None
        if t == "binary_operator":  # LangChain `prompt | llm | parser`
            for side in (n.child_by_field_name("left"), n.child_by_field_name("right")):
                kind = self.kind_of(side)
                if kind is not None and kind.what == "llm":
                    return kind
            return None
        if t != "call":
            return None
        fn = n.child_by_field_name("function")
        q = self.qualified(fn)
        if q:
            found = self.library_kind(q, n)
            if found is not None:
                return found
        if fn is not None and fn.type == "identifier":
            b = self.scope.lookup(self.text(fn))
            if b is not None and b.kind == "class":
                return Kind("instance", (b.detail[0],))
            if b is not None and b.kind == "func":
                fid = f"{b.detail[0]}.{b.detail[1]}/{len(b.detail[2])}"
                return self.returns.get(fid)
            if b is not None and b.kind == "import" and self.text(fn)[:1].isupper():
                return Kind("instance", (b.detail[0].lower(),))
        if fn is not None and fn.type == "attribute":
            obj, attr = fn.child_by_field_name("object"), fn.child_by_field_name("attribute")
            base = self.kind_of(obj)
            if base is not None and base.what == "llm" and attr is not None:
                for client in S.FACTORIES.get((base.detail[0].id, self.text(attr)), ()):
                    if self.selected(client, n):
                        return Kind("llm", (client,))
            if q and q.rpartition(".")[2][:1].isupper():  # module.Class(...) of the project
                return Kind("instance", (q.lower(),))
        return None

    # --- functions and parameters ---------------------------------------------------------------

    def param_names(self, fn: Node, in_class: bool) -> tuple[str, ...]:
        """Parameter names (lower-case), without the instance of a method."""
        params = fn.child_by_field_name("parameters")
        names = []
        for p in params.named_children if params is not None else ():
            ident = _param_identifier(p)
            if ident is not None:
                names.append(self.text(ident).lower())
        if in_class and names and not _is_static(fn.parent if fn.parent is not None and
                                                 fn.parent.type == "decorated_definition" else fn, self.src):
            names = names[1:]
        return tuple(names)

    def bind_params(self, fn: Node, has_self: bool) -> None:
        params = fn.child_by_field_name("parameters")
        first = True
        for p in params.named_children if params is not None else ():
            ident = _param_identifier(p)
            if ident is None:
                continue
            name = self.text(ident)
            if first and has_self:
                first = False
                self.scope.names[name] = Binding("self", f"F:{self.scope.cls}.this", (self.scope.cls,))
                continue
            first = False
            node = self.local_node(name)
            self.scope.names[name] = Binding("value", node)
            annotation = p.child_by_field_name("type")
            if annotation is not None:
                kind = self.annotation_kind(annotation)
                if kind is not None:
                    self.kinds[node] = kind

    def annotation_kind(self, n: Node) -> Kind | None:
        """`client: OpenAI`, `svc: "LlmService"`, `sf: Optional[Salesforce]`."""
        inner = n.named_children[0] if n.type == "type" and n.named_children else n
        if inner.type == "subscript":  # Optional[X], Annotated[X, ...]
            parts = [c for c in inner.named_children[1:]]
            return self.annotation_kind(parts[0]) if parts else None
        if inner.type == "generic_type" and len(inner.named_children) > 1:
            args = inner.named_children[1]
            return self.annotation_kind(args.named_children[0]) if args.named_children else None
        if inner.type == "string":
            name = self.string_value(inner) or ""
            b = self.scope.lookup(name.split(".", 1)[0]) if name else None
            if b is not None and b.kind == "class":
                return Kind("instance", (b.detail[0],))
            return None
        q = self.qualified(inner)
        if q:
            client = S.CLIENT_IMPORTS.get(q)
            if client is not None and not client.select[0]:
                return Kind("llm", (client,))
            sf = S.SALESFORCE_IMPORTS.get(q)
            if sf is not None:
                return Kind("sf", (sf,))
            return Kind("instance", (q.lower(),)) if q.rpartition(".")[2][:1].isupper() else None
        if inner.type == "identifier":
            b = self.scope.lookup(self.text(inner))
            if b is not None and b.kind == "class":
                return Kind("instance", (b.detail[0],))
        return None

    def predeclare(self, block: Node) -> None:
        """Bind every name assigned in a function body (not in nested functions) before lowering it."""
        stack = [block]
        while stack:
            n = stack.pop()
            t = n.type
            if t in ("assignment", "augmented_assignment", "for_statement", "for_in_clause", "named_expression"):
                left = n.child_by_field_name("left") or n.child_by_field_name("name")
                for ident in _target_names(left):
                    self.bind_local(self.text(ident))
                right = n.child_by_field_name("right")
                if t == "assignment" and right is not None and right.type == "assignment":
                    stack.append(right)
                stack.extend(c for c in n.named_children if c.type in ("block", "else_clause"))
            elif t == "with_statement":
                for item in _with_items(n):
                    _, alias = _with_value(item)
                    for ident in _target_names(alias):
                        self.bind_local(self.text(ident))
                stack.extend(n.named_children)
            elif t in ("global_statement", "nonlocal_statement"):
                for c in n.named_children:
                    self.scope.globals_.add(self.text(c))
            elif t in ("function_definition", "class_definition", "decorated_definition"):
                node = n.child_by_field_name("definition") if t == "decorated_definition" else n
                name = node.child_by_field_name("name") if node is not None else None
                if name is not None and node.type == "function_definition":
                    self.scope.names[self.text(name)] = Binding("nested", "", (self.callable_of(node),))
                elif name is not None:
                    self.bind_local(self.text(name))
            elif t in ("import_statement", "import_from_statement"):
                self.bind_import(n, self.scope)
            elif t == "except_clause":
                for c in n.named_children:
                    if c.type == "as_pattern":
                        alias = c.child_by_field_name("alias")
                        for ident in _target_names(alias):
                            self.bind_local(self.text(ident))
                stack.extend(n.named_children)
            elif t.endswith("statement") or t in ("block", "else_clause", "elif_clause", "finally_clause",
                                                  "case_clause", "with_clause"):
                stack.extend(n.named_children)

    def bind_local(self, name: str) -> None:
        if name in self.scope.globals_:
            self.scope.names.setdefault(name, Binding("value", self.field_node(self.module_cls, name)))
            return
        current = self.scope.names.get(name)
        if current is None or current.kind not in ("value", "self"):
            self.scope.names[name] = Binding("value", self.local_node(name))

    def function_fact(self, fid: str, name: str, params: tuple[str, ...], n: Node, annotations: tuple[str, ...],
                      cls: str, display: str = "") -> Function:
        return Function(fid=fid, cls=cls, name=name, display=display or f"{self.display}.{name}",
                        params=tuple(Param(p, "") for p in params), is_static=False,
                        annotations=tuple(sorted(set(annotations))), location=self.loc(n))

    def callable_of(self, fn: Node) -> Callable:
        (line, col) = fn.start_point
        suffix = f"@{line + 1}.{col + 1}"
        outer = self.scope
        params = self.param_names(fn, in_class=False) if fn.type == "function_definition" else \
            self.lambda_params(fn)
        return Callable(tuple(f"{outer.fid}#{p}{suffix}" for p in params), params, f"{outer.fid}#return{suffix}")

    def lambda_params(self, fn: Node) -> tuple[str, ...]:
        params = fn.child_by_field_name("parameters")
        out = []
        for p in params.named_children if params is not None else ():
            ident = _param_identifier(p)
            if ident is not None:
                out.append(self.text(ident).lower())
        return tuple(out)

    def nested(self, fn: Node) -> Callable:
        """Lower a lambda or nested function in the current function."""
        (line, col) = fn.start_point
        suffix = f"@{line + 1}.{col + 1}"
        outer = self.scope
        scope = Scope(outer.fid, suffix, f"{outer.fid}#return{suffix}", outer.display, outer.cls, parent=outer)
        with self.entered(scope):
            self.bind_params(fn, has_self=False)
            body = fn.child_by_field_name("body")
            if body is not None and body.type == "block":
                self.predeclare(body)
                self.stmt(body)
            elif body is not None:
                self.assign(Ref(scope.ret), body, f"returned from {scope.display}", body)
        return self.callable_of(fn)

    def decorators(self, decorated: Node) -> tuple[str, ...]:
        out = []
        for d in decorated.named_children:
            if d.type != "decorator" or not d.named_children:
                continue
            expr = d.named_children[0]
            target = expr.child_by_field_name("function") if expr.type == "call" else expr
            name = self.text(target) if target is not None else ""
            out.append(name.lower())
            if expr.type == "call" and name.rsplit(".", 1)[-1] in M.route_decorators and "." in name:
                out.append("route")
        return tuple(out)

    # --- statements -----------------------------------------------------------------------------

    stmt_module = stmt_block = stmt_else_clause = stmt_finally_clause = stmt_try_statement = _walk
    stmt_expression_statement = stmt_with_clause = stmt_case_clause = _walk
    stmt_comment = stmt_pass_statement = stmt_break_statement = stmt_continue_statement = _skip
    stmt_global_statement = stmt_nonlocal_statement = stmt_future_import_statement = _skip
    stmt_import_statement = stmt_import_from_statement = stmt_delete_statement = stmt_ERROR = _skip
    stmt_type_alias_statement = stmt_print_statement = stmt_exec_statement = stmt_line_continuation = _skip
    stmt_assert_statement = _skip

    EXPRESSION_TYPES = frozenset({"call", "identifier", "attribute", "string", "await", "yield", "subscript",
                                  "concatenated_string", "binary_operator", "boolean_operator", "list", "tuple",
                                  "dictionary", "set", "list_comprehension", "named_expression", "lambda",
                                  "conditional_expression", "parenthesized_expression", "integer", "float",
                                  "true", "false", "none", "ellipsis", "not_operator", "comparison_operator",
                                  "unary_operator", "generator_expression", "dictionary_comprehension",
                                  "set_comprehension", "expression_list", "keyword_argument"})

    def stmt_decorated_definition(self, n: Node) -> None:
        definition = n.child_by_field_name("definition")
        if definition is not None and definition.type == "function_definition":
            self.function_definition(definition, self.decorators(n), n)
        elif definition is not None:
            self.stmt(definition)

    def stmt_function_definition(self, n: Node) -> None:
        self.function_definition(n, (), n)

    def function_definition(self, n: Node, annotations: tuple[str, ...], decorated: Node) -> None:
        scope = self.scopes.get(n.id)
        if scope is None:  # a nested function: lowered where it is, called as a local callable
            name = n.child_by_field_name("name")
            c = self.nested(n)
            if name is not None:
                self.scope.names[self.text(name)] = Binding("nested", "", (c,))
            return
        name = self.text(n.child_by_field_name("name"))
        cls = scope.cls or self.module_cls
        params = self.param_names(n, in_class=bool(scope.cls))
        self.functions.append(self.function_fact(scope.fid, _method_name(name), params, n, annotations, cls,
                                                 scope.display))
        with self.entered(scope):
            body = n.child_by_field_name("body")
            self.param_defaults(n)
            if body is not None:
                self.stmt(body)

    def param_defaults(self, fn: Node) -> None:
        params = fn.child_by_field_name("parameters")
        for p in params.named_children if params is not None else ():
            value = p.child_by_field_name("value")
            ident = _param_identifier(p)
            if value is not None and ident is not None:
                b = self.scope.names.get(self.text(ident))
                if b is not None and b.kind == "value":
                    self.assign(Ref(b.node), value, f"default value of {self.text(ident)}", value)

    def stmt_class_definition(self, n: Node) -> None:
        scope = self.scopes.get(n.id)
        name_node, body = n.child_by_field_name("name"), n.child_by_field_name("body")
        if name_node is None or body is None:
            return
        name = self.text(name_node)
        if scope is None:  # a class inside a function: its members still belong to the module
            outer = self.module_cls
            cls = f"{outer}.{name.lower()}"
            scope = Scope(f"{cls}.<fieldinit>/0", "", "", name, cls, parent=self.module_scope)
            self.scopes[n.id] = scope
            self.declare_block(body, scope, cls)
            nested: list = []
            self.collect_functions(body, scope, cls, nested)
        cls = scope.cls
        bases = [self.base_name(b) for b in _bases(n)]
        bases = [b for b in bases if b]
        settings = any(b in S.CONFIG.settings_bases or b.rsplit(".", 1)[-1] in S.CONFIG.settings_bases
                       for b in (self.qualified_base(x) for x in _bases(n)))
        fields = self.class_fields.setdefault(cls, {})
        self.collect_self_fields(body, cls)
        self.functions.append(self.function_fact(scope.fid, "<fieldinit>", (), n, (), cls, f"{name} fields"))
        with self.entered(scope):
            for child in body.named_children:
                if settings and child.type == "assignment":
                    self.settings_field(child, cls)  # the environment variable, its default in the class
                    continue
                self.stmt(child)
        self.classes.append(ClassInfo(
            name=cls, display=name, kind="python", superclass=bases[0] if bases else "",
            interfaces=tuple(bases[1:]), fields=self.typed_fields(cls), is_test=False,
            location=self.loc(name_node), field_names=tuple(sorted(fields.values())), any_arity=True, realm=REALM))

    def base_name(self, n: Node) -> str:
        """A base class as the linker resolves it: a class of this module by its id, an imported
        one by its dotted name."""
        if n.type == "identifier":
            b = self.scope.lookup(self.text(n))
            if b is not None and b.kind == "class":
                return b.detail[0]
            if b is not None and b.kind == "import":
                return b.detail[0].lower()
            return self.text(n).lower()
        q = self.qualified(n)
        return q.lower() if q else ""

    def qualified_base(self, n: Node) -> str:
        if n.type == "identifier":
            b = self.scope.lookup(self.text(n))
            return b.detail[0] if b is not None and b.kind == "import" else self.text(n)
        return self.qualified(n)

    def collect_self_fields(self, body: Node, cls: str) -> None:
        """`self.x = ...` anywhere in the class's methods declares field x."""
        stack = [body]
        while stack:
            n = stack.pop()
            if n.type in ("assignment", "augmented_assignment"):
                for target in _assigned(n.child_by_field_name("left")):
                    if target.type == "attribute":
                        obj, attr = target.child_by_field_name("object"), target.child_by_field_name("attribute")
                        if obj is not None and obj.type == "identifier" and self.text(obj) in ("self", "cls") \
                                and attr is not None:
                            self.declare_field(cls, self.text(attr))
            if n.type != "class_definition" or n is body:
                stack.extend(n.named_children)

    def settings_field(self, n: Node, cls: str) -> None:
        """A pydantic-settings field reads the environment variable of its name."""
        left = n.child_by_field_name("left")
        if left is None or left.type != "identifier":
            return
        name = self.text(left)
        right = n.child_by_field_name("right")
        default: StrExpr = ()
        if right is not None:
            default = self.strexpr(right)
            if right.type == "call" and self.text(right.child_by_field_name("function") or right).endswith("Field"):
                found = self.find_arg(right, ("default", "0"))
                default = self.strexpr(found) if found is not None else ()
        self.strdefs.append(StrDef(Ref(self.field_node(cls, name)),
                                   (SC.config_part(self.path, name.upper(), default if not all_unknown(default) else ()),),
                                   self.scope.fid))

    def stmt_if_statement(self, n: Node) -> None:
        condition = n.child_by_field_name("condition")
        switched_off = self.constant_false(condition)
        if not switched_off:
            self.expr(condition)
            self.stmt(n.child_by_field_name("consequence"))
        for alt in n.children_by_field_name("alternative"):
            if alt.type == "elif_clause":
                cond = alt.child_by_field_name("condition")
                if self.constant_false(cond):
                    continue
                self.expr(cond)
                self.stmt(alt.child_by_field_name("consequence"))
            else:
                self.stmt(alt)

    stmt_elif_clause = stmt_if_statement

    def constant_false(self, n: Node | None) -> bool:
        if n is None:
            return False
        if n.type in FALSE_LITERALS or (n.type == "integer" and self.text(n) == "0"):
            return True
        if n.type == "parenthesized_expression" and n.named_children:
            return self.constant_false(n.named_children[0])
        if n.type == "identifier":
            name = self.text(n)
            b = self.scope.lookup(name)
            if b is not None and b.kind == "import" and b.detail[0] in M.false_guards:
                return True
            return name in self.false_names and b is not None and b.node == self.field_node(self.module_cls, name)
        return self.qualified(n) in M.false_guards

    def stmt_while_statement(self, n: Node) -> None:
        condition = n.child_by_field_name("condition")
        if not self.constant_false(condition):
            self.expr(condition)
            self.stmt(n.child_by_field_name("body"))
        self.stmt(n.child_by_field_name("alternative"))

    def stmt_for_statement(self, n: Node) -> None:
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        value = self.expr(right)
        if left is not None:
            self.bind_pattern(left, value, "iterated as", n)
        self.stmt(n.child_by_field_name("body"))
        self.stmt(n.child_by_field_name("alternative"))

    def stmt_except_clause(self, n: Node) -> None:
        for c in n.named_children:
            if c.type == "block":
                self.stmt(c)

    stmt_except_group_clause = stmt_except_clause

    def stmt_with_statement(self, n: Node) -> None:
        for item in _with_items(n):
            value, alias = _with_value(item)
            inflows = self.expr(value)
            if alias is not None:
                target = self.place(alias)
                if target is not None:
                    self.add_assign(target, inflows, f"opened as {self.short(alias, 40)}", item)
                    self.add_strdef(target, self.strexpr(value))
                else:
                    self.bind_pattern(alias, inflows, "opened as", item)
        self.stmt(n.child_by_field_name("body"))

    def stmt_match_statement(self, n: Node) -> None:
        self.expr(n.child_by_field_name("subject"))
        body = n.child_by_field_name("body")
        for c in body.named_children if body is not None else ():
            consequence = c.child_by_field_name("consequence")
            self.stmt(consequence)

    def stmt_return_statement(self, n: Node) -> None:
        if n.named_children and self.scope.ret:
            value = n.named_children[0]
            self.assign(Ref(self.scope.ret), value, f"returned from {self.scope.display}", n)

    def stmt_raise_statement(self, n: Node) -> None:
        for c in n.named_children:
            self.expr(c)

    def stmt_assignment(self, n: Node) -> None:
        self.expr_assignment(n)

    def stmt_augmented_assignment(self, n: Node) -> None:
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        value = self.expr(right)
        op = n.child_by_field_name("operator")
        if op is not None and self.text(op) in ("+=", "%="):
            value = _collapse(value)
        target = self.place(left) if left is not None else None
        if target is not None:
            self.add_assign(target, value, f"concatenated into {self.short(left, 40)}", n)

    # --- assignment -----------------------------------------------------------------------------

    def assign(self, target: Ref, value: Node, verb: str, at: Node) -> None:
        self.add_assign(target, self.expr(value), verb, at)
        self.add_strdef(target, self.strexpr(value))

    def expr_assignment(self, n: Node) -> tuple[Inflow, ...]:
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        if left is None or right is None:
            return self.expr(right)
        if right.type == "assignment":  # a = b = value
            value = self.expr_assignment(right)
            inner = right.child_by_field_name("right")
            while inner is not None and inner.type == "assignment":
                inner = inner.child_by_field_name("right")
            target = self.place(left)
            if target is not None:
                self.add_assign(target, value, f"assigned to {self.short(left, 40)}", n)
                if inner is not None:
                    self.add_strdef(target, self.strexpr(inner))
            return value
        if left.type in PATTERN_TYPES:
            value = self.expr(right)
            self.bind_pattern(left, value, "unpacked into", n)
            return value
        if right.type == "lambda" and left.type == "identifier" and self.scope is not self.module_scope:
            self.scope.names[self.text(left)] = Binding("nested", "", (self.nested(right),))  # fmt = lambda r: ...
            return ()
        target = self.place(left)
        if left.type == "subscript":
            for index in left.children_by_field_name("subscript"):
                self.expr(index)
        if target is None:
            self.expr(left)
            return self.expr(right)
        self.assign(target, right, f"assigned to {self.short(left, 40)}", n)
        return (Inflow(target, (), self.short(left)),)

    def bind_pattern(self, p: Node, value: tuple[Inflow, ...], verb: str, at: Node) -> None:
        """Unpacking: `a, (b, c) = v` gives each name v's value (tuples are not told apart)."""
        t = p.type
        if t in ("identifier", "attribute", "subscript"):
            target = self.place(p)
            if target is not None:
                self.add_assign(target, value, f"{verb} {self.short(p, 40)}", at)
        elif t in PATTERN_TYPES or t == "as_pattern_target":
            for c in p.named_children:
                self.bind_pattern(c, value, verb, at)
        elif t not in ("comment", "ERROR"):
            self.unknown(p)

    def place(self, n: Node) -> Ref | None:
        """The Ref an assignment's left-hand side writes (None when it cannot be named)."""
        t = n.type
        if t == "identifier":
            name = self.text(n)
            b = self.scope.lookup(name)
            if b is not None and b.kind in ("value", "self"):
                return Ref(b.node)
            if b is not None and b.kind == "import":
                return Ref(self.import_node(b.detail[0]))
            return Ref(self.local_node(name))
        if t == "attribute":
            obj, attr = n.child_by_field_name("object"), n.child_by_field_name("attribute")
            if obj is None or attr is None:
                return None
            name = self.text(attr).lower()
            if obj.type == "identifier":
                b = self.scope.lookup(self.text(obj))
                if b is not None and b.kind == "self":
                    return Ref(self.field_node(b.detail[0], name))
                if b is not None and b.kind == "import":  # settings.URL of `import settings`
                    return Ref(f"F:{b.detail[0].lower()}.{name}")
                if b is not None and b.kind == "class":
                    return Ref(self.field_node(b.detail[0], name))
            base = self.place_of_value(obj)
            if base is None:
                return None
            if len(base.path) >= MAX_PATH:  # a.b.c.d.e.f.g.h...: deeper fields are not told apart
                return base
            kind = self.kinds.get(base.node) if not base.path else None
            if kind is not None and kind.what == "instance":
                return Ref(base.node, kind.detail[0], base.path + (name,))
            return Ref(base.node, base.type, base.path + (name,))
        if t == "subscript":
            obj = n.child_by_field_name("value")
            base = self.place_of_value(obj) if obj is not None else None
            indexes = n.children_by_field_name("subscript")
            key = self.string_value(indexes[0]) if len(indexes) == 1 and indexes[0].type == "string" else None
            if base is not None and key is not None and len(base.path) < MAX_PATH:
                return Ref(base.node, base.type, base.path + (key.lower(),))
            return base
        if t == "parenthesized_expression" and n.named_children:
            return self.place(n.named_children[0])
        return None

    def place_of_value(self, n: Node | None) -> Ref | None:
        if n is None:
            return None
        if n.type == "identifier":
            b = self.scope.lookup(self.text(n))
            if b is None or b.kind not in ("value", "self", "import"):
                return None
            if b.kind == "import":
                return Ref(self.import_node(b.detail[0]))
            return Ref(b.node)
        if n.type in ("attribute", "subscript", "parenthesized_expression"):
            return self.place(n)
        return None

    def import_node(self, qualified: str) -> str:
        """The module-level name an import stands for as a value: F:<module>.<name>."""
        module, _, name = qualified.rpartition(".")
        return f"F:{module.lower()}.{name.lower()}" if module else f"F:{qualified.lower()}.this"

    # --- expressions ----------------------------------------------------------------------------

    expr_integer = expr_float = expr_true = expr_false = expr_none = expr_ellipsis = _no_value
    expr_comment = expr_ERROR = expr_not_operator = expr_comparison_operator = expr_slice = _no_value
    expr_type = expr_keyword_separator = expr_positional_separator = expr_line_continuation = _no_value

    expr_list = expr_tuple = expr_set = expr_expression_list = expr_list_splat = _children
    expr_dictionary_splat = expr_parenthesized_expression = expr_await = _children
    expr_pattern_list = expr_tuple_pattern = _children

    def expr_unary_operator(self, n: Node) -> tuple[Inflow, ...]:
        return self.expr(n.child_by_field_name("argument"))

    def expr_boolean_operator(self, n: Node) -> tuple[Inflow, ...]:
        return self.expr(n.child_by_field_name("left")) + self.expr(n.child_by_field_name("right"))

    def expr_conditional_expression(self, n: Node) -> tuple[Inflow, ...]:
        parts = n.named_children
        out: tuple[Inflow, ...] = ()
        for i, c in enumerate(parts):
            value = self.expr(c)
            if i != 1:  # the condition (the middle one) is not the value
                out += value
        return out

    def expr_named_expression(self, n: Node) -> tuple[Inflow, ...]:
        name, value = n.child_by_field_name("name"), n.child_by_field_name("value")
        if name is None or value is None:
            return ()
        target = self.place(name)
        inflows = self.expr(value)
        if target is not None:
            self.add_assign(target, inflows, f"assigned to {self.text(name)}", n)
        return inflows

    def expr_yield(self, n: Node) -> tuple[Inflow, ...]:
        for c in n.named_children:
            if self.scope.ret:
                self.assign(Ref(self.scope.ret), c, f"yielded from {self.scope.display}", n)
        return ()

    def expr_binary_operator(self, n: Node) -> tuple[Inflow, ...]:
        op = n.child_by_field_name("operator")
        left = self.expr(n.child_by_field_name("left"))
        right = self.expr(n.child_by_field_name("right"))
        if op is not None and self.text(op) in ("+", "%"):
            return _collapse(left + right)
        return left + right

    def expr_identifier(self, n: Node) -> tuple[Inflow, ...]:
        b = self.scope.lookup(self.text(n))
        if b is None:
            return ()
        if b.kind in ("value", "self"):
            return (Inflow(Ref(b.node), (), self.text(n)),)
        if b.kind == "import":
            return (Inflow(Ref(self.import_node(b.detail[0])), (), self.text(n)),)
        return ()

    def expr_attribute(self, n: Node) -> tuple[Inflow, ...]:
        obj, attr = n.child_by_field_name("object"), n.child_by_field_name("attribute")
        if obj is None or attr is None:
            return ()
        place = self.place(n)
        if place is not None:  # (what get_field would make of the base's value, without recursing)
            return (Inflow(place, (), self.short(n)),)
        base = self.expr(obj)
        return get_field(base, self.text(attr).lower(), self.short(n))

    def expr_subscript(self, n: Node) -> tuple[Inflow, ...]:
        indexes = n.children_by_field_name("subscript")
        for index in indexes:
            self.expr(index)
        base = self.expr(n.child_by_field_name("value"))
        key = self.string_value(indexes[0]) if len(indexes) == 1 and indexes[0].type == "string" else None
        return get_field(base, key.lower(), self.short(n)) if key else base  # lists and tuples are transparent

    def expr_string(self, n: Node) -> tuple[Inflow, ...]:
        out: tuple[Inflow, ...] = ()
        for c in n.named_children:
            if c.type == "interpolation":
                inner = c.child_by_field_name("expression")
                out += _collapse(self.expr(inner))
        found = LLM_BODY_LITERAL.search(self.text(n)) if len(self.text(n)) > 8 else None
        if found is not None:
            temp = self.temp(n)  # hand-written JSON such as '{"model": "gpt-4o", "messages": ['
            self.evidence.append(Evidence(Ref(temp), f"JSON text {found.group(0)}", self.loc(n)))
            out += (Inflow(Ref(temp), (), self.short(n)),)
        return out

    def expr_concatenated_string(self, n: Node) -> tuple[Inflow, ...]:
        return _collapse(self._children(n)) if any(c.type == "string" for c in n.named_children) else ()

    def expr_dictionary(self, n: Node) -> tuple[Inflow, ...]:
        out: tuple[Inflow, ...] = ()
        llm_key = ""
        for c in n.named_children:
            if c.type == "pair":
                key, value = c.child_by_field_name("key"), c.child_by_field_name("value")
                name = self.string_value(key) if key is not None and key.type == "string" else None
                if name is None:
                    self.expr(key)
                got = self.expr(value)
                if name:
                    if not llm_key and name.lower() in LLM_BODY_KEYS:
                        llm_key = name
                    got = tuple(Inflow(i.ref, i.ops + (("put", name.lower()),), i.text) for i in got)
                out += got
            elif c.type == "dictionary_splat":
                out += self._children(c)
            elif c.type != "comment":
                out += self.expr(c)
        if llm_key:
            temp = self.temp(n)
            self.evidence.append(Evidence(Ref(temp), f"key '{llm_key}'", self.loc(n)))
            out += (Inflow(Ref(temp), (), self.short(n)),)
        return out

    def expr_pair(self, n: Node) -> tuple[Inflow, ...]:
        self.expr(n.child_by_field_name("key"))
        return self.expr(n.child_by_field_name("value"))

    def expr_keyword_argument(self, n: Node) -> tuple[Inflow, ...]:
        return self.expr(n.child_by_field_name("value"))

    def expr_lambda(self, n: Node) -> tuple[Inflow, ...]:
        self.nested(n)
        return ()

    def comprehension(self, n: Node) -> tuple[Inflow, ...]:
        """`[f(x) for x in xs if c]`: names bound by its clauses live in a scope of its own."""
        (line, col) = n.start_point
        outer = self.scope
        scope = Scope(outer.fid, f"{outer.suffix}@{line + 1}.{col + 1}", outer.ret, outer.display, outer.cls,
                      parent=outer)
        with self.entered(scope):
            for c in n.named_children:
                if c.type == "for_in_clause":
                    left, right = c.child_by_field_name("left"), c.child_by_field_name("right")
                    value = self.expr(right)
                    for ident in _target_names(left):
                        scope.names[self.text(ident)] = Binding("value", self.local_node(self.text(ident)))
                    if left is not None:
                        self.bind_pattern(left, value, "iterated as", c)
            out: tuple[Inflow, ...] = ()
            for c in n.named_children:
                if c.type == "if_clause":
                    self._children(c)
                elif c.type != "for_in_clause":
                    out += self.expr(c)
            return out

    expr_list_comprehension = expr_set_comprehension = expr_generator_expression = comprehension
    expr_dictionary_comprehension = comprehension

    # --- calls ----------------------------------------------------------------------------------

    def arguments(self, call: Node) -> tuple[list[Node], dict[str, Node], list[Node]]:
        """(positional arguments, keyword arguments, *args/**kwargs splats) of a call."""
        args = call.child_by_field_name("arguments")
        positional: list[Node] = []
        keywords: dict[str, Node] = {}
        splats: list[Node] = []
        if args is None:
            return positional, keywords, splats
        if args.type == "generator_expression":
            return [args], keywords, splats
        for a in args.named_children:
            if a.type == "keyword_argument":
                name, value = a.child_by_field_name("name"), a.child_by_field_name("value")
                if name is not None and value is not None:
                    keywords[self.text(name)] = value
            elif a.type in ("list_splat", "dictionary_splat"):
                splats.append(a)
            elif a.type != "comment":
                positional.append(a)
        return positional, keywords, splats

    def find_arg(self, call: Node, where: S.Args) -> Node | None:
        """The first argument named in `where` (keywords, positions) that the call passes."""
        positional, keywords, _ = self.arguments(call)
        for name in where:
            if name.isdigit():
                if int(name) < len(positional):
                    return positional[int(name)]
            elif name in keywords:
                return keywords[name]
        return None

    def call_values(self, call: Node) -> tuple[Inflow, ...]:
        positional, keywords, splats = self.arguments(call)
        out: tuple[Inflow, ...] = ()
        for a in positional + list(keywords.values()) + splats:
            out += self.arg_value(a)
        return out

    def arg_value(self, a: Node) -> tuple[Inflow, ...]:
        if a.type == "lambda":
            self.nested(a)
            return ()
        return self.expr(a)

    def expr_call(self, n: Node) -> tuple[Inflow, ...]:
        fn = n.child_by_field_name("function")
        if fn is None:
            return ()
        q = self.qualified(fn)
        if q:
            handled = self.library_call(n, q)
            if handled is not None:
                return handled
        if fn.type == "identifier":
            b = self.scope.lookup(self.text(fn))
            if b is not None and b.kind == "func":
                return self.project_call(n, b.detail[0], b.detail[1], b.detail[2])
            if b is not None and b.kind == "class":
                return self.project_call(n, b.detail[0], "<init>", None, kind="new")
            if b is not None and b.kind == "nested":
                return self.invoke_callable(b.detail[0], n)
            if b is not None and b.kind == "import":  # a function or class of another module, or a library
                module, _, name = b.detail[0].rpartition(".")
                if module:
                    if name[:1].isupper():
                        return self.project_call(n, b.detail[0].lower(), "<init>", None, kind="new")
                    return self.project_call(n, module.lower(), name.lower(), None)
            if b is None:
                return self.builtin_call(n, self.text(fn))
            return self.call_values(n) + self.expr(fn)
        if fn.type == "attribute":
            return self.method_call(n, fn, q)
        if fn.type == "lambda":
            return self.invoke_callable(self.nested(fn), n)
        return self.expr(fn) + self.call_values(n)

    def builtin_call(self, n: Node, name: str) -> tuple[Inflow, ...]:
        positional, _, _ = self.arguments(n)
        if name in ("map", "filter", "sorted", "max", "min") and positional:
            return self.callback_builtin(n, name, positional)
        if name in M.no_flow:
            self.call_values(n)
            return ()
        if name in M.serializers:
            return tuple(Inflow(i.ref, i.ops + (SERIALIZED,), self.short(n)) for i in self.call_values(n))
        return self.call_values(n)

    def callback_builtin(self, n: Node, name: str, positional: list[Node]) -> tuple[Inflow, ...]:
        """`map(f, xs)` is what f returns for xs' elements; filter, sorted, min and max give xs' own."""
        function, items = (positional[0], positional[1:]) if name in ("map", "filter") else (None, positional)
        values = tuple(i for a in items for i in self.arg_value(a))
        _, keywords, _ = self.arguments(n)
        for value in keywords.values():
            self.arg_value(value)
        if name != "map" or function is None:
            if function is not None:
                self.arg_value(function)
            return values
        target = self.callable_value(function)
        if target is None:
            return self.arg_value(function) + values
        for param in target.params[:1]:
            self.add_assign(Ref(param), values, f"handed to {self.short(function, 40)} by map", n)
        return (Inflow(Ref(target.ret), (), self.short(n)),)

    def callable_value(self, n: Node) -> Callable | None:
        if n.type == "lambda":
            return self.nested(n)
        if n.type == "identifier":
            b = self.scope.lookup(self.text(n))
            if b is not None and b.kind == "nested":
                return b.detail[0]
        return None

    def library_call(self, n: Node, q: str) -> tuple[Inflow, ...] | None:
        """A call of a library function or constructor named by `q`; None when the model has nothing."""
        if q in S.ENV_READS:
            self.call_values(n)
            return ()
        made = self.library_construction(n, q)
        if made is not None:
            return made
        if q in S.LLM_FUNCTIONS:
            return self.llm_function(n, S.LLM_FUNCTIONS[q], q.rsplit(".", 1)[-1])
        if q in S.HTTP_CALLS:
            return self.http_call(n, q.rsplit(".", 2)[-2] + "." + q.rsplit(".", 1)[-1], S.HTTP_CALLS[q], ())
        if q in S.SQL.functions and not q.endswith("text"):
            found = self.find_arg(n, ("sql", "0"))
            values = self.call_values(n)
            if found is not None:
                return self.sql_read(n, self.strexpr(found), q.rsplit(".", 1)[-1]) + values
            return values
        if q in M.serializers:
            return tuple(Inflow(i.ref, i.ops + (SERIALIZED,), self.short(n)) for i in self.call_values(n))
        if q in M.no_flow:
            self.call_values(n)
            return ()
        if q in M.string_passthrough or q in S.SQL.functions:
            return self.call_values(n)
        return None

    def project_call(self, n: Node, cls: str, name: str, params: tuple[str, ...] | None, kind: str = "call",
                     receiver: tuple[Inflow, ...] = (), receiver_type: str = "") -> tuple[Inflow, ...]:
        """A call the linker resolves: arguments by position, keywords by name."""
        positional, keywords, splats = self.arguments(n)
        values = [self.arg_value(a) for a in positional]
        strs = [self.strexpr(a) for a in positional]
        names: tuple[str, ...] = ()
        if keywords or params:
            names = tuple(params[i] if params and i < len(params) else "" for i in range(len(positional)))
            for key, value in keywords.items():
                names += (key.lower(),)
                values.append(self.arg_value(value))
                strs.append(self.strexpr(value))
        for splat in splats:
            self.expr(splat)
        result = self.temp(n)
        static = cls if not receiver else ""
        self.calls.append(Call(
            site=self.site(n), caller=self.scope.fid, name=name, receiver=receiver, static_type=static,
            receiver_type=receiver_type, args=tuple(values), arg_strs=tuple(strs), result=result,
            location=self.loc(n), text=self.short(n, 80), kind=kind, library="tito", arg_names=names))
        return (Inflow(Ref(result), (), self.short(n)),)

    def invoke_callable(self, c: Callable, n: Node) -> tuple[Inflow, ...]:
        positional, keywords, splats = self.arguments(n)
        for i, a in enumerate(positional):
            value = self.arg_value(a)
            if i < len(c.params):
                self.add_assign(Ref(c.params[i]), value, "passed to a local function", n)
        for key, value_node in keywords.items():
            value = self.arg_value(value_node)
            if key.lower() in c.names:
                self.add_assign(Ref(c.params[c.names.index(key.lower())]), value, "passed to a local function", n)
        for splat in splats:
            self.expr(splat)
        return (Inflow(Ref(c.ret), (), self.short(n)),)

    def method_call(self, n: Node, fn: Node, q: str) -> tuple[Inflow, ...]:
        obj, attr = fn.child_by_field_name("object"), fn.child_by_field_name("attribute")
        if obj is None or attr is None:
            return self.call_values(n)
        name = self.text(attr)
        steps = SC.method_chain(self, fn, "attribute", "object", "attribute")
        # A library object the receiver (or a prefix of it) is known to be.
        for base, rest in steps:
            kind = self.kind_of(base)
            if kind is None:
                continue
            handled = self.kind_call(n, base, rest, kind)
            if handled is not None:
                return handled
            break
        for base, rest in steps:
            module_client = S.CLIENT_MODULES.get(self.qualified(base))
            if module_client is not None and rest in S.LLM_CALLS.get(module_client.id, {}):
                url = SC.client_url(module_client, self.path, lambda _: None, lambda _: False)
                return self.llm_call(n, S.LLM_CALLS[module_client.id][rest], module_client, url, (), rest)
        if q:  # module.function(...) of another module of the project
            module = q.rpartition(".")[0]
            if name[:1].isupper():
                return self.project_call(n, q.lower(), "<init>", None, kind="new")
            return self.project_call(n, module.lower(), name.lower(), None)
        # Salesforce reads on receivers named like the library's (`org.data_api.query`, `data_api.query`).
        if obj.type in ("attribute", "identifier"):
            holder = obj.child_by_field_name("attribute") if obj.type == "attribute" else obj
            sf = S.SALESFORCE_RECEIVERS.get(self.text(holder)) if holder is not None else None
            method = sf.soql_method(name) if sf is not None else None
            if method is not None:
                receiver = self.expr(obj)
                return self.soql_call(n, method, f"{sf.provider} {name}") + receiver
        if name in S.SALESFORCE_FALLBACK:
            sf = S.SALESFORCE_FALLBACK[name]
            method = sf.soql_method(name)
            if method is not None:
                self.expr(obj)
                return self.soql_call(n, method, f"{sf.provider} {name}")
        fallback = self.fallback_llm_call(n, steps)
        if fallback is not None:
            return fallback
        sql = self.sql_method(n, obj, name)
        if sql is not None:
            return sql
        if obj.type == "identifier":
            b = self.scope.lookup(self.text(obj))
            if b is not None and b.kind == "self":
                return self.project_call(n, "", name.lower(), None, receiver=(Inflow(Ref(b.node), (), "self"),),
                                         receiver_type=b.detail[0])
            if b is not None and b.kind == "class":
                return self.project_call(n, b.detail[0], name.lower(), None)
        receiver = self.expr(obj)
        kind = self.kind_of(obj)
        if kind is not None and kind.what == "instance" and len(receiver) == 1:
            return self.project_call(n, "", name.lower(), None, receiver=receiver, receiver_type=kind.detail[0])
        if name in M.rename_methods:
            renamed = self.renamed(n, receiver, M.rename_methods[name])
            if renamed:
                return receiver + renamed
        if name in M.mutators:
            target = self.place_of_value(obj)
            values = self.call_values(n)
            if target is not None:
                self.add_assign(target, values, f"{M.mutators[name]} {self.short(obj, 40)}", n)
            return receiver + values
        if name == "get" and receiver:  # dict.get("key", default)
            positional, _, _ = self.arguments(n)
            key = self.string_value(positional[0]) if positional and positional[0].type == "string" else None
            rest = self.call_values(n)
            if key:
                return get_field(receiver, key.lower(), self.short(n)) + tuple(
                    i for a in positional[1:] for i in self.expr(a))
            return receiver + rest
        values = self.call_values(n)
        if name in M.no_flow_methods:
            return ()
        if name in M.serializer_methods:
            return tuple(Inflow(i.ref, i.ops + (SERIALIZED,), self.short(n)) for i in receiver + values)
        return receiver + values

    def renamed(self, n: Node, receiver: tuple[Inflow, ...], keyword: str) -> tuple[Inflow, ...]:
        """`df.rename(columns={"Old": "New"}, inplace=True)`: what was under Old is under New."""
        mapping = self.find_arg(n, (keyword, "0"))
        if mapping is None or mapping.type != "dictionary":
            return ()
        out: tuple[Inflow, ...] = ()
        for c in mapping.named_children:
            key, value = c.child_by_field_name("key"), c.child_by_field_name("value")
            old = self.string_value(key) if c.type == "pair" and key is not None else None
            new = self.string_value(value) if value is not None and value.type == "string" else None
            if old and new:
                out += tuple(Inflow(i.ref, i.ops + (("get", old.lower()), ("put", new.lower())), self.short(n))
                             for i in receiver)
        inplace = self.find_arg(n, ("inplace",))
        obj = n.child_by_field_name("function").child_by_field_name("object")
        target = self.place_of_value(obj) if inplace is not None and inplace.type == "true" else None
        if target is not None:
            self.add_assign(target, out, f"renamed in {self.short(obj, 40)}", n)
        return out

    def base_value(self, base: Node) -> StrExpr:
        """The string value of a client expression: its base URL, wherever it was made."""
        place = self.place_of_value(base)
        if place is not None:
            return (("ref", place),)
        return self.strexpr(base)

    def kind_call(self, n: Node, base: Node, rest: str, kind: Kind) -> tuple[Inflow, ...] | None:
        """A method of a library object the code is known to hold; None when the model has nothing."""
        if kind.what in ("llm", "http"):
            return self.library_method(n, base, rest, kind)
        if kind.what == "sf":
            return self.salesforce_call(n, base, rest, kind.detail[0])
        if kind.what == "instance" and "." not in rest:
            receiver = self.expr(base)
            if len(receiver) == 1:
                return self.project_call(n, "", rest.lower(), None, receiver=receiver, receiver_type=kind.detail[0])
        return None

    # --- HTTP and Salesforce reads (service_calls.ServiceFacts builds the facts) ----------------

    def map_value(self, n: Node, key: str) -> StrExpr | None:
        """The string expression of `key` in a dict literal argument (`params={"q": soql}`)."""
        if n.type != "dictionary":
            return None
        for c in n.named_children:
            if c.type == "pair":
                k, v = c.child_by_field_name("key"), c.child_by_field_name("value")
                if k is not None and k.type == "string" and self.string_value(k) == key and v is not None:
                    return self.strexpr(v)
        return None

    # --- Salesforce reads -----------------------------------------------------------------------

    def salesforce_call(self, n: Node, base: Node, rest: str, sf: S.SalesforceClient) -> tuple[Inflow, ...] | None:
        parts = rest.split(".")
        receiver = self.expr(base)
        method = sf.soql_method(parts[-1], ".".join(parts[:-1]))
        if method is not None:
            return self.soql_call(n, method, f"{sf.provider} {rest}") + receiver
        for om in sf.object_methods:
            via = om.via.split(".") if om.via else []
            if len(parts) == len(via) + 2 and parts[:len(via)] == via and parts[-1] in om.methods:
                obj = parts[-2]
                if om.whole:
                    self.call_values(n)
                    return self.whole_record(n, obj, f"{sf.provider} {rest}")
                found = self.find_arg(n, om.soql_arg)
                self.call_values(n)
                if found is None:
                    return ()
                return self.soql_read(n, self.strexpr(found), f"{sf.provider} {rest}", om.records)
        return None

    def sql_method(self, n: Node, obj: Node, name: str) -> tuple[Inflow, ...] | None:
        """`cursor.execute("SELECT ... FROM salesforce.contact")` and friends."""
        if name not in S.SQL.methods:
            return None
        found = self.find_arg(n, ("0", "query", "sql", "statement"))
        if found is None:
            return None
        text = self.strexpr(found)
        language = SC.query_language(SC.literal_text(text))
        if language == "soql" and name in ("query", "query_all"):
            receiver = self.expr(obj)
            values = self.call_values(n)
            return self.soql_read(n, text, f"SOQL query ({name})", ("records",)) + receiver + values
        if language != "sql":
            return None
        receiver = self.expr(obj)
        values = self.call_values(n)
        rows = self.sql_read(n, text, name)
        if name in S.SQL.holder_methods:  # a DB-API cursor holds the rows fetchone/fetchall return
            target = self.place_of_value(obj)
            if target is not None:
                self.add_assign(target, rows, f"rows held by {self.short(obj, 40)}", n)
        return rows + receiver + values

    # --- string expressions (for endpoints and queries) -----------------------------------------

    def literal(self, n: Node) -> str | None:
        return self.string_value(n)

    def string_value(self, n: Node) -> str | None:
        """The text of a plain string literal (no interpolation), None otherwise."""
        if n.type == "concatenated_string":
            parts = [self.string_value(c) for c in n.named_children if c.type == "string"]
            return "".join(parts) if all(p is not None for p in parts) else None
        if n.type != "string":
            return None
        start = next((c for c in n.children if c.type == "string_start"), None)
        prefix = self.text(start).lower() if start is not None else ""
        if "f" in prefix and any(c.type == "interpolation" for c in n.named_children):
            return None
        return "".join(self.content(c, "r" in prefix) for c in n.named_children if c.type == "string_content")

    def content(self, c: Node, raw: bool) -> str:
        text = self.text(c)
        if raw:
            return text
        return unescape_js(text.replace("{{", "{").replace("}}", "}")) if "{" in text or "\\" in text else text

    def str_string(self, n: Node) -> StrExpr:
        start = next((c for c in n.children if c.type == "string_start"), None)
        prefix = self.text(start).lower() if start is not None else ""
        out: list[tuple] = []
        for c in n.named_children:
            if c.type == "string_content":
                out.append(("lit", self.content(c, "r" in prefix)))
            elif c.type == "interpolation":
                inner = c.child_by_field_name("expression")
                part = self.strexpr(inner) if inner is not None else ()
                out.extend(part or (("unknown", self.short(c)),))
        return tuple(out) if out else (("lit", ""),)

    def str_concatenated_string(self, n: Node) -> StrExpr:
        out: tuple = ()
        for c in n.named_children:
            out += self.strexpr(c)
        return out

    def str_parenthesized_expression(self, n: Node) -> StrExpr:
        return self.strexpr(n.named_children[-1]) if n.named_children else self._str_unknown(n)

    str_await = str_parenthesized_expression

    def str_binary_operator(self, n: Node) -> StrExpr:
        op = n.child_by_field_name("operator")
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        if op is not None and self.text(op) == "+":
            return self.strexpr(left) + self.strexpr(right)
        if op is not None and self.text(op) == "|":  # a LangChain chain: the value of its model
            for side in (left, right):
                kind = self.kind_of(side)
                if kind is not None and kind.what == "llm":
                    return self.strexpr(side) if side.type != "identifier" else self.base_value(side)
        if op is not None and self.text(op) == "%" and left is not None and left.type == "string":
            values = right.named_children if right is not None and right.type == "tuple" else [right]
            return _percent(self.strexpr(left), [self.strexpr(v) for v in values if v is not None])
        return self._str_unknown(n)

    def str_boolean_operator(self, n: Node) -> StrExpr:
        op = n.child_by_field_name("operator")
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        if op is not None and self.text(op) == "or":
            first = self.strexpr(left)
            if len(first) == 1 and first[0][0] == "config" and not first[0][3]:  # os.getenv("X") or "default"
                return (first[0][:3] + (self.strexpr(right),) + first[0][4:],)
            return (("choice", first, self.strexpr(right)),)
        return self._str_unknown(n)

    def str_conditional_expression(self, n: Node) -> StrExpr:
        parts = n.named_children
        if len(parts) == 3:
            return (("choice", self.strexpr(parts[0]), self.strexpr(parts[2])),)
        return self._str_unknown(n)

    def str_identifier(self, n: Node) -> StrExpr:
        b = self.scope.lookup(self.text(n))
        if b is not None and b.kind in ("value", "self"):
            return (("ref", Ref(b.node)),)
        if b is not None and b.kind == "import":
            return (("ref", Ref(self.import_node(b.detail[0]))),)
        return self._str_unknown(n)

    def str_attribute(self, n: Node) -> StrExpr:
        place = self.place(n)
        if place is not None:
            return (("ref", place),)
        return self._str_unknown(n)

    def str_subscript(self, n: Node) -> StrExpr:
        obj = n.child_by_field_name("value")
        indexes = n.children_by_field_name("subscript")
        key = self.string_value(indexes[0]) if len(indexes) == 1 and indexes[0].type == "string" else None
        if obj is not None and key is not None and self.qualified(obj) in S.ENV_MAPPINGS:
            return (SC.config_part(self.path, key),)
        base = self.place_of_value(obj) if obj is not None else None
        if base is not None and key is not None and not base.path:  # CONFIG["url"] with CONFIG = {...}
            return (("mapget", base, (("lit", key),)),)
        return self._str_unknown(n)

    def str_dictionary(self, n: Node) -> StrExpr:
        entries = []
        for c in n.named_children:
            if c.type == "pair":
                key, value = c.child_by_field_name("key"), c.child_by_field_name("value")
                name = self.string_value(key) if key is not None and key.type == "string" else None
                if name is not None and value is not None:
                    entries.append(((("lit", name),), self.strexpr(value)))
        return (("map", tuple(entries)),) if entries else self._str_unknown(n)

    def str_call(self, n: Node) -> StrExpr:
        fn = n.child_by_field_name("function")
        if fn is None:
            return self._str_unknown(n)
        q = self.qualified(fn)
        if q in S.ENV_READS:
            where_key, where_default = S.ENV_READS[q]
            key = self.find_arg(n, where_key)
            name = self.string_value(key) if key is not None else None
            if name is None:
                return self._str_unknown(n)
            default = self.find_arg(n, where_default) if where_default else None
            return (SC.config_part(self.path, name, self.strexpr(default) if default is not None else ()),)
        made = self.library_strexpr(n, q) if q else None
        if made is not None:
            return made
        if q and (q in M.string_passthrough or q in S.SQL.functions):
            positional, _, _ = self.arguments(n)
            return self.strexpr(positional[0]) if positional else self._str_unknown(n)
        if q and q.endswith("urljoin"):
            positional, _, _ = self.arguments(n)
            return tuple(p for a in positional[:2] for p in self.strexpr(a))
        if fn.type == "attribute":
            obj, attr = fn.child_by_field_name("object"), fn.child_by_field_name("attribute")
            method = self.text(attr) if attr is not None else ""
            base = self.kind_of(obj)
            if base is not None and base.what == "llm":  # session.client("bedrock-runtime", ...)
                for made in S.FACTORIES.get((base.detail[0].id, method), ()):
                    if self.selected(made, n):
                        return SC.client_url(made, self.path, self.finder(n), lambda where: self.given(n, where),
                                             parent=self.base_value(obj))
            if method in ("strip", "rstrip", "lstrip", "lower", "upper") and obj is not None:
                return self.strexpr(obj)
            if method == "format" and obj is not None and obj.type == "string":
                positional, keywords, _ = self.arguments(n)
                return _format(self.strexpr(obj), [self.strexpr(a) for a in positional],
                               {k: self.strexpr(v) for k, v in keywords.items()})
            if method == "join" and obj is not None and obj.type == "string":
                return self._str_unknown(n)
        if fn.type == "identifier":
            b = self.scope.lookup(self.text(fn))
            if b is not None and b.kind in ("func", "import"):
                return (("call", self.site(n)),)
            if b is None and self.text(fn) == "str":
                positional, _, _ = self.arguments(n)
                return self.strexpr(positional[0]) if positional else self._str_unknown(n)
        if fn.type == "attribute" and q:
            return (("call", self.site(n)),)
        return self._str_unknown(n)


# --- small pure helpers ---------------------------------------------------------------------------


def _method_name(name: str) -> str:
    return "<init>" if name == "__init__" else name.lower()


def _collapse(inflows: tuple[Inflow, ...]) -> tuple[Inflow, ...]:
    return tuple(Inflow(i.ref, i.ops + (CONCAT,), i.text) for i in inflows)


def _param_identifier(p: Node) -> Node | None:
    t = p.type
    if t == "identifier":
        return p
    if t in ("default_parameter", "typed_default_parameter"):
        return p.child_by_field_name("name")
    if t in ("typed_parameter", "list_splat_pattern", "dictionary_splat_pattern"):
        inner = next((c for c in p.named_children if c.type == "identifier"), None)
        if inner is None and p.named_children and p.named_children[0].type in ("list_splat_pattern",
                                                                                "dictionary_splat_pattern"):
            return _param_identifier(p.named_children[0])
        return inner
    return None


def _is_static(decorated: Node, data: bytes) -> bool:
    """`@staticmethod`. The name is read from `data`: a tree parsed through a read callback (the
    bounded parse) holds no source, and `Node.text` then reads freed memory."""
    if decorated.type != "decorated_definition":
        return False
    return any(d.type == "decorator" and d.named_children and d.named_children[0].type == "identifier"
               and data[d.named_children[0].start_byte:d.named_children[0].end_byte] == b"staticmethod"
               for d in decorated.named_children)


def _blocks(n: Node):
    """The blocks of a compound statement (if/elif/else, try/except/finally, with, loops)."""
    for c in n.named_children:
        if c.type == "block":
            yield c
        elif c.type in ("elif_clause", "else_clause", "except_clause", "finally_clause", "except_group_clause"):
            yield from _blocks(c)


def _bases(cls: Node) -> list[Node]:
    args = cls.child_by_field_name("superclasses")
    return [a for a in args.named_children if a.type in ("identifier", "attribute")] if args is not None else []


def _target_names(left: Node | None):
    """The identifiers an assignment target binds (not attributes or subscripts)."""
    if left is None:
        return
    stack = [left]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            yield n
        elif n.type in PATTERN_TYPES or n.type == "as_pattern_target":
            stack.extend(n.named_children)


def _assigned(left: Node | None):
    """Every target of an assignment: names, attributes and subscripts, inside tuples too."""
    if left is None:
        return
    stack = [left]
    while stack:
        n = stack.pop()
        if n.type in PATTERN_TYPES:
            stack.extend(n.named_children)
        else:
            yield n


def _with_items(n: Node):
    for c in n.named_children:
        if c.type == "with_clause":
            yield from (i for i in c.named_children if i.type == "with_item")


def _with_value(item: Node) -> tuple[Node | None, Node | None]:
    value = item.child_by_field_name("value")
    if value is not None and value.type == "as_pattern":
        alias = value.child_by_field_name("alias")
        inner = value.named_children[0] if value.named_children else None
        if alias is not None and alias.type == "as_pattern_target" and alias.named_children:
            alias = alias.named_children[0]
        return inner, alias
    return value, None


def _percent(template: StrExpr, values: list[StrExpr]) -> StrExpr:
    """`"https://%s/v1" % host`: each %s (or %d, %r) takes the next value."""
    out: list[tuple] = []
    queue = list(values)
    for part in template:
        if part[0] != "lit" or "%" not in part[1]:
            out.append(part)
            continue
        pieces = part[1].split("%")
        out.append(("lit", pieces[0]))
        for piece in pieces[1:]:
            if piece[:1] in ("s", "d", "r", "i") and queue:
                out.extend(queue.pop(0))
                piece = piece[1:]
            if piece:
                out.append(("lit", piece))
    return tuple(out)


def _format(template: StrExpr, positional: list[StrExpr], keywords: dict[str, StrExpr]) -> StrExpr:
    """`"https://{}.x/{region}".format(a, region=r)`."""
    out: list[tuple] = []
    index = 0
    for part in template:
        if part[0] != "lit" or "{" not in part[1]:
            out.append(part)
            continue
        text, pos = part[1], 0
        while True:
            start = text.find("{", pos)
            end = text.find("}", start + 1) if start >= 0 else -1
            if start < 0 or end < 0:
                out.append(("lit", text[pos:]))
                break
            out.append(("lit", text[pos:start]))
            name = text[start + 1:end].split(":", 1)[0]
            if name == "" and index < len(positional):
                out.extend(positional[index])
                index += 1
            elif name.isdigit() and int(name) < len(positional):
                out.extend(positional[int(name)])
            elif name in keywords:
                out.extend(keywords[name])
            else:
                out.append(("unknown", name))
            pos = end + 1
    return tuple(p for p in out if p != ("lit", ""))
