"""Facts of every file -> one project graph: types, calls, fields and string values resolved.

This is the only stage that sees the whole project. It decides which class a type name means,
which methods a call can reach (every override and implementation for virtual calls), where an
object's field lives, and which string definitions may reach a node (for endpoints).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

import networkx as nx

from apexscan.engine.facts import Assign, Call, ClassInfo, FileFacts, Function, Inflow, Ref, StrExpr
from apexscan.engine.model import Location, Step

# Parameters of these types are passed by value: a callee cannot change the caller's variable.
VALUE_TYPES = {"string", "id", "integer", "long", "decimal", "double", "boolean", "date", "datetime",
               "time", "blob", "object", ""}
SOBJECT_SUFFIXES = ("__c", "__mdt", "__e", "__x", "__b", "__kav", "__share", "__history")


@dataclass
class Program:
    """The project as one graph, plus the tables later stages need."""

    graph: nx.MultiDiGraph
    table: ClassTable  # what a type name means where (its answers are kept)
    functions: dict[str, Function]
    call_targets: dict[str, list[Function]]  # call site -> resolved project callees
    test_classes: set[str] = field(default_factory=set)

    @property
    def classes(self) -> dict[str, ClassInfo]:
        return self.table.classes


class ClassTable:
    def __init__(self, classes: dict[str, ClassInfo]):
        self.classes = classes
        self.by_simple: dict[str, list[str]] = defaultdict(list)
        for name in classes:
            self.by_simple[name.rsplit(".", 1)[-1]].append(name)
        self.fields = {name: dict(c.fields) for name, c in classes.items()}
        # The table never changes once built, and linking asks the same questions again and
        # again (NPSP: 285,000 resolutions of a few thousand distinct names).
        self._resolved: dict[tuple[str, str], str | None] = {}
        self._owners: dict[tuple[str, str], tuple[str, str] | None] = {}
        self.children: dict[str, set[str]] = defaultdict(set)
        for name, c in classes.items():
            for parent in (c.superclass, *c.interfaces):
                target = self.resolve(parent, name)
                if target:
                    self.children[target].add(name)

    def resolve(self, type_name: str, context: str) -> str | None:
        """The project class a (lower-case) type name means inside class `context`, if any."""
        key = (type_name, context)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(type_name, context)
        return self._resolved[key]

    def _resolve(self, type_name: str, context: str) -> str | None:
        t = type_name.split("<", 1)[0].strip()
        if not t or t.endswith(SOBJECT_SUFFIXES):
            return None
        owner = self.classes.get(context)
        realm = owner.realm if owner is not None else ""
        ctx = context
        while ctx:
            candidate = f"{ctx}.{t}"
            if candidate in self.classes and self.classes[candidate].realm == realm:
                return candidate
            ctx = ctx.rpartition(".")[0]
        if t in self.classes and self.classes[t].realm == realm:
            return t
        matches = [m for m in self.by_simple.get(t, []) if self.classes[m].realm == realm]
        return matches[0] if len(matches) == 1 else None

    def same_realm(self, name: str, context: str) -> bool:
        """Whether class `name` may be meant by a name written in class `context`."""
        owner = self.classes.get(context)
        return self.classes[name].realm == (owner.realm if owner is not None else "")

    def ancestors(self, cls: str) -> list[str]:
        """cls, its superclasses and the outer classes' chain are not mixed: superclasses only."""
        out, seen = [], set()
        cur: str | None = cls
        while cur and cur not in seen and cur in self.classes:
            seen.add(cur)
            out.append(cur)
            cur = self.resolve(self.classes[cur].superclass, cur) if self.classes[cur].superclass else None
        return out

    def descendants(self, cls: str) -> list[str]:
        out, todo, seen = [], [cls], {cls}
        while todo:
            c = todo.pop()
            for child in sorted(self.children.get(c, ())):
                if child not in seen:
                    seen.add(child)
                    out.append(child)
                    todo.append(child)
        return out

    def field_owner(self, cls: str, name: str) -> tuple[str, str] | None:
        """(declaring class, declared type) of field `name` as seen from `cls`."""
        key = (cls, name)
        if key not in self._owners:
            self._owners[key] = next(((c, self.fields[c][name]) for c in self.ancestors(cls)
                                      if name in self.fields.get(c, {})), None)
        return self._owners[key]


