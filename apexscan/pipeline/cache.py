"""The parsed-facts cache: a file whose bytes did not change is not parsed again.

Facts depend on one file alone (facts.py), so each file's facts are cached under
(relative path, kind, SHA-256 of its bytes). A whole project's entries live in one pack file, read
at the start of a scan. When a scan changed only a few entries (an edit between two runs), they go
to a small delta file beside the pack instead of a rewrite of the whole pack (a third of a second
on NPSP); the pack is rewritten when the delta grows past a tenth of it. Both are written
atomically, and a delta is used only with the pack it was written against.

Where: the user's cache folder ($XDG_CACHE_HOME/apexscan, else ~/.cache/apexscan), one folder per
project root, never inside the scanned repository (a repository could otherwise ship a crafted
cache). `--cache-dir` moves it, `--no-cache` turns it off.

Trust: whoever can write the cache folder could otherwise decide what a later scan sees — empty
facts for the known bytes of a file hide its leaks, and a crafted 5-byte file makes `marshal`
reserve 8 GB (a list's length is read, and the list allocated, before any of its items). So:

* every file starts with an HMAC-SHA256 of its contents, keyed by a secret the cache folder does
  not hold (`APEXSCAN_CACHE_KEY`, else a random key kept 0600 in $XDG_STATE_HOME/apexscan, made on
  first use) and bound to the project and to apexscan's own code; a file whose tag does not match
  is ignored (and rewritten), and nothing of it is decoded. Facts are a pure function of a file's
  bytes, so an entry apexscan wrote is right whoever's scan wrote it: what the key keeps out is an
  entry apexscan did not write;
* a file larger than MAX_FILE_BYTES is not read at all;
* each entry, even authenticated, is decoded only through the typed checks of cache_codec.py, and
  one that fails them is parsed again;
* the cache folder, the project's folder in it and the pack files must not be symbolic links and
  must belong to the user (opened with O_NOFOLLOW, written through folder descriptors): otherwise
  the scan runs without the cache and says why (a "cache" diagnostic).
The README ("Cache") and docs/github-code-scanning.md say which CI set-ups share a cache across
trust levels, and how not to.
"""
from __future__ import annotations

import errno
import hashlib
import hmac
import marshal
import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path

from apexscan.engine.facts import FileFacts
from apexscan.engine.model import Diagnostic
from apexscan.pipeline.cache_codec import CODE_FACTS, DIAGNOSTICS, Invalid, decode

FORMAT = 3
MAGIC = b"APXFACT3"  # then the 32-byte tag, then the marshal payload
TAG_BYTES = 32
PACK_NAME = "facts.pack"
DELTA_NAME = "facts-delta.pack"
OLD_NAMES = ("facts.marshal", "facts-delta.marshal")  # format 2, unauthenticated: removed when a pack is written
DELTA_MIN = 64  # entries a delta may always hold, however small the project
MAX_FILE_BYTES = 512 * 1024 * 1024  # NPSP's pack is 27 MB
KEY_ENV = "APEXSCAN_CACHE_KEY"
MIN_KEY_CHARS = 32
KEY_FILE = "cache.key"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "apexscan"


