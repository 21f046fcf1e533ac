"""Host → provider → jurisdiction and region → verdict, from the shipped registry `data/llm_hosts.toml`.

`load_registry()` reads and validates the registry once and compiles its patterns; the frozen
`Registry` is then passed to `classify_url`, `classify_model` and `looks_like_llm_path`, which are
pure functions of their arguments. The registry's header comment documents the pattern conventions.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from urllib.parse import unquote, urlsplit

from apexscan.engine.model import Destination, Verdict
from apexscan.salesforce.policy import Policy, normalize_host

REGISTRY_FILE = "llm_hosts.toml"
UNKNOWN_REGION = "unknown"  # the registry's spelling of "cannot be decided" (Destination.region is then "")
DERIVED_REGION = "{region}"  # the registry's spelling of "from the captured region code"


class RegistryError(Exception):
    """The registry data file is malformed; the message names the table, the row and the key."""


@dataclass(frozen=True, slots=True)
class HostRule:
    provider: str
    jurisdiction: str  # ISO code of the provider's legal seat
    region: str  # fixed region, DERIVED_REGION, or "" when unknown
    note: str
    trust_layer: bool  # a Salesforce-managed model behind the Einstein Trust Layer
    source: str
    llm: bool  # False: a non-LLM API of the provider on this host and path (vision, speech)
    host: re.Pattern[str]  # compiled from the host pattern; may capture "region"
    path: re.Pattern[str]  # re.match on the URL path; "" matches any path; may capture "region" or "model"


@dataclass(frozen=True, slots=True)
class ModelRule:
    provider: str
    jurisdiction: str
    region: str  # fixed region or "" when unknown
    note: str
    source: str
    name: re.Pattern[str]  # case-insensitive full match on the model API name


@dataclass(frozen=True, slots=True)
class InOrgRule:
    note: str
    source: str
    pattern: re.Pattern[str]  # full match on the host, or re.match on the path of a host-less URL


@dataclass(frozen=True, slots=True)
class RegionCode:
    region: str
    source: str
    code: re.Pattern[str]  # full match on the lower-case cloud region code


@dataclass(frozen=True, slots=True)
class PathRule:
    evidence: str  # completes "path <path> is ..."
    source: str
    pattern: re.Pattern[str]  # re.search on the URL path
    shared: bool = False  # APIs that are no LLM use the path too: alone it proves nothing on a host nobody knows


@dataclass(frozen=True, slots=True)
class Registry:
    hosts: tuple[HostRule, ...]
    models: tuple[ModelRule, ...]
    in_org_hosts: tuple[InOrgRule, ...]
    in_org_paths: tuple[InOrgRule, ...]
    region_codes: tuple[RegionCode, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...]  # (group name, members), upper-case
    llm_paths: tuple[PathRule, ...]

    def region_of(self, code: str) -> str:
        """The processing region of a cloud region code ("europe-west4" → "EU"); "" when unknown."""
        code = code.lower()
        return next((r.region for r in self.region_codes if r.code.fullmatch(code)), "")

    def accepted(self, allowed: tuple[str, ...]) -> frozenset[str]:
        """`allowed` plus the members of every group in it, recursively, upper-case."""
        members = dict(self.groups)
        seen: set[str] = set()
        todo = [a.upper() for a in allowed]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(members.get(name, ()))
        return frozenset(seen)


# --- classification ------------------------------------------------------------------------------


def classify_url(url: str, policy: Policy, registry: Registry) -> Destination:
    """Classify an endpoint URL (absolute, scheme-less, relative) against the registry and the policy."""
    text = url.strip()
    host, path = _split(text)
    if host and _host_allowed(host, policy):
        known = _match_host(host, path, policy, registry)
        note = "host allowed by the policy (allowed_hosts)"
        if known is None:
            return Destination(text, host, "", "", "", Verdict.SOVEREIGN, "", note=note)
        return dataclasses.replace(known, url=text, host=host, verdict=Verdict.SOVEREIGN, note=note)
    if not host:
        return _classify_hostless(text, path, registry)
    known = _match_host(host, path, policy, registry)
    if known is not None:
        return dataclasses.replace(known, url=text, host=host)
    in_org = next((r for r in registry.in_org_hosts if r.pattern.fullmatch(host)), None)
    if in_org is not None:
        return Destination(text, host, "", "", "", Verdict.IN_ORG, "", note=in_org.note)
    return Destination(text, host, "", "", "", Verdict.NOT_LLM, "")


def classify_model(model_name: str, policy: Policy, registry: Registry) -> Destination:
    """Classify a Salesforce-managed model API name (`sfdc_ai__DefaultOpenAIGPT4OmniMini`)."""
    name = model_name.strip()
    # the shipped registry ends with a catch-all row; a registry built for a test may not
    rule = next((m for m in registry.models if m.name.fullmatch(name)), _UNLISTED_MODEL)
    verdict, reason = _judge(rule.jurisdiction, rule.region, policy, registry, trust_layer=True)
    note = _join(f"model {name}" if name else "model name unknown", reason, rule.note)
    return Destination("", "", rule.provider, rule.jurisdiction, rule.region, verdict, "", note=note)


_UNLISTED_MODEL = ModelRule("Salesforce-managed model", "US", "", "model not in the registry", "", re.compile(".*"))


# Names reserved for documentation and tests (RFC 2606, RFC 6761): a request to them never reaches a
# real service, so such a host is a stand-in (`if (Test.isRunningTest()) { ...example.invalid... }`).
_RESERVED_TLDS = ("example", "invalid", "test", "localhost")
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


def is_placeholder_host(host: str) -> bool:
    """Whether `host` is a name reserved for examples and tests."""
    name = host.lower().rstrip(".")
    return any(name == d or name.endswith("." + d) for d in _RESERVED_TLDS + _RESERVED_DOMAINS)


def looks_like_llm_path(path: str, registry: Registry) -> str:
    """Why the path of `path` (a path or a whole URL) looks like an LLM API call, or "" if it does not."""
    _, path = _split(path.strip())
    rule = _path_rule(path, registry)
    return f"path {path} is {rule.evidence}" if rule else ""


def shared_llm_path(path: str, registry: Registry) -> bool:
    """Whether the LLM API path of `path` is one that other kinds of API use too (`/v1/messages`):
    on a host nobody knows it makes an LLM call only with a request shaped like a prompt."""
    _, path = _split(path.strip())
    rule = _path_rule(path, registry)
    return rule is not None and rule.shared


def _path_rule(path: str, registry: Registry) -> PathRule | None:
    return next((p for p in registry.llm_paths if p.pattern.search(path)), None)


_LITERAL_HOST_REGEX = re.compile(r"(?:[a-z0-9_-]|\\[.-])+")  # what _host_regex makes of a host without tokens

# Words of provider names that do not single out an LLM API: a company's or a product family's name
# (Google and Amazon run maps and storage too) and generic words.
_COMMON_PROVIDER_WORDS = frozenset({
    "api", "google", "amazon", "microsoft", "cloud", "model", "models", "studio", "alibaba", "hugging", "face",
    "inference", "endpoints", "salesforce", "together", "services", "platform"})


def provider_host_named(name: str, path: str, registry: Registry) -> str:
    """The fixed host of the LLM provider that both a name (of a Named Credential missing from the
    project) and the API path called through it point at: "OpenAI_API" with "/v1/chat/completions"
    gives "api.openai.com"; "Google_Gemini_API" with ".../models/x:generateContent" gives
    "generativelanguage.googleapis.com". The path decides which provider its style belongs to (the
    most specific one its evidence names: an Azure deployment path is Azure OpenAI, not OpenAI) and
    the name must name that same provider; otherwise "" (a Groq credential calling an OpenAI-style
    path, or a provider without exactly one fixed host)."""
    _, path = _split(path.strip())
    style = next((p for p in registry.llm_paths if p.pattern.search(path)), None)
    if style is None:
        return ""
    said, shown = _compact(name), _compact(style.evidence)
    providers: dict[str, tuple[frozenset[str], list[str]]] = {}  # provider -> (its words, fixed hosts)
    for rule in registry.hosts:
        words = frozenset(w for w in re.split(r"[^a-z0-9]+", rule.provider.lower()) if len(w) >= 4) \
            - _COMMON_PROVIDER_WORDS
        if not words:
            continue
        _, fixed = providers.setdefault(rule.provider, (words, []))
        if not rule.path.pattern and _LITERAL_HOST_REGEX.fullmatch(rule.host.pattern):
            fixed.append(rule.host.pattern.replace("\\", ""))
    in_path = {p: v for p, v in providers.items() if all(w in shown for w in v[0])}
    if not in_path:
        return ""
    most = max(len(words) for words, _ in in_path.values())
    best = [(words, fixed) for words, fixed in in_path.values() if len(words) == most]
    if len(best) != 1:
        return ""
    words, fixed = best[0]
    # One fixed host only: a provider with regional hosts (Vertex AI, Mistral) leaves the region open.
    return fixed[0] if len(fixed) == 1 and all(w in said for w in words) else ""


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


WILDCARD_LABEL = "wildcard"  # stands for the "*" of a wildcard host while it is classified


def classify_site(url: str, policy: Policy, registry: Registry) -> tuple[Destination, tuple[Destination, ...]]:
    """A URL from metadata, whose host may be a wildcard (a CSP Trusted Site's `https://*.openai.azure.com`):
    its destination, with the host as written, and, for a wildcard that is no LLM API of its own,
    the registry's LLM hosts it covers ("*.googleapis.com" covers Gemini's), each classified."""
    dest = classify_url(url, policy, registry)
    if not dest.host.startswith("*."):
        return dest, ()
    probe = classify_url(url.strip().replace("*", WILDCARD_LABEL, 1), policy, registry)
    dest = dataclasses.replace(probe, url=url.strip(), host=dest.host)
    if dest.provider:
        return dest, ()
    covered = (classify_url(f"https://{name}", policy, registry) for name in hosts_under(dest.host, registry))
    return dest, tuple(d for d in covered if d.provider)


def hosts_under(wildcard: str, registry: Registry) -> tuple[str, ...]:
    """The registry's fixed LLM host names that a wildcard host covers, in registry order:
    "*.googleapis.com" -> ("generativelanguage.googleapis.com", "aiplatform.googleapis.com", ...).
    Rows with a pattern ("{region}-aiplatform.googleapis.com") are not expanded; () for a plain host."""
    host = normalize_host(wildcard)
    if not host.startswith("*."):
        return ()
    suffix = host[1:]  # ".googleapis.com"
    out: list[str] = []
    for rule in registry.hosts:
        if _LITERAL_HOST_REGEX.fullmatch(rule.host.pattern):
            name = rule.host.pattern.replace("\\", "")
            if name.endswith(suffix) and name not in out:
                out.append(name)
    return tuple(out)


def _match_host(host: str, path: str, policy: Policy, registry: Registry) -> Destination | None:
    """The registry's classification of host + path (url and host left empty), None if no row matches."""
    for rule in registry.hosts:
        host_match = rule.host.fullmatch(host)
        if host_match is None:
            continue
        path_match = rule.path.match(path)
        if path_match is None:
            continue
        if not rule.llm:
            return Destination("", "", "", "", "", Verdict.NOT_LLM, "", note=_join(f"a {rule.provider} API", rule.note))
        captured = {**host_match.groupdict(), **path_match.groupdict()}  # the path's region code wins
        if captured.get("model"):
            model = classify_model(unquote(captured["model"]), policy, registry)
            return dataclasses.replace(model, note=_join(model.note, f"via {rule.provider}"))
        region = registry.region_of(captured.get("region") or "") if rule.region == DERIVED_REGION else rule.region
        verdict, reason = _judge(rule.jurisdiction, region, policy, registry, trust_layer=rule.trust_layer)
        return Destination("", "", rule.provider, rule.jurisdiction, region, verdict, "",
                           note=_join(reason, rule.note))
    return None


