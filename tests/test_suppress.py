"""Inline `apexscan:ignore` suppressions and `--baseline`: what is excused, what is reported, what fails.

The projects are small SFDX folders: an LLM client behind the OpenAI Named Credential, a service
that reads a Case and sends its description, a Remote Site Setting. Suppression comments are put
where a developer would write them, and each test says which line it expects to be reported.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import textwrap
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import run, write_project

from apexscan.interfaces.cli import main
from apexscan.interfaces.report.json_report import render_json
from apexscan.interfaces.report.text import render_text
from apexscan.pipeline.baseline import NEW, UNCHANGED, BaselineError, compare, parse_baseline
from apexscan.pipeline.fingerprints import finding_fingerprint
from apexscan.pipeline.suppress import RULE_ID, apply, collect, read_suppressions, referenced_paths
from apexscan.salesforce.rules import load_catalog

SCHEMA = Path(__file__).resolve().parents[2] / "shared/schemas/sarif-schema-2.1.0.json"
CATALOG = load_catalog()
CLASSES = "force-app/main/default/classes"

LLM_CLIENT = """
public with sharing class LlmClient {
    public static String complete(String prompt) {
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody(JSON.serialize(new Map<String, Object>{
            'model' => 'gpt-4o-mini',
            'messages' => new List<Object>{ new Map<String, Object>{ 'role' => 'user', 'content' => prompt } }
        }));
        {above_sink}
        HttpResponse res = new Http().send(req); {on_sink}
        return res.getBody();
    }
}
"""

CASE_SERVICE = """
public with sharing class CaseSummaryService {
    public static String summarize(Id caseId) {
        {above_source}
        Case c = [SELECT Id, Subject, Description FROM Case WHERE Id = :caseId]; {on_source}
        return LlmClient.complete('Summarize this complaint: ' + c.Description);
    }
}
"""

OPENAI_NC = """
<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>OpenAI</label>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        {above_url}
        <parameterValue>https://api.openai.com</parameterValue>
    </namedCredentialParameters>
</NamedCredential>
"""

OPENAI_REMOTE_SITE = """
<?xml version="1.0" encoding="UTF-8"?>
<RemoteSiteSetting xmlns="http://soap.sforce.com/2006/04/metadata">
    <description>Case summaries with OpenAI</description>
    <disableProtocolSecurity>false</disableProtocolSecurity>
    <isActive>true</isActive>
    <url>https://api.openai.com</url> {on_url}
</RemoteSiteSetting>
"""

REASON = "Description is redacted by the CaseRedaction trigger before this runs (DPO ticket RISK-412)"


def fill(template: str, **slots: str) -> str:
    """The template with its `{slot}`s filled (empty by default); lines left empty are dropped."""
    text = template
    for name in ("above_sink", "on_sink", "above_source", "on_source", "above_url", "on_url"):
        text = text.replace("{" + name + "}", slots.get(name, ""))
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip() or not line) + "\n"


def make(project, **slots: str) -> Path:
    return project({
        "classes/LlmClient.cls": fill(LLM_CLIENT, **slots),
        "classes/CaseSummaryService.cls": fill(CASE_SERVICE, **slots),
        "namedCredentials/OpenAI.namedCredential-meta.xml": fill(OPENAI_NC, **slots),
    })


def scan_suppressed(root: Path):
    """Scan, then apply the project's suppressions, as the CLI does."""
    result = run(root)
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    return apply(result.findings, collect(root, files | referenced_paths(result.findings)), CATALOG)


def line_of(root: Path, rel: str, needle: str) -> int:
    lines = (root / rel).read_text("utf-8").splitlines()
    (number,) = [i for i, line in enumerate(lines, 1) if needle in line]
    return number


def by_rule(findings, rule_id: str) -> list:
    return [f for f in findings if f.rule_id == rule_id]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def schema_validator() -> jsonschema.Draft4Validator:
    if not SCHEMA.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"SARIF schema missing at {SCHEMA}")
        pytest.skip(f"SARIF schema missing at {SCHEMA}")
    return jsonschema.Draft4Validator(json.loads(SCHEMA.read_text("utf-8")))


# --- what a comment suppresses -------------------------------------------------------------------


def test_leak_is_reported_and_fails_without_a_suppression(project):
    root = make(project)
    (leak,) = by_rule(scan_suppressed(root), "APX-LLM-001")
    assert leak.location.line == line_of(root, f"{CLASSES}/LlmClient.cls", "new Http().send(req)")
    assert leak.suppression == ""
    assert invoke("scan", str(root)).exit_code == 1


