"""The pipeline: discover -> read -> lower -> link -> resolve endpoints -> search -> findings.

Stages neither print nor write files; the CLI does the I/O with what `scan` returns.
"""
from __future__ import annotations

import gc
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from apexscan.engine.facts import FileFacts
from apexscan.engine.link import Linker, Program, context_of
from apexscan.engine.model import (
    Destination,
    Diagnostic,
    FieldClass,
    FieldRef,
    Finding,
    Sensitivity,
    Step,
    Verdict,
)
from apexscan.engine.taint import compatible, report_key, search
from apexscan.frontends.metadata import ProjectMetadata, merge, soql_fields, soql_select_items
from apexscan.pipeline.cache import FactsCache
from apexscan.pipeline.config_rules import config_findings, einstein_routing
from apexscan.pipeline.coverage import not_analysed_findings
from apexscan.pipeline.heroku import HOW as SQL_TABLE
from apexscan.pipeline.heroku import sql_sources
from apexscan.pipeline.inventory import SinkRecord, affordable, sink_contexts
from apexscan.pipeline.lowering import CODE_FRONTENDS, code_facts, lower_all, metadata_part
from apexscan.pipeline.project import Project
from apexscan.pipeline.units import UnitRecord, cross_unit_edges, outbound_sources, unit_findings, unit_records
from apexscan.salesforce import hosts
from apexscan.salesforce.apex_models import DYNAMIC_QUERY_APIS
from apexscan.salesforce.endpoints import CONFIGURED, HOLE, Resolver
from apexscan.salesforce.findings import (
    RUNTIME_OBJECT,
    DataReach,
    SinkReach,
    hardcoded_endpoint,
    sink_findings,
)
from apexscan.salesforce.policy import Policy
from apexscan.salesforce.sensitivity import FieldCatalog

