"""Print speed and memory figures for scanning Salesforce codebases.

    python benchmarks/bench_scan.py PATH [PATH ...]

PATH is any SFDX project on this machine (for example a public repository you fetched yourself;
none is shipped). For each: files and lines, time spent parsing alone (tree-sitter, one process),
full scan wall time, files per second, graph size, and peak RSS of the process.
"""
from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from apexscan.link import Linker
from apexscan.parsing import parser_for
from apexscan.policy import load_policy
from apexscan.project import discover
from apexscan.scan import scan
from apexscan.frontends.apex import lower_apex


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench(path: Path) -> None:
    project = discover([path])
    apex = [f for f in project.files if f.kind == "apex"]
    blobs = [(f.rel, f.path.read_bytes()) for f in apex]
    lines = sum(b.count(b"\n") for _, b in blobs)

    parser = parser_for("apex")
    t0 = time.perf_counter()
    for _, data in blobs:
        parser.parse(data)
    parse_only = time.perf_counter() - t0

    t0 = time.perf_counter()
    facts = [lower_apex(rel, data) for rel, data in blobs]
    lowering = time.perf_counter() - t0
    program = Linker(facts).link()

    t0 = time.perf_counter()
    result = scan(project, load_policy(None, project.root))
    wall = time.perf_counter() - t0

    print(f"{path.name}: {len(project.files)} files ({len(apex)} Apex, {lines:,} lines of Apex)")
    print(f"  parse only (tree-sitter, 1 process): {parse_only:6.2f} s")
    print(f"  parse + lower to facts:              {lowering:6.2f} s")
    print(f"  full scan (wall):                    {wall:6.2f} s   {len(project.files) / wall:,.0f} files/s")
    print(f"  graph: {program.graph.number_of_nodes():,} nodes, {program.graph.number_of_edges():,} edges")
    print(f"  findings: {len(result.findings)}, diagnostics: {len(result.diagnostics)}")
    print(f"  peak RSS so far: {peak_rss_mb():,.0f} MB")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for arg in argv:
        bench(Path(arg))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