def test_comment_on_the_line_above_the_sink_suppresses_the_leak(project):
    root = make(project, above_sink=f"// apexscan:ignore APX-LLM-001 {REASON}")
    findings = scan_suppressed(root)
    (leak,) = by_rule(findings, "APX-LLM-001")
    assert leak.suppression == REASON
    assert not by_rule(findings, RULE_ID)
    r = invoke("scan", str(root))
    assert r.exit_code == 0
    assert "APX-LLM-001" not in r.stdout
    assert r.stdout.splitlines()[-1].endswith("; 1 suppressed")


def test_trailing_comment_on_the_sink_line_suppresses_the_leak(project):
    root = make(project, on_sink=f"// apexscan:ignore APX-LLM-001: {REASON}")
    (leak,) = by_rule(scan_suppressed(root), "APX-LLM-001")
    assert leak.suppression == REASON  # the colon after the rule id is not part of the reason


def test_comment_on_the_source_line_suppresses_the_leak(project):
    root = make(project, on_source=f"// apexscan:ignore APX-LLM-001 {REASON}")
    findings = scan_suppressed(root)
    (leak,) = by_rule(findings, "APX-LLM-001")
    assert leak.paths[0][0].location.path == f"{CLASSES}/CaseSummaryService.cls"
    assert leak.suppression == REASON
    rel = f"{CLASSES}/CaseSummaryService.cls"
    line = line_of(root, rel, "SELECT")
    col = (root / rel).read_text("utf-8").splitlines()[line - 1].index("//") + 1
    assert dict(leak.extra)["suppressed_at"] == f"{rel}:{line}:{col}"
    assert not by_rule(findings, RULE_ID)
    assert invoke("scan", str(root)).exit_code == 0


def test_comment_above_the_source_line_suppresses_the_leak(project):
    root = make(project, above_source=f"/* apexscan:ignore APX-LLM-001 {REASON} */")
    (leak,) = by_rule(scan_suppressed(root), "APX-LLM-001")
    assert leak.suppression == REASON


def test_suppressing_one_source_does_not_hide_another(project):
    root = project({
        "classes/LlmClient.cls": fill(LLM_CLIENT),
        "classes/ComplaintReplyService.cls": """
            public with sharing class ComplaintReplyService {
                public static String draft(Id caseId, Id contactId) {
                    Case c = [SELECT Description FROM Case WHERE Id = :caseId]; // apexscan:ignore APX-LLM-001 redacted upstream
                    Contact who = [SELECT Email FROM Contact WHERE Id = :contactId];
                    return LlmClient.complete(c.Description + ' Reply to ' + who.Email);
                }
            }
            """,
        "namedCredentials/OpenAI.namedCredential-meta.xml": fill(OPENAI_NC),
    })
    findings = scan_suppressed(root)
    (leak,) = by_rule(findings, "APX-LLM-001")
    assert {str(ref) for ref, _ in leak.fields} == {"Case.Description", "Contact.Email"}
    assert leak.suppression == ""  # Contact.Email still leaks
    assert not by_rule(findings, RULE_ID)  # the comment did match a path: it is not unused
    assert invoke("scan", str(root)).exit_code == 1


def test_comment_for_another_rule_suppresses_nothing_and_is_reported(project):
    root = make(project, above_sink=f"// apexscan:ignore APX-LLM-003 {REASON}")
    findings = scan_suppressed(root)
    (leak,) = by_rule(findings, "APX-LLM-001")
    assert leak.suppression == ""
    (problem,) = by_rule(findings, RULE_ID)
    assert "matches no APX-LLM-003 finding" in problem.message


# --- comments that are themselves reported -------------------------------------------------------


def test_suppression_without_a_reason_is_reported_and_suppresses_nothing(project):
    root = make(project, above_sink="// apexscan:ignore APX-LLM-001")
    findings = scan_suppressed(root)
    (leak,) = by_rule(findings, "APX-LLM-001")
    assert leak.suppression == ""
    (problem,) = by_rule(findings, RULE_ID)
    rel = f"{CLASSES}/LlmClient.cls"
    assert (problem.location.path, problem.location.line) == (rel, line_of(root, rel, "apexscan:ignore"))
    assert "gives no reason" in problem.message and "matches no" not in problem.message
    assert CATALOG[RULE_ID].level == "warning"
    r = invoke("scan", str(root))
    assert r.exit_code == 1  # the leak is still an error
    assert f"warning[{RULE_ID}]" in r.stdout


