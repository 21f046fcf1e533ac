"""Linking facts that no one language owns: classes whose calls ignore arity (ClassInfo.any_arity),
classes of a realm of their own (ClassInfo.realm), and arguments passed by position among
arguments passed by name (Call.arg_names "")."""
from __future__ import annotations

from apexscan.engine.facts import Call, ClassInfo, FileFacts, Function, Inflow, Param, Ref
from apexscan.engine.link import Linker
from apexscan.engine.model import Location

AT = Location("f", 1, 1)


def cls(name: str, **kw) -> ClassInfo:
    return ClassInfo(name=name, display=name, kind="class", superclass="", interfaces=(), fields=(),
                     is_test=False, location=AT, **kw)


def fn(cls_name: str, name: str, *params: str) -> Function:
    return Function(fid=f"{cls_name}.{name}/{len(params)}", cls=cls_name, name=name, display=f"{cls_name}.{name}",
                    params=tuple(Param(p, "") for p in params), is_static=True, annotations=(), location=AT)


def call(caller: str, static_type: str, name: str, n_args: int, arg_names: tuple[str, ...] = ()) -> Call:
    args = tuple((Inflow(Ref(f"{caller}#a{i}"), (), f"a{i}"),) for i in range(n_args))
    return Call(site=f"site:{static_type}.{name}:{n_args}", caller=caller, name=name, receiver=(),
                static_type=static_type, receiver_type="", args=args, arg_strs=tuple(() for _ in args),
                result=f"{caller}#r", location=AT, text="call", arg_names=arg_names)


def linked(*files: FileFacts):
    linker = Linker(list(files))
    return linker, linker.link()


def test_a_call_of_an_any_arity_class_binds_the_arguments_it_passes():
    callee = FileFacts("b", classes=(cls("py.svc.llm", any_arity=True, realm="py"),),
                       functions=(fn("py.svc.llm", "ask", "prompt", "model"),))
    caller = FileFacts("a", classes=(cls("py.svc.main", any_arity=True, realm="py"),),
                       functions=(fn("py.svc.main", "run"),),
                       calls=(call("py.svc.main.run/0", "llm", "ask", 1),))
    _, program = linked(callee, caller)
    (target,) = program.call_targets["site:llm.ask:1"]
    assert target.fid == "py.svc.llm.ask/2"
    assert program.graph.has_edge("py.svc.main.run/0#a0", "py.svc.llm.ask/2#prompt")


def test_a_class_without_the_flag_still_needs_the_arity_to_match():
    callee = FileFacts("b", classes=(cls("llm"),), functions=(fn("llm", "ask", "prompt", "model"),))
    caller = FileFacts("a", classes=(cls("main"),), functions=(fn("main", "run"),),
                       calls=(call("main.run/0", "llm", "ask", 1),))
    _, program = linked(callee, caller)
    assert "site:llm.ask:1" not in program.call_targets


def test_names_resolve_only_within_the_realm_of_the_class_they_are_written_in():
    apex = FileFacts("Utils.cls", classes=(cls("utils"),), functions=(fn("utils", "send", "x"),))
    service = FileFacts("svc/main.py", classes=(cls("py.svc.main", any_arity=True, realm="py"),),
                        functions=(fn("py.svc.main", "run"),),
                        calls=(call("py.svc.main.run/0", "utils", "send", 1),))
    linker, program = linked(apex, service)
    assert "site:utils.send:1" not in program.call_targets  # `import utils` is a library, not Apex Utils
    assert linker.table.resolve("utils", "py.svc.main") is None
    assert linker.table.resolve("utils", "") == "utils"


def test_a_module_resolves_from_the_enclosing_packages_of_the_importing_module():
    llm = FileFacts("svc/app/llm.py", classes=(cls("py.svc.app.llm", any_arity=True, realm="py"),),
                    functions=(fn("py.svc.app.llm", "ask", "prompt"),))
    main = FileFacts("svc/app/main.py", classes=(cls("py.svc.app.main", any_arity=True, realm="py"),),
                     functions=(fn("py.svc.app.main", "run"),),
                     calls=(call("py.svc.app.main.run/0", "app.llm", "ask", 1),))
    _, program = linked(llm, main)
    assert [f.fid for f in program.call_targets["site:app.llm.ask:1"]] == ["py.svc.app.llm.ask/1"]


def test_positional_arguments_among_keyword_arguments_bind_by_position():
    callee = FileFacts("b", classes=(cls("py.m", any_arity=True, realm="py"),),
                       functions=(fn("py.m", "ask", "prompt", "model", "temperature"),))
    caller = FileFacts("a", classes=(cls("py.main", any_arity=True, realm="py"),), functions=(fn("py.main", "run"),),
                       calls=(call("py.main.run/0", "m", "ask", 2, arg_names=("", "temperature")),))
    _, program = linked(callee, caller)
    graph = program.graph
    assert graph.has_edge("py.main.run/0#a0", "py.m.ask/3#prompt")
    assert graph.has_edge("py.main.run/0#a1", "py.m.ask/3#temperature")
    assert not graph.has_edge("py.main.run/0#a1", "py.m.ask/3#model")
