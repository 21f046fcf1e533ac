"""The egress inventory as JSON, Markdown (pull-request comments) or one self-contained HTML file.

All three render the document `apexscan.pipeline.inventory.build_inventory` returns, so they list the same
channels in the same order. Rendering is pure and deterministic: the same document gives the same
text, byte for byte. The HTML has no script, no external asset and no web font; its picture is
an inline SVG (sources on the left, channels in the middle, destinations grouped by jurisdiction
on the right) whose channel boxes link to the table rows below (`#ch-N`, highlighted by CSS
`:target`). Each finding links to `#finding-N`, which highlights its path in the picture and lists
its steps beside it, with CSS alone (see the HTML section).

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
                                                   # aura-request, prompt-template, python-request,
                                                   # node-request (services) | named-credential,
                                                   # remote-site, csp-trusted-site, external-service,
                                                   # connected-app (inbound: an outside client pulls
                                                   # data), outbound-message, dataloader-extract
                                                   # (a Data Loader process that exports records),
                                                   # heroku-connect (an object a Heroku Connect
                                                   # mapping copies into Postgres)
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
          "entry_points": [{"kind": "trigger",     # see apexscan.pipeline.inventory.ENTRY_KINDS
                            "name": "PortfolioTrigger on Portfolio__c",
                            "location": {"path": ..., "line": 1, "col": 1}}],
          "findings": [{"rule": "APX-LLM-001", "level": "error", "suppressed": false,
                        "location": {...},
                        "message": "Sensitive data reaches ...",   # as `apexscan scan` words it
                        "fields": ["Portfolio__c.Balance__c"],    # every field that reaches the sink
                        "destination": "api.openai.com",  # the host (or URL) of one of `destinations`
                        "paths": [[{"path": ..., "line": 12, "col": 9,  # witness paths, one per
                                    "message": "Balance__c read by SOQL"}, ...]],  # source, at most 10
                        "paths_total": 1}],                       # how many the finding has
          "used_by": [],                           # metadata channels: ids of the code channels
                                                   # that go through them
          "details": {}                            # kind-specific: scopes, directives, guards, ...
        }
      ],
      "comparison": {}                             # with --compare: base ("HEAD~1 (commit 3f2a1b0c4d)",
                                                   # or the file), base_generator, new_channels,
                                                   # removed_channels, changed_channels [{id, changes: [text]}],
                                                   # new_paths / removed_paths [{field, destination,
                                                   # jurisdiction, verdict, channels, text}]
    }
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from apexscan.pipeline.inventory import ENTRY_KINDS, METADATA_KINDS, UNKNOWN

Json = Mapping[str, Any]

VERDICT_ORDER = ("foreign", "unknown", "sovereign", "not-llm", "in-org")
VERDICT_COLOR = {"foreign": "#c62828", "unknown": "#ef6c00", "sovereign": "#2e7d32", "not-llm": "#607d8b",
                 "in-org": "#1565c0"}
SHORT_KINDS = {"named-credential": "Named Credential", "remote-site": "Remote Site", "csp-trusted-site": "CSP site",
               "external-service": "External Service", "connected-app": "Connected App",
               "outbound-message": "Outbound msg", "dataloader-extract": "Data Loader",
               "heroku-connect": "Heroku Connect"}
KIND_TITLES = {
    "apex-callout": "Apex callout", "models-api": "Models API call", "flow-action": "Flow action",
    "lwc-request": "LWC request", "aura-request": "Aura component request", "prompt-template": "Prompt template",
    "named-credential": "Named Credential", "remote-site": "Remote Site Setting",
    "csp-trusted-site": "CSP Trusted Site", "external-service": "External Service",
    "connected-app": "Connected App (inbound)", "outbound-message": "Outbound message",
    "dataloader-extract": "Data Loader extract",
    "python-request": "Python service request", "node-request": "Node.js service request",
    "heroku-connect": "Heroku Connect mapping",
}


def render_inventory_json(doc: Json) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --- Markdown -----------------------------------------------------------------------------------


def render_inventory_markdown(doc: Json) -> str:
    s = doc["summary"]
    lines = [f"# Egress inventory: {_md(doc['project'])}", "",
             (f"{s['channels']} channels ({s['code_channels']} in code, {s['metadata_channels']} in metadata), "
             f"{s['destinations']} destinations, {s['channels_with_findings']} channels with findings, "
             f"{s['channels_with_sensitive_data']} carrying sensitive data. Allowed jurisdictions: "
             f"{', '.join(doc['policy']['allowed_jurisdictions']) or 'none'}."), ""]
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
    lines = [f"## Changes since {_md(cmp.get('base') or 'the base inventory')}", ""]
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
#
# Selecting a finding highlights its path without JavaScript. Each finding N has an empty
# `<span id="finding-N" class="fsel">` placed before the picture and the tables, so CSS can reach
# them with `#finding-N:target ~ ...`: the picture dims everything but the elements classed `f-N`
# (the finding's source objects, its channel, its destination and the edges between them), the
# panel beside it shows the finding's steps (`d-N`), and the tables mark its row and link.

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:15px;margin:4px 0}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}
th,td{border:1px solid #d0d7de;padding:4px 6px;vertical-align:top;text-align:left;overflow-wrap:anywhere}
.inv{table-layout:fixed}.inv th:nth-child(1){width:20%}.inv th:nth-child(2){width:26%}
.inv th:nth-child(3){width:23%}.inv th:nth-child(4){width:17%}
th{background:#f3f5f7}tr:target{background:#fff4c2}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.v{display:inline-block;padding:0 5px;border-radius:3px;color:#fff;font-size:12px}
.v-foreign{background:#c62828}.v-unknown{background:#ef6c00}.v-sovereign{background:#2e7d32}
.v-not-llm{background:#607d8b}.v-in-org{background:#1565c0}
.s-sensitive{color:#b71c1c;font-weight:600}.s-unknown{color:#8d5a00}.s-non-sensitive{color:#555}
.muted{color:#666}.small{font-size:12px}
.legend span{margin-right:12px}
.flows{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.flows figure{margin:8px 0;flex:none;max-width:100%;overflow-x:auto}
.steps{flex:1 1 300px;min-width:280px;position:sticky;top:8px;max-height:calc(100vh - 16px);overflow:auto;
 border:1px solid #d0d7de;border-radius:4px;padding:8px 10px;background:#fafbfc;font-size:13px}
.steps{overflow-wrap:anywhere}.steps ol{margin:4px 0 8px;padding-left:22px}.steps li{margin:2px 0}.steps p{margin:4px 0}
.detail{display:none}
@media (max-width:1330px){.steps{order:-1;flex-basis:100%;position:static;max-height:45vh}}
.fsel:target~.flows svg .e{stroke-opacity:.07}
.fsel:target~.flows svg .n{opacity:.3}
.fsel:target~.flows .hint{display:none}
a.fl{white-space:nowrap}
"""
# One rule per finding, joined into four selector lists (see the comment above).
HIGHLIGHT = (("~.flows .f-{n}", "opacity:1;stroke-opacity:1;stroke-width:3"),
             ("~.flows .d-{n}", "display:block"),
             ("~table tr.f-{n}", "background:#fff4c2"),
             ("~table a.f-{n}", "background:#ffd54f;font-weight:bold"))