# Names that say a class, credential or setting talks to an LLM (evidence for unresolved hosts).
LLM_NAME = re.compile(r"(open_?ai|chat_?gpt|gpt|claude|anthropic|gemini|mistral|llm|copilot|"
                      r"bedrock|vertex|cohere|deepseek|perplexity|groq|ollama|genai|einstein_?gpt)",
                      re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ScanResult:
    root: Path
    findings: tuple[Finding, ...]
    diagnostics: tuple[Diagnostic, ...]
    files_scanned: int
    # Only with scan(..., inventory=True): every sink, whatever its destination, and the metadata.
    sinks: tuple[SinkRecord, ...] = ()
    metadata: ProjectMetadata | None = None
    units: tuple[UnitRecord, ...] = ()  # integration units (Mule apps), with inventory=True


@dataclass
class ScanMemory:
    """What a long-running process (the language server) keeps between scans of one project: the
    linked program, patched rather than rebuilt when only method bodies changed. Used with a
    facts cache, whose unchanged files come back as the very same objects."""

    linker: Linker | None = None


# How far a scan is: (stage, done, total), stage one of "parse" (files), "link", "search"; total
# is 0 when the stage has no count. Called from the scanning thread; it must not raise.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Analysis:
    findings: list[Finding]
    sinks: tuple[SinkRecord, ...]  # empty unless asked for (the egress inventory)
    diagnostics: tuple[Diagnostic, ...] = ()  # policy names that match nothing
    units: tuple[UnitRecord, ...] = ()  # integration units (Mule apps); empty unless asked for


def scan(project: Project, policy: Policy, *, strict: bool = False, inventory: bool = False,
         cache: FactsCache | None = None, jobs: int = 1, memory: ScanMemory | None = None,
         progress: Progress | None = None) -> ScanResult:
    """The whole pipeline. `cache` reuses the facts of unchanged files; `jobs` > 1 lowers the other
    files in that many worker processes (on large projects); `memory` reuses the previous scan's
    linking; `progress` is told how far it is. None of them changes the result."""
    with _fewer_gc_passes():
        lowered = lower_all(project.files, strict=strict, cache=cache, jobs=jobs, progress=progress)
        diags: list[Diagnostic] = list(project.diagnostics)
        if cache is not None:
            diags.extend(cache.problems)  # a cache refused (symbolic links, a key others can read)
        code: list[FileFacts] = []
        metadata_facts = []
        for item in lowered:
            diags.extend(item.diagnostics)
            if item.facts is None:
                continue
            if item.file.kind in CODE_FRONTENDS:
                code.append(code_facts(item.facts))
                if metadata_part(item.facts) is not None:
                    metadata_facts.append(metadata_part(item.facts))
            else:
                metadata_facts.append(item.facts)
        metadata = merge(metadata_facts)
        diags.extend(metadata.diagnostics)
        analysis = analyse_all(code, metadata, policy, inventory=inventory, memory=memory, progress=progress)
        diags.extend(analysis.diagnostics)
    findings = set(analysis.findings) | set(not_analysed_findings(diags))  # fail closed: APX-SCAN-001
    return ScanResult(project.root, tuple(sorted(findings, key=_order)), tuple(sorted(set(diags))),
                      len(project.files), analysis.sinks, metadata if inventory else None, analysis.units)


@contextmanager
def _fewer_gc_passes():
    """A scan allocates millions of small objects that live until it ends, and few cycles: with
    the default thresholds the collector keeps re-walking them (a quarter of the time on NPSP)."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _order(f: Finding):
    return (f.location.path, f.location.line, f.location.col, f.rule_id, f.destination.url)


def name_hint(text: str) -> str:
    m = LLM_NAME.search(text or "")
    return f"the name {text.strip()!r} mentions {m.group(1)}" if m else ""


def analyse(apex: list[FileFacts], metadata: ProjectMetadata, policy: Policy) -> list[Finding]:
    return analyse_all(apex, metadata, policy).findings


def analyse_all(apex: list[FileFacts], metadata: ProjectMetadata, policy: Policy, *,
                inventory: bool = False, memory: ScanMemory | None = None,
                progress: Progress | None = None) -> Analysis:
    """The findings; with `inventory`, also a record of every sink (guarded, sovereign and non-LLM
    ones too): its destinations, the data that reaches it, and the entry points that lead there."""
    registry = hosts.load_registry()
    catalog = FieldCatalog.build(metadata, policy.sensitive_fields, policy.non_sensitive_fields)
    if progress is not None:
        progress("link", 0, 0)
    linker, program = _linked(apex, policy, memory)
    unmatched = tuple(unmatched_policy_methods(program, apex, policy))
    if progress is not None:
        progress("search", 0, 0)
    routing = einstein_routing(metadata)
    einstein_note = routing.note() if routing is not None else ""
    resolver = Resolver(
        linker, metadata,
        classify=lambda url: hosts.classify_url(url, policy, registry),
        llm_path=lambda path: hosts.looks_like_llm_path(path, registry),
        name_hint=name_hint,
        classify_model=lambda name: _noted(hosts.classify_model(name, policy, registry), einstein_note),
        provider_host=lambda name, path: hosts.provider_host_named(name, path, registry),
        shared_path=lambda path: hosts.shared_llm_path(path, registry),
        private_region=lambda dest, code, why: hosts.with_network_region(dest, code, why, policy, registry))
    # A request to a URL another unit of the repository serves receives what that unit returns:
    # edges for this analysis only (a long-running process keeps the linked graph).
    joined = [(src, dst, program.graph.add_edge(src, dst, ops=ops, step=step, kind="flow", site="", heap=False))
              for src, dst, ops, step in cross_unit_edges(metadata, resolver)]
    try:
        analysis = _analyse(apex, metadata, policy, registry, catalog, linker, program, resolver, inventory,
                            unmatched)
    finally:
        for src, dst, key in joined:
            program.graph.remove_edge(src, dst, key)
    return analysis


def _analyse(apex, metadata, policy, registry, catalog, linker, program, resolver, inventory,
             unmatched) -> Analysis:
    excluded = _excluded_classes(program)

    def class_in_scope(cls: str) -> bool:
        return cls not in excluded and cls.split(".", 1)[0] not in excluded

    def in_scope(fid: str) -> bool:
        fn = program.functions.get(fid)
        return class_in_scope(fn.cls if fn else fid.rsplit(".", 1)[0])

    table: list[tuple[str, object]] = []  # source id -> ("data", (object, how, field as written)) | ("endpoint", Destination) | ("evidence", text)
    data_sources: dict[str, list] = {}
    config_sources: dict[str, list] = {}  # endpoints and LLM evidence

    def add(node: str, label: tuple, step: Step, contexts: tuple = ((),)) -> None:
        """Seed `label` at `node` in each call string of `contexts` (a value that holds only when
        the function was called from certain sites); a field (the heap) is shared by all callers."""
        into = data_sources if table[label[0]][0] == "data" else config_sources
        for ctx in (((),) if node.startswith(("F:", "E:")) else contexts):
            into.setdefault(node, []).append((label, step, ctx))

    findings: list[Finding] = []
    trigger_objects = _trigger_objects(program, apex)
    for facts in apex:
        for src in facts.sources:
            fid = src.node.split("#", 1)[0]
            if not in_scope(fid):
                continue
            if _is_setting(metadata, src.object):
                continue  # a custom setting holds configuration, not client data
            objects = [src.object]
            if src.object == "SObject" and src.how.lower().startswith("trigger."):
                objects = sorted(trigger_objects.get(fid, ())) or objects
            for obj in objects:
                _add_source(table, add, src.node, obj, src.fields, src.display, src.how, src.location,
                            src.scalar)
        for q in facts.queries:
            fid = q.node.split("#", 1)[0]
            if not in_scope(fid):
                continue
            context = program.functions[fid].cls if fid in program.functions else ""
            if _inline_query(q.query):
                # Database.getQueryLocator([SELECT ...]): the records of the static query inside it.
                for src in facts.sources:
                    if src.node.startswith(fid + "#") and _inside(src.location, q.location) \
                            and not _is_setting(metadata, src.object):
                        _add_source(table, add, q.node, src.object, src.fields, src.display, src.how,
                                    src.location, src.scalar)
                continue
            for value in resolver.evaluate(q.query, context):
                if q.language == "sql":  # a service reading the Heroku Connect copy of the org
                    for obj, fields, display, where in sql_sources(value.text, metadata):
                        _add_source(table, add, q.node, obj, fields, display, f"{q.how} on {SQL_TABLE} {where}",
                                    q.location, contexts=value.contexts)
                    continue
                obj, fields, display = parse_soql(value.text)
                if not obj and HOLE in value.text:
                    # FROM an object named at run time, or a query string from elsewhere (a model's
                    # tool call): records all the same, of an object nobody can classify here.
                    obj, fields, display = RUNTIME_OBJECT, (("*",),), ("*",)
                if obj:
                    _add_source(table, add, q.node, obj, fields, display, q.how, q.location,
                                contexts=value.contexts)
        for e in facts.endpoints:
            context = context_of(program.functions, e.target.node)
            if not class_in_scope(context):
                continue  # an HTTP mock's endpoint never leaves the org
            node, _ops = linker.target_end(e.target, context)
            for value in resolver.evaluate(e.expr, context):
                for dest in resolver.candidates(value):
                    table.append(("endpoint", dest))
                    add(node, (len(table) - 1, (), (), False),
                        Step(e.location, f"endpoint set to {dest.url or '?'} ({dest.how})"), value.contexts)
                    if dest.provider and _hard_coded(dest.how) \
                            and dest.verdict not in (Verdict.NOT_LLM, Verdict.IN_ORG):
                        owner = program.classes.get(context)
                        findings.append(hardcoded_endpoint(e.location, dest, e.text, service=bool(owner and owner.realm)))
        for ev in facts.evidence:
            node, _ = linker.target_end(ev.target, context_of(program.functions, ev.target.node))
            table.append(("evidence", ev.text))
            add(node, (len(table) - 1, (), (), False), Step(ev.location, f"LLM request shape: {ev.text}"))
    for node, obj, fields, display, how, location in outbound_sources(metadata, resolver):
        _add_source(table, add, node, obj, fields, display, how, location)

    guarded = _guarded_requests(program, linker, apex, policy.residency_guards)
    barred = {b.node for facts in apex for b in facts.barriers}  # sinks that send nothing
    sinks: dict[str, list] = {}
    guarded_sinks: dict[str, list] = {}  # kept for the inventory only
    for facts in apex:
        for s in facts.sinks:
            if not in_scope(s.caller):
                continue
            node, _ = linker.source_end(s.arg, context_of(program.functions, s.caller + "#"))
            if node in barred:
                continue
            if any(fid == s.caller and line <= s.location.line and node == guarded_node
                   for fid, guarded_node, line in guarded):
                if inventory:
                    guarded_sinks.setdefault(node, []).append(s)
                continue  # a residency guard from the policy checked this request before it was sent
            sinks.setdefault(node, []).append(s)

    # Two searches: first where each request goes (few labels), then the data, only towards
    # the sinks whose destination can yield a finding (most callouts in most orgs go elsewhere).
    # Both keep the call string each label arrives in, so that data is reported only with the
    # destinations set in the same calling context (a helper shared by several callers).
    routes: dict[str, dict[Destination, set[tuple]]] = {}  # sink -> destination -> call strings
    shapes: dict[str, list[tuple[tuple, str]]] = {}  # sink -> (call string, LLM request shape)
    for a in search(program.graph, config_sources, set(sinks) | set(guarded_sinks), per_context=True):
        kind, payload = table[a.label[0]]
        if kind == "endpoint":
            routes.setdefault(a.sink, {}).setdefault(payload, set()).add(a.context)
        else:
            shapes.setdefault(a.sink, []).append((a.context, f"request body has {payload}"))
    for node, by_dest in routes.items():
        # A stand-in host next to a real one in the same calling context is the test-only branch
        # (`Test.isRunningTest() ? 'https://example.invalid' : 'callout:Gemini/...'`).
        real_ctxs = [c for d, ctxs in by_dest.items() if not hosts.is_placeholder_host(d.host) for c in ctxs]
        routes[node] = {d: ctxs for d, ctxs in by_dest.items() if not hosts.is_placeholder_host(d.host)
                        or not all(any(compatible(c, r) for r in real_ctxs) for c in ctxs)}
        routes[node] = _runtime_credentials(routes[node], bool(shapes.get(node)) or any(
            name_hint(program.functions[s.caller].display) for s in sinks.get(node, []) + guarded_sinks.get(node, [])
            if s.caller in program.functions))
        routes[node] = _shaped(routes[node], shapes.get(node, []))
    destinations = {node: list(by_dest) for node, by_dest in routes.items()}
    evidence = {node: _unique([text for _, text in found]) for node, found in shapes.items()}
    per_sink: dict[str, list[tuple]] = {}
    every_sink: list[tuple] = []  # (node, sink, destinations, guarded) for the inventory
    for node, sink_facts, is_guarded in [(n, f, False) for n, f in sorted(sinks.items())] + \
            [(n, f, True) for n, f in sorted(guarded_sinks.items())]:
        for s in sink_facts:
            fn = program.functions.get(s.caller)
            hints = [h for h in (name_hint(fn.display if fn else ""),) if h]
            dest_list = _grouped(destinations.get(node, [])) or [Destination(
                "", "", "", "", "", Verdict.UNKNOWN, NO_ENDPOINT)]
            dest_list = [replace(d, evidence=tuple(_unique(list(d.evidence) + evidence.get(node, []) + hints)))
                         if d.verdict == Verdict.UNKNOWN else d for d in dest_list]
            if inventory:
                every_sink.append((node, s, tuple(dest_list), is_guarded))
            if any(_reportable(d) for d in dest_list) and not is_guarded:
                per_sink.setdefault(node, []).append((s, hints))
    data: dict[str, list[DataReach]] = {}  # the first arrival of each datum, whatever the context
    in_context: dict[str, list[tuple[tuple, DataReach]]] = {}  # every call string it arrives in
    classes: dict = {}  # memo: the same field reaches many sinks
    first: set[tuple] = set()
    for a in search(program.graph, data_sources, set(per_sink), per_context=True):
        reach = _data_reach(catalog, table[a.label[0]][1], a, classes)
        in_context.setdefault(a.sink, []).append((a.context, reach))
        if (a.sink, report_key(a.label)) not in first:  # shortest call string first
            first.add((a.sink, report_key(a.label)))
            data.setdefault(a.sink, []).append(reach)
    for node, entries in sorted(per_sink.items()):
        for s, hints in entries:
            for dest, reached in _routed(routes.get(node, {}), shapes.get(node, []), hints,
                                         in_context.get(node, [])):
                found = sink_findings(SinkReach(s.location, s.api, reached, (dest,)))
                if s.kind == "agent":
                    # What an agent hands its platform model is in the inventory; only data that
                    # is sensitive or unclassified is a finding.
                    found = [f for f in found if f.rule_id != NON_SENSITIVE_RULE]
                if "/lwc/" in f"/{s.location.path}" or "/aura/" in f"/{s.location.path}":  # browser code
                    found = [_with_csp_site(f, metadata) for f in found]
                findings.extend(found)
    findings.extend(config_findings(metadata, policy, registry, catalog))
    findings.extend(unit_findings(metadata, apex, resolver, policy, registry))
    if not inventory:
        return Analysis(findings, (), unmatched)
    # The inventory also wants the data of sinks that cannot yield a finding: a second search
    # towards those only, so the findings' witness paths stay exactly those of a plain scan.
    traced, untraced = affordable(program.graph, {n for n, *_ in every_sink} - set(per_sink))
    for a in search(program.graph, data_sources, traced):
        data.setdefault(a.sink, []).append(_data_reach(catalog, table[a.label[0]][1], a, classes))
    contexts = sink_contexts(program, apex, {s.caller for _, s, _, _ in every_sink})
    records = tuple(SinkRecord(SinkReach(s.location, s.api, tuple(data.get(node, [])), dest_list),
                               s.kind, contexts[s.caller], is_guarded, node not in untraced)
                    for node, s, dest_list, is_guarded in every_sink)
    return Analysis(findings, records, unmatched, unit_records(metadata, apex, resolver, registry, catalog))


def unmatched_policy_methods(program: Program, apex: list[FileFacts], policy: Policy) -> list[Diagnostic]:
    """A warning for each sanitizer that names no method of the project, and each residency guard
    that no method is named like and no call names: a typo there silently changes the results."""
    defined = set()
    for fn in program.functions.values():
        defined.add(fn.display.lower())
        defined.add(f"{fn.cls.rsplit('.', 1)[-1]}.{fn.name}".lower())
    called = {f"{c.static_type.rsplit('.', 1)[-1]}.{c.name}".lower() for facts in apex for c in facts.calls
              if c.static_type}
    where = f"{policy.source}: " if policy.source else ""
    out = []
    for name in policy.sanitizers:
        if name not in defined:
            out.append(Diagnostic("", "policy", f"{where}[policy] sanitizers: {name!r} matches no method of "
                                  "the project, so no data is cleaned by it; check the Class.method name"))
    for name in policy.residency_guards:
        if name not in defined and name not in called:
            out.append(Diagnostic("", "policy", f"{where}[policy] residency_guards: {name!r} matches no method "
                                  "of the project and no call in it, so no callout counts as guarded by it; "
                                  "check the Class.method name"))
    return out


def _linked(apex: list[FileFacts], policy: Policy, memory: ScanMemory | None) -> tuple[Linker, Program]:
    """The linked program: the previous scan's patched where files changed, when it can be."""
    previous = memory.linker if memory else None
    if memory is not None:
        memory.linker = None  # until linking succeeds: a failed scan leaves nothing half-patched
    if previous is not None and previous.sanitizers == {s.lower() for s in policy.sanitizers}:
        program = previous.relink(apex)
        if program is not None:
            memory.linker = previous
            return previous, program
    previous = None  # not kept alive beside the new graph
    linker = Linker(apex, policy.sanitizers)
    program = linker.link()
    if memory is not None:
        memory.linker = linker
    return linker, program


POLYMORPHIC = "Name"  # the object a polymorphic lookup (Who, What, Parent of a note) leads to
NON_SENSITIVE_RULE = "APX-LLM-005"
RUNTIME_NC = "the name is read at run time"
RUNTIME_NC_UNRESOLVED = "unresolved: the Named Credential name is read at run time"


def _runtime_credentials(by_dest: dict[Destination, set], llm_evidence: bool) -> dict[Destination, set]:
    """A Named Credential whose name is read at run time may be any of the project's LLM Named
    Credentials, but only for a request that shows it is an LLM call (its path, body or the
    sending method's name); a generic HTTP tool configured with data stays unresolved."""
    runtime = [d for d in by_dest if RUNTIME_NC in d.how]
    if not runtime or llm_evidence or any(d.evidence for d in runtime):
        return by_dest
    kept = {d: ctxs for d, ctxs in by_dest.items() if RUNTIME_NC not in d.how}
    unresolved = Destination("callout:{?}", "", "", "", "", Verdict.UNKNOWN, RUNTIME_NC_UNRESOLVED)
    kept.setdefault(unresolved, set()).update(c for d in runtime for c in by_dest[d])
    return kept


def _noted(dest: Destination, note: str) -> Destination:
    """A Salesforce-hosted model's destination, with what the org's Einstein settings say."""
    return replace(dest, note=f"{dest.note}; {note}" if dest.note and note else dest.note or note)


def _shaped(by_dest: dict[Destination, set], shapes: list[tuple[tuple, str]]) -> dict[Destination, set]:
    """A host nobody knows, called on an API path that other kinds of API use too (`/v1/messages`),
    is an LLM endpoint only for a request whose body is shaped like a prompt in the same calling
    context; otherwise it is just an unknown host."""
    out: dict[Destination, set] = {}
    for d, ctxs in by_dest.items():
        if d.needs_shape and not any(compatible(s, c) for s, _ in shapes for c in ctxs):
            d = replace(d, verdict=Verdict.NOT_LLM, evidence=(), needs_shape=False,
                        note=f"{d.host} is not a known LLM provider; the API path alone does not make it one "
                             "(the request body is not shaped like a prompt)")
        out.setdefault(d, set()).update(ctxs)
    return out


def _with_csp_site(finding: Finding, metadata: ProjectMetadata) -> Finding:
    """A browser request only reaches a host a CSP Trusted Site allows: name that site (reported
    on its own as APX-CFG-003) in the component's finding."""
    host = finding.destination.host
    if not host:
        return finding
    sites = sorted((site for site in metadata.csp_trusted_sites.values()
                    if site.active and site.connect_src and _host_matches(site.url, host)),
                   key=lambda site: site.name.lower())
    if not sites:
        return finding
    where = ", ".join(f"{site.name} ({site.location})" for site in sites)
    return replace(finding, message=f"{finding.message} Allowed in the browser by CSP Trusted Site {where}.",
                   extra=finding.extra + (("csp_trusted_sites", ", ".join(site.name for site in sites)),))


def _host_matches(url: str, host: str) -> bool:
    site_host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip().lower()).split("/", 1)[0].split(":", 1)[0]
    if site_host.startswith("*."):
        return host.endswith(site_host[1:])
    return site_host == host


