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

from apexscan.engine.limits import LIMIT, LIMITS, Limits, megabytes
from apexscan.engine.model import Diagnostic
from apexscan.frontends.agent import agent_file
from apexscan.frontends.metadata import METADATA_FILE_NAMES, METADATA_FILE_SUFFIXES
from apexscan.frontends.mule import layout as mule_layout
from apexscan.pipeline.globs import Glob

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
    kind: str  # "apex", "flow", "template" (Prompt Builder), "agent" (Agentforce), "lwc", "aura", "metadata",
    #            a Mule kind (frontends/mule/layout.py: "mule", "dataweave", "mule-config", "mule-project"),
    #            or one of SERVICE_KINDS


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


def discover(targets: list[Path], limits: Limits = LIMITS) -> Project:
    if not targets:
        raise UsageError("nothing to scan: give a project folder or files")
    for t in targets:
        if not t.exists():
            raise UsageError(f"{t}: no such file or folder")
        refuse_enclosing_link(t)
    resolved = [t.resolve() for t in targets]
    if len(resolved) == 1 and resolved[0].is_dir():
        root = resolved[0]
    else:
        root = find_root(resolved[0])
        if not all(_is_within(t, root) for t in resolved):
            root = Path(os.path.commonpath([str(t if t.is_dir() else t.parent) for t in resolved]))
    diags: list[Diagnostic] = []
    ignore = ForceIgnore.load(root, diags, limits)
    budget = _Budget(limits.walk_entries, diags)
    files: dict[str, SourceFile] = {}
    for target in resolved:
        if not target.is_dir():
            rel = target.relative_to(root).as_posix()
            kind = kind_of(target, rel)
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
            for path, rel, kind in _walk(folder, root, diags, budget=budget):
                if not ignore.ignored(rel):
                    files[rel] = SourceFile(path, rel, kind)
        if folders != [target]:
            # Data Loader configuration is never deployed, and services live beside the project:
            # look outside the package directories too.
            outside: list[Diagnostic] = []
            for path, rel, kind in _walk(target, root, outside, skip=frozenset(folders), budget=budget):
                if (path.name.lower() in METADATA_FILE_NAMES or kind in SERVICE_KINDS) and not ignore.ignored(rel):
                    files.setdefault(rel, SourceFile(path, rel, kind))
            # only a folder nobody can list matters here: it may hold a process-conf.xml
            diags.extend(d for d in outside if d.not_analysed and d.message.startswith("cannot read folder"))
        for path, rel, kind in _mule_files(target, root):
            # a file of a Mule app is the app's, whatever its suffix says elsewhere (mule-artifact.json
            # and the AI connectors' JSON configuration are not a service's JSON)
            if not ignore.ignored(rel) and files.get(rel, SourceFile(path, rel, "json")).kind in SERVICE_KINDS:
                files[rel] = SourceFile(path, rel, kind)
    return Project(root, tuple(files[k] for k in sorted(files)), tuple(diags))


def _mule_files(target: Path, root: Path):
    """(path, project-relative POSIX path, kind) of the files of every Mule app under `target`."""
    for app in mule_layout.find_apps(target, skip=frozenset(target / d for d in SKIP_DIRS)):
        for path, kind in mule_layout.app_files(app):
            if _is_within(path, root) and path.is_file():
                yield path, path.relative_to(root).as_posix(), kind


def kind_of(path: Path, rel: str) -> str | None:
    """What a file given on its own is (`file_kind`, or a Mule kind by its place in an app)."""
    return file_kind(rel) or _mule_kind(path)


def _mule_kind(path: Path) -> str | None:
    """The Mule kind of a file given on its own: it must belong to an app (an ancestor folder that is
    a Mule app root, at its conventional place in it: src/main/... a few folders up)."""
    for folder in list(path.parents)[:8]:
        if mule_layout.is_app_root(folder):
            return mule_layout.kind_in_app(path.relative_to(folder).as_posix())
    return None
def refuse_enclosing_link(target: Path) -> None:
    """A folder to scan that is the file system's root, or that is, through a symbolic link, a
    folder around the link itself (`sf -> /`, `sf -> ..`, committed by a pull request where the
    workflow scans `sf/`), would have the scan walk far more than a project: bad usage."""
    real = target.resolve()
    if not real.is_dir():
        return
    if real == Path(real.anchor):
        raise UsageError(f"{target}: that is the file system's root ({real}), not a project folder")
    if real in Path(os.path.abspath(target)).parents:  # `..` removed as written, links not followed
        raise UsageError(f"{target}: a symbolic link to {real}, a folder around the link itself; "
                         "give the project folder instead")


def _package_dirs(target: Path, root: Path, diags: list[Diagnostic]) -> list[Path]:
    config = target / "sfdx-project.json"
    if target != root or not config.is_file():
        return [target]
    try:
        data = json.loads(config.read_text("utf-8-sig"))
    except (OSError, ValueError) as exc:
        diags.append(Diagnostic("sfdx-project.json", "discover", f"unreadable ({exc}); scanning the whole folder"))
        return [target]
    except RecursionError:
        diags.append(Diagnostic("sfdx-project.json", "discover",
                                "JSON nested too deeply to read; scanning the whole folder"))
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
        try:
            exists = d.is_dir()
        except OSError as exc:  # a name too long for the file system, ...
            diags.append(Diagnostic("sfdx-project.json", "discover", f"package directory {_shown(entry['path'])} "
                                    f"cannot be read ({exc.strerror or exc}); skipped"))
            continue
        if not exists:
            diags.append(Diagnostic("sfdx-project.json", "discover",
                                    f"package directory {d.relative_to(root)} does not exist"))
            continue
        out.append(d)
    return out or [target]


