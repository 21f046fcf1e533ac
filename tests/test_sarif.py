"""SARIF, text and JSON reports of hand-built findings on a small, realistic SFDX project."""
from __future__ import annotations

import dataclasses
import json
import os
import random
from pathlib import Path

import jsonschema
import pytest

from apexscan.engine.model import (
    Destination,
    Diagnostic,
    FieldClass,
    FieldRef,
    Finding,
    Location,
    Sensitivity,
    Step,
    Verdict,
    sorted_findings,
)
from apexscan.interfaces.report import sarif as sarif_module
from apexscan.interfaces.report.json_report import render_json
from apexscan.interfaces.report.sarif import dumps_sarif, render_sarif
from apexscan.interfaces.report.text import render_diagnostics, render_text
from apexscan.pipeline.fingerprints import finding_fingerprint, line_hash
from apexscan.salesforce.rules import Catalog, load_catalog

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "shared/schemas/sarif-schema-2.1.0.json"

TRIGGER = "force-app/main/default/triggers/CaseTrigger.trigger"
HANDLER = "force-app/main/default/classes/CaseTriggerHandler.cls"
SERVICE = "force-app/main/default/classes/CaseSummaryService.cls"
INSIGHT = "force-app/main/default/classes/AccountInsightService.cls"
CLIENT = "force-app/main/default/classes/LlmClient.cls"

FILES = {
    TRIGGER: """trigger CaseTrigger on Case (after insert) {
    CaseTriggerHandler.afterInsert(Trigger.new);
}
""",
    HANDLER: """public with sharing class CaseTriggerHandler {
    public static void afterInsert(List<Case> cases) {
        for (Case c : cases) {
            CaseSummaryService.summarize(c.ContactId, c.Description);
        }
    }
}
""",
    SERVICE: """public with sharing class CaseSummaryService {
    @future(callout=true)
    public static void summarize(Id contactId, String description) {
        Contact who = [SELECT Email FROM Contact WHERE Id = :contactId];
        String prompt = 'Summarize for ' + who.Email + ': ' + description;
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody(JSON.serialize(new Map<String, Object>{ 'input' => prompt }));
        HttpResponse res = new Http().send(req);
    }
}
""",
    INSIGHT: """public with sharing class AccountInsightService {
    public static String explain(Id accountId) {
        Account acc = [SELECT Name, AnnualRevenue FROM Account WHERE Id = :accountId];
        HttpRequest req = new HttpRequest();
        req.setEndpoint(LLM_Settings__c.getOrgDefaults().Endpoint__c);
        req.setBody(JSON.serialize(new Map<String, Object>{ 'messages' => JSON.serialize(acc) }));
        return new Http().send(req).getBody();
    }
}
""",
    CLIENT: """public with sharing class LlmClient {
    private static final String ENDPOINT = 'https://api.openai.com/v1/chat/completions';
    public static HttpResponse post(String body) {
        HttpRequest req = new HttpRequest();
        req.setEndpoint(ENDPOINT);
        req.setBody(body);
        return new Http().send(req);
    }
}
""",
}


def at(path: str, needle: str, files: dict[str, str] = FILES) -> Location:
    """The location of the first occurrence of `needle` in a fixture file."""
    for number, text in enumerate(files[path].splitlines(), start=1):
        col = text.find(needle)
        if col >= 0:
            return Location(path, number, col + 1, number, col + 1 + len(needle))
    raise AssertionError(f"{needle!r} not in {path}")


OPENAI = Destination(url="https://api.openai.com/v1/chat/completions", host="api.openai.com",
                     provider="OpenAI", jurisdiction="US", region="global", verdict=Verdict.FOREIGN,
                     how="named credential OpenAI", note="global endpoint")
UNKNOWN = Destination(url="", host="", provider="", jurisdiction="", region="", verdict=Verdict.UNKNOWN,
                      how="unresolved: custom setting LLM_Settings__c.Endpoint__c",
                      evidence=('body key "messages"',))
