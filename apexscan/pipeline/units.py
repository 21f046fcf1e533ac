"""Integration units (Mule apps) as a whole: what joins them to each other and to the org, their
configuration rules, and their inventory records.

Frontends describe each unit file by file (`UnitMeta`, `ConnectorConfigMeta`, `ConnectorUseMeta`,
`InboundMeta`, `RequestMeta` in `ProjectMetadata`); this module answers the questions that need
all of them, after linking, with the resolver for the configuration values:

* `outbound_sources`: a SOAP outbound message arriving at a listener carries the fields the org's
  outbound message (workflow metadata in the same scan) lists for the URL the listener serves;
  when no outbound message of the project posts there, the record's object is unknown.
* `cross_unit_edges`: a request (HTTP, an MCP client's tool calls) to a URL another unit of the
  repository serves (same path, on that unit's host name or on localhost at its port) receives
  what the serving flow returns. The edges join the graph only for the scan's searches.
* `unit_findings`: APX-MULE-001 (an AI connector configured for a non-sovereign provider that no
  operation uses) and APX-MULE-002 (a unit that reads Salesforce data deployed outside the allowed
  regions).
* `unit_records`: per unit, for the inventory: the Salesforce data it reads, its connections and
  where they lead, its deployment region, and the org channels it is tied to (the Connected App
  whose consumer key is its Salesforce clientId, compared by digest; the outbound messages and
  platform events it receives).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from apexscan.engine.facts import FileFacts
from apexscan.engine.model import Destination, FieldClass, FieldRef, Finding, Step, Verdict
from apexscan.frontends.metadata import (
    ConnectorConfigMeta,
    InboundMeta,
    ProjectMetadata,
    UnitMeta,
    identity_digest,
)
from apexscan.salesforce import hosts
from apexscan.salesforce.endpoints import HOLE, Resolver
from apexscan.salesforce.findings import RANK, RUNTIME_OBJECT, describe
from apexscan.salesforce.policy import Policy
from apexscan.salesforce.sensitivity import FieldCatalog

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]"})
Edge = tuple[str, str, tuple, Step]  # (from node, to node, ops, step)


# --- outbound messages ---------------------------------------------------------------------------


def outbound_sources(metadata: ProjectMetadata, resolver: Resolver) -> list[tuple]:
    """(node, object, field paths, fields as written, how, location) for the record of every
    outbound message a listener receives."""
    out: list[tuple] = []
    for inbound in metadata.inbounds:
        if not inbound.node:
            continue
        patterns = [_path_pattern(v.text or "/") for v in resolver.evaluate(inbound.path, "") if HOLE not in v.text] \
            or [_path_pattern(inbound.name)]
        matched = [m for m in sorted(metadata.outbound_messages.values(), key=lambda m: (m.object.lower(), m.name))
                   if any(p.fullmatch(_url_path(m.url)) for p in patterns)]
        for message in matched:
            how = f"outbound message {message.object}.{message.name} (posted to listener {inbound.name})"
            for f in message.fields:
                out.append((inbound.node, message.object, ((f.name.lower(),),), (f.name,), how, f.location))
        if not matched:
            how = f"a SOAP outbound message received at listener {inbound.name} (no outbound message in this scan posts there)"
            out.append((inbound.node, RUNTIME_OBJECT, (("*",),), ("*",), how, inbound.location))
    return out


def _url_path(url: str) -> str:
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return ""
    return "/" + path.strip("/")


def _path_pattern(path: str) -> re.Pattern[str]:
    """A listener path as a regex: `{param}` is one segment, `*` anything."""
    parts = re.split(r"(\{[^}]*\}|\*)", "/" + path.strip("/"))
    body = "".join("[^/]+" if p.startswith("{") else ".*" if p == "*" else re.escape(p) for p in parts)
    return re.compile(body.rstrip("/") or "/")


# --- requests to other units ----------------------------------------------------------------------


def cross_unit_edges(metadata: ProjectMetadata, resolver: Resolver) -> list[Edge]:
    """Each inbound's resolved port and path patterns are worked out once, and a request is matched
    only against the inbounds of the units its host names, or that listen on its local port."""
    names = _unit_names(metadata)
    by_port: dict[tuple[str, str], list[InboundMeta]] = {}  # (kind, port) -> inbounds
    by_scope: dict[tuple[str, str], list[InboundMeta]] = {}  # (kind, scope) -> inbounds
    patterns: dict[int, list[re.Pattern[str]]] = {}
    for inbound in metadata.inbounds:
        if inbound.kind not in ("http-listener", "mcp-tool"):
            continue
        by_scope.setdefault((inbound.kind, inbound.scope), []).append(inbound)
        for v in resolver.evaluate(inbound.port, "") if inbound.port else ():
            if v.text and HOLE not in v.text:
                by_port.setdefault((inbound.kind, v.text), []).append(inbound)
        patterns[id(inbound)] = [_path_pattern(v.text or "/") for v in resolver.evaluate(inbound.path, "")
                                 if HOLE not in v.text] if inbound.path else []
    edges: list[Edge] = []
    seen: set[tuple[str, str]] = set()
    for request in metadata.requests:
        wanted = "http-listener" if request.kind == "http" else "mcp-tool"
        for value in resolver.evaluate(request.url, ""):
            target = _split_url(value.text)
            if target is None:
                continue
            host, port, path = target
            label = host.split(".", 1)[0]
            candidates = [i for scope, unit_names in names.items() if any(n in label for n in unit_names)
                          for i in by_scope.get((wanted, scope), ())]
            if host in LOCAL_HOSTS and port:
                candidates += by_port.get((wanted, port), [])
            for inbound in candidates:
                if inbound.scope == request.scope or (inbound.function, request.result) in seen:
                    continue
                if wanted == "http-listener" and not any(p.fullmatch(path) for p in patterns[id(inbound)]):
                    continue
                seen.add((inbound.function, request.result))
                what = f"MCP tool {inbound.name}" if wanted == "mcp-tool" else f"listener {inbound.name}"
                step = Step(request.location, f"returned by the {what} of {inbound.scope or 'the root app'} "
                                              f"({value.text.replace(HOLE, '{?}')})")
                edges.append((f"{inbound.function}#return", request.result, (("get", "payload"),), step))
    return edges


def _split_url(text: str) -> tuple[str, str, str] | None:
    head = text.split(HOLE, 1)[0]
    try:
        parts = urlsplit(head)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    try:
        port = str(parts.port or "")
    except ValueError:
        port = ""
    path = "/" + parts.path.strip("/") if HOLE not in text else ""
    return parts.hostname.lower(), port, path


def _unit_names(metadata: ProjectMetadata) -> dict[str, tuple[str, ...]]:
    out: dict[str, set[str]] = {}
    for unit in metadata.units:
        names = out.setdefault(unit.scope, set())
        for n in (unit.name, unit.scope.rsplit("/", 1)[-1]):
            if len(n) >= 4:
                names.add(n.lower())
    return {k: tuple(sorted(v)) for k, v in out.items()}


# --- rules ---------------------------------------------------------------------------------------


def units_of(metadata: ProjectMetadata) -> list[UnitMeta]:
    """One unit per scope: the pom.xml's (with its deployment) before mule-artifact.json's."""
    best: dict[str, UnitMeta] = {}
    for unit in metadata.units:
        prior = best.get(unit.scope)
        if prior is None or (not prior.deployment and unit.deployment) or \
                (prior.location.path.endswith(".json") and not unit.location.path.endswith(".json")):
            best[unit.scope] = unit
    return [best[k] for k in sorted(best)]


def unit_of(path: str, scopes: Iterable[str]) -> str | None:
    """The unit scope a file belongs to: the longest scope that encloses it."""
    found = None
    for scope in scopes:
        if (not scope or path.startswith(scope + "/")) and (found is None or len(scope) > len(found)):
            found = scope
    return found


def reads_by_unit(metadata: ProjectMetadata, code: Iterable[FileFacts]) -> dict[str, list]:
    """scope -> the Salesforce reads (Source facts) in the unit's files."""
    scopes = [u.scope for u in units_of(metadata)]
    out: dict[str, list] = {}
    for facts in code:
        scope = unit_of(facts.path, scopes)
        if scope is not None:
            out.setdefault(scope, []).extend(facts.sources)
    return out