def _api_case(name: str) -> str:
    """'advisor_notes__c' -> 'Advisor_Notes__c': a readable guess for a field nobody described."""
    head, sep, suffix = name.partition("__")
    return "_".join(p[:1].upper() + p[1:] for p in head.split("_")) + sep + suffix


def _is_setting(metadata: ProjectMetadata, obj: str) -> bool:
    meta = metadata.custom_object(obj)
    return bool(meta is not None and meta.custom_settings_type)


def _grouped(dests: list[Destination]) -> list[Destination]:
    """One destination per host (and one for every endpoint that cannot be determined): a request
    built for several paths of one API, or several run-time configurations, is one finding."""
    return [d for d, _members, folded in _groups(dests) if not folded]


def _sentence(note: str) -> str:
    """A note followed by another sentence: "" stays "", else it ends with a full stop and a space."""
    if not note:
        return ""
    return note + (" " if note.endswith((".", "!", "?")) else ". ")


def _groups(dests: list[Destination]) -> list[tuple[Destination, tuple[Destination, ...], bool]]:
    """(shown destination, the destinations it stands for, folded): `folded` marks an endpoint that
    cannot be determined and is only noted on the known foreign destinations of the same request."""
    groups: dict[tuple, list[Destination]] = {}
    for d in _unique(dests):
        if RUNTIME_NC in d.how:  # candidates for a name read at run time: one finding, worst first
            key: tuple = (RUNTIME_NC,)
        else:
            key = (d.host, d.verdict if d.host else Verdict.UNKNOWN)
        groups.setdefault(key, []).append(d)
    out: list[tuple[Destination, tuple[Destination, ...]]] = []
    for members in groups.values():
        members.sort(key=lambda d: (d.verdict != Verdict.FOREIGN, d.url, d.how))
        first = members[0]
        if len(members) > 1:
            others = ", ".join(m.url or "?" for m in members[1:4]) + (" …" if len(members) > 4 else "")
            first = replace(first, note=_sentence(first.note) + f"Also sent to: {others}.",
                            evidence=tuple(_unique([e for m in members for e in m.evidence])))
        out.append((first, tuple(members)))
    foreign = [d for d, _ in out if d.verdict == Verdict.FOREIGN]
    unresolved = [d for d, _ in out if d.verdict == Verdict.UNKNOWN and not d.host]
    if foreign and unresolved:
        # `settings.Endpoint__c != null ? settings.Endpoint__c : 'https://api.openai.com/...'`:
        # the known foreign default is the finding; the run-time alternative is noted on it.
        alt = unresolved[0].how.removeprefix("unresolved: ")
        out = [(replace(d, note=_sentence(d.note) + f"The endpoint may also be set at run time ({alt}).")
                if d.verdict == Verdict.FOREIGN else d, members) for d, members in out]
    return sorted(((d, members, d in unresolved and bool(foreign)) for d, members in out),
                  key=lambda g: (g[0].host, g[0].url))