def _judge(jurisdiction: str, region: str, policy: Policy, registry: Registry, *,
           trust_layer: bool) -> tuple[Verdict, str]:
    """SOVEREIGN only when seat and region are both known and allowed; UNKNOWN only when it could go either way."""
    trusted = trust_layer and policy.trust_salesforce_ai
    seat_ok = trusted or jurisdiction.upper() in registry.accepted(policy.allowed_jurisdictions)
    region_ok = bool(region) and region.upper() in registry.accepted(policy.allowed_regions)
    reasons = []
    if trusted:
        reasons.append("provider accepted through the Einstein Trust Layer (trust_salesforce_ai)")
    elif not seat_ok:
        reasons.append(f"provider seat {jurisdiction or 'unknown'} is not an allowed jurisdiction "
                       f"({_listing(policy.allowed_jurisdictions)})")
    if not region:
        reasons.append("processing region cannot be decided")
    elif not region_ok:
        reasons.append(f"processing region {region} is not an allowed region ({_listing(policy.allowed_regions)})")
    if seat_ok and region_ok:
        verdict = Verdict.SOVEREIGN
    elif seat_ok and not region:
        verdict = Verdict.UNKNOWN
    else:
        verdict = Verdict.FOREIGN
    return verdict, "; ".join(reasons)


