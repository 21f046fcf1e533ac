"""The egress inventory as JSON, Markdown (pull-request comments) or one self-contained HTML file.

All three render the document `apexscan.inventory.build_inventory` returns, so they list the same
channels in the same order. Rendering is pure and deterministic: the same document gives the same
text, byte for byte. The HTML has no script, no external asset and no web font; its picture is
an inline SVG (sources on the left, channels in the middle, destinations grouped by jurisdiction
on the right) whose channel boxes link to the table rows below (`#ch-N`, highlighted by CSS
`:target`).

JSON schema (`schema_version` 1). Compatible changes add keys; renaming or removing a key, or
changing what a value means, bumps the version. Every key is always present.

    {
      "schema_version": 1,
      "generator": "apexscan 0.1.0",
      "project": "fintech-org",                   # the project folder's name (never a full path)
      "policy": {"allowed_jurisdictions": ["EU", "EEA"], "allowed_regions": [...],
                 "allowed_hosts": [...], "residency_guards": [...]},
      "summary": {"channels": 51, "code_channels": 43, "metadata_channels": 8,
                  "channels_with_findings": 28, "channels_with_sensitive_data": 30,
                  "destinations": 10,                # distinct hosts (or URLs when no host is known)
                  "by_kind": {...}, "by_verdict": {...}, "by_jurisdiction": {...}},  # per destination
      "channels": [                                  # code channels by file and line, then metadata
        {
          "id": "apex-callout:LlmClient.complete:Http.send",  # stable across edits that move lines;
                                                   # "#2", "#3" for further sinks of one function
          "kind": "apex-callout",                  # apex-callout, models-api, flow-action, lwc-request,
                                                   # prompt-template | named-credential, remote-site,
                                                   # csp-trusted-site, external-service, connected-app
                                                   # (inbound: an outside client pulls data),
                                                   # outbound-message
          "name": "LlmClient.complete (Http.send)",
          "location": {"path": "force-app/...", "line": 31, "col": 28},
          "api": "Http.send",                      # "" for metadata channels
          "guarded": false,                        # a policy residency guard checks the request first
          "destinations": [{
              "host": "api.openai.com", "url": "callout:OpenAI/v1/chat/completions",
              "provider": "OpenAI",                # "" when not a known LLM provider
              "llm": true,                         # a known LLM provider, or LLM evidence
              "jurisdiction": "US",                # provider's legal seat, or "unknown"
              "region": "global",                  # processing region, or "unknown"
              "unknown_because": "",               # why jurisdiction or region is unknown
              "verdict": "foreign",                # sovereign / foreign / unknown / not-llm / in-org
              "configured": ["named-credential"],  # literal, constant, named-credential, label,
                                                   # custom-metadata, custom-setting, model-name,
                                                   # remote-site, ..., unresolved
              "how": "Named Credential OpenAI", "evidence": [], "note": "..."}],
          "data": {"categories": ["financial", "personal"],   # of fields that are not non-sensitive
                   "objects": ["Contact", "Portfolio__c"],
                   "fields": [{"field": "Portfolio__c.Balance__c", "object": "Portfolio__c",
                               "name": "Balance__c", "sensitivity": "sensitive",
                               "category": "financial", "reason": "...", "whole_record": false}],
                   "traced": true,             # false: the inventory did not follow data to this
                   "untraced_because": ""},    # sink (too much of the project reaches it; a sink
                                               # with a finding is always traced)
          "entry_points": [{"kind": "trigger",     # see apexscan.inventory.ENTRY_KINDS
                            "name": "PortfolioTrigger on Portfolio__c",
                            "location": {"path": ..., "line": 1, "col": 1}}],
          "findings": [{"rule": "APX-LLM-001", "level": "error", "suppressed": false,
                        "location": {...}}],
          "used_by": [],                           # metadata channels: ids of the code channels
                                                   # that go through them
          "details": {}                            # kind-specific: scopes, directives, guards, ...
        }
      ],
      "comparison": {}                             # with --compare: new_channels, removed_channels,
                                                   # changed_channels [{id, changes: [text]}],
                                                   # new_paths / removed_paths [{field, destination,
                                                   # jurisdiction, verdict, channels, text}]
    }
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from ..inventory import ENTRY_KINDS, METADATA_KINDS, UNKNOWN

Json = Mapping[str, Any]

VERDICT_ORDER = ("foreign", "unknown", "sovereign", "not-llm", "in-org")
VERDICT_COLOR = {"foreign": "#c62828", "unknown": "#ef6c00", "sovereign": "#2e7d32", "not-llm": "#607d8b",
                 "in-org": "#1565c0"}
KIND_TITLES = {
    "apex-callout": "Apex callout", "models-api": "Models API call", "flow-action": "Flow action",
    "lwc-request": "LWC request", "prompt-template": "Prompt template",
    "named-credential": "Named Credential", "remote-site": "Remote Site Setting",
    "csp-trusted-site": "CSP Trusted Site", "external-service": "External Service",
    "connected-app": "Connected App (inbound)", "outbound-message": "Outbound message",
}


def render_inventory_json(doc: Json) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --- Markdown -----------------------------------------------------------------------------------


def render_inventory_markdown(doc: Json) -> str:
    s = doc["summary"]
    lines = [f"# Egress inventory: {_md(doc['project'])}", "",
             f"{s['channels']} channels ({s['code_channels']} in code, {s['metadata_channels']} in metadata), "
             f"{s['destinations']} destinations, {s['channels_with_findings']} channels with findings, "
             f"{s['channels_with_sensitive_data']} carrying sensitive data. Allowed jurisdictions: "
             f"{', '.join(doc['policy']['allowed_jurisdictions']) or 'none'}.", ""]
    if doc["comparison"]:
        lines += _md_comparison(doc["comparison"])
    for title, metadata in (("Channels in code", False), ("Channels in metadata", True)):
        rows = [c for c in doc["channels"] if (c["kind"] in METADATA_KINDS) == metadata]
        if not rows:
            continue
        lines += [f"## {title}", "",
                  "| Channel | Destination | Seat / region | Verdict | Configured | Data | Entry points | Findings |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in rows:
            dests = c["destinations"] or [None]
            for i, d in enumerate(dests):
                head = (f"`{_md(c['name'])}` ({KIND_TITLES.get(c['kind'], c['kind'])})"
                        f"<br>{_md(c['location']['path'])}:{c['location']['line']}"
                        + (" — guarded" if c["guarded"] else "")) if i == 0 else "″"
                dest = _md(d["host"] or d["url"] or UNKNOWN) + (f" ({_md(d['provider'])})" if d and d["provider"] else "") \
                    if d else "—"
                seat = f"{d['jurisdiction']} / {d['region']}" if d else "—"
                lines.append("| " + " | ".join([
                    head, dest, seat, d["verdict"] if d else "—", ", ".join(d["configured"]) if d else "—",
                    _md_fields(c) if i == 0 else "″",
                    _md(", ".join(e["name"] for e in c["entry_points"])) or ("—" if i == 0 else "″"),
                    (_md(", ".join(_rule_text(f) for f in c["findings"])) or "—") if i == 0 else "″",
                ]) + " |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_comparison(cmp: Json) -> list[str]:
    lines = ["## Changes since the base inventory", ""]
    empty = True
    for p in cmp["new_paths"]:
        lines.append(f"- **New {_md(p['text'])}** ({p['verdict'] or 'unknown'}) via "
                     f"{', '.join(f'`{_md(c)}`' for c in p['channels'])}")
        empty = False
    for p in cmp["removed_paths"]:
        lines.append(f"- Removed {_md(p['text'])}")
        empty = False
    for c in cmp["new_channels"]:
        lines.append(f"- New channel `{_md(c['id'])}`")
        empty = False
    for c in cmp["removed_channels"]:
        lines.append(f"- Removed channel `{_md(c['id'])}`")
        empty = False
    for c in cmp["changed_channels"]:
        lines.append(f"- Changed `{_md(c['id'])}`: {_md('; '.join(c['changes']))}")
        empty = False
    if empty:
        lines.append("No channel or path changed.")
    return lines + [""]


def _md_fields(c: Json) -> str:
    fields = c["data"]["fields"]
    if not c["data"]["traced"]:
        return "not traced (too much of the project reaches it)"
    if not fields:
        return "—"
    shown = [f"**{f['field']}**" if f["sensitivity"] == "sensitive" else f["field"] for f in fields[:8]]
    more = f" and {len(fields) - 8} more" if len(fields) > 8 else ""
    return _md(", ".join(shown)) + more


def _rule_text(f: Json) -> str:
    return f"{f['rule']}{' (suppressed)' if f['suppressed'] else ''}"


def _md(text: str) -> str:
    """A table cell: no line breaks, pipes and HTML escaped (values come from the scanned project)."""
    return " ".join(escape(str(text), quote=False).replace("|", "\\|").split())


# --- HTML ---------------------------------------------------------------------------------------

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}
th,td{border:1px solid #d0d7de;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f3f5f7}tr:target{background:#fff4c2}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.v{display:inline-block;padding:0 5px;border-radius:3px;color:#fff;font-size:12px}
.v-foreign{background:#c62828}.v-unknown{background:#ef6c00}.v-sovereign{background:#2e7d32}
.v-not-llm{background:#607d8b}.v-in-org{background:#1565c0}
.s-sensitive{color:#b71c1c;font-weight:600}.s-unknown{color:#8d5a00}.s-non-sensitive{color:#555}
.muted{color:#666}.small{font-size:12px}figure{margin:8px 0;overflow-x:auto}
.legend span{margin-right:12px}
"""