PERSONAL = FieldClass(Sensitivity.SENSITIVE, "personal", "catalog")
FREE_TEXT = FieldClass(Sensitivity.SENSITIVE, "free-text", "catalog")
FINANCIAL = FieldClass(Sensitivity.SENSITIVE, "financial", "catalog")


def sample_findings() -> list[Finding]:
    sink = at(SERVICE, "new Http().send(req)")
    send = Step(sink, "sent by Http.send to api.openai.com (OpenAI, seat US, region global)")
    description_path = (
        Step(at(TRIGGER, "Trigger.new"), "Case.Description read from Trigger.new"),
        Step(at(HANDLER, "c.Description"), "passed to CaseSummaryService.summarize"),
        Step(at(SERVICE, "String description"), "parameter description"),
        Step(at(SERVICE, "'Summarize for '"), "concatenated into prompt"),
        Step(at(SERVICE, "JSON.serialize"), "serialized into the request body"),
        send,
    )
    email_path = (
        Step(at(SERVICE, "SELECT Email"), "Contact.Email read by SOQL"),
        Step(at(SERVICE, "'Summarize for '"), "concatenated into prompt"),
        Step(at(SERVICE, "JSON.serialize"), "serialized into the request body"),
        send,
    )
    foreign = Finding(
        rule_id="APX-LLM-001", location=sink,
        message=("Sensitive data reaches a non-sovereign LLM: Contact.Email (personal), Case.Description "
                 "(free-text) sent to api.openai.com (OpenAI, seat US, region global) by Http.send."),
        destination=OPENAI,
        fields=((FieldRef("Contact", "Email"), PERSONAL), (FieldRef("Case", "Description"), FREE_TEXT)),
        paths=(email_path, description_path), confidence="high",
        extra=(("context", "CaseSummaryService.summarize"),))

    insight_sink = at(INSIGHT, "new Http().send(req)")
    record_path = (
        Step(at(INSIGHT, "SELECT Name, AnnualRevenue"), "Account record read by SOQL"),
        Step(at(INSIGHT, "JSON.serialize(acc)"), "whole record serialized"),
        Step(insight_sink, "sent by Http.send to an endpoint from a custom setting"),
    )
    unknown = Finding(
        rule_id="APX-LLM-003", location=insight_sink,
        message=("Sensitive data reaches an LLM endpoint whose jurisdiction cannot be determined: "
                 "Account.AnnualRevenue (financial) sent by Http.send. LLM evidence: body key \"messages\"."),
        destination=UNKNOWN, fields=((FieldRef("Account", "AnnualRevenue"), FINANCIAL),),
        paths=(record_path,), confidence="medium", level="error")
    whole = Finding(
        rule_id="APX-LLM-002", location=insight_sink,
        message="A whole Account record is serialized into an LLM request to an endpoint that cannot be determined.",
        destination=UNKNOWN, fields=((FieldRef("Account", "AnnualRevenue"), FINANCIAL),),
        paths=(record_path,), confidence="medium")

    endpoint = at(CLIENT, "'https://api.openai.com/v1/chat/completions'")
    hardcoded = Finding(
        rule_id="APX-LLM-006", location=endpoint,
        message=("LLM endpoint https://api.openai.com/v1/chat/completions (OpenAI) is hard-coded (constant) "
                 "instead of a Named Credential: admins cannot see or change where data goes."),
        destination=dataclasses.replace(OPENAI, how="constant LlmClient.ENDPOINT"),
        paths=((Step(endpoint, "endpoint set here: ENDPOINT"),),))
    return [hardcoded, whole, foreign, unknown]


