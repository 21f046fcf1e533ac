"""The egress inventory: every channel through which data can leave the org, as one document.

Two halves:

* what the pipeline records when asked (`scan(..., inventory=True)`): a `SinkRecord` per sink —
  every sink, including those that go to a sovereign host, to a host that is not an LLM, or that a
  residency guard checks — with the `SinkReach` the rules see and a `SinkContext` (the sending
  function and the entry points that lead to it, from `sink_contexts`);
* `build_inventory`, which joins those records with the metadata channels (Named Credentials,
  Remote Sites, CSP Trusted Sites, External Services, Connected Apps, outbound messages) and the
  findings into the JSON-ready document that `apexscan.interfaces.report.inventory` renders, and `compare`,
  which diffs two such documents.

The document's schema is described in `apexscan.interfaces.report.inventory`. Everything above the last
section is pure and deterministic: the same project gives the same document, byte for byte once
rendered. The last section, `find_git_base` and `checked_out`, reads git for `--compare REF`.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apexscan.engine.model import Destination, FieldRef, Finding, Location, Sensitivity, Verdict
from apexscan.engine.taint import relevant_nodes
from apexscan.frontends.metadata import ProjectMetadata
from apexscan.pipeline.config_rules import dataloader_destination, dataloader_fields
from apexscan.pipeline.heroku import connect_channels
from apexscan.salesforce import hosts
from apexscan.salesforce.findings import SinkReach
from apexscan.salesforce.policy import Policy
from apexscan.salesforce.sensitivity import FieldCatalog

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
    "aura-component": "Aura component",
    "prompt-template": "prompt template",
    "aura-enabled": "@AuraEnabled method",
    "invocable": "@InvocableMethod",
    "remote-action": "@RemoteAction method",
    "rest": "Apex REST method",
    "schedule": "Schedulable job",
    "http-route": "HTTP route of a service (a FastAPI, Flask or Express handler)",
    "service-module": "module code of a service (runs when it starts, as a script or a worker)",
    "job": "Queueable or Batch job nobody in the project starts",
    "no-caller": "method nobody in the project calls (Visualforce, another package, anonymous Apex)",
}
_ANNOTATION_KINDS = (("auraenabled", "aura-enabled"), ("invocablemethod", "invocable"),
                     ("remoteaction", "remote-action"), ("httpget", "rest"), ("httppost", "rest"),
                     ("httpput", "rest"), ("httppatch", "rest"), ("httpdelete", "rest"),
                     ("route", "http-route"), ("module", "service-module"))
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
# Witness paths kept per finding: one finding can have hundreds (one per field that reaches the sink,
# 273 on a public agent framework), which `apexscan scan` lists in full; the inventory shows a sample.
MAX_FINDING_PATHS = 10


def affordable(graph, sinks: set[str]) -> tuple[set[str], set[str]]:
    """(sinks whose data the inventory follows, sinks it leaves untraced)."""
    traced, untraced = set(), set()
    for sink in sorted(sinks):
        (traced if len(relevant_nodes(graph, {sink})) <= MAX_TRACE_NODES else untraced).add(sink)
    return traced, untraced


def sink_contexts(program, apex: Sequence, fids: Iterable[str]) -> dict[str, SinkContext]:
    """For each sending function: its name, origin and the entry points that reach it, found by
    walking the resolved call graph backwards (Queueable/Batch starts count as calls).

    The walk keeps track of virtual dispatch: when `TriggerHandler.run` calls `afterInsert()` on
    itself and that resolves to `ContactTriggerHandler.afterInsert`, only callers of `run` whose
    receiver can be a ContactTriggerHandler lead there (`new ContactTriggerHandler().run()`, not
    `new PortfolioTriggerHandler().run()`)."""
    table = program.table
    callers: dict[str, set[tuple[str, str, str]]] = {}  # callee -> {(caller, edge kind, class)}
    by_simple: dict[str, list[str]] = {}
    for name in program.classes:
        by_simple.setdefault(name.rsplit(".", 1)[-1], []).append(name)
    methods: dict[tuple[str, str], list[str]] = {}
    for fn in program.functions.values():
        methods.setdefault((fn.cls, fn.name), []).append(fn.fid)
    for facts in apex:
        for c in facts.calls:
            caller = program.functions.get(c.caller)
            for fn in program.call_targets.get(c.site, ()):
                if c.kind == "call" and not c.receiver and not c.static_type and caller is not None:
                    edge = ("this", fn.cls)  # `afterInsert()`: the caller's own object
                elif c.kind == "call" and c.receiver_type and caller is not None:
                    edge = ("receiver", table.resolve(c.receiver_type, caller.cls) or "")
                else:
                    edge = ("plain", "")
                callers.setdefault(fn.fid, set()).add((c.caller, *edge))
            if c.kind == "async" and c.receiver_type:  # Database.executeBatch(job) -> job.execute
                simple = c.receiver_type.split("<", 1)[0].rsplit(".", 1)[-1]
                for cls in by_simple.get(simple, ()):
                    for fid in methods.get((cls, c.name), ()):
                        callers.setdefault(fid, set()).add((c.caller, "plain", ""))
            elif c.kind == "new" and c.static_type:
                # `System.enqueueJob(new Job(x))`: whoever builds a Queueable or Batch job is
                # taken to start it (the frontend records no async call when the job is built inline).
                for cls in by_simple.get(c.static_type.split("<", 1)[0].rsplit(".", 1)[-1], ()):
                    if _is_job(program.classes[cls]):
                        for name in ("execute", "start"):
                            for fid in methods.get((cls, name), ()):
                                callers.setdefault(fid, set()).add((c.caller, "plain", ""))

    lines: dict[str, frozenset[str]] = {}  # class -> itself, its superclasses and interfaces

    def supertypes(k: str) -> frozenset[str]:
        if k not in lines:
            found, todo = {k}, [k]
            while todo:
                info = program.classes.get(todo.pop())
                for parent in (info.superclass, *info.interfaces) if info else ():
                    named = table.resolve(parent, info.name) if parent else None
                    if named and named not in found:
                        found.add(named)
                        todo.append(named)
            lines[k] = frozenset(found)
        return lines[k]

    def related(a: str, b: str) -> bool:  # an object of static type a can be a b, or the other way round
        return not a or not b or a in supertypes(b) or b in supertypes(a)

    out: dict[str, SinkContext] = {}
    for fid in sorted(set(fids)):
        fn = program.functions.get(fid)
        cls = program.classes.get(fn.cls) if fn else None
        entries: set[EntryPoint] = set()
        # (function, the class its `this` must be an instance of, "" when free)
        seen, todo = {(fid, "")}, [(fid, "")]
        while todo and len(seen) < MAX_WALK:
            current, this = todo.pop()
            edges = callers.get(current, set())
            entry = _entry(program, current, any(caller != current for caller, _, _ in edges))
            if entry is not None:
                entries.add(entry)
            for caller, kind, named in sorted(edges):
                if caller == current:
                    continue
                if kind == "this":
                    if not related(this, named):
                        continue
                    caller_cls = program.functions[caller].cls
                    up = this or (named if named != caller_cls else "")
                elif kind == "receiver":
                    if this and not related(named, this):
                        continue
                    up = ""
                else:
                    up = ""
                if (caller, up) not in seen:
                    seen.add((caller, up))
                    todo.append((caller, up))
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
    if kind == "aura":  # the controller and the helper are one component: name it by its bundle folder
        loc = cls.location or fn.location
        return EntryPoint("aura-component", loc.path.rsplit("/", 2)[-2] if loc.path.count("/") else cls.display,
                          Location(loc.path.rsplit("/", 1)[0], 0, 0) if "/" in loc.path else loc)
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
    "aura": "aura-request",
    "flow": "flow-action",
    "template": "prompt-template",
    "python": "python-request",
    "node": "node-request",
}
METADATA_KINDS = ("named-credential", "remote-site", "csp-trusted-site", "external-service",
                  "connected-app", "outbound-message", "dataloader-extract", "heroku-connect")
_CONTEXT_KIND = {"NamedCredential": "named-credential", "RemoteSiteSetting": "remote-site",
                 "CspTrustedSite": "csp-trusted-site", "ExternalServiceRegistration": "external-service",
                 "ConnectedApp": "connected-app", "OutboundMessage": "outbound-message",
                 "DataLoaderProcess": "dataloader-extract", "HerokuConnect": "heroku-connect"}
UNKNOWN = "unknown"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def build_inventory(records: Sequence[SinkRecord], findings: Sequence[Finding], metadata: ProjectMetadata,
                    policy: Policy, levels: Mapping[str, str], *, project: str, generator: str) -> Json:
    """The inventory document (see `apexscan.interfaces.report.inventory` for the schema).

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
        scheme = _SCHEME.match(url.strip())
        if scheme and scheme.group(1).lower() not in ("http", "https"):
            # `myapp://oauth/callback`: an app on a device, not a web host ("oauth" is no host name)
            return Destination(url.strip(), "", "", "", "", Verdict.NOT_LLM, how,
                               note=f"{scheme.group(1)}:// URL: an app on the user's device, not a web host")
        dest, _ = hosts.classify_site(url, policy, registry)
        return dataclasses.replace(dest, how=how)

    def classify_all(url: str, how: str) -> list[Destination]:
        """For a wildcard host that is no LLM API of its own, the LLM hosts it covers."""
        _, covered = hosts.classify_site(url, policy, registry) if url.strip() else (None, ())
        return [dataclasses.replace(d, how=how) for d in covered] or [classify(url, how)]

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
                        classify_all(csp.url, f"CSP Trusted Site {csp.name}"),
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
    for job in sorted(metadata.dataloader_jobs.values(), key=lambda j: (j.process.lower(), j.location)):
        if not job.extract:
            continue  # insert, update, upsert, delete: data comes into the org
        dest = dataloader_destination(job, metadata, lambda url: hosts.classify_url(url, policy, registry))
        rows.append(row("dataloader-extract", job.process, job.location, [dest],
                        {"operation": job.operation, "object": job.soql_object or job.entity,
                         "data_access_type": job.data_access_type, "data_access_name": job.data_access_name,
                         "org_endpoint": job.endpoint},
                        dataloader_fields(job, catalog)))
    for name, location, dest, details, data in connect_channels(metadata, policy, registry, catalog):
        rows.append(row("heroku-connect", name, location, [dest], details, data))
    return rows


