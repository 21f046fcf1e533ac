"""The user's policy: which jurisdictions, regions and hosts count as sovereign, and which code and fields matter.

Read from `apexscan.toml` at the project root (or a file given on the command line) over built-in
defaults. Loading validates everything once and raises `PolicyError` with the file, the key and what
was expected, so the CLI can show one actionable line. Nothing here knows about hosts or providers:
`apexscan.salesforce.hosts` applies the policy to URLs.
"""
from __future__ import annotations

import difflib
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
        object.__setattr__(self, "disabled_rules", tuple(v.strip().upper() for v in self.disabled_rules))


def normalize_host(host: str) -> str:
    """Lower-case, without a trailing dot, IDN labels in their ASCII (punycode) form; "" stays ""."""
    host = host.strip().rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


# --- loading -----------------------------------------------------------------------------------

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_HOST = re.compile(r"^(\*\.)?([a-z0-9_-]+\.)*[a-z0-9_-]+$")
_QUALIFIED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_GLOB = re.compile(r"^\S(.*\S)?$")  # a non-empty pattern without surrounding spaces
_RULE_ID = re.compile(r"^[A-Za-z]+-[A-Za-z]+-[0-9]+$")


@dataclass(frozen=True, slots=True)
class _Key:
    """One key of the file: where it lives, which Policy field it fills, what a valid item looks like."""

    table: str
    name: str
    attribute: str
    item: re.Pattern[str] | None  # None: a boolean
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
    _Key("rules", "disable", "disabled_rules", _RULE_ID,
         'a list of rule ids, e.g. ["APX-LLM-006"] (see `apexscan rules`)'),
    _Key("", "exclude", "exclude", _GLOB,
         'a list of .gitignore-style globs relative to the project root, e.g. ["force-app/legacy/**"]'),
)
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
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"{origin}: cannot read the policy file: {e}") from e
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
        for name in content:
            if name in _TOP_LEVEL:  # TOML puts a key written below [table] into that table
                raise PolicyError(f"{origin}: {name} is a top-level key: write it above the first [table] "
                                  f"header, not in [{table}]")
        _reject_unknown(content.keys(), tuple(k.name for k in keys), origin, f"key in [{table}]")
        for key in keys:
            if key.name in content:
                values[key.attribute] = _value(content[key.name], key, origin)
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
        text = normalize_host(item) if key.attribute == "allowed_hosts" else item.strip()
        if not key.item.match(text):
            raise PolicyError(f"{where}[{i}]: {item!r} is not valid; expected {key.expected}")
        items.append(text)
    return tuple(items)


def _reject_unknown(found: Iterable[str], known: tuple[str, ...], origin: str, what: str) -> None:
    for name in found:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PolicyError(f"{origin}: unknown {what} {name!r}{hint}; expected one of: {', '.join(known)}")


def _type_name(value: object) -> str:
    return {bool: "a boolean", str: "a string", int: "an integer", float: "a number", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)
