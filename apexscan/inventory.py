"""The egress inventory: every channel through which data can leave the org, as one document.

Two halves:

* what the pipeline records when asked (`scan(..., inventory=True)`): a `SinkRecord` per sink —
  every sink, including those that go to a sovereign host, to a host that is not an LLM, or that a
  residency guard checks — with the `SinkReach` the rules see and a `SinkContext` (the sending
  function and the entry points that lead to it, from `sink_contexts`);
* `build_inventory`, which joins those records with the metadata channels (Named Credentials,
  Remote Sites, CSP Trusted Sites, External Services, Connected Apps, outbound messages) and the
  findings into the JSON-ready document that `apexscan.report.inventory` renders, and `compare`,
  which diffs two such documents.

The document's schema is described in `apexscan.report.inventory`. Everything here is pure and
deterministic: the same project gives the same document, byte for byte once rendered.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import hosts
from .findings import SinkReach
from .frontends.metadata import ProjectMetadata
from .model import Destination, FieldRef, Finding, Location, Sensitivity, Verdict
from .policy import Policy
from .sensitivity import FieldCatalog
from .taint import relevant_nodes

SCHEMA_VERSION = 1
Json = dict[str, Any]

# --- what the pipeline records ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class EntryPoint:
    """Where a run that ends at a sink can start."""

    kind: str  # see ENTRY_KINDS
    name: str  # "PortfolioTrigger on Portfolio__c", "ClientBriefingController.getBriefing"
    location: Location | None = None


ENTRY_KINDS = {
    "trigger": "record trigger",
    "event-trigger": "platform event trigger",
    "flow": "flow",
    "component": "Lightning web component",
    "prompt-template": "prompt template",
    "aura-enabled": "@AuraEnabled method",
    "invocable": "@InvocableMethod",
    "remote-action": "@RemoteAction method",
    "rest": "Apex REST method",
    "schedule": "Schedulable job",
    "job": "Queueable or Batch job nobody in the project starts",
    "no-caller": "method nobody in the project calls (Visualforce, another package, anonymous Apex)",
}
_ANNOTATION_KINDS = (("auraenabled", "aura-enabled"), ("invocablemethod", "invocable"),
                     ("remoteaction", "remote-action"), ("httpget", "rest"), ("httppost", "rest"),
                     ("httpput", "rest"), ("httppatch", "rest"), ("httpdelete", "rest"))
_CLASS_KINDS = {"flow": "flow", "lwc": "component", "template": "prompt-template"}
_JOB_INTERFACES = ("queueable", "database.batchable", "batchable")
MAX_WALK = 5000  # functions visited backwards from one sink before giving up


@dataclass(frozen=True, slots=True)
class SinkContext:
    function: str  # the sending function as users name it ("LlmClient.complete", "flow Triage")
    origin: str  # the kind of code it is in: "class", "trigger", "flow", "lwc", "template"
    entry_points: tuple[EntryPoint, ...]


@dataclass(frozen=True, slots=True)
class SinkRecord:
    """One sink as the inventory sees it (every sink, not only those with a finding)."""

    reach: SinkReach  # location, API, every destination and all the data that reaches it
    kind: str  # the Sink's kind: "http", "model"
    context: SinkContext
    guarded: bool  # a residency guard from the policy checks the request before it is sent
    data_traced: bool = True  # False: too much of the project reaches this sink (see `affordable`)


# Graph nodes from which one sink can be reached, beyond which the inventory does not follow data to
# a sink that cannot yield a finding: on NPSP a shared HTTP utility is reached from 12,000 nodes and
# 234 queries, and that search takes over ten minutes and 10 GB. Sinks with findings are always traced.
MAX_TRACE_NODES = 2000


def affordable(graph, sinks: set[str]) -> tuple[set[str], set[str]]:
    """(sinks whose data the inventory follows, sinks it leaves untraced)."""
    traced, untraced = set(), set()
    for sink in sorted(sinks):
        (traced if len(relevant_nodes(graph, {sink})) <= MAX_TRACE_NODES else untraced).add(sink)
    return traced, untraced


def sink_contexts(program, apex: Sequence, fids: Iterable[str]) -> dict[str, SinkContext]:
    """For each sending function: its name, origin and the entry points that reach it, found by
    walking the resolved call graph backwards (Queueable/Batch starts count as calls)."""
    callers: dict[str, set[str]] = {}
    by_simple: dict[str, list[str]] = {}
    for name in program.classes:
        by_simple.setdefault(name.rsplit(".", 1)[-1], []).append(name)
    methods: dict[tuple[str, str], list[str]] = {}
    for fn in program.functions.values():
        methods.setdefault((fn.cls, fn.name), []).append(fn.fid)
    for facts in apex:
        for c in facts.calls:
            for fn in program.call_targets.get(c.site, ()):
                callers.setdefault(fn.fid, set()).add(c.caller)
            if c.kind == "async" and c.receiver_type:  # Database.executeBatch(job) -> job.execute
                simple = c.receiver_type.split("<", 1)[0].rsplit(".", 1)[-1]
                for cls in by_simple.get(simple, ()):
                    for fid in methods.get((cls, c.name), ()):
                        callers.setdefault(fid, set()).add(c.caller)
            elif c.kind == "new" and c.static_type:
                # `System.enqueueJob(new Job(x))`: whoever builds a Queueable or Batch job is
                # taken to start it (the frontend records no async call when the job is built inline).
                for cls in by_simple.get(c.static_type.split("<", 1)[0].rsplit(".", 1)[-1], ()):
                    if _is_job(program.classes[cls]):
                        for name in ("execute", "start"):
                            for fid in methods.get((cls, name), ()):
                                callers.setdefault(fid, set()).add(c.caller)
    out: dict[str, SinkContext] = {}
    for fid in sorted(set(fids)):
        fn = program.functions.get(fid)
        cls = program.classes.get(fn.cls) if fn else None
        entries: set[EntryPoint] = set()
        seen, todo = {fid}, [fid]
        while todo and len(seen) < MAX_WALK:
            current = todo.pop()
            up = sorted(callers.get(current, set()) - {current})
            entry = _entry(program, current, bool(up))
            if entry is not None:
                entries.add(entry)
            for nxt in up:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        out[fid] = SinkContext(fn.display if fn else fid, cls.kind if cls else "class",
                               tuple(sorted(entries, key=lambda e: (e.kind, e.name, e.location or Location("", 0, 0)))))
    return out


def _entry(program, fid: str, has_callers: bool) -> EntryPoint | None:
    fn = program.functions.get(fid)
    if fn is None:
        return None
    cls = program.classes.get(fn.cls)
    kind = cls.kind if cls else "class"
    if kind == "trigger":
        obj = cls.trigger_object
        return EntryPoint("event-trigger" if obj.lower().endswith("__e") else "trigger",
                          f"{cls.display} on {obj}" if obj else cls.display, cls.location or fn.location)
    if kind in _CLASS_KINDS:
        return EntryPoint(_CLASS_KINDS[kind], cls.display.removeprefix("flow ").removeprefix("prompt template "),
                          cls.location or fn.location)
    for annotation, entry_kind in _ANNOTATION_KINDS:
        if annotation in fn.annotations:
            return EntryPoint(entry_kind, fn.display, fn.location)
    interfaces = {i.lower() for i in (cls.interfaces if cls else ())}
    if fn.name == "execute" and ({"schedulable", "system.schedulable"} & interfaces):
        return EntryPoint("schedule", cls.display, fn.location)
    if has_callers:
        return None
    if fn.name in ("execute", "start") and cls is not None and _is_job(cls):
        return EntryPoint("job", cls.display, fn.location)
    return EntryPoint("no-caller", fn.display, fn.location)


def _is_job(cls) -> bool:
    return any(i.lower().split("<", 1)[0] in _JOB_INTERFACES for i in cls.interfaces)


# --- the document -------------------------------------------------------------------------------

CODE_KINDS = {
    "lwc": "lwc-request",
    "flow": "flow-action",
    "template": "prompt-template",
}
METADATA_KINDS = ("named-credential", "remote-site", "csp-trusted-site", "external-service",
                  "connected-app", "outbound-message")
_CONTEXT_KIND = {"NamedCredential": "named-credential", "RemoteSiteSetting": "remote-site",
                 "CspTrustedSite": "csp-trusted-site", "ExternalServiceRegistration": "external-service",
                 "ConnectedApp": "connected-app", "OutboundMessage": "outbound-message"}
UNKNOWN = "unknown"


def build_inventory(records: Sequence[SinkRecord], findings: Sequence[Finding], metadata: ProjectMetadata,
                    policy: Policy, levels: Mapping[str, str], *, project: str, generator: str) -> Json:
    """The inventory document (see `apexscan.report.inventory` for the schema).

    `levels` maps a rule id to its default level; `project` is the name shown (the folder name,
    never an absolute path, so that the document does not depend on where it was made)."""
    registry = hosts.load_registry()
    catalog = FieldCatalog.build(metadata, policy.sensitive_fields, policy.non_sensitive_fields)
    code = _code_channels(records, findings, policy, levels)
    config = _metadata_channels(metadata, policy, registry, catalog, findings, levels)
    _link_usage(config, code)
    channels = code + config
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": generator,
        "project": project,
        "policy": {"allowed_jurisdictions": list(policy.allowed_jurisdictions),
                   "allowed_regions": list(policy.allowed_regions),
                   "allowed_hosts": list(policy.allowed_hosts),
                   "residency_guards": list(policy.residency_guards)},
        "summary": _summary(channels),
        "channels": channels,
        "comparison": {},
    }


def _code_channels(records: Sequence[SinkRecord], findings: Sequence[Finding], policy: Policy,
                   levels: Mapping[str, str]) -> list[Json]:
    by_location: dict[Location, list[Finding]] = {}
    hard_coded: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.rule_id == "APX-LLM-006":
            hard_coded.setdefault((f.destination.url, f.destination.how), []).append(f)
        elif f.rule_id.startswith("APX-LLM"):
            by_location.setdefault(f.location, []).append(f)
    rows: list[Json] = []
    ids: dict[str, int] = {}
    for rec in sorted(records, key=lambda r: (r.reach.location, r.reach.api)):
        reach, ctx = rec.reach, rec.context
        kind = CODE_KINDS.get(ctx.origin, "models-api" if rec.kind == "model" else "apex-callout")
        short = ctx.function.removeprefix("flow ").removeprefix("prompt template ")
        base = f"{kind}:{short}" if reach.api == ctx.function else f"{kind}:{short}:{reach.api}"
        ids[base] = ids.get(base, 0) + 1
        attached = [f for f in by_location.get(reach.location, ())]
        for d in reach.destinations:
            attached.extend(hard_coded.get((d.url, d.how), ()))
        rows.append({
            "id": base if ids[base] == 1 else f"{base}#{ids[base]}",
            "kind": kind,
            "name": ctx.function if reach.api == ctx.function else f"{ctx.function} ({reach.api})",
            "location": _location(reach.location),
            "api": reach.api,
            "guarded": rec.guarded,
            "destinations": [_destination(d) for d in reach.destinations],
            "data": _data(((d.field, d.klass, d.whole) for d in reach.data), rec.data_traced),
            "entry_points": [{"kind": e.kind, "name": e.name,
                              "location": _location(e.location) if e.location else {}}
                             for e in ctx.entry_points],
            "findings": _findings(attached, levels),
            "used_by": [],
            "details": {"guards": list(policy.residency_guards)} if rec.guarded else {},
        })
    return rows


def _metadata_channels(metadata: ProjectMetadata, policy: Policy, registry, catalog: FieldCatalog,
                       findings: Sequence[Finding], levels: Mapping[str, str]) -> list[Json]:
    def classify(url: str, how: str) -> Destination:
        if not url.strip():
            return Destination("", "", "", "", "", Verdict.UNKNOWN, f"unresolved: {how} has no URL in the metadata")
        dest = hosts.classify_url(url.replace("*", "wildcard", 1) if "://*." in url else url, policy, registry)
        if "://*." in url:
            dest = Destination(url.strip(), dest.host.replace("wildcard", "*", 1), dest.provider,
                               dest.jurisdiction, dest.region, dest.verdict, how, dest.evidence, dest.note)
        return Destination(dest.url, dest.host, dest.provider, dest.jurisdiction, dest.region, dest.verdict,
                           how, dest.evidence, dest.note)

    by_context: dict[str, list[Finding]] = {}
    for f in findings:
        context = dict(f.extra).get("context", "")
        head, _, name = context.partition(" ")
        if head in _CONTEXT_KIND:
            by_context.setdefault(f"{_CONTEXT_KIND[head]}:{name.lower()}", []).append(f)

    def row(kind: str, name: str, location: Location, dests: list[Destination], details: Json,
            data: Iterable = ()) -> Json:
        return {
            "id": f"{kind}:{name}", "kind": kind, "name": name, "location": _location(location), "api": "",
            "guarded": False, "destinations": [_destination(d) for d in dests], "data": _data(data),
            "entry_points": [], "findings": _findings(by_context.get(f"{kind}:{name.lower()}", []), levels),
            "used_by": [], "details": details,
        }

    rows: list[Json] = []
    for nc in _sorted(metadata.named_credentials.values()):
        rows.append(row("named-credential", nc.name, nc.location,
                        [classify(nc.url, f"Named Credential {nc.name}")],
                        {"external_credential": nc.external_credential}))
    for site in _sorted(metadata.remote_sites.values()):
        rows.append(row("remote-site", site.name, site.location,
                        [classify(site.url, f"Remote Site Setting {site.name}")], {"active": site.active}))
    for csp in _sorted(metadata.csp_trusted_sites.values()):
        rows.append(row("csp-trusted-site", csp.name, csp.location,
                        [classify(csp.url, f"CSP Trusted Site {csp.name}")],
                        {"active": csp.active, "context": csp.context, "directives": list(csp.directives)}))
    for service in _sorted(metadata.external_services.values()):
        nc = metadata.named_credential(service.named_credential) if service.named_credential else None
        if nc is not None and nc.url.strip():
            dests = [classify(nc.url, f"External Service {service.name} via Named Credential {nc.name}")]
        else:
            dests = [classify(s, f"External Service {service.name} schema server") for s in service.servers] or \
                [classify("", f"External Service {service.name}")]
        rows.append(row("external-service", service.name, service.location, dests,
                        {"named_credential": service.named_credential, "provider_type": service.provider_type,
                         "operations": list(service.operations)}))
    for app in _sorted(metadata.connected_apps.values()):
        # Inbound: an outside client pulls data through the API; its callback hosts say who it is.
        dests = [classify(u, f"Connected App {app.name} callback URL") for u in app.callback_urls]
        rows.append(row("connected-app", app.name, app.location, dests,
                        {"direction": "inbound", "scopes": list(app.scopes),
                         "ip_relaxation": app.ip_relaxation, "client_credentials": app.client_credentials}))
    for msg in sorted(metadata.outbound_messages.values(), key=lambda m: (m.object.lower(), m.name.lower())):
        name = f"{msg.object}.{msg.name}"
        refs = _unique(FieldRef(msg.object, f.name) for f in msg.fields)
        rows.append(row("outbound-message", name, msg.location, [classify(msg.url, f"outbound message {name}")],
                        {"include_session_id": msg.include_session_id},
                        ((ref, catalog.classify(ref), False) for ref in refs)))
    return rows


def _link_usage(config: list[Json], code: list[Json]) -> None:
    """Fill `used_by` of Named Credentials (by name), Remote Sites and CSP Trusted Sites (by host)."""
    for row in config:
        kind, name = row["kind"], row["name"].lower()
        hosts_of_row = {d["host"] for d in row["destinations"] if d["host"]}
        users = []
        for channel in code:
            for d in channel["destinations"]:
                if kind == "named-credential" and f"named credential {name}" in d["how"].lower() \
                        or kind == "remote-site" and channel["kind"] == "apex-callout" and d["host"] in hosts_of_row \
                        or kind == "csp-trusted-site" and channel["kind"] == "lwc-request" and d["host"] in hosts_of_row:
                    users.append(channel["id"])
                    break
        row["used_by"] = sorted(set(users))
        if users and not row["data"]["fields"]:  # what reaches the credential or site through its users
            by_id = {c["id"]: c for c in code}
            fields: dict[str, Json] = {}
            for f in (f for u in row["used_by"] for f in by_id[u]["data"]["fields"]):
                merged = fields.setdefault(f["field"], dict(f))
                merged["whole_record"] = merged["whole_record"] or f["whole_record"]
            row["data"] = _data_of(list(fields.values()), all(by_id[u]["data"]["traced"] for u in row["used_by"]))


def _summary(channels: list[Json]) -> Json:
    verdicts: dict[str, int] = {}
    jurisdictions: dict[str, int] = {}
    kinds: dict[str, int] = {}
    hosts_seen: set[str] = set()
    for c in channels:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
        for d in c["destinations"]:
            verdicts[d["verdict"]] = verdicts.get(d["verdict"], 0) + 1
            jurisdictions[d["jurisdiction"]] = jurisdictions.get(d["jurisdiction"], 0) + 1
            hosts_seen.add(d["host"] or d["url"] or UNKNOWN)
    return {
        "channels": len(channels),
        "code_channels": sum(1 for c in channels if c["kind"] not in METADATA_KINDS),
        "metadata_channels": sum(1 for c in channels if c["kind"] in METADATA_KINDS),
        "channels_with_findings": sum(1 for c in channels if c["findings"]),
        "channels_with_sensitive_data": sum(1 for c in channels
                                            if any(f["sensitivity"] == "sensitive" for f in c["data"]["fields"])),
        "destinations": len(hosts_seen),
        "by_kind": dict(sorted(kinds.items())),
        "by_verdict": dict(sorted(verdicts.items())),
        "by_jurisdiction": dict(sorted(jurisdictions.items())),
    }


# --- rows ---------------------------------------------------------------------------------------


def configured(how: str) -> list[str]:
    """How an endpoint is configured, from the resolver's `how` ("Custom Metadata X; Named Credential Y")."""
    text = how.lower()
    if text.startswith("unresolved"):
        tags = ["unresolved"]
        tags += [t for key, t in (("named credential", "named-credential"), ("custom label", "label"),
                                  ("custom metadata", "custom-metadata"), ("custom setting", "custom-setting"))
                 if key in text]
        return tags
    tags = [t for key, t in (("named credential", "named-credential"), ("remote site setting", "remote-site"),
                             ("csp trusted site", "csp-trusted-site"), ("outbound message", "outbound-message"),
                             ("connected app", "connected-app"), ("external service", "external-service"),
                             ("custom label", "label"), ("custom metadata", "custom-metadata"),
                             ("constant", "constant"), ("relative url", "relative"))
            if key in text]
    if text.startswith("model"):
        tags.insert(0, "model-name")
    return tags or ["literal"]


