"""The parsed-facts cache: a file whose bytes did not change is not parsed again.

Facts depend on one file alone (facts.py), so each file's facts are cached under
(relative path, kind, SHA-256 of its bytes). A whole project's entries live in one pack file, read
at the start of a scan. When a scan changed only a few entries (an edit between two runs), they go
to a small delta file beside the pack instead of a rewrite of the whole pack (a third of a second
on NPSP); the pack is rewritten when the delta grows past a tenth of it. Both are written
atomically, and a delta is used only with the pack it was written against.

Where: the user's cache folder ($XDG_CACHE_HOME/apexscan, else ~/.cache/apexscan), one pack per
project root, never inside the scanned repository (a repository could otherwise ship a crafted
cache). `--cache-dir` moves it, `--no-cache` turns it off.

Format: `marshal` of plain tuples, lists, strings and ints, not pickle: loading it cannot run code,
and it is several times faster than unpickling 700,000 frozen dataclasses (NPSP: 1.2 s vs 3 s).
A dataclass is written as a list [tag, field values...], or [-tag, ...] when no field holds another
dataclass (most objects: decoded in one call); a tuple holding dataclasses as a list [0, items...];
a tuple of plain values as itself. The pack is keyed by a fingerprint of apexscan's own code and
data, so any change to the analyzer (an upgrade, an editable checkout being edited) starts a fresh
cache.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import marshal
import operator
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path

from apexscan.engine import facts, model
from apexscan.frontends import metadata

FORMAT = 2
PACK_NAME = "facts.marshal"
DELTA_NAME = "facts-delta.marshal"
DELTA_MIN = 64  # entries a delta may always hold, however small the project


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "apexscan"


# --- codec ---------------------------------------------------------------------------------------


def _codec_classes() -> list[type]:
    """Every dataclass and enum a facts tree can hold, in a fixed order (a tag is an index + 1)."""
    found = {}
    for module in (model, facts, metadata):
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__ and (
                    dataclasses.is_dataclass(value) or issubclass(value, enum.Enum)):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


CLASSES = _codec_classes()
# type -> (tag, a getter of every field value at once); enums have no getter.
_SPEC = {cls: (tag, operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))
               if dataclasses.is_dataclass(cls) else None)
         for tag, cls in enumerate(CLASSES, start=1)}
_COMPOSITE = frozenset(_SPEC) | {tuple}


# Deepest value the codec writes (marshal refuses nesting past 2,000; Python's stack is shallower
# still outside frontends.parsing.run_deep). Facts are shallow (string expressions are capped by
# engine.limits.Limits.string_nesting); a deeper one is simply not cached.
MAX_DEPTH = 400


class TooDeep(ValueError):
    """A facts value nested deeper than MAX_DEPTH: the file is lowered again at each scan."""


def encode(value, depth: int = 0):
    """A facts value -> marshal-able plain data (see the module docstring). Raises TooDeep."""
    kind = type(value)
    if depth > MAX_DEPTH:
        raise TooDeep(f"facts nested more than {MAX_DEPTH} deep")
    if kind is tuple:
        items = [encode(item, depth + 1) if type(item) in _COMPOSITE else item for item in value]
        if any(type(item) is list for item in items):
            return [0, *items]
        return value
    spec = _SPEC.get(kind)
    if spec is None:
        return value  # str, int, bool, None
    tag, fields = spec
    if fields is None:
        return [tag, value.value]
    values = fields(value)
    if type(values) is not tuple:  # attrgetter of a single field
        values = (values,)
    items = [encode(v, depth + 1) if type(v) in _COMPOSITE else v for v in values]
    if any(type(item) is list for item in items):
        return [tag, *items]
    return [-tag, *items]  # a leaf: no field needs decoding (Location, Ref, Param ... most objects)


def encode_entry(facts_value, diagnostics) -> tuple | None:
    """(encoded facts, encoded diagnostics), or None when they are too deep to cache."""
    try:
        return encode(facts_value), encode(tuple(diagnostics))
    except (TooDeep, RecursionError):
        return None


def decode(data):
    """The inverse of `encode`. Raises (IndexError, TypeError, RecursionError, ...) on data it did not write."""
    if type(data) is not list:
        return data
    tag = data[0]
    if tag < 0:
        return CLASSES[-tag - 1](*data[1:])
    items = [decode(item) if type(item) is list else item for item in data[1:]]
    if tag == 0:
        return tuple(items)
    return CLASSES[tag - 1](*items)


@lru_cache(maxsize=1)
def analyzer_fingerprint() -> str:
    """A hash of apexscan's own files: facts made by other code are never reused."""
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    package = Path(__file__).resolve().parent.parent  # the apexscan package
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".toml") and path.is_file():
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


# --- the pack ------------------------------------------------------------------------------------


