"""Label propagation from sources to sinks over the project graph, with witness paths.

Generic: nothing here knows Salesforce. The graph is a networkx MultiDiGraph whose edges carry
  ops    operations applied to a label on the way (see `apply_ops`)
  kind   "flow", "call" (into a callee, with `site`) or "ret" (back to a caller, with `site`)
  heap   True when the edge writes a field: the call context is forgotten there
  step   the Step shown to users for this edge

A label is (source_id, rel, field, whole):
  source_id  index into the caller's source table (which SOQL, which endpoint ...)
  rel        where the labelled value sits inside the current value: ("owner", "email") means
             "this value's .owner.email holds it"; () means the value itself; ("*",) every field;
             names stored by a `put` (into a wrapper or a new record) carry a leading "."
  field      the field path of the datum in its source object (filled in on the way for wildcards)
  whole      True once a record was turned into text as a whole (JSON.serialize(acc))

Call strings of length K make the search context-sensitive: data that entered a callee from one
call site returns only to that site, so a shared helper does not mix its callers.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import networkx as nx

from .model import Step

K = 2  # call-string depth
MAX_REL = 5  # deepest nesting of a value inside wrappers that is still told apart

Label = tuple  # (source_id, rel, field, whole)
State = tuple  # (node, label, ctx)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A label that reached a sink node, with the steps from its source to the sink node."""

    sink: str
    label: Label
    steps: tuple[Step, ...]


def apply_ops(label: Label, ops: tuple) -> Label | None:
    src, rel, fld, whole = label
    for op in ops:
        kind = op[0]
        if kind == "get":
            name = op[1]
            if rel:
                if rel[0] == name or rel[0] == "." + name:
                    rel = rel[1:]
                elif rel[0] == "*":
                    rel, fld = (), fld + (name,)
                else:
                    return None
        elif kind == "put":
            rel = (("." + op[1],) + rel)[:MAX_REL]
        elif kind == "collapse":
            # Record structure (names without the "." of a put) still in the value: the record
            # itself is being turned into text, with every field it holds.
            if any(r[0] != "." for r in rel):
                whole = True
            rel = ()
    return (src, rel, fld, whole)


def relevant_nodes(graph: nx.MultiDiGraph, sinks: set[str]) -> set[str]:
    """Every node from which some sink can be reached, ignoring labels and contexts."""
    seen = {s for s in sinks if s in graph}
    todo = list(seen)
    pred = graph._pred  # plain dicts: the views networkx builds per access cost more than the search
    while todo:
        n = todo.pop()
        for p in pred[n]:
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen


def search(graph: nx.MultiDiGraph, sources: dict[str, list[tuple[Label, Step]]],
           sinks: set[str], *, max_states: int = 2_000_000) -> list[Arrival]:
    """Breadth-first label propagation; returns the first (shortest) arrival of each label at each sink."""
    keep = relevant_nodes(graph, sinks)
    adjacency = {n: [(nxt, d["ops"], d["kind"], d["site"], d["heap"], d["step"])
                     for nxt, edges in graph._succ[n].items() if nxt in keep for d in edges.values()]
                 for n in keep}
    parent: dict[State, tuple[State | None, Step]] = {}
    queue: deque[State] = deque()
    for node in sorted(sources):
        if node not in keep:
            continue
        for label, step in sources[node]:
            state = (node, label, ())
            if state not in parent:
                parent[state] = (None, step)
                queue.append(state)
    arrivals: dict[tuple[str, Label], State] = {}
    while queue and len(parent) < max_states:
        state = queue.popleft()
        node, label, ctx = state
        if node in sinks:
            arrivals.setdefault((node, _report_key(label)), state)
        for nxt, ops, kind, site, heap, step in adjacency[node]:
            if heap:
                new_ctx: tuple | None = ()
            elif kind == "flow":
                new_ctx = ctx
            elif kind == "call":
                new_ctx = (ctx + (site,))[-K:]
            elif not ctx:  # a return with no matching call: the data started inside the callee
                new_ctx = ()
            else:
                new_ctx = ctx[:-1] if ctx[-1] == site else None
                if new_ctx is None:
                    continue
            new_label = apply_ops(label, ops) if ops else label
            if new_label is None:
                continue
            new_state = (nxt, new_label, new_ctx)
            if new_state not in parent:
                parent[new_state] = (state, step)
                queue.append(new_state)
    return [Arrival(sink, state[1], _steps(parent, state))
            for (sink, _), state in sorted(arrivals.items(), key=lambda kv: (kv[0][0], repr(kv[0][1])))]


def _report_key(label: Label) -> Label:
    src, rel, fld, whole = label
    return (src, fld, whole or "*" in rel)


def _steps(parent: dict, state: State) -> tuple[Step, ...]:
    out: list[Step] = []
    cur: State | None = state
    while cur is not None:
        prev, step = parent[cur]
        if not out or out[-1] != step:
            out.append(step)
        cur = prev
    out.reverse()
    return tuple(out)
