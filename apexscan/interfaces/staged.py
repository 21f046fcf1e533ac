"""`scan --staged` and `scan --only-touching`: report only the findings that touch given files.

The analysis always covers the whole project, because a leak can start in a file that did not
change (a selector read long ago) and end in the one being committed (a new callout), or the
other way round. Only the report is narrowed: a finding *touches* a file when its primary location
or any step of any of its paths is in that file. This is the gitleaks / semgrep-ci shape that the
pre-commit hook (`.pre-commit-hooks.yaml`) relies on.

Finding paths are relative to the project root; git names staged files relative to the top of the
work tree. The two differ when the SFDX project sits in a subfolder of the repository: staged paths
are mapped to project-relative ones, and staged files outside the project are left out. The project
root must be inside the work tree.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from apexscan.engine.model import Diagnostic, Finding
from apexscan.pipeline.gitread import GitError, NotARepository, index_file_from_environment, open_repository
from apexscan.pipeline.project import Project, UsageError, file_kind
from apexscan.pipeline.scan import ScanResult


def selection(project_root: Path, staged: bool, files: Sequence[Path]) -> frozenset[str] | None:
    """The project-relative files that reported findings must touch: the staged ones with
    --staged, those named by --only-touching, both when both are given; None for a plain scan."""
    if not staged and not files:
        return None
    out = staged_paths(project_root) if staged else frozenset()
    return out | named_paths(files, project_root)


def staged_paths(project_root: Path) -> frozenset[str]:
    """Files staged for commit (added, copied, modified, renamed), relative to `project_root`.

    Staged files outside the project are left out. Raises UsageError outside a git work tree or
    when git is missing. Git is run as `gitread` says: on the repository found above the project
    (never a git-like folder committed inside it), with nothing the repository configures."""
    root = project_root.resolve()
    try:
        repo = open_repository(root)
        files = repo.staged_files(index_file_from_environment(repo))
    except NotARepository as exc:
        raise UsageError(f"--staged: {exc} (run the scan from a git repository, or drop --staged)") from None
    except GitError as exc:
        raise UsageError(f"--staged needs git: {exc}") from None
    return to_project_paths(files, repo.work_tree, root)


def to_project_paths(repo_paths: Iterable[str], repo_root: Path, project_root: Path) -> frozenset[str]:
    """Repository-relative POSIX paths to project-relative ones; paths outside the project are dropped."""
    try:
        prefix = project_root.resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        raise UsageError(f"--staged: the project {project_root} is not inside the git work tree "
                         f"{repo_root}") from None
    if prefix == ".":
        return frozenset(repo_paths)
    lead = prefix + "/"
    return frozenset(p[len(lead):] for p in repo_paths if p.startswith(lead))


def named_paths(files: Sequence[Path], project_root: Path) -> frozenset[str]:
    """`--only-touching` arguments (relative to the working directory, or absolute) to
    project-relative paths. A file outside the project is a usage error: nothing could touch it."""
    root = project_root.resolve()
    out = set()
    for f in files:
        try:
            out.add(f.resolve().relative_to(root).as_posix())
        except ValueError:
            raise UsageError(f"--only-touching: {f} is not inside the project {root}") from None
    return frozenset(out)


def could_touch(selected: frozenset[str] | None, project: Project) -> bool:
    """Whether a finding could touch a selected file: when no selected file is one the analysis
    reads (a commit of README.md, nothing staged), the scan is skipped."""
    if selected is None:
        return True
    return (any(file_kind(rel) is not None for rel in selected)
            or not selected.isdisjoint(f.rel for f in project.files))


def skipped(project: Project) -> ScanResult:
    """What a scan that could report nothing returns."""
    return ScanResult(project.root, (), project.diagnostics, 0)


def touched_paths(finding: Finding) -> set[str]:
    """The files a finding touches: its location and every step of every path."""
    return {finding.location.path} | {step.location.path for path in finding.paths for step in path}


def touching(findings: Iterable[Finding], selected: frozenset[str]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if not selected.isdisjoint(touched_paths(f)))


def diagnostics_for(diagnostics: Iterable[Diagnostic], selected: frozenset[str]) -> tuple[Diagnostic, ...]:
    """Problems with the selected files only (a parse error elsewhere is not this commit's news)."""
    return tuple(d for d in diagnostics if d.path in selected)


def narrow(findings: tuple[Finding, ...], result: ScanResult,
           selected: frozenset[str] | None) -> tuple[tuple[Finding, ...], ScanResult, str]:
    """The findings and diagnostics to report, and a one-line note for the terminal ("" for a
    plain scan). Call it after suppressions are applied: an `apexscan:ignore` comment in an
    unchanged file must still match the finding it excuses."""
    if selected is None:
        return findings, result, ""
    kept = touching(findings, selected)
    result = replace(result, findings=touching(result.findings, selected),
                     diagnostics=diagnostics_for(result.diagnostics, selected))
    n = len(selected)
    note = (f"apexscan: reporting {len(kept)} of {len(findings)} findings: those that touch "
            f"the {n} selected file{'s' if n != 1 else ''}")
    return kept, result, note