NO_ENDPOINT = "unresolved: no endpoint set on this request is visible in the project"


def _routed(routes: dict[Destination, set[tuple]], shapes: list[tuple[tuple, str]], hints: list[str],
            reached: list[tuple[tuple, DataReach]]) -> list[tuple[Destination, tuple[DataReach, ...]]]:
    """The reportable destinations of one sink, each with the data sent there.

    A datum that reaches the sink in some call string goes to the destinations that reach it in a
    compatible one (a helper called with an LLM endpoint from one place and with record data and
    another endpoint from another); only when none does is it sent to all of them. LLM request
    shapes count as evidence only in the call strings they reach the sink in."""
    if not routes:
        dest = Destination("", "", "", "", "", Verdict.UNKNOWN, NO_ENDPOINT,
                           evidence=tuple(_unique([text for _, text in shapes] + hints)))
        data = tuple(d for _, d in reached)
        return [(dest, data)] if data and _reportable(dest) else []
    where: dict[tuple, set[Destination]] = {}
    for ctx, _ in reached:
        if ctx not in where:
            where[ctx] = {dest for dest, ctxs in routes.items() if any(compatible(ctx, c) for c in ctxs)} \
                or set(routes)
    out: list[tuple[Destination, tuple[DataReach, ...]]] = []
    sent_abroad: set[int] = set()  # data already reported with a known foreign destination
    groups = _groups(list(routes))
    for dest, members, folded in sorted(groups, key=lambda g: g[2]):  # folded ones last
        indexes = [i for i, (ctx, _) in enumerate(reached) if where[ctx] & set(members)]
        if folded:
            # Noted on the foreign destinations; reported on its own only for data sent there alone.
            indexes = [i for i in indexes if i not in sent_abroad]
        if not indexes:
            continue
        if dest.verdict == Verdict.FOREIGN:
            sent_abroad.update(indexes)
        if dest.verdict == Verdict.UNKNOWN:
            ctxs = {c for m in members for c in routes[m]}
            shown = [text for ctx, text in shapes if any(compatible(ctx, c) for c in ctxs)]
            dest = replace(dest, evidence=tuple(_unique(list(dest.evidence) + shown + hints)))
        if _reportable(dest):
            out.append((dest, tuple(reached[i][1] for i in indexes)))
    return out