def render_inventory_html(doc: Json) -> str:
    s = doc["summary"]
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>Egress inventory: {_h(doc['project'])}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
           f"<h1>Egress inventory: {_h(doc['project'])}</h1>",
           f'<p class="muted">{_h(doc["generator"])} · allowed jurisdictions '
           f'{_h(", ".join(doc["policy"]["allowed_jurisdictions"]) or "none")} · allowed regions '
           f'{_h(", ".join(doc["policy"]["allowed_regions"]) or "none")}'
           + (f' · allowed hosts {_h(", ".join(doc["policy"]["allowed_hosts"]))}' if doc["policy"]["allowed_hosts"] else "")
           + "</p>",
           f"<p>{s['channels']} channels ({s['code_channels']} in code, {s['metadata_channels']} in metadata), "
           f"{s['destinations']} destinations, {s['channels_with_findings']} channels with findings, "
           f"{s['channels_with_sensitive_data']} carrying sensitive data.</p>"]
    if doc["comparison"]:
        out += _html_comparison(doc["comparison"])
    anchors = {c["id"]: f"ch-{i + 1}" for i, c in enumerate(doc["channels"])}
    out += ["<h2>Flows</h2>", '<p class="legend small">'
            + "".join(f'<span><span class="v v-{v}">{v}</span></span>' for v in VERDICT_ORDER)
            + " Sources (objects) on the left, channels in the middle, destinations by jurisdiction on the "
              "right. A red line from an object carries sensitive fields. Select a channel to see its row.</p>",
            "<figure>", _svg(doc, anchors), "</figure>"]
    for title, metadata in (("Channels in code", False), ("Channels in metadata", True)):
        rows = [c for c in doc["channels"] if (c["kind"] in METADATA_KINDS) == metadata]
        if not rows:
            continue
        out += [f"<h2>{title}</h2>", "<table>",
                "<thead><tr><th>Channel</th><th>Destinations</th><th>Data that reaches it</th>"
                f"<th>{'Entry points' if not metadata else 'Used by'}</th><th>Findings</th></tr></thead>", "<tbody>"]
        out += [_html_row(c, anchors) for c in rows]
        out += ["</tbody>", "</table>"]
    out += ['<p class="muted small">Entry points: '
            + "; ".join(f"{_h(k)} = {_h(v)}" for k, v in ENTRY_KINDS.items()) + ".</p>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_comparison(cmp: Json) -> list[str]:
    items = [f"<li><strong>New {_h(p['text'])}</strong> ({_h(p['verdict'] or 'unknown')}) via "
             f"{', '.join(f'<code>{_h(c)}</code>' for c in p['channels'])}</li>" for p in cmp["new_paths"]]
    items += [f"<li>Removed {_h(p['text'])}</li>" for p in cmp["removed_paths"]]
    items += [f"<li>New channel <code>{_h(c['id'])}</code></li>" for c in cmp["new_channels"]]
    items += [f"<li>Removed channel <code>{_h(c['id'])}</code></li>" for c in cmp["removed_channels"]]
    items += [f"<li>Changed <code>{_h(c['id'])}</code>: {_h('; '.join(c['changes']))}</li>"
              for c in cmp["changed_channels"]]
    return ["<h2>Changes since the base inventory</h2>",
            "<ul>" + "".join(items) + "</ul>" if items else "<p>No channel or path changed.</p>"]


def _html_row(c: Json, anchors: Mapping[str, str]) -> str:
    loc = c["location"]
    head = (f"<strong>{_h(c['name'])}</strong><br><span class=\"small muted\">{_h(KIND_TITLES.get(c['kind'], c['kind']))}"
            f" · <code>{_h(loc['path'])}:{loc['line']}</code></span>"
            + ("<br><em>checked by a residency guard</em>" if c["guarded"] else ""))
    dests = "<br>".join(
        f'<span class="v v-{_h(d["verdict"])}">{_h(d["verdict"])}</span> <code>{_h(d["host"] or d["url"] or UNKNOWN)}</code>'
        + (f" {_h(d['provider'])}" if d["provider"] else "")
        + f"<br><span class=\"small\">seat {_h(d['jurisdiction'])}, region {_h(d['region'])}"
        + (f" ({_h(d['unknown_because'])})" if d["unknown_because"] else "")
        + f" · {_h(', '.join(d['configured']))}: {_h(d['how'])}"
        + (f" · <code>{_h(d['url'])}</code>" if d["host"] and d["url"] else "") + "</span>"
        for d in c["destinations"]) or '<span class="muted">none</span>'
    fields = ", ".join(
        f'<span class="s-{_h(f["sensitivity"])}" title="{_h(f["sensitivity"] + ", " + f["category"] + ": " + f["reason"])}">'
        f"{_h(f['field'])}</span>" + (" (whole record)" if f["whole_record"] else "")
        for f in c["data"]["fields"]) or '<span class="muted">no record data seen</span>'
    if not c["data"]["traced"]:
        fields = f'<span class="muted">not traced: {_h(c["data"]["untraced_because"])}</span>'
    if c["data"]["categories"]:
        fields += f'<br><span class="small">categories: {_h(", ".join(c["data"]["categories"]))}</span>'
    if c["kind"] in METADATA_KINDS:
        who = ", ".join(f'<a href="#{anchors[u]}">{_h(u)}</a>' for u in c["used_by"] if u in anchors)
        details = "; ".join(f"{_h(k)}: {_h(_plain(v))}" for k, v in c["details"].items() if v not in ("", [], {}))
        who = (who or '<span class="muted">—</span>') + (f'<br><span class="small">{details}</span>' if details else "")
    else:
        who = "<br>".join(f"{_h(e['name'])} <span class=\"small muted\">({_h(e['kind'])})</span>"
                          for e in c["entry_points"]) or '<span class="muted">—</span>'
    findings = "<br>".join(f"{_h(_rule_text(f))} <span class=\"small muted\">{_h(f['level'])}</span>"
                           for f in c["findings"]) or '<span class="muted">none</span>'
    return (f'<tr id="{anchors[c["id"]]}"><td>{head}</td><td>{dests}</td><td>{fields}</td><td>{who}</td>'
            f"<td>{findings}</td></tr>")


def _plain(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _h(text: Any) -> str:
    """Escaped text; control characters from scanned names are dropped."""
    return escape("".join(ch for ch in str(text) if ch.isprintable() or ch == " "), quote=True)


# --- the picture --------------------------------------------------------------------------------

ROW = 22
COL_X = (10, 330, 700)
BOX_W = (220, 300, 260)
TOP = 30


def _svg(doc: Json, anchors: Mapping[str, str]) -> str:
    channels = [c for c in doc["channels"] if c["destinations"] or c["data"]["fields"]]
    objects: dict[str, bool] = {}
    for c in channels:
        for f in c["data"]["fields"]:
            objects[f["object"]] = objects.get(f["object"], False) or f["sensitivity"] == "sensitive"
    groups: dict[str, dict[str, str]] = {}  # jurisdiction -> destination -> verdict (worst)
    for c in channels:
        for d in c["destinations"]:
            key = d["host"] or d["url"] or UNKNOWN
            seen = groups.setdefault(d["jurisdiction"], {})
            old = seen.get(key)
            if old is None or VERDICT_ORDER.index(d["verdict"]) < VERDICT_ORDER.index(old):
                seen[key] = d["verdict"]
    obj_y = {o: TOP + i * ROW for i, o in enumerate(sorted(objects, key=str.lower))}
    ch_y = {c["id"]: TOP + i * ROW for i, c in enumerate(channels)}
    dest_y: dict[str, int] = {}
    labels: list[tuple[str, int]] = []
    y = TOP
    for jurisdiction in sorted(groups, key=lambda j: (j == UNKNOWN, j)):
        labels.append((jurisdiction, y))
        y += ROW
        for key in sorted(groups[jurisdiction]):
            dest_y[f"{jurisdiction}\x00{key}"] = y
            y += ROW
        y += ROW // 2
    height = max([TOP + len(objects) * ROW, TOP + len(channels) * ROW, y, 80]) + 10
    width = COL_X[2] + BOX_W[2] + 10
    parts = [f'<svg width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Data flows from objects through channels '
             f'to destinations" font-family="system-ui, sans-serif" font-size="12">',
             f'<text x="{COL_X[0]}" y="16" font-weight="bold">Sources</text>',
             f'<text x="{COL_X[1]}" y="16" font-weight="bold">Channels</text>',
             f'<text x="{COL_X[2]}" y="16" font-weight="bold">Destinations by jurisdiction</text>']
    edges: list[str] = []
    for c in channels:
        cy = ch_y[c["id"]] + 8
        reached: dict[str, bool] = {}
        for f in c["data"]["fields"]:
            reached[f["object"]] = reached.get(f["object"], False) or f["sensitivity"] == "sensitive"
        for obj, sensitive in sorted(reached.items()):
            edges.append(_curve(COL_X[0] + BOX_W[0], obj_y[obj] + 8, COL_X[1], cy,
                                "#c62828" if sensitive else "#9e9e9e", f"{obj} → {c['name']}"))
        for d in c["destinations"]:
            dy = dest_y[f"{d['jurisdiction']}\x00{d['host'] or d['url'] or UNKNOWN}"] + 8
            edges.append(_curve(COL_X[1] + BOX_W[1], cy, COL_X[2], dy, VERDICT_COLOR.get(d["verdict"], "#999"),
                                f"{c['name']} → {d['host'] or d['url'] or UNKNOWN}"))
    parts += sorted(set(edges), key=edges.index)
    for obj, oy in obj_y.items():
        fields = sorted({f["field"] for c in channels for f in c["data"]["fields"] if f["object"] == obj})
        parts.append(_box(COL_X[0], oy, BOX_W[0], obj, "#ffebee" if objects[obj] else "#f5f5f5",
                          "#c62828" if objects[obj] else "#9e9e9e", "; ".join(fields)))
    for c in channels:
        color = "#c62828" if any(not f["suppressed"] and f["level"] == "error" for f in c["findings"]) else \
            "#ef6c00" if c["findings"] else "#607d8b"
        parts.append(f'<a href="#{anchors[c["id"]]}">'
                     + _box(COL_X[1], ch_y[c["id"]], BOX_W[1], c["name"], "#fff", color,
                            f"{KIND_TITLES.get(c['kind'], c['kind'])}: {c['id']}") + "</a>")
    for jurisdiction, ly in labels:
        parts.append(f'<text x="{COL_X[2]}" y="{ly + 13}" font-weight="bold">{_h(jurisdiction)}</text>')
    for key, dy in dest_y.items():
        jurisdiction, dest = key.split("\x00", 1)
        verdict = groups[jurisdiction][dest]
        parts.append(_box(COL_X[2] + 10, dy, BOX_W[2] - 10, dest, "#fff", VERDICT_COLOR.get(verdict, "#999"),
                          f"{dest}: {verdict}"))
    parts.append("</svg>")
    return "\n".join(parts)


def _curve(x1: int, y1: int, x2: int, y2: int, color: str, title: str) -> str:
    mid = (x1 + x2) // 2
    return (f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" stroke="{color}" '
            f'stroke-opacity="0.55" stroke-width="1.5"><title>{_h(title)}</title></path>')


def _box(x: int, y: int, w: int, label: str, fill: str, stroke: str, title: str) -> str:
    shown = label if len(label) <= w // 7 else label[: w // 7 - 1] + "…"
    return (f'<g><title>{_h(title)}</title><rect x="{x}" y="{y}" width="{w}" height="17" rx="3" fill="{fill}" '
            f'stroke="{stroke}"/><text x="{x + 5}" y="{y + 13}">{_h(shown)}</text></g>')
