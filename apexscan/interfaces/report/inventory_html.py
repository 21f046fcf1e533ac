"""The egress inventory as one self-contained HTML page, for auditors, on screen and on paper.

Order: the record header (scan time, commit, policy and its SHA-256, apexscan's version), the
summary (destinations by verdict, jurisdiction, provider and region, with channels, sensitive
fields and findings), the changes since a base, the picture, the channel tables, the findings,
the links between systems, then further sections (`sections=`: the runtime evidence).

Nothing is loaded from anywhere: one `<style>`, one small `<script>` and inline SVG, pinned by
a Content-Security-Policy that allows only those two by hash, so that a name from the scanned
repository that escaped its escaping still could not run or fetch anything. The script adds the
filters (search, verdict, severity, destination, object, kind, system); without it the page
shows everything and loses nothing else. Selecting a finding highlights its path without the
script: each finding N has an empty `<span id="finding-N" class="fsel">` before the picture
section, and CSS reaches the picture, the tables and the steps panel with
`#finding-N:target ~ section ...`. Narrow screens (below 760 px) show every table row as a card;
print shows badges as bordered text (no background colours needed) and scales the picture to
the page.
"""
from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from apexscan.interfaces.report.inventory_labels import (
    LEVELS,
    SYSTEM_KINDS,
    VERDICT_ORDER,
    VERDICT_TEXT,
    dest_key,
    dirty_text,
    finding_key,
    finding_numbers,
    kind_title,
    label,
    rule_text,
    short_commit,
)
from apexscan.interfaces.report.inventory_svg import picture
from apexscan.interfaces.report.visible import visible
from apexscan.pipeline.inventory import ENTRY_KINDS, METADATA_KINDS

Json = Mapping[str, Any]

CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1680px;
 padding:16px 24px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 6px}h3{font-size:15px;margin:14px 0 4px}