def _hard_coded(how: str) -> bool:
    """The URL comes from code alone: no Named Credential, label or metadata an admin can change."""
    return not how.startswith("model") and not any(
        origin in how for origin in ("Named Credential", "Custom Label", "Custom Metadata", "unresolved", CONFIGURED))


def _reportable(dest: Destination) -> bool:
    return dest.verdict == Verdict.FOREIGN or (dest.verdict == Verdict.UNKNOWN and bool(dest.evidence or dest.provider))


def _guarded_requests(program, linker, apex: list[FileFacts], guards: tuple[str, ...]) -> list[tuple[str, str, int]]:
    """(function, request node, line) for every call of a policy residency guard on a request."""
    if not guards:
        return []
    wanted = {g.lower() for g in guards}
    out = []
    for facts in apex:
        for c in facts.calls:
            names = {fn.display.lower() for fn in program.call_targets.get(c.site, ())}
            if c.static_type:
                names.add(f"{c.static_type.rsplit('.', 1)[-1]}.{c.name}")
            if not names & wanted:
                continue
            context = context_of(program.functions, c.caller + "#")
            for values in c.args:
                for inflow in values:
                    out.append((c.caller, linker.source_end(inflow.ref, context)[0], c.location.line))
    return out


def _trigger_objects(program, apex: list[FileFacts]) -> dict[str, set[str]]:
    """For each function, the SObjects of the triggers that can call it: what `Trigger.new` holds
    when a handler class reads it (trigger -> handler.run() -> afterInsert(...))."""
    callees: dict[str, set[str]] = {}
    for facts in apex:
        for c in facts.calls:
            for fn in program.call_targets.get(c.site, ()):
                callees.setdefault(c.caller, set()).add(fn.fid)
    out: dict[str, set[str]] = {}
    for fn in program.functions.values():
        cls = program.classes.get(fn.cls)
        if cls is None or cls.kind != "trigger" or not cls.trigger_object:
            continue
        seen, todo = {fn.fid}, [fn.fid]
        while todo:
            for nxt in callees.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        for fid in seen:
            out.setdefault(fid, set()).add(cls.trigger_object)
    return out