def _link_usage(config: list[Json], code: list[Json]) -> None:
    """Fill `used_by` of Named Credentials (by name), Remote Sites (Apex callouts to their host
    without a Named Credential), CSP Trusted Sites (component requests to their host) and External
    Services (Flow actions through their Named Credential, when no other service uses it: the Flow
    action's destination names the credential, not the registration)."""
    services_per_credential: dict[str, int] = {}
    for row in config:
        if row["kind"] == "external-service" and row["details"].get("named_credential"):
            credential = row["details"]["named_credential"].lower()
            services_per_credential[credential] = services_per_credential.get(credential, 0) + 1
    for row in config:
        kind, name = row["kind"], row["name"].lower()
        hosts_of_row = {d["host"] for d in row["destinations"] if d["host"]}
        credential = str(row["details"].get("named_credential", "")).lower() if kind == "external-service" else ""
        users = []
        for channel in code:
            for d in channel["destinations"]:
                how = d["how"].lower()
                if kind == "named-credential" and f"named credential {name}" in how \
                        or kind == "remote-site" and channel["kind"] == "apex-callout" and d["host"] in hosts_of_row \
                        and "named-credential" not in d["configured"] \
                        or kind == "csp-trusted-site" and channel["kind"] == "lwc-request" and d["host"] in hosts_of_row \
                        or credential and services_per_credential.get(credential) == 1 \
                        and channel["kind"] == "flow-action" and channel["api"].startswith("External Service action") \
                        and how == f"named credential {credential}":
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
                             ("data loader process", "dataloader-process"),
                             ("csp trusted site", "csp-trusted-site"), ("outbound message", "outbound-message"),
                             ("connected app", "connected-app"), ("external service", "external-service"),
                             ("custom label", "label"), ("custom metadata", "custom-metadata"),
                             ("constant", "constant"), ("relative url", "relative"),
                             ("environment variable", "environment-variable"),
                             ("heroku connect mapping", "heroku-connect"))
            if key in text]
    if text.startswith("model"):
        tags.insert(0, "model-name")
    return tags or ["literal"]


