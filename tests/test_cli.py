"""The command line as a user meets it: exit codes, formats, determinism, atomic output."""
from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import expected

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


# --- the text report ----------------------------------------------------------------------------


def sample_json(*args: str) -> dict:
    return json.loads(invoke("scan", str(SAMPLE), "--format", "json", *args).stdout)


def sample_summary(*args: str) -> str:
    """The sample's summary line as the JSON report counts it (every format must agree), e.g.
    "apexscan: 39 findings: 25 error, 11 warning, 3 note"."""
    s = sample_json(*args)["summary"]
    return f"apexscan: {s['findings']} findings: {s['error']} error, {s['warning']} warning, {s['note']} note"


def test_sample_text_report_is_at_most_six_lines_per_finding_each_ending_with_its_fix_hint():
    from apexscan.salesforce.rules import load_catalog
    catalog = load_catalog()
    r = invoke("scan", str(SAMPLE))
    blocks = r.stdout.split("\n\n")
    summary = blocks.pop()
    listed = [f for f in sample_json()["findings"] if not f["suppression"]]
    assert len(blocks) == len(listed) == len(expected(SAMPLE)) and summary.startswith(f"apexscan: {len(listed)} findings")
    assert len(r.stdout.splitlines()) <= 6 * len(listed)
    for block, finding in zip(blocks, listed):
        lines = block.splitlines()
        assert len(lines) + 1 <= 6, block  # the block and the blank line after it
        assert f"[{finding['rule']}] " in lines[0] and lines[0].startswith(finding["location"]["path"] + ":")
        rule = catalog[finding["rule"]]
        assert lines[-1] == f"    fix: {rule.fix} (apexscan rules {rule.id})"


def test_paths_option_prints_every_step_of_every_path():
    r = invoke("scan", str(SAMPLE), "--paths")
    listed = [f for f in sample_json()["findings"] if not f["suppression"]]
    want = [f"{f['location']['path']}:{f['location']['line']}:{f['location']['col']}: {f['level']}[{f['rule']}] "
            for f in listed]
    lines = r.stdout.splitlines()
    assert len(lines) == 1 + sum(1 + sum(len(p) for p in f["paths"]) for f in listed)  # 948 in the first release
    headers = [line for line in lines if not line.startswith("    ")][:-1]
    assert [h[:len(w)] for h, w in zip(headers, want)] == want
    steps = [line for line in lines if line.startswith("    ")]
    first = listed[0]["paths"][0][0]
    assert steps[0] == f"    {first['path']}:{first['line']}:{first['col']}: {first['message']}"


