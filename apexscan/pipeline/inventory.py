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

The document's schema is described in `apexscan.interfaces.report.inventory` and published as a
JSON Schema (`schemas/inventory.schema.json`), which a base inventory read back by `load_inventory`
must satisfy. Everything but `load_inventory` is pure and deterministic: the same project gives the
same document, byte for byte once rendered. `basecommit` reads the base of `--compare-ref REF`
from git.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import re
import stat
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from apexscan.engine.model import Destination, FieldRef, Finding, Location, Sensitivity, Verdict
from apexscan.engine.taint import relevant_nodes
from apexscan.frontends.metadata import ProjectMetadata
from apexscan.pipeline.config_rules import (
    credential_destination,
    dataloader_destination,
    dataloader_fields,
    einstein_routing,
)
from apexscan.pipeline.heroku import connect_channels
from apexscan.pipeline.units import UnitRecord
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
    "agent": "Agentforce agent",
    "agent-action": "Agentforce action or topic that no agent in the project lists",
    "aura-enabled": "@AuraEnabled method",
    "invocable": "@InvocableMethod",
    "remote-action": "@RemoteAction method",
    "rest": "Apex REST method",
    "schedule": "Schedulable job",
    "http-route": "HTTP route of a service (a FastAPI, Flask or Express handler)",
    "service-module": "module code of a service (runs when it starts, as a script or a worker)",
    "job": "Queueable or Batch job nobody in the project starts",
    "mule-flow": "Mule flow with a source (a listener, a scheduler, a Salesforce event)",
    "no-caller": "method nobody in the project calls (Visualforce, another package, anonymous Apex)",
}
_ANNOTATION_KINDS = (("auraenabled", "aura-enabled"), ("invocablemethod", "invocable"),
                     ("remoteaction", "remote-action"), ("httpget", "rest"), ("httppost", "rest"),
                     ("httpput", "rest"), ("httppatch", "rest"), ("httpdelete", "rest"),
                     ("route", "http-route"), ("module", "service-module"))
_CLASS_KINDS = {"flow": "flow", "lwc": "component", "template": "prompt-template", "agent": "agent"}
# How a function's display name says what it is ("flow Triage"): left out where the kind says it.
_DISPLAY_PREFIXES = ("flow ", "prompt template ", "agent action ", "agent topic ", "agent ")
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
# Hard-coded-endpoint findings (APX-LLM-006) attached to one channel. They are matched to channels
# by URL; one literal used by thousands of calls in a file would otherwise attach every finding to
# every channel (23,000 of each in a 3 MB component: 23 GB). Past this many, a channel gets the
# ones nearest to it in its own file.
MAX_ENDPOINT_FINDINGS = 10


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
    if kind in ("agent-action", "agent-topic"):  # reached through the agents that list it
        return None if has_callers else EntryPoint("agent-action", _short_name(cls.display), cls.location or fn.location)
    if kind == "agent" and has_callers:  # a planner its bot's version starts: the bot is the entry point
        return None
    if kind in ("mule-flow", "mule-subflow", "mule-dataweave"):
        started = next((a.partition(":")[2] for a in fn.annotations if a.startswith("mule-source:")), "")
        if started:
            return EntryPoint("mule-flow", f"{cls.display} ({started})", cls.location or fn.location)
        return None if has_callers else EntryPoint("no-caller", fn.display, fn.location)
    if kind in _CLASS_KINDS:
        return EntryPoint(_CLASS_KINDS[kind], _short_name(cls.display), cls.location or fn.location)
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


def _short_name(display: str) -> str:
    return next((display[len(p):] for p in _DISPLAY_PREFIXES if display.startswith(p)), display)


def _is_job(cls) -> bool:
    return any(i.lower().split("<", 1)[0] in _JOB_INTERFACES for i in cls.interfaces)


# --- the document -------------------------------------------------------------------------------

