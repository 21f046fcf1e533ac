"""The user's policy: which jurisdictions, regions and hosts count as sovereign, and which code and fields matter.

Read from `apexscan.toml` at the project root (or a file given on the command line) over built-in
defaults. Loading validates everything once and raises `PolicyError` with the file, the key and what
was expected, so the CLI can show one actionable line. Nothing here knows about hosts or providers:
`apexscan.salesforce.hosts` applies the policy to URLs.
"""
from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from apexscan.salesforce.rules import load_catalog

POLICY_FILE_NAME = "apexscan.toml"


class PolicyError(Exception):
    """The policy file cannot be used; `message` says where and what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Policy:
    # Codes are upper-cased ("EU", "US", "GLOBAL"); names and hosts are lower-cased (Apex is case-insensitive).
    allowed_jurisdictions: tuple[str, ...] = ("EU", "EEA")  # acceptable legal seats of providers (ISO codes or groups)
    allowed_regions: tuple[str, ...] = ("EU", "EEA")  # acceptable data-processing regions
    allowed_hosts: tuple[str, ...] = ()  # always sovereign (the bank's own gateway); "*.bank.eu" = any subdomain
    sanitizers: tuple[str, ...] = ()  # "piimasker.mask": Class.method whose result is clean
    residency_guards: tuple[str, ...] = ()  # "residencyguard.assertsovereign": checks that stop foreign calls
    sensitive_fields: tuple[str, ...] = ()  # "account.risk_score__c": always sensitive
    non_sensitive_fields: tuple[str, ...] = ()  # "account.segment__c": never sensitive
    trust_salesforce_ai: bool = False  # Salesforce-hosted models behind the Einstein Trust Layer are acceptable
    # Networks API clients may connect from (`apexscan evidence`): CIDR ranges for every client, and
    # per Connected App or External Client App (API name, lower-case) on top of those.
    trusted_networks: tuple[str, ...] = ()  # "198.51.100.0/24", normalised by ipaddress
    app_networks: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (("research_copilot", ("203.0.113.0/24",)),)
    exclude: tuple[str, ...] = ()  # .gitignore-style globs of files not to scan (top-level `exclude`)
    disabled_rules: tuple[str, ...] = ()  # rule ids never reported ([rules] disable)
    # Which file this is, as shown to users ("" for the built-in defaults); not part of the policy.
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        # Normalise here too, so a Policy built in code compares the same way as one read from a file.
        for name in ("allowed_jurisdictions", "allowed_regions"):
            object.__setattr__(self, name, tuple(v.strip().upper() for v in getattr(self, name)))
        object.__setattr__(self, "allowed_hosts", tuple(normalize_host(h) for h in self.allowed_hosts))
        for name in ("sanitizers", "residency_guards", "sensitive_fields", "non_sensitive_fields"):
            object.__setattr__(self, name, tuple(v.strip().lower() for v in getattr(self, name)))
        object.__setattr__(self, "trusted_networks", tuple(normalize_network(n) for n in self.trusted_networks))
        object.__setattr__(self, "app_networks", tuple(sorted(
            (app.strip().lower(), tuple(normalize_network(n) for n in nets)) for app, nets in self.app_networks)))
        object.__setattr__(self, "disabled_rules", tuple(v.strip().upper() for v in self.disabled_rules))

    def networks_for(self, app: str) -> tuple[str, ...]:
        """The CIDR ranges a client of Connected App `app` ("" for none) may connect from."""
        return self.trusted_networks + dict(self.app_networks).get(app.strip().lower(), ())


def normalize_host(host: str) -> str:
    """Lower-case, without a trailing dot, IDN labels in their ASCII (punycode) form; "" stays ""."""
    host = host.strip().rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def normalize_network(text: str) -> str:
    """A CIDR range in ipaddress's canonical spelling ("2001:DB8::/32" -> "2001:db8::/32"); a bare
    address is its own /32 or /128. Raises ValueError when `text` is no range or has host bits set."""
    return ipaddress.ip_network(text.strip(), strict=True).compressed


# --- loading -----------------------------------------------------------------------------------

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_HOST = re.compile(r"^(\*\.)?([a-z0-9_-]+\.)*[a-z0-9_-]+$")
_QUALIFIED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_APP = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # a Connected App / External Client App API name
NETWORK = "network"  # `item` of keys whose items are CIDR ranges, checked by ipaddress
_GLOB = re.compile(r"^\S(.*\S)?$")  # a non-empty pattern without surrounding spaces
_RULE_ID = re.compile(r"^[A-Za-z]+-[A-Za-z]+-[0-9]+$")


@dataclass(frozen=True, slots=True)
class _Key:
    """One key of the file: where it lives, which Policy field it fills, what a valid item looks like."""

    table: str
    name: str
    attribute: str
    item: re.Pattern[str] | str | None  # None: a boolean; NETWORK: a CIDR range
    expected: str  # shown in the error message


_KEYS = (
    _Key("policy", "allowed_jurisdictions", "allowed_jurisdictions", _CODE,
         'a list of ISO country codes or groups, e.g. ["EU", "EEA"]'),
    _Key("policy", "allowed_regions", "allowed_regions", _CODE,
         'a list of processing regions, e.g. ["EU", "EEA"]'),
    _Key("policy", "allowed_hosts", "allowed_hosts", _HOST,
         'a list of host names, e.g. ["llm-gateway.bank.eu", "*.bank.eu"] (no scheme, port or path)'),
    _Key("policy", "sanitizers", "sanitizers", _QUALIFIED_NAME,
         'a list of Class.method names, e.g. ["PiiMasker.mask"]'),
    _Key("policy", "residency_guards", "residency_guards", _QUALIFIED_NAME,
         'a list of Class.method names, e.g. ["ResidencyGuard.assertSovereign"]'),
    _Key("policy", "trust_salesforce_ai", "trust_salesforce_ai", None, "true or false"),
    _Key("fields", "sensitive", "sensitive_fields", _FIELD,
         'a list of Object.Field names, e.g. ["Account.Risk_Score__c"]'),
    _Key("fields", "non_sensitive", "non_sensitive_fields", _FIELD,
         'a list of Object.Field names, e.g. ["Account.Segment__c"]'),
    _Key("networks", "trusted", "trusted_networks", NETWORK,
         'a list of CIDR ranges, e.g. ["198.51.100.0/24", "2001:db8::/32"]'),
    _Key("rules", "disable", "disabled_rules", _RULE_ID,
         'a list of rule ids, e.g. ["APX-LLM-006"] (see `apexscan rules`)'),
    _Key("", "exclude", "exclude", _GLOB,
         'a list of .gitignore-style globs relative to the project root, e.g. ["force-app/legacy/**"]'),
)
# [networks.apps]: one key per Connected App or External Client App, its value a list like `trusted`.
_APPS_TABLE = "apps"
_TABLES = tuple(dict.fromkeys(k.table for k in _KEYS if k.table))
_TOP_LEVEL = tuple(k.name for k in _KEYS if not k.table)


def load_policy(path: Path | None, project_root: Path, *, display: str | None = None) -> Policy:
    """The policy in `path`, or in `<project_root>/apexscan.toml` when `path` is None; defaults if neither exists.

    `display` is how messages name the file (default: the path as given). Raises PolicyError when
    the file cannot be read, is not TOML, or has unknown keys or wrong types.
    """
    if path is None:
        path = project_root / POLICY_FILE_NAME
        if not path.is_file():
            return Policy()
    elif not path.is_file():
        raise PolicyError(f"{display or path}: policy file not found")
    origin = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"{origin}: cannot read the policy file: {e}") from e
    return policy_from_text(text, origin)


def policy_from_text(text: str, origin: str) -> Policy:
    """The policy in the TOML `text`; `origin` names it in error messages."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"{origin}: not valid TOML: {e}") from e
    return policy_from_dict(document, origin)


