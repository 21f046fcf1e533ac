"""Where a request goes: symbolic string expressions -> URLs -> classified destinations.

String values are computed on demand from the definitions `link.py` collected (literals,
constants, parameters at every call site, returns, Custom Labels, Custom Metadata records,
Named Credentials). Anything read at run time stays a hole, named in the message, and the
destination is then "unknown" — never "safe".

A value also says under which call strings it holds (`StrValue.contexts`): the URL a shared helper
gets from one caller is pushed with that call site, and popped again when a value is returned to
its caller. The search then seeds each endpoint in those call strings only, so a helper called with
an LLM endpoint from one place and with record data and another endpoint from another does not
send the second caller's data to the first caller's endpoint.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import islice, product

from apexscan.engine.facts import Ref, StrExpr
from apexscan.engine.model import Destination, Verdict
from apexscan.engine.taint import K, compatible

HOLE = "\x00"  # a part of the string that cannot be known from the project
MODEL = "model:"  # prefix of a Salesforce model API name (aiplatform.ModelsAPI), not a URL
TEMPLATE = "template:"  # prefix of a Prompt Builder template name run from Apex
MISSING_ESR = "esr:"  # prefix of the name of an External Service registration that is not in the project
# In Destination.how: the destination is inferred from names, not read from the project's metadata.
ASSUMED = "assumed: "
# In Destination.how: the URL (or part of it) is a configuration value an operator can change.
CONFIGURED = "configured by "
# Words too common in integration names to tie a registration to a Named Credential.
GENERIC_NAME_WORDS = frozenset({
    "send", "hook", "hooks", "webhook", "http", "https", "callout", "service", "services", "named",
    "credential", "credentials", "external", "integration", "api", "request", "action", "invoke",
    "post", "flow", "registration", "endpoint", "call", "data", "connector", "connection", "client"})
MAX_VALUES = 16  # candidate strings kept per expression (a union, e.g. a ternary or several callers)
MAX_DEPTH = 12
ANY: tuple[tuple[str, ...], ...] = ((),)  # holds whoever called: the empty call string


@dataclass(frozen=True, slots=True)
class StrValue:
    text: str  # with HOLE where a part is unknown
    how: tuple[str, ...]  # where the known parts came from ("constant OpenAiClient.ENDPOINT" ...)
    unknown: tuple[str, ...]  # what the holes are ("custom setting AI_Settings__c.getOrgDefaults()")
    # The call strings (call sites, outermost first, at most taint.K) of the function the value is
    # computed in under which it holds; ANY when it holds whoever called.
    contexts: tuple[tuple[str, ...], ...] = ANY


class Resolver:
    """Evaluates string expressions over a linked program and the project's metadata."""

    def __init__(self, linker, metadata, classify, llm_path, name_hint, classify_model=None, provider_host=None,
                 shared_path=None, private_region=None):
        self.linker = linker
        self.metadata = metadata
        self.classify = classify  # url -> Destination
        self.llm_path = llm_path  # path -> evidence text or ""
        self.shared_path = shared_path  # path -> whether non-LLM APIs use that LLM API path too
        # (destination, region code, why) -> the destination with a Private Connect region
        self.private_region = private_region
        self.name_hint = name_hint  # name -> evidence text or ""
        self.classify_model = classify_model  # Salesforce model API name -> Destination
        # (credential name, path) -> the fixed host of the provider both point at, or ""
        self.provider_host = provider_host
        self._memo: dict[str, tuple[StrValue, ...]] = {}

    # --- string values --------------------------------------------------------------------------

    def evaluate(self, expr: StrExpr, context: str, depth: int = 0) -> tuple[StrValue, ...]:
        values: tuple[StrValue, ...] = (StrValue("", (), ()),)
        for part in expr:
            options = self._part(part, context, depth)
            combined = []
            for a, b in product(values, options):
                both = _meet(a.contexts, b.contexts)
                if both:  # two parameters bound at different call sites never meet
                    combined.append(StrValue(a.text + b.text, _merge(a.how, b.how),
                                             _merge(a.unknown, b.unknown), both))
            values = _capped(_dedupe_values(combined))
        return values

    def _part(self, part: tuple, context: str, depth: int) -> tuple[StrValue, ...]:
        kind = part[0]
        if kind == "lit":
            return (StrValue(part[1], (), ()),)
        if kind == "choice":  # ("choice", alternative, ...)
            return _capped(tuple(islice((v for branch in part[1:] for v in self.evaluate(branch, context, depth)),
                                        MAX_VALUES + 1)))
        if kind == "label":
            label = self.metadata.label(part[1])
            if label is None:
                return (StrValue(HOLE, (), (f"Custom Label {part[1]} is not in this project",)),)
            return (StrValue(label.value, (f"Custom Label {label.name}",), ()),)
        if kind == "cmdt":
            return self._cmdt(part[1], part[2], part[3], context, depth)
        if kind == "setting":
            return (StrValue(HOLE, (), (f"custom setting read at run time: {part[1]}",)),)
        if kind == "orgurl":
            return (StrValue("https://org.my.salesforce.com", ("the org's own URL",), ()),)
        if kind == "ref":
            return self._ref(part[1], context, depth)
        if kind == "call":
            return self._node(f"@call:{part[1]}", context, depth, part[1])
        if kind == "model":
            return tuple(replace(v, text=MODEL + v.text) for v in self.evaluate(part[1], context, depth))
        if kind == "template":  # ("template", name, whether the name is written in the call)
            prefix = TEMPLATE if part[2] else TEMPLATE + HOLE  # a name passed in is not linked to it
            return tuple(replace(v, text=prefix + v.text) for v in self.evaluate(part[1], context, depth))
        if kind == "esr":
            return self._external_service(part[1], part[2] if len(part) > 2 else "")
        if kind == "mapget":  # the map may come from another method: no call string is kept
            return _dedupe_values(replace(v, contexts=ANY) for v in self._map_get(part[1], part[2], context, depth))
        if kind == "config":
            return self._config(part, context, depth)
        if kind in ("map", "mapentry", "cmdtrec"):
            return (StrValue(HOLE, (), ("a map or record used as text",)),)
        return (StrValue(HOLE, (), (f"value computed at run time: {part[1]}",)),)

    def _ref(self, ref: Ref, context: str, depth: int) -> tuple[StrValue, ...]:
        node, _, rest = self.linker.place(ref, context)
        if rest and f"{node}|{'.'.join(rest)}" in self.linker.strdefs:
            return self._node(f"{node}|{'.'.join(rest)}", context, depth, node)
        if rest:
            # rec.Endpoint__c where rec = X__mdt.getInstance('Name') or [SELECT ... FROM X__mdt]
            out: list[StrValue] = []
            if len(rest) == 1:
                for part, def_ctx in self._single_parts(node, context, "cmdtrec"):
                    out.extend(self._cmdt(part[1], part[2], rest[0], def_ctx, depth))
            if out:
                return _capped(tuple(_dedupe(out)))
            settings = [p[1] for p, _ in self._single_parts(node, context, "setting")]
            field_name = ".".join(rest)
            if settings:
                return (StrValue(HOLE, (), (f"custom setting read at run time: {settings[0]}.{field_name}",)),)
            return (StrValue(HOLE, (), (f"field {field_name} of a value read at run time",)),)
        return self._node(node, context, depth, node)

    def _single_parts(self, node: str, context: str, kinds: str | tuple[str, ...]):
        """Definitions of `node` that are one part of a given kind, following plain copies,
        calls and returns (a map built in one method and read in another)."""
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        seen, todo, found = set(), [(node, context)], []
        while todo and len(seen) < 64:
            cur, ctx = todo.pop()
            if cur in seen:
                continue
            seen.add(cur)
            if cur.startswith("@call:"):
                todo.extend((f"{fn.fid}#return", fn.cls) for fn in self.linker.call_targets.get(cur[6:], ()))
                continue
            for expr, def_ctx, _site in self.linker.strdefs.get(cur, ()):
                if len(expr) != 1:
                    continue
                part = expr[0]
                if part[0] in kinds:
                    found.append((part, def_ctx))
                elif part[0] == "ref" and not part[1].path:
                    todo.append((self.linker.place(part[1], def_ctx)[0], def_ctx))
                elif part[0] == "call":
                    todo.append((f"@call:{part[1]}", def_ctx))
        return found

    def _map_get(self, ref: Ref, key: StrExpr, context: str, depth: int) -> tuple[StrValue, ...]:
        node, _, rest = self.linker.place(ref, context)
        wanted = {v.text.lower() for v in self.evaluate(key, context, depth + 1) if HOLE not in v.text}
        out: list[StrValue] = []
        for part, ctx in ([] if rest else self._single_parts(node, context, ("map", "mapentry"))):
            entries = part[1] if part[0] == "map" else ((part[1], part[2]),)
            for k, v in entries:
                keys = {x.text.lower() for x in self.evaluate(k, ctx, depth + 1)}
                if keys & wanted:
                    out.extend(self.evaluate(v, ctx, depth + 1))
        if out:
            return _capped(tuple(_dedupe(out)))
        shown = ", ".join(sorted(wanted)) or "a key computed at run time"
        return (StrValue(HOLE, (), (f"map value for {shown} filled at run time",)),)

    def _node(self, node: str, context: str, depth: int, label: str) -> tuple[StrValue, ...]:
        if node.startswith("@call:"):
            site = node[len("@call:"):]
            callees = self.linker.call_targets.get(site, [])
            if not callees:
                return (StrValue(HOLE, (), (f"result of a platform call ({site.split(':', 1)[-1]})",)),)
            out: list[StrValue] = []
            for fn in callees:
                for v in self._node(f"{fn.fid}#return", fn.cls, depth, fn.display):
                    back = _pop(v.contexts, site)
                    if back:  # values the callee returns only when called from elsewhere are dropped
                        out.append(replace(v, contexts=back))
            return _capped(tuple(_dedupe_values(out)))
        if node in self._memo:
            return self._memo[node]
        if depth > MAX_DEPTH:
            return (StrValue(HOLE, (), ("value passed through too many steps",)),)
        self._memo[node] = (StrValue(HOLE, (), ("a value that depends on itself",)),)  # cycle guard
        defs = self.linker.strdefs.get(node, ())
        out = []
        for expr, ctx, site in defs:
            for v in self.evaluate(expr, ctx, depth + 1):
                # An argument bound at `site`: it holds in this function when called from there.
                out.append(replace(v, contexts=_push(v.contexts, site)) if site else v)
        if node.startswith(("F:", "E:")):  # a field is shared by every caller (the heap)
            out = [replace(v, contexts=ANY) for v in out]
        if not out:
            out = [StrValue(HOLE, (), (f"{_display_node(node)} is not set in this project",))]
        elif node.startswith("F:"):
            const = self._field_display(node)
            out = [replace(v, how=_merge((f"constant {const}",), v.how)) if HOLE not in v.text else v
                   for v in out]
        result = _capped(tuple(_dedupe_values(out)))
        self._memo[node] = result
        return result

    def _external_service(self, name: str, operation: str = "") -> tuple[StrValue, ...]:
        """An External Service registration calls out through its Named Credential. One that is not
        in the project is kept by name (`candidates` looks for a Named Credential of that name)."""
        lookup = getattr(self.metadata, "external_service", None)
        registration = lookup(name) if lookup is not None else None
        nc = getattr(registration, "named_credential", "") if registration is not None else ""
        if registration is None or not nc:
            reason = (f"External Service registration {name} is not in this project" if registration is None
                      else f"External Service registration {name} names no Named Credential")
            return (StrValue(MISSING_ESR + name, (), (reason,) + tuple(n for n in (operation,) if n)),)
        return (StrValue(f"callout:{nc}", (f"External Service {name}",), ()),)

    def _config(self, part: tuple, context: str, depth: int) -> tuple[StrValue, ...]:
        """A configuration key (Mule property, environment variable): the unit's configured values;
        failing those, the default the code gives and the values of example files (an
        `.env.example` says what is meant, not what runs: ASSUMED, so findings are medium confidence)."""
        _, path, key, default, what = part
        lookup = getattr(self.metadata, "config", None)
        found = lookup(path, key) if lookup is not None and key else ()
        real = [v for v in found if v.confidence == "high"]
        if real:
            return _capped(tuple(StrValue(v.value, (f"{CONFIGURED}{what} {key} in {v.origin}",), ()) for v in real))
        out: list[StrValue] = []
        if default:
            # no key: the value is written in the unit's own configuration (a Mule global element)
            origin = f"{CONFIGURED}the default of {what} {key}" if key else f"{CONFIGURED}{what}"
            out.extend(replace(v, how=(origin,) + v.how) for v in self.evaluate(default, context, depth + 1))
        out.extend(StrValue(v.value, (f"{ASSUMED}{CONFIGURED}{what} {key} in {v.origin}, an example",), ())
                   for v in found)
        if not out:
            return (StrValue(HOLE, (), (f"{what} {key} has no value in this repository",)),)
        return _capped(_dedupe_values(out))

    def _field_display(self, node: str) -> str:
        """F:complainttriageservice.url -> ComplaintTriageService.URL (as the code spells them)."""
        cls, _, name = node[2:].rpartition(".")
        info = self.linker.table.classes.get(cls)
        if info is None:
            return node[2:]
        spelled = next((n for n in info.field_names if n.lower() == name), name)
        return f"{info.display}.{spelled}"

    def _cmdt(self, type_name: str, record: str | StrExpr | None, field_name: str, context: str = "",
              depth: int = 0) -> tuple[StrValue, ...]:
        """A field of a custom metadata record: of the record named (a literal, or a constant
        that resolves to one or more names), else of every record of the type."""
        names: list[str] = []
        if isinstance(record, tuple):
            values = self.evaluate(record, context, depth + 1)
            names = [v.text.lower() for v in values if v.text and HOLE not in v.text]
            if len(names) < len(values):
                names = []  # a name computed at run time: any record of the type
        elif record:
            names = [record]
        found = ([self.metadata.cmdt_record(type_name, name) for name in _dedupe(names)] if names
                 else list(self.metadata.cmdt_type_records(type_name)))
        records = [(f"{r.type}.{r.record}.{v.field}", v.value) for r in found if r is not None
                   for v in r.values if v.field.lower() == field_name and v.value is not None]
        if not records:
            where = f"{type_name}__mdt.{'/'.join(names) or '*'}.{field_name}"
            return (StrValue(HOLE, (), (f"Custom Metadata {where} is not in this project",)),)
        return _capped(tuple(StrValue(v, (f"Custom Metadata {name}",), ()) for name, v in records))

    # --- destinations ---------------------------------------------------------------------------

    def candidates(self, value: StrValue) -> list[Destination]:
        """Where a value may send the request. A `callout:` whose Named Credential name is read at
        run time may reach any of the project's Named Credentials that point at an LLM API."""
        if value.text.startswith(MISSING_ESR):
            return self._missing_registration(value.text[len(MISSING_ESR):], value.unknown[0], value.unknown[1:])
        dest = self.destination(value)
        if dest.verdict != Verdict.UNKNOWN or not dest.how.startswith("unresolved: Named Credential name"):
            return [dest]
        path = value.text[len("callout:"):].split(HOLE, 1)[-1] if HOLE in value.text else ""
        found = self._llm_credentials(path, "(the name is read at run time)")
        return found or [dest]

    def _template(self, name: str, shown: str, value: StrValue) -> Destination:
        """A Prompt Builder template run from Apex: when it is in the project, it is the sink (with
        its model) and this call is not; otherwise its model, and so where the data goes, is unknown."""
        if HOLE not in name and f"template:{name.lower()}" in self.linker.functions:
            return Destination(name, "", "", "", "", Verdict.IN_ORG, f"Prompt Builder template {name}, "
                               "analysed as the sink itself")
        known = name.replace(HOLE, "")
        if HOLE not in name:
            why = f"Prompt Builder template {name} is not in this project"
        elif known:
            why = f"Prompt Builder template {known}, passed in as a name"
        else:
            why = "Prompt Builder template named at run time" + (f" ({'; '.join(value.unknown)})" if value.unknown else "")
        shown = known or shown
        return Destination(shown or "{?}", "", "Salesforce-hosted model", "", "", Verdict.UNKNOWN,
                           f"unresolved: {why}; its model decides where the data goes",
                           evidence=("Prompt Builder template call",))

    def _llm_credentials(self, path: str, why: str) -> list[Destination]:
        """The project's Named Credentials that point at an LLM API by their own URL or name (not
        merely because the code appends an LLM-style path to, say, a Slack webhook)."""
        found = []
        for nc in sorted(self.metadata.named_credentials.values(), key=lambda n: n.name.lower()):
            if not nc.url:
                continue
            own = self._classified(nc.url, nc.url, "")
            if not (own.provider or own.verdict == Verdict.UNKNOWN or self.name_hint(nc.name)):
                continue
            option = self._classified(nc.url.rstrip("/") + path, nc.url.rstrip("/") + path,
                                      f"Named Credential {nc.name}, one of the project's LLM Named Credentials {why}")
            if option.provider or option.verdict == Verdict.UNKNOWN:
                found.append(option)
        return found

    def _missing_registration(self, name: str, missing: str, operation: tuple[str, ...]) -> list[Destination]:
        """A Flow External Service action whose registration, or its Named Credential, is not in
        the project (retrieved org source often leaves out the registrations that Flow HTTP Callout
        actions create): the Named Credential of the same name if there is one; the project's LLM
        Named Credentials only when the registration's or operation's name says LLM; otherwise an
        unknown endpoint without LLM evidence, which is not reported."""
        named = [nc for nc in sorted(self.metadata.named_credentials.values(), key=lambda n: n.name.lower())
                 if nc.url and _same_name(nc.name, name)]
        if named:
            return [self._classified(nc.url, nc.url, f"Named Credential {nc.name} ({ASSUMED}{missing}; "
                                                     "the names match)") for nc in named]
        hints = _dedupe([h for h in (self.name_hint(name), *(self.name_hint(o) for o in operation)) if h])
        if hints:
            found = self._llm_credentials("", f"({ASSUMED}{missing}; {hints[0]})")
            if found:
                return found
        return [Destination(f"callout:{name}", "", "", "", "", Verdict.UNKNOWN, f"unresolved: {missing}",
                            evidence=tuple(hints))]

    def destination(self, value: StrValue) -> Destination:
        """One destination for a value; `candidates` handles missing registrations before this."""
        text = value.text
        shown = text.replace(HOLE, "{?}")
        how = "; ".join(value.how) or "literal"
        if text.startswith(MODEL):
            name = text[len(MODEL):]
            if HOLE in name or not name or self.classify_model is None:
                return Destination(shown[len(MODEL):] or "{?}", "", "Salesforce-hosted model", "", "",
                                   Verdict.UNKNOWN, "unresolved: model name read at run time"
                                   + (f" ({'; '.join(value.unknown)})" if value.unknown else ""),
                                   evidence=("Salesforce Models API call",))
            return replace(self.classify_model(name), url=name, host=name, how=f"model {how}")
        if text.startswith(TEMPLATE):
            return self._template(text[len(TEMPLATE):], shown[len(TEMPLATE):], value)
        if text.lower().startswith("callout:"):
            return self._callout(value, shown)
        if text.startswith("/") or "org.my.salesforce.com" in text:
            return Destination(shown, "", "", "", "", Verdict.IN_ORG, how or "relative URL")
        host_part = text.split(HOLE, 1)[0]
        if HOLE in text and not _has_host(host_part):
            return self._unresolved(value, shown, "; ".join(value.unknown), text)
        return self._classified(text, shown, how)

    def _classified(self, url: str, shown: str, how: str) -> Destination:
        dest = replace(self.classify(url.replace(HOLE, "")), url=shown, how=how)
        if dest.verdict == Verdict.NOT_LLM:
            hint = self.llm_path(url.replace(HOLE, "/"))
            if hint:  # a host we do not know, serving an LLM-shaped API (a self-hosted gateway)
                shared = bool(self.shared_path and self.shared_path(url.replace(HOLE, "/")))
                return replace(dest, verdict=Verdict.UNKNOWN, evidence=(hint,), needs_shape=shared,
                               note=f"{dest.host} is not a known LLM provider, but {hint}.")
        return dest

    def _callout(self, value: StrValue, shown: str) -> Destination:
        rest = value.text[len("callout:"):]
        name = re.split(r"[/?]", rest, maxsplit=1)[0]
        path = rest[len(name):]
        if HOLE in name or not name:
            reason = "Named Credential name read at run time" + (
                f" ({'; '.join(value.unknown)})" if value.unknown else "")
            return self._unresolved(value, shown, reason, path)
        nc = self.metadata.named_credential(name)
        if nc is None:
            assumed = self._missing_credential(name, path)
            if assumed is not None:
                return assumed
        if nc is None or not nc.url:
            reason = (f"Named Credential {name} is not in this project" if nc is None
                      else f"Named Credential {name} has no URL in this project")
            return self._unresolved(value, shown, reason, path, name)
        url = nc.url.rstrip("/") + (path if path.startswith(("/", "?")) or not path else "/" + path)
        return self.through_network(nc, self._classified(url, url.replace(HOLE, "{?}"), f"Named Credential {nc.name}"))

    def through_network(self, nc, dest: Destination) -> Destination:
        """A Named Credential bound to a Private Connect outbound network connection: the
        connection's region is where its requests go."""
        if not nc.network_connection or self.private_region is None:
            return dest
        lookup = getattr(self.metadata, "network_connection", None)
        connection = lookup(nc.network_connection) if lookup is not None else None
        if connection is None:
            return replace(dest, note=(dest.note + "; " if dest.note else "") +
                           f"sent through outbound network connection {nc.network_connection}, which is not in "
                           "this project")
        return self.private_region(dest, connection.region,
                                   f"Private Connect outbound network connection {connection.name}")

    def _missing_credential(self, name: str, path: str) -> Destination | None:
        """A Named Credential that is not in the project, attributed to an LLM provider only on
        agreeing evidence: a Remote Site Setting of the same name that authorises a known LLM host,
        or a name and an API path that both point at one provider (OpenAI_API + /v1/chat/completions).
        None otherwise: the destination stays unknown."""
        missing = "it is not in this project"
        tail = path if path.startswith(("/", "?")) or not path else "/" + path
        site = self.metadata.remote_site(name)
        if site is not None and site.active and site.url:
            url = site.url.rstrip("/") + tail
            dest = self._classified(url, url.replace(HOLE, "{?}"), f"Named Credential {name} ({ASSUMED}{missing}; "
                                                                  f"Remote Site Setting {site.name} authorises {site.url})")
            if dest.provider:
                return dest
        host = self.provider_host(name, path.replace(HOLE, "/")) if self.provider_host is not None else ""
        if host:
            url = f"https://{host}{tail}"
            dest = self._classified(url, url.replace(HOLE, "{?}"), "")
            if dest.provider:
                return replace(dest, how=f"Named Credential {name} ({ASSUMED}{missing}; its name and the API path "
                                         f"both point at {dest.provider})")
        return None

    def _unresolved(self, value: StrValue, shown: str, reason: str, path: str, name: str = "") -> Destination:
        if path.startswith("/services/"):  # Salesforce's own REST API, on this org or another one
            return Destination(shown, "", "", "", "", Verdict.IN_ORG, f"a Salesforce REST API path ({reason})")
        evidence = []
        hint = self.llm_path(path.replace(HOLE, "/"))
        if hint:
            evidence.append(hint)
        if name:
            hint = self.name_hint(name)
            if hint:
                evidence.append(hint)
        for u in value.unknown:
            hint = self.name_hint(u)
            if hint:
                evidence.append(hint)
        return Destination(shown, "", "", "", "", Verdict.UNKNOWN, f"unresolved: {reason}",
                           evidence=tuple(_dedupe(evidence)))