CODE_KINDS = {
    "lwc": "lwc-request",
    "aura": "aura-request",
    "flow": "flow-action",
    "template": "prompt-template",
    "agent-action": "agent",
    "agent-topic": "agent",
    "agent": "agent",
    "python": "python-request",
    "node": "node-request",
}
SINK_KINDS = {"model": "models-api", "agent": "agent"}  # by the sink's kind, for sinks in Apex
# Mule apps' sinks: by the Sink's kind ("http": http:request; "llm", "model": an AI connector operation)
MULE_ORIGINS = ("mule-flow", "mule-subflow", "mule-dataweave")
MULE_KINDS = {"http": "mule-http-request", "llm": "mule-ai-connector", "model": "mule-ai-connector"}
METADATA_KINDS = ("named-credential", "remote-site", "csp-trusted-site", "external-service",
                  "connected-app", "external-client-app", "outbound-message", "dataloader-extract",
                  "einstein-settings", "mule-app", "heroku-connect")
_CONTEXT_KIND = {"NamedCredential": "named-credential", "RemoteSiteSetting": "remote-site",
                 "CspTrustedSite": "csp-trusted-site", "ExternalServiceRegistration": "external-service",
                 "ConnectedApp": "connected-app", "ExternalClientApp": "external-client-app",
                 "OutboundMessage": "outbound-message", "DataLoaderProcess": "dataloader-extract",
                 "EinsteinGptSettings": "einstein-settings", "HerokuConnect": "heroku-connect"}
UNKNOWN = "unknown"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def build_inventory(records: Sequence[SinkRecord], findings: Sequence[Finding], metadata: ProjectMetadata,
                    policy: Policy, levels: Mapping[str, str], *, project: str, generator: str,
                    units: Sequence[UnitRecord] = (), source: Json | None = None,
                    policy_file: Json | None = None) -> Json:
    """The inventory document of one org (see `apexscan.interfaces.report.inventory` for the schema).

    `levels` maps a rule id to its default level; `project` is the name shown (the folder name,
    never an absolute path, so that the document does not depend on where it was made) and the
    org's system id. `source` (where the project sits in its repository, its commit: see
    `apexscan.pipeline.record.source_of`) and `policy_file` (the policy file's name and SHA-256)
    go into the record header; the scan time is stamped by `apexscan.pipeline.record.stamp`."""
    registry = hosts.load_registry()
    catalog = FieldCatalog.build(metadata, policy.sensitive_fields, policy.non_sensitive_fields)
    code = _code_channels(records, findings, policy, levels)
    config = _metadata_channels(metadata, policy, registry, catalog, findings, levels)
    _link_usage(config, code)
    channels = code + config + _unit_channels(units, code, findings, levels)
    for c in channels:
        c["system"] = project
        c["no_finding_because"] = no_finding_because(c)
    policy_json = {"allowed_jurisdictions": list(policy.allowed_jurisdictions),
                   "allowed_regions": list(policy.allowed_regions),
                   "allowed_hosts": list(policy.allowed_hosts),
                   "residency_guards": list(policy.residency_guards),
                   "trusted_source": "", "working_tree_changes": [],  # filled with --policy-ref
                   **(policy_file or NO_POLICY_FILE)}
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": generator,
        "project": project,
        "record": dict(EMPTY_RECORD),
        "policy": policy_json,
        "summary": summarize(channels),
        "systems": [{"id": project, "kind": ORG_SYSTEM, "name": project, "source": source or dict(NO_SOURCE),
                     "policy": policy_json, "inputs": [], "channels": len(channels)}],
        "links": [],
        "channels": channels,
        "comparison": {},
    }


ORG_SYSTEM = "salesforce-org"
# Until `apexscan.pipeline.record.stamp` fills them: the scan time and the tool that made the record.
EMPTY_RECORD = {"scanned_at": "", "scanned_at_source": "", "apexscan_version": ""}
NO_POLICY_FILE = {"file": "", "sha256": ""}  # "": the built-in defaults, no file
NO_SOURCE = {"folder": "", "repository": {"top": "", "path": "", "commit": "", "branch": "", "dirty": None,
                                          "unknown_because": "not read"}}


