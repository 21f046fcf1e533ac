"""One inventory for the whole estate: several systems' inventories joined into one document.

A *system* is something that holds data and sends it on: the Salesforce org of an SFDX project
today; a Mule application or an external service (Python, Node) when their frontends land. Each
frontend builds a document of the shape `build_inventory` returns for one org — its channels
(every channel has the key `system`), and one entry in `systems` — and `merge` joins such
documents:

* channel ids get their system as a prefix (`fintech-org/named-credential:OpenAI`) as soon as
  there is more than one system, so that two orgs' `named-credential:OpenAI` stay apart; the ids
  in `used_by` follow;
* a **link** joins a channel of one system to another system that receives what it sends, by
  the `inputs` that system declares (see `INPUT_KINDS`): a destination URL on an HTTP listener's
  host and path (org Named Credential -> Mule app), an inbound Connected App whose name or
  consumer key a client in the other system uses (Connected App -> external service), a
  platform event the other system subscribes to. A link names the channels of the receiving
  system that its input feeds, so a reader follows org channel -> Mule app -> destination;
* the summary is counted again over every channel, and each system keeps its own counts.

Pure and deterministic: the same documents, in any order, give the same estate document.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apexscan.frontends.metadata import identity_digest  # noqa: F401  (for frontends' glue)
from apexscan.pipeline.inventory import EMPTY_RECORD, NO_POLICY_FILE, SCHEMA_VERSION, no_finding_because, summarize
from apexscan.pipeline.project import UsageError, find_root

Json = dict[str, Any]

# What a system can declare in `inputs`: how data from another system arrives in it.
INPUT_KINDS = {
    # {"kind": "http", "host": "orders.eu.cloudhub.io", "path": "/api/orders", ...}: requests to that
    # host whose path starts with `path` (segment by segment; "" or "/" = any path) arrive here.
    "http": "HTTP listener",
    # {"kind": "salesforce-api", "connected_app": "Research_Copilot", "consumer_key_digest": "…"}:
    # a client that reads the org through the API as that Connected App (either key may be "").
    "salesforce-api": "Salesforce API client",
    # {"kind": "platform-event", "event": "Consent_Change__e"}: a subscriber to that event.
    "platform-event": "platform event subscriber",
}


def estate_targets(targets: Sequence[Path]) -> list[list[Path]]:
    """The command line's paths grouped by the system each belongs to.

    Folders are grouped by their project: the nearest folder at or above them with an
    `sfdx-project.json`, else the folder itself. So `org-repo/ mule-repo/` are two systems, while
    two folders of one SFDX project (`force-app/main/default/classes force-app/main/default/lwc`)
    stay one. When a single file is given, everything is one project, as `apexscan scan` reads it."""
    for t in targets:
        if not t.exists():
            raise UsageError(f"{t}: no such file or folder")
    if len(targets) < 2 or not all(t.is_dir() for t in targets):
        return [list(targets)]
    groups: dict[Path, list[Path]] = {}
    for t in targets:
        resolved = t.resolve()
        root = find_root(resolved)
        groups.setdefault(root if (root / "sfdx-project.json").is_file() else resolved, []).append(t)
    nested = [r for r in groups for other in groups if other != r and r.is_relative_to(other)]
    if nested:  # a folder inside another one given: one project, as before
        return [list(targets)]
    return list(groups.values())


def merge(docs: Sequence[Json], generator: str) -> Json:
    """The estate document of several systems' inventory documents (one system each, or more)."""
    if len(docs) == 1:
        doc = copy.deepcopy(docs[0])
        doc["links"] = links(doc["systems"], doc["channels"])
        _explain_links(doc["channels"], doc["links"])
        return doc
    systems: list[Json] = []
    channels: list[Json] = []
    taken: set[str] = set()
    for doc in sorted(docs, key=lambda d: [s["id"] for s in d["systems"]]):
        doc = copy.deepcopy(doc)
        renamed: dict[str, str] = {}
        for system in doc["systems"]:
            sid = _unique(system["id"], taken)
            renamed[system["id"]] = sid
            system["id"] = sid
            systems.append(system)
        several = len(doc["systems"]) > 1  # ids are already unique within the document
        ids: dict[str, str] = {}
        for c in doc["channels"]:
            system = renamed.get(c["system"], c["system"])
            ids[c["id"]] = c["id"] if several and c["system"] == system else f"{system}/{c['id']}"
            c["system"] = system
        for c in doc["channels"]:
            c["id"] = ids[c["id"]]
            c["used_by"] = [ids.get(u, u) for u in c["used_by"]]
            channels.append(c)
        for system in doc["systems"]:
            for entry in system.get("inputs", ()):
                entry["channels"] = [ids.get(i, i) for i in entry.get("channels", ())]
    found = links(systems, channels)
    _explain_links(channels, found)
    for system in systems:
        system["channels"] = sum(1 for c in channels if c["system"] == system["id"])
    policies = [s["policy"] for s in systems]
    one_policy = all(p == policies[0] for p in policies)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": generator,
        "project": ", ".join(s["id"] for s in systems),
        "record": dict(EMPTY_RECORD),
        # one policy for all, else none at the top: each system's is in `systems`
        "policy": dict(policies[0]) if one_policy else
        {**{k: [] for k in ("allowed_jurisdictions", "allowed_regions", "allowed_hosts", "residency_guards")},
         **NO_POLICY_FILE},
        "summary": summarize(channels),
        "systems": systems,
        "links": found,
        "channels": channels,
        "comparison": {},
    }