def test_color_always_never_and_no_color(monkeypatch):
    assert "\033[1;31merror\033[0m" in invoke("scan", str(SAMPLE), "--color", "always").stdout
    assert "\033[" not in invoke("scan", str(SAMPLE)).stdout  # not a terminal
    from apexscan.interfaces import cli

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(cli.sys, "stdout", Terminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert cli._use_color("auto") is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli._use_color("auto") is False and cli._use_color("always") is True


def test_quiet_prints_findings_only():
    r = invoke("scan", str(SAMPLE), "-q")
    assert r.exit_code == 1 and "apexscan: " not in r.stdout + r.stderr
    assert "error[APX-LLM-001]" in r.stdout


def test_min_level_reports_only_findings_at_or_above_it():
    counts = sample_json()["summary"]
    doc = sample_json("--min-level", "error")
    assert doc["summary"]["findings"] == counts["error"] and {f["level"] for f in doc["findings"]} == {"error"}
    r = invoke("scan", str(SAMPLE), "--min-level", "warning", "--fail-on", "note")
    assert r.stdout.splitlines()[-1] == (f"apexscan: {counts['error'] + counts['warning']} findings: "
                                         f"{counts['error']} error, {counts['warning']} warning, 0 note")


def test_output_file_still_prints_the_summary_and_several_reports_come_from_one_run(tmp_path):
    sarif, report = tmp_path / "a.sarif", tmp_path / "a.json"
    r = invoke("scan", str(SAMPLE), "--sarif-output", str(sarif), "--json-output", str(report))
    assert r.exit_code == 1
    total = len(expected(SAMPLE))
    assert r.stdout.splitlines()[-1] == sample_summary() and sample_summary().startswith(f"apexscan: {total} ")
    assert len(json.loads(sarif.read_text("utf-8"))["runs"][0]["results"]) == total
    assert json.loads(report.read_text("utf-8"))["summary"]["findings"] == total
    out = tmp_path / "b.sarif"
    r = invoke("scan", str(SAMPLE), "--format", "sarif", "-o", str(out))
    assert r.stdout == "" and out.read_bytes() == sarif.read_bytes()
    assert r.stderr.splitlines()[-1] == sample_summary()


def test_github_step_summary_is_appended_on_actions_only(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n", encoding="utf-8")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    CliRunner().invoke(main, ["scan", str(SAMPLE), "--format", "sarif", "-o", str(tmp_path / "x.sarif")], env=env)
    text = summary.read_text("utf-8")
    assert text.startswith(f"previous step\n### {sample_summary()}")
    assert "- policy: samples/fintech-org/apexscan.toml (project root)" in text
    rows = [line for line in text.splitlines() if line.startswith("| error | APX-")]
    assert len(rows) == sample_json()["summary"]["error"] and "| `samples/fintech-org/force-app/" in rows[0]
    CliRunner().invoke(main, ["scan", str(SAMPLE), "-q"], env={"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": str(summary)})
    CliRunner().invoke(main, ["scan", str(SAMPLE), "--no-step-summary"], env=env)
    assert summary.read_text("utf-8") == text


# --- selection, rules, schema -------------------------------------------------------------------


def test_exclude_and_include_globs_and_the_policy_s_exclude(tmp_path):
    import shutil
    project = tmp_path / "org"
    shutil.copytree(SAMPLE, project)
    everything = json.loads(invoke("scan", str(project), "--format", "json").stdout)["findings"]
    advisory = [f for f in everything if "/classes/advisory/" in f["location"]["path"]]
    assert advisory
    left = json.loads(invoke("scan", str(project), "--format", "json", "--exclude", "advisory/").stdout)
    touched = [{f["location"]["path"], *(s["path"] for p in f["paths"] for s in p)} for f in left["findings"]]
    assert left["findings"] and len(left["findings"]) < len(everything) - len(advisory) + 1
    assert not any("/advisory/" in path for paths in touched for path in paths)  # not even read
    only = json.loads(invoke("scan", str(project), "--format", "json", "--include", "**/advisory/**",
                             "--include", "namedCredentials/").stdout)
    assert {f["location"]["path"] for f in only["findings"]} <= \
        {f["location"]["path"] for f in everything if "/advisory/" in f["location"]["path"]
         or "/namedCredentials/" in f["location"]["path"]}
    policy = project / "apexscan.toml"
    policy.write_text('exclude = ["force-app/main/default/classes/advisory/**"]\n' + policy.read_text("utf-8"),
                      encoding="utf-8")
    assert json.loads(invoke("scan", str(project), "--format", "json").stdout)["findings"] == left["findings"]
    misplaced = policy.read_text("utf-8").replace("[policy]", "[policy]\nexclude = []", 1)
    policy.write_text(misplaced.split("\n", 1)[1], encoding="utf-8")
    r = invoke("scan", str(project))
    assert r.exit_code == 2 and "exclude is a top-level key" in r.stderr


def test_rules_disable_in_the_policy(tmp_path):
    import shutil
    project = tmp_path / "org"
    shutil.copytree(SAMPLE, project)
    policy = project / "apexscan.toml"
    policy.write_text(policy.read_text("utf-8") + '\n[rules]\ndisable = ["APX-LLM-006", "APX-CFG-005"]\n',
                      encoding="utf-8")
    rules = [f["rule"] for f in json.loads(invoke("scan", str(project), "--format", "json").stdout)["findings"]]
    assert rules and "APX-LLM-006" not in rules and "APX-CFG-005" not in rules
    policy.write_text(policy.read_text("utf-8").replace("APX-CFG-005", "APX-CFG-05"), encoding="utf-8")
    r = invoke("scan", str(project))
    assert r.exit_code == 2 and "unknown rule 'APX-CFG-05'" in r.stderr and "APX-CFG-005" in r.stderr


def test_rules_prints_one_rule_s_help_and_the_catalog_as_json():
    r = invoke("rules", "apx-llm-001")
    assert r.exit_code == 0 and r.stdout.startswith("APX-LLM-001 sensitive-data-to-foreign-llm (error")
    assert "Use instead (compliant Apex)" in r.stdout and "Fix: " in r.stdout
    doc = json.loads(invoke("rules", "--format", "json").stdout)
    assert [rule["id"] for rule in doc][:2] == ["APX-CFG-001", "APX-CFG-002"]
    assert all(rule["fix"] and rule["help_markdown"] for rule in doc)
    assert json.loads(invoke("rules", "APX-LLM-006", "--format", "json").stdout)[0]["level"] == "note"
    missing = invoke("rules", "APX-LLM-600")
    assert missing.exit_code == 2 and "no rule 'APX-LLM-600'" in missing.stderr


def test_version_options():
    from apexscan import __version__
    for option in ("-V", "--version"):
        r = invoke(option)
        assert r.exit_code == 0 and r.stdout.strip() == f"apexscan, version {__version__}"


def _schema_keys(schema: dict, root: dict) -> set[str]:
    """Every property name the schema describes."""
    out: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "$ref" in node:
                stack.append(root["$defs"][node["$ref"].rsplit("/", 1)[-1]])
            out.update(node.get("properties", {}))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def _keys(doc) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) - {"extra"} | {k for v in doc.values() for k in _keys(v)} if "extra" not in doc else \
            set(doc) | {k for key, v in doc.items() if key != "extra" for k in _keys(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in _keys(v)}
    return set()


def test_json_report_validates_against_the_shipped_schema(tmp_path):
    schema = json.loads(invoke("schema", "json").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    plain = sample_json()
    baseline = tmp_path / "base.sarif"
    invoke("scan", str(SAMPLE), "--format", "sarif", "-o", str(baseline))
    compared = sample_json("--baseline", str(baseline), "--show-suppressed")
    project = tmp_path / "broken"
    project.mkdir()
    (project / "Broken.cls").write_text("public class Broken {", encoding="utf-8")
    broken = json.loads(invoke("scan", str(project), "--format", "json").stdout)
    for doc in (plain, compared, broken):
        validator.validate(doc)
        assert _keys(doc) <= _schema_keys(schema, schema), _keys(doc) - _schema_keys(schema, schema)
    assert broken["diagnostics"] and compared["summary"]["baseline"]["unchanged"] == len(expected(SAMPLE))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**plain, "summary": {**plain["summary"], "error": -1}})


def test_changed_files_takes_files_not_folders(tmp_path):
    r = invoke("scan", "--changed-files", str(SAMPLE))
    assert r.exit_code == 2 and "--changed-files" in r.stderr and "is a folder" in r.stderr


def test_progress_is_drawn_on_a_terminal_after_the_delay_only():
    import io

    from apexscan.interfaces.progress import ScanProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with ScanProgress(screen, delay=0) as progress:
        import time
        time.sleep(0.05)  # the timer fires
        for done in range(0, 11):
            progress("parse", done, 10)
        progress("link", 0, 0)
        progress("search", 0, 0)
    shown = screen.getvalue()
    assert "apexscan: parsing files" in shown and "10/10" in shown
    assert "apexscan: linking" in shown and "apexscan: searching paths" in shown
    pipe = io.StringIO()
    with ScanProgress(pipe, delay=0) as progress:
        progress("parse", 1, 1)
    assert pipe.getvalue() == ""
    slow = Terminal()
    with ScanProgress(slow, delay=30) as progress:  # a scan quicker than the delay shows nothing
        progress("parse", 1, 1)
    assert slow.getvalue() == ""