def unit_findings(metadata: ProjectMetadata, code: list[FileFacts], resolver: Resolver, policy: Policy,
                  registry: hosts.Registry) -> list[Finding]:
    findings: list[Finding] = []
    used = {(u.scope, u.name) for u in metadata.connector_uses}
    for config in metadata.connector_configs:
        if config.role != "llm" or not config.endpoint or (config.scope, config.name) in used:
            continue
        dests = config_destinations(config, resolver)
        reportable = [d for d in dests if d.verdict == Verdict.FOREIGN
                      or d.verdict == Verdict.UNKNOWN and d.provider]
        if not reportable:
            continue
        dest = reportable[0]
        where = f" of {config.scope}" if config.scope else ""
        message = (f"{config.what}{where} configures {describe(dest)}, an LLM outside the allowed jurisdictions, and "
                   f"no operation of the app uses it: any flow added later can send data there with one "
                   f"config-ref (defined in {config.location.path}). Endpoint: {dest.how}.{_note(dest)}")
        step = Step(config.location, f"{config.what} points at {dest.url or dest.host}")
        findings.append(Finding("APX-MULE-001", config.location, message, dest, paths=((step,),),
                                extra=(("context", f"MuleConfig {config.scope}:{config.name}"),)))
    reads = reads_by_unit(metadata, code)
    for unit in units_of(metadata):
        sources = [s for s in reads.get(unit.scope, ()) if s.object]
        if not unit.region_code or not sources:
            continue
        region = registry.region_of(unit.region_code)
        if region and region.upper() in registry.accepted(policy.allowed_regions):
            continue
        objects = sorted({s.object for s in sources})
        shown = f"region {region}" if region else "a region the registry cannot place"
        location = unit.region_location or unit.location
        dest = Destination("", "", "", "", region, Verdict.FOREIGN if region else Verdict.UNKNOWN,
                           f"{unit.deployment} deployment {unit.region}")
        message = (f"{unit.kind} {unit.name} reads Salesforce data ({', '.join(objects[:6])}"
                   f"{' and more' if len(objects) > 6 else ''}) and is deployed to {unit.deployment} {unit.region} "
                   f"({shown}), outside the allowed regions ({', '.join(policy.allowed_regions) or 'none'}): the "
                   f"records are processed, logged and cached there whatever model it calls.")
        steps = tuple((Step(s.location, f"{s.object} read by {s.how}"),
                       Step(location, f"deployed to {unit.deployment} {unit.region}")) for s in sources[:10])
        findings.append(Finding("APX-MULE-002", location, message, dest, paths=steps,
                                confidence="high" if region else "medium",
                                extra=(("context", f"MuleApp {unit.scope or unit.name}"),)))
    return findings