def _unique(name: str, taken: set[str]) -> str:
    n, candidate = 1, name
    while candidate in taken:
        n += 1
        candidate = f"{name}#{n}"
    taken.add(candidate)
    return candidate


def links(systems: Sequence[Json], channels: Sequence[Json]) -> list[Json]:
    """Every (channel, input of another system) pair that matches, as link records."""
    out: list[Json] = []
    for system in systems:
        for n, entry in enumerate(system.get("inputs", ())):
            for c in channels:
                if c["system"] == system["id"]:
                    continue
                matched = _matches(entry, c)
                if matched:
                    out.append({"from_system": c["system"], "from_channel": c["id"], "to_system": system["id"],
                                "input": n, "kind": entry["kind"], "to_channels": list(entry.get("channels", [])),
                                "matched": matched})
    return sorted(out, key=lambda x: (x["from_system"], x["from_channel"], x["to_system"], x["input"]))


def _matches(entry: Json, c: Json) -> str:
    """How channel `c` reaches the input `entry` ("" when it does not)."""
    what = entry.get("what") or INPUT_KINDS.get(entry.get("kind", ""), "input")
    if entry.get("kind") == "http":
        host = str(entry.get("host", "")).lower().rstrip(".")
        if not host:
            return ""  # a listener whose public host is not known is never joined on its path alone
        prefix = _segments(str(entry.get("path", "")))
        for d in c["destinations"]:
            if d["host"].lower().rstrip(".") != host:
                continue
            url = urlsplit(d["url"]) if d["url"].lower().startswith(("http://", "https://")) else None
            if url is None:
                return f"{d['host']} is the host of {what} (path not known statically)" if prefix else \
                    f"{d['host']} is the host of {what}"
            if _segments(url.path)[:len(prefix)] == prefix:
                return f"{d['host']}{url.path or '/'} is served by {what}"
        return ""
    if entry.get("kind") == "salesforce-api" and c["kind"] == "connected-app":
        digest = entry.get("consumer_key_digest", "")
        if digest and digest == c["details"].get("consumer_key_digest"):
            return f"{what} uses the consumer key of Connected App {c['name']}"
        name = str(entry.get("connected_app", "")).lower()
        if name and name == c["name"].lower():
            return f"{what} names Connected App {c['name']}"
        return ""
    if entry.get("kind") == "platform-event":
        event = str(entry.get("event", "")).lower()
        if event and event == str(c["details"].get("event", "")).lower():
            return f"{what} subscribes to {c['details']['event']}"
    return ""


def _segments(path: str) -> list[str]:
    return [p for p in path.rstrip("*").lower().split("/") if p]


def _explain_links(channels: list[Json], found: Sequence[Json]) -> None:
    """A channel without a finding whose data goes on into another system says so."""
    onward: dict[str, list[str]] = {}
    for link in found:
        onward.setdefault(link["from_channel"], []).append(link["to_system"])
    for c in channels:
        if c["id"] in onward and not any(not f["suppressed"] for f in c["findings"]):
            to = ", ".join(sorted(set(onward[c["id"]])))
            c["no_finding_because"] = f"{no_finding_because(c)}; the data goes on to {to} (see its channels)"