def policy_from_dict(document: dict[str, object], origin: str) -> Policy:
    """Validate a parsed policy document; `origin` names it in error messages."""
    for name, value in document.items():
        if name not in _TABLES and name not in _TOP_LEVEL:
            _reject_unknown([name], _TABLES + _TOP_LEVEL, origin,
                            "top-level table" if isinstance(value, dict) else "top-level key")
    values: dict[str, object] = {}
    for key in _KEYS:
        if not key.table and key.name in document:
            values[key.attribute] = _value(document[key.name], key, origin)
    for table in _TABLES:
        content = document.get(table, {})
        if not isinstance(content, dict):
            raise PolicyError(f"{origin}: [{table}] must be a table, got {_type_name(content)}")
        keys = [k for k in _KEYS if k.table == table]
        names = tuple(k.name for k in keys) + ((_APPS_TABLE,) if table == "networks" else ())
        for name in content:
            if name in _TOP_LEVEL:  # TOML puts a key written below [table] into that table
                raise PolicyError(f"{origin}: {name} is a top-level key: write it above the first [table] "
                                  f"header, not in [{table}]")
        _reject_unknown(content.keys(), names, origin, f"key in [{table}]")
        for key in keys:
            if key.name in content:
                values[key.attribute] = _value(content[key.name], key, origin)
        if table == "networks" and _APPS_TABLE in content:
            values["app_networks"] = _app_networks(content[_APPS_TABLE], origin)
    _check_rule_ids(values.get("disabled_rules", ()), origin)
    policy = Policy(**values, source=origin)
    clash = set(policy.sensitive_fields) & set(policy.non_sensitive_fields)
    if clash:
        raise PolicyError(f"{origin}: [fields] lists {', '.join(sorted(clash))} as both sensitive and "
                          "non_sensitive; keep each field in one list")
    return policy