def _add_source(table, add, node, obj, fields, display, how, location, scalar=False, contexts=((),)) -> None:
    for path, shown in zip(fields, display):
        table.append(("data", (obj, how, shown)))
        if path == ("*",):
            what = "records of an object chosen at run time" if obj == RUNTIME_OBJECT else f"every field of {obj}"
            add(node, (len(table) - 1, ("*",), (), False), Step(location, f"{what} read by {how}"), contexts)
        else:
            add(node, (len(table) - 1, () if scalar else path, path, False),
                Step(location, f"{obj}.{shown} read by {how}"), contexts)


def _data_reach(catalog: FieldCatalog, payload, arrival, memo: dict) -> DataReach:
    obj, how, shown = payload
    _src, _rel, fld, whole = arrival.label
    if (obj, fld) not in memo:
        if not fld and obj == RUNTIME_OBJECT:
            memo[(obj, fld)] = (FieldRef(obj, "*"), FieldClass(
                Sensitivity.UNKNOWN, "other", "records of an object known only at run time"))
        elif not fld:
            memo[(obj, fld)] = (FieldRef(obj, "*"), catalog.classify_object(obj))
        else:
            ref = catalog.resolve(obj, fld)
            if len(fld) > 1 and ref.object == POLYMORPHIC:
                # Task.Who.Name: the Name object stands for any record Who points at. Classified as
                # Name.Name, but named by its path, or What.Name would be the same datum.
                path = shown if shown.lower() == ".".join(fld) else ".".join(_api_case(p) for p in fld)
                memo[(obj, fld)] = (FieldRef(obj, path), catalog.classify(ref))
            else:
                if ref.field == ref.field.lower():
                    # Neither the catalog nor the org knows this field: spell it as the query did, or
                    # as API names usually are (a field read from a record that holds every field).
                    spelled = shown.split(".")[-1] if shown.lower().endswith(ref.field) else _api_case(ref.field)
                    ref = FieldRef(ref.object, spelled)
                memo[(obj, fld)] = (ref, catalog.classify(ref))
    return _arrived(memo[(obj, fld)], how, arrival)


