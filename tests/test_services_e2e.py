"""End to end on samples/services-estate: a repository of services only (Python, Node.js, Heroku
configuration), every finding marked in the sample and every marker found.

Markers are `# expect: RULE-ID` in Python and `// expect: RULE-ID` in TypeScript. The Heroku
Connect export is JSON, which has no comments: its findings are listed here, by the object mapping
they are reported on.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import expected, found

from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import ScanResult, scan
from apexscan.salesforce.policy import load_policy

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "services-estate"
EXPORT = "services/advisor-copilot/heroku-connect-export.json"
# (object mapping of the export, rules reported on it)
EXPORT_FINDINGS = {"Contact": ("APX-HRK-001", "APX-HRK-002"), "Account": ("APX-HRK-001", "APX-HRK-002")}


@pytest.fixture(scope="module")
def result() -> ScanResult:
    project = discover([SAMPLE])
    return scan(project, load_policy(None, project.root), strict=True)


def export_expected() -> set[tuple[str, int, str]]:
    lines = (SAMPLE / EXPORT).read_text("utf-8").splitlines()
    out = set()
    for obj, rules in EXPORT_FINDINGS.items():
        line = next(i for i, text in enumerate(lines, 1) if f'"object_name": "{obj}"' in text)
        out |= {(EXPORT, line, rule) for rule in rules}
    return out


def test_the_sample_is_a_repository_of_services_only():
    project = discover([SAMPLE])
    kinds = {f.kind for f in project.files}
    assert kinds <= {"python", "node", "env-file", "app-json", "json", "terraform"}
    assert {"python", "node", "app-json", "json", "terraform", "env-file"} <= kinds
    rels = {f.rel for f in project.files}
    assert not any("/tests/" in r or r.endswith(".test.ts") for r in rels)  # tests are never analysed
    assert not any(r.endswith("package.json") for r in rels)


def test_sample_has_markers_for_the_service_rules():
    rules = {rule for _, _, rule in expected(SAMPLE)}
    assert {"APX-LLM-001", "APX-LLM-002", "APX-LLM-004", "APX-LLM-006"} <= rules
    assert any(path.endswith(".ts") for path, _, _ in expected(SAMPLE))


def test_sample_parses_without_diagnostics(result: ScanResult):
    assert not result.diagnostics, "\n".join(f"{d.path}:{d.line}: {d.stage}: {d.message}" for d in result.diagnostics)


def test_findings_match_markers_exactly(result: ScanResult):
    want, got = expected(SAMPLE) | export_expected(), found(result)
    missing, extra = sorted(want - got), sorted(got - want)
    assert not missing and not extra, "\n".join(
        [f"missing: {m}" for m in missing] + [f"unexpected: {e}" for e in extra])


def test_every_finding_has_a_path_from_the_read_to_the_sdk_call(result: ScanResult):
    for f in result.findings:
        assert f.paths, f
        for path in f.paths:
            assert all(step.message for step in path)
            if f.rule_id in ("APX-LLM-001", "APX-LLM-002", "APX-LLM-004"):
                assert " read by " in path[0].message, path[0]
                assert path[-1].location == f.location and path[-1].message.startswith("sent by ")


def test_the_shared_helper_reports_each_callers_data_with_that_callers_endpoint(result: ScanResult):
    (helper,) = [f for f in result.findings if f.location.path.endswith("app/llm.py") and f.location.line == 14]
    assert helper.rule_id == "APX-LLM-004" and helper.destination.host == "api.openai.com"
    assert [str(ref) for ref, _ in helper.fields] == ["Campaign.Name"]  # not the briefing's Contact fields


def test_the_heroku_worker_reads_salesforce_fields_from_the_connect_tables(result: ScanResult):
    notes = [f for f in result.findings if f.location.path.endswith("worker/jobs.py")]
    assert {f.destination.host for f in notes} == {"bedrock-runtime.us-east-1.amazonaws.com",
                                                    "bedrock-runtime.eu-central-1.amazonaws.com"}
    for f in notes:
        assert {str(ref) for ref, _ in f.fields} == {"Account.AnnualRevenue", "Account.Name", "Contact.Birthdate"}
        assert f.destination.region == "US"  # the us. inference profile, whichever region the client is in
        assert any("Heroku Connect table salesforce.account" in path[0].message for path in f.paths)


def test_two_scans_give_the_same_report(result: ScanResult):
    project = discover([SAMPLE])
    again = scan(project, load_policy(None, project.root), strict=True)
    assert again.findings == result.findings
