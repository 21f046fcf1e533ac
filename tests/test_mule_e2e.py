"""End to end on samples/mule-estate (a repository of Mule 4 apps), alone and next to the fintech org.

Each line where apexscan must report carries `<!-- expect: RULE-ID -->`; safe look-alikes carry
`<!-- ok: why -->`. The exact-match test compares the markers with the findings of a scan that uses
the sample's own apexscan.toml. The monorepo test puts the fintech org and the Mule apps in one tree
(as banks keep them), with an outbound message and a Connected App of the org tied to two apps.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import assert_exact, expected, found

from apexscan.interfaces.report.inventory import render_inventory_html, render_inventory_json
from apexscan.pipeline.inventory import build_inventory
from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import ScanResult, scan
from apexscan.salesforce.policy import load_policy
from apexscan.salesforce.rules import load_catalog

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE = SAMPLES / "mule-estate"
CLIENT_ID = "3MVG9rFJvQRVOvk5nd6A4swCyck.4BFLnjFuASqNZmmxzpQSFWSTe6lWQxtF3L5soyVLfjV3yBKkjcePAsPzi"


def run(root: Path, inventory: bool = False) -> ScanResult:
    project = discover([root])
    return scan(project, load_policy(None, project.root), strict=True, inventory=inventory)


def inventory(root: Path, result: ScanResult) -> dict:
    levels = {r.id: r.level for r in load_catalog()}
    return build_inventory(result.sinks, result.findings, result.metadata, load_policy(None, root), levels,
                           project=root.name, generator="apexscan test", units=result.units)


@pytest.fixture(scope="module")
def result() -> ScanResult:
    return run(SAMPLE, inventory=True)


def test_sample_has_markers_for_every_rule_mule_apps_can_break() -> None:
    rules = {rule for _, _, rule in expected(SAMPLE)}
    assert {"APX-LLM-001", "APX-LLM-002", "APX-LLM-003", "APX-LLM-004", "APX-LLM-005", "APX-MULE-001",
            "APX-MULE-002"} <= rules


def test_sample_scans_without_diagnostics(result: ScanResult) -> None:
    kinds = {f.kind for f in discover([SAMPLE]).files}
    assert kinds == {"mule", "mule-config", "mule-project", "dataweave"}
    assert not result.diagnostics, result.diagnostics


def test_findings_match_markers_exactly(result: ScanResult) -> None:
    assert_exact(SAMPLE, result)


def test_every_finding_has_a_path_from_the_salesforce_read_to_the_sink(result: ScanResult) -> None:
    for f in result.findings:
        assert f.paths, f
        for path in f.paths:
            assert all(step.message for step in path)
            if f.rule_id.startswith("APX-LLM"):
                assert path[-1].location == f.location
                assert " read by " in path[0].message, path[0]


def test_inventory_lists_each_app_with_what_it_reads_and_where_it_connects(result: ScanResult) -> None:
    doc = inventory(SAMPLE, result)
    apps = {c["name"]: c for c in doc["channels"] if c["kind"] == "mule-app"}
    assert set(apps) == {"advisor-agent", "case-summarizer", "crm-mcp-server", "kyc-event-relay", "loan-intake",
                         "wealth-advisor"}
    case = apps["case-summarizer"]
    assert {f["field"] for f in case["data"]["fields"]} >= {"Case.Description", "Contact.Email"}
    assert case["details"]["deployment_region"] == "us-east-2" and case["details"]["processing_region"] == "US"
    assert [f["rule"] for f in case["findings"]] == ["APX-MULE-002"]
    assert all(u.startswith("mule-ai-connector:") for u in case["used_by"]) and len(case["used_by"]) == 4
    wealth = apps["wealth-advisor"]
    assert "ms-inference:text-generation-config Pilot_OpenAI (openai-connection): api.openai.com (unused)" in \
        wealth["details"]["connections"]
    assert {d["host"] for d in wealth["destinations"]} >= {"api.anthropic.com", "llm-gateway.northbank.eu"}
    assert apps["kyc-event-relay"]["details"]["org_channels"] == ["streaming channel /event/KYC_Review__e",
                                                                  "streaming channel /data/ContactChangeEvent"]
    assert apps["crm-mcp-server"]["details"]["receives"] == ["MCP tool get_client_profile"]
    kinds = {c["kind"] for c in doc["channels"]}
    assert {"mule-http-request", "mule-ai-connector", "mule-app"} <= kinds


# --- the fintech org and the Mule apps in one repository ---------------------------------------------------

OUTBOUND = """<?xml version="1.0" encoding="UTF-8"?>
<Workflow xmlns="http://soap.sforce.com/2006/04/metadata">
    <outboundMessages>
        <fullName>Loan_Review_To_Intake</fullName>
        <apiVersion>62.0</apiVersion>
        <description>New loan reviews go to the loan-intake Mule app.</description>
        <endpointUrl>https://nb-loan-intake.de-c1.cloudhub.io/sfdc/loan-review</endpointUrl> <!-- expect: APX-CFG-007 -->
        <fields>IBAN__c</fields>
        <fields>Industry</fields>
        <fields>Name</fields>
        <includeSessionId>false</includeSessionId>
        <integrationUser>integration@northbank.example</integrationUser>
        <name>Loan review to intake</name>
        <protected>false</protected>
        <useDeadLetterQueue>false</useDeadLetterQueue>
    </outboundMessages>
