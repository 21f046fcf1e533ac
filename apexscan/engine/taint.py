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
             names stored by a `put` (into a wrapper or a new record) carry a leading "."; ("~",)
             is one field of a wildcard record, which further reads extend
  field      the field path of the datum in its source object (filled in on the way for wildcards)
  whole      True once a record was turned into text as a whole (JSON.serialize(acc))

Call strings of length K make the search context-sensitive: data that entered a callee from one
call site returns only to that site, so a shared helper does not mix its callers. A call string is a
tuple of call sites, outermost first; () says nothing about the callers. A source may be seeded in a
given call string (an endpoint that holds only when the helper was called from one site), and with
`per_context` the search reports every call string a label reaches a sink in, so two searches can be
matched per calling context (`compatible`).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import networkx as nx

from apexscan.engine.model import Step

K = 2  # call-string depth
MAX_REL = 4  # deepest nesting of a value inside wrappers that is still told apart

Label = tuple  # (source_id, rel, field, whole)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A label that reached a sink node, with the steps from its source to the sink node."""

    sink: str
    label: Label
    steps: tuple[Step, ...]
    context: tuple[str, ...] = ()  # the call string it arrived in (only with per_context)


def compatible(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two call strings can describe the same stack: the shorter ends the longer (both keep
    the innermost calls; () allows any)."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return not short or long_[len(long_) - len(short):] == short


def apply_ops(label: Label, ops: tuple) -> Label | None:
    src, rel, fld, whole = label
    for op in ops:
        kind = op[0]
        if kind == "get":
            name = op[1]
            if rel:
                if rel[0] == name or rel[0] == "." + name:
                    rel = rel[1:]
                elif rel[0] in ("*", "~"):
                    # A field of a record holding every field. It may be a relationship whose own
                    # field is read next ($Record.CreatedBy.Email): "~" allows one more step.
                    rel, fld = (("~",) if rel[0] == "*" else ()), fld + (name,)
                else:
                    return None
        elif kind == "put":
            rel = (("." + op[1],) + rel)[:MAX_REL]
        elif kind == "collapse":
            # Record structure (names without the "." of a put) still in the value: the record
            # itself is being turned into text, with every field it holds.
            if any(r[0] not in ".~" for r in rel):
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


def search(graph: nx.MultiDiGraph, sources: dict[str, list[tuple[Label, Step, tuple[str, ...]]]],
           sinks: set[str], *, per_context: bool = False) -> list[Arrival]:
    """Propagate label sets breadth-first; return each label's first arrival at each sink, or with
    `per_context` its first arrival in each call string it reaches the sink in (shortest call
    string first, so the first arrival per label is the one a plain search returns).

    `sources` maps a node to (label, step, call string the label starts in).

    Label sets are bitsets (Python ints over an intern table), so an edge without operations
    moves every label at once, and pending work for one (node, context) is merged before it is
    processed. The cost then grows with (node, context) pairs far more than with labels.
    """
    # A sink that is itself a source (a prompt template's merge fields) may have no edge at all.
    keep = relevant_nodes(graph, sinks) | (sinks & sources.keys())
    adjacency = {n: _successors(graph, n, keep) for n in keep}
    labels: list[Label] = []
    index: dict[Label, int] = {}

    def bit(label: Label) -> int:
        i = index.get(label)
        if i is None:
            i = index[label] = len(labels)
            labels.append(label)
        return i

    held: dict[tuple, int] = {}  # (node, ctx) -> bitset of labels there
    # (node, ctx) -> [(bits added, previous node, previous ctx, step, {new bit: old bit} or None)]
    history: dict[tuple, list] = {}
    pending: dict[tuple, int] = {}
    queue: deque = deque()

    def add(key: tuple, bits: int, origin: tuple) -> None:
        new = bits & ~held.get(key, 0)
        if not new:
            return
        held[key] = held.get(key, 0) | new
        history.setdefault(key, []).append((new,) + origin)
        if key in pending:
            pending[key] |= new
        else:
            pending[key] = new
            queue.append(key)

    for node in sorted(sources):
        if node in keep:
            for label, step, ctx in sources[node]:
                add((node, tuple(ctx)[-K:]), 1 << bit(label), (None, None, step, None))
    moved_cache: dict[tuple, int] = {}
    batch_cache: dict[tuple, tuple] = {}
    while queue:
        key = queue.popleft()
        delta = pending.pop(key)
        node, ctx = key
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
            if not ops:
                add((nxt, new_ctx), delta, (node, ctx, step, None))
                continue
            cached = batch_cache.get((ops, delta))
            if cached is not None:
                if cached[0]:
                    add((nxt, new_ctx), cached[0], (node, ctx, step, cached[1]))
                continue
            out, back, rest = 0, {}, delta
            while rest:
                low = rest & -rest
                i = low.bit_length() - 1
                rest ^= low
                j = moved_cache.get((ops, i))
                if j is None:
                    moved = apply_ops(labels[i], ops)
                    j = moved_cache[(ops, i)] = -1 if moved is None else bit(moved)
                if j >= 0:
                    out |= 1 << j
                    back.setdefault(j, i)
            batch_cache[(ops, delta)] = (out, back)  # the same label sets travel many edges
            if out:
                add((nxt, new_ctx), out, (node, ctx, step, back))
    arrivals: dict[tuple, tuple] = {}
    for key in sorted((k for k in held if k[0] in sinks), key=lambda k: (k[0], len(k[1]), k[1])):
        bits = held[key]
        while bits:
            low = bits & -bits
            i = low.bit_length() - 1
            bits ^= low
            report = (key[0], report_key(labels[i])) + ((key[1],) if per_context else ())
            arrivals.setdefault(report, (key, i))
    order = sorted(arrivals.items(), key=lambda kv: (kv[0][0], repr(kv[0][1]), len(kv[1][0][1]), kv[1][0][1]))
    return [Arrival(report[0], labels[i], _steps(history, key, i), key[1]) for report, (key, i) in order]


def _successors(graph: nx.MultiDiGraph, node: str, keep: set[str]) -> list[tuple]:
    """The edges out of `node` into `keep`, in an order that does not depend on the order they were
    added in: a graph patched after an edit then gives the same witness paths as a fresh one."""
    if node not in graph:
        return []
    out = [(nxt, d["ops"], d["kind"], d["site"], d["heap"], d["step"])
           for nxt, edges in graph._succ[node].items() if nxt in keep for d in edges.values()]
    if len(out) > 1:
        out.sort(key=lambda e: (e[0], e[2], e[3], e[5].location, e[5].message, e[1]))
    return out


def report_key(label: Label) -> Label:
    """What tells two arrivals apart for a report: the source, the field and whether it is whole."""
    src, rel, fld, whole = label
    return (src, fld, whole or "*" in rel)


def _steps(history: dict, key: tuple, i: int) -> tuple[Step, ...]:
    """Walk back from (key, label i) through the batches that first brought each label."""
    out: list[Step] = []
    seen = set()
    while key is not None and (key, i) not in seen:
        seen.add((key, i))
        bits, prev_node, prev_ctx, step, back = next(e for e in history[key] if e[0] >> i & 1)
        if not out or out[-1] != step:
            out.append(step)
        if back is not None:
            i = back[i]
        key = (prev_node, prev_ctx) if prev_node is not None else None
    out.reverse()
    return tuple(out)