def default_key_dir() -> Path:
    """Where the cache key is kept: the user's state folder, not the cache folder (a CI cache
    restored from elsewhere holds no key)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "apexscan"


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


class CacheRefused(Exception):
    """The cache cannot be trusted here; the message says why (shown as a "cache" diagnostic)."""


# --- the key -----------------------------------------------------------------------------------------


def load_key() -> bytes:
    """The secret that authenticates cache files: $APEXSCAN_CACHE_KEY, else the user's key file,
    made on first use. Raises CacheRefused (key too short, key file not private), or OSError
    (no home to keep it in)."""
    value = os.environ.get(KEY_ENV)
    if value:  # empty is unset: what CI gives for a secret a fork's run cannot see
        if len(value) < MIN_KEY_CHARS:
            raise CacheRefused(f"{KEY_ENV} is shorter than {MIN_KEY_CHARS} characters")
        return value.encode("utf-8", "surrogateescape")
    path = default_key_dir() / KEY_FILE
    try:
        fd = _open_key(path)
    except FileNotFoundError:  # the first run: make one, whole (another process may be doing the same)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(6)}")
        made = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(made, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(32))
            try:
                os.link(temp, path)  # never replaces a key another process made first
            except FileExistsError:
                pass
        finally:
            os.unlink(temp)
        fd = _open_key(path)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise CacheRefused(f"the cache key {path} is not a file only you can read (chmod 600 it)")
        key = handle.read(4096).strip()
    if len(key) < MIN_KEY_CHARS:
        raise CacheRefused(f"the cache key {path} is shorter than {MIN_KEY_CHARS} characters")
    return key


def _open_key(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CacheRefused(f"the cache key {path} is a symbolic link") from None
        raise


# --- the pack ------------------------------------------------------------------------------------


class FactsCache:
    """Facts of one project's files, looked up by (path, kind, content hash).

    One object can serve several scans in a row (the language server keeps one per project):
    facts it has already decoded are handed out again without touching the pack. `problems` says
    why the cache is not used, when it is refused (symbolic links, a key file others can read)."""

    def __init__(self, folder: Path, root: Path, key: bytes | None = None):
        self.folder = folder
        self.project = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:24]
        self._key = key
        self.problems: list[Diagnostic] = []
        self._refused = False
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

    @property
    def pack(self) -> Path:
        return self.folder / self.project / PACK_NAME

    @property
    def delta(self) -> Path:
        return self.folder / self.project / DELTA_NAME

    def _refuse(self, reason: str) -> None:
        self._refused = True
        self.problems = [Diagnostic("", "cache", f"{reason}; running without the facts cache")]

    def _secret(self) -> bytes | None:
        if self._key is None and not self._refused:
            try:
                self._key = load_key()
            except CacheRefused as exc:
                self._refuse(str(exc))
            except OSError as exc:
                self._refuse(f"cannot keep the cache key in {default_key_dir()}: {exc.strerror or exc}")
        return None if self._refused else self._key

    def _folder(self, create: bool) -> int | None:
        """A descriptor of the project's folder in the cache (the caller closes it); None when
        there is none yet, or it cannot be used. Refuses symbolic links and other users' folders."""
        if self._secret() is None:
            return None
        try:
            if create:
                self.folder.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.mkdir(self.folder, 0o700)
                except FileExistsError:
                    pass
            top = _open_folder(self.folder)
            try:
                if create:
                    try:
                        os.mkdir(self.project, 0o700, dir_fd=top)
                    except FileExistsError:
                        pass
                return _open_folder(self.folder / self.project, self.project, top)
            finally:
                os.close(top)
        except CacheRefused as exc:
            self._refuse(str(exc))
        except OSError:
            pass  # no cache folder yet, or one that cannot be made (read-only home): no cache
        return None

    def _entries(self) -> dict[str, tuple]:
        if self._old is None:
            self._old = {}
            folder = self._folder(create=False)
            if folder is None:
                return self._old
            try:
                pack = self._read(folder, PACK_NAME, "pack")
                if pack is None:
                    return self._old  # no cache yet, unreadable, forged or by another apexscan: afresh
                entries, self._token = pack["entries"], pack["token"]
                self._pack_seen = _identity(folder, PACK_NAME)
                delta = self._read(folder, DELTA_NAME, "delta")
                if delta is not None and delta["token"] == self._token:
                    self._delta = delta["entries"]
                    for rel, entry in self._delta.items():
                        if entry is None:
                            entries.pop(rel, None)
                        else:
                            entries[rel] = entry
                self._old, self._on_disk = entries, dict(entries)
            finally:
                os.close(folder)
        return self._old

    @staticmethod
    def key(kind: str, data: bytes) -> str:
        return f"{kind}:{hashlib.sha256(data).hexdigest()}"

    def get(self, rel: str, key: str, root: str = CODE_FACTS):
        """The cached (facts, diagnostics) of this file, or None; `root` is what its facts are
        (cache_codec.CODE_FACTS for a code frontend's, METADATA_FACTS for a metadata frontend's)."""
        entry = self._entries().get(rel)
        if type(entry) is tuple and len(entry) == 3 and entry[0] == key:
            known = self._decoded.get(rel)
            if known is not None and known[0] == key:
                found = known[1:]
            else:
                found = _decoded_entry(rel, entry, root)
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
        complete; one that is refused is never written."""
        if not self._unwritten or self._refused:
            return
        entries = self._old
        delta = dict(self._delta)
        delta.update((rel, entry) for rel, entry in entries.items() if self._on_disk.get(rel) is not entry)
        delta.update((rel, None) for rel in self._on_disk.keys() - entries.keys())
        folder = self._folder(create=True)
        if folder is None:
            return
        try:
            # A delta only beside the pack this process knows: another process may have replaced it.
            if self._token and len(delta) <= max(DELTA_MIN, len(entries) // 10) \
                    and _identity(folder, PACK_NAME) == self._pack_seen:
                self._write(folder, DELTA_NAME, "delta", {"token": self._token, "entries": delta})
                self._delta = delta
            else:
                token = secrets.token_hex(8)
                self._write(folder, PACK_NAME, "pack", {"token": token, "entries": entries})
                self._token, self._delta, self._pack_seen = token, {}, _identity(folder, PACK_NAME)
                for stale in (DELTA_NAME, *OLD_NAMES):
                    try:
                        os.unlink(stale, dir_fd=folder)
                    except FileNotFoundError:
                        pass
            self._on_disk = dict(entries)
            self._unwritten = False
        except OSError:
            pass  # tried again after the next scan
        finally:
            os.close(folder)

    # --- files -----------------------------------------------------------------------------------

    def _tag(self, role: str, payload: bytes) -> bytes:
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        mac.update(b"\0".join((b"apexscan facts cache", role.encode(), self.project.encode(),
                               analyzer_fingerprint().encode(), b"")))
        mac.update(payload)
        return mac.digest()

    def _read(self, folder: int, name: str, role: str) -> dict | None:
        """A pack or delta document this user's apexscan wrote for this project, or None."""
        try:
            data = _read_private(folder, name)
        except CacheRefused as exc:
            self._refuse(str(exc))
            return None
        except OSError:
            return None
        if data is None or len(data) < len(MAGIC) + TAG_BYTES or not data.startswith(MAGIC):
            return None
        view = memoryview(data)
        tag, payload = view[len(MAGIC):len(MAGIC) + TAG_BYTES], view[len(MAGIC) + TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(role, payload)):
            return None  # written with another key or by another apexscan, or forged: never decoded
        try:
            document = marshal.loads(payload)
        except (ValueError, EOFError, TypeError, MemoryError):
            return None
        if type(document) is not dict or type(document.get("token")) is not str \
                or type(document.get("entries")) is not dict:
            return None
        return document

    def _write(self, folder: int, name: str, role: str, document: dict) -> None:
        payload = marshal.dumps(document)
        temp = f".{name}.{secrets.token_hex(6)}.tmp"
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(MAGIC)
                out.write(self._tag(role, payload))
                out.write(payload)
            os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            os.unlink(temp, dir_fd=folder)
            raise