def _code_channels(records: Sequence[SinkRecord], findings: Sequence[Finding], policy: Policy,
                   levels: Mapping[str, str]) -> list[Json]:
    by_location: dict[Location, list[Finding]] = {}
    hard_coded: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.rule_id == "APX-LLM-006":
            hard_coded.setdefault((f.destination.url, f.destination.how), []).append(f)
        elif f.rule_id.startswith("APX-LLM"):
            by_location.setdefault(f.location, []).append(f)
    for group in hard_coded.values():
        group.sort(key=lambda f: f.location)
    rows: list[Json] = []
    ids: dict[str, int] = {}
    for rec in sorted(records, key=lambda r: (r.reach.location, r.reach.api)):
        reach, ctx = rec.reach, rec.context
        kind = MULE_KINDS.get(rec.kind, "mule-http-request") if ctx.origin in MULE_ORIGINS else \
            CODE_KINDS.get(ctx.origin) or SINK_KINDS.get(rec.kind, "apex-callout")
        short = _short_name(ctx.function)
        base = f"{kind}:{short}" if reach.api == ctx.function else f"{kind}:{short}:{reach.api}"
        ids[base] = ids.get(base, 0) + 1
        attached = [f for f in by_location.get(reach.location, ())]
        for d in reach.destinations:
            attached.extend(_nearest(hard_coded.get((d.url, d.how), []), reach.location))
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
        dest = classify(nc.url, f"Named Credential {nc.name}")
        if nc.url.strip():
            dest = credential_destination(nc, metadata, lambda _url, d=dest: d, policy, registry)
        details = {"external_credential": nc.external_credential}
        if nc.network_connection:
            details["network_connection"] = nc.network_connection
        rows.append(row("named-credential", nc.name, nc.location, [dest], details))
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
                         "ip_relaxation": app.ip_relaxation, "client_credentials": app.client_credentials,
                         "consumer_key_digest": app.consumer_key_digest}))
    for app in _sorted(metadata.external_client_apps.values()):
        # Inbound too: the app's global OAuth settings list the clients' callback URLs.
        oauth = metadata.eca_oauth_settings.get(app.name.lower())
        policy_file = metadata.eca_oauth_policies.get(app.name.lower())
        global_settings = metadata.eca_global_oauth.get(app.name.lower())
        dests = [classify(u, f"External Client App {app.name} callback URL")
                 for u in (global_settings.callback_urls if global_settings is not None else ())]
        rows.append(row("external-client-app", app.name, app.location, dests,
                        {"direction": "inbound", "scopes": list(oauth.scopes) if oauth is not None else [],
                         "ip_relaxation": policy_file.ip_relaxation if policy_file is not None else "",
                         "trusted_ip_ranges": oauth.trusted_ip_ranges if oauth is not None else 0,
                         "client_credentials": bool(policy_file is not None and policy_file.client_credentials)}))
    routing = einstein_routing(metadata)
    if routing is not None:
        settings = routing.settings
        dests = [Destination(f"{p.provider} models (Salesforce-hosted)", "", f"{p.provider} via Salesforce", "US", "",
                             Verdict.UNKNOWN,
                             f"Einstein generative AI settings ({settings.location.path})", note=p.note)
                 for p in routing.enabled] if not routing.platform_off else []
        rows.append(row("einstein-settings", "EinsteinGpt", settings.location, dests,
                        {"providers_on": [p.provider for p in routing.enabled],
                         "providers_off": list(routing.disabled), "platform_off": routing.platform_off,
                         "region_fallback_disabled": routing.fallback_disabled,
                         "pii_masking": routing.pii_masking or UNKNOWN, "note": routing.note()}))
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