h2{font-size:18px;margin:28px 0 8px;padding-bottom:3px;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:6px 0 14px}
th,td{border:1px solid #d0d7de;padding:4px 6px;vertical-align:top;text-align:left;overflow-wrap:anywhere}
th{background:#f3f5f7}tr:target{background:#fff4c2}
td.num,th.num{text-align:right}td.num{white-space:nowrap}td.w{overflow-wrap:normal}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.rec{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 14px;margin:8px 0 4px;font-size:13px}
.rec dt{color:#555;font-weight:600}.rec dd{margin:0;overflow-wrap:anywhere}
.toc{font-size:13px;margin:6px 0 0}.toc a{margin-right:14px;white-space:nowrap}
.v{display:inline-block;padding:0 5px;border-radius:3px;color:#fff;font-size:12px;border:1px solid;white-space:nowrap}
.v-foreign{background:#c62828;border-color:#c62828}.v-unknown{background:#ef6c00;border-color:#ef6c00}
.v-sovereign{background:#2e7d32;border-color:#2e7d32}.v-not-llm{background:#607d8b;border-color:#607d8b}
.v-in-org{background:#1565c0;border-color:#1565c0}
.lv{font-size:12px;font-weight:600}.lv-error{color:#b71c1c}.lv-warning{color:#8d5a00}.lv-note{color:#455a64}
.s-sensitive{color:#b71c1c;font-weight:600}.s-unknown{color:#8d5a00}.s-non-sensitive{color:#555}
.muted{color:#666}.small{font-size:12px}.why{font-style:italic;color:#37474f}
.headline{font-size:15px;margin:6px 0 10px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:8px;margin:8px 0 12px}
.card{border:1px solid #d0d7de;border-left-width:6px;border-radius:4px;padding:6px 10px;font-size:13px}
.card strong{font-size:17px;display:block;margin:2px 0}
.c-foreign{border-left-color:#c62828}.c-unknown{border-left-color:#ef6c00}.c-sovereign{border-left-color:#2e7d32}
.c-not-llm{border-left-color:#607d8b}.c-in-org{border-left-color:#1565c0}
.grid3{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(400px,100%),1fr));gap:0 18px}
.grp{table-layout:fixed}.grp th:first-child{width:40%}
.inv{table-layout:fixed}.inv th:nth-child(1){width:21%}.inv th:nth-child(2){width:25%}
.inv th:nth-child(3){width:23%}.inv th:nth-child(4){width:16%}
.fnd{table-layout:fixed}.fnd th:nth-child(1){width:4%}.fnd th:nth-child(2){width:12%}.fnd th:nth-child(3){width:22%}
.fnd th:nth-child(4){width:17%}.fnd th:nth-child(5){width:25%}
.legend span{margin-right:10px}
.flows{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.flows figure{margin:8px 0;flex:0 1 auto;max-width:100%;overflow-x:auto}
.steps{flex:1 1 300px;min-width:260px;position:sticky;top:8px;max-height:calc(100vh - 16px);overflow:auto;
 border:1px solid #d0d7de;border-radius:4px;padding:8px 10px;background:#fafbfc;font-size:13px;overflow-wrap:anywhere}
.steps ol{margin:4px 0 8px;padding-left:22px}.steps li{margin:2px 0}.steps p{margin:4px 0}
.detail{display:none}
.fsel:target~#picture svg .e{stroke-opacity:.07}
.fsel:target~#picture svg .n{opacity:.3}
.fsel:target~#picture .hint{display:none}
a.fl{white-space:nowrap}
#filters{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:flex-end;padding:8px 10px;margin:6px 0;
 border:1px solid #d0d7de;border-radius:4px;background:#fafbfc;position:sticky;top:0;z-index:1}
#filters[hidden]{display:none}
#filters label{display:flex;flex-direction:column;font-size:12px;color:#444;min-width:0}
#filters input,#filters select,#filters button{font:inherit;font-size:13px;max-width:230px;min-width:0}
#shown{font-size:12px;color:#444;flex:1 1 100%}
tr[hidden]{display:none!important}
@media screen and (max-width:1330px){.steps{order:-1;flex-basis:100%;position:static;max-height:45vh}}
@media screen and (max-width:760px){
 body{padding:10px}h1{font-size:19px}
 .rec{grid-template-columns:minmax(0,1fr)}.rec dt{margin-top:4px}
 .rt,.rt tbody,.rt tr,.rt td{display:block;width:auto}.rt thead{display:none}
 .rt tr{border:1px solid #d0d7de;border-radius:4px;margin:0 0 10px}
 .rt td{border:0;border-top:1px solid #eef0f2}.rt td:first-child{border-top:0}
 .rt td::before{content:attr(data-label);display:block;font-size:11px;font-weight:600;color:#555}
 .rt td.num{text-align:left}
 .sum tr{display:grid;grid-template-columns:repeat(3,minmax(0,1fr))}.sum td{border-top:0}
 .sum td:first-child{grid-column:1/-1;border-bottom:1px solid #eef0f2}
 #filters{position:static}#filters label{flex:1 1 40%}#filters input,#filters select{max-width:none;width:100%}
 section.ev table{display:block;overflow-x:auto}section.ev{overflow-wrap:anywhere}
}
@media print{
 @page{size:A4;margin:12mm 10mm}
 body{max-width:none;padding:0;font-size:9pt}code{font-size:8pt}.small,.v{font-size:8pt}
 .dst{table-layout:fixed}.dst th:nth-child(1){width:28%}.dst th:nth-child(2){width:13%}
 .dst th:nth-child(3){width:15%}.dst th:nth-child(4),.dst th:nth-child(5){width:9%}
 .toc,#filters,.steps,.noprint{display:none!important}
 .v{background:none!important;color:#000!important;border:1px solid #000;font-weight:600}
 .card{border-left-style:double}
 h2,h3{break-after:avoid}tr,.card,figure{break-inside:avoid}thead{display:table-header-group}
 .flows figure{overflow:visible;max-width:100%}svg.pic{width:100%;height:auto}
 a{color:inherit;text-decoration:none}
 section.ev svg{max-width:100%}
}
"""
# One rule per finding, joined into selector lists (see the module docstring).
HIGHLIGHT = (("~#picture .f-{n}", "opacity:1;stroke-opacity:1;stroke-width:3"),
             ("~#picture .d-{n}", "display:block"),
             ("~section tr.f-{n}", "background:#fff4c2"),
             ("~section a.f-{n}", "background:#ffd54f;font-weight:bold"))
SCRIPT = """(function(){
var f=document.getElementById('filters');if(!f)return;f.hidden=false;
var rows=[].slice.call(document.querySelectorAll('tr[data-f]'));
var data=rows.map(function(r){return JSON.parse(r.getAttribute('data-f'));});
var shown=document.getElementById('shown'),group=0;
function val(n){return f.elements[n]?f.elements[n].value:'';}
function apply(){
var q=val('q').trim().toLowerCase(),v=val('verdict'),l=val('level'),d=val('dest'),o=val('object'),k=val('kind'),s=val('system');
var n=0,t=0,m=0,u=0;
rows.forEach(function(r,i){var x=data[i];
var ok=(!v||x.v.indexOf(v)>=0)&&(!l||x.l.indexOf(l)>=0)&&(!d||x.d.indexOf(d)>=0)&&(!o||x.o.indexOf(o)>=0)
&&(!k||x.k===k)&&(!s||x.s===s)&&(!group||x.g===group)&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);
r.hidden=!ok;if(x.t==='c'){t++;if(ok)n++;}else{u++;if(ok)m++;}});
shown.textContent=(n===t&&m===u)?'Showing every channel ('+t+') and finding ('+u+').':
'Showing '+n+' of '+t+' channels and '+m+' of '+u+' findings'+(group?', one group of the picture':'')+'.';}
f.addEventListener('input',apply);f.addEventListener('change',apply);
f.addEventListener('reset',function(){group=0;setTimeout(apply,0);});
[].forEach.call(document.querySelectorAll('a[data-g]'),function(a){a.addEventListener('click',function(e){
e.preventDefault();group=+a.getAttribute('data-g');apply();document.getElementById('channels').scrollIntoView();});});
apply();})();
"""


def render_inventory_html(doc: Json, sections: Sequence[tuple[str, str]] = ()) -> str:
    """The page; `sections` are (CSS, markup) pairs of further self-contained sections, placed after
    the tables and listed in the page's contents (the runtime evidence of `apexscan evidence`)."""
    anchors = {c["id"]: f"ch-{i + 1}" for i, c in enumerate(doc["channels"])}
    names = {c["id"]: label(c) for c in doc["channels"]}
    numbers = finding_numbers(doc)
    drawn = picture(doc, anchors, numbers)
    css = CSS + "".join(",".join(f"#finding-{n}:target{tail.format(n=n)}" for n in numbers.values()) + f"{{{rule}}}\n"
                        for tail, rule in HIGHLIGHT) if numbers else CSS
    css += "".join(extra_css for extra_css, _ in sections)
    several = len(doc.get("systems", ())) > 1
    title = _h(doc["project"]) if not several else f"estate of {len(doc['systems'])} systems"
    contents = [("summary", "Summary")] + ([("changes", "Changes")] if doc["comparison"] else []) + [
        ("picture", "Picture"), ("channels", "Channels"), ("findings", "Findings")] + \
        ([("links", "Links between systems")] if several or doc.get("links") else []) + \
        [(_section_id(markup), _section_title(markup)) for _, markup in sections if _section_id(markup)]
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src {_hash(css)}; '
           f"script-src {_hash(SCRIPT)}; img-src data:; base-uri 'none'; form-action 'none'\">",
           f"<title>Egress inventory: {title}</title>", f"<style>{css}</style>", "</head>", "<body>",
           "<header>", f"<h1>Egress inventory: {title}</h1>", *_record(doc),
           '<nav class="toc">' + " ".join(f'<a href="#{_h(i)}">{_h(t)}</a>' for i, t in contents) + "</nav>",
           "</header>"]
    out += _summary(doc)
    if doc["comparison"]:
        out += _html_comparison(doc["comparison"])
    out += [f'<span id="finding-{n}" class="fsel"></span>' for n in numbers.values()]
    out += ['<section id="picture">', "<h2>Picture</h2>"]
    if drawn.svg:
        out += ['<p class="legend small">'
                + "".join(f'<span><span class="v v-{v}">{_h(VERDICT_TEXT[v])}</span></span>' for v in VERDICT_ORDER)
                + " Source objects on the left, channels grouped by kind and destination in the middle, destinations "
                  "by jurisdiction on the right; a thicker line stands for more channels, a red one from an object "
                  "carries sensitive fields. Point at a box for its full names; select a group to see its channels, "
                  "or a finding to highlight its path.</p>",
                '<div class="flows">', "<figure>", drawn.svg, "</figure>",
                '<aside class="steps">', *_finding_panel(doc, anchors, numbers), "</aside>", "</div>"]
    else:
        out += [f'<p class="muted">No picture: {_h(drawn.omitted)}. The tables below list every channel.</p>',
                '<div class="flows"><aside class="steps">', *_finding_panel(doc, anchors, numbers), "</aside></div>"]
    out.append("</section>")
    out += ['<section id="channels">', "<h2>Channels</h2>", *_filters(doc, several)]
    for heading, metadata in (("In code", False), ("In metadata and configuration", True)):
        rows = [c for c in doc["channels"] if (c["kind"] in METADATA_KINDS) == metadata]
        if not rows:
            continue
        second = "Used by" if metadata else "Entry points"
        out += [f"<h3>{heading} ({len(rows)})</h3>", '<table class="inv rt">',
                ("<thead><tr><th>Channel</th><th>Destinations</th><th>Data that reaches it</th>"
                 f"<th>{second}</th><th>Findings</th></tr></thead>"), "<tbody>"]
        out += [_html_row(c, anchors, names, numbers, drawn.groups, second, several) for c in rows]
        out += ["</tbody>", "</table>"]
    out.append("</section>")
    out += _findings_table(doc, anchors, numbers, drawn.groups)
    if several or doc.get("links"):
        out += _links(doc, anchors)
    out += [markup for _, markup in sections]
    out += ['<footer><p class="muted small">Entry points: '
            + "; ".join(f"{_h(k)} = {_h(v)}" for k, v in ENTRY_KINDS.items()) + ".</p></footer>",
            f"<script>{SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _section_id(markup: str) -> str:
    head = markup[:300]
    at = head.find(' id="')
    return head[at + 5:head.find('"', at + 5)] if at >= 0 else ""


def _section_title(markup: str) -> str:
    at = markup.find("<h2>")
    return markup[at + 4:markup.find("</h2>", at)].split(" (", 1)[0] if at >= 0 else "More"


# --- the record header --------------------------------------------------------------------------


def _record(doc: Json) -> list[str]:
    rec = doc.get("record", {})
    systems = doc.get("systems", [])
    when = rec.get("scanned_at") or ""
    source = {"--timestamp": " (given with --timestamp)", "SOURCE_DATE_EPOCH": " (from SOURCE_DATE_EPOCH)"}.get(
        rec.get("scanned_at_source", ""), "")
    rows = [("Scanned", f"<time>{_h(when)}</time> UTC{_h(source)}" if when else
             '<span class="muted">time not recorded</span>'),
            ("Tool", _h(f"apexscan {rec['apexscan_version']}" if rec.get("apexscan_version") else doc["generator"]))]
    if len(systems) <= 1:
        policy = doc["policy"]
        rows.append(("Policy", _policy_text(policy)))
        rows.append(("Allowed", _allowed(policy)))
        if systems:
            rows.append(("Source", _source_text(systems[0]["source"])))
    else:
        policies = {json.dumps(s["policy"], sort_keys=True) for s in systems}
        if len(policies) == 1:
            rows += [("Policy", _policy_text(systems[0]["policy"])), ("Allowed", _allowed(systems[0]["policy"]))]
        else:
            rows.append(("Policy", "one per system (see Systems below)"))
        rows.append(("Systems", ", ".join(f"{_h(s['id'])} ({_h(SYSTEM_KINDS.get(s['kind'], s['kind']))})"
                                          for s in systems)))
    return ['<dl class="rec">'] + [f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows] + ["</dl>"]


def _policy_text(policy: Json) -> str:
    if policy.get("trusted_source"):  # --policy-ref: read from a trusted commit
        text = f"read from <code>{_hb(policy['trusted_source'])}</code>"
        if policy.get("working_tree_changes"):
            text += (" · <strong>the working tree's policy differs (APX-SCAN-002):</strong> "
                     + _h("; ".join(policy["working_tree_changes"])))
        return text
    if not policy.get("file"):
        return "built-in defaults (no policy file)"
    return f"<code>{_hb(policy['file'])}</code> · SHA-256 <code>{_hb(policy['sha256'])}</code>"


def _allowed(policy: Json) -> str:
    text = (f"jurisdictions {_h(', '.join(policy.get('allowed_jurisdictions', ())) or 'none')} · regions "
            f"{_h(', '.join(policy.get('allowed_regions', ())) or 'none')}")
    if policy.get("allowed_hosts"):
        text += f" · hosts {_hb(', '.join(policy['allowed_hosts']))}"
    return text


def _source_text(source: Json) -> str:
    repo = source.get("repository", {})
    where = (f"<code>{_hb(repo['path'])}</code> in " if repo.get("path") not in (None, "", ".") else "") + \
        (f"repository <code>{_hb(repo['top'])}</code>" if repo.get("top") else "folder " + _hb(source.get("folder", "")))
    state = dirty_text(repo)
    return f"{where} · commit <code>{_hb(short_commit(repo))}</code>" + (f" · {_h(state)}" if state else "")


# --- the summary --------------------------------------------------------------------------------


def _summary(doc: Json) -> list[str]:
    s = doc["summary"]
    levels = s.get("findings", {})
    findings = sum(levels.get(k, 0) for k in LEVELS)
    out = ['<section id="summary">', "<h2>Summary</h2>",
           f'<p class="headline"><strong>{s["channels"]}</strong> channels ({s["code_channels"]} in code, '
           f'{s["metadata_channels"]} in metadata) to <strong>{s["destinations"]}</strong> destinations; '
           f"<strong>{findings}</strong> findings ({levels.get('error', 0)} errors, {levels.get('warning', 0)} "
           f"warnings, {levels.get('note', 0)} notes"
           + (f", and {levels['suppressed']} suppressed" if levels.get("suppressed") else "")
           + f") on {s['channels_with_findings']} channels; {s['channels_with_sensitive_data']} channels carry "
             "sensitive data.</p>"]
    groups = s.get("groups", {})
    out.append('<div class="cards">')
    for g in groups.get("verdict", []):
        v = g["value"]
        out.append(f'<div class="card c-{_h(v)}"><span class="v v-{_h(v)}">{_h(VERDICT_TEXT.get(v, v))}</span>'
                   f"<strong>{_count(len(g['destinations']), 'destination')}</strong>{_count(g['channels'], 'channel')} · "
                   f"{_count(g['sensitive_fields'], 'sensitive field')} · {_count(g['findings'], 'finding')}</div>")
    out.append("</div>")
    out += ["<h3>Destinations</h3>", '<table class="dst sum rt"><thead><tr><th>Destination</th><th>Verdict</th>'
            "<th>Provider</th><th>Seat</th><th>Region</th><th class=\"num\">Channels</th>"
            '<th class="num">Sensitive fields</th><th class="num">Findings</th></tr></thead><tbody>']
    for r in s.get("by_destination", []):
        out.append(f'<tr><td data-label="Destination"><code>{_hb(r["destination"])}</code></td>'
                   f'<td data-label="Verdict">{_badge(r["verdict"])}</td>'
                   f'<td data-label="Provider">{_h(r["provider"]) or _none("—")}</td>'
                   f'<td class="w" data-label="Seat">{_h(r["jurisdiction"])}</td><td class="w" data-label="Region">{_h(r["region"])}</td>'
                   f'<td class="num" data-label="Channels">{r["channels"]}</td>'
                   f'<td class="num" data-label="Sensitive fields">{r["sensitive_fields"]}</td>'
                   f'<td class="num" data-label="Findings">{r["findings"]}</td></tr>')
    out += ["</tbody></table>", '<div class="grid3">']
    for by, heading in (("jurisdiction", "By legal seat (jurisdiction)"), ("provider", "By provider"),
                        ("region", "By processing region")):
        out += [f"<div><h3>{heading}</h3>", f'<table class="grp sum rt"><thead><tr><th>{_h(by.capitalize())}</th>'
                '<th class="num">Destinations</th><th class="num">Channels</th><th class="num">Sensitive fields</th>'
                '<th class="num">Findings</th></tr></thead><tbody>']
        for g in groups.get(by, []):
            out.append(f'<tr><td data-label="{_h(by.capitalize())}">{_h(g["value"])} {_badge(g["worst_verdict"])}</td>'
                       f'<td class="num" data-label="Destinations">{len(g["destinations"])}</td>'
                       f'<td class="num" data-label="Channels">{g["channels"]}</td>'
                       f'<td class="num" data-label="Sensitive fields">{g["sensitive_fields"]}</td>'
                       f'<td class="num" data-label="Findings">{g["findings"]}</td></tr>')
        out += ["</tbody></table></div>"]
    out.append("</div>")
    systems = doc.get("systems", [])
    if len(systems) > 1:
        out += ["<h3>Systems</h3>", '<table class="rt"><thead><tr><th>System</th><th>Kind</th><th>Source</th>'
                '<th>Policy</th><th class="num">Channels</th><th class="num">Findings</th></tr></thead><tbody>']
        for sys in systems:
            mine = [c for c in doc["channels"] if c.get("system") == sys["id"]]
            found = len({finding_key(f) for c in mine for f in c["findings"] if not f["suppressed"]})
            out.append(f'<tr><td data-label="System"><strong>{_hb(sys["id"])}</strong></td>'
                       f'<td data-label="Kind">{_h(SYSTEM_KINDS.get(sys["kind"], sys["kind"]))}</td>'
                       f'<td data-label="Source">{_source_text(sys["source"])}</td>'
                       f'<td data-label="Policy">{_policy_text(sys["policy"])}<br><span class="small">'
                       f'{_allowed(sys["policy"])}</span></td>'
                       f'<td class="num" data-label="Channels">{len(mine)}</td>'
                       f'<td class="num" data-label="Findings">{found}</td></tr>')
        out.append("</tbody></table>")
    out.append("</section>")
    return out


def _badge(verdict: str, text: str | None = None) -> str:
    shown = VERDICT_TEXT.get(verdict, verdict) if text is None else text
    return f'<span class="v v-{_h(verdict)}" title="{_h(VERDICT_TEXT.get(verdict, verdict))}">{_h(shown) or "&nbsp;"}</span>'


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _none(text: str) -> str:
    return f'<span class="muted">{_h(text)}</span>'


# --- filters, tables ----------------------------------------------------------------------------


def _filters(doc: Json, several: bool) -> list[str]:
    channels = doc["channels"]
    dests = sorted({dest_key(d) for c in channels for d in c["destinations"]}, key=str.lower)
    objects = sorted({f["object"] for c in channels for f in c["data"]["fields"]}, key=str.lower)
    kinds = sorted({c["kind"] for c in channels})

    def select(name: str, heading: str, options: list[tuple[str, str]]) -> str:
        return (f'<label>{heading}<select name="{name}"><option value="">any</option>'
                + "".join(f'<option value="{_h(v)}">{_h(t)}</option>' for v, t in options) + "</select></label>")

    parts = ['<form id="filters" hidden role="search">',
             '<label>Search<input type="search" name="q" placeholder="name, field, host, rule"></label>',
             select("verdict", "Verdict", [(v, VERDICT_TEXT[v]) for v in VERDICT_ORDER]),
             select("level", "Severity", [(lv, lv) for lv in LEVELS] + [("none", "no finding")]),
             select("dest", "Destination", [(d, d) for d in dests]),
             select("object", "Object", [(o, o) for o in objects]),
             select("kind", "Kind", [(k, kind_title(k)) for k in kinds])]
    if several:
        parts.append(select("system", "System", [(s["id"], s["id"]) for s in doc["systems"]]))
    parts += ['<button type="reset">Clear</button>', '<output id="shown" aria-live="polite"></output>', "</form>"]
    return parts


def _facets(c: Json, t: str, groups: Mapping[str, int], **override) -> str:
    facets = {"t": t, "v": sorted({d["verdict"] for d in c["destinations"]}),
              "l": sorted({f["level"] for f in c["findings"] if not f["suppressed"]}) or ["none"],
              "d": sorted({dest_key(d) for d in c["destinations"]}),
              "o": sorted({f["object"] for f in c["data"]["fields"]}), "k": c["kind"],
              "s": c.get("system", ""), "g": groups.get(c["id"], 0)}
    facets.update(override)
    return _h(json.dumps(facets, ensure_ascii=True, separators=(",", ":")))


def _html_row(c: Json, anchors: Mapping[str, str], names: Mapping[str, str], numbers: Mapping[tuple, int],
              groups: Mapping[str, int], second: str, several: bool) -> str:
    loc = c["location"]
    head = (f"<strong>{_hb(c['name'])}</strong><br><span class=\"small muted\">{_h(kind_title(c['kind']))}"
            + (f" · {_hb(c['system'])}" if several and c.get("system") else "")
            + f" · <code>{_hb(loc['path'])}:{loc['line']}</code></span>"
            + ("<br><em>checked by a residency guard</em>" if c["guarded"] else ""))
    dests = "<br>".join(_html_destination(d) for d in c["destinations"]) or _none("none")
    fields = ", ".join(
        f'<span class="s-{_h(f["sensitivity"])}" title="{_h(f["sensitivity"] + ", " + f["category"] + ": " + f["reason"])}">'
        f"{_hb(f['field'])}</span>" + (" (whole record)" if f["whole_record"] else "")
        for f in c["data"]["fields"]) or _none("no record data seen")
    if not c["data"]["traced"]:
        fields = _none(f"not traced: {c['data']['untraced_because']}")
    if c["data"]["categories"]:
        fields += f'<br><span class="small">categories: {_h(", ".join(c["data"]["categories"]))}</span>'
    if c["kind"] in METADATA_KINDS:
        who = "<br>".join(f'<a href="#{anchors[u]}" title="{_h(u)}">{_hb(names[u])}</a>' for u in c["used_by"]
                          if u in anchors)
        details = "; ".join(f"{_h(k)}: {_hb(_plain(v))}" for k, v in c["details"].items() if v not in ("", [], {}))
        who = (who or _none("—")) + (f'<br><span class="small">{details}</span>' if details else "")
    else:
        who = "<br>".join(f"{_hb(e['name'])} <span class=\"small muted\">({_h(e['kind'])})</span>"
                          for e in c["entry_points"]) or _none("—")
    mine = [numbers[finding_key(f)] for f in c["findings"]]
    findings = "<br>".join(f'<a class="fl f-{n}" href="#finding-{n}" title="highlight its path">{_h(rule_text(f))}</a>'
                           f' <span class="lv lv-{_h(f["level"])}">{_h(f["level"])}</span>'
                           for n, f in zip(mine, c["findings"]))
    why = c.get("no_finding_because", "")
    findings = (findings + (f'<br><span class="why">{_h(why)}</span>' if why else "")) if findings else \
        '<span class="muted">none</span>' + (f' — <span class="why">{_h(why)}</span>' if why else "")
    classes = " ".join(f"f-{n}" for n in mine)
    return (f'<tr id="{anchors[c["id"]]}"' + (f' class="{classes}"' if classes else "")
            + f' data-f="{_facets(c, "c", groups)}"><td data-label="Channel">{head}</td>'
            f'<td data-label="Destinations">{dests}</td><td data-label="Data that reaches it">{fields}</td>'
            f'<td data-label="{second}">{who}</td><td data-label="Findings">{findings}</td></tr>')


def _html_destination(d: Json) -> str:
    unresolved = d["how"].removeprefix("unresolved: ")
    name = d["host"] or (d["url"] if d["url"] and not d["url"].startswith("{?}") else "")
    return (_badge(d["verdict"]) + " "
            + (f"<code>{_hb(name)}</code>" if name else _none("not known"))
            + (f" {_h(d['provider'])}" if d["provider"] else "")
            + f"<br><span class=\"small\">seat {_h(d['jurisdiction'])}, region {_h(d['region'])}"
            + (f" ({_h(d['unknown_because'])})" if d["unknown_because"] and d["unknown_because"] != unresolved else "")
            + f" · {_h(', '.join(d['configured']))}: {_hb(unresolved)}"
            + (f" · <code>{_hb(d['url'])}</code>" if d["host"] and d["url"] else "") + "</span>")


def _findings_table(doc: Json, anchors: Mapping[str, str], numbers: Mapping[tuple, int],
                    groups: Mapping[str, int]) -> list[str]:
    seen: dict[int, tuple[Json, list[Json]]] = {}
    for c in doc["channels"]:
        for f in c["findings"]:
            seen.setdefault(numbers[finding_key(f)], (f, []))[1].append(c)
    out = ['<section id="findings">', f"<h2>Findings ({len(seen)})</h2>"]
    if not seen:
        return out + ["<p>None.</p>", "</section>"]
    out += ['<table class="fnd rt"><thead><tr><th>#</th><th>Rule</th><th>Channel</th><th>Destination</th>'
            "<th>Fields</th><th>Where</th></tr></thead><tbody>"]
    for n, (f, channels) in seen.items():
        first = channels[0]
        dest = next((d for d in first["destinations"] if dest_key(d) == f["destination"]), None)
        fields = ", ".join(_hb(x) for x in f["fields"]) or _none("— (about the channel itself)")
        level = "suppressed" if f["suppressed"] else f["level"]
        facets = _facets(first, "f", groups, l=[level] if not f["suppressed"] else ["none"],
                         v=[dest["verdict"]] if dest else sorted({d["verdict"] for d in first["destinations"]}),
                         d=[f["destination"]], o=sorted({x.split(".", 1)[0] for x in f["fields"]}))
        out.append(f'<tr class="f-{n}" data-f="{facets}"><td class="num" data-label="#">'
                   f'<a href="#finding-{n}" title="highlight its path">{n}</a></td>'
                   f'<td data-label="Rule"><strong>{_h(rule_text(f))}</strong><br>'
                   f'<span class="lv lv-{_h(f["level"])}">{_h(f["level"])}</span></td>'
                   f'<td data-label="Channel">' + "<br>".join(
                       f'<a href="#{anchors[c["id"]]}">{_hb(label(c))}</a>' for c in channels) + "</td>"
                   f'<td data-label="Destination">{_badge(dest["verdict"]) + " " if dest else ""}'
                   f'<code>{_hb(f["destination"])}</code></td>'
                   f'<td data-label="Fields">{fields}</td>'
                   f'<td data-label="Where"><code>{_hb(f["location"]["path"])}:{f["location"]["line"]}</code></td></tr>')
    out += ["</tbody></table>", "</section>"]
    return out


def _links(doc: Json, anchors: Mapping[str, str]) -> list[str]:
    out = ['<section id="links">', "<h2>Links between systems</h2>"]
    found = doc.get("links", [])
    if not found:
        return out + ['<p class="muted">No channel of one system reaches an input another system declares. '
                      "Salesforce orgs declare none yet: links appear when Mule applications or services, which "
                      "declare their HTTP listeners and API clients, are in the estate.</p>", "</section>"]
    by_id = {c["id"]: c for c in doc["channels"]}
    systems = {s["id"]: s for s in doc["systems"]}
    out.append('<table class="rt"><thead><tr><th>From</th><th>Into</th><th>How</th><th>Then to</th></tr></thead><tbody>')
    for link in found:
        c = by_id.get(link["from_channel"])
        entry = systems[link["to_system"]]["inputs"][link["input"]]
        onward = [by_id[i] for i in link["to_channels"] if i in by_id]
        then = "<br>".join(f'<a href="#{anchors[o["id"]]}">{_hb(label(o))}</a> → '
                           + ", ".join(f"{_badge(d['verdict'])} <code>{_hb(dest_key(d))}</code>" for d in o["destinations"])
                           for o in onward) or _none("every channel of the system (the input feeds no channel named)")
        out.append(f'<tr><td data-label="From">{_hb(link["from_system"])}: '
                   + (f'<a href="#{anchors[c["id"]]}">{_hb(label(c))}</a>' if c else _hb(link["from_channel"]))
                   + f'</td><td data-label="Into">{_hb(link["to_system"])}: {_hb(entry.get("what", link["kind"]))}</td>'
                   f'<td data-label="How">{_h(link["matched"])}</td><td data-label="Then to">{then}</td></tr>')
    out += ["</tbody></table>", "</section>"]
    return out


# --- the steps panel, the comparison ------------------------------------------------------------


def _finding_panel(doc: Json, anchors: Mapping[str, str], numbers: Mapping[tuple, int]) -> list[str]:
    """Beside the picture: the list of findings, and for the selected one its message and steps."""
    if not numbers:
        return ['<p class="muted">No findings.</p>']
    found: dict[int, tuple[Json, list[Json]]] = {}
    for c in doc["channels"]:
        for f in c["findings"]:
            found.setdefault(numbers[finding_key(f)], (f, []))[1].append(c)
    hint = ['<div class="hint">', f"<h3>Findings ({len(found)})</h3>",
            '<p class="small muted">Select one to highlight its path in the picture and list its steps here.</p>',
            "<ol>"]
    hint += [f'<li><a href="#finding-{n}">{_h(rule_text(f))}</a> <span class="small">'
             f"{_h(', '.join(label(c) for c in channels))}</span></li>" for n, (f, channels) in found.items()]
    out = [*hint, "</ol>", "</div>"]
    for n, (f, channels) in found.items():
        loc = f["location"]
        out += [f'<div class="detail d-{n}">', '<p class="small"><a href="#picture">← all findings</a></p>',
                f"<h3>{_h(rule_text(f))} <span class=\"small muted\">{_h(f['level'])}</span></h3>",
                "<p>" + ", ".join(f'<a href="#{anchors[c["id"]]}">{_h(label(c))}</a>' for c in channels)
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
             f"{', '.join(f'<code>{_hb(c)}</code>' for c in p['channels'])}</li>" for p in cmp["new_paths"]]
    items += [f"<li>Removed {_h(p['text'])}</li>" for p in cmp["removed_paths"]]
    items += [f"<li>New channel <code>{_hb(c['id'])}</code></li>" for c in cmp["new_channels"]]
    items += [f"<li>Removed channel <code>{_hb(c['id'])}</code></li>" for c in cmp["removed_channels"]]
    items += [f"<li>Changed <code>{_hb(c['id'])}</code>: {_h('; '.join(c['changes']))}</li>"
              for c in cmp["changed_channels"]]
    return ['<section id="changes">', f"<h2>Changes since {_h(cmp.get('base') or 'the base inventory')}</h2>",
            "<ul>" + "".join(items) + "</ul>" if items else "<p>No channel or path changed.</p>", "</section>"]


def _plain(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _h(text: Any) -> str:
    """Escaped text; control, bidirectional and other invisible characters from scanned names are
    shown as `<U+XXXX>`."""
    return escape(visible(str(text), keep_tab=False), quote=True)


def _hb(text: Any) -> str:
    """Escaped like `_h`, with line-break opportunities after the dots, slashes, colons and
    underscores of long names (so that a narrow column wraps them at a boundary, not anywhere)."""
    return _h(text).replace(".", ".<wbr>").replace("/", "/<wbr>").replace("_", "_<wbr>").replace(":", ":<wbr>")