def _decoded_entry(rel: str, entry: tuple, root: str):
    """(facts, diagnostics) of an entry, checked field by field; None for one apexscan did not write."""
    try:
        facts = decode(entry[1], root)
        diagnostics = decode(entry[2], DIAGNOSTICS)
    except Invalid:
        return None
    if isinstance(facts, FileFacts) and facts.path != rel:
        return None
    return facts, diagnostics


def _open_folder(path: Path, name: str | None = None, parent: int | None = None) -> int:
    """A descriptor of a folder that is no symbolic link and is the user's own; raises
    CacheRefused when it is not, OSError when it cannot be opened."""
    try:
        fd = os.open(name if parent is not None else path,
                     os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(path):
            raise CacheRefused(f"the cache folder {path} is a symbolic link") from None
        raise
    if os.fstat(fd).st_uid != os.geteuid():
        os.close(fd)
        raise CacheRefused(f"the cache folder {path} belongs to another user")
    return fd


def _read_private(folder: int, name: str) -> bytes | None:
    """The bytes of a regular file of this user's in `folder`, None when it is larger than
    MAX_FILE_BYTES. Raises CacheRefused for a symbolic link, OSError when it cannot be read."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CacheRefused(f"the cache file {name} is a symbolic link") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            raise CacheRefused(f"the cache file {name} is not a file of your own")
        if info.st_size > MAX_FILE_BYTES:
            return None
        data = handle.read(MAX_FILE_BYTES + 1)
    return data if len(data) <= MAX_FILE_BYTES else None


def _identity(folder: int, name: str) -> tuple | None:
    try:
        status = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def _is_link(path: Path) -> bool:
    try:
        return path.is_symlink()
    except OSError:
        return False