@pytest.mark.parametrize("comment", ["// apexscan:ignore APX-LLM-001 <reason>",
                                     "// apexscan:ignore APX-LLM-001 <why this transfer is acceptable>"])
def test_a_reason_left_as_the_quick_fix_s_placeholder_gives_no_reason(project, comment):
    root = make(project, above_sink=comment)
    findings = scan_suppressed(root)
    (leak,) = by_rule(findings, "APX-LLM-001")
    assert leak.suppression == ""
    (problem,) = by_rule(findings, RULE_ID)
    assert "gives no reason" in problem.message


def test_unused_suppression_is_reported(project):
    root = make(project, above_sink=f"// apexscan:ignore APX-LLM-001 {REASON}",
                above_source="// apexscan:ignore APX-LLM-006 the endpoint was hard-coded here once")
    findings = scan_suppressed(root)
    (problem,) = by_rule(findings, RULE_ID)
    rel = f"{CLASSES}/CaseSummaryService.cls"
    assert (problem.location.path, problem.location.line) == (rel, line_of(root, rel, "APX-LLM-006"))
    assert "matches no APX-LLM-006 finding" in problem.message
    assert invoke("scan", str(root)).exit_code == 0  # a warning: fails only with --fail-on warning
    assert invoke("scan", str(root), "--fail-on", "warning").exit_code == 1


@pytest.mark.parametrize(("comment", "complaint"), [
    ("// apexscan:ignore because the DPO said so", "names no rule"),
    ("// apexscan:ignore APX-LLM-100 a typo in the id", "APX-LLM-100, which is not an apexscan rule"),
    (f"// apexscan:ignore {RULE_ID} hush", f"{RULE_ID}, which cannot be suppressed"),
])
def test_malformed_suppressions_are_reported(project, comment, complaint):
    root = make(project, above_sink=comment)
    findings = scan_suppressed(root)
    (problem,) = by_rule(findings, RULE_ID)
    assert complaint in problem.message
    assert by_rule(findings, "APX-LLM-001")[0].suppression == ""


def test_fingerprint_of_a_reported_comment_survives_edits_above_it(project):
    root = make(project, above_source="// apexscan:ignore APX-LLM-006 stale")
    (before,) = by_rule(scan_suppressed(root), RULE_ID)
    service = root / CLASSES / "CaseSummaryService.cls"
    service.write_text("// Complaints desk.\n\n" + service.read_text("utf-8"), encoding="utf-8")
    (after,) = by_rule(scan_suppressed(root), RULE_ID)
    assert after.location.line == before.location.line + 2
    assert finding_fingerprint(after) == finding_fingerprint(before)


# --- XML metadata ---------------------------------------------------------------------------------


def test_xml_comment_suppresses_a_remote_site_to_openai(project):
    note = "<!-- apexscan:ignore APX-CFG-001 used only by the sandbox smoke test; inactive in production -->"
    root = project({"remoteSiteSettings/OpenAI.remoteSite-meta.xml": fill(OPENAI_REMOTE_SITE, on_url=note)})
    findings = scan_suppressed(root)
    (site,) = by_rule(findings, "APX-CFG-001")
    assert site.suppression == "used only by the sandbox smoke test; inactive in production"
    assert not by_rule(findings, RULE_ID)
    assert invoke("scan", str(root), "--fail-on", "warning").exit_code == 0


def test_xml_comment_above_the_url_suppresses_a_named_credential(project):
    root = make(project, above_url="<!-- apexscan:ignore APX-CFG-002 OpenAI Ireland project with EU data residency (contract 2024-17) -->",
                above_sink=f"// apexscan:ignore APX-LLM-001 {REASON}")
    findings = scan_suppressed(root)
    (credential,) = by_rule(findings, "APX-CFG-002")
    assert credential.suppression.startswith("OpenAI Ireland project")
    r = invoke("scan", str(root), "--fail-on", "warning")
    assert r.exit_code == 0, r.stdout
    assert r.stdout.splitlines()[-1] == "apexscan: 0 findings: 0 error, 0 warning, 0 note; 2 suppressed"
    shown = invoke("scan", str(root), "--show-suppressed").stdout
    assert "error[APX-LLM-001] [suppressed: Description is redacted" in shown
    assert "warning[APX-CFG-002] [suppressed: OpenAI Ireland project" in shown


