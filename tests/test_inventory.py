"""`apexscan inventory`: every channel out of the org, with destinations, data and entry points.

The channels checked here were verified by reading samples/fintech-org (see its README): the
OpenAI Named Credential (US), Mistral_EU (EU region, sovereign), the Google geocoding credential
(not an LLM), a residency-guarded request, and Apex callouts through each of them.
"""
from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from apexscan.cli import main
from apexscan.inventory import build_inventory, compare
from apexscan.policy import load_policy
from apexscan.project import discover
from apexscan.report.inventory import render_inventory_html, render_inventory_json, render_inventory_markdown
from apexscan.rules import load_catalog
from apexscan.scan import scan

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "fintech-org"


def inventory_of(root: Path) -> dict:
    project = discover([root])
    policy = load_policy(None, project.root)
    result = scan(project, policy, inventory=True)
    levels = {r.id: r.level for r in load_catalog()}
    return build_inventory(result.sinks, result.findings, result.metadata, policy, levels,
                           project=project.root.name, generator="apexscan test")


@pytest.fixture(scope="module")
def doc() -> dict:
    return inventory_of(SAMPLE)


def channel(doc: dict, cid: str) -> dict:
    matches = [c for c in doc["channels"] if c["id"] == cid]
    assert len(matches) == 1, [c["id"] for c in doc["channels"]]
    return matches[0]


def fields(c: dict) -> list[str]:
    return [f["field"] for f in c["data"]["fields"]]


def test_openai_named_credential_is_us_and_lists_the_balances_sent_through_it(doc):
    nc = channel(doc, "named-credential:OpenAI")
    assert nc["destinations"] == [{
        "host": "api.openai.com", "url": "https://api.openai.com", "provider": "OpenAI", "llm": True,
        "jurisdiction": "US", "region": "global", "unknown_because": "", "verdict": "foreign",
        "configured": ["named-credential"], "how": "Named Credential OpenAI", "evidence": [],
        "note": nc["destinations"][0]["note"]}]
    assert "Portfolio__c.Balance__c" in fields(nc)
    assert [f["rule"] for f in nc["findings"]] == ["APX-CFG-002"]
    assert "apex-callout:RetirementPlanAssistant.explainProjection:Http.send" in nc["used_by"]


def test_apex_callout_through_openai_lists_exactly_the_fields_and_its_entry_point(doc):
    c = channel(doc, "apex-callout:RetirementPlanAssistant.explainProjection:Http.send")
    assert c["kind"] == "apex-callout" and c["api"] == "Http.send" and not c["guarded"]
    assert [(d["host"], d["jurisdiction"], d["verdict"], d["configured"]) for d in c["destinations"]] == [
        ("api.openai.com", "US", "foreign", ["named-credential"])]
    assert c["data"]["fields"] == [
        {"field": "Contact.Birthdate", "object": "Contact", "name": "Birthdate", "sensitivity": "sensitive",
         "category": "personal", "reason": c["data"]["fields"][0]["reason"], "whole_record": False},
        {"field": "Portfolio__c.Balance__c", "object": "Portfolio__c", "name": "Balance__c",
         "sensitivity": "sensitive", "category": "financial",
         "reason": "securityClassification Confidential in force-app/main/default/objects/Portfolio__c/fields/"
                   "Balance__c.field-meta.xml",
         "whole_record": False}]
    assert c["data"]["categories"] == ["financial", "personal"]
    assert [(e["kind"], e["name"]) for e in c["entry_points"]] == [
        ("aura-enabled", "RetirementPlanAssistant.explainProjection")]
    assert [f["rule"] for f in c["findings"]] == ["APX-LLM-001"]


def test_mistral_eu_channel_is_sovereign_and_has_no_finding(doc):
    nc = channel(doc, "named-credential:Mistral_EU")
    d, = nc["destinations"]
    assert (d["host"], d["provider"], d["jurisdiction"], d["region"], d["verdict"]) == (
        "api.eu.mistral.ai", "Mistral AI", "FR", "EU", "sovereign")
    assert nc["findings"] == []
    provider = channel(doc, "apex-callout:MistralEuProvider.complete:Http.send")
    assert provider["destinations"][0]["verdict"] == "sovereign"
    assert "Portfolio__c.Balance__c" in fields(provider)  # listed although it is allowed
    assert provider["findings"] == []


