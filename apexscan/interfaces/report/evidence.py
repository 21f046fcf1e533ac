"""The runtime evidence document (`apexscan.pipeline.evidence.build_evidence`) as text, JSON or HTML.

JSON: the document itself; its schema is `evidence.schema.json` in this package (`schema_version`
1; compatible changes add keys, anything else bumps the version). Text: a summary for terminals
and CI logs, one line per finding. HTML: `evidence_section` returns one self-contained section
(its CSS block `EVIDENCE_CSS` and its markup: a timeline per destination and per API client, as
inline SVG bars, no script) that `render_inventory_html` places in the inventory page.

Every value from the logs is hostile text (a URL, a client name, a report description): the text
report shows control characters escaped, the HTML escapes everything.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from apexscan.pipeline.evidence import client_label

Json = Mapping[str, Any]


def render_evidence_json(doc: Json) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --- text -----------------------------------------------------------------------------------------


MAX_EXPLAINED = 4  # channels named per destination in the text report (the JSON lists them all)


def render_evidence_text(doc: Json) -> str:
    s, w, i = doc["summary"], doc["window"], doc["inputs"]
    out = [f"Runtime evidence{' for ' + _t(doc['project']) if doc['project'] else ''}: "
           f"{w['first_day'] or 'no dated row'} to {w['last_day'] or '-'} ({w['days']} days), "
           f"{i['rows']} rows from {sum(1 for f in i['files'] if f['status'] == 'read')} files"
           + (f"; {i['rows_not_read']} rows and {i['files_not_read']} files not read (see diagnostics)"
              if i["rows_not_read"] or i["files_not_read"] else ""), ""]
    out.append(f"Destinations called ({s['callouts']} callouts):")
    for d in doc["destinations"]:
        provider = d["provider"] or ("provider unknown" if d["verdict"] == "unknown" else "not an LLM provider")
        seat = f"{provider}, seat {d['jurisdiction']}, region {d['region']}"
        shown = d["explained_by"][:MAX_EXPLAINED]
        more = len(d["explained_by"]) - len(shown)
        why = "explained by " + ", ".join(shown) + (f" and {more} more" if more else "") if d["explained_by"] else \
            "NOT EXPLAINED by the project" if doc["drift"]["checked"] else "not checked (no project)"
        out.append(f"  {_t(d['target'])}: {d['calls']} calls, {d['request_bytes']} bytes sent, "
                   f"{d['response_bytes']} received, {d['first_seen'][:10]} .. {d['last_seen'][:10]}; "
                   f"{d['verdict']} ({seat})")
        out.append(f"      {_t(why)}")
    drift = doc["drift"]
    if drift["checked"]:
        out += ["", "Drift:"]
        out += [f"  called, not in the project: {_t(t)}" for t in drift["unexplained"]]
        out += [f"  dormant (never called): {_t(x['destination'])} ({', '.join(x['channels'])})"
                for x in drift["dormant"]]
        out += [f"  not checked (endpoint unknown statically): {x['channel']}" for x in drift["unchecked"]]
        if drift["not_observable"]:
            out.append(f"  {len(drift['not_observable'])} channels the logs cannot show (browser requests, "
                       "prompt templates, Flow and External Service actions, outbound messages)")
        if not (drift["unexplained"] or drift["dormant"]):
            out.append("  none")
    out += ["", f"API clients ({s['api_requests']} requests, {s['rows_read']} rows read):"]
    for c in doc["clients"]:
        where = "in the project" if c["in_project"] else "NOT in the project" if c["in_project"] is False else ""
        out.append(f"  {_t(client_label(c))}: {c['requests']} requests, {c['rows_read']} rows, "
                   f"{c['bytes_read']} bytes read; {c['ips_total']} client IPs"
                   + (f", {c['untrusted_requests']} requests from untrusted networks" if c["untrusted_requests"] else "")
                   + (f"; {where}" if where else ""))
    out += ["", "Findings:"]
    out += [f"  {f['level']}[{f['rule']}] {_t(f['message'])}" for f in doc["findings"]] or ["  none"]
    levels = s["findings"]
    out += ["", f"apexscan evidence: {sum(levels.values())} findings: {levels['error']} error, "
                f"{levels['warning']} warning, {levels['note']} note"]
    return "\n".join(out) + "\n"


def _t(text: Any) -> str:
    """One printable line (values come from the logs: a newline or ESC must not forge output)."""
    return " ".join("".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text)).split())


# --- HTML section ---------------------------------------------------------------------------------

EVIDENCE_CSS = """
.ev h3{margin:14px 0 4px}.ev table{table-layout:auto}
.ev .tl{display:block;margin:2px 0}.ev .tl rect{fill:#90a4ae}.ev .tl rect.hot{fill:#c62828}
.ev .tl rect.zero{fill:#eceff1}.ev .bad{color:#b71c1c;font-weight:600}.ev .num{text-align:right;white-space:nowrap}
"""
BAR_W, BAR_GAP, BAR_H = 8, 2, 28


def evidence_section(doc: Json) -> str:
    """The inventory page's "Runtime evidence" section (markup only; its CSS is EVIDENCE_CSS)."""
    s, w = doc["summary"], doc["window"]
    out = ['<section class="ev" id="evidence">', "<h2>Runtime evidence (Event Monitoring logs)</h2>",
           f"<p>{_h(w['first_day'])} to {_h(w['last_day'])} ({w['days']} days): {s['callouts']} callouts to "
           f"{s['destinations']} destinations, {s['api_requests']} API requests reading {s['rows_read']} rows, "
           f"{s['findings']['error']} errors, {s['findings']['warning']} warnings, {s['findings']['note']} notes.</p>"]
    out += ["<h3>Destinations actually called</h3>", "<table><thead><tr><th>Destination</th><th>Verdict</th>"
            "<th>Calls</th><th>Bytes sent</th><th>First / last seen</th><th>Explained by</th>"
            "<th>Calls per day</th></tr></thead><tbody>"]
    for d in doc["destinations"]:
        hot = {a["day"] for a in d["anomalies"]}
        explained = "<br>".join(f"<code>{_h(c)}</code>" for c in d["explained_by"]) or \
            ('<span class="bad">nothing in the project</span>' if doc["drift"]["checked"] else "—")
        out.append(f"<tr><td><code>{_h(d['target'])}</code>"
                   + (f"<br><span class=\"small\">{_h(d['host'])}</span>" if d["host"] and d["host"] != d["target"] else "")
                   + f"</td><td><span class=\"v v-{_h(d['verdict'])}\">{_h(d['verdict'])}</span> "
                   f"<span class=\"small\">{_h(d['provider'])} {_h(d['jurisdiction'])}/{_h(d['region'])}</span></td>"
                   f"<td class=\"num\">{d['calls']}</td><td class=\"num\">{d['request_bytes']}</td>"
                   f"<td class=\"small\">{_h(d['first_seen'][:10])}<br>{_h(d['last_seen'][:10])}</td>"
                   f"<td class=\"small\">{explained}</td>"
                   f"<td>{_bars([(t['day'], t['calls']) for t in d['timeline']], hot, 'calls')}</td></tr>")
    out.append("</tbody></table>")
    drift = doc["drift"]
    if drift["checked"]:
        items = [f"<li>Called, no code or metadata explains it: <code>{_h(t)}</code></li>" for t in drift["unexplained"]]
        items += [f"<li>Dormant, never called: <code>{_h(x['destination'])}</code> — "
                  + ", ".join(f"<code>{_h(c)}</code>" for c in x["channels"]) + "</li>" for x in drift["dormant"]]
        items += [f"<li>Not checked (endpoint unknown statically): <code>{_h(x['channel'])}</code></li>"
                  for x in drift["unchecked"]]
        out += ["<h3>Drift</h3>", "<ul>" + "".join(items) + "</ul>" if items else "<p>None.</p>"]
        if drift["not_observable"]:
            out.append('<p class="small muted">Not observable in the logs: '
                       + "; ".join(f"<code>{_h(x['channel'])}</code> ({_h(x['why'])})" for x in drift["not_observable"])
                       + ".</p>")
    out += ["<h3>API clients pulling data</h3>", "<table><thead><tr><th>Client</th><th>Requests</th>"
            "<th>Rows read</th><th>Bytes read</th><th>Networks</th><th>Objects</th><th>Export rows per day</th>"
            "</tr></thead><tbody>"]
    for c in doc["clients"]:
        hot = {a["day"] for a in c["anomalies"]}
        project = {True: "in the project", False: '<span class="bad">not in the project</span>', None: ""}[c["in_project"]]
        nets = f'<span class="bad">{c["untrusted_requests"]} requests from untrusted networks: ' \
               + ", ".join(_h(i["ip"]) for i in c["untrusted_ips"][:10]) + "</span>" if c["untrusted_requests"] else \
               f"{c['ips_total']} IPs" + ("" if c["networks"] is not None else " (no trusted networks in the policy)")
        objects = ", ".join(f'<span class="s-{_h(e["sensitivity"])}">{_h(e["entity"])}</span> {e["rows_read"]}'
                            for e in c["entities"] if e["rows_read"]) or "—"
        out.append(f"<tr><td>{_h(client_label(c))}<br><span class=\"small\">{project}</span></td>"
                   f"<td class=\"num\">{c['requests']}</td><td class=\"num\">{c['rows_read']}</td>"
                   f"<td class=\"num\">{c['bytes_read']}</td><td class=\"small\">{nets}</td>"
                   f"<td class=\"small\">{objects}</td>"
                   f"<td>{_bars([(t['day'], t['export_rows']) for t in c['timeline']], hot, 'export rows')}</td></tr>")
    out.append("</tbody></table>")
    out += ["<h3>Findings</h3>", "<ul>" + "".join(
        f"<li><strong>{_h(f['rule'])}</strong> <span class=\"small muted\">{_h(f['level'])}</span> {_h(f['message'])}</li>"
        for f in doc["findings"]) + "</ul>" if doc["findings"] else "<p>None.</p>"]
    if doc["diagnostics"]:
        out += ["<h3>Log files not fully read</h3>", "<ul>" + "".join(
            f"<li><code>{_h(d['path'])}{':' + str(d['line']) if d['line'] else ''}</code> {_h(d['message'])}</li>"
            for d in doc["diagnostics"]) + "</ul>"]
    out.append("</section>")
    return "\n".join(out)


def _bars(series: list[tuple[str, int]], hot: set[str], unit: str) -> str:
    """An inline SVG bar per day, scaled to the largest; anomalous days red, empty days pale."""
    top = max((v for _, v in series), default=0) or 1
    width = len(series) * (BAR_W + BAR_GAP)
    parts = [f'<svg class="tl" width="{width}" height="{BAR_H}" viewBox="0 0 {width} {BAR_H}" role="img" '
             f'aria-label="{_h(unit)} per day">']
    for i, (day, v) in enumerate(series):
        h = max(1, round(v / top * (BAR_H - 2))) if v else 1
        cls = "hot" if day in hot else "zero" if not v else ""
        attr = f' class="{cls}"' if cls else ""
        parts.append(f'<rect{attr} x="{i * (BAR_W + BAR_GAP)}" '
                     f'y="{BAR_H - h}" width="{BAR_W}" height="{h}"><title>{_h(day)}: {v} {_h(unit)}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def _h(text: Any) -> str:
    return escape("".join(ch for ch in str(text) if ch.isprintable() or ch == " "), quote=True)