def test_slash_comment_in_xml_is_not_a_suppression(project):
    root = project({"remoteSiteSettings/OpenAI.remoteSite-meta.xml":
                    fill(OPENAI_REMOTE_SITE).replace("Case summaries", "Case summaries // apexscan:ignore APX-CFG-001 no")})
    assert by_rule(scan_suppressed(root), "APX-CFG-001")[0].suppression == ""


# --- reading comments -----------------------------------------------------------------------------


def test_comment_syntax_and_the_lines_each_comment_covers():
    apex = textwrap.dedent("""\
        public class A {
            // apexscan:ignore APX-LLM-001, apx-llm-004 - both reviewed in RISK-9
            // apexscan:ignore APX-LLM-006 endpoint kept for the sandbox
            Http.send(req); // apexscan:ignore APX-LLM-003 gateway
            /*
             * apexscan:ignore APX-LLM-002 not a suppression: the opener is on another line
             */
            /** apexscan:ignore APX-LLM-005 the summary
             *  continues on a second line */
            call();
            // apexscan:ignored APX-LLM-001 a different word
            // see apexscan:ignore APX-LLM-001 mentioned in prose
        }
        """)
    found = read_suppressions("force-app/main/default/classes/A.cls", apex)
    assert [(s.location.line, s.rule_ids, s.reason, s.lines) for s in found] == [
        (2, ("APX-LLM-001", "APX-LLM-004"), "both reviewed in RISK-9", (2, 4)),
        (3, ("APX-LLM-006",), "endpoint kept for the sandbox", (3, 4)),
        (4, ("APX-LLM-003",), "gateway", (4,)),
        (8, ("APX-LLM-005",), "the summary continues on a second line", (8, 9, 10)),
    ]
    assert found[0].location.col == 5


def test_markup_files_use_html_comments_only():
    html = '<template>\n    <!-- apexscan:ignore APX-LLM-001 public FAQ text only -->\n    <p>{summary}</p>\n</template>\n'
    (s,) = read_suppressions("force-app/main/default/lwc/faq/faq.html", html)
    assert (s.rule_ids, s.reason, s.lines) == (("APX-LLM-001",), "public FAQ text only", (2, 3))
    assert read_suppressions("x/OpenAI.remoteSite-meta.xml", "<a>// apexscan:ignore APX-CFG-001 x</a>") == ()
    js = "// apexscan:ignore APX-LLM-001 synthetic data\nfetch(url, { body });\n"
    assert read_suppressions("force-app/main/default/lwc/a/a.js", js)[0].lines == (1, 2)


def test_files_without_the_marker_are_not_parsed(tmp_path):
    (tmp_path / "A.cls").write_text("public class A {} // apexscan:ignore APX-LLM-001 ok\n", encoding="utf-8")
    (tmp_path / "B.cls").write_text("public class B {}\n", encoding="utf-8")
    found = collect(tmp_path, ["A.cls", "B.cls", "Missing.cls", "/etc/apexscan.toml"])
    assert [s.location.path for s in found] == ["A.cls"]


# --- reports ---------------------------------------------------------------------------------------


