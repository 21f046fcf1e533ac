"""Reports are byte-identical from one run to the next, whatever the interpreter's hash seed.

Set and dict iteration order of strings depends on PYTHONHASHSEED, so each run here is a fresh
interpreter (`python -m apexscan`) with its own seed. apexscan scans in one process, so there is
no process-pool order to compare yet.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from apexscan.interfaces.cli import main

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "fintech-org"
SEEDS = ("0", "12345")


def run_cli(target: Path, out: Path, seed: str) -> bytes:
    path = [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": os.pathsep.join(path)}
    done = subprocess.run(
        [sys.executable, "-m", "apexscan", "scan", str(target), "--format", "sarif", "-o", str(out)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 1, done.stderr  # the sample holds error-level leaks on purpose
    return out.read_bytes()


def test_sample_sarif_is_byte_identical_across_hash_seeds_and_in_process(tmp_path):
    first, second = (run_cli(SAMPLE, tmp_path / f"seed-{seed}.sarif", seed) for seed in SEEDS)
    assert first, "empty report"
    assert first == second
    # the same report from inside a process that has scanned before (no state left over)
    for _ in range(2):
        out = tmp_path / "in-process.sarif"
        CliRunner().invoke(main, ["scan", str(SAMPLE), "--format", "sarif", "-o", str(out)], catch_exceptions=False)
        assert out.read_bytes() == first


def test_reports_with_diagnostics_are_byte_identical_across_hash_seeds(tmp_path):
    """Broken and hostile files add notifications; their order must not depend on the seed either."""
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project)
    default = project / "force-app" / "main" / "default"
    (default / "classes" / "Binary.cls").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    (default / "classes" / "Cut.cls").write_text("public class Cut {\n    void m() {\n", encoding="utf-8")
    (default / "classes" / "Latin.cls").write_bytes("public class Latin { // caf\u00e9\n}\n".encode("latin-1"))
    (default / "namedCredentials" / "Bomb.namedCredential-meta.xml").write_bytes(
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n<NamedCredential>&a;</NamedCredential>\n')
    (default / "labels" / "Broken.labels-meta.xml").write_bytes(b"<CustomLabels><labels>")
    first, second = (run_cli(project, tmp_path / f"seed-{seed}.sarif", seed) for seed in SEEDS)
    assert first == second
    for name in ("Binary.cls", "Cut.cls", "Latin.cls", "Bomb.namedCredential-meta.xml", "Broken.labels-meta.xml"):
        assert name.encode() in first, f"{name} is not reported"
