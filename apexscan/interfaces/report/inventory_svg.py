"""The inventory's picture: source objects -> groups of channels -> destinations by jurisdiction.

Readable at ten times the sample's size because it draws groups, not every channel: the channels
of one kind that go to the same destinations are one box ("Apex callout ×27"), an object or a
destination is one box however many channels touch it, and the lines between two boxes are one
line whose width grows with the number of channels it stands for (edge bundling). Columns are
ordered to keep lines apart: destinations by jurisdiction, groups by the destination they go to,
objects by the mean position of the groups they feed (one barycentre pass). A column that would
still hold more than MAX_ROWS boxes keeps its largest ones and gathers the rest into one
"N other ..." box; channel groups are then merged by kind and jurisdiction; when even that leaves
too many, there is no picture and the page says the tables hold everything (`Picture.omitted`).

Full names are in each box's tooltip (`<title>`) and in the tables; a group box links to its
first channel's row (and, with the page's script, filters the tables to the group). Drawn by hand
as SVG: the layered layout needs no more than this, and a layout library (grandalf, Graphviz)
would bring either an unmaintained dependency or a system binary.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from apexscan.interfaces.report.inventory_labels import (
    VERDICT_COLOR,
    VERDICT_ORDER,
    dest_group,
    dest_label,
    finding_key,
    group_rank,
    kind_title,
    label,
)

Json = Mapping[str, Any]

ROW = 22
COL_X = (10, 300, 660)
BOX_W = (250, 320, 300)
TOP = 34
MAX_ROWS = 48  # boxes per column beyond which the picture would not be readable
MAX_NAMES = 30  # channel names listed in a group's tooltip


@dataclass
class Picture:
    svg: str  # "" when omitted
    omitted: str  # why there is no picture ("" when there is one)
    groups: dict[str, int] = field(default_factory=dict)  # channel id -> its group number (1, 2, ...)
    group_labels: dict[int, str] = field(default_factory=dict)


def picture(doc: Json, anchors: Mapping[str, str], numbers: Mapping[tuple, int]) -> Picture:
    channels = [c for c in doc["channels"] if c["destinations"] or c["data"]["fields"]]
    if not channels:
        return Picture("", "no channel has a destination or data to draw")
    dest_of = {c["id"]: [(dest_group(d), dest_label(d)) for d in c["destinations"]] for c in channels}
    # destinations: (group, label) -> worst verdict; capped per column
    verdict: dict[tuple[str, str], str] = {}
    weight: dict[tuple[str, str], int] = {}
    for c in channels:
        for d, node in zip(c["destinations"], dest_of[c["id"]]):
            old = verdict.get(node)
            if old is None or VERDICT_ORDER.index(d["verdict"]) < VERDICT_ORDER.index(old):
                verdict[node] = d["verdict"]
            weight[node] = weight.get(node, 0) + 1
    dest_map = _cap(sorted(verdict, key=lambda n: (group_rank(n[0]), -weight[n], n[1].lower())), weight,
                    lambda rest: (rest[0][0], f"{len(rest)} other destinations"), per=lambda n: n[0])
    for node, into in dest_map.items():
        if into != node:
            verdict[into] = min((verdict[into] if into in verdict else verdict[node], verdict[node]),
                                key=VERDICT_ORDER.index)
    dest_of = {cid: sorted({dest_map[n] for n in nodes}, key=lambda n: (group_rank(n[0]), n[1].lower()))
               for cid, nodes in dest_of.items()}
    groups = _groups(channels, dest_of, lambda c, dests: (c["kind"], tuple(dests)))
    if len(groups) > MAX_ROWS:  # coarser: one box per kind and jurisdiction
        groups = _groups(channels, dest_of, lambda c, dests: (c["kind"], tuple(sorted({n[0] for n in dests}))))
    if len(groups) > MAX_ROWS:
        return Picture("", f"{len(groups)} groups of channels would not be readable in one picture")
    # objects: name -> sensitive?; capped
    sensitive: dict[str, bool] = {}
    uses: dict[str, int] = {}
    for c in channels:
        for f in c["data"]["fields"]:
            sensitive[f["object"]] = sensitive.get(f["object"], False) or f["sensitivity"] == "sensitive"
        for obj in {f["object"] for f in c["data"]["fields"]}:
            uses[obj] = uses.get(obj, 0) + 1
    obj_map = _cap(sorted(sensitive, key=lambda o: (not sensitive[o], -uses[o], o.lower())), uses,
                   lambda rest: f"{len(rest)} other objects")
    for obj, into in obj_map.items():
        sensitive[into] = sensitive.get(into, False) or sensitive[obj]

    # order: destinations as sorted; groups by their first destination; objects by barycentre
    dest_nodes = sorted({n for nodes in dest_of.values() for n in nodes}, key=lambda n: (
        group_rank(n[0]), n not in weight, -weight.get(n, 0), n[1].lower()))  # "N other" boxes last
    dest_pos = {n: i for i, n in enumerate(dest_nodes)}
    objects_of = {key: sorted({obj_map[f["object"]] for c in members for f in c["data"]["fields"]})
                  for key, members in groups.items()}

    def first_dest(key) -> float:
        members = groups[key]
        spots = [dest_pos[n] for c in members for n in dest_of[c["id"]]]
        return min(spots) if spots else len(dest_pos)

    order = sorted(groups, key=lambda k: (first_dest(k), k[0], -len(groups[k]), label(groups[k][0]).lower()))
    group_pos = {k: i for i, k in enumerate(order)}
    obj_nodes = sorted(set(obj_map.values()), key=lambda o: (
        _mean([group_pos[k] for k, objs in objects_of.items() if o in objs]), o.lower()))
    obj_pos = {o: i for i, o in enumerate(obj_nodes)}
    order = sorted(order, key=lambda k: (first_dest(k), _mean([obj_pos[o] for o in objects_of[k]] or [0]), k[0],
                                         label(groups[k][0]).lower()))
    numbers_of = {k: i + 1 for i, k in enumerate(order)}

    # vertical placement; shorter columns are centred on the tallest
    dest_groups = sorted({n[0] for n in dest_nodes}, key=group_rank)
    dest_rows = len(dest_nodes) + len(dest_groups) + (len(dest_groups) - 1) / 2
    rows = max(len(obj_nodes), len(order), dest_rows, 3)
    obj_y = {o: TOP + ((rows - len(obj_nodes)) / 2 + i) * ROW for i, o in enumerate(obj_nodes)}
    grp_y = {k: TOP + ((rows - len(order)) / 2 + i) * ROW for i, k in enumerate(order)}
    dest_y: dict[tuple[str, str], float] = {}
    heads: list[tuple[str, float]] = []
    y = TOP + (rows - dest_rows) / 2 * ROW
    for g in dest_groups:
        heads.append((g, y))
        y += ROW
        for n in (n for n in dest_nodes if n[0] == g):
            dest_y[n] = y
            y += ROW
        y += ROW / 2
    height = int(TOP + rows * ROW + 12)
    width = COL_X[2] + BOX_W[2] + 10

    # edges, bundled: (object, group) and (group, destination) with how many channels each carries
    src_edges: dict[tuple, list[Json]] = {}
    dst_edges: dict[tuple, list[Json]] = {}
    for key in order:
        for c in groups[key]:
            for obj in sorted({obj_map[f["object"]] for f in c["data"]["fields"]}):
                src_edges.setdefault((obj, key), []).append(c)
            for n in dest_of[c["id"]]:
                dst_edges.setdefault((key, n), []).append(c)
    group_of = {c["id"]: key for key in order for c in groups[key]}
    marks: dict[tuple, set[int]] = {}
    for c in channels:
        key = group_of[c["id"]]
        object_of = {f["field"]: obj_map[f["object"]] for f in c["data"]["fields"]}
        for finding in c["findings"]:
            n = numbers[finding_key(finding)]
            marks.setdefault(("group", key), set()).add(n)
            for name in finding.get("fields", []):
                obj = object_of.get(name)
                if obj is not None:
                    marks.setdefault(("object", obj), set()).add(n)
                    marks.setdefault(("src", obj, key), set()).add(n)
            mine = [node for d, node in zip(c["destinations"], dest_of[c["id"]])
                    if (d["host"] or d["url"] or "unknown") == finding.get("destination")] or dest_of[c["id"]]
            for node in mine:
                marks.setdefault(("dest", node), set()).add(n)
                marks.setdefault(("dst", key, node), set()).add(n)

    def group_label(key) -> str:
        members = groups[key]
        return label(members[0]) if len(members) == 1 else f"{kind_title(key[0])} ×{len(members)}"

    parts = [(f'<svg class="pic" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
              'aria-label="Data flows from objects through groups of channels to destinations" '
              'font-family="system-ui, sans-serif" font-size="12">'),
             f'<text x="{COL_X[0]}" y="18" font-weight="bold">Source objects</text>',
             f'<text x="{COL_X[1]}" y="18" font-weight="bold">Channels, grouped by kind and destination</text>',
             f'<text x="{COL_X[2]}" y="18" font-weight="bold">Destinations by jurisdiction</text>']
    for (obj, key), members in src_edges.items():
        hot = any(f["sensitivity"] == "sensitive" and obj_map[f["object"]] == obj
                  for c in members for f in c["data"]["fields"])
        parts.append(_curve(COL_X[0] + BOX_W[0], obj_y[obj] + 8, COL_X[1], grp_y[key] + 8,
                            "#c62828" if hot else "#9e9e9e", len(members),
                            f"{obj} → {group_label(key)}: {_count(len(members), 'channel')}",
                            _classes("e", marks.get(("src", obj, key)))))
    for (key, node), members in dst_edges.items():
        parts.append(_curve(COL_X[1] + BOX_W[1], grp_y[key] + 8, COL_X[2] + 10, dest_y[node] + 8,
                            VERDICT_COLOR.get(verdict[node], "#999"), len(members),
                            f"{group_label(key)} → {node[1]}: {_count(len(members), 'channel')}",
                            _classes("e", marks.get(("dst", key, node)))))
    for obj in obj_nodes:
        fields = sorted({f["field"] for c in channels for f in c["data"]["fields"] if obj_map[f["object"]] == obj})
        parts.append(_box(COL_X[0], obj_y[obj], BOX_W[0], obj, "#ffebee" if sensitive[obj] else "#f5f5f5",
                          "#c62828" if sensitive[obj] else "#9e9e9e", _names(fields, "fields"),
                          _classes("n", marks.get(("object", obj)))))
    for key in order:
        members = groups[key]
        worst = "#c62828" if any(not f["suppressed"] and f["level"] == "error" for c in members for f in c["findings"]) \
            else "#ef6c00" if any(not f["suppressed"] for c in members for f in c["findings"]) else "#607d8b"
        title = f"{kind_title(key[0])}, {_count(len(members), 'channel')}: " + _names([label(c) for c in members],
                                                                                          "channels")
        g = numbers_of[key]
        parts.append(f'<a href="#{anchors[members[0]["id"]]}" data-g="{g}">'
                     + _box(COL_X[1], grp_y[key], BOX_W[1], group_label(key), "#fff", worst, title,
                            _classes("n", marks.get(("group", key)))) + "</a>")
    for g, hy in heads:
        parts.append(f'<text x="{COL_X[2]}" y="{hy + 13:g}" font-weight="bold">{_h(g)}</text>')
    for node in dest_nodes:
        v = verdict[node]
        parts.append(_box(COL_X[2] + 10, dest_y[node], BOX_W[2] - 10, node[1], "#fff", VERDICT_COLOR.get(v, "#999"),
                          f"{node[1]}: {v}", _classes("n", marks.get(("dest", node)))))
    parts.append("</svg>")
    return Picture("\n".join(parts), "", {c["id"]: numbers_of[group_of[c["id"]]] for c in channels},
                   {numbers_of[k]: group_label(k) for k in order})


def _groups(channels, dest_of, key_of) -> dict[tuple, list[Json]]:
    out: dict[tuple, list[Json]] = {}
    for c in channels:
        out.setdefault(key_of(c, dest_of[c["id"]]), []).append(c)
    return out


def _cap(nodes: list, weight: Mapping, other, per=None) -> dict:
    """node -> the node it is drawn as: itself, or for the smallest ones beyond MAX_ROWS an
    "N other ..." node (one per `per` value, e.g. per jurisdiction), named by `other(rest)`."""
    if len(nodes) <= MAX_ROWS:
        return {n: n for n in nodes}
    keep = set(sorted(nodes, key=lambda n: (-weight.get(n, 0), str(n)))[:MAX_ROWS * 3 // 4])
    rest: dict[Any, list] = {}
    for n in nodes:
        if n not in keep:
            rest.setdefault(per(n) if per else "", []).append(n)
    out = {n: n for n in keep}
    for members in rest.values():
        into = other(members)
        out.update({n: into for n in members})
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _names(names: list[str], noun: str) -> str:
    shown = names[:MAX_NAMES]
    return "; ".join(shown) + (f"; and {len(names) - len(shown)} more {noun}" if len(names) > len(shown) else "")


def _classes(base: str, findings: set[int] | None) -> str:
    return " ".join([base, *(f"f-{n}" for n in sorted(findings or ()))])


def _curve(x1: float, y1: float, x2: float, y2: float, color: str, count: int, title: str, classes: str) -> str:
    mid = (x1 + x2) / 2
    width = 1.5 + min(5.0, 1.6 * math.log2(count)) if count > 1 else 1.5
    return (f'<path class="{classes}" d="M{x1:g},{y1:g} C{mid:g},{y1:g} {mid:g},{y2:g} {x2:g},{y2:g}" fill="none" '
            f'stroke="{color}" stroke-opacity="0.5" stroke-width="{width:.1f}"><title>{_h(title)}</title></path>')


def _box(x: float, y: float, w: int, text: str, fill: str, stroke: str, title: str, classes: str) -> str:
    shown = text if len(text) <= w // 7 else text[: w // 7 - 1] + "…"
    return (f'<g class="{classes}"><title>{_h(title)}</title><rect x="{x:g}" y="{y:g}" width="{w}" height="17" rx="3" '
            f'fill="{fill}" stroke="{stroke}"/><text x="{x + 5:g}" y="{y + 13:g}">{_h(shown)}</text></g>')


def _h(text: Any) -> str:
    return escape("".join(ch for ch in str(text) if ch.isprintable() or ch == " "), quote=True)
