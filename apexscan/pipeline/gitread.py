"""Every git command apexscan runs: read-only plumbing on a repository named explicitly.

The scanned repository is hostile. What it commits can look like a git directory (`HEAD`,
`config`, `objects/`, `refs/` in a subfolder), and git's own discovery, started from that
subfolder, would take it for a bare repository and obey its `config`: `core.fsmonitor` runs a
command on `git diff`, and its refs can name a forged base commit. So:

* the repository is found here, not by git: the nearest `.git` (a folder, or a `gitdir:` file of a
  worktree or submodule) at or above the project, never a folder that merely looks like a git
  directory (what `safe.bareRepository=explicit` means). Git then confirms it from the top of the
  work tree, with its own discovery and ownership check (`safe.directory`), and every later call
  names it with `--git-dir` and `--work-tree`;
* the `git` executable is looked up in the absolute entries of PATH only, never in an empty or
  relative entry (the current folder) nor in one inside the scanned repository;
* every setting a repository can use to run or redirect something is overridden on the command
  line, which wins over every config file (`CONFIG_OVERRIDES`), and git runs with an environment
  built from scratch: no GIT_* variable of a surrounding hook or shell leaks in, except the
  caller's choice of config files and, for `--staged`, the index of the commit under way;
* only plumbing that never converts content is used (`rev-parse`, `diff-index`, `ls-files`,
  `ls-tree`, `cat-file --batch`): no clean/smudge/process filter, textconv, external diff or pager
  can run, no hook is called, nothing is fetched (a partial clone's missing blob stays missing),
  nothing is written in the repository (no optional locks, no index refresh);
* each command has a time limit, and blobs are streamed to files in chunks, never read whole.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

TIMEOUT = 120  # seconds for any one git command
CHUNK = 1 << 20  # bytes copied at a time from `cat-file --batch`
_GITFILE_MAX = 4096  # a `.git` file holds one `gitdir: PATH` line

# `-c` settings given to every command. Command-line settings override the system, global and
# repository config files, so whatever those say about these keys is ignored.
CONFIG_OVERRIDES = (
    "core.fsmonitor=false",  # a command (or daemon) run whenever the index is read
    f"core.hooksPath={os.devnull}",  # no hook, whatever the repository's config says
    "core.pager=cat",
    "pager.diff=false", "pager.ls-files=false", "pager.ls-tree=false", "pager.cat-file=false",
    "diff.external=",  # external diff drivers (plumbing ignores them too; belt and braces)
    "core.askPass=",
    "credential.helper=",  # an empty value resets the list of helpers
    "core.sshCommand=false",  # nothing is fetched; should anything try, it runs `false`
    "core.gitProxy=",
    "protocol.allow=never",  # no transport at all: a partial clone cannot lazily fetch a blob
    "core.alternateRefsCommand=",
    "uploadpack.packObjectsHook=",
    "core.useReplaceRefs=false",  # refs/replace/* cannot swap the commits that are read
    "safe.bareRepository=explicit",  # git's own discovery never takes a bare-looking folder
    "core.untrackedCache=false",
    "submodule.recurse=false",
    "gc.auto=0", "maintenance.auto=false",
    "log.showSignature=false",  # would run gpg.program
    "color.ui=false",
    "core.quotePath=false",
)
# Variables taken from the caller's environment (nothing else is passed): where HOME's config is,
# the locale for git's messages, and the caller's choice of config files.
_KEPT_ENV = ("HOME", "XDG_CONFIG_HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
             "TMPDIR", "SYSTEMROOT", "USERPROFILE",
             "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM")
_FIXED_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_NO_LAZY_FETCH": "1",
    "GIT_OPTIONAL_LOCKS": "0",  # never write the index (a stat refresh) while reading it
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_LITERAL_PATHSPECS": "1",
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_ADVICE": "0",
}


class GitError(Exception):
    """git cannot be used for what was asked; the message is one line for the user."""


class NoGit(GitError):
    """No usable git executable."""


class NotARepository(GitError):
    """No git work tree holds the folder."""


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: str  # "100644", "100755", "120000" (symbolic link), "160000" (submodule)
    kind: str  # "blob", "tree", "commit"
    oid: str
    path: str  # relative to the tree listed, POSIX; undecodable bytes kept as surrogates


@dataclass(frozen=True, slots=True)
class Repository:
    executable: str  # absolute path of the git program
    git_dir: Path  # absolute
    work_tree: Path  # absolute and resolved: the top of the work tree

    # --- queries -------------------------------------------------------------------------------

    def resolve_commit(self, ref: str) -> str | None:
        """The full hash of the commit `ref` names, or None when it names none. `ref` must not
        look like an option."""
        if not ref or ref.startswith("-") or any(not ch.isprintable() for ch in ref):
            return None
        try:
            out = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        except GitFailed:
            return None
        return out.decode("ascii", "replace").strip() or None

    def staged_files(self, index_file: str | None) -> list[str]:
        """Files added, copied, modified or changed in type in the index (`index_file`, else the
        default one) against HEAD, relative to the top of the work tree. Before the first commit,
        every file in the index."""
        head = self.resolve_commit("HEAD")
        if head is None:
            out = self.run("ls-files", "--cached", "-z", index_file=index_file)
        else:
            # --no-renames: a rename is a deletion and an addition, so no blob is read to pair them.
            out = self.run("diff-index", "--cached", "--name-only", "--no-renames", "--ignore-submodules=all",
                           "--diff-filter=ACMT", "-z", head, "--", index_file=index_file)
        return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]

    def tree_entry(self, commit: str, path: str) -> TreeEntry | None:
        """The entry of `path` (relative to the top of the work tree) in `commit`, None when absent."""
        out = self.run("ls-tree", "-z", "--full-tree", commit, "--", path)
        for record in out.split(b"\0"):
            entry = _tree_record(record)
            if entry is not None and entry.path == path:
                return entry
        return None

    def list_tree(self, treeish: str, select: Callable[[TreeEntry], bool],
                  max_entries: int) -> tuple[list[TreeEntry], int, bool]:
        """(the entries of `ls-tree -r -t treeish` that `select` keeps, entries listed, whether the
        listing was stopped at `max_entries`). Folders are listed too (kind "tree"), each before
        its content. The listing is streamed: a tree that repeats subtrees (a "git bomb",
        billions of paths from a few objects) costs `max_entries` lines, not its size. `select`
        may raise to stop the listing."""
        kept: list[TreeEntry] = []
        listed = 0
        with self._popen("ls-tree", "-r", "-t", "-z", treeish) as proc:
            pending = b""
            while True:
                chunk = proc.stdout.read(CHUNK)
                if not chunk:
                    break
                records = (pending + chunk).split(b"\0")
                pending = records.pop()
                for record in records:
                    entry = _tree_record(record)
                    if entry is None:
                        continue
                    listed += 1
                    if listed > max_entries:
                        return kept, max_entries, True
                    if select(entry):
                        kept.append(entry)
            proc.check("ls-tree")
        return kept, listed, False

    def object_sizes(self, oids: Sequence[str]) -> dict[str, int | None]:
        """The size of each blob named in `oids`; None for one that is missing or not a blob
        (a shallow or partial clone)."""
        if not oids:
            return {}
        out = self.run("cat-file", "--batch-check", stdin="".join(f"{oid}\n" for oid in oids).encode("ascii"))
        sizes: dict[str, int | None] = {}
        for line in out.decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "blob" and parts[2].isdigit():
                sizes[parts[0]] = int(parts[2])
            elif parts:
                sizes[parts[0]] = None
        return {oid: sizes.get(oid) for oid in oids}

    def read_blob(self, oid: str, max_bytes: int) -> bytes:
        """A small blob, whole; GitError when it is larger than `max_bytes`."""
        size = self.object_sizes([oid]).get(oid)
        if size is None:
            raise GitError(f"object {oid} is missing or not a file")
        if size > max_bytes:
            raise GitError(f"object {oid} has {size:,} bytes, more than the {max_bytes:,} allowed")
        return self.run("cat-file", "blob", oid)

    def copy_blobs(self, jobs: Iterable[tuple[str, int, Path]]) -> None:
        """Write each blob `oid` of `size` bytes (as `object_sizes` found it) into a new file at
        its path, streaming `cat-file --batch` in chunks. Raises GitError when git says something
        else than what was asked, OSError when a file cannot be written."""
        with self._popen("cat-file", "--batch", stdin=True) as proc:
            for oid, size, target in jobs:
                proc.stdin.write(f"{oid}\n".encode("ascii"))
                proc.stdin.flush()  # cat-file answers each line before reading the next
                header = proc.stdout.readline(256).split()
                if not header:
                    proc.check("cat-file")  # git ended: say why
                if len(header) != 3 or header[0].decode("ascii", "replace") != oid or header[1] != b"blob" \
                        or header[2] != str(size).encode("ascii"):
                    raise GitError(f"git cat-file answered {b' '.join(header)[:100]!r} for blob {oid} "
                                   f"of {size} bytes")
                target.parent.mkdir(parents=True, exist_ok=True)
                left = size
                with open(target, "xb") as out:
                    while left:
                        chunk = proc.stdout.read(min(left, CHUNK))
                        if not chunk:
                            raise GitError(f"git cat-file stopped in the middle of blob {oid}")
                        out.write(chunk)
                        left -= len(chunk)
                proc.stdout.read(1)  # the newline after each object
            proc.stdin.close()
            proc.check("cat-file")

    # --- running git ---------------------------------------------------------------------------

    def command(self, *args: str) -> list[str]:
        return [self.executable, "--no-pager", "--no-replace-objects", "--literal-pathspecs",
                f"--git-dir={self.git_dir}", f"--work-tree={self.work_tree}",
                *(item for setting in CONFIG_OVERRIDES for item in ("-c", setting)), *args]

    def run(self, *args: str, stdin: bytes | None = None, index_file: str | None = None) -> bytes:
        """Standard output of one git command; GitFailed (git's first line of error) when it fails."""
        return _run(self.command(*args), self.work_tree, stdin=stdin, index_file=index_file)

    def _popen(self, *args: str, stdin: bool = False) -> _Streaming:
        return _Streaming(self.command(*args), self.work_tree, stdin=stdin)


class GitFailed(GitError):
    """A git command exited with an error."""


def open_repository(start: Path) -> Repository:
    """The git repository whose work tree holds `start` (a folder), found and checked as the
    module docstring says. NotARepository when there is none, NoGit when git cannot be run."""
    start = start.resolve()
    found = find_git_dir(start)
    if found is None:
        raise NotARepository(f"{start} is not inside a git work tree")
    git_dir, top = found
    executable = find_git(avoid=(top, start))
    # Git's own discovery from the top, where the first thing it looks at is top/.git, must land on
    # the same repository: that also applies git's ownership check (safe.directory), which naming
    # the repository explicitly would skip.
    env = _environment(top)
    env["GIT_CEILING_DIRECTORIES"] = str(top.parent)
    try:
        out = _run([executable, "--no-pager", *(i for s in CONFIG_OVERRIDES for i in ("-c", s)),
                    "rev-parse", "--absolute-git-dir"], top, env=env)
    except GitFailed as exc:
        raise NotARepository(f"{top} is not a usable git work tree ({exc})") from None
    confirmed = Path(out.decode("utf-8", "surrogateescape").strip())
    if not _same(confirmed, git_dir):
        raise NotARepository(f"git and apexscan disagree on the repository of {top} "
                             f"({confirmed} against {git_dir}); not read")
    return Repository(executable, git_dir, top)


def find_git_dir(start: Path) -> tuple[Path, Path] | None:
    """(git directory, top of the work tree) for the nearest `.git` at or above `start` (resolved).

    Like git's discovery, it honours GIT_CEILING_DIRECTORIES and stops at a file-system boundary
    (unless GIT_DISCOVERY_ACROSS_FILESYSTEM is set); unlike it, a folder is never taken for a bare
    repository because it holds HEAD, objects/ and refs/."""
    ceilings = {os.path.normpath(p) for p in os.environ.get("GIT_CEILING_DIRECTORIES", "").split(os.pathsep)
                if p and os.path.isabs(p)}
    across = os.environ.get("GIT_DISCOVERY_ACROSS_FILESYSTEM", "").lower() in ("1", "true", "yes", "on")
    try:
        device = start.stat().st_dev
    except OSError:
        return None
    folder = start
    while True:
        marker = folder / ".git"
        if marker.is_dir():
            if _looks_like_git_dir(marker):
                return marker, folder
        elif marker.is_file():
            return _from_gitfile(marker), folder
        parent = folder.parent
        if parent == folder or str(parent) in ceilings:
            return None
        try:
            if not across and parent.stat().st_dev != device:
                return None
        except OSError:
            return None
        folder = parent


def find_git(avoid: Sequence[Path] = ()) -> str:
    """The absolute path of the git executable: the first in PATH's absolute entries that are not
    inside any folder of `avoid` (the scanned repository). NoGit when there is none."""
    names = ("git.exe", "git") if os.name == "nt" else ("git",)
    for entry in _safe_path(avoid):
        for name in names:
            candidate = os.path.join(entry, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK) \
                    and not _inside(Path(os.path.realpath(candidate)), avoid):
                return candidate
    raise NoGit("git was not found on PATH (empty and relative PATH entries, and those inside the "
                "scanned repository, are not searched)")


def index_file_from_environment(repo: Repository) -> str | None:
    """The index a commit under way stages into, from GIT_INDEX_FILE, as an absolute path; None for
    the repository's default index.

    Git gives hooks GIT_INDEX_FILE: `.git/index` relative to the top of the work tree for a plain
    `git commit`, an absolute temporary index for `git commit -a` and `git commit FILE`. A hook
    script may have changed folder before running apexscan, so a relative value is tried from the
    current folder, then from the top. An index that does not exist would read as "nothing staged":
    then the default index is used, which is the one a plain `git commit` writes."""
    value = os.environ.get("GIT_INDEX_FILE", "")
    if not value:
        return None
    candidates = [value] if os.path.isabs(value) else [os.path.abspath(value), str(repo.work_tree / value)]
    return next((c for c in candidates if os.path.isfile(c)), None)


# --- helpers ------------------------------------------------------------------------------------


def _looks_like_git_dir(path: Path) -> bool:
    """What git itself requires of a git directory: HEAD, and objects/ and refs/ (or a commondir
    file pointing to them, in a linked worktree)."""
    return (path / "HEAD").is_file() and ((path / "commondir").is_file()
                                          or ((path / "objects").is_dir() and (path / "refs").is_dir()))


def _from_gitfile(marker: Path) -> Path:
    """The git directory a `.git` file (`gitdir: PATH`) points to, checked."""
    try:
        with open(marker, "rb") as f:
            text = f.read(_GITFILE_MAX).decode("utf-8", "surrogateescape")
    except OSError as exc:
        raise NotARepository(f"{marker}: cannot read the git file: {exc.strerror or exc}") from None
    first = text.splitlines()[0].strip() if text.strip() else ""
    if not first.startswith("gitdir:"):
        raise NotARepository(f"{marker} is not a git file (no `gitdir:` line)")
    target = Path(first.removeprefix("gitdir:").strip())
    target = (marker.parent / target) if not target.is_absolute() else target
    if not _looks_like_git_dir(target):
        raise NotARepository(f"{marker} points to {target}, which is not a git directory")
    return target.resolve()


def _safe_path(avoid: Sequence[Path]) -> list[str]:
    """PATH's entries that may hold git: absolute, and not inside the folders of `avoid`."""
    out = []
    for entry in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if entry and os.path.isabs(entry) and not _inside(Path(os.path.realpath(entry)), avoid):
            out.append(entry)
    return out


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == f or f in path.parents for f in folders)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _environment(work_tree: Path, index_file: str | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
    for key in ("HOME", "XDG_CONFIG_HOME"):
        if key in env and _inside(Path(os.path.realpath(env[key])), (work_tree,)):
            # A home inside the scanned repository would make a committed .gitconfig the global one.
            del env[key]
            env.setdefault("GIT_CONFIG_GLOBAL", os.devnull)
    # git looks up nothing on PATH once hooks, pagers and helpers are off; keep only safe entries.
    env["PATH"] = os.pathsep.join(_safe_path(()))
    env.update(_FIXED_ENV)
    if index_file is not None:
        env["GIT_INDEX_FILE"] = index_file
    return env


def _run(cmd: list[str], cwd: Path, *, stdin: bytes | None = None, index_file: str | None = None,
         env: dict[str, str] | None = None) -> bytes:
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env or _environment(cwd, index_file), input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise GitFailed(f"git {_verb(cmd)} took more than {TIMEOUT} s and was stopped") from None
    except OSError as exc:
        raise NoGit(f"git cannot be run ({exc.strerror or exc})") from None
    if proc.returncode != 0:
        raise GitFailed(_first_line(proc.stderr) or f"git {_verb(cmd)} exited with {proc.returncode}")
    return proc.stdout


class _Streaming:
    """A git process whose output is read as it comes, killed after TIMEOUT seconds and on any
    early exit from the `with` block (a listing stopped at its cap)."""

    def __init__(self, cmd: list[str], cwd: Path, *, stdin: bool) -> None:
        self.errors = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(cmd, cwd=cwd, env=_environment(cwd), stdout=subprocess.PIPE,
                                         stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                         stderr=self.errors)
        except OSError as exc:
            self.errors.close()
            raise NoGit(f"git cannot be run ({exc.strerror or exc})") from None
        self.stdout: IO[bytes] = self.proc.stdout  # type: ignore[assignment]
        self.stdin: IO[bytes] = self.proc.stdin  # type: ignore[assignment]  # None unless asked for
        self.timer = threading.Timer(TIMEOUT, self.proc.kill)
        self.timer.daemon = True
        self.timer.start()

    def __enter__(self) -> _Streaming:
        return self

    def check(self, verb: str) -> None:
        """Wait for git to end; GitFailed when it failed or was stopped."""
        code = self.proc.wait()
        if not self.timer.is_alive() and code != 0:
            raise GitFailed(f"git {verb} took more than {TIMEOUT} s and was stopped")
        if code != 0:
            self.errors.seek(0)
            raise GitFailed(_first_line(self.errors.read(4096)) or f"git {verb} exited with {code}")

    def __exit__(self, *exc_info) -> None:
        self.timer.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # git killed while we still had input for it
        self.proc.wait()
        self.errors.close()


def _tree_record(record: bytes) -> TreeEntry | None:
    meta, tab, raw = record.partition(b"\t")
    parts = meta.split()
    if not tab or len(parts) != 3:
        return None
    mode, kind, oid = (p.decode("ascii", "replace") for p in parts)
    return TreeEntry(mode, kind, oid, raw.decode("utf-8", "surrogateescape"))


def _verb(cmd: Sequence[str]) -> str:
    return next((a for a in cmd[1:] if not a.startswith("-") and "=" not in a), "")


def _first_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[0].strip() if lines else ""
