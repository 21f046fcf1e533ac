"""Configuration files of services -> metadata facts: environment files, Heroku app.json manifests,
and Heroku Connect mapping exports (any JSON file whose content is one).

  * `.env`-style files give the values of environment variables (ConfigValueMeta, scope = the
    file's folder). A committed `.env` (or `.env.production`, `.env.local` ...) is configuration
    the service loads at start-up (dotenv) and deploys with its code, so its values are "high": the
    platform's config vars can still override them, which the message says. `.env.example`,
    `.sample`, `.template`, `.dist` describe what is meant, not what runs: "low".
  * app.json's `env` entries are defaults a deploy may change ("low"); its LLM credential keys
    (OPENAI_API_KEY ...) and add-ons say what the app holds (HerokuAppMeta).
  * A Heroku Connect export (`{"mappings": [{"object_name": ..., "config": {...}}], "connection":
    {...}}`) is recognised by content, whatever its name (HerokuConnectMapping).

Only values that say where data goes are kept (service_calls.kept_value: URLs without user,
password or query; regions and models): a secret never becomes a fact, so no report can echo it.
"""
from __future__ import annotations

import json
import re

from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends.metadata import ConfigValueMeta, HerokuAppMeta, HerokuConnectMapping, MetadataFacts
from apexscan.frontends.service_calls import kept_value
from apexscan.salesforce import service_models as S

MAX_JSON_BYTES = 8_000_000  # a mapping export is a few KB; larger JSON files are data
_MARKERS = (b'"mappings"', b'"object_name"')
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")
_EXAMPLE = re.compile(r"(example|sample|template|tmpl|dist|defaults?)", re.IGNORECASE)
_EMPTY = MetadataFacts()
_Result = tuple[MetadataFacts, tuple[Diagnostic, ...]]


def _folder(rel: str) -> str:
    return rel.rpartition("/")[0]


def _text(rel: str, data: bytes) -> tuple[str | None, tuple[Diagnostic, ...]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:8192]:
        return None, (Diagnostic(rel, "parse", "binary file, not configuration"),)
    try:
        return data.decode("utf-8"), ()
    except UnicodeDecodeError as exc:
        return data.decode("utf-8", "replace"), (Diagnostic(
            rel, "read", f"not valid UTF-8 (byte {exc.start}); read with the bad bytes replaced"),)


def parse_env_file(rel: str, data: bytes) -> _Result:
    """KEY=value lines of a dotenv file: the values that say where data goes."""
    text, diags = _text(rel, data)
    if text is None:
        return _EMPTY, diags
    name = rel.rsplit("/", 1)[-1]
    example = bool(_EXAMPLE.search(name))
    confidence = "low" if example else "high"
    origin = f"{'example ' if example else ''}environment file {rel}"
    values = []
    for number, line in enumerate(text.splitlines(), 1):
        m = _ENV_LINE.match(line)
        if m is None or line.lstrip().startswith("#"):
            continue
        key, raw = m.group(1), m.group(2)
        value = _env_value(raw)
        kept = kept_value(key, value) if value else None
        if kept is not None:
            values.append(ConfigValueMeta(_folder(rel), key, kept, origin, confidence,
                                          Location(rel, number, line.find(key) + 1)))
    return MetadataFacts(config_values=tuple(values)), diags


def _env_value(raw: str) -> str:
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    return raw.split(" #", 1)[0].strip()


def parse_app_json(rel: str, data: bytes) -> _Result:
    """A Heroku app manifest: its env defaults, LLM credential keys and add-ons."""
    text, doc, diags = _json(rel, data, "app.json is not valid JSON ({}); its add-ons and environment were not read")
    if text is None:
        return _EMPTY, diags
    if not isinstance(doc, dict):
        return _EMPTY, diags + (Diagnostic(rel, "parse", "app.json is not a JSON object; not read"),)
    folder = _folder(rel)
    env = doc.get("env") if isinstance(doc.get("env"), dict) else {}
    values, credentials = [], []
    for key, entry in env.items():
        if not isinstance(key, str):
            continue
        if key in S.CONFIG.llm_credentials:
            credentials.append(key)
        value = entry.get("value") if isinstance(entry, dict) else entry
        kept = kept_value(key, value) if isinstance(value, str) and value else None
        if kept is not None:
            values.append(ConfigValueMeta(folder, key, kept, f"app.json env of {rel}", "low", _position(text, rel, key)))
    addons = []
    for addon in doc.get("addons") if isinstance(doc.get("addons"), list) else ():
        plan = addon.get("plan") if isinstance(addon, dict) else addon
        if isinstance(plan, str) and plan:
            addons.append(plan)
    name = doc.get("name") if isinstance(doc.get("name"), str) else ""
    app = HerokuAppMeta(name, folder, tuple(addons), tuple(sorted(credentials)), Location(rel, 1, 1))
    return MetadataFacts(config_values=tuple(values), heroku_apps=(app,)), diags