def test_geocoding_channel_is_not_an_llm_and_says_why_its_seat_is_unknown(doc):
    nc = channel(doc, "named-credential:Geocoding")
    d, = nc["destinations"]
    assert (d["host"], d["llm"], d["verdict"], d["jurisdiction"], d["region"]) == (
        "maps.googleapis.com", False, "not-llm", "unknown", "unknown")
    assert "not an LLM API" in d["unknown_because"]
    geo = channel(doc, "apex-callout:ClientAddressGeocoder.geocodeLater:Http.send")
    assert fields(geo) == ["Contact.MailingCity", "Contact.MailingStreet"]
    assert ("trigger", "ContactTrigger on Contact") in [(e["kind"], e["name"]) for e in geo["entry_points"]]
    assert geo["findings"] == []


def test_guarded_request_is_listed_without_a_finding(doc):
    c = channel(doc, "apex-callout:ProposalDraftService.draftCoverLetter:Http.send")
    assert c["guarded"] and c["findings"] == []
    assert fields(c) == ["Account.Name", "Opportunity.Amount", "Opportunity.Name"]


def test_queueable_started_from_a_platform_event_trigger_has_that_trigger_as_entry_point(doc):
    c = channel(doc, "apex-callout:ConsentConfirmationJob.execute:Http.send")
    assert [(e["kind"], e["name"]) for e in c["entry_points"]] == [
        ("event-trigger", "ConsentChangeTrigger on Consent_Change__e")]
    batch = channel(doc, "apex-callout:PortfolioDriftBatch.execute:Http.send")
    assert [(e["kind"], e["name"]) for e in batch["entry_points"]] == [("schedule", "PortfolioDriftSchedule")]


def test_every_code_finding_of_a_scan_is_attached_to_a_channel(doc):
    project = discover([SAMPLE])
    result = scan(project, load_policy(None, project.root))
    attached = {(f["rule"], f["location"]["path"], f["location"]["line"])
                for c in doc["channels"] for f in c["findings"]}
    assert {(f.rule_id, f.location.path, f.location.line) for f in result.findings} <= attached


def test_inventory_mode_does_not_change_the_findings():
    project = discover([SAMPLE])
    policy = load_policy(None, project.root)
    assert scan(project, policy, inventory=True).findings == scan(project, policy).findings


def test_renderings_are_deterministic(doc):
    again = inventory_of(SAMPLE)
    for render in (render_inventory_json, render_inventory_markdown, render_inventory_html):
        assert render(doc) == render(again)


class _Checker(HTMLParser):
    VOID = {"meta", "br", "rect", "path", "link", "img", "input", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "data") and value and \
                    re.match(r"\s*(https?:)?//", value, re.IGNORECASE):
                self.urls.append(value)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def test_html_is_well_formed_and_self_contained(doc):
    page = render_inventory_html(doc)
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert checker.urls == []  # URLs appear only as text
    assert "https://api.openai.com" in page  # ... which they do
    assert not {"script", "link", "img", "iframe"} & checker.tags
    assert "<svg" in page and "Destinations by jurisdiction" in page
    # every channel has a row the picture links to
    assert page.count('<tr id="ch-') == len(doc["channels"])


def test_html_escapes_names_from_the_project(doc):
    evil = json.loads(json.dumps(doc))
    evil["channels"][0]["name"] = '<script>alert(1)</script>'
    assert "<script>" not in render_inventory_html(evil)