def with_network_region(dest: Destination, code: str, why: str, policy: Policy, registry: Registry) -> Destination:
    """A destination reached over Private Connect (AWS PrivateLink to the region of its outbound
    network connection): that region is where the request is processed when the URL does not say
    otherwise. `why` names the connection for the note."""
    region = registry.region_of(code) if code else ""
    if not region:
        return dataclasses.replace(dest, note=_join(dest.note, f"{why}: region {code or 'not set'} is not one "
                                                               "apexscan can place"))
    note = f"{why}: AWS PrivateLink to {code} ({region})"
    dest = dataclasses.replace(dest, note=dest.note.rstrip(". "))
    if dest.region:  # the URL itself says where (a regional host): the connection only confirms the route
        return dataclasses.replace(dest, note=_join(dest.note, note))
    if dest.verdict in (Verdict.NOT_LLM, Verdict.IN_ORG, Verdict.SOVEREIGN):
        return dataclasses.replace(dest, region=region, note=_join(dest.note, note))
    if dest.provider:
        verdict, reason = _judge(dest.jurisdiction, region, policy, registry, trust_layer=False)
        return dataclasses.replace(dest, region=region, verdict=verdict, note=_join(reason, note))
    # An LLM-shaped endpoint nobody knows: its seat stays unknown, but processing outside the
    # allowed regions is enough to call it foreign.
    if region.upper() in registry.accepted(policy.allowed_regions):
        return dataclasses.replace(dest, region=region, note=_join(dest.note, note))
    return dataclasses.replace(dest, region=region, verdict=Verdict.FOREIGN, note=_join(
        dest.note, note, f"processing region {region} is not an allowed region ({_listing(policy.allowed_regions)})"))