def parse_json(rel: str, data: bytes) -> _Result:
    """Any other JSON file: a Heroku Connect mapping export if its content says so, else nothing."""
    head = data[:65536]
    if not all(marker in head or marker in data[:MAX_JSON_BYTES] for marker in _MARKERS):
        return _EMPTY, ()
    if len(data) > MAX_JSON_BYTES:
        return _EMPTY, (Diagnostic(rel, "parse", "looks like a Heroku Connect mapping export but is larger than "
                                                 f"{MAX_JSON_BYTES // 1_000_000} MB; not read"),)
    text, doc, diags = _json(rel, data, "looks like a Heroku Connect mapping export but is not valid JSON ({}); "
                                        "not read")
    if text is None:
        return _EMPTY, diags
    if not _is_mapping_export(doc):
        return _EMPTY, diags
    connection = doc.get("connection") if isinstance(doc.get("connection"), dict) else {}
    name = connection.get("name") if isinstance(connection.get("name"), str) else ""
    schema = (name.rsplit(":", 1)[-1] if ":" in name else "") or S.HEROKU.default_schema
    app = connection.get("app_name") if isinstance(connection.get("app_name"), str) else ""
    places = [m.start() for m in re.finditer(r'"object_name"\s*:', text)]
    mappings = []
    for i, entry in enumerate(doc["mappings"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("object_name"), str):
            continue
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        fields = config.get("fields", {})
        names = tuple(k for k in (fields if isinstance(fields, (dict, list)) else ()) if isinstance(k, str))
        access = config.get("access") if isinstance(config.get("access"), str) else "read_only"
        where = _offset_location(text, rel, places[i]) if i < len(places) else Location(rel, 1, 1)
        mappings.append(HerokuConnectMapping(entry["object_name"], schema.lower(), access, names, app,
                                             _folder(rel), where))
    return MetadataFacts(heroku_connect=tuple(mappings)), diags


def _json(rel: str, data: bytes, problem: str):
    """(text, document, diagnostics); text is None when the file cannot be read as JSON (`problem`
    is the diagnostic's message, "{}" standing for the parser's)."""
    text, diags = _text(rel, data)
    if text is None:
        return None, None, diags
    try:
        return text, json.loads(text), diags
    except ValueError as exc:
        return None, None, diags + (Diagnostic(rel, "parse", problem.format(exc), getattr(exc, "lineno", 0)),)


def _is_mapping_export(doc) -> bool:
    mappings = doc.get("mappings") if isinstance(doc, dict) else None
    return isinstance(mappings, list) and any(
        isinstance(m, dict) and "object_name" in m and "config" in m for m in mappings)


def _position(text: str, rel: str, key: str) -> Location:
    at = text.find(json.dumps(key))
    return _offset_location(text, rel, at) if at >= 0 else Location(rel, 1, 1)


def _offset_location(text: str, rel: str, offset: int) -> Location:
    line = text.count("\n", 0, offset) + 1
    return Location(rel, line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


_RESOURCE = re.compile(r'^\s*resource\s+"(heroku_app|heroku_space)"\s+"([^"]+)"\s*\{')
_ATTRIBUTE = re.compile(r'^\s*(name|region|space)\s*=\s*(?:"([^"]*)"|([A-Za-z_][\w.\-]*))\s*(?:#.*)?$')


def parse_terraform(rel: str, data: bytes) -> _Result:
    """Terraform `resource "heroku_app"` blocks: the app's name and region (directly, or the region of
    the `heroku_space` it is placed in). Only literal values count; `var.region` is unknown."""
    text, diags = _text(rel, data)
    if text is None or "heroku_" not in text:
        return _EMPTY, diags
    blocks: list[tuple[str, str, dict[str, str], int]] = []  # (type, label, attributes, line)
    current: tuple[str, str, dict[str, str], int] | None = None
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if current is None:
            m = _RESOURCE.match(code)
            if m is not None:
                current = (m.group(1), m.group(2), {}, number)
                depth = code.count("{") - code.count("}")
            continue
        if depth == 1:
            attr = _ATTRIBUTE.match(code)
            if attr is not None:
                current[2][attr.group(1)] = attr.group(2) if attr.group(2) is not None else "=" + attr.group(3)
        depth += code.count("{") - code.count("}")
        if depth <= 0:
            blocks.append(current)
            current = None
    spaces = {label: attrs.get("region", "") for kind, label, attrs, _ in blocks if kind == "heroku_space"}
    apps = []
    for kind, label, attrs, line in blocks:
        if kind != "heroku_app":
            continue
        region = attrs.get("region", "")
        space = attrs.get("space", "")
        if space.startswith("=heroku_space."):
            region = spaces.get(space.split(".")[1], "") or region
        apps.append(HerokuAppMeta(attrs.get("name", "") if not attrs.get("name", "").startswith("=") else "",
                                  _folder(rel), (), (), Location(rel, line, 1),
                                  region="" if region.startswith("=") else region.lower(),
                                  origin=f"Terraform heroku_app {label}"))
    return MetadataFacts(heroku_apps=tuple(apps)), diags
