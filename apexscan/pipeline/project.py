"""Find the files to scan: sfdx-project.json package directories, .forceignore, file kinds.

Files are classified by suffix, never by folder: Salesforce lets most metadata live anywhere in a
package directory. Symbolic links are not followed out of the project. Data Loader's
process-conf.xml and database-conf.xml are recognised by name; they are never deployed, so they
are also looked for outside the package directories. Mule 4 applications are found wherever they sit
in the scanned tree (next to an SFDX project in a monorepo, or alone): their files are kinds of
their own (`frontends/mule/layout.py`).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from apexscan.engine.model import Diagnostic
from apexscan.frontends.agent import agent_file
from apexscan.frontends.metadata import METADATA_FILE_NAMES, METADATA_FILE_SUFFIXES
from apexscan.frontends.mule import layout as mule_layout

APEX_SUFFIXES = (".cls", ".trigger")
FLOW_SUFFIXES = (".flow-meta.xml", ".flow")
TEMPLATE_SUFFIXES = (".genaiprompttemplate-meta.xml", ".genaiprompttemplate")
# Aura bundle files read by frontends/aura.py (lower-case); the bundle must sit in an aura/ folder.
AURA_SUFFIXES = (".cmp", ".app", "controller.js", "helper.js", "renderer.js")
# Metadata that decides where data goes or how sensitive it is: what frontends/metadata.py reads.
METADATA_SUFFIXES = METADATA_FILE_SUFFIXES
SKIP_DIRS = {".git", ".sfdx", ".sf", "node_modules", ".github", ".vscode", ".idea", "__pycache__",
             ".husky", "coverage", ".apexscan-cache"}


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # POSIX path relative to the project root (used in every report)
    kind: str  # "apex", "flow", "template" (Prompt Builder), "agent" (Agentforce), "lwc", "aura", "metadata",
    #            or a Mule kind (frontends/mule/layout.py: "mule", "dataweave", "mule-config", "mule-project")


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    files: tuple[SourceFile, ...]
    diagnostics: tuple[Diagnostic, ...]
    # The SFDX project folder inside `root` (POSIX, relative to it) when `root` is a repository
    # holding one SFDX project and the integration code beside it (Mule apps, Data Loader files),
    # analysed together: its policy applies, and findings in it keep fingerprints of paths within it.
    sfdx_prefix: str = ""


class UsageError(Exception):
    """Bad command-line input: the CLI prints it and exits 2."""


def file_kind(rel: str) -> str | None:
    """What a file is, from its project-relative path: suffixes decide, except for JavaScript,
    which is an LWC only inside an lwc/ bundle (and not its Jest tests), and for Aura bundles
    (aura/<name>/: the .cmp or .app markup and its Controller, Helper and Renderer JavaScript)."""
    lower = rel.lower()
    name = lower.rsplit("/", 1)[-1]
    if name in METADATA_FILE_NAMES:
        return "metadata"
    if name.endswith(APEX_SUFFIXES):
        return "apex"
    if name.endswith(FLOW_SUFFIXES):
        return "flow"
    if name.endswith(TEMPLATE_SUFFIXES):
        return "template"
    if agent_file(lower):  # Agentforce agents, topics, actions (with their output schemas) and bots
        return "agent"
    folders = lower.split("/")[:-1]
    if len(folders) >= 2 and folders[-2] == "aura" and name.endswith(AURA_SUFFIXES):
        return "aura"
    if name.endswith(".js"):
        return "lwc" if "lwc" in folders and "__tests__" not in folders else None
    if name.endswith(".md") and "/custommetadata/" not in "/" + lower:
        return None  # a README, not a Custom Metadata record (customMetadata/Type.Record.md)
    if name.endswith(METADATA_SUFFIXES):
        return "metadata"
    return None


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding sfdx-project.json, else `start` itself."""
    cur = start if start.is_dir() else start.parent
    for folder in (cur, *cur.parents):
        if (folder / "sfdx-project.json").is_file():
            return folder
    return cur