def _destination(d: Destination) -> Json:
    why = ""
    if d.verdict == Verdict.NOT_LLM:
        why = "not an LLM API: the host registry records the seat and region of LLM providers only"
    elif d.verdict == Verdict.IN_ORG:
        why = "the org itself"
    elif not d.host and d.how.startswith("unresolved"):
        why = d.how.removeprefix("unresolved: ")
    elif not d.jurisdiction or not d.region:
        why = d.note or ("host allowed by the policy" if d.verdict == Verdict.SOVEREIGN else "not in the host registry")
    return {
        "host": d.host,
        "url": d.url,
        "provider": d.provider,
        "llm": bool(d.provider) or d.verdict == Verdict.UNKNOWN and bool(d.evidence),
        "jurisdiction": d.jurisdiction or UNKNOWN,
        "region": d.region or UNKNOWN,
        "unknown_because": why if not (d.jurisdiction and d.region) else "",
        "verdict": d.verdict.value,
        "configured": configured(d.how),
        "how": d.how,
        "evidence": list(d.evidence),
        "note": d.note,
    }


def _data(items: Iterable, traced: bool = True) -> Json:
    fields: dict[str, Json] = {}
    for ref, klass, whole in items:
        key = str(ref)
        entry = fields.get(key)
        if entry is None:
            fields[key] = {"field": key, "object": ref.object, "name": ref.field,
                           "sensitivity": klass.sensitivity.value, "category": klass.category,
                           "reason": klass.reason, "whole_record": bool(whole)}
        elif whole:
            entry["whole_record"] = True
    return _data_of(list(fields.values()), traced)


