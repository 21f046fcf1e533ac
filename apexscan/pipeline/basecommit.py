"""The project as it is in a git commit: the base of `inventory --compare-ref` and `scan --baseline-ref`.

The files are read straight from git's object store (`ls-tree`, then `cat-file`, through
`gitread`), never checked out: no hook, filter or textconv driver chosen by the project runs
(`git archive` would run smudge filters, and leave out files marked export-ignore), nothing is
written inside the repository, and only regular files at safe paths are written, into a temporary
folder removed afterwards.

Only what the scan would analyse is read, decided from the path before any blob is: files of a
kind apexscan reads (`project.file_kind`) outside the folders it never enters (`SKIP_DIRS`), and
every `sfdx-project.json` and `.forceignore`. Hard caps bound the work whatever the commit holds: a
blob over `MAX_BLOB_BYTES` is not read; reading stops after `MAX_BASE_FILES` files or
`MAX_BASE_BYTES` in all; the listing stops after `MAX_TREE_ENTRIES` paths. A commit that names one
folder (tree object) at more than `MAX_SAME_FOLDER` paths is refused: that is how a tree bomb names
billions of paths with a few objects. Each cut is a Diagnostic, and it can only make the base
smaller: what was not read counts as new in the comparison, never as already there.
"""
from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from apexscan.engine.model import Diagnostic
from apexscan.pipeline.gitread import GitError, Repository, TreeEntry, open_repository
from apexscan.pipeline.project import SKIP_DIRS, Project, discover, file_kind

MAX_BLOB_BYTES = 20 * 2**20  # one file: the size of the largest source the scan is bounded for
MAX_BASE_BYTES = 512 * 2**20  # all files read from one commit
MAX_BASE_FILES = 100_000  # files read from one commit
MAX_TREE_ENTRIES = 1_000_000  # paths listed in one commit
MAX_SAME_FOLDER = 10_000  # paths at which one folder (tree object) may appear; a tree bomb repeats a few
MAX_NAME_BYTES = 255  # one file or folder name, as most file systems allow
PROJECT_FILES = ("sfdx-project.json", ".forceignore")  # read by project discovery, in every project folder