def _same_name(credential: str, registration: str) -> bool:
    """Whether a Named Credential and an External Service registration are named alike: one
    contains the other (OpenAI / OpenAiGpt40, Make / SendHookToMake) or they share a distinctive
    word (SendGridWebhook / SendGridNamedCredential)."""
    a, b = re.sub(r"[^a-z0-9]", "", credential.lower()), re.sub(r"[^a-z0-9]", "", registration.lower())
    if min(len(a), len(b)) >= 4 and (a in b or b in a):
        return True
    return bool({w for w in _words(credential) if len(w) >= 4} & _words(registration) - GENERIC_NAME_WORDS)


def _words(name: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)}


def _has_host(prefix: str) -> bool:
    m = re.match(r"^[a-z][a-z0-9+.-]*://([^/?#]+)", prefix, re.IGNORECASE)
    return bool(m) and (m.end() < len(prefix))


def _display_node(node: str) -> str:
    if node.startswith("F:"):
        return node[2:]
    fid, _, name = node.partition("#")
    return f"{name} in {re.sub(r'/[0-9]+$', '', fid)}"  # without a method's arity


def _merge(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return a + tuple(x for x in b if x not in a)


def _dedupe(items):
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def _capped(values: tuple[StrValue, ...]) -> tuple[StrValue, ...]:
    """At most MAX_VALUES candidates; past that, the last is a hole saying so. Dropping the rest
    silently would let eight harmless alternatives in front of `'https://api.openai.com'` hide it:
    the hole makes the endpoint unknown, reported when the request shows it is an LLM call."""
    if len(values) <= MAX_VALUES:
        return tuple(values)
    more = StrValue(HOLE, (), (f"one of more than {MAX_VALUES} possible values, not all followed",))
    return tuple(values[:MAX_VALUES - 1]) + (more,)


def _dedupe_values(values) -> tuple[StrValue, ...]:
    """One value per text and origin, holding in the union of the call strings it was found in."""
    merged: dict[tuple, tuple] = {}
    for v in values:
        key = (v.text, v.how, v.unknown)
        merged[key] = _minimal(merged[key] + v.contexts) if key in merged else v.contexts
    return tuple(StrValue(text, how, unknown, contexts) for (text, how, unknown), contexts in merged.items())


def _minimal(contexts) -> tuple[tuple[str, ...], ...]:
    """Drop call strings another one in the set already covers ((x,) covers (y, x))."""
    unique = set(contexts)
    return tuple(sorted(c for c in unique
                        if not any(o != c and len(o) < len(c) and compatible(o, c) for o in unique)))


def _meet(a, b) -> tuple[tuple[str, ...], ...]:
    """The call strings under which both values hold."""
    if a == ANY:
        return b
    if b == ANY:
        return a
    return _minimal(x if len(x) >= len(y) else y for x in a for y in b if compatible(x, y))


def _push(contexts, site: str) -> tuple[tuple[str, ...], ...]:
    """A caller's value bound to a parameter at `site`, seen from the callee."""
    return _minimal((c + (site,))[-K:] for c in contexts)


def _pop(contexts, site: str) -> tuple[tuple[str, ...], ...]:
    """A callee's value returned to its caller at `site`; () when it never holds there."""
    return _minimal(c[:-1] for c in contexts if not c or c[-1] == site)
