"""Print speed and memory figures for scanning Salesforce codebases.

    python benchmarks/bench_scan.py PATH [PATH ...]

PATH is any SFDX project, or repository of Python or Node services, on this machine (for example a
public repository you fetched yourself; none is shipped). For each, it prints the files and lines scanned, then one row per way of running:

  parse only    tree-sitter alone over every Apex, JavaScript, TypeScript and Python file, in this process
  cold, N job   `apexscan scan --no-cache --jobs N`: every file parsed and lowered
  cold + cache  the first run with an empty cache folder (parses, and writes the cache)
  warm          the same project again: every file's facts come from the cache
  warm, 1 edit  after one Apex file changed: that file is parsed again, the rest comes from the cache
  language server  `apexscan lsp` after a save of that file: facts and linking kept in memory

Each scan but the language server's runs in a fresh `python -m apexscan` process, so wall time
includes start-up and peak RSS is that process's own (os.wait4); the language server row times
the server's analysis in this process (from a save to diagnostics ready, warmed up by one scan). The project is copied to a temporary folder first, so the
one-file edit never touches your checkout.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pygls.workspace.position_codec import PositionCodec

from apexscan.frontends.parsing import parser_for
from apexscan.interfaces.cli import Speed
from apexscan.interfaces.lsp import analyse_project
from apexscan.pipeline.project import discover


def run_scan(project: Path, *options: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `apexscan scan` in a new process."""
    command = [sys.executable, "-m", "apexscan", "scan", str(project), "--format", "json",
               "-o", os.devnull, "--fail-on", "never", *options]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode != 0:
        raise SystemExit(f"apexscan failed ({process.returncode}) on {project}:\n{errors}")
    return wall, usage.ru_maxrss / 1024  # KiB on Linux


def grammar(f) -> str:
    """The tree-sitter grammar of an Apex, LWC, Python or Node file."""
    if f.kind == "node":
        name = f.rel.lower()
        return "tsx" if name.endswith(".tsx") else "typescript" if name.endswith((".ts", ".mts", ".cts")) else "javascript"
    return {"apex": "apex", "lwc": "javascript", "python": "python"}[f.kind]


def parse_only(project: Path) -> tuple[float, int, int]:
    """Seconds to parse every Apex, LWC, Python and Node file with tree-sitter alone, files, lines."""
    sources = [(grammar(f), f.path.read_bytes()) for f in discover([project]).files
               if f.kind in ("apex", "lwc", "python", "node")]
    start = time.perf_counter()
    for language, data in sources:
        parser_for(language).parse(data)
    return time.perf_counter() - start, len(sources), sum(data.count(b"\n") for _, data in sources)


def bench(path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="apexscan-bench-") as temp:
        project = Path(temp) / path.name
        shutil.copytree(path, project, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        cache = Path(temp) / "cache"
        files = discover([project]).files
        seconds, code_files, lines = parse_only(project)
        print(f"{path.name}: {len(files):,} files scanned ({code_files:,} Apex/JS/TS/Python, {lines:,} lines)")
        print(f"  {'parse only (tree-sitter, 1 process)':38} {seconds:6.2f} s")
        rows = [
            ("cold, 1 job", ("--no-cache", "--jobs", "1")),
            ("cold, 2 jobs", ("--no-cache", "--jobs", "2")),
            ("cold + cache (empty), 2 jobs", ("--cache-dir", str(cache), "--jobs", "2")),
            ("warm (nothing changed)", ("--cache-dir", str(cache))),
        ]
        for label, options in rows:
            wall, rss = run_scan(project, *options)
            print(f"  {label:38} {wall:6.2f} s   peak RSS {rss:6,.0f} MB   {len(files) / wall:7,.0f} files/s")
        apex = [f for f in files if f.kind == "apex"]
        if apex:
            # A production class (tests drop out of the analysis): the largest, to be fair.
            production = [f for f in apex if "test" not in f.rel.lower()] or apex
            edited = max(production, key=lambda f: f.path.stat().st_size)
            insert_line(edited.path)
            wall, rss = run_scan(project, "--cache-dir", str(cache))
            print(f"  {'warm, 1 file edited':38} {wall:6.2f} s   peak RSS {rss:6,.0f} MB   ({edited.rel})")
            # In a child process: this one would pass its memory on to the scans it starts next.
            out = subprocess.run([sys.executable, __file__, "--server", str(project), str(cache), str(edited.path)],
                                 check=True, capture_output=True, text=True).stdout
            median, worst = map(float, out.split())
            print(f"  {'language server, re-scan after a save':38} {median:6.2f} s   (worst of 5: {worst:.2f} s)")


def insert_line(path: Path) -> None:
    """An edit in the middle of the file: everything below it moves down a line."""
    lines = path.read_text(encoding="utf-8").split("\n")
    lines.insert(len(lines) // 2, "")
    path.write_text("\n".join(lines), encoding="utf-8")


def server_rescan(project: Path, cache: Path, edited: Path) -> tuple[float, float]:
    """Seconds from a save to diagnostics ready in `apexscan lsp`, median and worst of 5 saves:
    the server's own analysis, in this process, after one scan that warmed it up."""
    speed = Speed(cache, 1, resident=True)
    analyse_project(project, PositionCodec(), speed.scan)
    speed.between_scans()
    times = []
    for _ in range(5):
        insert_line(edited)
        start = time.perf_counter()
        analyse_project(project, PositionCodec(), speed.scan)
        times.append(time.perf_counter() - start)
        speed.between_scans()
    return sorted(times)[2], max(times)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if argv[0] == "--server":  # the language server row, run by `bench` in a process of its own
        print(*server_rescan(*map(Path, argv[1:4])))
        return 0
    for arg in argv:
        bench(Path(arg))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
