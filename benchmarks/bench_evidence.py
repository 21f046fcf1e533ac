"""How fast `apexscan evidence` reads Event Monitoring logs, and in how much memory.

    python benchmarks/bench_evidence.py                      # 10 million rows, plain CSV
    python benchmarks/bench_evidence.py --rows 1000000 --gzip
    python benchmarks/bench_evidence.py --logs /tmp/logs     # logs generated before (reused)

Writes the fintech sample's logs at the `--scale` that gives about `--rows` rows
(benchmarks/gen_event_logs.py; the generation is not timed), then runs `apexscan evidence` on them
against samples/fintech-org in a process of its own and prints rows/s, the wall time and that
process's peak RSS. The target: 10 million rows in under 30 s on 2 cores, in bounded memory.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_event_logs  # noqa: E402

ROWS_PER_SCALE = 4216  # rows the generator writes per unit of --scale (measured: 9,658,972 at 2291)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--logs", type=Path, help="a folder of logs to reuse (generated if empty or missing)")
    args = parser.parse_args()
    scale = max(1, round(args.rows / ROWS_PER_SCALE))
    with tempfile.TemporaryDirectory(prefix="apexscan-bench-") as tmp:
        logs = args.logs or Path(tmp) / "logs"
        if not logs.exists() or not any(logs.iterdir()):
            t = time.perf_counter()
            rows = gen_event_logs.generate(logs, scale=scale, compress=args.gzip)
            print(f"generated {rows:,} rows (scale {scale}) in {time.perf_counter() - t:.0f} s")
        rows = sum(_count(p) for p in logs.iterdir())
        size = sum(p.stat().st_size for p in logs.iterdir())
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "apexscan", "evidence", str(logs), "--project",
                               str(HERE.parent / "samples" / "fintech-org"), "--format", "json", "--fail-on", "never",
                               "-o", str(Path(tmp) / "evidence.json")], capture_output=True, text=True)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if proc.returncode != 0:
            sys.exit(f"apexscan evidence failed ({proc.returncode}): {proc.stderr[-2000:]}")
    print(f"{rows:,} rows ({size / 2**20:,.0f} MiB{' gzip' if args.gzip else ''}) in {wall:.1f} s: "
          f"{rows / wall:,.0f} rows/s, peak RSS {peak:,.0f} MiB (project scan included); "
          f"target 10M rows < 30 s: {'met' if rows / wall >= 10_000_000 / 30 else 'NOT met'}")


def _count(path: Path) -> int:
    """Data rows of one generated file (one row per line: the generator writes no line breaks in values)."""
    import gzip
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b"")) - 1


if __name__ == "__main__":
    main()