def discover(targets: list[Path]) -> Project:
    if not targets:
        raise UsageError("nothing to scan: give a project folder or files")
    for t in targets:
        if not t.exists():
            raise UsageError(f"{t}: no such file or folder")
    resolved = [t.resolve() for t in targets]
    if len(resolved) == 1 and resolved[0].is_dir():
        root = resolved[0]
    else:
        root = find_root(resolved[0])
        if not all(_is_within(t, root) for t in resolved):
            root = Path(os.path.commonpath([str(t if t.is_dir() else t.parent) for t in resolved]))
    diags: list[Diagnostic] = []
    ignore = ForceIgnore.load(root)
    files: dict[str, SourceFile] = {}
    for target in resolved:
        if not target.is_dir():
            rel = target.relative_to(root).as_posix()
            kind = file_kind(rel) or _mule_kind(target)
            if kind is not None and not target.is_file():
                diags.append(Diagnostic(rel, "discover", "not a regular file (a pipe or device)", not_analysed=True))
                continue
            if kind is None:
                diags.append(Diagnostic(rel, "discover", "not an Apex, metadata or Mule app file; skipped"))
                continue
            files[rel] = SourceFile(target, rel, kind)
            continue
        folders = _package_dirs(target, root, diags)
        for folder in folders:
            for path, rel, kind in _walk(folder, root, diags):
                if not ignore.ignored(rel):
                    files[rel] = SourceFile(path, rel, kind)
        if folders != [target]:  # Data Loader configuration is never deployed: look outside them too
            outside: list[Diagnostic] = []
            for path, rel, kind in _walk(target, root, outside, skip=frozenset(folders)):
                if path.name.lower() in METADATA_FILE_NAMES and not ignore.ignored(rel):
                    files.setdefault(rel, SourceFile(path, rel, kind))
            # only a folder nobody can list matters here: it may hold a process-conf.xml
            diags.extend(d for d in outside if d.not_analysed and d.message.startswith("cannot read folder"))
        for path, rel, kind in _mule_files(target, root):
            if not ignore.ignored(rel):
                files.setdefault(rel, SourceFile(path, rel, kind))
    return Project(root, tuple(files[k] for k in sorted(files)), tuple(diags))


def _mule_files(target: Path, root: Path):
    """(path, project-relative POSIX path, kind) of the files of every Mule app under `target`."""
    for app in mule_layout.find_apps(target, skip=frozenset(target / d for d in SKIP_DIRS)):
        for path, kind in mule_layout.app_files(app):
            if _is_within(path, root) and path.is_file():
                yield path, path.relative_to(root).as_posix(), kind


def _mule_kind(path: Path) -> str | None:
    """The Mule kind of a file given on its own: it must belong to an app (an ancestor folder that is
    a Mule app root, at its conventional place in it: src/main/... a few folders up)."""
    for folder in list(path.parents)[:8]:
        if mule_layout.is_app_root(folder):
            return mule_layout.kind_in_app(path.relative_to(folder).as_posix())
    return None


def _package_dirs(target: Path, root: Path, diags: list[Diagnostic]) -> list[Path]:
    config = target / "sfdx-project.json"
    if target != root or not config.is_file():
        return [target]
    try:
        data = json.loads(config.read_text("utf-8-sig"))
    except (OSError, ValueError) as exc:
        diags.append(Diagnostic("sfdx-project.json", "discover", f"unreadable ({exc}); scanning the whole folder"))
        return [target]
    entries = data.get("packageDirectories", []) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        diags.append(Diagnostic("sfdx-project.json", "discover",
                                "packageDirectories is not a list; scanning the whole folder"))
        return [target]
    seen, out = set(), []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
            diags.append(Diagnostic("sfdx-project.json", "discover",
                                    f"package directory entry {entry!r} has no path string; ignored"))
            continue
        try:
            d = (root / entry["path"]).resolve()
        except (OSError, ValueError, RuntimeError):
            diags.append(Diagnostic("sfdx-project.json", "discover", f"package directory {entry['path']!r} is not a valid path"))
            continue
        if d in seen:
            continue
        seen.add(d)
        if not _is_within(d, root):
            diags.append(Diagnostic("sfdx-project.json", "discover", f"package directory {entry['path']!r} is outside "
                                    "the project: scan the folder that holds both", not_analysed=True))
            continue
        if not d.is_dir():
            diags.append(Diagnostic("sfdx-project.json", "discover",
                                    f"package directory {d.relative_to(root)} does not exist"))
            continue
        out.append(d)
    return out or [target]


