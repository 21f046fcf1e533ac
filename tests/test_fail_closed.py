"""Fail closed (issue 12, item 5): nothing a repository does may make apexscan skip a file silently.

A file of a kind apexscan analyses that it could not analyse is an APX-SCAN-001 finding the gate
sees (exit 1), with the reason; deep nesting is analysed in every tree-sitter frontend.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_project

import apexscan.frontends.parsing as parsing
from apexscan.engine.model import Diagnostic
from apexscan.interfaces.cli import main
from apexscan.pipeline.coverage import not_analysed_findings
from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import scan
from apexscan.salesforce.policy import load_policy

DEFAULT = "force-app/main/default"
CLEAN = {"classes/Clean.cls": "public with sharing class Clean {\n    public Integer two() { return 2; }\n}\n"}

# An LWC that sends a wired Contact.Email to OpenAI, with 3,000 nested parentheses before the call.
DEEP_LWC = """import { LightningElement, api, wire } from 'lwc';
import { getRecord } from 'lightning/uiRecordApi';
import EMAIL from '@salesforce/schema/Contact.Email';
export default class Leaky extends LightningElement {
    @api recordId;
    @wire(getRecord, { recordId: '$recordId', fields: [EMAIL] }) contact;
    send() {
        const x = %s1%s;
        fetch('https://api.openai.com/v1/chat/completions',
              { method: 'POST', body: JSON.stringify({ messages: [this.contact.data.fields.Email.value] }) });
    }
}
""" % ("(" * 3000, ")" * 3000)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def scan_root(root: Path):
    project = discover([root])
    return scan(project, load_policy(None, project.root))


def scan_findings(result) -> dict[str, tuple[str, str]]:
    """path -> (level, message) of each APX-SCAN-001 finding."""
    return {f.location.path: (f.level or "error", f.message) for f in result.findings if f.rule_id == "APX-SCAN-001"}


# --- deep nesting is analysed in every tree-sitter frontend -----------------------------------------

@pytest.mark.parametrize("rel", ["lwc/leaky/leaky.js", "aura/leaky/leakyController.js"])
def test_javascript_nested_3000_deep_is_analysed_and_its_leak_found(tmp_path, rel):
    source = DEEP_LWC if rel.startswith("lwc/") else (
        "({\n    send: function (component) {\n        var email = component.get('v.email');\n"
        f"        var x = {'(' * 3000}1{')' * 3000};\n"
        "        fetch('https://api.openai.com/v1/chat/completions', { method: 'POST', body: email });\n"
        "    }\n})\n")
    root = write_project(tmp_path, {rel: source})
    result = scan_root(root)
    assert not scan_findings(result) and not result.diagnostics
    rules = {f.rule_id for f in result.findings if f.location.path == f"{DEFAULT}/{rel}"}
    assert "APX-LLM-006" in rules  # the call after the deep expression was lowered
    if rel.startswith("lwc/"):
        assert "APX-LLM-001" in rules
        r = invoke("scan", str(root))
        assert r.exit_code == 1 and "error[APX-LLM-001]" in r.stdout


def test_nesting_deeper_than_even_the_big_stack_is_a_finding_not_a_skip(tmp_path, monkeypatch):
    def no_room(fn):
        raise RecursionError
    monkeypatch.setattr("apexscan.frontends.lwc.run_deep", no_room)
    root = write_project(tmp_path, {**CLEAN, "lwc/leaky/leaky.js": DEEP_LWC})
    r = invoke("scan", str(root), "--no-cache")
    assert r.exit_code == 1
    assert (f"{DEFAULT}/lwc/leaky/leaky.js:1:1: error[APX-SCAN-001] Not analysed: expressions or blocks nested "
            "too deeply to analyse; a leak in it would not be reported.") in r.stdout


# --- a file that cannot be analysed fails the gate, with the reason -----------------------------------

@pytest.mark.parametrize("rel, content, reason", [
    ("classes/Image.cls", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary file, not source code"),
    ("classes/Html.cls", b"<html><body>not Apex</body></html>\n", "not Apex source (nothing could be parsed)"),
    ("namedCredentials/Evil.namedCredential-meta.xml",
     b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<NamedCredential>&a;</NamedCredential>\n', "DOCTYPE"),
    ("flows/Cut.flow-meta.xml", b'<?xml version="1.0"?>\n<Flow><status>Active</status>', "malformed XML"),
    ("flows/Other.flow-meta.xml", b'<?xml version="1.0"?>\n<NamedCredential/>\n', "not a Flow"),
    ("aura/box/box.cmp", b"<div>no component tag</div>\n", "no <aura:component>"),
])
def test_a_file_that_cannot_be_analysed_fails_the_gate_with_the_reason(tmp_path, rel, content, reason):
    root = write_project(tmp_path, {**CLEAN, rel: content})
    r = invoke("scan", str(root))
    assert r.exit_code == 1, r.output
    (line,) = [line for line in r.stdout.splitlines() if "[APX-SCAN-001]" in line]
    assert line.startswith(f"{DEFAULT}/{rel}:") and " error[APX-SCAN-001] Not analysed: " in line and reason in line
    assert f"{DEFAULT}/{rel}" not in r.stderr  # said once, as a finding
    assert invoke("scan", str(root), "--fail-on", "never").exit_code == 0


def test_an_empty_file_is_no_finding(tmp_path):
    root = write_project(tmp_path, {**CLEAN, "classes/Empty.cls": "", "lwc/blank/blank.js": "\n\n",
                                    "aura/blank/blank.cmp": "  \n"})
    r = invoke("scan", str(root))
    assert r.exit_code == 0 and "APX-SCAN-001" not in r.stdout
    assert "empty file" in r.stderr


def test_a_syntax_error_recovered_from_is_a_warning_naming_the_lines_left_out(tmp_path):
    broken = ("public with sharing class Half {\n    public Integer one() { return 1; }\n"
              "    public void broken() { Integer x = = = 2; }\n}\n")
    root = write_project(tmp_path, {**CLEAN, "classes/Half.cls": broken})
    ((level, message),) = scan_findings(scan_root(root)).values()
    assert level == "warning"
    assert message.startswith("Partly analysed: syntax error near line 3; line 3 was not analysed, the rest of the file was")
    assert invoke("scan", str(root)).exit_code == 0  # the default gate fails on errors only
    assert invoke("scan", str(root), "--fail-on", "warning").exit_code == 1


def test_an_unreadable_folder_is_a_finding_at_the_folder(tmp_path, monkeypatch):
    root = write_project(tmp_path, {**CLEAN, "classes/locked/Hidden.cls": "public class Hidden {}\n",
                                    "/dataloader/jobs/process-conf.xml": "<beans/>\n"})
    locked = {root / DEFAULT / "classes" / "locked", root / "dataloader" / "jobs"}  # inside and outside force-app
    real = os.scandir

    def scandir(path="."):  # what a mode-000 folder does for a user who is not root
        if Path(path) in locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    result = scan_root(root)
    reason = ("error", "Not analysed: cannot read folder: Permission denied; a leak in it would not be reported.")
    assert scan_findings(result) == {f"{DEFAULT}/classes/locked": reason, "dataloader/jobs": reason}
    r = invoke("scan", str(root))
    assert r.exit_code == 1 and f"{DEFAULT}/classes/locked:1:1: error[APX-SCAN-001]" in r.stdout


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads whatever the mode")
def test_a_mode_000_folder_and_file_are_findings(tmp_path):
    root = write_project(tmp_path, {**CLEAN, "classes/locked/Hidden.cls": "public class Hidden {}\n",
                                    "classes/Locked.cls": "public class Locked {}\n"})
    folder, file = root / DEFAULT / "classes" / "locked", root / DEFAULT / "classes" / "Locked.cls"
    folder.chmod(0)
    file.chmod(0)
    try:
        found = scan_findings(scan_root(root))
    finally:
        folder.chmod(0o755)
        file.chmod(0o644)
    assert set(found) == {f"{DEFAULT}/classes/locked", f"{DEFAULT}/classes/Locked.cls"}


def test_an_unreadable_file_is_a_finding(tmp_path, monkeypatch):
    root = write_project(tmp_path, {**CLEAN, "classes/Locked.cls": "public class Locked {}\n"})
    locked = root / DEFAULT / "classes" / "Locked.cls"
    real = Path.open

    def open_(self, *args, **kwargs):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Path, "open", open_)
    assert scan_findings(scan_root(root)) == {f"{DEFAULT}/classes/Locked.cls": (
        "error", "Not analysed: cannot read file: Permission denied; a leak in it would not be reported.")}


def test_symbolic_links_out_of_the_project_and_outside_package_directories_are_findings(tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "classes").mkdir(parents=True)
    (outside / "classes" / "Leak.cls").write_text("public class Leak {}\n")
    (tmp_path / "p").mkdir()
    root = write_project(tmp_path / "p", CLEAN)
    classes = root / DEFAULT / "classes"
    (classes / "Linked.cls").symlink_to(outside / "classes" / "Leak.cls")
    (classes / "vendor").symlink_to(outside / "classes", target_is_directory=True)
    (classes / "Dangling.cls").symlink_to(tmp_path / "gone.cls")
    (root / "sfdx-project.json").write_text(
        '{"packageDirectories": [{"path": "force-app", "default": true}, {"path": "../elsewhere"}]}')
    found = scan_findings(scan_root(root))
    assert set(found) == {f"{DEFAULT}/classes/Linked.cls", f"{DEFAULT}/classes/vendor",
                          f"{DEFAULT}/classes/Dangling.cls", "sfdx-project.json"}
    assert "'../elsewhere' is outside the project" in found["sfdx-project.json"][1]


def test_a_symbolic_link_to_a_folder_inside_the_project_is_no_finding(tmp_path):
    root = write_project(tmp_path, CLEAN)
    (root / DEFAULT / "alias").symlink_to(root / DEFAULT / "classes", target_is_directory=True)
    result = scan_root(root)
    assert not scan_findings(result)
    assert any("symbolic link to a folder" in d.message for d in result.diagnostics)


# --- suppressing it ------------------------------------------------------------------------------------

def test_a_comment_anywhere_in_the_file_suppresses_it_with_a_reason(tmp_path):
    deep = "public class Gen {\n    // apexscan:ignore APX-SCAN-001 generated stub, reviewed in SEC-4121\n" \
           "    public void f() { Integer x = = = 1; }\n}\n"
    xml = ('<?xml version="1.0"?><!-- apexscan:ignore APX-SCAN-001 vendor file, never deployed -->\n'
           '<!DOCTYPE x>\n<NamedCredential/>\n')
    root = write_project(tmp_path, {**CLEAN, "classes/Gen.cls": deep, "namedCredentials/V.namedCredential-meta.xml": xml})
    r = invoke("scan", str(root), "--fail-on", "warning")
    assert r.exit_code == 0, r.output
    assert "2 suppressed" in r.stdout
    shown = invoke("scan", str(root), "--show-suppressed").stdout
    assert "[suppressed: vendor file, never deployed]" in shown
    assert "[suppressed: generated stub, reviewed in SEC-4121]" in shown


def test_a_comment_without_reason_or_without_such_a_finding_is_apx_sup_001(tmp_path):
    root = write_project(tmp_path, {
        **CLEAN,
        "classes/Bin.cls": b"// apexscan:ignore APX-SCAN-001\n\x00\x01binary",
        "classes/Fine.cls": "// apexscan:ignore APX-SCAN-001 it used to be generated\npublic class Fine {}\n"})
    r = invoke("scan", str(root))
    assert r.exit_code == 1
    assert f"{DEFAULT}/classes/Bin.cls:1:1: error[APX-SCAN-001]" in r.stdout  # no reason: not suppressed
    assert "gives no reason" in r.stdout
    assert "matches no APX-SCAN-001 finding in its file" in r.stdout


def test_a_file_listed_in_forceignore_is_neither_scanned_nor_reported(tmp_path):
    root = write_project(tmp_path, {**CLEAN, "classes/generated/Blob.cls": b"\x00\x01\x02"})
    (root / ".forceignore").write_text("**/generated/\n")
    r = invoke("scan", str(root))
    assert r.exit_code == 0 and "APX-SCAN-001" not in r.output


# --- the convention other stages plug into ---------------------------------------------------------------

def test_any_not_analysed_diagnostic_becomes_a_finding_and_others_do_not():
    diagnostics = [
        Diagnostic("a.cls", "limit", "file larger than 20 MB", not_analysed=True),
        Diagnostic("b.cls", "parse", "syntax error near line 4; line 4 was not analysed, the rest of the file was",
                   4, not_analysed=True, partly=True),
        Diagnostic("c.cls", "read", "not valid UTF-8 (byte 3); analysed with the bad bytes replaced", 1),
    ]
    found = {(f.location.path, f.location.line, f.level, f.message) for f in not_analysed_findings(diagnostics)}
    assert found == {
        ("a.cls", 1, "", "Not analysed: file larger than 20 MB; a leak in it would not be reported."),
        ("b.cls", 4, "warning", "Partly analysed: syntax error near line 4; line 4 was not analysed, "
                                "the rest of the file was."),
    }


def test_sarif_and_json_carry_the_finding_and_the_notification(tmp_path):
    root = write_project(tmp_path, {**CLEAN, "classes/Image.cls": b"\x00\x01\x02"})
    sarif = json.loads(invoke("scan", str(root), "--format", "sarif").stdout)
    run = sarif["runs"][0]
    (result,) = [r for r in run["results"] if r["ruleId"] == "APX-SCAN-001"]
    assert result.get("level", "error") == "error"  # SARIF leaves out the rule's default level
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == f"{DEFAULT}/classes/Image.cls"
    assert any("binary" in n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"])
    doc = json.loads(invoke("scan", str(root), "--format", "json").stdout)
    assert [f["rule"] for f in doc["findings"]] == ["APX-SCAN-001"]


def test_parse_reports_the_skipped_lines():
    tree, _, diagnostics = parsing.parse("apex", "x.cls", b"public class X {\n  void f() { a = = = 1; }\n}\n")
    assert tree is not None
    (d,) = diagnostics
    assert d.not_analysed and d.partly and "line 2 was not analysed" in d.message