def config_destinations(config: ConnectorConfigMeta, resolver: Resolver) -> list[Destination]:
    out: list[Destination] = []
    for value in resolver.evaluate(config.endpoint, ""):
        for dest in resolver.candidates(value):
            if dest not in out:
                out.append(dest)
    return out


def _note(dest: Destination) -> str:
    note = dest.note.strip().rstrip(".")
    return f" {note[0].upper()}{note[1:]}." if note else ""


# --- the inventory ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitRecord:
    """A unit as the inventory lists it."""

    unit: UnitMeta
    region: str  # the processing region its deployment means ("EU"), "" when unknown
    reads: tuple[tuple[FieldRef, FieldClass, bool], ...]  # what its Salesforce reads return
    connections: tuple[tuple[ConnectorConfigMeta, tuple[Destination, ...], bool], ...]  # (config, where, used)
    org_channels: tuple[tuple[str, str], ...]  # (kind, text): Connected App, outbound message, platform event
    receives: tuple[str, ...]  # how others reach it: listeners, MCP tools, event channels


def unit_records(metadata: ProjectMetadata, code: list[FileFacts], resolver: Resolver, registry: hosts.Registry,
                 catalog: FieldCatalog) -> tuple[UnitRecord, ...]:
    reads = reads_by_unit(metadata, code)
    used = {(u.scope, u.name) for u in metadata.connector_uses}
    apps_by_digest: dict[str, list[str]] = {}
    for app in metadata.connected_apps.values():
        if app.consumer_key_digest:
            apps_by_digest.setdefault(app.consumer_key_digest, []).append(app.name)
    records = []
    for unit in units_of(metadata):
        fields: dict[FieldRef, tuple[FieldRef, FieldClass, bool]] = {}
        for source in reads.get(unit.scope, ()):
            for path in source.fields:
                if path == ("*",):
                    ref = FieldRef(source.object, "*")
                    fields.setdefault(ref, (ref, catalog.classify_object(source.object), True))
                else:
                    ref = catalog.resolve(source.object, path)
                    shown = next((d for d in source.display if d.lower() == ".".join(path)), "")
                    if ref.field == ref.field.lower() and shown:
                        ref = FieldRef(ref.object, shown.split(".")[-1])
                    fields.setdefault(ref, (ref, catalog.classify(ref), False))
        ordered = tuple(sorted(fields.values(), key=lambda f: (RANK[f[1].sensitivity], str(f[0]))))
        connections = []
        org: list[tuple[str, str]] = []
        for config in metadata.connector_configs:
            if config.scope != unit.scope:
                continue
            dests = tuple(config_destinations(config, resolver)) if config.endpoint else ()
            connections.append((config, dests, (config.scope, config.name) in used))
            if config.role == "salesforce" and config.identity:
                for value in resolver.evaluate(config.identity, ""):
                    if HOLE in value.text or not value.text.strip():
                        continue
                    for name in sorted(apps_by_digest.get(identity_digest(value.text), ())):
                        org.append(("connected-app", f"Connected App {name}: its consumer key is the clientId of "
                                                     f"{config.what}"))
        receives = []
        for inbound in metadata.inbounds:
            if inbound.scope != unit.scope:
                continue
            if inbound.kind == "salesforce-channel":
                org.append(("salesforce-channel", f"streaming channel {inbound.name}"))
            paths = [v.text for v in resolver.evaluate(inbound.path, "") if HOLE not in v.text] if inbound.path else []
            name = paths[0] or "/" if paths else inbound.name
            receives.append({"http-listener": f"HTTP listener {name}", "mcp-tool": f"MCP tool {inbound.name}",
                             "salesforce-channel": f"Salesforce streaming channel {inbound.name}"}
                            .get(inbound.kind, inbound.name))
        for node, obj, _fields, _display, how, _loc in outbound_sources(metadata, resolver):
            inbound = next((i for i in metadata.inbounds if i.node == node), None)
            if inbound is not None and inbound.scope == unit.scope and obj != RUNTIME_OBJECT:
                org.append(("outbound-message", how))
        region = registry.region_of(unit.region_code) if unit.region_code else ""
        records.append(UnitRecord(unit, region, ordered, tuple(connections), tuple(dict.fromkeys(org)),
                                  tuple(dict.fromkeys(receives))))
    return tuple(records)


__all__ = ["UnitRecord", "cross_unit_edges", "outbound_sources", "unit_findings", "unit_of", "unit_records",
           "units_of"]