class BaseError(Exception):
    """The base commit cannot be read; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class GitBase:
    """The commit whose version of the project is the base of a comparison."""

    ref: str  # as the user wrote it: "origin/main", "HEAD~1", a tag
    commit: str  # the full hash it names
    repo: Repository
    prefix: str  # the project folder relative to the top of the work tree, POSIX ("." at the top)

    @property
    def name(self) -> str:
        return f"{self.ref} (commit {self.commit[:10]})"

    @property
    def top(self) -> Path:
        return self.repo.work_tree


def find_git_base(ref: str, project_root: Path, option: str = "--compare-ref", *,
                  or_file: bool = False) -> GitBase:
    """The commit `ref` names in the repository that holds `project_root`. Raises GitError (its
    class says why: NoGit, NotARepository) with a one-line message naming `option` and `ref` when
    git is missing, the project is not in a work tree, or no commit has that name; `or_file`: the
    option also takes a file, and the message says there is none."""
    root = project_root.resolve()
    if not ref.strip() or ref.startswith("-") or any(not ch.isprintable() for ch in ref):
        raise GitError(f"{option} {ref!r}: {'no such file, nor' if or_file else 'not'} a git commit, branch or tag")
    try:
        repo = open_repository(root)
    except GitError as exc:
        raise type(exc)(f"{option} {ref}: {'no such file, and ' if or_file else ''}{exc}") from None
    commit = repo.resolve_commit(ref)
    if commit is None:
        raise GitError(f"{option} {ref}: {'no such file, nor' if or_file else 'not'} a commit, branch or tag "
                       f"of {repo.work_tree}")
    return GitBase(ref, commit, repo, root.relative_to(repo.work_tree).as_posix())


def wanted(rel: str) -> bool:
    """Whether the scan of a project could read the file at project-relative `rel`."""
    parts = rel.split("/")
    if any(p in SKIP_DIRS for p in parts[:-1]):
        return False
    return parts[-1] in PROJECT_FILES or file_kind(rel) is not None  # any project's, wherever it sits


@contextmanager
def checked_out(base: GitBase, diagnostics: list[Diagnostic]) -> Iterator[Path | None]:
    """The project folder as it is in `base.commit`, written into a temporary folder that is removed
    when the block ends; None when that commit has no such folder. What is left out is added to
    `diagnostics`. Raises BaseError when the commit cannot be read safely."""
    repo = base.repo
    spec = f"{base.commit}^{{tree}}" if base.prefix == "." else f"{base.commit}:{base.prefix}"
    try:
        present = repo.run("cat-file", "-t", spec).strip() == b"tree"
    except GitError:
        present = False
    if not present:
        yield None
        return

    folders: Counter[str] = Counter()

    def select(entry: TreeEntry) -> bool:
        parts = entry.path.split("/")
        if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
            raise BaseError(f"the commit holds an unsafe path {entry.path!r}; not read")
        if entry.kind == "tree":
            folders[entry.oid] += 1
            if folders[entry.oid] > MAX_SAME_FOLDER:
                raise BaseError(f"the commit repeats one folder at more than {MAX_SAME_FOLDER:,} paths "
                                f"({entry.path!r} is one; a tree bomb?); not read")
            return False
        # symbolic links and submodules are not followed
        if entry.kind != "blob" or not entry.mode.startswith("100") or not wanted(entry.path):
            return False
        if any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in parts):
            note(f"{entry.path[:80]}... not read: a file or folder name longer than {MAX_NAME_BYTES} bytes")
            return False
        return True

    def note(message: str) -> None:
        diagnostics.append(Diagnostic("", "base", f"{base.name}: {message}; whatever it holds counts as "
                                                  "new in the comparison"))

    with tempfile.TemporaryDirectory(prefix="apexscan-base-") as tmp:
        folder = Path(tmp) / (Path(base.prefix).name if base.prefix != "." else base.top.name)
        folder.mkdir()
        try:
            entries, _, stopped = repo.list_tree(spec, select, MAX_TREE_ENTRIES)
            if stopped:
                note(f"listing stopped after {MAX_TREE_ENTRIES:,} paths (a tree that repeats folders?); "
                     "files after that were not read")
            jobs = _within_caps(entries, repo.object_sizes(sorted({e.oid for e in entries})), note)
            repo.copy_blobs((e.oid, size, folder.joinpath(*e.path.split("/"))) for e, size in jobs)
        except GitError as exc:
            raise BaseError(f"cannot read the commit's files ({exc})") from None
        except OSError as exc:
            raise BaseError(f"cannot write the commit's files into {tmp}: {exc.strerror or exc}") from None
        yield folder


def _within_caps(entries: Sequence[TreeEntry], sizes: dict[str, int | None],
                 note: Callable[[str], None]) -> list[tuple[TreeEntry, int]]:
    """The entries to read, with their sizes, in listing order, within the caps."""
    jobs: list[tuple[TreeEntry, int]] = []
    missing: list[str] = []
    total = 0
    for index, entry in enumerate(entries):
        size = sizes.get(entry.oid)
        if size is None:
            missing.append(entry.path)
        elif size > MAX_BLOB_BYTES:
            note(f"{entry.path} not read: {size:,} bytes, over the cap of {MAX_BLOB_BYTES:,} bytes per file")
        elif len(jobs) >= MAX_BASE_FILES or total + size > MAX_BASE_BYTES:
            note(f"{len(entries) - index:,} files from {entry.path} on not read: over the cap of "
                 f"{MAX_BASE_FILES:,} files or {MAX_BASE_BYTES:,} bytes per commit")
            break
        else:
            jobs.append((entry, size))
            total += size
    if missing:
        note(f"{len(missing):,} file(s) are not in the local object store (a shallow or partial clone?), "
             f"the first {missing[0]}")
    return jobs


def base_project(folder: Path | None, targets: Sequence[Path], project_root: Path) -> Project | None:
    """The scan targets (as given on the command line) as they are in the base folder; a target the
    base lacks is left out. None when the base has none of them or no file to scan."""
    if folder is None:
        return None
    mirrored = [folder / t.resolve().relative_to(project_root) for t in targets]
    mirrored = [t for t in mirrored if t.exists()]
    project = discover(mirrored) if mirrored else None
    return project if project is not None and project.files else None

