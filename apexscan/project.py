"""Find the files to scan: sfdx-project.json package directories, .forceignore, file kinds.

Files are classified by suffix, never by folder: Salesforce lets most metadata live anywhere in a
package directory. Symbolic links are not followed out of the project.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .frontends.metadata import METADATA_FILE_SUFFIXES
from .model import Diagnostic

APEX_SUFFIXES = (".cls", ".trigger")
FLOW_SUFFIXES = (".flow-meta.xml", ".flow")
TEMPLATE_SUFFIXES = (".genaiprompttemplate-meta.xml", ".genaiprompttemplate")
# Metadata that decides where data goes or how sensitive it is: what frontends/metadata.py reads.
METADATA_SUFFIXES = METADATA_FILE_SUFFIXES
SKIP_DIRS = {".git", ".sfdx", ".sf", "node_modules", ".github", ".vscode", ".idea", "__pycache__",
             ".husky", "coverage", ".apexscan-cache"}


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # POSIX path relative to the project root (used in every report)
    kind: str  # "apex", "flow", "template" (Prompt Builder), "lwc" or "metadata"


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    files: tuple[SourceFile, ...]
    diagnostics: tuple[Diagnostic, ...]


class UsageError(Exception):
    """Bad command-line input: the CLI prints it and exits 2."""


def file_kind(rel: str) -> str | None:
    """What a file is, from its project-relative path: suffixes decide, except for JavaScript,
    which is an LWC only inside an lwc/ bundle (and not its Jest tests)."""
    lower = rel.lower()
    name = lower.rsplit("/", 1)[-1]
    if name.endswith(APEX_SUFFIXES):
        return "apex"
    if name.endswith(FLOW_SUFFIXES):
        return "flow"
    if name.endswith(TEMPLATE_SUFFIXES):
        return "template"
    if name.endswith(".js"):
        folders = lower.split("/")[:-1]
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
            kind = file_kind(rel)
            if kind is not None and not target.is_file():
                diags.append(Diagnostic(rel, "discover", "not a regular file (a pipe or device); skipped"))
                continue
            if kind is None:
                diags.append(Diagnostic(rel, "discover", "not an Apex or metadata file; skipped"))
                continue
            files[rel] = SourceFile(target, rel, kind)
            continue
        for folder in _package_dirs(target, root, diags):
            for path in _walk(folder, root, diags):
                rel = path.relative_to(root).as_posix()
                kind = file_kind(rel)
                if kind is None or ignore.ignored(rel):
                    continue
                files[rel] = SourceFile(path, rel, kind)
    return Project(root, tuple(files[k] for k in sorted(files)), tuple(diags))


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
            diags.append(Diagnostic("sfdx-project.json", "discover", f"package directory {d} is outside the project; skipped"))
            continue
        if not d.is_dir():
            diags.append(Diagnostic("sfdx-project.json", "discover",
                                    f"package directory {d.relative_to(root)} does not exist"))
            continue
        out.append(d)
    return out or [target]


def _walk(folder: Path, root: Path, diags: list[Diagnostic]):
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False, onerror=None):
        for d in dirnames:
            if (Path(dirpath) / d).is_symlink():
                diags.append(Diagnostic((Path(dirpath) / d).relative_to(root).as_posix(), "discover",
                                        "symbolic link to a folder; not followed"))
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                             and not (Path(dirpath) / d).is_symlink())
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    diags.append(Diagnostic(rel, "discover", "broken or looping symbolic link; skipped"))
                    continue
                if not _is_within(target, root):
                    diags.append(Diagnostic(rel, "discover", "symbolic link to outside the project; not followed"))
                    continue
            try:
                regular = path.is_file()
            except OSError:
                regular = False
            if not regular:
                if file_kind(rel) is not None:
                    diags.append(Diagnostic(rel, "discover", "not a regular file (a pipe or device); skipped"))
                continue
            yield path


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
    def load(cls, root: Path) -> "ForceIgnore":
        path = root / ".forceignore"
        rules = []
        if path.is_file():
            try:
                lines = path.read_text("utf-8-sig", errors="replace").splitlines()
            except OSError:
                lines = []
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
        parts = rel.split("/")
        result = False
        for pattern, negated, dir_only in self.rules:
            candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + (0 if dir_only else 1))]
            if any(pattern.match(c) for c in candidates):
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