def _destination(d: Destination) -> Json:
    why = ""
    if d.verdict == Verdict.NOT_LLM and not d.host and d.note:
        why = d.note
    elif d.verdict == Verdict.NOT_LLM:
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
    out = {}
    for f in findings:
        destination = _dest_key(_destination(f.destination))
        out[(f.rule_id, f.location, destination, bool(f.suppression))] = {
            "rule": f.rule_id, "level": f.level or levels.get(f.rule_id, "warning"),
            "location": _location(f.location), "suppressed": bool(f.suppression),
            "message": f.message,
            "fields": [str(ref) for ref, _ in f.fields],
            "destination": destination,
            "paths": [[{**_location(step.location), "message": step.message} for step in path]
                      for path in f.paths[:MAX_FINDING_PATHS]],
            "paths_total": len(f.paths),
        }
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


def compare(base: Json, current: Json, base_name: str = "") -> Json:
    """New, removed and changed channels and (field, destination) paths of `current` against `base`.

    `base_name` says what the base is for the reader ("HEAD~1 (commit 3f2a1b0c)", "old.json")."""
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
        "base": base_name,
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


def empty_inventory(generator: str) -> Json:
    """The base of a comparison with a commit that has no project: every channel of the current one is new."""
    return {"schema_version": SCHEMA_VERSION, "generator": generator, "project": "", "policy": {},
            "summary": _summary([]), "channels": [], "comparison": {}}