def _data_of(fields: list[Json], traced: bool = True) -> Json:
    rank = {Sensitivity.SENSITIVE.value: 0, Sensitivity.UNKNOWN.value: 1, Sensitivity.NON_SENSITIVE.value: 2}
    ordered = sorted(fields, key=lambda f: (rank[f["sensitivity"]], f["field"]))
    return {"categories": sorted({f["category"] for f in ordered if f["sensitivity"] != "non-sensitive"}),
            "objects": sorted({f["object"] for f in ordered}),
            "fields": ordered,
            "traced": traced,
            "untraced_because": "" if traced else
            f"more than {MAX_TRACE_NODES} places in the project reach this sink; data is followed only to "
            "sinks with findings there (run `apexscan scan` for those)"}


def _findings(findings: Iterable[Finding], levels: Mapping[str, str]) -> list[Json]:
    out = {(f.rule_id, f.location.path, f.location.line, bool(f.suppression)):
           {"rule": f.rule_id, "level": f.level or levels.get(f.rule_id, "warning"),
            "location": _location(f.location), "suppressed": bool(f.suppression)}
           for f in findings}
    return [out[k] for k in sorted(out)]


def _location(loc: Location) -> Json:
    return {"path": loc.path, "line": loc.line, "col": loc.col}


def _sorted(items: Iterable) -> list:
    return sorted(items, key=lambda i: (i.name.lower(), i.location))