def _arrived(classified: tuple[FieldRef, FieldClass], how: str, arrival) -> DataReach:
    ref, klass = classified
    _src, rel, fld, whole = arrival.label
    whole = whole or not fld
    certain = not (how in DYNAMIC_QUERY_APIS and (not fld or "*" in rel))
    return DataReach(ref, klass, whole or "*" in rel, arrival.steps, certain)


def _inside(inner, outer) -> bool:
    """Whether location `inner` lies within the span of `outer` (same file)."""
    return inner.path == outer.path and (inner.line, inner.col) >= (outer.line, outer.col) and \
        (inner.end_line, inner.end_col) <= (outer.end_line, outer.end_col)


def _inline_query(expr) -> bool:
    """`Database.getQueryLocator([SELECT ...])`: the argument is a static query, not a string."""
    return len(expr) == 1 and expr[0][0] == "unknown" and str(expr[0][1]).lstrip().startswith("[")


def _excluded_classes(program) -> set[str]:
    """Test classes and HTTP mocks: their callouts never run in production."""
    out = set(program.test_classes)
    for name, c in program.classes.items():
        if any(i.split(".")[-1] in ("httpcalloutmock", "webservicemock") for i in c.interfaces):
            out.add(name)
    return out


def _unique(items: list) -> list:
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