def _classify_hostless(text: str, path: str, registry: Registry) -> Destination:
    in_org = next((r for r in registry.in_org_paths if r.pattern.match(path)), None)
    if in_org is not None:
        return Destination(text, "", "", "", "", Verdict.IN_ORG, "", note=in_org.note)
    evidence = looks_like_llm_path(path, registry)
    if evidence:
        return Destination(text, "", "", "", "", Verdict.UNKNOWN, "",
                           note=f"no host in the URL, but {evidence}")
    return Destination(text, "", "", "", "", Verdict.NOT_LLM, "",
                       note="no host in the URL and nothing in its path suggests an LLM API")


def _host_allowed(host: str, policy: Policy) -> bool:
    return any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in policy.allowed_hosts)


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")  # "https:", "callout:"; not "host:443"


def _split(text: str) -> tuple[str, str]:
    """(normalised host or "", path) of an absolute, scheme-less or relative URL; never raises."""
    if not text.startswith("//") and not _SCHEME.match(text) and not text.startswith("/"):
        first = text.split("/", 1)[0]
        if "." in first or ":" in first or first.lower() == "localhost":
            text = "//" + text  # scheme-less "api.openai.com/v1"
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "", ""
    if parts.scheme and not parts.netloc and parts.scheme not in ("http", "https"):
        # "callout:Named_Credential/v1/chat": the caller resolves the credential; keep the path after its name
        rest = parts.path.split("/", 1)
        return "", "/" + rest[1] if len(rest) > 1 else ""
    return normalize_host(host), parts.path


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _listing(codes: tuple[str, ...]) -> str:
    return "allowed: " + ", ".join(codes) if codes else "none allowed"


# --- policy codes ---------------------------------------------------------------------------------

COUNTRIES_FILE = "iso_countries.toml"


def known_codes(registry: Registry) -> frozenset[str]:
    """Every code a policy may name in allowed_jurisdictions or allowed_regions, upper-case: ISO
    3166 countries, the registry's groups and their members, and the seats and processing regions
    its rows give (US, APAC, GB, CH, global, ...)."""
    document = tomllib.loads(files("apexscan.salesforce.data").joinpath(COUNTRIES_FILE).read_text("utf-8"))
    codes = {c.upper() for c in document["codes"]}
    for name, members in registry.groups:
        codes.add(name)
        codes.update(members)
    codes.update(r.region.upper() for r in registry.region_codes)
    for rule in (*registry.hosts, *registry.models):
        codes.add(rule.jurisdiction.upper())
        if rule.region and rule.region != DERIVED_REGION:
            codes.add(rule.region.upper())
    return frozenset(codes)


