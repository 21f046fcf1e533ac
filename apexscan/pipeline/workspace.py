"""Where a scan stands: the repository, the SFDX projects in it, and the policy of each.

A user names a folder (often the repository root) or files. The folder may hold one SFDX project,
several, or none at its top. One SFDX project in a subfolder and the integration code beside it
(Mule apps, Data Loader files: what lies outside it) are one analysis with that project's policy,
so that data is followed from the org into the apps. With several SFDX projects each is analysed
on its own, with its own policy, and files outside every project are analysed together as the rest
of the folder. Reports name files relative to the *report root*: the top of the git work tree the
scan is in, else the folder scanned. That is what GitHub code scanning and editors expect, whatever
folder was named on the command line.

The repository is found without running git (a repository can configure what git runs): the
nearest folder at or above the project holding a `.git` entry, a folder or the file git writes in
a linked worktree or a submodule.

A project's policy is the first of: `--policy FILE`, `$APEXSCAN_POLICY`, `apexscan.toml` at the
project root, at the repository root, in the current folder; else the built-in defaults.
`PolicyChoice` says which, for the report. With `policy_ref` (`--policy-ref REF`) the same
choice is made among the files as they are in git commit REF, whose policy is then used
(`pipeline.policyref`): the working tree's only decides whether an APX-SCAN-002 finding says it
differs.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from apexscan.engine.model import Diagnostic, Finding, Location, Step
from apexscan.pipeline.fingerprints import PROJECT_KEY
from apexscan.pipeline.policyref import TrustedPolicy, policy_from_ref
from apexscan.pipeline.project import SKIP_DIRS, ForceIgnore, Project, UsageError, discover, refuse_enclosing_link
from apexscan.pipeline.suppress import SUPPRESSED_AT
from apexscan.salesforce import hosts
from apexscan.salesforce.policy import POLICY_FILE_NAME, Policy, check_codes, load_policy

POLICY_ENV = "APEXSCAN_POLICY"
PROJECT_FILE = "sfdx-project.json"
MAX_PROJECT_DEPTH = 6  # folders below the scanned one searched for sfdx-project.json

# PolicyChoice.source values
FROM_OPTION = "--policy"
FROM_ENV = f"${POLICY_ENV}"
AT_PROJECT = "project root"
AT_REPOSITORY = "repository root"
IN_CWD = "current folder"
DEFAULTS = "built-in defaults"


def repository_root(start: Path) -> Path | None:
    """The top of the git work tree holding `start` (a `.git` folder or file), or None."""
    start = start.resolve()
    for folder in (start if start.is_dir() else start.parent, *start.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return None


def project_roots(folder: Path) -> list[Path]:
    """The SFDX project roots at or below `folder`, outermost only: `folder` itself when it holds
    sfdx-project.json, else every such folder below it (not inside another project, hidden or
    tool folders, or symbolic links), in path order."""
    if (folder / PROJECT_FILE).is_file():
        return [folder]
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath)
        if base != folder and PROJECT_FILE in filenames and (base / PROJECT_FILE).is_file():
            found.append(base)
            dirnames[:] = []
            continue
        depth = len(base.relative_to(folder).parts)
        dirnames[:] = sorted(d for d in dirnames if depth < MAX_PROJECT_DEPTH and d not in SKIP_DIRS
                             and not d.startswith(".") and not (base / d).is_symlink())
    return sorted(found)


# --- policy ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyChoice:
    path: Path | None  # None: the built-in defaults
    source: str  # FROM_OPTION, FROM_ENV, AT_PROJECT, AT_REPOSITORY, IN_CWD or DEFAULTS


def choose_policy(explicit: Path | None, project_root: Path, repo_root: Path | None, cwd: Path,
                  environ: Mapping[str, str]) -> PolicyChoice:
    """Which policy file applies to the project at `project_root` (see the module docstring)."""
    for choice in policy_candidates(explicit, project_root, repo_root, cwd, environ):
        if choice.source in (FROM_OPTION, FROM_ENV) or choice.path.is_file():
            return choice
    return PolicyChoice(None, DEFAULTS)


def policy_candidates(explicit: Path | None, project_root: Path, repo_root: Path | None, cwd: Path,
                      environ: Mapping[str, str]) -> list[PolicyChoice]:
    """The files a policy is looked for in, in order: the one given (--policy, $APEXSCAN_POLICY),
    else apexscan.toml at the project root, the repository root and the current folder."""
    if explicit is not None:
        return [PolicyChoice(explicit, FROM_OPTION)]
    if environ.get(POLICY_ENV, "").strip():
        return [PolicyChoice(Path(environ[POLICY_ENV].strip()), FROM_ENV)]
    return [PolicyChoice(folder / POLICY_FILE_NAME, source)
            for folder, source in ((project_root, AT_PROJECT), (repo_root, AT_REPOSITORY), (cwd, IN_CWD))
            if folder is not None]


def load_chosen(choice: PolicyChoice, project_root: Path, report_root: Path) -> Policy:
    """The chosen policy, read and checked (unknown jurisdiction and region codes are an error)."""
    if choice.path is None:
        return Policy()
    shown = display_path(choice.path, report_root)
    if choice.source == FROM_ENV:
        shown = f"{shown} (from ${POLICY_ENV})"
    policy = load_policy(choice.path, project_root, display=shown)
    registry = hosts.load_registry()
    known = hosts.known_codes(registry)
    check_codes(policy, known, lambda code: hosts.suggest_code(code, registry, known))
    return policy


def display_path(path: Path, root: Path) -> str:
    """`path` relative to `root` when it is inside, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix() or "."
    except ValueError:
        return str(absolute)


