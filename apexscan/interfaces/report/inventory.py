"""The egress inventory as JSON, CSV (channels, findings) or Markdown (pull-request comments);
the HTML page is `apexscan.interfaces.report.inventory_html` (re-exported here).

Every renderer takes the document `apexscan.pipeline.inventory.build_inventory` (one org) or
`apexscan.pipeline.estate.merge` (an estate) returns, so they list the same channels in the same
order. Rendering is pure and deterministic: the same document gives the same text, byte for byte.
Every value from the scanned repository is hostile: Markdown escapes HTML and table syntax, CSV
neutralises cells a spreadsheet would run as a formula, HTML escapes everything.

JSON schema (`schema_version` 1). Compatible changes add keys; renaming or removing a key, or
changing what a value means, bumps the version. Every key is always present.

    {
      "schema_version": 1,
      "generator": "apexscan 0.1.0",
      "project": "fintech-org",                   # the project folder's name (never a full path);
                                                  # an estate: its systems' ids, comma-separated
      "record": {"scanned_at": "2025-03-31T12:00:00Z",  # UTC; "" until stamped
                 "scanned_at_source": "clock",     # clock, SOURCE_DATE_EPOCH or --timestamp
                 "apexscan_version": "0.1.0"},
      "policy": {"allowed_jurisdictions": ["EU", "EEA"], "allowed_regions": [...],
                 "allowed_hosts": [...], "residency_guards": [...],
                 "trusted_source": "",           # with --policy-ref: what the policy was read from,
                                                 # "origin/main (commit 3f2a1b0c4d):apexscan.toml"
                 "working_tree_changes": [],     # ... and how the working tree's differs from it
                 "file": "apexscan.toml",          # "" for the built-in defaults; an estate whose
                 "sha256": "…"},                   # systems differ: empty here, see `systems`
      "summary": {"channels": 51, "code_channels": 43, "metadata_channels": 8,
                  "channels_with_findings": 28, "channels_with_sensitive_data": 30,
                  "destinations": 10,                # distinct hosts (or URLs when no host is known)
                  "findings": {"error": 25, "warning": 11, "note": 3, "suppressed": 0},  # distinct findings
                  "by_kind": {...}, "by_verdict": {...}, "by_jurisdiction": {...},  # per destination entry
                  "by_destination": [{"destination": "api.openai.com", "verdict": "foreign",
                                      "provider": "OpenAI", "jurisdiction": "US", "region": "global",
                                      "llm": true, "channels": 38,          # channels that go there
                                      "sensitive_fields": 24,               # distinct sensitive fields
                                      "findings": 30}],                     # not suppressed
                  "groups": {"verdict": [...], "jurisdiction": [...], "provider": [...], "region": [...]}},
                      # each [{"value": "US", "worst_verdict": "foreign", "destinations": [keys],
                      #        "channels": 42, "sensitive_fields": 24, "findings": 34}], worst first
      "systems": [{"id": "fintech-org",            # unique in the document; channels' `system`
                   "kind": "salesforce-org",       # salesforce-org; mule-app, service (their frontends)
                   "name": "fintech-org",
                   "source": {"folder": "fintech-org",
                              "repository": {"top": "bank-repo", "path": "salesforce/fintech-org",
                                             "commit": "3f2a…", "branch": "main",  # "" = not known
                                             "dirty": null,            # true, false, null = not checked
                                             "unknown_because": "…"}},
                   "policy": {...},                # as `policy`, the one this system was scanned with
                   "inputs": [],                   # how data from other systems arrives: see
                                                   # apexscan.pipeline.estate.INPUT_KINDS
                   "channels": 68}],
      "links": [{"from_system": "fintech-org", "from_channel": "fintech-org/named-credential:Orders",
                 "to_system": "orders-api", "input": 0,       # index into the system's inputs
                 "kind": "http", "to_channels": [...],        # the receiving system's channels it feeds
                 "matched": "orders.bank.eu/api/orders is served by HTTP listener orders-listener"}],
      "channels": [                                  # code channels by file and line, then metadata
        {
          "id": "apex-callout:LlmClient.complete:Http.send",  # stable across edits that move lines;
                                                   # "#2", "#3" for further sinks of one function;
                                                   # "<system>/..." when there are several systems
          "system": "fintech-org",                 # the id of the system it belongs to
          "kind": "apex-callout",                  # apex-callout, models-api, flow-action, lwc-request,
                                                   # aura-request, prompt-template, agent (what an
                                                   # Agentforce action hands the agent's model, or
                                                   # an agent run from Apex), python-request,
                                                   # node-request (services) | named-credential,
                                                   # remote-site, csp-trusted-site, external-service,
                                                   # connected-app and external-client-app (inbound:
                                                   # an outside client pulls data), outbound-message,
                                                   # dataloader-extract (a Data Loader process that
                                                   # exports records), einstein-settings (where the
                                                   # Salesforce-hosted models may run), heroku-connect
                                                   # (an object a Heroku Connect mapping copies into
                                                   # Postgres); Mule apps: mule-http-request,
                                                   # mule-ai-connector (in code) | mule-app (the app
                                                   # as a whole: the data it reads, its connections,
                                                   # deployment region and org channels in `details`)
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
          "details": {},                           # kind-specific: scopes, directives, guards, ...
          "no_finding_because": ""                 # "" with a finding; else why not, in one phrase
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

import csv
import io
from collections.abc import Mapping
from html import escape
from typing import Any

from apexscan.interfaces.report import dumps_json
from apexscan.interfaces.report.inventory_html import render_inventory_html  # noqa: F401  (re-exported)
from apexscan.interfaces.report.inventory_labels import (
    LEVELS,
    VERDICT_TEXT,
    dest_key,
    dirty_text,
    finding_key,
    kind_title,
    rule_text,
    short_commit,
    worst_level,
)
from apexscan.interfaces.report.visible import visible, visible_line
from apexscan.pipeline.inventory import METADATA_KINDS, UNKNOWN

Json = Mapping[str, Any]


def render_inventory_json(doc: Json) -> str:
    return dumps_json(doc, indent=2) + "\n"


# --- Markdown -----------------------------------------------------------------------------------

MAX_MARKDOWN = 60_000  # characters: a GitHub pull-request comment holds 65,536
ROOM = 600  # kept free for the notes saying what was left out


def render_inventory_markdown(doc: Json, *, changes_only: bool = False, artifact: str = "",
                              limit: int = MAX_MARKDOWN) -> str:
    """The record line, the summary, the changes since the base (with --compare) and the channel
    tables; `changes_only` leaves out the summary tables and the channels. Never longer than
    `limit` characters: what does not fit is counted and left out, with a pointer to `artifact`
    (the full inventory's URL or name)."""
    s = doc["summary"]
    levels = s.get("findings", {})
    head = [f"# Egress inventory: {_md(doc['project'])}", "", _md_record(doc), "",
            (f"**{s['channels']} channels** ({s['code_channels']} in code, {s['metadata_channels']} in metadata) to "
             f"{s['destinations']} destinations; **{sum(levels.get(k, 0) for k in LEVELS)} findings** "
             f"({levels.get('error', 0)} errors, {levels.get('warning', 0)} warnings, {levels.get('note', 0)} notes) "
             f"on {s['channels_with_findings']} channels; {s['channels_with_sensitive_data']} channels carry "
             "sensitive data."), ""]
    if doc["policy"].get("trusted_source"):
        head += [f"Policy read from {_md(doc['policy']['trusted_source'])}."
                 + (" **The working tree's policy differs (APX-SCAN-002):** "
                    + _md("; ".join(doc["policy"]["working_tree_changes"])) + "."
                    if doc["policy"].get("working_tree_changes") else ""), ""]
    blocks: list[tuple[list[str], list[str], str]] = []  # (heading lines, item lines, what the items are)
    if not changes_only:
        rows = [f"| {_md(VERDICT_TEXT.get(g['value'], g['value']))} | {len(g['destinations'])} | {g['channels']} | "
                f"{g['sensitive_fields']} | {g['findings']} |" for g in s.get("groups", {}).get("verdict", [])]
        blocks.append((["| Verdict | Destinations | Channels | Sensitive fields | Findings |", "|---|--:|--:|--:|--:|"],
                       rows, "verdicts"))
        rows = [f"| {_md(g['value'])} | {_md(VERDICT_TEXT.get(g['worst_verdict'], g['worst_verdict']))} | "
                f"{len(g['destinations'])} | {g['channels']} | {g['sensitive_fields']} | {g['findings']} |"
                for g in s.get("groups", {}).get("jurisdiction", [])]
        blocks.append((["", "| Seat | Worst verdict | Destinations | Channels | Sensitive fields | Findings |",
                        "|---|---|--:|--:|--:|--:|"], rows, "jurisdictions"))
    if doc["comparison"]:
        blocks.append(_md_comparison(doc["comparison"]))
    elif changes_only:
        blocks.append((["", "No base to compare with (give --compare)."], [], ""))
    if not changes_only:
        for title, metadata in (("Channels in code", False), ("Channels in metadata", True)):
            channels = [c for c in doc["channels"] if (c["kind"] in METADATA_KINDS) == metadata]
            if channels:
                blocks.append((["", f"## {title}", "",
                                "| Channel | Destination | Seat / region | Verdict | Data | Entry points | Findings |",
                                "|---|---|---|---|---|---|---|"], [_md_row(c) for c in channels], "channels"))
    pointer = (f"the full inventory is at {_md_link(artifact)}" if artifact else
               "run `apexscan inventory --format html` for the full inventory")
    lines = list(head)
    used = sum(len(x) + 1 for x in lines)
    left_out: dict[str, int] = {}
    for heading, items, noun in blocks:
        need = sum(len(x) + 1 for x in heading)
        if used + need + ROOM > limit:
            if items:
                left_out[noun] = left_out.get(noun, 0) + len(items)
            continue
        lines += heading
        used += need
        for n, item in enumerate(items):
            if used + len(item) + 1 + ROOM > limit:
                left_out[noun] = left_out.get(noun, 0) + len(items) - n
                lines.append(f"| … {len(items) - n} more {noun} not shown |")
                used += 40
                break
            lines.append(item)
            used += len(item) + 1
    if left_out:
        lines += ["", f"_Cut to stay under {limit:,} characters: "
                  + ", ".join(f"{n} {noun}" for noun, n in left_out.items()) + f" not shown; {pointer}._"]
    elif changes_only and artifact:
        lines += ["", f"_Only the changes are shown; {pointer}._"]
    # every line once more: a value that did not go through _md cannot reorder or hide text either
    return "\n".join(visible(line, markup=True) for line in lines).rstrip("\n") + "\n"


def _md_record(doc: Json) -> str:
    rec = doc.get("record", {})
    parts = [f"Scanned {rec['scanned_at']} UTC" if rec.get("scanned_at") else "Scan time not recorded"]
    systems = doc.get("systems", [])
    for system in systems[:5]:
        repo = system["source"].get("repository", {})
        where = f"{system['id']}: " if len(systems) > 1 else ""
        parts.append(f"{where}commit {short_commit(repo)}" + (f", {dirty_text(repo)}" if dirty_text(repo) else ""))
    if len(systems) > 5:
        parts.append(f"and {len(systems) - 5} more systems")
    policy = doc["policy"]
    parts.append(f"policy {policy['file']} (SHA-256 {policy['sha256'][:16]}…)" if policy.get("file") else
                 "policy: built-in defaults" if len(systems) <= 1 or policy.get("allowed_jurisdictions") else
                 "a policy per system")
    if policy.get("allowed_jurisdictions") or len(systems) <= 1:
        parts.append(f"allowed jurisdictions {', '.join(policy['allowed_jurisdictions']) or 'none'}")
    parts.append(f"apexscan {rec['apexscan_version']}" if rec.get("apexscan_version") else doc["generator"])
    return _md(" · ".join(parts))


def _md_row(c: Json) -> str:
    dests = c["destinations"]
    head = (f"`{_code(c['name'])}` ({_md(kind_title(c['kind']))})<br>{_md(c['location']['path'])}:{c['location']['line']}"
            + (" — guarded" if c["guarded"] else ""))
    where = "<br>".join(_md(dest_key(d)) + (f" ({_md(d['provider'])})" if d["provider"] else "") for d in dests) or "—"
    seat = "<br>".join(f"{_md(d['jurisdiction'])} / {_md(d['region'])}" for d in dests) or "—"
    verdict = "<br>".join(_md(VERDICT_TEXT.get(d["verdict"], d["verdict"])) for d in dests) or "—"
    entries = _md(", ".join(e["name"] for e in c["entry_points"][:6])) + (
        f" and {len(c['entry_points']) - 6} more" if len(c["entry_points"]) > 6 else "") or "—"
    findings = _md(", ".join(rule_text(f) for f in c["findings"])) or \
        f"none ({_md(c.get('no_finding_because', ''))})"
    return "| " + " | ".join([head, where, seat, verdict, _md_fields(c), entries, findings]) + " |"


def _md_comparison(cmp: Json) -> tuple[list[str], list[str], str]:
    items = [f"- **New {_md(p['text'])}** ({_md(p['verdict'] or 'unknown')}) via "
             f"{', '.join(f'`{_code(c)}`' for c in p['channels'])}" for p in cmp["new_paths"]]
    items += [f"- Removed {_md(p['text'])}" for p in cmp["removed_paths"]]
    items += [f"- New channel `{_code(c['id'])}`" for c in cmp["new_channels"]]
    items += [f"- Removed channel `{_code(c['id'])}`" for c in cmp["removed_channels"]]
    items += [f"- Changed `{_code(c['id'])}`: {_md('; '.join(c['changes']))}" for c in cmp["changed_channels"]]
    heading = ["", f"## Changes since {_md(cmp.get('base') or 'the base inventory')}", ""]
    return (heading + (["No channel or path changed."] if not items else []), items, "changes")


def _md_fields(c: Json) -> str:
    fields = c["data"]["fields"]
    if not c["data"]["traced"]:
        return "not traced (too much of the project reaches it)"
    if not fields:
        return "—"
    shown = [f"**{_md(f['field'])}**" if f["sensitivity"] == "sensitive" else _md(f["field"]) for f in fields[:8]]
    more = f" and {len(fields) - 8} more" if len(fields) > 8 else ""
    return ", ".join(shown) + more


def _md(text: Any) -> str:
    """Table-cell text: no line breaks; HTML, pipes and the characters Markdown would read as code,
    emphasis or a link or image (`![x](https://tracker/)` would load when the comment is read)
    escaped, and invisible and bidirectional characters shown as `<U+XXXX>`: values come from the
    scanned project. Underscores stay: GitHub reads none inside words."""
    out = " ".join(escape(visible_line(str(text)), quote=False).split())
    for ch in "\\`*[]|":
        out = out.replace(ch, "\\" + ch)
    return out


def _code(text: Any) -> str:
    """Text inside `code`, which shows it literally: backticks cannot be escaped there, so they
    become quotes; pipes are escaped for the table."""
    return " ".join(str(text).replace("`", "'").replace("|", "\\|").split())


def _md_link(url: str) -> str:
    text = " ".join(url.split())
    return f"<{text}>" if text.startswith(("https://", "http://")) and not any(c in text for c in "<> ") else _md(text)


# --- CSV ----------------------------------------------------------------------------------------
#
# One row per channel and destination (a channel without a destination has one row), and one row
# per finding. A cell that starts with = + - @, a tab or a carriage return (or their full-width
# forms) is what spreadsheets evaluate as a formula: it gets a leading apostrophe, which they
# show as text (OWASP, "CSV Injection"). Every cell is quoted; line breaks become spaces.

CHANNEL_COLUMNS = ("system", "channel", "kind", "name", "path", "line", "guarded", "destination", "provider",
                   "jurisdiction", "region", "verdict", "configured", "sensitive_fields", "other_fields",
                   "objects", "traced", "entry_points", "findings", "worst_level", "no_finding_because")
FINDING_COLUMNS = ("system", "number", "rule", "level", "suppressed", "channel", "destination", "fields",
                   "path", "line", "col", "message", "paths")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def render_channels_csv(doc: Json) -> str:
    rows = []
    for c in doc["channels"]:
        fields = c["data"]["fields"]
        common = {
            "system": c.get("system", ""), "channel": c["id"], "kind": c["kind"], "name": c["name"],
            "path": c["location"]["path"], "line": c["location"]["line"], "guarded": _yes(c["guarded"]),
            "sensitive_fields": "; ".join(f["field"] for f in fields if f["sensitivity"] == "sensitive"),
            "other_fields": "; ".join(f["field"] for f in fields if f["sensitivity"] != "sensitive"),
            "objects": "; ".join(c["data"]["objects"]), "traced": _yes(c["data"]["traced"]),
            "entry_points": "; ".join(e["name"] for e in c["entry_points"]) or "; ".join(c["used_by"]),
            "findings": "; ".join(rule_text(f) for f in c["findings"]), "worst_level": worst_level(c),
            "no_finding_because": c.get("no_finding_because", ""),
        }
        for d in c["destinations"] or [None]:
            rows.append({**common, **({
                "destination": dest_key(d), "provider": d["provider"], "jurisdiction": d["jurisdiction"],
                "region": d["region"], "verdict": d["verdict"], "configured": "; ".join(d["configured"]),
            } if d else {"destination": "", "provider": "", "jurisdiction": UNKNOWN, "region": UNKNOWN,
                         "verdict": "", "configured": ""})})
    return _csv(CHANNEL_COLUMNS, rows)


def render_findings_csv(doc: Json) -> str:
    rows: dict[tuple, dict] = {}
    for c in doc["channels"]:
        for f in c["findings"]:
            key = finding_key(f)
            if key in rows:
                rows[key]["channel"] += f"; {c['id']}"
                continue
            rows[key] = {"system": c.get("system", ""), "number": len(rows) + 1, "rule": f["rule"], "level": f["level"],
                         "suppressed": _yes(f["suppressed"]), "channel": c["id"], "destination": f["destination"],
                         "fields": "; ".join(f["fields"]), "path": f["location"]["path"], "line": f["location"]["line"],
                         "col": f["location"]["col"], "message": f["message"], "paths": f.get("paths_total", 0)}
    return _csv(FINDING_COLUMNS, list(rows.values()))


def _csv(columns: tuple[str, ...], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row[k]) for k in columns])
    return out.getvalue()


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text, whatever the scanned project put in it."""
    if isinstance(value, bool):
        return _yes(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    risky = text.startswith(_FORMULA_START) or text.lstrip(" \n\x0b\x0c").startswith(_FORMULA_START)
    text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return "'" + text if risky else text


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