</Workflow>
"""


@pytest.fixture(scope="module")
def monorepo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("monorepo") / "northbank"
    shutil.copytree(SAMPLES / "fintech-org", root)
    shutil.copytree(SAMPLE / "apps", root / "integration" / "mule")
    (root / "force-app/main/default/workflows/Account.workflow-meta.xml").write_text(OUTBOUND, "utf-8")
    app = root / "force-app/main/default/connectedApps/Advisor_Mobile.connectedApp-meta.xml"
    text = app.read_text("utf-8").replace("</oauthConfig>", f"    <consumerKey>{CLIENT_ID}</consumerKey>\n    </oauthConfig>")
    app.write_text(text, "utf-8")
    return root


def test_an_sfdx_project_and_its_mule_apps_give_one_report(monorepo: Path) -> None:
    result = run(monorepo)
    assert_exact(monorepo, result)  # the markers of both samples, and of the org's new outbound message
    apex = {(p, line, r) for p, line, r in found(result) if p.startswith("force-app/")}
    mule = {(p, line, r) for p, line, r in found(result) if p.startswith("integration/")}
    assert apex and mule


def test_the_orgs_outbound_message_names_the_fields_the_mule_app_receives(monorepo: Path) -> None:
    result = run(monorepo)
    (finding,) = [f for f in result.findings if f.location.path.endswith("loan-intake.xml")]
    assert {str(ref) for ref, _ in finding.fields} == {"Account.IBAN__c", "Account.Industry", "Account.Name"}
    assert finding.paths[0][0].location.path == "force-app/main/default/workflows/Account.workflow-meta.xml"


def test_one_inventory_ties_the_apps_to_the_org_without_printing_the_client_id(monorepo: Path) -> None:
    result = run(monorepo, inventory=True)
    doc = inventory(monorepo, result)
    apps = {c["name"]: c for c in doc["channels"] if c["kind"] == "mule-app"}
    assert "Connected App Advisor_Mobile: its consumer key is the clientId of salesforce:sfdc-config " \
           "Salesforce_Config (oauth-client-credentials)" in apps["case-summarizer"]["details"]["org_channels"]
    assert any("outbound message Account.Loan_Review_To_Intake" in t
               for t in apps["loan-intake"]["details"]["org_channels"])
    assert any(c["kind"] == "apex-callout" for c in doc["channels"])  # the org's channels are in it too
    for text in (render_inventory_json(doc), render_inventory_html(doc), json.dumps([f.message for f in result.findings])):
        assert CLIENT_ID not in text and "3MVG9rFJ" not in text


def test_reports_are_byte_identical_across_hash_seeds(tmp_path) -> None:
    repo = SAMPLES.parent
    outputs = []
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1743422400",
               "PYTHONPATH": os.pathsep.join([str(repo)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
        reports = []
        for command in (["scan", "--format", "sarif"], ["inventory", "--format", "json"]):
            out = tmp_path / f"{seed}-{command[0]}"
            done = subprocess.run([sys.executable, "-m", "apexscan", *command, str(SAMPLE), "-o", str(out), "--no-cache"],
                                  capture_output=True, text=True, env=env, cwd=repo, timeout=300)
            assert done.returncode in (0, 1), done.stderr
            reports.append(out.read_bytes())
        outputs.append(reports)
    assert outputs[0] == outputs[1] and all(outputs[0])