SELECT = re.compile(r"\bselect\s", re.IGNORECASE)
# SOSL built at run time: FIND '...' RETURNING Object(Field, Field WHERE ... LIMIT n), Other(...)
RETURNING = re.compile(r"\breturning\s+([A-Za-z_][\w]*)\s*(\(([^()]*)\))?", re.IGNORECASE)
SOSL_CLAUSE = re.compile(r"\s(where|order\s+by|limit|offset|using)\s", re.IGNORECASE)


def _parse_sosl(text: str) -> tuple[str, tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """The first object a SOSL search returns and its fields; ("", (), ()) when there is none.
    A field list with a part unknown here is every field; no list is the Id only."""
    m = RETURNING.search(text)
    if m is None or HOLE in m.group(1):
        return "", (), ()
    if m.group(2) is None:
        return m.group(1), (("id",),), ("Id",)
    listed = SOSL_CLAUSE.split(" " + m.group(3) + " ", maxsplit=1)[0]
    if HOLE in listed:
        return m.group(1), (("*",),), ("*",)
    names = tuple(n.strip() for n in listed.split(",") if n.strip())
    return m.group(1), tuple(tuple(p.lower() for p in n.split(".")) for n in names), names
FROM = re.compile(r"\sfrom\s+([A-Za-z_\x00][\w\x00]*)", re.IGNORECASE)


def parse_soql(text: str) -> tuple[str, tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """The object and select list of a SOQL string built at run time (HOLE marks the parts built
    from values unknown here). A select list with an unknown part, or FIELDS(...), is every field."""
    start = SELECT.search(text)
    if not start:
        return _parse_sosl(text)
    obj, items = soql_select_items(text[start.start():])
    if not obj:
        # Not readable as a whole: an object or a select list with an unknown part. Two linear
        # searches (the first SELECT, then the first FROM after it) rather than one regex, whose
        # lazy match would be quadratic on text full of `select`.
        end = FROM.search(text, start.end() - 1)
        if not end or HOLE in end.group(1):
            return "", (), ()  # FROM an object chosen at run time: nothing known to classify
        return end.group(1), (("*",),), ("*",)
    names = soql_fields(items)
    if any(HOLE in item for item in items) or any("FIELDS(" in n for n in names):
        return obj, (("*",),), ("*",)
    return obj, tuple(tuple(p.lower() for p in n.split(".")) for n in names), names