def test_compare_lists_new_path_new_channel_and_changed_credential(tmp_path):
    base = inventory_of(SAMPLE)
    copy = tmp_path / "fintech-org"
    shutil.copytree(SAMPLE, copy)
    classes = copy / "force-app/main/default/classes"
    (classes / "RevenueDigest.cls").write_text(
        "public with sharing class RevenueDigest {\n"
        "    @AuraEnabled\n"
        "    public static String send(Id accountId) {\n"
        "        Account a = [SELECT AnnualRevenue FROM Account WHERE Id = :accountId];\n"
        "        HttpRequest req = new HttpRequest();\n"
        "        req.setEndpoint('callout:OpenAI/v1/chat/completions');\n"
        "        req.setMethod('POST');\n"
        "        req.setBody(JSON.serialize(new Map<String, Object>{'revenue' => a.AnnualRevenue}));\n"
        "        return new Http().send(req).getBody();\n"
        "    }\n"
        "}\n", encoding="utf-8")
    geocoding = copy / "force-app/main/default/namedCredentials/Geocoding.namedCredential-meta.xml"
    geocoding.write_text(geocoding.read_text("utf-8").replace("maps.googleapis.com", "api.openai.com"), "utf-8")
    diff = compare(base, inventory_of(copy))
    assert {"id": "apex-callout:RevenueDigest.send:Http.send", "kind": "apex-callout"} in diff["new_channels"]
    assert diff["removed_channels"] == []
    new_paths = {(p["field"], p["destination"]): p for p in diff["new_paths"]}
    revenue = new_paths[("Account.AnnualRevenue", "api.openai.com")]
    assert revenue["text"] == "path from Account.AnnualRevenue to api.openai.com (OpenAI, US)"
    assert "apex-callout:RevenueDigest.send:Http.send" in revenue["channels"]
    assert ("Contact.MailingStreet", "api.openai.com") in new_paths  # the geocoder now goes to OpenAI
    changed = {c["id"]: c["changes"] for c in diff["changed_channels"]}
    assert "new destination api.openai.com (OpenAI, US)" in changed["named-credential:Geocoding"]
    assert "destination removed: maps.googleapis.com" in changed["named-credential:Geocoding"]


def test_compare_of_an_inventory_with_itself_is_empty(doc):
    assert compare(doc, doc) == {"base_generator": "apexscan test", "new_channels": [], "removed_channels": [],
                                 "changed_channels": [], "new_paths": [], "removed_paths": []}


def test_cli_writes_json_and_compares(tmp_path):
    runner = CliRunner()
    out = tmp_path / "inventory.json"
    res = runner.invoke(main, ["inventory", str(SAMPLE), "--format", "json", "-o", str(out)])
    assert res.exit_code == 0, res.output
    written = json.loads(out.read_text("utf-8"))
    assert written["schema_version"] == 1 and written["comparison"] == {}
    res = runner.invoke(main, ["inventory", str(SAMPLE), "--format", "markdown", "--compare", str(out)])
    assert res.exit_code == 0, res.output
    assert "No channel or path changed." in res.output


def test_cli_rejects_a_base_that_is_not_an_inventory(tmp_path):
    bad = tmp_path / "base.json"
    bad.write_text('{"runs": []}', encoding="utf-8")
    res = CliRunner().invoke(main, ["inventory", str(SAMPLE), "--compare", str(bad)])
    assert res.exit_code == 2
    assert "not an apexscan inventory" in res.output


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_html_renders_in_headless_chromium(doc, tmp_path):  # pragma: no cover - optional
    import subprocess
    page = tmp_path / "inventory.html"
    page.write_text(render_inventory_html(doc), encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1400,2000", page.as_uri()], check=True, timeout=120, capture_output=True)
    assert shot.stat().st_size > 10_000


def test_sinks_reached_from_too_much_of_the_project_are_listed_untraced(monkeypatch):
    import apexscan.inventory as inventory
    monkeypatch.setattr(inventory, "MAX_TRACE_NODES", 1)
    small = inventory_of(SAMPLE)
    geo = channel(small, "apex-callout:ClientAddressGeocoder.geocodeLater:Http.send")
    assert not geo["data"]["traced"] and geo["data"]["fields"] == []
    assert "more than 1 places" in geo["data"]["untraced_because"]
    leak = channel(small, "apex-callout:RetirementPlanAssistant.explainProjection:Http.send")
    assert leak["data"]["traced"] and fields(leak) == ["Contact.Birthdate", "Portfolio__c.Balance__c"]
    assert "not traced" in render_inventory_markdown(small) and "not traced" in render_inventory_html(small)