def load_inventory(path) -> Json:
    """A base inventory written by `apexscan inventory --format json`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path}: cannot read the base inventory: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InventoryError(f"{path}: not an apexscan inventory: not JSON ({exc.msg} at line {exc.lineno}); "
                             "give a git ref, or a file written with `apexscan inventory --format json`") from exc
    return check_document(doc, str(path))


# --- the base of a comparison: a git ref --------------------------------------------------------
#
# `--compare REF` scans the project as it is in a commit. The files are read straight from git's
# object store (`ls-tree` and `cat-file`), never checked out: no hook runs, no filter or textconv
# driver chosen by the project's .gitattributes runs (`git archive` would run smudge filters, and
# leave out files marked export-ignore), nothing is written inside the repository, and only
# regular files at safe paths are written, into a temporary folder removed afterwards.


@dataclass(frozen=True, slots=True)
class GitBase:
    """The commit whose version of the project is the base of a comparison."""

    ref: str  # as the user wrote it: "origin/main", "HEAD~1", a tag
    commit: str  # the full hash it names
    top: Path  # the top folder of the git work tree
    prefix: str  # the project folder relative to `top`, POSIX ("." when the project is the top)

    @property
    def name(self) -> str:
        return f"{self.ref} (commit {self.commit[:10]})"


def find_git_base(ref: str, project_root: Path) -> GitBase:
    """The commit `ref` names in the work tree that holds `project_root`. Raises InventoryError
    (a one-line message) when git is missing, the project is not in a work tree, or no commit
    has that name."""
    root = project_root.resolve()
    if not ref.strip() or ref.startswith("-") or any(not ch.isprintable() for ch in ref):
        raise InventoryError(f"--compare {ref!r}: no such file, nor a git commit, branch or tag")
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").decode("utf-8", "surrogateescape").strip())
    except _NoGit as exc:
        raise InventoryError(f"--compare {ref}: no such file, and {exc} to read it as a git ref") from None
    except _GitFailed as exc:
        raise InventoryError(f"--compare {ref}: no such file, and {root} is not inside a git work tree"
                             f"{exc.detail}") from None
    try:
        commit = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except _GitFailed:
        raise InventoryError(f"--compare {ref}: no such file, nor a commit, branch or tag of {top}") from None
    try:
        prefix = root.relative_to(top.resolve()).as_posix()
    except ValueError:
        raise InventoryError(f"--compare {ref}: the project {root} is not inside the git work tree {top}") from None
    return GitBase(ref, commit.decode("ascii").strip(), top, prefix)


@contextmanager
def checked_out(base: GitBase) -> Iterator[Path | None]:
    """The project folder as it is in `base.commit`, written into a temporary folder that is removed
    when the block ends; None when that commit has no such folder."""
    spec = f"{base.commit}^{{tree}}" if base.prefix == "." else f"{base.commit}:{base.prefix}"
    try:
        present = _git(base.top, "cat-file", "-t", spec).strip() == b"tree"
    except _GitFailed:
        present = False
    if not present:
        yield None
        return
    try:
        listing = _git(base.top, "ls-tree", "-r", "-z", spec)
    except _GitFailed as exc:
        raise InventoryError(f"--compare {base.ref}: cannot list the commit's files{exc.detail}") from None
    entries = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, raw = entry.partition(b"\t")
        mode, kind, oid = meta.split()
        if kind != b"blob" or not mode.startswith(b"100"):
            continue  # symbolic links and submodules are not followed
        path = raw.decode("utf-8", "surrogateescape")
        parts = path.split("/")
        if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
            raise InventoryError(f"--compare {base.ref}: the commit holds an unsafe path {path!r}; not read")
        entries.append((parts, oid.decode("ascii")))
    try:
        blobs = _git(base.top, "cat-file", "--batch", stdin=b"".join(oid.encode() + b"\n" for _, oid in entries))
    except _GitFailed as exc:
        raise InventoryError(f"--compare {base.ref}: cannot read the commit's files{exc.detail}") from None
    with tempfile.TemporaryDirectory(prefix="apexscan-base-") as tmp:
        folder = Path(tmp) / (Path(base.prefix).name if base.prefix != "." else base.top.name)
        folder.mkdir()
        at = 0
        for parts, oid in entries:
            end = blobs.find(b"\n", at)
            header = blobs[at:end].split() if end >= 0 else []
            if len(header) != 3 or header[0].decode("ascii") != oid or header[1] != b"blob":
                raise InventoryError(f"--compare {base.ref}: git cat-file gave {blobs[at:end][:80]!r} for {oid}")
            size = int(header[2])
            target = folder.joinpath(*parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "xb") as out:
                    out.write(blobs[end + 1:end + 1 + size])
            except OSError as exc:
                raise InventoryError(f"--compare {base.ref}: cannot write {'/'.join(parts)} into {tmp}: "
                                     f"{exc.strerror or exc}") from None
            at = end + 1 + size + 1
        yield folder


class _GitFailed(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = f" (git: {detail})" if detail else ""


class _NoGit(_GitFailed):
    """git cannot be run at all."""


def _git(cwd: Path, *args: str, stdin: bytes = b"") -> bytes:
    env = dict(os.environ)
    # From a git hook, GIT_DIR and GIT_WORK_TREE may be relative to the hook's folder: make them
    # absolute before running git elsewhere.
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"):
        if env.get(key) and not os.path.isabs(env[key]):
            env[key] = os.path.abspath(env[key])
    env.pop("GIT_INDEX_FILE", None)  # nothing here reads the index
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise _NoGit("git was not found on PATH") from None
    except OSError as exc:
        raise _NoGit(f"git cannot be run ({exc.strerror or exc})") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _GitFailed(lines[0] if lines else "")
    return proc.stdout