@dataclass
class FileLinks:
    """What linking one file put into the project, so that it can be taken out again when only
    that file changed (`Linker.relink`)."""

    edges: list[tuple[str, str, int]] = field(default_factory=list)  # (from, to, key) in the graph
    defs: list[tuple[str, tuple]] = field(default_factory=list)  # its string definitions: (node, strdef)
    call_defs: list[tuple[str, tuple]] = field(default_factory=list)  # arguments and results of its calls
    sites: list[str] = field(default_factory=list)  # its call sites with project callees


class Linker:
    def __init__(self, files: list[FileFacts], sanitizers: tuple[str, ...] = ()):
        self.files = files
        self.graph = nx.MultiDiGraph()
        classes: dict[str, ClassInfo] = {}
        self.functions: dict[str, Function] = {}
        for f in files:  # the first definition wins, if two files define a class or function
            for c in f.classes:
                classes.setdefault(c.name, c)
            for fn in f.functions:
                self.functions.setdefault(fn.fid, fn)
        self.table = ClassTable(classes)
        self.methods: dict[str, dict[str, list[Function]]] = defaultdict(lambda: defaultdict(list))
        for fn in self.functions.values():
            self.methods[fn.cls][fn.name].append(fn)
        # node -> [(expr, class it is written in, call site)]: the site is set when the definition is
        # an argument bound to a parameter at that call (so endpoints can be told apart per caller)
        self.strdefs: dict[str, list[tuple[StrExpr, str, str]]] = {}
        self.call_targets: dict[str, list[Function]] = {}
        self.sanitizers = {s.lower() for s in sanitizers}
        # call result node -> (type, class it is written in), for the calls of the file being linked
        self.result_types: dict[str, tuple[str, str]] = {}
        self.links: dict[str, FileLinks] = {}  # file path -> what linking it added
        self._adding = FileLinks()  # the file being linked: where `edge` and `call` record what they add

    # --- places ---------------------------------------------------------------------------------

    def canon(self, node: str, context: str) -> str:
        """F:<class-as-written>.<field> -> the declaring class's node."""
        if not node.startswith("F:"):
            return node
        qual, _, name = node[2:].rpartition(".")
        cls = qual if qual in self.table.classes and self.table.same_realm(qual, context) \
            else self.table.resolve(qual, context) or self._held(qual, context)
        if cls is None:
            return node
        owner = self.table.field_owner(cls, name)
        return f"F:{owner[0]}.{name}" if owner else f"F:{cls}.{name}"

    def _held(self, qual: str, context: str) -> str | None:
        """The class of the object a typed static field holds, for `F:<class>.<field>.<name>`
        (a module's `settings = Settings()` read as `settings.url` from another module)."""
        head, _, tail = qual.rpartition(".")
        owner_cls = self.table.resolve(head, context) if head else None
        owner = self.table.field_owner(owner_cls, tail) if owner_cls else None
        return self.table.resolve(owner[1], owner[0]) if owner and owner[1] else None

    def place(self, ref: Ref, context: str) -> tuple[str, str | None, list[str]]:
        """(node, project class of its value or None, field names left over) for a Ref."""
        node = self.canon(ref.node, context)
        cls = self._class_of(node, ref.type, context)
        rest: list[str] = []
        for name in ref.path:
            owner = self.table.field_owner(cls, name) if cls and not rest else None
            if owner is None:
                rest.append(name)
                cls = None
                continue
            node = f"F:{owner[0]}.{name}"
            cls = self.table.resolve(owner[1], owner[0])
        return node, cls, rest

    def _class_of(self, node: str, type_name: str, context: str) -> str | None:
        if node.startswith("F:") and node.endswith(".this"):
            return node[2:-5]
        if type_name:
            return self.table.resolve(type_name, context)
        if node.startswith("F:"):
            qual, _, name = node[2:].rpartition(".")
            owner = self.table.field_owner(qual, name) if qual in self.table.classes else None
            if owner:
                return self.table.resolve(owner[1], owner[0])
        return None

    def source_end(self, ref: Ref, context: str) -> tuple[str, tuple]:
        node, _, rest = self.place(ref, context)
        return node, tuple(("get", n) for n in rest)

    def target_end(self, ref: Ref, context: str) -> tuple[str, tuple]:
        node, _, rest = self.place(ref, context)
        return node, tuple(("put", n) for n in reversed(rest))

    # --- edges ----------------------------------------------------------------------------------

    def edge(self, src: str, dst: str, ops: tuple, step: Step, kind: str = "flow", site: str = "") -> None:
        if src == dst and not ops:
            return
        key = self.graph.add_edge(src, dst, ops=ops, step=step, kind=kind, site=site,
                                  heap=dst.startswith(("F:", "E:")))
        self._adding.edges.append((src, dst, key))

    def flow(self, inflow: Inflow, target: Ref, message: str, loc: Location, context: str,
             kind: str = "flow", site: str = "") -> None:
        src, src_ops = self.source_end(inflow.ref, context)
        dst, dst_ops = self.target_end(target, context)
        self.edge(src, dst, src_ops + inflow.ops + dst_ops, Step(loc, message), kind, site)

    def link(self) -> Program:
        for f in self.files:
            self._link_definitions(f)
        for f in self.files:
            self._link_calls(f)
        return self._program()

    def relink(self, files: list[FileFacts]) -> Program | None:
        """The program after some files changed, taking out and linking again only what those
        files added. Every other file links exactly as before as long as no class or method
        signature changed, since only signatures decide how names resolve; when one did, or a
        file came or went, this returns None and the project must be linked afresh."""
        if [f.path for f in files] != [f.path for f in self.files]:
            return None
        changed = [(old, new) for old, new in zip(self.files, files) if old is not new]
        if len(changed) > len(files) // 4 + 1:
            return None  # linking afresh is as quick
        if any(_signature(old) != _signature(new) for old, new in changed):
            return None
        self.files = files
        for old, new in changed:
            self._unlink(old.path)
            self._adopt(old, new)
        for _, new in changed:
            self._link_definitions(new)
        for _, new in changed:
            self._link_calls(new)
        return self._program()

    def _link_definitions(self, f: FileFacts) -> None:
        """Assignments and string definitions, and the fields of the file's classes."""
        self.links[f.path] = self._adding = FileLinks()
        for a in f.assigns:
            self.assign(a)
        for d in f.strdefs:
            cls = self._context(d.caller + "#")
            node, _, rest = self.place(d.target, cls)
            # `req.modelName = 'sfdc_ai__...'` on a platform object: kept under node|field.
            self._adding.defs.append((node if not rest else f"{node}|{'.'.join(rest)}", (d.expr, cls, "")))
        for c in f.classes:
            if self.table.classes[c.name] is not c:
                continue  # another definition of the class came first
            for name, _ in c.fields:
                # The object as a whole holds its fields' data as text would (reads of `obj.f` go
                # straight to the field's node): keeping the field structure here would let nested
                # objects build ever longer paths for nothing.
                self.edge(f"F:{c.name}.{name}", f"F:{c.name}.this", (("collapse", "held"),),
                          Step(c.location or Location("", 0, 0), f"held in a {c.display} object"))

    def _link_calls(self, f: FileFacts) -> None:
        """Calls (after every file's definitions, as a call's effect depends on no other call's
        except earlier ones in the same file), and the batch jobs the file defines."""
        self._adding = self.links[f.path]
        # A result node is named after its place in a function: two files defining the same class
        # name it alike, and must not see each other's.
        self.result_types = {}
        for c in f.calls:
            self.call(c)
        for fn in f.functions:
            if fn.name == "execute" and len(fn.params) == 2 and self.functions[fn.fid] is fn:
                self.batch_scope(fn)

    def _program(self) -> Program:
        # A node's string definitions in the order a fresh link finds them: every file's own,
        # then those of every file's calls.
        strdefs: dict[str, list] = {}
        for f in self.files:
            for node, d in self.links[f.path].defs:
                strdefs.setdefault(node, []).append(d)
        for f in self.files:
            for node, d in self.links[f.path].call_defs:
                strdefs.setdefault(node, []).append(d)
        self.strdefs = strdefs
        return Program(self.graph, self.table, self.functions, self.call_targets,
                       {n for n, c in self.table.classes.items() if c.is_test})

    def _unlink(self, path: str) -> None:
        """Take out of the graph and tables what linking the file at `path` added."""
        added = self.links.pop(path)
        graph = self.graph
        for src, dst, key in added.edges:
            graph.remove_edge(src, dst, key)
        for node in {n for src, dst, _ in added.edges for n in (src, dst)}:
            # the adjacency dicts themselves: networkx's degree views cost more than the check
            if not graph._succ[node] and not graph._pred[node]:
                graph.remove_node(node)  # as if never added
        for site in added.sites:
            self.call_targets.pop(site, None)

    def _adopt(self, old: FileFacts, new: FileFacts) -> None:
        """Use the new file's classes and functions where the old ones were in use. The signatures
        are equal, so the two files list them in the same order, only at new places."""
        for was, now in zip(old.classes, new.classes):
            if self.table.classes[was.name] is was:
                self.table.classes[was.name] = now
        replaced = set()
        for was, now in zip(old.functions, new.functions):
            if self.functions[was.fid] is was:
                self.functions[was.fid] = now
                same = self.methods[was.cls][was.name]
                same[same.index(was)] = now
                replaced.add(was.fid)
        if replaced:  # other files' calls resolved to the old objects
            for site, fns in self.call_targets.items():
                if any(fn.fid in replaced for fn in fns):
                    self.call_targets[site] = [self.functions[fn.fid] for fn in fns]

    def _context(self, node: str) -> str:
        return context_of(self.functions, node)

    def assign(self, a: Assign) -> None:
        context = self._context(a.caller + "#")
        for inflow in a.value:
            verb = a.verb
            if verb.startswith("assigned to ") and ("collapse", "concatenated") in inflow.ops:
                verb = "concatenated into " + verb[len("assigned to "):]
            self.flow(inflow, a.target, f"{inflow.text} {verb}", a.location, context)

    def call(self, c: Call) -> None:
        context = self._context(c.caller + "#")
        callees = self.resolve_call(c, context)
        if c.kind == "new":
            cls = self.table.resolve(c.static_type, context)
            if cls:
                self.edge(f"F:{cls}.this", c.result, (), Step(c.location, f"new {self.table.classes[cls].display} object"))
        if any(self._is_sanitizer(fn) for fn in callees):
            return  # a declared sanitizer: nothing flows through it
        if c.kind == "async":
            return  # the job's state lives in its fields; `execute` reads them from there
        if not callees:
            if c.library == "tito":
                for inflow in c.receiver:
                    self.flow(inflow, Ref(c.result), f"{c.text} uses {inflow.text}", c.location, context)
                for values in c.args:
                    for inflow in values:
                        self.flow(inflow, Ref(c.result), f"{inflow.text} passed to {c.text}", c.location, context)
            return
        self.call_targets[c.site] = callees
        self._adding.sites.append(c.site)
        returns = {fn.returns for fn in callees}
        if len(returns) == 1 and "" not in returns:
            # `new Payload(m).addSystem(s).addUser(u)`: the next call's receiver has this type.
            self.result_types[c.result] = (returns.pop(), callees[0].cls)
        for fn in callees:
            for i, values, param, target in self._bindings(c, fn):
                for inflow in values:
                    self.flow(inflow, target, f"{inflow.text} passed to {fn.display}({param.name})",
                              c.location, context, kind="call", site=c.site)
                if i < len(c.arg_strs) and c.arg_strs[i]:
                    self._adding.call_defs.append((target.node, (c.arg_strs[i], context, c.site)))
                if param.type not in VALUE_TYPES and len(values) == 1 and not values[0].ops:
                    # Records, collections and objects are passed by reference: what the callee
                    # adds to them is seen by the caller afterwards.
                    arg_node, _, rest = self.place(values[0].ref, context)
                    if not rest:
                        self.edge(target.node, arg_node, (),
                                  Step(c.location, f"{values[0].text} filled in by {fn.display}"),
                                  kind="ret", site=c.site)
            self.edge(f"{fn.fid}#return", c.result, (), Step(c.location, f"returned from {fn.display}"),
                      kind="ret", site=c.site)
        # What the callees return, back in this caller (the resolver matches the call site).
        self._adding.call_defs.append((c.result, ((("call", c.site),), context, "")))

    def _bindings(self, c: Call, fn: Function):
        """(index, argument value, parameter, place it lands) for each argument of a call."""
        if not c.arg_names:
            for i, values in enumerate(c.args[: len(fn.params)]):
                param = fn.params[i]
                yield i, values, param, Ref(f"{fn.fid}#{param.name}", param.type)
            return
        by_name = {p.name: p for p in fn.params}
        for i, (name, values) in enumerate(zip(c.arg_names, c.args)):
            if name == "":  # passed by position among arguments passed by name
                if i < len(fn.params):
                    param = fn.params[i]
                    yield i, values, param, Ref(f"{fn.fid}#{param.name}", param.type)
            elif name == "*":  # one value for every parameter (ConnectApi's map of template inputs)
                for param in fn.params:
                    yield i, values, param, Ref(f"{fn.fid}#{param.name}", param.type)
            elif name in by_name:
                param = by_name[name]
                yield i, values, param, Ref(f"{fn.fid}#{name}", param.type)
            elif c.kind == "invocable" and fn.params:
                # Flow input `prompt` fills the @InvocableVariable `prompt` of the request class
                # (List<Request> requests), or the list itself for List<String> / List<SObject>.
                param = fn.params[0]
                element = param.type.split("<", 1)[-1].rstrip(">") if "<" in param.type else param.type
                cls = self.table.resolve(element, fn.cls)
                owner = self.table.field_owner(cls, name) if cls else None
                target = Ref(f"F:{owner[0]}.{name}") if owner else Ref(f"{fn.fid}#{param.name}", param.type)
                yield i, values, param, target

    def _is_sanitizer(self, fn: Function) -> bool:
        return fn.display.lower() in self.sanitizers or \
            f"{fn.cls.rsplit('.', 1)[-1]}.{fn.name}" in self.sanitizers

    def resolve_call(self, c: Call, context: str) -> list[Function]:
        arity = len(c.args)
        if c.kind == "invocable":
            cls = self.table.resolve(c.static_type, context)
            return [fn for fn in self.methods.get(cls, {}).get(c.name, []) if "invocablemethod" in fn.annotations] \
                if c.name != "*" else [fn for fns in self.methods.get(cls, {}).values() for fn in fns
                                        if "invocablemethod" in fn.annotations]
        if c.kind in ("flow", "template", "named"):
            fid = c.static_type if c.kind == "named" else f"{c.kind}:{c.static_type}"
            return [self.functions[fid]] if fid in self.functions else []
        if c.arg_names and c.static_type:  # called by parameter name (LWC -> @AuraEnabled Apex)
            cls = self.table.resolve(c.static_type, context)
            return self._any_arity(cls, c.name) if cls else []
        if c.kind in ("new", "this", "super"):
            if c.kind == "new":
                cls = self.table.resolve(c.static_type, context)
            elif c.kind == "this":
                cls = context
            else:
                sup = self.table.classes.get(context)
                cls = self.table.resolve(sup.superclass, context) if sup and sup.superclass else None
            if cls and self.table.classes[cls].any_arity:
                return self._any_arity(cls, "<init>")
            return self._by_arity(self.methods.get(cls, {}).get("<init>", []), arity) if cls else []
        if c.kind == "async":
            cls = self.table.resolve(c.receiver_type, context)
            return [fn for k in ([cls] + self.table.descendants(cls) if cls else [])
                    for fn in self.methods.get(k, {}).get(c.name, [])]
        if c.static_type:
            cls = self.table.resolve(c.static_type, context)
            if cls and self.table.classes[cls].any_arity:  # JavaScript, Python: no overloads by arity
                return self._any_arity(cls, c.name)
            return self._lookup(cls, c.name, arity, virtual=False) if cls else []
        if c.receiver:
            cls = self.table.resolve(c.receiver_type, context) if c.receiver_type else None
            if cls is None and len(c.receiver) == 1:
                _, cls, rest = self.place(c.receiver[0].ref, context)
                cls = cls if not rest and not c.receiver[0].ops else None
                if cls is None and c.receiver[0].ref.node in self.result_types:
                    type_name, where = self.result_types[c.receiver[0].ref.node]
                    cls = self.table.resolve(type_name, where)
            return self._lookup(cls, c.name, arity, virtual=True) if cls else []
        # Unqualified: this class and its superclasses, then enclosing classes.
        ctx = context
        while ctx:
            found = self._lookup(ctx, c.name, arity, virtual=True)
            if found:
                return found
            ctx = ctx.rpartition(".")[0]
        return []

    def _lookup(self, cls: str, name: str, arity: int, *, virtual: bool) -> list[Function]:
        found: list[Function] = []
        for k in self.table.ancestors(cls):
            found = self._arity_match(k, name, arity)
            if found:
                break
        if virtual:
            for sub in self.table.descendants(cls):
                found += self._arity_match(sub, name, arity)
        seen, out = set(), []
        for fn in found:
            if fn.fid not in seen:
                seen.add(fn.fid)
                out.append(fn)
        return out

    def _any_arity(self, cls: str, name: str) -> list[Function]:
        """Every method `name` of the class or of its nearest ancestor that has one: JavaScript and
        calls by parameter name do not count arguments. (An Aura component's class, from
        frontends/aura.py, has its .cmp's Apex controller as superclass.)"""
        for k in self.table.ancestors(cls):
            if self.methods.get(k, {}).get(name):
                return list(self.methods[k][name])
        return []

    def _arity_match(self, cls: str, name: str, arity: int) -> list[Function]:
        fns = self.methods.get(cls, {}).get(name, [])
        return list(fns) if fns and self.table.classes[cls].any_arity else self._by_arity(fns, arity)

    @staticmethod
    def _by_arity(fns: list[Function], arity: int) -> list[Function]:
        return [fn for fn in fns if len(fn.params) == arity]

    def batch_scope(self, execute: Function) -> None:
        """Database.Batchable: what start() returns is the scope execute(ctx, scope) receives."""
        scope = f"{execute.fid}#{execute.params[1].name}"
        for start in self.methods.get(execute.cls, {}).get("start", []):
            self.edge(f"{start.fid}#return", scope, (),
                      Step(execute.location, f"records returned by {start.display} "
                                             f"handed to {execute.display} in batches"))


def _signature(f: FileFacts) -> tuple:
    """What other files' linking can depend on: the file's classes and functions, but not where
    they are written."""
    return (tuple(replace(c, location=None) for c in f.classes),
            tuple(replace(fn, location=None) for fn in f.functions))


def context_of(functions: dict[str, Function], node: str) -> str:
    """The class a node belongs to (for resolving names written inside it)."""
    if node.startswith("F:"):
        return node[2:].rpartition(".")[0]
    fid = node.split("#", 1)[0]
    fn = functions.get(fid)
    return fn.cls if fn else fid.rpartition(".")[0]
