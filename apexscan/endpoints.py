"""Where a request goes: symbolic string expressions -> URLs -> classified destinations.

String values are computed on demand from the definitions `link.py` collected (literals,
constants, parameters at every call site, returns, Custom Labels, Custom Metadata records,
Named Credentials). Anything read at run time stays a hole, named in the message, and the
destination is then "unknown" — never "safe".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import product

from .facts import Ref, StrExpr
from .model import Destination, Verdict

HOLE = "\x00"  # a part of the string that cannot be known from the project
MODEL = "model:"  # prefix of a Salesforce model API name (aiplatform.ModelsAPI), not a URL
MAX_VALUES = 8  # candidate strings kept per expression (a union, e.g. a ternary or several callers)
MAX_DEPTH = 12


@dataclass(frozen=True, slots=True)
class StrValue:
    text: str  # with HOLE where a part is unknown
    how: tuple[str, ...]  # where the known parts came from ("constant OpenAiClient.ENDPOINT" ...)
    unknown: tuple[str, ...]  # what the holes are ("custom setting AI_Settings__c.getOrgDefaults()")


class Resolver:
    """Evaluates string expressions over a linked program and the project's metadata."""

    def __init__(self, linker, metadata, classify, llm_path, name_hint, classify_model=None):
        self.linker = linker
        self.metadata = metadata
        self.classify = classify  # url -> Destination
        self.llm_path = llm_path  # path -> evidence text or ""
        self.name_hint = name_hint  # name -> evidence text or ""
        self.classify_model = classify_model  # Salesforce model API name -> Destination
        self._memo: dict[str, tuple[StrValue, ...]] = {}

    # --- string values --------------------------------------------------------------------------

    def evaluate(self, expr: StrExpr, context: str, depth: int = 0) -> tuple[StrValue, ...]:
        values: tuple[StrValue, ...] = (StrValue("", (), ()),)
        for part in expr:
            options = self._part(part, context, depth)
            values = tuple(
                StrValue(a.text + b.text, _merge(a.how, b.how), _merge(a.unknown, b.unknown))
                for a, b in product(values, options))[:MAX_VALUES]
        return values

    def _part(self, part: tuple, context: str, depth: int) -> tuple[StrValue, ...]:
        kind = part[0]
        if kind == "lit":
            return (StrValue(part[1], (), ()),)
        if kind == "choice":
            return (self.evaluate(part[1], context, depth) + self.evaluate(part[2], context, depth))[:MAX_VALUES]
        if kind == "label":
            label = self.metadata.label(part[1])
            if label is None:
                return (StrValue(HOLE, (), (f"Custom Label {part[1]} is not in this project",)),)
            return (StrValue(label.value, (f"Custom Label {label.name}",), ()),)
        if kind == "cmdt":
            return self._cmdt(part[1], part[2], part[3])
        if kind == "setting":
            return (StrValue(HOLE, (), (f"custom setting read at run time: {part[1]}",)),)
        if kind == "orgurl":
            return (StrValue("https://org.my.salesforce.com", ("the org's own URL",), ()),)
        if kind == "ref":
            return self._ref(part[1], context, depth)
        if kind == "call":
            return self._node(f"@call:{part[1]}", context, depth, part[1])
        if kind == "model":
            return tuple(StrValue(MODEL + v.text, v.how, v.unknown) for v in self.evaluate(part[1], context, depth))
        if kind == "esr":
            return self._external_service(part[1])
        if kind == "mapget":
            return self._map_get(part[1], part[2], context, depth)
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
                for part in self._single_parts(node, context, "cmdtrec"):
                    out.extend(self._cmdt(part[1], part[2], rest[0]))
            if out:
                return tuple(_dedupe(out)[:MAX_VALUES])
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
            for expr, def_ctx in self.linker.strdefs.get(cur, ()):
                if len(expr) != 1:
                    continue
                part = expr[0]
                if part[0] in kinds:
                    found.append((part, def_ctx))
                elif part[0] == "ref" and not part[1].path:
                    todo.append((self.linker.place(part[1], def_ctx)[0], def_ctx))
                elif part[0] == "call":
                    todo.append((f"@call:{part[1]}", def_ctx))
        return [p for p, _ in found] if kinds == ("cmdtrec",) else found

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
            return tuple(_dedupe(out)[:MAX_VALUES])
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
                out.extend(self._node(f"{fn.fid}#return", fn.cls, depth, fn.display))
            return tuple(out[:MAX_VALUES])
        if node in self._memo:
            return self._memo[node]
        if depth > MAX_DEPTH:
            return (StrValue(HOLE, (), ("value passed through too many steps",)),)
        self._memo[node] = (StrValue(HOLE, (), ("a value that depends on itself",)),)  # cycle guard
        defs = self.linker.strdefs.get(node, ())
        out = []
        for expr, ctx in defs:
            out.extend(self.evaluate(expr, ctx, depth + 1))
        if not out:
            out = [StrValue(HOLE, (), (f"{_display_node(node)} is not set in this project",))]
        elif node.startswith("F:"):
            const = self._field_display(node)
            out = [replace(v, how=_merge((f"constant {const}",), v.how)) if HOLE not in v.text else v
                   for v in out]
        result = tuple(_dedupe(out)[:MAX_VALUES])
        self._memo[node] = result
        return result

    def _external_service(self, name: str) -> tuple[StrValue, ...]:
        """An External Service registration calls out through its Named Credential."""
        lookup = getattr(self.metadata, "external_service", None)
        registration = lookup(name) if lookup is not None else None
        nc = getattr(registration, "named_credential", "") if registration is not None else ""
        if not nc:
            reason = (f"External Service registration {name} is not in this project" if registration is None
                      else f"External Service registration {name} names no Named Credential")
            return (StrValue("callout:" + HOLE, (), (reason, name)),)
        return (StrValue(f"callout:{nc}", (f"External Service {name}",), ()),)

    def _field_display(self, node: str) -> str:
        """F:complainttriageservice.url -> ComplaintTriageService.URL (as the code spells them)."""
        cls, _, name = node[2:].rpartition(".")
        info = self.linker.table.classes.get(cls)
        if info is None:
            return node[2:]
        spelled = next((n for n in info.field_names if n.lower() == name), name)
        return f"{info.display}.{spelled}"

    def _cmdt(self, type_name: str, record: str | None, field_name: str) -> tuple[StrValue, ...]:
        found = ([self.metadata.cmdt_record(type_name, record)] if record
                 else list(self.metadata.cmdt_type_records(type_name)))
        records = [(f"{r.type}.{r.record}.{v.field}", v.value) for r in found if r is not None
                   for v in r.values if v.field.lower() == field_name and v.value is not None]
        if not records:
            where = f"{type_name}__mdt.{record or '*'}.{field_name}"
            return (StrValue(HOLE, (), (f"Custom Metadata {where} is not in this project",)),)
        return tuple(StrValue(v, (f"Custom Metadata {name}",), ()) for name, v in records[:MAX_VALUES])

    # --- destinations ---------------------------------------------------------------------------

    def destinations(self, values: tuple[StrValue, ...]) -> tuple[Destination, ...]:
        out: list[Destination] = []
        for v in values:
            out.extend(self.candidates(v))
        return tuple(out)

    def candidates(self, value: StrValue) -> list[Destination]:
        """Where a value may send the request. A `callout:` whose Named Credential name is read at
        run time may reach any of the project's Named Credentials that point at an LLM API."""
        dest = self.destination(value)
        if dest.verdict != Verdict.UNKNOWN or not dest.how.startswith("unresolved: Named Credential name"):
            return [dest]
        path = value.text[len("callout:"):].split(HOLE, 1)[-1] if HOLE in value.text else ""
        found = []
        for nc in sorted(self.metadata.named_credentials.values(), key=lambda n: n.name.lower()):
            if not nc.url:
                continue
            option = self._classified(nc.url.rstrip("/") + path, nc.url.rstrip("/") + path,
                                      f"Named Credential {nc.name}, one of the project's LLM Named "
                                      "Credentials (the name is read at run time)")
            if option.provider or option.verdict == Verdict.UNKNOWN:
                found.append(option)
        return found or [dest]

    def destination(self, value: StrValue) -> Destination:
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
                return replace(dest, verdict=Verdict.UNKNOWN, evidence=(hint,),
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
        if nc is None or not nc.url:
            reason = (f"Named Credential {name} is not in this project" if nc is None
                      else f"Named Credential {name} has no URL in this project")
            return self._unresolved(value, shown, reason, path, name)
        url = nc.url.rstrip("/") + (path if path.startswith(("/", "?")) or not path else "/" + path)
        return self._classified(url, url.replace(HOLE, "{?}"), f"Named Credential {nc.name}")

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


def _has_host(prefix: str) -> bool:
    m = re.match(r"^[a-z][a-z0-9+.-]*://([^/?#]+)", prefix, re.IGNORECASE)
    return bool(m) and (m.end() < len(prefix))


def _display_node(node: str) -> str:
    if node.startswith("F:"):
        return node[2:]
    fid, _, name = node.partition("#")
    return f"{name} in {fid.split('/', 1)[0]}"


def _merge(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return a + tuple(x for x in b if x not in a)


def _dedupe(items):
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out