def suggest_code(code: str, registry: Registry, known: frozenset[str]) -> str:
    """The code a policy author probably meant by an unknown one: the region of a cloud region code
    ("europe", "eu-west-1" -> EU), else the closest known spelling; "" when nothing is close."""
    region = registry.region_of(code)
    if region:
        return region
    close = difflib.get_close_matches(code.upper(), sorted(known), n=1, cutoff=0.6)
    return close[0] if close else ""


# --- loading --------------------------------------------------------------------------------------


@functools.cache
def load_registry() -> Registry:
    """The shipped registry (apexscan/salesforce/data/llm_hosts.toml), read once per process (it is frozen);
    raises RegistryError if it is malformed."""
    resource = files("apexscan.salesforce.data").joinpath(REGISTRY_FILE)
    return parse_registry(resource.read_text(encoding="utf-8"), f"apexscan/salesforce/data/{REGISTRY_FILE}")


# (required keys, optional keys with their defaults) per table; types come from the values shown.
_TABLES: dict[str, tuple[dict[str, type], dict[str, object]]] = {
    "hosts": ({"provider": str, "jurisdiction": str, "host": str, "region": str, "source": str},
              {"path": "", "note": "", "trust_layer": False, "llm": True}),
    "models": ({"name": str, "provider": str, "jurisdiction": str, "region": str, "source": str}, {"note": ""}),
    "in_org": ({"source": str}, {"host": "", "path": "", "note": ""}),
    "region_codes": ({"code": str, "region": str, "source": str}, {"note": ""}),
    "groups": ({"name": str, "members": list, "source": str}, {"note": ""}),
    "llm_paths": ({"pattern": str, "evidence": str, "source": str}, {"shared": False}),
}
_JURISDICTION = re.compile(r"^[A-Z]{2}$")
_REGION = re.compile(r"^[A-Za-z][A-Za-z-]*$")


