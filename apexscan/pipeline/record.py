"""The record header of an inventory: when it was made, from which commit, with which policy.

A DPO signs a record only when it says what it describes: the scan time (UTC), the commit each
system was read from and whether its work tree held changes, the policy file and its SHA-256, and
apexscan's version. Three inputs decide them:

* the time: `--timestamp`, else `SOURCE_DATE_EPOCH` (the reproducible-builds convention: seconds
  since 1970, UTC), else the clock; an unusable value is a usage error, never silently the clock;
* git: read from the files under `.git` (HEAD, loose refs, packed-refs), never by running git —
  a repository's configuration can make git run commands (fsmonitor, hooks), and a scanned
  repository is hostile. `git_state` is the one function to switch to the hardened git reader.
  Whether the work tree is dirty needs the index compared with the commit's tree and with the
  files, which these plain reads cannot do: it is reported as unknown (`dirty: null`), with why;
* the policy: the file's bytes, hashed as read.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from apexscan.pipeline.project import UsageError

Json = dict
MAX_GIT_FILE = 64 * 1024  # HEAD, a loose ref, a .git file
MAX_PACKED_REFS = 64 * 2**20  # packed-refs of a very large repository
_HASH = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1 or SHA-256 object names
_REF = re.compile(r"refs/[A-Za-z0-9._/+-]+")
DIRTY_UNKNOWN = ("not checked: telling changed files needs git's index compared with the commit, and apexscan "
                 "reads .git without running git")


# --- scan time ----------------------------------------------------------------------------------


def scan_time(timestamp: str | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """(the scan time as `YYYY-MM-DDTHH:MM:SSZ`, where it came from: "--timestamp",
    "SOURCE_DATE_EPOCH" or "clock"). Raises UsageError for a value that is not a time."""
    if timestamp is not None:
        return _iso(_parse_time(timestamp)), "--timestamp"
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        if not re.fullmatch(r"\d{1,12}", epoch.strip()):
            raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r}: not a number of seconds since 1970-01-01 UTC")
        return _iso(datetime.fromtimestamp(int(epoch), UTC)), "SOURCE_DATE_EPOCH"
    return _iso(datetime.now(UTC)), "clock"


def _parse_time(text: str) -> datetime:
    value = text.strip()
    if re.fullmatch(r"@\d{1,12}", value):
        return datetime.fromtimestamp(int(value[1:]), UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"--timestamp {text!r}: not an ISO 8601 time (2025-03-31T12:00:00Z) nor @SECONDS") from None
    if moment.tzinfo is None:
        raise UsageError(f"--timestamp {text!r}: give the offset (Z for UTC, or +01:00)")
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp(doc: Json, scanned_at: str, source: str, version: str) -> Json:
    """Put the scan time and apexscan's version into the document's record header."""
    doc["record"] = {"scanned_at": scanned_at, "scanned_at_source": source, "apexscan_version": version}
    return doc


# --- the policy file ----------------------------------------------------------------------------


def policy_file(path: Path | None, project_root: Path, policy_file_name: str = "apexscan.toml") -> Json:
    """The policy file a scan of `project_root` uses (`--policy`, else `apexscan.toml` at the root)
    as the record names it: its name (as given, or relative to the project) and its SHA-256; both
    "" when the built-in defaults apply."""
    if path is None:
        path = project_root / policy_file_name
        if not path.is_file():
            return {"file": "", "sha256": ""}
        name = policy_file_name
    else:
        name = path.name if path.is_absolute() else path.as_posix()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the policy file: {exc.strerror or exc}") from None
    return {"file": name, "sha256": digest}


# --- where a system comes from: its repository and commit -------------------------------------


@dataclass(frozen=True, slots=True)
class GitState:
    top: Path | None  # the work tree's top folder, None outside git
    commit: str  # the full object name HEAD points at, "" when unknown
    branch: str  # "main", "" when HEAD is detached or unknown
    dirty: bool | None  # None: not known (see DIRTY_UNKNOWN)
    unknown_because: str  # why commit or dirty state is not known ("" when both are)


def source_of(project_root: Path, environ: Mapping[str, str] | None = None) -> Json:
    """The `source` of a system in the document: its folder's name, and the repository it sits in
    (the top folder's name, the project's path inside it, the commit, the branch, dirty or not)."""
    state = git_state(project_root, os.environ if environ is None else environ)
    root = project_root.resolve()
    path = root.relative_to(state.top).as_posix() if state.top is not None and root.is_relative_to(state.top) else ""
    return {"folder": root.name,
            "repository": {"top": state.top.name if state.top is not None else "", "path": path,
                           "commit": state.commit, "branch": state.branch, "dirty": state.dirty,
                           "unknown_because": state.unknown_because}}


def git_state(folder: Path, environ: Mapping[str, str]) -> GitState:
    """The commit checked out in the work tree holding `folder`, read from .git's files only.

    Honours GIT_CEILING_DIRECTORIES as git does. A `.git` file (a linked work tree, a submodule)
    is followed to its git folder, and its `commondir` to the shared refs. Files that are not
    regular, too large, or not in git's formats make the commit unknown, never an error."""
    start = folder.resolve()
    ceilings = {Path(p).resolve() for p in environ.get("GIT_CEILING_DIRECTORIES", "").split(os.pathsep) if p}
    for top in (start, *start.parents):
        if top in ceilings and top != start:
            break
        marker = top / ".git"
        if marker.is_dir() or marker.is_file():
            return _read_state(top, marker)
        if top in ceilings:
            break
    return GitState(None, "", "", None, "not inside a git work tree")


def _read_state(top: Path, marker: Path) -> GitState:
    def unknown(why: str) -> GitState:
        return GitState(top, "", "", None, why)

    git_dir = marker
    if marker.is_file():
        text = _small(marker)
        if text is None or not text.startswith("gitdir:"):
            return unknown(".git is a file that names no git folder")
        git_dir = (top / text[len("gitdir:"):].strip()).resolve()
        if not git_dir.is_dir():
            return unknown(".git names a git folder that does not exist")
    common = git_dir
    named = _small(git_dir / "commondir")
    if named is not None and named.strip():
        common = (git_dir / named.strip()).resolve()
    head = _small(git_dir / "HEAD")
    if head is None:
        return unknown("HEAD cannot be read")
    branch = ""
    value = head.strip()
    for _ in range(5):  # a symbolic ref may name another symbolic ref
        if not value.startswith("ref:"):
            break
        ref = value[len("ref:"):].strip()
        if not _REF.fullmatch(ref) or ".." in ref or "//" in ref:
            return unknown(f"HEAD names {ref[:80]!r}, not a ref")
        branch = branch or ref.removeprefix("refs/heads/")
        loose = _small(git_dir / ref)
        if loose is None and common != git_dir:
            loose = _small(common / ref)
        value = loose.strip() if loose is not None else _packed(common, ref)
        if not value:
            return GitState(top, "", branch, None, f"{ref} has no commit yet")
    if not _HASH.fullmatch(value):
        return unknown("HEAD does not name a commit")
    return GitState(top, value, branch, None, DIRTY_UNKNOWN)


def _packed(common: Path, ref: str) -> str:
    path = common / "packed-refs"
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_PACKED_REFS:
            return ""
        with path.open("rb") as lines:
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                name, _, tail = line.partition(" ")
                if tail == ref and _HASH.fullmatch(name):
                    return name
    except OSError:
        return ""
    return ""


def _small(path: Path) -> str | None:
    """A small regular file's text, or None (missing, a link, a device, too large, not text)."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_GIT_FILE:
            return None
        return path.read_bytes()[:MAX_GIT_FILE].decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
