"""Time and memory of reading a hostile base commit (`inventory --compare-ref`, `scan --baseline-ref`).

    python benchmarks/bench_git_base.py [--size-mb 1024]

Builds, in a temporary folder, a git repository holding the sample org (samples/fintech-org)
with three commits to compare against:

  plain       the sample org
  zero blobs  the project plus a --size-mb blob of zeros twice: as a class (Huge.cls, a file the
              scan reads, over the per-file cap) and as data (zeros.bin, a file it never reads)
  tree bomb   the project plus a folder of 10 folders of 10 ... 9 levels deep, 10 classes in each
              of the last: 10^10 paths from 10 tree objects

and runs `apexscan inventory --compare-ref` and `apexscan scan --baseline-ref` against each in a
fresh `python -m apexscan` process, printing wall time and peak RSS (os.wait4) and their ratio to
the plain base. Issue 12 measured the 1 GB zero blob at 97 s and 2.1 GB before blobs were
selected and capped; the target is a ratio near 1.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "fintech-org"


def git(repo: Path, *args: str, stdin: bytes | None = None, env: dict | None = None) -> str:
    return subprocess.run(["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", *args],
                          cwd=repo, input=stdin, env=env, check=True, capture_output=True).stdout.decode().strip()


def build(root: Path, size_mb: int) -> dict[str, str]:
    repo = root / "repo"
    shutil.copytree(SAMPLE, repo / "org")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "plain")
    plain = git(repo, "rev-parse", "HEAD")

    zeros_file = root / "zeros"
    with zeros_file.open("wb") as f:
        f.truncate(size_mb << 20)  # sparse: git streams it into one loose object
    zeros = git(repo, "hash-object", "-w", str(zeros_file))
    zeros_file.unlink()
    env = {**os.environ, "GIT_INDEX_FILE": str(root / "index")}
    git(repo, "read-tree", plain, env=env)
    for rel in ("org/force-app/main/default/classes/Huge.cls", "org/zeros.bin"):
        git(repo, "update-index", "--add", "--cacheinfo", f"100644,{zeros},{rel}", env=env)
    blobs = git(repo, "commit-tree", git(repo, "write-tree", env=env), "-p", plain, "-m", "zero blobs")

    leaf = git(repo, "hash-object", "-w", "--stdin", stdin=b"public class X {}\n")
    tree = git(repo, "mktree", stdin="".join(f"100644 blob {leaf}\tX{i}.cls\n" for i in range(10)).encode())
    for _ in range(9):
        tree = git(repo, "mktree", stdin="".join(f"040000 tree {tree}\td{i}\n" for i in range(10)).encode())
    org_tree = git(repo, "ls-tree", f"{plain}:org") + f"\n040000 tree {tree}\tzbomb\n"
    new_org = git(repo, "mktree", stdin=org_tree.encode())
    root_tree = git(repo, "ls-tree", f"{plain}^{{tree}}").replace(git(repo, "rev-parse", f"{plain}:org"), new_org)
    bomb = git(repo, "commit-tree", git(repo, "mktree", stdin=(root_tree + "\n").encode()), "-p", plain,
               "-m", "tree bomb")
    return {"plain": plain, "zero blobs": blobs, "tree bomb": bomb}


def run(project: Path, *args: str) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit status of one apexscan run in a new process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "apexscan", *args], cwd=project,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the zero blob (default 1024)")
    size = parser.parse_args().size_mb
    with tempfile.TemporaryDirectory(prefix="apexscan-bench-git-") as tmp:
        start = time.perf_counter()
        commits = build(Path(tmp), size)
        print(f"built the repository in {time.perf_counter() - start:.1f} s (zero blob: {size} MB)")
        project = Path(tmp) / "repo" / "org"
        print(f"{'command':<28} {'base':<11} {'seconds':>8} {'peak MB':>8} {'x time':>7} {'x memory':>9} exit")
        for command in (["inventory", ".", "--format", "json", "--no-cache", "--compare-ref"],
                        ["scan", ".", "--format", "json", "--no-cache", "--baseline-ref"]):
            reference = None
            for name, commit in commits.items():
                seconds, peak, code = run(project, *command, commit)
                reference = reference or (seconds, peak)
                print(f"{' '.join(command[:1] + command[-1:]):<28} {name:<11} {seconds:>8.2f} {peak:>8.0f} "
                      f"{seconds / reference[0]:>7.2f} {peak / reference[1]:>9.2f} {code}")


if __name__ == "__main__":
    main()