def _unit_channels(units: Sequence[UnitRecord], code: list[Json], findings: Sequence[Finding],
                   levels: Mapping[str, str]) -> list[Json]:
    """One row per Mule app: the Salesforce data it reads, where its connections lead, its
    deployment, the org channels it is tied to, and (`used_by`) its code channels. The client ids
    that tie it to a Connected App are compared as digests and never shown."""
    rows = []
    for record in units:
        unit = record.unit
        prefix = unit.scope + "/" if unit.scope else ""
        contexts = {f"MuleApp {unit.scope or unit.name}"}
        attached = [f for f in findings if dict(f.extra).get("context", "") in contexts
                    or dict(f.extra).get("context", "").startswith(f"MuleConfig {unit.scope}:")]
        dests: list[Destination] = []
        connections = []
        for config, where, used in record.connections:
            for d in where:
                if d not in dests:
                    dests.append(d)
            shown = ", ".join(d.host or d.url or UNKNOWN for d in where) or "no endpoint in the configuration"
            connections.append(f"{config.what}: {shown}" + ("" if used or config.role == "salesforce" else " (unused)"))
        region = unit.region or "not in the repository"
        used_by = sorted(c["id"] for c in code if c["location"]["path"].startswith(prefix)
                         and c["kind"] in MULE_KINDS.values())
        shown: list[Json] = []
        for d in [_destination(d) for d in dests] + [d for c in code if c["id"] in used_by for d in c["destinations"]]:
            if all(_dest_key(d) != _dest_key(o) for o in shown):  # where its operations send, too
                shown.append(d)
        rows.append({
            "id": f"mule-app:{unit.scope or unit.name}", "kind": "mule-app", "name": unit.name,
            "location": _location(unit.location), "api": "", "guarded": False,
            "destinations": shown,
            "data": _data(record.reads), "entry_points": [], "findings": _findings(attached, levels),
            "used_by": used_by,
            "details": {"folder": unit.scope, "deployment": unit.deployment or "not in the repository",
                        "deployment_region": region, "processing_region": record.region or UNKNOWN,
                        "connections": connections, "receives": list(record.receives),
                        "org_channels": [text for _, text in record.org_channels]},
        })
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


def summarize(channels: Sequence[Json]) -> Json:
    """The summary block: counts, and per destination and per group of destinations (verdict,
    jurisdiction, provider, region) how many channels reach them, how many distinct sensitive
    fields and how many findings (not suppressed) go there."""
    verdicts: dict[str, int] = {}
    jurisdictions: dict[str, int] = {}
    kinds: dict[str, int] = {}
    levels = {"error": 0, "warning": 0, "note": 0, "suppressed": 0}
    per_dest: dict[str, Json] = {}  # destination key -> its row, with sets while counting
    counted: set[tuple] = set()
    for c in channels:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
        sensitive = {f["field"] for f in c["data"]["fields"] if f["sensitivity"] == "sensitive"}
        for f in c["findings"]:
            key = (f["rule"], f["location"]["path"], f["location"]["line"], f["location"]["col"], f["destination"],
                   f["suppressed"])
            if key not in counted:
                counted.add(key)
                levels["suppressed" if f["suppressed"] else f["level"] if f["level"] in levels else "note"] += 1
        for d in c["destinations"]:
            verdicts[d["verdict"]] = verdicts.get(d["verdict"], 0) + 1
            jurisdictions[d["jurisdiction"]] = jurisdictions.get(d["jurisdiction"], 0) + 1
            key = _dest_key(d)
            row = per_dest.setdefault(key, {"destination": key, "verdict": d["verdict"], "provider": d["provider"],
                                            "jurisdiction": d["jurisdiction"], "region": d["region"],
                                            "llm": d["llm"], "channels": set(), "sensitive_fields": set(),
                                            "findings": set()})
            if VERDICT_RANK.get(d["verdict"], 9) < VERDICT_RANK.get(row["verdict"], 9):
                row["verdict"] = d["verdict"]
            row["llm"] = row["llm"] or d["llm"]
            row["channels"].add(c["id"])
            row["sensitive_fields"] |= sensitive
            row["findings"] |= {(f["rule"], f["location"]["path"], f["location"]["line"], f["location"]["col"])
                                for f in c["findings"] if not f["suppressed"]
                                and (f["destination"] == key or len(c["destinations"]) == 1)}
    rows = sorted(per_dest.values(), key=lambda r: (VERDICT_RANK.get(r["verdict"], 9), r["destination"]))
    groups = {}
    for by in ("verdict", "jurisdiction", "provider", "region"):
        grouped: dict[str, Json] = {}
        for r in rows:
            value = r[by] or (_NO_PROVIDER.get(r["verdict"], UNKNOWN) if by == "provider" else UNKNOWN)
            g = grouped.setdefault(value, {"value": value, "destinations": [], "channels": set(),
                                           "sensitive_fields": set(), "findings": set(), "worst": r["verdict"]})
            g["destinations"].append(r["destination"])
            g["channels"] |= r["channels"]
            g["sensitive_fields"] |= r["sensitive_fields"]
            g["findings"] |= r["findings"]
            if VERDICT_RANK.get(r["verdict"], 9) < VERDICT_RANK.get(g["worst"], 9):
                g["worst"] = r["verdict"]
        order = (lambda g: VERDICT_RANK.get(g["value"], 9)) if by == "verdict" else \
            (lambda g: (VERDICT_RANK.get(g["worst"], 9), -len(g["channels"]), g["value"]))
        groups[by] = [{"value": g["value"], "worst_verdict": g["worst"], "destinations": g["destinations"],
                       "channels": len(g["channels"]), "sensitive_fields": len(g["sensitive_fields"]),
                       "findings": len(g["findings"])} for g in sorted(grouped.values(), key=order)]
    return {
        "channels": len(channels),
        "code_channels": sum(1 for c in channels if c["kind"] not in METADATA_KINDS),
        "metadata_channels": sum(1 for c in channels if c["kind"] in METADATA_KINDS),
        "channels_with_findings": sum(1 for c in channels if c["findings"]),
        "channels_with_sensitive_data": sum(1 for c in channels
                                            if any(f["sensitivity"] == "sensitive" for f in c["data"]["fields"])),
        "destinations": len(per_dest),
        "findings": levels,
        "by_kind": dict(sorted(kinds.items())),
        "by_verdict": dict(sorted(verdicts.items())),
        "by_jurisdiction": dict(sorted(jurisdictions.items())),
        "by_destination": [{**r, "channels": len(r["channels"]), "sensitive_fields": len(r["sensitive_fields"]),
                            "findings": len(r["findings"])} for r in rows],
        "groups": groups,
    }