def _unique(items: Iterable) -> list:
    seen: dict = {}
    for i in items:
        seen.setdefault(i, None)
    return list(seen)


# --- comparing two inventories ------------------------------------------------------------------


class InventoryError(Exception):
    """A base inventory file that cannot be used."""


def check_document(doc: Any, where: str) -> Json:
    if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION \
            or not isinstance(doc.get("channels"), list) \
            or not all(isinstance(c, dict) and isinstance(c.get("id"), str) for c in doc["channels"]):
        raise InventoryError(f"{where}: not an apexscan inventory (schema_version {SCHEMA_VERSION}); "
                             "write one with `apexscan inventory --format json`")
    return doc


def _paths(doc: Json) -> dict[tuple[str, str], list[str]]:
    """(field, destination) -> channel ids: every way a field leaves the org."""
    out: dict[tuple[str, str], list[str]] = {}
    for c in doc["channels"]:
        for f in c.get("data", {}).get("fields", []):
            for d in c.get("destinations", []):
                out.setdefault((f.get("field", ""), _dest_key(d)), []).append(c["id"])
    return out


def _dest_key(d: Json) -> str:
    return d.get("host") or d.get("url") or UNKNOWN


def _dest_text(d: Json) -> str:
    parts = [p for p in (d.get("provider", ""), d.get("jurisdiction", "") != UNKNOWN and d.get("jurisdiction", ""))
             if p]
    return f"{_dest_key(d)} ({', '.join(parts)})" if parts else _dest_key(d)