def parse_registry(text: str, origin: str) -> Registry:
    """Validate and compile a registry document; `origin` names it in error messages."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RegistryError(f"{origin}: not valid TOML: {e}") from e
    unknown = sorted(set(document) - set(_TABLES))
    if unknown:
        raise RegistryError(f"{origin}: unknown table(s) {', '.join(unknown)}; expected {', '.join(_TABLES)}")
    rows = {table: _rows(document, table, origin) for table in _TABLES}
    in_org = [_in_org(row, where) for row, where in rows["in_org"]]
    return Registry(
        hosts=tuple(_host_rule(row, where) for row, where in rows["hosts"]),
        models=tuple(_model_rule(row, where) for row, where in rows["models"]),
        in_org_hosts=tuple(rule for rule, is_host in in_org if is_host),
        in_org_paths=tuple(rule for rule, is_host in in_org if not is_host),
        region_codes=tuple(RegionCode(_region(row, where, fixed_only=True), row["source"],
                                      _compile(_wildcard(row["code"].lower()), where, "code"))
                           for row, where in rows["region_codes"]),
        groups=tuple((row["name"].upper(), tuple(_members(row, where))) for row, where in rows["groups"]),
        llm_paths=tuple(PathRule(row["evidence"], row["source"], _compile(row["pattern"], where, "pattern"),
                                 row["shared"])
                        for row, where in rows["llm_paths"]),
    )


def _rows(document: dict[str, object], table: str, origin: str) -> list[tuple[dict[str, object], str]]:
    """The rows of one [[table]], each checked for unknown, missing and mistyped keys, defaults filled in."""
    required, optional = _TABLES[table]
    raw = document.get(table, [])
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise RegistryError(f"{origin}: {table} must be an array of tables ([[{table}]])")
    result = []
    for i, row in enumerate(raw, start=1):
        where = f"{origin}: [[{table}]] #{i}"
        unknown = sorted(set(row) - set(required) - set(optional))
        if unknown:
            raise RegistryError(f"{where}: unknown key(s) {', '.join(unknown)}; expected "
                                f"{', '.join([*required, *optional])}")
        missing = [k for k in required if k not in row]
        if missing:
            raise RegistryError(f"{where}: missing key(s) {', '.join(missing)}")
        types = {**required, **{k: type(v) for k, v in optional.items()}}
        for key, value in row.items():
            if not isinstance(value, types[key]):
                raise RegistryError(f"{where}: {key} must be a {types[key].__name__}, got {value!r}")
            if types[key] is str and key in required and not value.strip():
                raise RegistryError(f"{where}: {key} must not be empty")
        result.append(({**optional, **row}, where))
    return result


def _host_rule(row: dict, where: str) -> HostRule:
    host = _compile(_host_regex(row["host"], where), where, "host")
    path = _compile(row["path"], where, "path")
    region = _region(row, where)
    if region == DERIVED_REGION and "region" not in host.groupindex and "region" not in path.groupindex:
        raise RegistryError(f"{where}: region is {DERIVED_REGION!r} but neither host nor path captures a region")
    return HostRule(row["provider"], _jurisdiction(row, where), region, row["note"], row["trust_layer"],
                    row["source"], row["llm"], host, path)


def _model_rule(row: dict, where: str) -> ModelRule:
    name = re.compile(_wildcard(row["name"]), re.IGNORECASE)
    region = _region(row, where)
    if region == DERIVED_REGION:
        raise RegistryError(f"{where}: a model name captures no region; use a region name or {UNKNOWN_REGION!r}")
    return ModelRule(row["provider"], _jurisdiction(row, where), region,
                     row["note"], row["source"], name)


def _in_org(row: dict, where: str) -> tuple[InOrgRule, bool]:
    if bool(row["host"]) == bool(row["path"]):
        raise RegistryError(f"{where}: give exactly one of host or path")
    if row["host"]:
        return InOrgRule(row["note"], row["source"], _compile(_host_regex(row["host"], where), where, "host")), True
    return InOrgRule(row["note"], row["source"], _compile(row["path"], where, "path")), False


def _jurisdiction(row: dict, where: str) -> str:
    if not _JURISDICTION.match(row["jurisdiction"]):
        raise RegistryError(f"{where}: jurisdiction must be an upper-case ISO country code such as \"US\", "
                            f"got {row['jurisdiction']!r}")
    return row["jurisdiction"]


def _region(row: dict, where: str, fixed_only: bool = False) -> str:
    """A row's region: a fixed name, DERIVED_REGION, or "" for UNKNOWN_REGION (those two not when fixed_only)."""
    region = row["region"]
    if region in (UNKNOWN_REGION, DERIVED_REGION) and not fixed_only:
        return "" if region == UNKNOWN_REGION else region
    if not _REGION.match(region) or region in (UNKNOWN_REGION, DERIVED_REGION):
        expected = "a region name such as \"EU\"" if fixed_only else \
            f"{UNKNOWN_REGION!r}, {DERIVED_REGION!r} or a region name such as \"EU\""
        raise RegistryError(f"{where}: region must be {expected}, got {region!r}")
    return region


def _members(row: dict, where: str) -> list[str]:
    if not all(isinstance(m, str) and _REGION.match(m) for m in row["members"]):
        raise RegistryError(f"{where}: members must be a list of codes such as \"FR\"")
    return [m.upper() for m in row["members"]]


_HOST_TOKEN = re.compile(r"\{region\}|\*|\{[^}]*\}|[^{*]+")
_LABEL = "[a-z0-9_-]"


def _host_regex(pattern: str, where: str) -> str:
    """Regex text for a host pattern: leading "*." = one or more labels, "*" = within a label, {region} captured."""
    regex, rest = "", pattern
    if pattern.startswith("*."):
        regex, rest = f"(?:{_LABEL}+\\.)+", pattern[2:]
    for token in _HOST_TOKEN.findall(rest):
        if token == "{region}":
            if "?P<region>" in regex:
                raise RegistryError(f"{where}: host {pattern!r} captures {{region}} twice")
            regex += f"(?P<region>{_LABEL}+)"
        elif token == "*":
            regex += f"{_LABEL}*"
        elif token.startswith("{") or not re.fullmatch(r"[a-z0-9._-]+", token):
            raise RegistryError(f"{where}: host pattern {pattern!r} has {token!r}; use lower-case names, "
                                "'*' and '{region}' only")
        else:
            regex += re.escape(token)
    return regex


def _wildcard(pattern: str) -> str:
    """Regex text for a name pattern where "*" matches any characters."""
    return ".*".join(re.escape(part) for part in pattern.split("*"))


def _compile(regex: str, where: str, key: str) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as e:
        raise RegistryError(f"{where}: {key} is not a valid regex ({e}): {regex!r}") from e