_NO_PROVIDER = {"not-llm": "not an LLM provider", "in-org": "the org itself",
                "sovereign": "allowed host (provider not in the registry)"}
VERDICT_RANK = {"foreign": 0, "unknown": 1, "sovereign": 2, "not-llm": 3, "in-org": 4}


def no_finding_because(c: Json) -> str:
    """Why a channel has no finding, in one phrase ("" when it has one that is not suppressed).

    The first reason that holds, from the strongest: a suppression, data not traced, a residency
    guard, the destinations (sovereign, the org itself), then the data (none, only non-sensitive),
    then why the rules do not judge the destination (not an LLM, not resolved)."""
    if any(not f["suppressed"] for f in c["findings"]):
        return ""
    if c["findings"]:
        return "its findings are suppressed (assessed with apexscan:ignore)"
    dests, data = c["destinations"], c["data"]
    metadata = c["kind"] in METADATA_KINDS
    if not data["traced"]:
        return "not traced: too much of the project reaches it (run apexscan scan for its findings)"
    if c["guarded"]:
        return "guarded by a residency check before the request is sent"
    if not dests:
        return "no destination in the metadata"
    if c["kind"] == "remote-site" and c["details"].get("active") is False:
        return "inactive Remote Site Setting"
    if c["kind"] == "csp-trusted-site" and c["details"].get("active") is False:
        return "inactive CSP Trusted Site"
    if all(d["verdict"] == "sovereign" for d in dests):
        return "sovereign: destination allowed by the policy"
    if all(d["verdict"] == "in-org" for d in dests):
        return "stays in the org"
    if c["kind"] == "connected-app":
        return "inbound API access with IP restrictions enforced"
    sensitive = [f for f in data["fields"] if f["sensitivity"] != "non-sensitive"]
    llm = [d for d in dests if d["llm"] or d["verdict"] in ("foreign", "unknown") and d["provider"]]
    if not data["fields"]:
        if metadata and not c["used_by"]:
            return "no code in the project sends data through it" if c["kind"] != "dataloader-extract" else \
                "no field of the extract could be read"
        return "no record data reaches it"
    if not sensitive:
        return "only non-sensitive data"
    if all(d["verdict"] in ("not-llm", "in-org", "sovereign") for d in dests):
        return "not an LLM API: the rules judge data sent to LLMs"
    if not llm and any(d["verdict"] == "unknown" for d in dests):
        return "destination not resolved and no sign of an LLM"
    return "no rule applies to this channel"


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
                             ("connected app", "connected-app"), ("external client app", "external-client-app"),
                             ("einstein generative ai settings", "einstein-settings"),
                             ("external service", "external-service"),
                             ("custom label", "label"), ("custom metadata", "custom-metadata"),
                             ("constant", "constant"), ("relative url", "relative"),
                             ("configured by ", "configuration"),
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