def compare(base: Json, current: Json) -> Json:
    """New, removed and changed channels and (field, destination) paths of `current` against `base`."""
    old = {c["id"]: c for c in base["channels"]}
    new = {c["id"]: c for c in current["channels"]}
    changed = []
    for cid in sorted(old.keys() & new.keys()):
        changes = _changes(old[cid], new[cid])
        if changes:
            changed.append({"id": cid, "changes": changes})
    dests = {_dest_key(d): d for c in current["channels"] for d in c["destinations"]}
    dests_old = {_dest_key(d): d for c in base["channels"] for d in c.get("destinations", [])}
    before, after = _paths(base), _paths(current)

    def path_rows(keys, table, names) -> list[Json]:
        rows = []
        for field, dest in sorted(keys):
            d = names.get(dest, {"host": dest})
            rows.append({"field": field, "destination": dest, "jurisdiction": d.get("jurisdiction", UNKNOWN),
                         "verdict": d.get("verdict", ""), "channels": sorted(set(table[(field, dest)])),
                         "text": f"path from {field} to {_dest_text(d)}"})
        return rows

    return {
        "base_generator": str(base.get("generator", "")),
        "new_channels": [{"id": cid, "kind": new[cid]["kind"]} for cid in sorted(new.keys() - old.keys())],
        "removed_channels": [{"id": cid, "kind": old[cid].get("kind", "")} for cid in sorted(old.keys() - new.keys())],
        "changed_channels": changed,
        "new_paths": path_rows(after.keys() - before.keys(), after, dests),
        "removed_paths": path_rows(before.keys() - after.keys(), before, dests_old),
    }