DIAGNOSTICS = [
    Diagnostic("force-app/main/default/classes/Broken.cls", "parse", "syntax error near '}'", 7),
    Diagnostic("force-app/main/default/namedCredentials/Gateway.namedCredential-meta.xml", "metadata",
               "named credential Gateway has no <url>"),
    Diagnostic("", "internal", "rule crashed: KeyError 'x'"),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def render(catalog: Catalog, findings=None, diagnostics=DIAGNOSTICS, files=FILES,
           root: Path | None = Path("/work/project")) -> dict:
    return render_sarif(sample_findings() if findings is None else findings, catalog, diagnostics,
                        tool_version="0.1.0", source_root=root, file_texts=files)


def run_of(doc: dict) -> dict:
    assert len(doc["runs"]) == 1
    return doc["runs"][0]


# --- schema --------------------------------------------------------------------------------------


def sarif_validator() -> jsonschema.Draft4Validator:
    if not SCHEMA_PATH.is_file():
        message = f"SARIF schema not found at {SCHEMA_PATH}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def assert_valid(doc: dict) -> None:
    errors = sorted(sarif_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_sarif_validates_against_the_official_schema(catalog: Catalog) -> None:
    doc = render(catalog)
    assert_valid(doc)
    assert_valid(json.loads(dumps_sarif(doc)))


def test_empty_scan_validates_and_still_lists_every_rule(catalog: Catalog) -> None:
    doc = render(catalog, findings=[], diagnostics=[], root=None)
    assert_valid(doc)
    run = run_of(doc)
    assert run["results"] == []
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == list(catalog.ids)
    assert "originalUriBaseIds" not in run


# --- tool, rules, taxonomy -----------------------------------------------------------------------


def test_driver_lists_every_rule_with_github_metadata(catalog: Catalog) -> None:
    driver = run_of(render(catalog))["tool"]["driver"]
    assert driver["name"] == "apexscan"
    assert driver["semanticVersion"] == "0.1.0"
    assert "informationUri" not in driver  # no invented URL
    rules = driver["rules"]
    assert [rule["id"] for rule in rules] == list(catalog.ids)
    for descriptor, rule in zip(rules, catalog):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.short_description
        assert descriptor["fullDescription"]["text"] == rule.full_description
        assert descriptor["defaultConfiguration"]["level"] == rule.level
        assert descriptor["help"] == {"text": rule.help_text, "markdown": rule.help_markdown}
        assert "helpUri" not in descriptor
        properties = descriptor["properties"]
        assert properties["security-severity"] == rule.security_severity
        assert properties["precision"] == rule.precision
        assert "security" in properties["tags"]
        assert {f"external/cwe/cwe-{n}" for n in rule.cwe} <= set(properties["tags"])


def test_rules_link_to_cwe_taxa(catalog: Catalog) -> None:
    run = run_of(render(catalog))
    taxonomy = run["taxonomies"][0]
    assert taxonomy["name"] == "CWE"
    taxa = taxonomy["taxa"]
    for descriptor, rule in zip(run["tool"]["driver"]["rules"], catalog):
        targets = [rel["target"] for rel in descriptor["relationships"]]
        assert [t["id"] for t in targets] == [str(n) for n in rule.cwe]
        for target in targets:
            assert taxa[target["index"]]["id"] == target["id"]
            assert target["toolComponent"] == {"name": "CWE", "index": 0}


def test_run_metadata(catalog: Catalog) -> None:
    run = run_of(render(catalog))
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///work/project/"}}
    assert run["invocations"][0]["executionSuccessful"] is True


def test_no_category_is_written_unless_given_so_upload_sarif_s_category_applies(catalog: Catalog) -> None:
    # A fixed automationDetails.id ("apexscan/") made upload-sarif ignore its `category:` input, so two
    # projects of one repository overwrote each other's alerts.
    assert "automationDetails" not in run_of(render(catalog))
    findings, kw = sample_findings(), dict(tool_version="0.1.0", source_root=None, file_texts={})
    run = run_of(render_sarif(findings, catalog, [], category="apexscan-billing", **kw))
    assert run["automationDetails"] == {"id": "apexscan-billing/"}
    assert run_of(render_sarif(findings, catalog, [], category="ci/apexscan/", **kw))["automationDetails"] == \
        {"id": "ci/apexscan/"}


# --- results -------------------------------------------------------------------------------------


def test_results_are_sorted_and_point_at_their_rule(catalog: Catalog) -> None:
    results = run_of(render(catalog))["results"]
    keys = []
    for result in results:
        assert catalog.ids[result["ruleIndex"]] == result["ruleId"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        region = physical["region"]
        keys.append((physical["artifactLocation"]["uri"], region["startLine"], region["startColumn"],
                     result["ruleId"]))
    assert keys == sorted(keys)
    assert [k[3] for k in keys] == ["APX-LLM-002", "APX-LLM-003", "APX-LLM-001", "APX-LLM-006"]


def test_level_is_set_only_when_the_finding_overrides_it(catalog: Catalog) -> None:
    levels = {r["ruleId"]: r.get("level") for r in run_of(render(catalog))["results"]}
    assert levels == {"APX-LLM-001": None, "APX-LLM-002": None, "APX-LLM-003": "error", "APX-LLM-006": None}


def test_message_first_sentence_is_the_finding_title(catalog: Catalog) -> None:
    by_rule = {f.rule_id: f for f in sample_findings()}
    for result in run_of(render(catalog))["results"]:
        assert result["message"]["text"] == by_rule[result["ruleId"]].message


def test_one_code_flow_per_path_with_a_message_at_every_step(catalog: Catalog) -> None:
    by_rule = {f.rule_id: f for f in sample_findings()}
    for result in run_of(render(catalog))["results"]:
        finding = by_rule[result["ruleId"]]
        flows = result["codeFlows"]
        assert len(flows) == len(finding.paths)
        for flow, path in zip(flows, finding.paths):
            (thread,) = flow["threadFlows"]
            locations = thread["locations"]
            assert [loc["location"]["message"]["text"] for loc in locations] == [s.message for s in path]
            assert all(loc["location"]["message"]["text"] for loc in locations)
            assert locations[0]["importance"] == "essential"
            assert locations[-1]["importance"] == "essential"
            assert all("importance" not in loc for loc in locations[1:-1])
            last = locations[-1]["location"]["physicalLocation"]
            assert last == result["locations"][0]["physicalLocation"]  # every path ends at the sink


def test_trigger_to_service_path_crosses_files(catalog: Catalog) -> None:
    result = next(r for r in run_of(render(catalog))["results"] if r["ruleId"] == "APX-LLM-001")
    uris = [loc["location"]["physicalLocation"]["artifactLocation"]["uri"]
            for loc in result["codeFlows"][1]["threadFlows"][0]["locations"]]
    assert uris[0] == TRIGGER and uris[1] == HANDLER and uris[-1] == SERVICE


def test_result_properties_describe_fields_destination_and_confidence(catalog: Catalog) -> None:
    result = next(r for r in run_of(render(catalog))["results"] if r["ruleId"] == "APX-LLM-001")
    properties = result["properties"]
    assert properties["confidence"] == "high"
    assert properties["fields"] == [
        {"field": "Contact.Email", "sensitivity": "sensitive", "category": "personal", "reason": "catalog"},
        {"field": "Case.Description", "sensitivity": "sensitive", "category": "free-text", "reason": "catalog"},
    ]
    assert properties["destination"] == {
        "url": "https://api.openai.com/v1/chat/completions", "host": "api.openai.com", "provider": "OpenAI",
        "jurisdiction": "US", "region": "global", "verdict": "foreign", "how": "named credential OpenAI",
        "evidence": [], "note": "global endpoint"}
    assert properties["extra"] == {"context": "CaseSummaryService.summarize"}


# --- fingerprints --------------------------------------------------------------------------------


def test_partial_fingerprints_hold_github_line_hash_and_apexscan_id(catalog: Catalog) -> None:
    findings = {f.rule_id: f for f in sample_findings()}
    for result in run_of(render(catalog))["results"]:
        finding = findings[result["ruleId"]]
        fingerprints = result["partialFingerprints"]
        assert list(fingerprints) == ["primaryLocationLineHash", "apexscan/v1"]
        assert fingerprints["primaryLocationLineHash"] == line_hash(FILES[finding.location.path],
                                                                    finding.location.line)
        assert fingerprints["apexscan/v1"] == finding_fingerprint(finding)


def shifted(finding: Finding, path: str, lines: int) -> Finding:
    def move(loc: Location) -> Location:
        if loc.path != path:
            return loc
        return dataclasses.replace(loc, line=loc.line + lines, end_line=loc.end_line + lines)

    return dataclasses.replace(
        finding, location=move(finding.location),
        paths=tuple(tuple(Step(move(s.location), s.message) for s in p) for p in finding.paths))


def test_fingerprints_survive_lines_inserted_above(catalog: Catalog) -> None:
    header = "// Copyright 2026 Example Bank\n// Summaries for the service console\n\n"
    files = dict(FILES)
    files[SERVICE] = header + FILES[SERVICE]
    files[INSIGHT] = header + FILES[INSIGHT]
    moved = [shifted(shifted(f, SERVICE, 3), INSIGHT, 3) for f in sample_findings()]

    before = run_of(render(catalog))["results"]
    after = run_of(render(catalog, findings=moved, files=files))["results"]
    assert [r["partialFingerprints"] for r in after] == [r["partialFingerprints"] for r in before]
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after]
    assert lines != [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in before]


def test_missing_file_text_leaves_the_line_hash_to_upload_sarif(catalog: Catalog) -> None:
    files = {k: v for k, v in FILES.items() if k != CLIENT}
    result = next(r for r in run_of(render(catalog, files=files))["results"] if r["ruleId"] == "APX-LLM-006")
    assert list(result["partialFingerprints"]) == ["apexscan/v1"]


# --- determinism ---------------------------------------------------------------------------------


def test_render_is_byte_identical_across_calls_and_input_orders(catalog: Catalog) -> None:
    first = dumps_sarif(render(catalog))
    shuffled = sample_findings()
    random.Random(3).shuffle(shuffled)
    second = dumps_sarif(render(catalog, findings=shuffled, diagnostics=list(reversed(DIAGNOSTICS))))
    assert first == second
    assert first.endswith("}\n") and not first.endswith("\n\n")


# --- notifications and limits --------------------------------------------------------------------


def test_diagnostics_become_tool_execution_notifications(catalog: Catalog) -> None:
    notifications = run_of(render(catalog))["invocations"][0]["toolExecutionNotifications"]
    assert [(n["level"], n["message"]["text"], n["properties"]["stage"]) for n in notifications] == [
        ("error", "rule crashed: KeyError 'x'", "internal"),
        ("warning", "syntax error near '}'", "parse"),
        ("warning", "named credential Gateway has no <url>", "metadata"),
    ]
    assert "locations" not in notifications[0]
    parse = notifications[1]["locations"][0]["physicalLocation"]
    assert parse == {"artifactLocation": {"uri": "force-app/main/default/classes/Broken.cls",
                                          "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 7}}
    assert "region" not in notifications[2]["locations"][0]["physicalLocation"]


def test_long_paths_and_many_paths_are_cut_to_github_limits(catalog: Catalog) -> None:
    sink = at(SERVICE, "new Http().send(req)")
    long_path = tuple(Step(Location(SERVICE, 5, 1), f"step {i}") for i in range(1499)) + (
        Step(sink, "sent by Http.send"),)
    many = tuple((Step(Location(SERVICE, 4, 1), f"source {i}"), Step(sink, "sent by Http.send"))
                 for i in range(149))
    base = sample_findings()[2]
    assert base.rule_id == "APX-LLM-001"
    huge = dataclasses.replace(base, paths=(long_path,) + many)
    doc = render(catalog, findings=[huge], diagnostics=[])
    assert_valid(doc)
    run = run_of(doc)
    (result,) = run["results"]
    assert len(result["codeFlows"]) == 100
    locations = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(locations) == 1000
    assert locations[-1]["location"]["message"]["text"] == "sent by Http.send"
    assert locations[-1]["importance"] == "essential"
    texts = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any("150 witness paths" in t for t in texts)
    assert any("1500 steps" in t for t in texts)


def test_results_beyond_the_limit_keep_the_most_severe(catalog: Catalog, monkeypatch) -> None:
    monkeypatch.setattr(sarif_module, "MAX_RESULTS", 2)
    run = run_of(render(catalog, diagnostics=[]))
    # Three errors compete for two places: the rules' security-severity decides (8.5, 8.0 > 6.5).
    assert sorted(r["ruleId"] for r in run["results"]) == ["APX-LLM-001", "APX-LLM-002"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert len(notes) == 1 and "only the 2 most severe" in notes[0]["message"]["text"]


def test_paths_are_uri_encoded(catalog: Catalog) -> None:
    finding = dataclasses.replace(sample_findings()[0], location=Location("force-app/My Classes/A.cls", 1, 1))
    result = run_of(render(catalog, findings=[finding], diagnostics=[], files={}))["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "force-app/My%20Classes/A.cls"


# --- text and JSON reports (same findings, same order) -------------------------------------------


def test_text_report_is_one_short_block_per_finding_ending_with_its_fix_hint(catalog: Catalog) -> None:
    text = render_text(sample_findings(), catalog, DIAGNOSTICS)
    blocks = text.split("\n\n")
    assert blocks[-1] == "apexscan: 4 findings: 3 error, 0 warning, 1 note\n"
    sink = at(INSIGHT, "new Http().send(req)")
    first = blocks[0].splitlines()
    assert first[0] == f"{sink}: error[APX-LLM-002] A whole Account record is serialized into an LLM " \
                       "request to an endpoint that cannot be determined."
    assert first[1] == f"    from {at(INSIGHT, 'SELECT Name, AnnualRevenue')}: Account record read by SOQL"
    for block, finding in zip(blocks[:-1], sorted_findings(sample_findings())):
        lines = block.splitlines()
        assert len(lines) <= 5, block
        rule = catalog[finding.rule_id]
        assert lines[-1] == f"    fix: {rule.fix} (apexscan rules {rule.id})"
    assert "\033[" not in text and "syntax error" not in text


def test_text_report_with_paths_lists_every_step_of_every_path(catalog: Catalog) -> None:
    text = render_text(sample_findings(), catalog, DIAGNOSTICS, paths=True)
    lines = text.splitlines()
    sink = at(INSIGHT, "new Http().send(req)")
    assert lines[0] == f"{sink}: error[APX-LLM-002] A whole Account record is serialized into an LLM " \
                       "request to an endpoint that cannot be determined."
    assert lines[1] == f"    {at(INSIGHT, 'SELECT Name, AnnualRevenue')}: Account record read by SOQL"
    assert lines[4].startswith(f"{sink}: error[APX-LLM-003] ")
    assert lines[-1] == "apexscan: 4 findings: 3 error, 0 warning, 1 note"
    assert "\033[" not in text and text.endswith("\n")
    assert "syntax error" not in text  # diagnostics go to stderr through render_diagnostics
    assert "\033[1;31merror\033[0m" in render_text(sample_findings(), catalog, [], color=True, paths=True)


def test_text_summary_for_no_findings(catalog: Catalog) -> None:
    assert render_text([], catalog, []) == "apexscan: 0 findings: 0 error, 0 warning, 0 note\n"


def test_diagnostics_render_one_line_each() -> None:
    assert render_diagnostics(DIAGNOSTICS).splitlines() == [
        "apexscan: internal: rule crashed: KeyError 'x'",
        "force-app/main/default/classes/Broken.cls:7: parse: syntax error near '}'",
        "force-app/main/default/namedCredentials/Gateway.namedCredential-meta.xml: metadata: "
        "named credential Gateway has no <url>",
    ]
    assert render_diagnostics([]) == ""


def test_json_report_is_stable_and_agrees_with_sarif(catalog: Catalog) -> None:
    text = render_json(sample_findings(), catalog, DIAGNOSTICS)
    assert text == render_json(list(reversed(sample_findings())), catalog, DIAGNOSTICS)
    doc = json.loads(text)
    assert doc["schema_version"] == 1
    assert doc["summary"] == {"findings": 4, "error": 3, "warning": 0, "note": 1, "suppressed": 0,
                              "diagnostics": 3, "baseline": {}}
    results = run_of(render(catalog))["results"]
    assert [f["rule"] for f in doc["findings"]] == [r["ruleId"] for r in results]
    assert [f["fingerprint"] for f in doc["findings"]] == [r["partialFingerprints"]["apexscan/v1"] for r in results]
    first = doc["findings"][2]
    assert first["rule"] == "APX-LLM-001" and first["level"] == "error"
    assert first["fields"][0] == {"field": "Contact.Email", "object": "Contact", "name": "Email",
                                  "sensitivity": "sensitive", "category": "personal", "reason": "catalog"}
    assert first["paths"][1][0] == {"path": TRIGGER, "line": 2, "col": 36,
                                    "message": "Case.Description read from Trigger.new"}
    assert first["destination"]["verdict"] == "foreign"
    assert doc["diagnostics"][1] == {"path": "force-app/main/default/classes/Broken.cls", "line": 7,
                                     "stage": "parse", "message": "syntax error near '}'"}


@pytest.mark.skipif(not os.environ.get("APEXSCAN_SARIF_MULTITOOL"),
                    reason="set APEXSCAN_SARIF_MULTITOOL to Microsoft's Sarif.Multitool binary (.ci/run does)")
def test_sample_sarif_passes_microsofts_multitool_with_githubs_rules(tmp_path):
    """`validate --rule-kind Gh;Sarif`: GitHub's ingestion rules (GH1001...) and SARIF's own.
    Notes (style advice such as message ids instead of text) are not errors; nothing else may fail."""
    import subprocess

    from click.testing import CliRunner

    from apexscan.interfaces.cli import main
    # As the action (action.yml) and the sample workflow scan: the repository root, where the sample
    # org is a subfolder project; the category is upload-sarif's.
    checkout = Path(__file__).resolve().parent.parent
    report, verdict = tmp_path / "apexscan.sarif", tmp_path / "validation.sarif"
    CliRunner().invoke(main, ["scan", str(checkout), "--format", "sarif", "-o", str(report), "--fail-on", "never"])
    assert "samples/fintech-org/" in report.read_text("utf-8")
    done = subprocess.run([os.environ["APEXSCAN_SARIF_MULTITOOL"], "validate", "--rule-kind", "Gh;Sarif",
                           "--level", "Error;Warning;Note", "-o", str(verdict), str(report)],
                          capture_output=True, text=True, timeout=300)
    assert verdict.is_file(), done.stdout + done.stderr
    results = json.loads(verdict.read_text())["runs"][0]["results"]
    serious = {(r["ruleId"], r.get("level", "warning")) for r in results if r.get("level", "warning") != "note"}
    # SARIF2005 asks for tool.driver.informationUri: apexscan has no public home page to name yet.
    assert serious <= {("SARIF2005", "warning")}, results
    assert not [r for r in results if r["ruleId"].startswith("GH")]