def test_sarif_with_suppressions_validates_and_keeps_the_suppressed_results(project, tmp_path):
    root = make(project, above_sink=f"// apexscan:ignore APX-LLM-001 {REASON}",
                above_source="// apexscan:ignore APX-LLM-006")
    out = tmp_path / "out" / "apexscan.sarif"
    assert invoke("scan", str(root), "--format", "sarif", "-o", str(out)).exit_code == 0
    doc = json.loads(out.read_text("utf-8"))
    errors = list(schema_validator().iter_errors(doc))
    assert not errors, [e.message for e in errors[:5]]
    results = doc["runs"][0]["results"]
    (leak,) = [r for r in results if r["ruleId"] == "APX-LLM-001"]
    rel = f"{CLASSES}/LlmClient.cls"
    assert leak["suppressions"] == [{
        "kind": "inSource", "justification": REASON,
        "location": {"physicalLocation": {
            "artifactLocation": {"uri": rel, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": line_of(root, rel, "apexscan:ignore"), "startColumn": 9}}}}]
    assert "extra" not in leak["properties"] or "suppressed_at" not in leak["properties"]["extra"]
    (problem,) = [r for r in results if r["ruleId"] == RULE_ID]
    assert "suppressions" not in problem and "gives no reason" in problem["message"]["text"]
    assert problem["partialFingerprints"]["primaryLocationLineHash"]
    assert RULE_ID in [rule["id"] for rule in doc["runs"][0]["tool"]["driver"]["rules"]]
    assert all("baselineState" not in r for r in results)


def test_json_report_carries_the_justification(project):
    root = make(project, on_source=f"// apexscan:ignore APX-LLM-001 {REASON}")
    doc = json.loads(invoke("scan", str(root), "--format", "json").stdout)
    (leak,) = [f for f in doc["findings"] if f["rule"] == "APX-LLM-001"]
    assert leak["suppression"]["justification"] == REASON
    assert leak["suppression"]["location"]["path"] == f"{CLASSES}/CaseSummaryService.cls"
    assert "suppressed_at" not in leak["extra"] and leak["baseline_state"] == ""
    assert doc["summary"]["suppressed"] == 1 and doc["summary"]["error"] == 0
    assert doc["summary"]["findings"] == len(doc["findings"])


# --- baselines -------------------------------------------------------------------------------------

WELCOME_LETTER = """
public with sharing class WelcomeLetterService {
    public static String draft(Id contactId) {
        Contact c = [SELECT FirstName, Email FROM Contact WHERE Id = :contactId];
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/responses');
        req.setMethod('POST');
        req.setBody(JSON.serialize(new Map<String, Object>{
            'model' => 'gpt-4o-mini', 'input' => 'Welcome letter for ' + c.FirstName + ' <' + c.Email + '>'
        }));
        return new Http().send(req).getBody();
    }
}
"""


def test_baseline_round_trip_only_new_leaks_fail_the_run(project, tmp_path):
    root = make(project)
    baseline = tmp_path / "baseline.sarif"
    assert invoke("scan", str(root), "--format", "sarif", "-o", str(baseline)).exit_code == 1

    # Unchanged code, shifted by edits elsewhere in the file: still the baseline's finding.
    service = root / CLASSES / "CaseSummaryService.cls"
    service.write_text("// Summaries for the complaints desk.\n\n" + service.read_text("utf-8"), encoding="utf-8")
    assert invoke("scan", str(root), "--baseline", str(baseline)).exit_code == 0

    write_project(root, {"classes/WelcomeLetterService.cls": WELCOME_LETTER})
    out = tmp_path / "now.sarif"
    r = invoke("scan", str(root), "--format", "sarif", "-o", str(out), "--baseline", str(baseline))
    assert r.exit_code == 1
    doc = json.loads(out.read_text("utf-8"))
    assert not list(schema_validator().iter_errors(doc))
    states = {(x["ruleId"], x["properties"]["fields"][0]["field"] if x["properties"]["fields"] else ""):
              x["baselineState"] for x in doc["runs"][0]["results"]}
    assert states[("APX-LLM-001", "Case.Description")] == UNCHANGED
    assert states[("APX-CFG-002", "")] == UNCHANGED
    new = [key for key, state in states.items() if state == NEW]
    assert new == [("APX-LLM-001", "Contact.Email")]
    assert all(x["baselineState"] in (NEW, UNCHANGED) for x in doc["runs"][0]["results"])

    text = invoke("scan", str(root), "--baseline", str(baseline)).stdout
    # only the new finding is listed; the unchanged ones are counted
    headers = [line for line in text.splitlines() if line and not line.startswith(("    ", "apexscan: "))]
    assert len(headers) == 1 and "error[APX-LLM-001]" in headers[0] and "Contact.Email" in headers[0]
    assert "[unchanged]" not in text
    assert text.splitlines()[-1].endswith("; baseline: 1 new, 2 unchanged, 0 absent")


def test_fixed_leak_is_absent_and_a_suppressed_new_leak_does_not_fail(project, tmp_path):
    root = make(project)
    baseline = tmp_path / "baseline.sarif"
    invoke("scan", str(root), "--format", "sarif", "-o", str(baseline))
    make(project, above_sink=f"// apexscan:ignore APX-LLM-001 {REASON}")  # now suppressed
    write_project(root, {"classes/CaseSummaryService.cls": fill(CASE_SERVICE).replace("c.Description", "c.Subject")})
    r = invoke("scan", str(root), "--baseline", str(baseline), "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["summary"]["baseline"] == {"new": 1, "unchanged": 1, "absent": 1}
    (leak,) = [f for f in doc["findings"] if f["rule"].startswith("APX-LLM")]
    assert leak["baseline_state"] == NEW and leak["suppression"]["justification"] == REASON
    assert r.exit_code == 0  # new, but suppressed


def test_baseline_counts_findings_that_share_a_fingerprint(project):
    (leak,) = by_rule(scan_suppressed(make(project)), "APX-LLM-001")
    # The same leak twice in one file (no enclosing context recorded): one fingerprint, two findings.
    twin = dataclasses.replace(leak, location=dataclasses.replace(leak.location, line=leak.location.line + 40))
    assert finding_fingerprint(twin) == finding_fingerprint(leak)

    def baseline_with(copies: int):
        results = [{"partialFingerprints": {"apexscan/v1": finding_fingerprint(leak)}}] * copies
        doc = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "apexscan"}}, "results": results}]}
        return parse_baseline(json.dumps(doc))

    one = compare([twin, leak], baseline_with(1))
    assert (one.state(leak), one.state(twin), one.absent) == (UNCHANGED, NEW, 0)  # first in report order
    three = compare([leak, twin], baseline_with(3))
    assert (three.state(leak), three.state(twin), three.absent) == (UNCHANGED, UNCHANGED, 1)


@pytest.mark.parametrize(("content", "complaint"), [
    (None, "baseline file not found"),
    ("not json", "invalid JSON at line 1"),
    ('{"version": "2.1.0"}', 'no "runs" list'),
    ('{"version": "2.0.0", "runs": []}', "SARIF version '2.0.0'"),
    ('{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semgrep"}}, "results": []}]}',
     "no apexscan run"),
    ('{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "apexscan"}}, "results": [{"ruleId": "X"}]}]}',
     'has no "apexscan/v1" partial fingerprint'),
])
def test_missing_or_invalid_baseline_is_a_usage_error(project, tmp_path, content, complaint):
    root = make(project)
    baseline = tmp_path / "old.sarif"
    if content is not None:
        baseline.write_text(content, encoding="utf-8")
    r = invoke("scan", str(root), "--baseline", str(baseline))
    assert r.exit_code == 2
    assert complaint in r.stderr and str(baseline) in r.stderr
    if content is not None:
        with pytest.raises(BaselineError, match="not a usable baseline"):
            parse_baseline(content)


def test_reports_without_suppressions_or_baseline_keep_their_shape(project):
    findings = scan_suppressed(make(project))
    text = render_text(findings, CATALOG, [])
    assert "suppressed" not in text.splitlines()[-1] and "baseline" not in text.splitlines()[-1]
    doc = json.loads(render_json(findings, CATALOG, []))
    assert all(f["suppression"] == {} and f["baseline_state"] == "" for f in doc["findings"])


# --- docs ------------------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_documented_workflow_is_the_sample_workflow():
    sample = (DOCS.parent / "samples/github-workflow/apexscan.yml").read_text("utf-8")
    doc = (DOCS / "github-code-scanning.md").read_text("utf-8")
    shown = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    body = sample[sample.index("name: apexscan"):]
    assert shown == body
    for needed in ("actions/checkout@", "actions/cache@", "path: ~/.cache/apexscan", "your-org/apexscan@",
                   "category: apexscan", "security-events: write"):
        assert needed in body


def test_vscode_problem_matcher_matches_every_finding_line_and_nothing_else(project):
    tasks = json.loads((DOCS / "vscode.md").read_text("utf-8").split("```json\n", 1)[1].split("```", 1)[0])
    pattern = tasks["tasks"][0]["problemMatcher"]["pattern"]
    regexp = re.compile(pattern["regexp"])
    root = make(project, above_source="// apexscan:ignore APX-LLM-006 stale")
    lines = invoke("scan", str(root)).stdout.splitlines()
    matched = [regexp.match(line) for line in lines]
    problems = [(m.group(pattern["file"]), m.group(pattern["code"]), m.group(pattern["severity"]))
                for m in matched if m]
    assert sorted(problems) == sorted([
        (f"{CLASSES}/CaseSummaryService.cls", RULE_ID, "warning"),
        (f"{CLASSES}/LlmClient.cls", "APX-LLM-001", "error"),
        ("force-app/main/default/namedCredentials/OpenAI.namedCredential-meta.xml", "APX-CFG-002", "warning"),
    ])
    assert all(not m for line, m in zip(lines, matched) if line.startswith("    "))
