"""Find the files to scan: sfdx-project.json package directories, .forceignore, file kinds.

Files are classified by suffix, never by folder: Salesforce lets most metadata live anywhere in a
package directory. Symbolic links are not followed out of the project. Data Loader's
process-conf.xml and database-conf.xml are recognised by name; they are never deployed, so they
are also looked for outside the package directories.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from apexscan.engine.model import Diagnostic
from apexscan.frontends.metadata import METADATA_FILE_NAMES, METADATA_FILE_SUFFIXES

APEX_SUFFIXES = (".cls", ".trigger")
FLOW_SUFFIXES = (".flow-meta.xml", ".flow")
TEMPLATE_SUFFIXES = (".genaiprompttemplate-meta.xml", ".genaiprompttemplate")
# Aura bundle files read by frontends/aura.py (lower-case); the bundle must sit in an aura/ folder.
AURA_SUFFIXES = (".cmp", ".app", "controller.js", "helper.js", "renderer.js")
# Metadata that decides where data goes or how sensitive it is: what frontends/metadata.py reads.
METADATA_SUFFIXES = METADATA_FILE_SUFFIXES
SKIP_DIRS = {".git", ".sfdx", ".sf", "node_modules", ".github", ".vscode", ".idea", "__pycache__",
             ".husky", "coverage", ".apexscan-cache", "site-packages", "bower_components", "__pypackages__"}

# --- services outside the org: Python and Node code and their configuration (frontends/python.py,
# node.py, service_config.py). Found anywhere in the tree, also beside an SFDX project's package
# directories; LWC and Aura JavaScript keeps its own kinds.
SERVICE_KINDS = ("python", "node", "env-file", "app-json", "json", "terraform")
PYTHON_SUFFIXES = (".py",)
NODE_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx")
# Folders of installed, built or copied code, and of tests (tests never send production data; `robot`
# holds Robot Framework suites of CumulusCI projects).
SERVICE_SKIP_DIRS = frozenset({"venv", "virtualenv", "env", "dist", "build", "out", "vendor", "vendors",
                               "vendored", "third_party", "third-party", "external", "staticresources",
                               "target", "htmlcov", "lib64", "tests", "test", "__tests__", "__mocks__", "spec",
                               "specs", "testing", "e2e", "cypress", "fixtures", "migrations", "robot"})
# Files that are tests, builds or tool configuration, not service code (lower-case names).
SERVICE_SKIP_FILES = re.compile(
    r"^(?:test_.*\.py|.*_test\.py|tests?\.py|conftest\.py|setup\.py|noxfile\.py|"
    r".*\.(?:test|spec|stories|e2e)\.[cm]?[jt]sx?|.*\.d\.[cm]?ts|.*[.-]min\.[cm]?js|.*\.bundle\.[cm]?js|"
    r".*\.config\.[cm]?[jt]s|\..*rc\.[cm]?js|gruntfile\.js|gulpfile\.js)$")
# Environment files: `.env` and `.env.production` are configuration the service loads; the others
# are examples of it. `.env.test` configures tests.
ENV_FILE = re.compile(r"^(?:\.env(?:\.[\w-]+)?|[\w-]+\.env)$")
NOT_MAPPING_JSON = re.compile(
    r"^(?:package(?:-lock)?|tsconfig(?:\..*)?|jsconfig|sfdx-project|composer|lerna|angular|nx|turbo|"
    r"renovate|vercel|now|firebase|manifest|\.?eslintrc|\.?prettierrc|\.?babelrc|.*\.schema|.*-meta)\.json$")


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # POSIX path relative to the project root (used in every report)
    kind: str  # "apex", "flow", "template" (Prompt Builder), "lwc", "aura", "metadata", or one of SERVICE_KINDS


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    files: tuple[SourceFile, ...]
    diagnostics: tuple[Diagnostic, ...]


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
    folders = lower.split("/")[:-1]
    if len(folders) >= 2 and folders[-2] == "aura" and name.endswith(AURA_SUFFIXES):
        return "aura"
    if name.endswith(".js") and "lwc" in folders:
        return "lwc" if "__tests__" not in folders else None
    service = service_kind(name, folders)
    if service is not None:
        return service or None
    if name.endswith(".md") and "/custommetadata/" not in "/" + lower:
        return None  # a README, not a Custom Metadata record (customMetadata/Type.Record.md)
    if name.endswith(METADATA_SUFFIXES):
        return "metadata"
    return None


def service_kind(name: str, folders: list[str]) -> str | None:
    """The kind of a service file (lower-case name and folders): "python", "node", "env-file",
    "app-json", "json" (read only if it is a Heroku Connect mapping export) or "terraform" (its
    heroku_app resources); "" for a file of
    that sort that is not analysed (a test, a build, a vendored copy); None for other files."""
    code = name.endswith(PYTHON_SUFFIXES) or name.endswith(NODE_SUFFIXES)
    is_json = name.endswith(".json")
    if name.endswith(".tf"):
        return "terraform" if not any(f in SERVICE_SKIP_DIRS for f in folders) else ""
    if not code and not is_json and not ENV_FILE.match(name):
        return None
    if any(f in SERVICE_SKIP_DIRS or "staticresource" in f for f in folders):  # (browser libraries too)
        return ""
    if code:
        if SERVICE_SKIP_FILES.match(name) or "aura" in folders or "lwc" in folders:
            return ""
        return "python" if name.endswith(PYTHON_SUFFIXES) else "node"
    if is_json:
        if name == "app.json":
            return "app-json"
        return "" if NOT_MAPPING_JSON.match(name) else "json"
    return "" if name in (".env.test", ".env.testing") else "env-file"


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
        folders = _package_dirs(target, root, diags)
        for folder in folders:
            for path, rel, kind in _walk(folder, root, diags):
                if not ignore.ignored(rel):
                    files[rel] = SourceFile(path, rel, kind)
        if folders != [target]:
            # Data Loader configuration is never deployed, and services live beside the project:
            # look outside the package directories too.
            for path, rel, kind in _walk(target, root, [], skip=frozenset(folders)):
                if (path.name.lower() in METADATA_FILE_NAMES or kind in SERVICE_KINDS) and not ignore.ignored(rel):
                    files.setdefault(rel, SourceFile(path, rel, kind))
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


def _walk(folder: Path, root: Path, diags: list[Diagnostic], skip: frozenset[Path] = frozenset()):
    """(path, project-relative POSIX path, kind) of every file of a known kind under `folder`,
    leaving out the folders in `skip`."""
    prefix = len(str(root)) + 1  # root is resolved and `folder` is inside it
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False, onerror=None):
        base = Path(dirpath)
        if skip:
            dirnames[:] = [d for d in dirnames if base / d not in skip]
        rel_dir = dirpath[prefix:].replace(os.sep, "/")
        for d in dirnames:
            if (base / d).is_symlink():
                diags.append(Diagnostic(f"{rel_dir}/{d}".lstrip("/"), "discover",
                                        "symbolic link to a folder; not followed"))
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                             and not (base / d).is_symlink() and not (base / d / "pyvenv.cfg").exists())
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
                diags.append(Diagnostic(rel, "discover", "not a regular file (a pipe or device); skipped"))
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
