"""A Mule app's property files -> configuration values (`ConfigValueMeta`), read by `${key}` parts.

Reads Java `.properties` files (`key=value`, `key: value`, `key value`, `#`/`!` comments, line
continuations, `\\uXXXX` escapes), YAML files (nested mappings flattened with dots, as Mule does:
`salesforce: {username: x}` -> `salesforce.username`), and AI Chain's JSON configuration files
(`envVars.json`: `{"OPENAI": {"OPENAI_API_KEY": ...}}` -> `OPENAI.OPENAI_API_KEY`).

* Scope: the app's root folder, so that each app's `${http.host}` is looked up in its own files.
* Confidence: "high" for a real property file, "low" for a committed stand-in
  (`config.properties.example`) and for JSON read by a connector at run time from wherever its
  `filePath` points.
* Values that name another key of the same file (`url=https://${host}/v1`) are expanded; a
  reference to a key the file does not define becomes a hole (unknown at run time).
* Secrets are never kept: a key that names a password, secret, token, API key or private key
  gives no value at all, so no report can print it. Empty values are "not set".
* Hostile input: files over MAX_BYTES are refused, YAML is read with the safe loader into a node
  tree whose walk is bounded (an alias bomb expands to at most MAX_NODES nodes), and nesting
  deeper than MAX_DEPTH is cut off with a diagnostic.
"""
from __future__ import annotations

import json
import re

import yaml

from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends.metadata import ConfigValueMeta, MetadataFacts
from apexscan.frontends.mule.layout import app_root_of, is_example

MAX_BYTES = 2_000_000
MAX_NODES = 50_000  # YAML/JSON nodes visited while flattening (aliases count each time they are used)
MAX_DEPTH = 32
MAX_EXPANSIONS = 16  # ${...} references expanded in one value
HOLE = "\x00"  # an unknown part of a value (endpoints.HOLE)
# Keys whose values are secrets: never kept (matched on the last segments of the key).
SECRET_KEY = re.compile(r"(pass(word|wd|phrase)?|secret|token|api[._-]?key|apikey|private[._-]?key|"
                        r"credential|access[._-]?key|signature|keystore|encryption[._-]?key|(^|[._-])key$)",
                        re.IGNORECASE)
_REFERENCE = re.compile(r"\$\{([^{}]+)\}")


def parse_property_file(rel: str, data: bytes) -> tuple[MetadataFacts, tuple[Diagnostic, ...]]:
    """The values one property, YAML or JSON configuration file of a Mule app gives its keys."""
    if len(data) > MAX_BYTES:
        return MetadataFacts(), (Diagnostic(rel, "parse", f"property file larger than {MAX_BYTES} bytes; not read"),)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # Java reads .properties as ISO 8859-1
    lower = rel.lower()
    base = lower
    for suffix in (".example", ".sample", ".template", ".dist"):
        base = base.removesuffix(suffix)
    diags: list[Diagnostic] = []
    if base.endswith(".properties"):
        entries = _properties(text)
    elif base.endswith((".yaml", ".yml")):
        entries = _yaml(rel, text, diags)
    else:
        entries = _json(rel, text, diags)
    scope = app_root_of(rel)
    inside = rel[len(scope):].lstrip("/") if scope else rel
    example = is_example(rel) or base.endswith(".json")
    origin = f"Mule property file {inside}" if not base.endswith(".json") else f"Mule app configuration file {inside}"
    defined = {key: value for key, value, _ in entries}
    values = []
    for key, value, line in entries:
        if not value or is_secret(key):
            continue
        values.append(ConfigValueMeta(scope, key, _expand(value, defined), origin, "low" if example else "high",
                                      Location(rel, line, 1)))
    return MetadataFacts(config_values=tuple(values)), tuple(diags)


def is_secret(key: str) -> bool:
    """Whether a key names a secret (its last two segments; a URL or host of a token service is not one)."""
    return any(SECRET_KEY.search(part) and not part.lower().endswith(("url", "uri", "host", "endpoint"))
               for part in key.replace("[", ".").split(".")[-2:])


def _expand(value: str, defined: dict[str, str]) -> str:
    """`https://${host}/v1` with `host` of the same file; a reference it cannot expand is a hole."""
    for _ in range(MAX_EXPANSIONS):
        m = _REFERENCE.search(value)
        if m is None:
            return value
        name = m.group(1).strip()
        inner = defined.get(name, "")
        if not inner or name.startswith("secure::") or "${" + name + "}" in inner or is_secret(name):
            inner = HOLE
        value = value[:m.start()] + inner + value[m.end():]
    return _REFERENCE.sub(HOLE, value)