def render_inventory_html(doc: Json) -> str:
    s = doc["summary"]
    anchors = {c["id"]: f"ch-{i + 1}" for i, c in enumerate(doc["channels"])}
    names = {c["id"]: _label(c) for c in doc["channels"]}
    numbers = _finding_numbers(doc)
    css = CSS + "".join(",".join(f"#finding-{n}:target{tail.format(n=n)}" for n in numbers.values()) + f"{{{rule}}}\n"
                        for tail, rule in HIGHLIGHT) if numbers else CSS
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>Egress inventory: {_h(doc['project'])}</title>", f"<style>{css}</style>", "</head>", "<body>",
           f"<h1>Egress inventory: {_h(doc['project'])}</h1>",
           f'<p class="muted">{_h(doc["generator"])} · allowed jurisdictions '
           f'{_h(", ".join(doc["policy"]["allowed_jurisdictions"]) or "none")} · allowed regions '
           f'{_h(", ".join(doc["policy"]["allowed_regions"]) or "none")}'
           + (f' · allowed hosts {_h(", ".join(doc["policy"]["allowed_hosts"]))}' if doc["policy"]["allowed_hosts"] else "")
           + "</p>",
           (f"<p>{s['channels']} channels ({s['code_channels']} in code, {s['metadata_channels']} in metadata), "
           f"{s['destinations']} destinations, {s['channels_with_findings']} channels with findings, "
           f"{s['channels_with_sensitive_data']} carrying sensitive data.</p>")]
    if doc["comparison"]:
        out += _html_comparison(doc["comparison"])
    out += [f'<span id="finding-{n}" class="fsel"></span>' for n in numbers.values()]
    out += ['<h2 id="flows">Flows</h2>', '<p class="legend small">'
            + "".join(f'<span><span class="v v-{v}">{v}</span></span>' for v in VERDICT_ORDER)
            + " Sources (objects) on the left, channels in the middle, destinations by jurisdiction on the "
              "right. A red line from an object carries sensitive fields. Select a channel to see its row, "
              "or a finding to highlight its path.</p>",
            '<div class="flows">', "<figure>", _svg(doc, anchors, numbers), "</figure>",
            '<aside class="steps">', *_finding_panel(doc, anchors, numbers), "</aside>", "</div>"]
    for title, metadata in (("Channels in code", False), ("Channels in metadata", True)):
        rows = [c for c in doc["channels"] if (c["kind"] in METADATA_KINDS) == metadata]
        if not rows:
            continue
        out += [f"<h2>{title}</h2>", '<table class="inv">',
                ("<thead><tr><th>Channel</th><th>Destinations</th><th>Data that reaches it</th>"
                f"<th>{'Entry points' if not metadata else 'Used by'}</th><th>Findings</th></tr></thead>"), "<tbody>"]
        out += [_html_row(c, anchors, names, numbers) for c in rows]
        out += ["</tbody>", "</table>"]
    out += ['<p class="muted small">Entry points: '
            + "; ".join(f"{_h(k)} = {_h(v)}" for k, v in ENTRY_KINDS.items()) + ".</p>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _finding_key(f: Json) -> tuple:
    loc = f["location"]
    return f["rule"], loc["path"], loc["line"], loc["col"], f.get("destination", ""), f["suppressed"]


def _finding_numbers(doc: Json) -> dict[tuple, int]:
    """Each finding once (a finding can be attached to several channels), numbered in table order."""
    numbers: dict[tuple, int] = {}
    for c in doc["channels"]:
        for f in c["findings"]:
            numbers.setdefault(_finding_key(f), len(numbers) + 1)
    return numbers


def _finding_panel(doc: Json, anchors: Mapping[str, str], numbers: Mapping[tuple, int]) -> list[str]:
    """Beside the picture: the list of findings, and for the selected one its message and steps."""
    if not numbers:
        return ['<p class="muted">No findings.</p>']
    found: dict[int, tuple[Json, list[Json]]] = {}
    for c in doc["channels"]:
        for f in c["findings"]:
            found.setdefault(numbers[_finding_key(f)], (f, []))[1].append(c)
    hint = ['<div class="hint">', f"<h3>Findings ({len(found)})</h3>",
            '<p class="small muted">Select one to highlight its path in the picture and list its steps here.</p>',
            "<ol>"]
    hint += [f'<li><a href="#finding-{n}">{_h(_rule_text(f))}</a> <span class="small">'
             f"{_h(', '.join(_label(c) for c in channels))}</span></li>" for n, (f, channels) in found.items()]
    out = [*hint, "</ol>", "</div>"]
    for n, (f, channels) in found.items():
        loc = f["location"]
        out += [f'<div class="detail d-{n}">', '<p class="small"><a href="#flows">← all findings</a></p>',
                f"<h3>{_h(_rule_text(f))} <span class=\"small muted\">{_h(f['level'])}</span></h3>",
                "<p>" + ", ".join(f'<a href="#{anchors[c["id"]]}">{_h(_label(c))}</a>' for c in channels)
                + f' <span class="small muted">at {_where(loc)}</span></p>']
        if f.get("message"):
            out.append(f'<p class="small">{_h(f["message"])}</p>')
        paths = f.get("paths", [])
        total = f.get("paths_total", len(paths))
        for i, path in enumerate(paths):
            if total > 1:
                out.append(f'<p class="small muted">Path {i + 1} of {total}</p>')
            out.append("<ol>" + "".join(f"<li>{_where(step)} {_h(step['message'])}</li>" for step in path) + "</ol>")
        if total > len(paths):
            out.append(f'<p class="small muted">{total - len(paths)} more paths: <code>apexscan scan '
                       "--format sarif</code> lists every one.</p>")
        if not paths:
            out.append('<p class="small muted">No data path: this finding is about the channel itself.</p>')
        out.append("</div>")
    return out


def _where(loc: Json) -> str:
    """`File.cls:12`, with the project-relative path as its tooltip (a panel has no room for it)."""
    return f'<code title="{_h(loc["path"])}">{_h(loc["path"].rsplit("/", 1)[-1])}:{loc["line"]}</code>'


def _html_comparison(cmp: Json) -> list[str]:
    items = [f"<li><strong>New {_h(p['text'])}</strong> ({_h(p['verdict'] or 'unknown')}) via "
             f"{', '.join(f'<code>{_h(c)}</code>' for c in p['channels'])}</li>" for p in cmp["new_paths"]]
    items += [f"<li>Removed {_h(p['text'])}</li>" for p in cmp["removed_paths"]]
    items += [f"<li>New channel <code>{_h(c['id'])}</code></li>" for c in cmp["new_channels"]]
    items += [f"<li>Removed channel <code>{_h(c['id'])}</code></li>" for c in cmp["removed_channels"]]
    items += [f"<li>Changed <code>{_h(c['id'])}</code>: {_h('; '.join(c['changes']))}</li>"
              for c in cmp["changed_channels"]]
    return [f"<h2>Changes since {_h(cmp.get('base') or 'the base inventory')}</h2>",
            "<ul>" + "".join(items) + "</ul>" if items else "<p>No channel or path changed.</p>"]


def _html_row(c: Json, anchors: Mapping[str, str], names: Mapping[str, str], numbers: Mapping[tuple, int]) -> str:
    loc = c["location"]
    head = (f"<strong>{_hb(c['name'])}</strong><br><span class=\"small muted\">{_h(KIND_TITLES.get(c['kind'], c['kind']))}"
            f" · <code>{_hb(loc['path'])}:{loc['line']}</code></span>"
            + ("<br><em>checked by a residency guard</em>" if c["guarded"] else ""))
    dests = "<br>".join(_html_destination(d) for d in c["destinations"]) or '<span class="muted">none</span>'
    fields = ", ".join(
        f'<span class="s-{_h(f["sensitivity"])}" title="{_h(f["sensitivity"] + ", " + f["category"] + ": " + f["reason"])}">'
        f"{_h(f['field'])}</span>" + (" (whole record)" if f["whole_record"] else "")
        for f in c["data"]["fields"]) or '<span class="muted">no record data seen</span>'
    if not c["data"]["traced"]:
        fields = f'<span class="muted">not traced: {_h(c["data"]["untraced_because"])}</span>'
    if c["data"]["categories"]:
        fields += f'<br><span class="small">categories: {_h(", ".join(c["data"]["categories"]))}</span>'
    if c["kind"] in METADATA_KINDS:
        who = "<br>".join(f'<a href="#{anchors[u]}" title="{_h(u)}">{_hb(names[u])}</a>' for u in c["used_by"]
                          if u in anchors)
        details = "; ".join(f"{_h(k)}: {_h(_plain(v))}" for k, v in c["details"].items() if v not in ("", [], {}))
        who = (who or '<span class="muted">—</span>') + (f'<br><span class="small">{details}</span>' if details else "")
    else:
        who = "<br>".join(f"{_hb(e['name'])} <span class=\"small muted\">({_h(e['kind'])})</span>"
                          for e in c["entry_points"]) or '<span class="muted">—</span>'
    mine = [numbers[_finding_key(f)] for f in c["findings"]]
    findings = "<br>".join(f'<a class="fl f-{n}" href="#finding-{n}" title="highlight its path">{_h(_rule_text(f))}</a>'
                           f" <span class=\"small muted\">{_h(f['level'])}</span>"
                           for n, f in zip(mine, c["findings"])) or '<span class="muted">none</span>'
    classes = " ".join(f"f-{n}" for n in mine)
    return (f'<tr id="{anchors[c["id"]]}"' + (f' class="{classes}"' if classes else "")
            + f"><td>{head}</td><td>{dests}</td><td>{fields}</td><td>{who}</td><td>{findings}</td></tr>")


def _html_destination(d: Json) -> str:
    unresolved = d["how"].removeprefix("unresolved: ")
    name = d["host"] or (d["url"] if d["url"] and not d["url"].startswith("{?}") else "")
    return (f'<span class="v v-{_h(d["verdict"])}">{_h(d["verdict"])}</span> '
            + (f"<code>{_hb(name)}</code>" if name else '<span class="muted">not known</span>')
            + (f" {_h(d['provider'])}" if d["provider"] else "")
            + f"<br><span class=\"small\">seat {_h(d['jurisdiction'])}, region {_h(d['region'])}"
            + (f" ({_h(d['unknown_because'])})" if d["unknown_because"] and d["unknown_because"] != unresolved else "")
            + f" · {_h(', '.join(d['configured']))}: {_h(unresolved)}"
            + (f" · <code>{_hb(d['url'])}</code>" if d["host"] and d["url"] else "") + "</span>")


def _plain(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _h(text: Any) -> str:
    """Escaped text; control characters from scanned names are dropped."""
    return escape("".join(ch for ch in str(text) if ch.isprintable() or ch == " "), quote=True)


def _hb(text: Any) -> str:
    """Escaped like `_h`, with line-break opportunities after the dots and slashes of long names."""
    return _h(text).replace(".", ".<wbr>").replace("/", "/<wbr>")


# --- the picture --------------------------------------------------------------------------------

ROW = 22
COL_X = (10, 330, 700)
BOX_W = (220, 300, 260)
TOP = 30
# Right-hand groups for destinations whose seat is not known, after the known jurisdictions.
UNKNOWN_GROUPS = {"foreign": "jurisdiction unknown", "unknown": "jurisdiction unknown",
                  "sovereign": "allowed by policy, seat unknown",
                  "not-llm": "not an LLM API, seat unknown", "in-org": "the org itself"}
DATALOADER_GROUP = "Data Loader files, databases"
GROUP_ORDER = ("jurisdiction unknown", "allowed by policy, seat unknown", "not an LLM API, seat unknown",
               DATALOADER_GROUP, "the org itself")


def _label(c: Json) -> str:
    """A channel as the picture and the finding list name it: metadata names say what they are
    (a Named Credential and a CSP Trusted Site are both called Mistral_EU in the sample)."""
    return f"{SHORT_KINDS[c['kind']]} {c['name']}" if c["kind"] in SHORT_KINDS else c["name"]


def _dest_label(d: Json) -> str:
    """A destination as the picture names it: host, else URL, else why it is not known."""
    if d["host"]:
        return d["host"]
    if d["url"] and not d["url"].startswith("{?}"):
        return d["url"]
    return f"? {d['unknown_because'] or d['how'] or UNKNOWN}"


def _dest_group(d: Json) -> str:
    if d["jurisdiction"] != UNKNOWN:
        return d["jurisdiction"]
    if "dataloader-process" in d["configured"]:
        return DATALOADER_GROUP
    return UNKNOWN_GROUPS.get(d["verdict"], GROUP_ORDER[0])


def _svg(doc: Json, anchors: Mapping[str, str], numbers: Mapping[tuple, int]) -> str:
    channels = [c for c in doc["channels"] if c["destinations"] or c["data"]["fields"]]
    objects: dict[str, bool] = {}
    for c in channels:
        for f in c["data"]["fields"]:
            objects[f["object"]] = objects.get(f["object"], False) or f["sensitivity"] == "sensitive"
    groups: dict[str, dict[str, str]] = {}  # group (jurisdiction) -> destination label -> verdict (worst)
    for c in channels:
        for d in c["destinations"]:
            seen = groups.setdefault(_dest_group(d), {})
            old = seen.get(_dest_label(d))
            if old is None or VERDICT_ORDER.index(d["verdict"]) < VERDICT_ORDER.index(old):
                seen[_dest_label(d)] = d["verdict"]
    obj_y = {o: TOP + i * ROW for i, o in enumerate(sorted(objects, key=str.lower))}
    ch_y = {c["id"]: TOP + i * ROW for i, c in enumerate(channels)}
    dest_y: dict[tuple[str, str], int] = {}
    labels: list[tuple[str, int]] = []
    y = TOP
    for group in sorted(groups, key=lambda g: (g in GROUP_ORDER, GROUP_ORDER.index(g) if g in GROUP_ORDER else 0, g)):
        labels.append((group, y))
        y += ROW
        for label in sorted(groups[group]):
            dest_y[(group, label)] = y
            y += ROW
        y += ROW // 2
    height = max([TOP + len(objects) * ROW, TOP + len(channels) * ROW, y, 80]) + 10
    width = COL_X[2] + BOX_W[2] + 10
    # Which findings each element belongs to: classes f-N on its objects, channel, destination and edges.
    marks: dict[tuple, set[int]] = {}
    edges: dict[tuple, tuple[str, str]] = {}  # (kind, from, to) -> (colour, title), in drawing order
    for c in channels:
        reached: dict[str, bool] = {}
        for f in c["data"]["fields"]:
            reached[f["object"]] = reached.get(f["object"], False) or f["sensitivity"] == "sensitive"
        for obj, sensitive in sorted(reached.items()):
            edges.setdefault(("src", obj, c["id"]), ("#c62828" if sensitive else "#9e9e9e", f"{obj} → {_label(c)}"))
        for d in c["destinations"]:
            edges.setdefault(("dst", c["id"], (_dest_group(d), _dest_label(d))),
                             (VERDICT_COLOR.get(d["verdict"], "#999"), f"{_label(c)} → {_dest_label(d)}"))
        object_of = {f["field"]: f["object"] for f in c["data"]["fields"]}
        for finding in c["findings"]:
            n = numbers[_finding_key(finding)]
            marks.setdefault(("channel", c["id"]), set()).add(n)
            for name in finding.get("fields", []):
                obj = object_of.get(name, name.split(".", 1)[0])
                if obj in obj_y and obj in reached:
                    marks.setdefault(("object", obj), set()).add(n)
                    marks.setdefault(("src", obj, c["id"]), set()).add(n)
            mine = [d for d in c["destinations"] if (d["host"] or d["url"] or UNKNOWN) == finding.get("destination")]
            for d in mine or c["destinations"]:
                at = (_dest_group(d), _dest_label(d))
                marks.setdefault(("dest", at), set()).add(n)
                marks.setdefault(("dst", c["id"], at), set()).add(n)
    parts = [(f'<svg width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Data flows from objects through channels '
             f'to destinations" font-family="system-ui, sans-serif" font-size="12">'),
             f'<text x="{COL_X[0]}" y="16" font-weight="bold">Sources</text>',
             f'<text x="{COL_X[1]}" y="16" font-weight="bold">Channels</text>',
             f'<text x="{COL_X[2]}" y="16" font-weight="bold">Destinations by jurisdiction</text>']
    for key, (color, title) in edges.items():
        if key[0] == "src":
            x1, y1, x2, y2 = COL_X[0] + BOX_W[0], obj_y[key[1]] + 8, COL_X[1], ch_y[key[2]] + 8
        else:
            x1, y1, x2, y2 = COL_X[1] + BOX_W[1], ch_y[key[1]] + 8, COL_X[2], dest_y[key[2]] + 8
        parts.append(_curve(x1, y1, x2, y2, color, title, _classes("e", marks.get(key))))
    for obj, oy in obj_y.items():
        fields = sorted({f["field"] for c in channels for f in c["data"]["fields"] if f["object"] == obj})
        parts.append(_box(COL_X[0], oy, BOX_W[0], obj, "#ffebee" if objects[obj] else "#f5f5f5",
                          "#c62828" if objects[obj] else "#9e9e9e", "; ".join(fields),
                          _classes("n", marks.get(("object", obj)))))
    for c in channels:
        color = "#c62828" if any(not f["suppressed"] and f["level"] == "error" for f in c["findings"]) else \
            "#ef6c00" if c["findings"] else "#607d8b"
        parts.append(f'<a href="#{anchors[c["id"]]}">'
                     + _box(COL_X[1], ch_y[c["id"]], BOX_W[1], _label(c), "#fff", color,
                            f"{KIND_TITLES.get(c['kind'], c['kind'])}: {c['id']}",
                            _classes("n", marks.get(("channel", c["id"])))) + "</a>")
    for group, ly in labels:
        parts.append(f'<text x="{COL_X[2]}" y="{ly + 13}" font-weight="bold">{_h(group)}</text>')
    for (group, label), dy in dest_y.items():
        verdict = groups[group][label]
        parts.append(_box(COL_X[2] + 10, dy, BOX_W[2] - 10, label, "#fff", VERDICT_COLOR.get(verdict, "#999"),
                          f"{label}: {verdict}", _classes("n", marks.get(("dest", (group, label))))))
    parts.append("</svg>")
    return "\n".join(parts)


def _classes(base: str, findings: set[int] | None) -> str:
    return " ".join([base, *(f"f-{n}" for n in sorted(findings or ()))])


def _curve(x1: int, y1: int, x2: int, y2: int, color: str, title: str, classes: str) -> str:
    mid = (x1 + x2) // 2
    return (f'<path class="{classes}" d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" stroke="{color}" '
            f'stroke-opacity="0.55" stroke-width="1.5"><title>{_h(title)}</title></path>')


def _box(x: int, y: int, w: int, label: str, fill: str, stroke: str, title: str, classes: str) -> str:
    shown = label if len(label) <= w // 7 else label[: w // 7 - 1] + "…"
    return (f'<g class="{classes}"><title>{_h(title)}</title><rect x="{x}" y="{y}" width="{w}" height="17" rx="3" '
            f'fill="{fill}" stroke="{stroke}"/><text x="{x + 5}" y="{y + 13}">{_h(shown)}</text></g>')