def _changes(old: Json, new: Json) -> list[str]:
    out = []
    od = {_dest_key(d): d for d in old.get("destinations", [])}
    nd = {_dest_key(d): d for d in new["destinations"]}
    out += [f"new destination {_dest_text(nd[k])}" for k in sorted(nd.keys() - od.keys())]
    out += [f"destination removed: {_dest_text(od[k])}" for k in sorted(od.keys() - nd.keys())]
    for k in sorted(od.keys() & nd.keys()):
        for attr in ("verdict", "jurisdiction", "region"):
            if od[k].get(attr) != nd[k].get(attr):
                out.append(f"{k}: {attr} {od[k].get(attr)} -> {nd[k].get(attr)}")
    of = {f["field"] for f in old.get("data", {}).get("fields", [])}
    nf = {f["field"] for f in new["data"]["fields"]}
    out += [f"field added: {f}" for f in sorted(nf - of)]
    out += [f"field removed: {f}" for f in sorted(of - nf)]
    orules = {(f["rule"], f.get("suppressed", False)) for f in old.get("findings", [])}
    nrules = {(f["rule"], f["suppressed"]) for f in new["findings"]}
    out += [f"finding added: {r}{' (suppressed)' if s else ''}" for r, s in sorted(nrules - orules)]
    out += [f"finding gone: {r}{' (suppressed)' if s else ''}" for r, s in sorted(orules - nrules)]
    if old.get("guarded") != new["guarded"]:
        out.append("now checked by a residency guard" if new["guarded"] else "no longer checked by a residency guard")
    oe = {e["name"] for e in old.get("entry_points", [])}
    ne = {e["name"] for e in new["entry_points"]}
    out += [f"new entry point: {e}" for e in sorted(ne - oe)]
    out += [f"entry point removed: {e}" for e in sorted(oe - ne)]
    return out


def load_inventory(path) -> Json:
    """A base inventory written by `apexscan inventory --format json`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path}: cannot read the base inventory: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InventoryError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    return check_document(doc, str(path))