# --- .properties -----------------------------------------------------------------------------------

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _properties(text: str) -> list[tuple[str, str, int]]:
    """(key, value, line) of a Java properties file, in file order."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = i
        line = lines[i].lstrip()
        i += 1
        if not line or line[0] in "#!":
            continue
        while _continues(line) and i < len(lines):
            line = line[:-1] + lines[i].lstrip()
            i += 1
        if _continues(line):
            line = line[:-1]
        key, value = _split(line)
        if key:
            out.append((key, value.strip(), start + 1))
    return out


def _continues(line: str) -> bool:
    """An odd number of backslashes at the end continues the line."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _split(line: str) -> tuple[str, str]:
    key: list[str] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):
            key.append(_unescape_char(line, i))
            i += 6 if line[i + 1] == "u" and _is_unicode(line, i) else 2
            continue
        if ch in "=: \t\f":
            break
        key.append(ch)
        i += 1
    rest = line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return "".join(key), _unescape(rest)


def _is_unicode(line: str, i: int) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F]{4}", line[i + 2:i + 6]))


def _unescape_char(line: str, i: int) -> str:
    nxt = line[i + 1]
    if nxt == "u" and _is_unicode(line, i):
        return chr(int(line[i + 2:i + 6], 16))
    return _ESCAPES.get(nxt, nxt)


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(_unescape_char(text, i))
            i += 6 if text[i + 1] == "u" and _is_unicode(text, i) else 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


# --- YAML and JSON -----------------------------------------------------------------------------------


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_NODES
        self.exhausted = False
        self.too_deep = False

    def take(self, depth: int) -> bool:
        """Whether one more node at `depth` may be visited (and counts it)."""
        if self.left <= 0:
            self.exhausted = True
            return False
        self.left -= 1
        if depth > MAX_DEPTH:
            self.too_deep = True
            return False
        return True


def _yaml(rel: str, text: str, diags: list[Diagnostic]) -> list[tuple[str, str, int]]:
    if _flow_depth(text) > MAX_DEPTH or max((len(line) - len(line.lstrip(" ")) for line in text.splitlines()),
                                            default=0) > 4 * MAX_DEPTH:
        diags.append(Diagnostic(rel, "parse", "YAML nested too deeply to read"))  # the composer recurses
        return []
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except RecursionError:
        diags.append(Diagnostic(rel, "parse", "YAML nested too deeply to read"))
        return []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        diags.append(Diagnostic(rel, "parse", f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                                (mark.line + 1) if mark is not None else 0))
        return []
    out: list[tuple[str, str, int]] = []
    budget = _Budget()
    for document in documents:
        if document is not None:
            _flatten_yaml(document, "", 0, out, budget)
    _budget_diagnostics(rel, budget, diags)
    return out


def _flow_depth(text: str) -> int:
    """The deepest nesting of [ and { in YAML flow style (quotes and comments roughly skipped)."""
    depth = deepest = 0
    quote = ""
    for line in text.splitlines():
        for ch in line:
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch in "[{":
                depth += 1
                deepest = max(deepest, depth)
            elif ch in "]}":
                depth = max(depth - 1, 0)
        quote = ""
    return deepest


def _flatten_yaml(node, prefix: str, depth: int, out: list, budget: _Budget) -> None:
    if not budget.take(depth):
        return
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            _flatten_yaml(value_node, key, depth + 1, out, budget)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _flatten_yaml(item, f"{prefix}[{index}]", depth + 1, out, budget)
    elif isinstance(node, yaml.ScalarNode) and prefix:
        value = node.value if node.tag != "tag:yaml.org,2002:null" else ""
        out.append((prefix, str(value), node.start_mark.line + 1))


def _json(rel: str, text: str, diags: list[Diagnostic]) -> list[tuple[str, str, int]]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        diags.append(Diagnostic(rel, "parse", f"not valid JSON: {exc}"))
        return []
    out: list[tuple[str, str, int]] = []
    budget = _Budget()
    _flatten_json(data, "", 0, out, budget)
    _budget_diagnostics(rel, budget, diags)
    return out


def _flatten_json(value, prefix: str, depth: int, out: list, budget: _Budget) -> None:
    if not budget.take(depth):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten_json(item, f"{prefix}.{key}" if prefix else str(key), depth + 1, out, budget)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten_json(item, f"{prefix}[{index}]", depth + 1, out, budget)
    elif prefix and value is not None:
        out.append((prefix, str(value).lower() if isinstance(value, bool) else str(value), 1))


def _budget_diagnostics(rel: str, budget: _Budget, diags: list[Diagnostic]) -> None:
    if budget.exhausted:
        diags.append(Diagnostic(rel, "parse", f"more than {MAX_NODES} values (or aliases expanding to "
                                              "them); the rest of the file is not read"))
    if budget.too_deep:
        diags.append(Diagnostic(rel, "parse", f"values nested deeper than {MAX_DEPTH} levels are not read"))