def check_codes(policy: Policy, known: frozenset[str], suggest: Callable[[str], str]) -> None:
    """Raise PolicyError for a jurisdiction or region code nobody knows ("EUROPE", "GER"): such a
    typo would make the policy stricter or looser without a word. `known` holds the upper-case
    codes the host registry and ISO 3166 know; `suggest` names the code meant, or "".
    """
    for key in ("allowed_jurisdictions", "allowed_regions"):
        for i, code in enumerate(getattr(policy, key)):
            if code in known:
                continue
            meant = suggest(code)
            hint = f"; did you mean {meant!r}?" if meant else ""
            raise PolicyError(f"{policy.source or 'policy'}: [policy] {key}[{i}]: unknown code {code!r}{hint} "
                              "Use ISO 3166 country codes (\"FR\", \"DE\"), the groups EU, EEA, EFTA, UK, or a "
                              "processing region of the host registry (US, APAC, GB, CH, global, ...)")


def _check_rule_ids(ids: object, origin: str) -> None:
    known = [rule.id for rule in load_catalog()]
    for i, rule_id in enumerate(ids or ()):
        if rule_id.upper() not in known:
            close = difflib.get_close_matches(rule_id.upper(), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PolicyError(f"{origin}: [rules] disable[{i}]: unknown rule {rule_id!r}{hint}; "
                              "`apexscan rules` lists them")


def _value(raw: object, key: _Key, origin: str) -> object:
    where = f"{origin}: [{key.table}] {key.name}" if key.table else f"{origin}: {key.name}"
    if key.item is None:
        if not isinstance(raw, bool):
            raise PolicyError(f"{where}: expected {key.expected}, got {_type_name(raw)} {raw!r}")
        return raw
    if not isinstance(raw, list):
        raise PolicyError(f"{where}: expected {key.expected}, got {_type_name(raw)} {raw!r}")
    items = []
    for i, item in enumerate(raw):
        if not isinstance(item, str):
            raise PolicyError(f"{where}[{i}]: expected a string, got {_type_name(item)} {item!r}; "
                              f"the key takes {key.expected}")
        if key.item == NETWORK:
            items.append(_network(item, f"{where}[{i}]", key.expected))
            continue
        text = normalize_host(item) if key.attribute == "allowed_hosts" else item.strip()
        if not key.item.match(text):
            raise PolicyError(f"{where}[{i}]: {item!r} is not valid; expected {key.expected}")
        items.append(text)
    return tuple(items)


def _network(item: str, where: str, expected: str) -> str:
    try:
        return normalize_network(item)
    except ValueError:
        pass
    try:  # host bits set: say which range was probably meant
        meant = ipaddress.ip_network(item.strip(), strict=False).compressed
    except ValueError:
        raise PolicyError(f"{where}: {item!r} is not valid; expected {expected}") from None
    raise PolicyError(f"{where}: {item!r} has host bits set; did you mean {meant!r}?")


def _app_networks(raw: object, origin: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    where = f"{origin}: [networks.{_APPS_TABLE}]"
    expected = 'a table of Connected App API names and CIDR lists, e.g. Research_Copilot = ["203.0.113.0/24"]'
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: expected {expected}, got {_type_name(raw)}")
    out = []
    for app, nets in raw.items():
        if not _APP.match(app):
            raise PolicyError(f"{where}: {app!r} is not a Connected App API name; expected {expected}")
        if not isinstance(nets, list):
            raise PolicyError(f"{where} {app}: expected a list of CIDR ranges, got {_type_name(nets)} {nets!r}")
        items = []
        for i, item in enumerate(nets):
            if not isinstance(item, str):
                raise PolicyError(f"{where} {app}[{i}]: expected a string, got {_type_name(item)} {item!r}")
            items.append(_network(item, f"{where} {app}[{i}]", "a CIDR range, e.g. \"203.0.113.0/24\""))
        out.append((app, tuple(items)))
    lower = [a.lower() for a, _ in out]
    if len(set(lower)) != len(lower):
        raise PolicyError(f"{where}: an app is listed twice (names are case-insensitive)")
    return tuple(out)


def _reject_unknown(found: Iterable[str], known: tuple[str, ...], origin: str, what: str) -> None:
    for name in found:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PolicyError(f"{origin}: unknown {what} {name!r}{hint}; expected one of: {', '.join(known)}")


def _type_name(value: object) -> str:
    return {bool: "a boolean", str: "a string", int: "an integer", float: "a number", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)


# --- comparing -----------------------------------------------------------------------------------


def policy_changes(old: Policy, new: Policy, limit: int = 5) -> tuple[str, ...]:
    """How `new` differs from `old`, key by key as the file names them ("[policy] allowed_hosts:
    added *.com"); () when they are the same policy, whatever their comments or order. At most
    `limit` values are named per key."""
    def some(values: list[str]) -> str:
        shown = ", ".join(values[:limit])
        return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")

    out = []
    for key in _KEYS:
        before, after = getattr(old, key.attribute), getattr(new, key.attribute)
        if before == after or key.item is not None and set(before) == set(after):
            continue  # order and repetition in a list mean nothing
        where = f"[{key.table}] {key.name}" if key.table else key.name
        if key.item is None:
            out.append(f"{where}: {str(before).lower()} -> {str(after).lower()}")
            continue
        added = [v for v in after if v not in before]
        removed = [v for v in before if v not in after]
        parts = ([f"added {some(added)}"] if added else []) + ([f"removed {some(removed)}"] if removed else [])
        out.append(f"{where}: {'; '.join(parts)}")
    before, after = dict(old.app_networks), dict(new.app_networks)
    for app in sorted(before.keys() | after.keys()):
        if set(before.get(app, ())) != set(after.get(app, ())):
            out.append(f"[networks.apps] {app}: {', '.join(before.get(app, ())) or 'none'} -> "
                       f"{', '.join(after.get(app, ())) or 'none'}")
    return tuple(out)