def _nearest(findings: list[Finding], location: Location) -> list[Finding]:
    """All of `findings` (sorted by location), or past MAX_ENDPOINT_FINDINGS the ones closest to
    `location` in its file (else the first ones): found by bisection, so linear overall."""
    if len(findings) <= MAX_ENDPOINT_FINDINGS:
        return findings
    at = bisect_left(findings, location, key=lambda f: f.location)
    low = bisect_left(findings, location.path, key=lambda f: f.location.path)
    high = bisect_right(findings, location.path, key=lambda f: f.location.path)
    if low == high:
        return findings[:MAX_ENDPOINT_FINDINGS]
    start = max(low, min(at - MAX_ENDPOINT_FINDINGS // 2, high - MAX_ENDPOINT_FINDINGS))
    return findings[start:min(high, start + MAX_ENDPOINT_FINDINGS)]


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
            "record": dict(EMPTY_RECORD), "summary": summarize([]), "systems": [], "links": [], "channels": [],
            "comparison": {}}


MAX_INVENTORY_BYTES = 64 * 2**20  # a base inventory file; the sample org's is 0.5 MB
SCHEMA_FILE = "inventory.schema.json"


def load_inventory(path: Path) -> Json:
    """A base inventory written by `apexscan inventory --format json`, checked against the
    published JSON Schema (`apexscan/pipeline/schemas/inventory.schema.json`) before anything in it
    is used. Raises InventoryError with one line saying what is wrong and where."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InventoryError(f"{path}: the base inventory is not a regular file")
        size = info.st_size
        if size > MAX_INVENTORY_BYTES:
            raise InventoryError(f"{path}: the base inventory has {size:,} bytes, more than the "
                                 f"{MAX_INVENTORY_BYTES:,} accepted")
        with path.open("rb") as f:
            data = f.read(MAX_INVENTORY_BYTES + 1)
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read the base inventory: {exc.strerror or exc}") from None
    if len(data) > MAX_INVENTORY_BYTES:  # grew while being read, or a device
        raise InventoryError(f"{path}: the base inventory is larger than the {MAX_INVENTORY_BYTES:,} bytes accepted")
    return parse_inventory(data, str(path))


def parse_inventory(data: bytes, where: str) -> Json:
    """The inventory document in `data`, validated (see `load_inventory`)."""
    hint = "give a file written with `apexscan inventory --format json`"
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InventoryError(f"{where}: not an apexscan inventory: not UTF-8 (byte {exc.start}); {hint}") from None
    except json.JSONDecodeError as exc:
        raise InventoryError(f"{where}: not an apexscan inventory: not JSON ({exc.msg} at line {exc.lineno}); "
                             f"{hint}") from None
    except RecursionError:
        raise InventoryError(f"{where}: not an apexscan inventory: JSON nested too deeply; {hint}") from None
    error = best_match(_validator().iter_errors(doc))
    if error is not None:
        if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION:
            raise InventoryError(f"{where}: not an apexscan inventory (schema_version {SCHEMA_VERSION}); {hint}")
        where_in = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        raise InventoryError(f"{where}: not a valid apexscan inventory: {where_in or 'the document'}: "
                             f"{_shorten(error.message)}")
    return doc


@functools.cache
def _validator() -> Draft202012Validator:
    schema = json.loads(files("apexscan.pipeline.schemas").joinpath(SCHEMA_FILE).read_text("utf-8"))
    return Draft202012Validator(schema)


def _shorten(text: str, limit: int = 200) -> str:
    """jsonschema quotes the offending value whole: a forged file could make that megabytes."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