def _walk(folder: Path, root: Path, diags: list[Diagnostic], skip: frozenset[Path] = frozenset()):
    """(path, project-relative POSIX path, kind) of every file of a known kind under `folder`,
    leaving out the folders in `skip`."""
    prefix = len(str(root)) + 1  # root is resolved and `folder` is inside it

    def unreadable(error: OSError) -> None:
        """A folder that cannot be listed (mode 000): what it holds is not analysed."""
        where = Path(error.filename or folder)
        rel = where.as_posix()[prefix:] if _is_within(where, root) else where.as_posix()
        diags.append(Diagnostic(rel or ".", "discover", f"cannot read folder: {error.strerror or error}",
                                not_analysed=True))

    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False, onerror=unreadable):
        base = Path(dirpath)
        if skip:
            dirnames[:] = [d for d in dirnames if base / d not in skip]
        rel_dir = dirpath[prefix:].replace(os.sep, "/")
        for d in dirnames:
            if (base / d).is_symlink():
                rel = f"{rel_dir}/{d}".lstrip("/")
                if _is_within(base / d, root):  # its files are scanned where they are
                    diags.append(Diagnostic(rel, "discover", "symbolic link to a folder; not followed"))
                else:  # what it holds is deployed, never scanned: fail closed
                    diags.append(Diagnostic(rel, "discover", "symbolic link to a folder outside the project; "
                                            "not followed", not_analysed=True))
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                             and not (base / d).is_symlink())
        for name in sorted(filenames):
            rel = f"{rel_dir}/{name}".lstrip("/")
            kind = file_kind(rel)
            if kind is None:
                continue  # most files of a repository: no stat, no Path
            path = base / name
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    diags.append(Diagnostic(rel, "discover", "broken or looping symbolic link", not_analysed=True))
                    continue
                if not _is_within(target, root):
                    diags.append(Diagnostic(rel, "discover", "symbolic link to outside the project; not followed",
                                            not_analysed=True))
                    continue
            try:
                regular = path.is_file()
            except OSError:
                regular = False
            if not regular:
                diags.append(Diagnostic(rel, "discover", "not a regular file (a pipe or device)", not_analysed=True))
                continue
            yield path, rel, kind


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


class ForceIgnore:
    """The .forceignore file: .gitignore syntax (globs, `**`, trailing `/`, `!` negation)."""

    def __init__(self, rules: list[tuple[re.Pattern[str], bool, bool]]):
        self.rules = rules  # (pattern, negated, directory-only)

    @classmethod
    def load(cls, root: Path) -> ForceIgnore:
        path = root / ".forceignore"
        lines: list[str] = []
        if path.is_file():
            try:
                lines = path.read_text("utf-8-sig", errors="replace").splitlines()
            except OSError:
                lines = []
        return cls.parse(lines)

    @classmethod
    def parse(cls, lines: list[str]) -> ForceIgnore:
        """Patterns in .gitignore syntax, one a line (also the policy's and --exclude's globs)."""
        rules = []
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            line = line[1:] if negated else line
            dir_only = line.endswith("/")
            rules.append((_glob_regex(line.strip("/"), anchored="/" in line.strip("/")), negated, dir_only))
        return cls(rules)

    def ignored(self, rel: str) -> bool:
        if not self.rules:
            return False
        parts = rel.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]  # its folders, then itself
        folders = prefixes[:-1]
        result = False
        for pattern, negated, dir_only in self.rules:
            if any(pattern.match(c) for c in (folders if dir_only else prefixes)):
                result = not negated
        return result


def _glob_regex(glob: str, anchored: bool) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        else:
            out.append({"*": "[^/]*", "?": "[^/]"}.get(glob[i], re.escape(glob[i])))
            i += 1
    body = "".join(out)
    return re.compile(("^" if anchored else "^(?:.*/)?") + body + "$")
