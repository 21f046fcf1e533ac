"""How the inventory's renderers name things: channel kinds, channels, destinations, findings.

Shared by the Markdown, CSV and HTML renderers and the picture, so that a channel or a
destination is called the same everywhere.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apexscan.pipeline.inventory import UNKNOWN

Json = Mapping[str, Any]

VERDICT_ORDER = ("foreign", "unknown", "sovereign", "not-llm", "in-org")
VERDICT_COLOR = {"foreign": "#c62828", "unknown": "#ef6c00", "sovereign": "#2e7d32", "not-llm": "#607d8b",
                 "in-org": "#1565c0"}
VERDICT_TEXT = {"foreign": "foreign", "unknown": "unknown", "sovereign": "sovereign", "not-llm": "not an LLM",
                "in-org": "in the org"}
SHORT_KINDS = {"named-credential": "Named Credential", "remote-site": "Remote Site", "csp-trusted-site": "CSP site",
               "external-service": "External Service", "connected-app": "Connected App",
               "outbound-message": "Outbound msg", "dataloader-extract": "Data Loader",
               "external-client-app": "External Client App", "einstein-settings": "Einstein settings",
               "mule-app": "Mule app", "heroku-connect": "Heroku Connect"}
KIND_TITLES = {
    "apex-callout": "Apex callout", "models-api": "Models API call", "flow-action": "Flow action",
    "lwc-request": "LWC request", "aura-request": "Aura component request", "prompt-template": "Prompt template",
    "named-credential": "Named Credential", "remote-site": "Remote Site Setting",
    "csp-trusted-site": "CSP Trusted Site", "external-service": "External Service",
    "connected-app": "Connected App (inbound)", "outbound-message": "Outbound message",
    "dataloader-extract": "Data Loader extract", "agent": "Agentforce agent",
    "external-client-app": "External Client App (inbound)", "einstein-settings": "Einstein generative AI settings",
    "mule-http-request": "Mule HTTP request", "mule-ai-connector": "Mule AI connector operation",
    "mule-app": "Mule app (reads from the org)",
    "python-request": "Python service request", "node-request": "Node.js service request",
    "heroku-connect": "Heroku Connect mapping",
}
SYSTEM_KINDS = {"salesforce-org": "Salesforce org", "mule-app": "Mule application", "service": "service"}
LEVELS = ("error", "warning", "note")


def kind_title(kind: str) -> str:
    """A channel kind as readers name it; a kind from a newer frontend is shown as it is written."""
    return KIND_TITLES.get(kind, kind.replace("-", " "))


def label(c: Json) -> str:
    """A channel as the picture and the finding list name it: metadata names say what they are
    (a Named Credential and a CSP Trusted Site are both called Mistral_EU in the sample)."""
    return f"{SHORT_KINDS[c['kind']]} {c['name']}" if c["kind"] in SHORT_KINDS else c["name"]


def dest_key(d: Json) -> str:
    return d.get("host") or d.get("url") or UNKNOWN


def dest_label(d: Json) -> str:
    """A destination as the picture names it: host, else URL, else why it is not known."""
    if d["host"]:
        return d["host"]
    if d["url"] and not d["url"].startswith("{?}"):
        return d["url"]
    return f"? {d['unknown_because'] or d['how'] or UNKNOWN}"


# Right-hand groups for destinations whose seat is not known, after the known jurisdictions.
UNKNOWN_GROUPS = {"foreign": "jurisdiction unknown", "unknown": "jurisdiction unknown",
                  "sovereign": "allowed by policy, seat unknown",
                  "not-llm": "not an LLM API, seat unknown", "in-org": "the org itself"}
DATALOADER_GROUP = "Data Loader files, databases"
GROUP_ORDER = ("jurisdiction unknown", "allowed by policy, seat unknown", "not an LLM API, seat unknown",
               DATALOADER_GROUP, "the org itself")


def dest_group(d: Json) -> str:
    if d["jurisdiction"] != UNKNOWN:
        return d["jurisdiction"]
    if "dataloader-process" in d["configured"]:
        return DATALOADER_GROUP
    return UNKNOWN_GROUPS.get(d["verdict"], GROUP_ORDER[0])


def group_rank(group: str) -> tuple:
    """Known jurisdictions first (alphabetically), then the groups of unknown seats in GROUP_ORDER."""
    return (group in GROUP_ORDER, GROUP_ORDER.index(group) if group in GROUP_ORDER else 0, group)


def rule_text(f: Json) -> str:
    return f"{f['rule']}{' (suppressed)' if f['suppressed'] else ''}"


def finding_key(f: Json) -> tuple:
    loc = f["location"]
    return f["rule"], loc["path"], loc["line"], loc["col"], f.get("destination", ""), f["suppressed"]


def finding_numbers(doc: Json) -> dict[tuple, int]:
    """Each finding once (a finding can be attached to several channels), numbered in table order."""
    numbers: dict[tuple, int] = {}
    for c in doc["channels"]:
        for f in c["findings"]:
            numbers.setdefault(finding_key(f), len(numbers) + 1)
    return numbers


def worst_level(c: Json) -> str:
    """The channel's most severe finding that is not suppressed: error, warning, note; "none"."""
    levels = {f["level"] for f in c["findings"] if not f["suppressed"]}
    return next((level for level in LEVELS if level in levels), "none")


def short_commit(repo: Json) -> str:
    """`3f2a1b0c4d (main)`, or why the commit is not known."""
    if not repo.get("commit"):
        return f"commit not known ({repo.get('unknown_because') or 'not read'})"
    return repo["commit"][:12] + (f" ({repo['branch']})" if repo.get("branch") else " (detached)")


def dirty_text(repo: Json) -> str:
    if not repo.get("commit"):
        return ""
    return {True: "work tree has changes", False: "work tree clean"}.get(repo.get("dirty"), "work tree state not checked")
