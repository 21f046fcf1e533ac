"""Exit codes (issue 12, item 6): 0 clean, 1 findings, 2 usage or I/O, 3 a bug in apexscan, 130 Ctrl-C.

An internal error prints one line on stderr naming a file with the traceback; no failure, however
it happens, leaves a partial report or a temporary file behind.
"""
from __future__ import annotations

import errno
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import OPENAI_NC, write_project

import apexscan.interfaces.cli as cli
import apexscan.interfaces.reports as reports
from apexscan.interfaces.cli import main

LEAKY = {
    "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
    "classes/Leak.cls": """
        public with sharing class Leak {
            public static void go(Id id) {
                Contact c = [SELECT Email FROM Contact WHERE Id = :id];
                HttpRequest req = new HttpRequest();
                req.setEndpoint('callout:OpenAI/v1/chat/completions');
                req.setBody(JSON.serialize(new Map<String, Object>{ 'messages' => c.Email }));
                new Http().send(req);
            }
        }
    """,
}
CLEAN = {"classes/Clean.cls": "public with sharing class Clean { public Integer two() { return 2; } }\n"}


@pytest.fixture
def crash_folder(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def problems(stderr: str) -> list[str]:
    """Standard error without the line that says which policy the scan used."""
    return [line for line in stderr.splitlines() if not line.startswith("apexscan: policy")]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def boom(*args, **kwargs):
    raise RuntimeError("boom in a stage")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def project(folder: Path, files: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_project(folder, files)


def test_findings_exit_1_clean_exits_0_usage_errors_exit_2(tmp_path):
    assert invoke("scan", str(project(tmp_path / "a", LEAKY))).exit_code == 1
    clean = project(tmp_path / "b", CLEAN)
    assert invoke("scan", str(clean)).exit_code == 0
    assert invoke("scan", str(tmp_path / "missing")).exit_code == 2
    assert invoke("scan", "--fail-on", "sometimes", str(clean)).exit_code == 2


def test_an_internal_error_exits_3_with_one_line_and_the_traceback_in_a_file(tmp_path, monkeypatch, crash_folder):
    root = write_project(tmp_path, LEAKY)
    monkeypatch.setattr(cli, "run_scan", boom)
    out = tmp_path / "reports"
    out.mkdir()
    r = invoke("scan", str(root), "--format", "sarif", "-o", str(out / "r.sarif"))
    assert r.exit_code == 3
    (line,) = problems(r.stderr)
    assert line.startswith("apexscan: internal error: this is a bug in apexscan, not a problem with your project")
    assert "RuntimeError: boom in a stage" in line
    path = Path(re.search(r"details in (\S+) ", line).group(1))
    assert path.parent == crash_folder and path.name.startswith("apexscan-crash-")
    details = path.read_text()
    assert "Traceback (most recent call last)" in details and "boom in a stage" in details
    assert list(out.iterdir()) == [] and r.stdout == ""  # no report, whole or partial


def test_debug_prints_the_traceback_instead(tmp_path, monkeypatch, crash_folder):
    root = write_project(tmp_path, LEAKY)
    monkeypatch.setattr(cli, "run_scan", boom)
    r = invoke("--debug", "scan", str(root))
    assert r.exit_code == 3
    assert "Traceback (most recent call last)" in r.stderr and "boom in a stage" in r.stderr
    assert r.stderr.splitlines()[-1].endswith("the traceback is above")
    assert list(crash_folder.iterdir()) == []


@pytest.mark.parametrize("command, target", [
    (["rules"], "load_catalog"),
    (["inventory", "{root}"], "build_inventory"),
    (["init", "{empty}"], "files"),
    (["scan", "{root}", "--format", "json"], "render_json"),
    (["scan", "{root}", "--format", "sarif"], "render_sarif"),
])
def test_every_command_exits_3_on_an_internal_error(tmp_path, monkeypatch, crash_folder, command, target):
    root = project(tmp_path / "p", LEAKY)
    (tmp_path / "empty").mkdir()
    monkeypatch.setattr(cli if hasattr(cli, target) else reports, target, boom)
    r = invoke(*(c.format(root=root, empty=tmp_path / "empty") for c in command))
    assert r.exit_code == 3, r.output
    assert len(problems(r.stderr)) == 1 and "bug in apexscan" in r.stderr
    assert not (tmp_path / "empty" / "apexscan.toml").exists()


def test_a_crash_while_writing_the_report_leaves_no_temporary_file(tmp_path, monkeypatch, crash_folder):
    root = write_project(tmp_path, LEAKY)
    out = tmp_path / "reports"
    out.mkdir()
    (out / "r.json").write_text("the previous report\n")
    monkeypatch.setattr(cli.os, "replace", boom)  # the temporary file is written, then this fails
    r = invoke("scan", str(root), "--format", "json", "-o", str(out / "r.json"))
    assert r.exit_code == 3
    assert leftovers(out) == [] and (out / "r.json").read_text() == "the previous report\n"


class FullDisk(io.StringIO):
    def write(self, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_on_o_is_exit_2_and_leaves_nothing_behind(tmp_path, monkeypatch):
    root = write_project(tmp_path, LEAKY)
    out = tmp_path / "reports"
    out.mkdir()
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        real_fdopen(fd).close()
        return FullDisk()
    monkeypatch.setattr(cli.os, "fdopen", fdopen)
    r = invoke("scan", str(root), "--format", "sarif", "-o", str(out / "r.sarif"))
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == \
        f"apexscan: error: {out / 'r.sarif'}: cannot write report: No space left on device"
    assert list(out.iterdir()) == []


def test_ctrl_c_exits_130_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    root = write_project(tmp_path, LEAKY)
    out = tmp_path / "reports"
    out.mkdir()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli.os, "replace", interrupt)
    r = invoke("scan", str(root), "-o", str(out / "r.txt"))
    assert r.exit_code == 130 and problems(r.stderr) == ["apexscan: interrupted"]
    assert list(out.iterdir()) == []
    monkeypatch.setattr(cli, "run_scan", interrupt)
    assert invoke("scan", str(root)).exit_code == 130


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("to_stdout", [True, False], ids=["stdout", "-o"])
def test_writing_to_a_full_device_is_exit_2_with_the_reason(tmp_path, to_stdout):
    root = write_project(tmp_path, LEAKY)
    command = [sys.executable, "-m", "apexscan", "scan", str(root), "--no-cache", "--format", "json"]
    if to_stdout:
        with open("/dev/full", "w") as full:
            done = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    else:
        done = subprocess.run([*command, "-o", "/dev/full"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith("No space left on device")
    assert len(problems(done.stderr)) == 1


def test_a_reader_that_has_gone_away_is_no_crash():
    reader = subprocess.Popen([sys.executable, "-c", "pass"], stdin=subprocess.PIPE)
    reader.wait(timeout=60)  # `apexscan rules | head -0`: nobody reads the pipe any more
    done = subprocess.run([sys.executable, "-m", "apexscan", "rules"],
                          stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=120)
    reader.stdin.close()
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