# --- projects ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unit:
    """One project to analyse, with its policy; `prefix` is its root relative to the report root
    ("" when they are the same folder)."""

    project: Project
    prefix: str
    choice: PolicyChoice
    policy: Policy
    trusted: TrustedPolicy | None = None  # with --policy-ref: the trusted commit's policy, used as `policy`

    def report_path(self, rel: str) -> str:
        return join(self.prefix, rel)


@dataclass(frozen=True, slots=True)
class Workspace:
    report_root: Path  # every reported path is relative to it; SARIF's %SRCROOT%
    units: tuple[Unit, ...]


def open_workspace(targets: Sequence[Path], *, policy_path: Path | None = None, cwd: Path | None = None,
                   environ: Mapping[str, str] | None = None, report_root: Path | None = None,
                   exclude: Sequence[str] = (), include: Sequence[str] = (),
                   policy_ref: str | None = None) -> Workspace:
    """Discover what `targets` name, choose and load each project's policy (from git commit
    `policy_ref` when given), apply the policy's `exclude` and the `exclude` / `include` globs given
    here. Raises UsageError, PolicyError or GitError."""
    cwd = Path(os.path.abspath(cwd or Path.cwd()))
    environ = os.environ if environ is None else environ
    targets = list(targets) or [cwd]
    for t in targets:
        if not t.exists():
            raise UsageError(f"{t}: no such file or folder")
        refuse_enclosing_link(t)  # before anything resolves the link away
    projects = _projects(targets)
    anchor = projects[0].root
    repo = repository_root(anchor)
    if report_root is not None:
        root = report_root.resolve()
    elif repo is not None and all(p.root.is_relative_to(repo) for p in projects):
        root = repo
    else:
        root = _scanned_folder(targets)
    units = tuple(make_unit(project, report_root=root, repo_root=repo, cwd=cwd, environ=environ,
                            policy_path=policy_path, exclude=exclude, include=include, policy_ref=policy_ref)
                  for project in projects)
    return Workspace(root, units)


def make_unit(project: Project, *, report_root: Path, repo_root: Path | None, cwd: Path,
              environ: Mapping[str, str], policy_path: Path | None = None,
              exclude: Sequence[str] = (), include: Sequence[str] = (), policy_ref: str | None = None) -> Unit:
    """One project with its policy chosen and loaded, and the excluded files left out. With
    `policy_ref` the policy (its `exclude` list included) is the trusted commit's."""
    if not project.root.is_relative_to(report_root):
        raise UsageError(f"{project.root} is not inside {report_root}, the folder paths are reported from")
    policy_root = project.root / project.sfdx_prefix if project.sfdx_prefix else project.root
    choice = choose_policy(policy_path, policy_root, repo_root, cwd, environ)
    trusted = None
    if policy_ref is not None:
        candidates = [c.path for c in policy_candidates(policy_path, policy_root, repo_root, cwd, environ)]
        trusted = policy_from_ref(policy_ref, candidates, project.root, choice.path)
        policy = trusted.policy
        registry = hosts.load_registry()
        known = hosts.known_codes(registry)
        check_codes(policy, known, lambda code: hosts.suggest_code(code, registry, known))
    else:
        policy = load_chosen(choice, policy_root, report_root)
    prefix = project.root.relative_to(report_root).as_posix()
    prefix = "" if prefix == "." else prefix
    project = _selected(project, prefix, (*policy.exclude, *exclude), include)
    return Unit(project, prefix, choice, policy, trusted)