def _shown(text: str, most: int = 80) -> str:
    """A name from a configuration file, quoted and cut short for a message."""
    return repr(text if len(text) <= most else text[:most] + "...")


class _Budget:
    """How many more folder entries one discovery may walk (Limits.walk_entries)."""

    def __init__(self, limit: int, diags: list[Diagnostic]):
        self.limit = self.left = limit
        self.diags = diags  # where the stop is reported

    def spend(self, entries: int, rel_dir: str) -> bool:
        """False, once reported, when the walk has to stop here."""
        self.left -= entries
        if self.left >= 0:
            return True
        if self.left + entries >= 0:  # the first folder over the limit
            self.diags.append(Diagnostic(rel_dir or ".", LIMIT, f"the project has more than {self.limit:,} folders "
                                         "and files; the rest (from this folder on) was not analysed"))
        return False


def _walk(folder: Path, root: Path, diags: list[Diagnostic], skip: frozenset[Path] = frozenset(),
          budget: _Budget | None = None):
    """(path, project-relative POSIX path, kind) of every file of a known kind under `folder`,
    leaving out the folders in `skip`."""
    prefix = len(str(root)) + 1  # root is resolved and `folder` is inside it

    def unreadable(error: OSError) -> None:
        """A folder that cannot be listed (mode 000): what it holds is not analysed."""
        where = Path(error.filename or folder)
        rel = where.as_posix()[prefix:] if _is_within(where, root) else where.as_posix()
        diags.append(Diagnostic(rel or ".", "discover", f"cannot read folder: {error.strerror or error}",
                                not_analysed=True))

    budget = budget or _Budget(LIMITS.walk_entries, diags)
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False, onerror=unreadable):
        if not budget.spend(1 + len(dirnames) + len(filenames), dirpath[prefix:].replace(os.sep, "/")):
            return
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
    """The .forceignore file: .gitignore syntax (globs, `**`, trailing `/`, `!` negation), matched
    in linear time (globs.py). A glob with a `/` at its start or in its middle is anchored at the
    project root; one without matches at any depth."""

    def __init__(self, rules: list[tuple[Glob, bool, bool]]):
        self.rules = rules  # (glob, negated, directory-only)
        self._folders: dict[tuple[int, str], bool] = {}  # (rule, folder) -> matched: folders recur for every file

    @classmethod
    def load(cls, root: Path, diags: list[Diagnostic] | None = None, limits: Limits = LIMITS) -> ForceIgnore:
        """The rules of root/.forceignore. One too large to honour is reported in `diags` and
        ignored as a whole: everything is scanned (ignoring less never hides a finding)."""
        path = root / ".forceignore"
        try:
            if not path.is_file():
                return cls([])
            size = path.stat().st_size
            if size > limits.ignore_bytes:
                return cls._refused(diags, f"{megabytes(size)}, over the {megabytes(limits.ignore_bytes)} limit")
            lines = path.read_text("utf-8-sig", errors="replace").splitlines()
        except OSError:
            return cls([])
        return cls.parse(lines, diags, limits)

    @classmethod
    def parse(cls, lines: list[str], diags: list[Diagnostic] | None = None, limits: Limits = LIMITS) -> ForceIgnore:
        """Patterns in .gitignore syntax, one a line (also the policy's and --exclude's globs)."""
        rules: list[tuple[Glob, bool, bool]] = []
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            line = line[1:] if negated else line
            dir_only = line.endswith("/")
            glob = line.rstrip("/")
            anchored = "/" in glob
            rules.append((Glob.compile(glob.lstrip("/"), anchored), negated, dir_only))
            if len(rules) > limits.ignore_patterns:
                return cls._refused(diags, f"more than {limits.ignore_patterns:,} patterns")
        return cls(rules)

    @classmethod
    def _refused(cls, diags: list[Diagnostic] | None, why: str) -> ForceIgnore:
        if diags is not None:
            # not a skip: ignoring less never hides a finding, so a plain diagnostic, not APX-SCAN-001
            diags.append(Diagnostic(".forceignore", "discover", f"{why}; not honoured, every file is scanned"))
        return cls([])

    def ignored(self, rel: str) -> bool:
        if not self.rules:
            return False
        names = rel.split("/")
        folders = ["/".join(names[:depth]) for depth in range(1, len(names))]
        result = False
        for index, (glob, negated, dir_only) in enumerate(self.rules):
            # its folders, then (unless the rule is for folders only) itself
            if any(self._folder_matches(index, glob, folder) for folder in folders) \
                    or (not dir_only and glob.matches(names)):
                result = not negated
        return result

    def _folder_matches(self, index: int, glob: Glob, folder: str) -> bool:
        known = self._folders.get((index, folder))
        if known is None:
            known = self._folders[(index, folder)] = glob.matches(folder.split("/"))
        return known