class FactsCache:
    """Facts of one project's files, looked up by (path, kind, content hash).

    One object can serve several scans in a row (the language server keeps one per project):
    facts it has already decoded are handed out again without touching the pack."""

    def __init__(self, folder: Path, root: Path):
        key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:24]
        self.pack = folder / key / PACK_NAME
        self.delta = folder / key / DELTA_NAME
        self._old: dict[str, tuple] | None = None  # read on first use, inside the scan
        self._new: dict[str, tuple] = {}
        self._decoded: dict[str, tuple] = {}  # rel -> (key, facts, diagnostics), this process only
        self._unwritten = False  # a finished scan changed the entries and the pack is not written yet
        self._on_disk: dict[str, tuple] = {}  # the entries the pack and delta hold together
        self._token = ""  # names the pack on disk; its delta carries the same
        self._pack_seen: tuple | None = None  # the pack file as read or written here (inode, mtime, size)
        self._delta: dict[str, tuple | None] = {}  # the delta on disk: rel -> entry, None if removed
        self.hits = 0
        self.misses = 0

    def _entries(self) -> dict[str, tuple]:
        if self._old is None:
            self._old = {}
            pack = _read(self.pack)
            if pack is None or type(pack.get("entries")) is not dict:
                return self._old  # no cache yet, or unreadable, or by another apexscan: start afresh
            entries, self._token = pack["entries"], pack.get("token", "")
            self._pack_seen = _identity(self.pack)
            delta = _read(self.delta)
            if delta is not None and delta.get("token") == self._token and type(delta.get("entries")) is dict:
                self._delta = delta["entries"]
                for rel, entry in self._delta.items():
                    if entry is None:
                        entries.pop(rel, None)
                    else:
                        entries[rel] = entry
            self._old, self._on_disk = entries, dict(entries)
        return self._old

    @staticmethod
    def key(kind: str, data: bytes) -> str:
        return f"{kind}:{hashlib.sha256(data).hexdigest()}"

    def get(self, rel: str, key: str):
        """The cached (facts, diagnostics) of this file, or None."""
        entry = self._entries().get(rel)
        if type(entry) is tuple and len(entry) == 3 and entry[0] == key:
            known = self._decoded.get(rel)
            if known is not None and known[0] == key:
                found = known[1:]
            else:
                try:
                    found = decode(entry[1]), decode(entry[2])
                except (IndexError, TypeError, ValueError, KeyError, RecursionError):
                    found = None  # a damaged entry: parse the file again
            if found is not None:
                self.hits += 1
                self._new[rel] = entry
                self._decoded[rel] = (key, *found)
                return found
        self.misses += 1
        return None

    def put_encoded(self, rel: str, key: str, encoded_facts, encoded_diagnostics, facts_value=None,
                    diagnostics=()) -> None:
        """Record a file's facts (encoded for the pack; decoded too when the caller has them)."""
        self._new[rel] = (key, encoded_facts, encoded_diagnostics)
        if facts_value is not None:
            self._decoded[rel] = (key, facts_value, tuple(diagnostics))

    def save(self) -> None:
        """End a scan and write the pack (see `finish` and `write`)."""
        self.finish()
        self.write()

    def finish(self) -> None:
        """End a scan: from now on the cache holds exactly this scan's files."""
        before, entries = self._entries(), self._new
        self._old, self._new = entries, {}  # ready for the next scan by this object
        self._decoded = {rel: known for rel, known in self._decoded.items() if rel in entries}
        self._unwritten = self._unwritten or entries != before

    def write(self) -> None:
        """Write what the finished scans changed: a delta when it is small, else the whole pack. A
        cache that cannot be written (read-only home, full disk) is skipped silently, as the scan is
        complete."""
        if not self._unwritten:
            return
        entries = self._old
        delta = dict(self._delta)
        delta.update((rel, entry) for rel, entry in entries.items() if self._on_disk.get(rel) is not entry)
        delta.update((rel, None) for rel in self._on_disk.keys() - entries.keys())
        try:
            self.pack.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # A delta only beside the pack this process knows: another process may have replaced it.
            if self._token and len(delta) <= max(DELTA_MIN, len(entries) // 10) \
                    and _identity(self.pack) == self._pack_seen:
                _write(self.delta, {"analyzer": analyzer_fingerprint(), "token": self._token, "entries": delta})
                self._delta = delta
            else:
                token = secrets.token_hex(8)
                _write(self.pack, {"analyzer": analyzer_fingerprint(), "token": token, "entries": entries})
                self._token, self._delta, self._pack_seen = token, {}, _identity(self.pack)
                self.delta.unlink(missing_ok=True)
            self._on_disk = dict(entries)
            self._unwritten = False
        except OSError:
            pass  # tried again after the next scan


def _identity(path: Path) -> tuple | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def _read(path: Path) -> dict | None:
    """A pack or delta document written by this version of apexscan, or None."""
    try:
        document = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if type(document) is dict and document.get("analyzer") == analyzer_fingerprint():
        return document
    return None


def _write(path: Path, document: dict) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".facts-")
    try:
        with os.fdopen(handle, "wb") as out:
            marshal.dump(document, out)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