def _projects(targets: Sequence[Path]) -> list[Project]:
    resolved = [t.resolve() for t in targets]
    if len(resolved) != 1 or not resolved[0].is_dir():
        return [discover(list(targets))]  # files, or several folders: one project, as named
    folder = resolved[0]
    roots = project_roots(folder)
    if not roots or roots == [folder]:
        return [discover([folder])]
    projects = [discover([r]) for r in roots]
    rest = discover([folder])  # what lies outside every project (Mule apps, Data Loader files, loose metadata)
    inside = [r.relative_to(folder).as_posix() + "/" for r in roots]
    outside = tuple(f for f in rest.files if not f.rel.startswith(tuple(inside)))
    if not outside:
        return projects
    diagnostics = tuple(d for d in rest.diagnostics if not d.path.startswith(tuple(inside)))
    if len(projects) == 1:  # the org and its integration code: one analysis (see the module docstring)
        (project,) = projects
        prefix = inside[0][:-1]
        moved = tuple(replace(f, rel=join(prefix, f.rel)) for f in project.files)
        return [Project(folder, tuple(sorted(moved + outside, key=lambda f: f.rel)),
                        rebase_diagnostics(project.diagnostics, prefix) + diagnostics, sfdx_prefix=prefix)]
    projects.append(Project(rest.root, outside, diagnostics))
    return projects


def _scanned_folder(targets: Sequence[Path]) -> Path:
    folders = [t.resolve() if t.is_dir() else t.resolve().parent for t in targets]
    return Path(os.path.commonpath([str(f) for f in folders]))


def _selected(project: Project, prefix: str, exclude: Sequence[str], include: Sequence[str]) -> Project:
    """The project without the files `exclude` matches and, when `include` is given, only those it
    matches. A pattern is tried on the path relative to the project and relative to the report root."""
    if not exclude and not include:
        return project
    excluded, included = ForceIgnore.parse(list(exclude)), ForceIgnore.parse(list(include))

    def matches(patterns: ForceIgnore, rel: str) -> bool:
        return patterns.ignored(rel) or (bool(prefix) and patterns.ignored(join(prefix, rel)))

    files = tuple(f for f in project.files if not matches(excluded, f.rel)
                  and (not include or matches(included, f.rel)))
    return replace(project, files=files)


# --- report paths ------------------------------------------------------------------------------


def join(prefix: str, rel: str) -> str:
    """A project-relative path as a report-relative one; "" and absolute paths stay as they are."""
    if not prefix or not rel or rel.startswith("/") or Path(rel).is_absolute():
        return rel
    return f"{prefix}/{rel}"


def rebase(findings: Iterable[Finding], prefix: str, sfdx_prefix: str = "") -> tuple[Finding, ...]:
    """Findings with report-relative paths. Each keeps its project (Finding.extra PROJECT_KEY), so
    that its fingerprint stays the one of the project-relative path: the SFDX project at
    `sfdx_prefix` inside the unit for a finding in it."""
    if not prefix and not sfdx_prefix:
        return tuple(findings)
    out = []
    for f in findings:
        extra = dict(f.extra)
        if SUPPRESSED_AT in extra:
            extra[SUPPRESSED_AT] = join(prefix, extra[SUPPRESSED_AT])
        inner = sfdx_prefix and f.location.path.startswith(sfdx_prefix + "/")
        extra[PROJECT_KEY] = join(prefix, sfdx_prefix) if inner else prefix
        if not extra[PROJECT_KEY]:
            del extra[PROJECT_KEY]
        out.append(replace(
            f, location=_moved(f.location, prefix),
            paths=tuple(tuple(Step(_moved(s.location, prefix), s.message) for s in path) for path in f.paths),
            extra=tuple(sorted(extra.items()))))
    return tuple(out)


def rebase_diagnostics(diagnostics: Iterable[Diagnostic], prefix: str) -> tuple[Diagnostic, ...]:
    return tuple(replace(d, path=join(prefix, d.path)) for d in diagnostics)


def _moved(location: Location, prefix: str) -> Location:
    return replace(location, path=join(prefix, location.path))

