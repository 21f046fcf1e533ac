"""The command line as a user meets it: exit codes, formats, determinism, atomic output."""
from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from apexscan.interfaces.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "fintech-org"
SCHEMA = Path(__file__).resolve().parents[2] / "shared/schemas/sarif-schema-2.1.0.json"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_text_report_lists_findings_and_fails_on_errors():
    r = invoke("scan", str(SAMPLE))
    assert r.exit_code == 1
    first = r.stdout.splitlines()[0]
    path, line, col, rest = first.split(":", 3)
    assert path.endswith(".cls") and line.isdigit() and col.isdigit()
    assert rest.strip().split("[")[0] in ("error", "warning", "note")
    assert "findings:" in r.stdout.splitlines()[-1]


def test_fail_on_never_exits_zero():
    assert invoke("scan", str(SAMPLE), "--fail-on", "never").exit_code == 0


def test_sarif_report_validates_and_is_byte_identical_across_runs(tmp_path):
    if not SCHEMA.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"SARIF schema missing at {SCHEMA}")
        pytest.skip(f"SARIF schema missing at {SCHEMA}")
    first, second = tmp_path / "a.sarif", tmp_path / "b.sarif"
    assert invoke("scan", str(SAMPLE), "--format", "sarif", "-o", str(first)).exit_code == 1
    assert invoke("scan", str(SAMPLE), "--format", "sarif", "-o", str(second)).exit_code == 1
    assert first.read_bytes() == second.read_bytes()
    doc = json.loads(first.read_text("utf-8"))
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text("utf-8"))).validate(doc)
    results = doc["runs"][0]["results"]
    assert results and all(r["codeFlows"] for r in results if r["ruleId"] != "APX-LLM-006")
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
               for r in results)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_json_report_is_parseable():
    r = invoke("scan", str(SAMPLE), "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["findings"]


def test_missing_path_is_a_usage_error():
    r = invoke("scan", "/no/such/project")
    assert r.exit_code == 2
    assert "no such file or folder" in r.stderr


def test_folder_without_salesforce_files_is_a_usage_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    r = invoke("scan", str(tmp_path))
    assert r.exit_code == 2
    assert "no Apex classes" in r.stderr


def test_bad_policy_is_a_usage_error_naming_the_key(tmp_path):
    (tmp_path / "Foo.cls").write_text("public class Foo {}\n", encoding="utf-8")
    (tmp_path / "apexscan.toml").write_text('[policy]\nallowed_jurisdiction = ["EU"]\n', encoding="utf-8")
    r = invoke("scan", str(tmp_path))
    assert r.exit_code == 2
    assert "allowed_jurisdiction" in r.stderr


def test_rules_lists_every_rule():
    r = invoke("rules")
    assert r.exit_code == 0
    assert all(f"APX-LLM-00{n}" in r.stdout for n in range(1, 7))


def test_init_writes_a_policy_the_scanner_accepts(tmp_path):
    assert invoke("init", str(tmp_path)).exit_code == 0
    (tmp_path / "Foo.cls").write_text("public class Foo {}\n", encoding="utf-8")
    assert invoke("scan", str(tmp_path)).exit_code == 0
    assert invoke("init", str(tmp_path)).exit_code == 2  # never overwrites without --force


def test_output_to_a_pipe_writes_into_the_pipe_and_leaves_it_a_pipe(tmp_path):
    import stat
    import threading
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    r = invoke("scan", str(SAMPLE), "--format", "json", "-o", str(fifo))
    reader.join(timeout=30)
    assert r.exit_code == 1
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # not replaced by a regular file
    assert json.loads(received[0])["findings"]
    assert not list(tmp_path.glob(".report.pipe.*"))


def test_output_to_a_folder_is_a_usage_error(tmp_path):
    r = invoke("scan", str(SAMPLE), "--format", "json", "-o", str(tmp_path))
    assert r.exit_code == 2
    assert "is a directory" in r.output
