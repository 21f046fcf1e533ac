"""`apexscan inventory`: every channel out of the org, with destinations, data and entry points.

The channels checked here were verified by reading samples/fintech-org (see its README): the
OpenAI Named Credential (US), Mistral_EU (EU region, sovereign), the Google geocoding credential
(not an LLM), a residency-guarded request, and Apex callouts through each of them.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import OPENAI_NC, write_project

from apexscan.interfaces.cli import main
from apexscan.interfaces.report.inventory import (
    render_inventory_html,
    render_inventory_json,
    render_inventory_markdown,
)
from apexscan.pipeline.basecommit import checked_out, find_git_base
from apexscan.pipeline.inventory import build_inventory, compare
from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import scan
from apexscan.salesforce.policy import load_policy
from apexscan.salesforce.rules import load_catalog

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
    assert [(e["kind"], e["name"]) for e in geo["entry_points"]] == [("trigger", "ContactTrigger on Contact")]
    assert geo["findings"] == []


def test_entry_points_follow_virtual_dispatch_to_the_right_trigger(doc):
    """Both triggers run `new XTriggerHandler().run()`, and the shared `TriggerHandler.run` calls
    `afterInsert()` on itself: each trigger reaches only its own handler's override."""
    llm = channel(doc, "apex-callout:LlmClient.complete:Http.send")
    triggers = [e["name"] for e in llm["entry_points"] if e["kind"] == "trigger"]
    assert triggers == ["PortfolioTrigger on Portfolio__c"]


def test_entry_points_through_an_interface_and_an_abstract_base(tmp_path):
    write_project(tmp_path, {
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/AgentAction.cls": "public interface AgentAction { String run(String text); }\n",
        "classes/BaseAction.cls": """
            public abstract class BaseAction implements AgentAction {
                public String run(String text) { return perform(text); }
                protected abstract String perform(String text);
            }
            """,
        "classes/OpenAiAction.cls": """
            public with sharing class OpenAiAction extends BaseAction {
                protected override String perform(String text) {
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(text);
                    return new Http().send(req).getBody();
                }
            }
            """,
        "classes/EchoAction.cls": """
            public with sharing class EchoAction extends BaseAction {
                protected override String perform(String text) { return text; }
            }
            """,
        "classes/AgentController.cls": """
            public with sharing class AgentController {
                @AuraEnabled
                public static String ask(String text) { AgentAction action = new OpenAiAction(); return action.run(text); }
                @AuraEnabled
                public static String echo(String text) { EchoAction action = new EchoAction(); return action.run(text); }
            }
            """})
    c = channel(inventory_of(tmp_path), "apex-callout:OpenAiAction.perform:Http.send")
    assert [(e["kind"], e["name"]) for e in c["entry_points"]] == [("aura-enabled", "AgentController.ask")]


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


def test_data_loader_extract_is_a_channel_with_the_fields_it_writes_to_a_file(doc):
    extracts = {c["name"].rsplit("/", 1)[-1]: c for c in doc["channels"] if c["kind"] == "dataloader-extract"}
    assert sorted(extracts) == ["clientKycExtract", "portfolioMixExtract"]  # kycStatusUpdate brings data in
    c = extracts["clientKycExtract"]
    d, = c["destinations"]
    assert (d["host"], d["url"], d["verdict"], d["configured"]) == (
        "", "/srv/exports/kyc/clients.csv", "not-llm", ["dataloader-process"])
    assert "CSV file" in d["unknown_because"]
    assert "Contact.Tax_Id__c" in fields(c) and "Contact.Birthdate" in fields(c)
    assert [f["rule"] for f in c["findings"]] == ["APX-CFG-008"]
    assert c["details"]["operation"] == "extract" and c["details"]["object"] == "Contact"
    assert extracts["portfolioMixExtract"]["findings"] == []


def test_an_aura_component_is_one_entry_point_named_after_its_bundle(doc):
    c = channel(doc, "apex-callout:AdviceNoteSummaryController.summarizeNotes:Http.send")
    assert [(e["kind"], e["name"]) for e in c["entry_points"] if e["kind"] == "aura-component"] == [
        ("aura-component", "adviceNoteSummary")]


def test_a_callback_to_a_mobile_app_is_not_a_host(doc):
    d, = channel(doc, "connected-app:Advisor_Mobile")["destinations"]
    assert (d["host"], d["url"], d["verdict"]) == ("", "northbank-advisor://oauth/callback", "not-llm")
    assert "app on the user's device" in d["unknown_because"]


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
    VOID = frozenset({"meta", "br", "wbr", "rect", "path", "link", "img", "input", "hr"})

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
    assert not {"link", "img", "iframe", "object", "embed"} & checker.tags
    # one inline script (the filters), no other; the policy allows only it and the style, by hash
    assert page.count("<script") == 1 and "<script>(function(){" in page and " src=" not in page
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    assert csp.startswith("default-src 'none'; style-src 'sha256-") and "script-src 'sha256-" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    script = re.search(r"<script>(.*?)</script>", page, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "<svg" in page and "Destinations by jurisdiction" in page
    # every channel has a row; the picture's group boxes link to rows
    assert page.count('<tr id="ch-') == len(doc["channels"])
    assert set(re.findall(r'<a href="#(ch-\d+)" data-g="\d+">', page)) <= set(re.findall(r'<tr id="(ch-\d+)"', page))


def test_html_escapes_names_from_the_project(doc):
    evil = json.loads(json.dumps(doc))
    evil["channels"][0]["name"] = '<script>alert(1)</script>'
    evil["channels"][0]["data"]["fields"][0]["object"] = '"></option><script>alert(2)</script>'
    evil["channels"][0]["destinations"][0]["host"] = "</style><script>alert(3)</script>"
    page = render_inventory_html(evil)
    assert "alert(" in page and "<script>alert" not in page and page.count("<script") == 1
    assert "</style><" not in page.split("</style>", 1)[1]  # the style block ends once


def highlighted(page: str, n: int) -> tuple[list[str], list[str]]:
    """The labels of the boxes and the titles of the lines that selecting finding n highlights."""
    boxes = re.findall(rf'<g class="n[^"]*\bf-{n}\b[^"]*">.*?<text[^>]*>([^<]*)</text>', page)
    lines = re.findall(rf'<path class="e[^"]*\bf-{n}\b[^"]*"[^>]*><title>([^<]*)</title>', page)
    return sorted(boxes), sorted(lines)


def finding_number(page: str, doc: dict, cid: str, rule: str) -> int:
    row = re.search(rf'<tr id="ch-{[c["id"] for c in doc["channels"]].index(cid) + 1}"[^>]*>.*?</tr>', page).group()
    return int(re.search(rf'href="#finding-(\d+)" title="highlight its path">{rule}<', row).group(1))


def test_selecting_a_finding_highlights_its_path_and_lists_its_steps(doc):
    page = render_inventory_html(doc)
    cid = "apex-callout:RetirementPlanAssistant.explainProjection:Http.send"
    n = finding_number(page, doc, cid, "APX-LLM-001")
    assert f'<span id="finding-{n}" class="fsel"></span>' in page
    assert f"#finding-{n}:target~#picture .f-{n}," in page or f"#finding-{n}:target~#picture .f-{n}{{" in page
    boxes, lines = highlighted(page, n)
    # the channel is one of the group of Apex callouts to OpenAI
    group = re.search(r"Apex callout ×(\d+)", " ".join(boxes)).group()
    assert boxes == [group, "Contact", "Portfolio__c", "api.openai.com"]
    assert sorted(re.sub(r": \d+ channels?$", "", t) for t in lines) == sorted([
        f"Contact → {group}", f"Portfolio__c → {group}", f"{group} → api.openai.com"])
    detail = re.search(rf'<div class="detail d-{n}">.*?</div>', page, re.DOTALL).group()
    finding, = channel(doc, cid)["findings"]
    assert len(finding["paths"]) == 2
    for path in finding["paths"]:
        for step in path:
            assert f'{step["path"].rsplit("/", 1)[-1]}:{step["line"]}</code> {escape(step["message"])}</li>' in detail
    # a finding about metadata highlights its channel and destination, and shows where it is configured
    m = finding_number(page, doc, "named-credential:OpenAI", "APX-CFG-002")
    assert highlighted(page, m) == (["Named Credential OpenAI", "api.openai.com"],
                                    ["Named Credential OpenAI → api.openai.com: 1 channel"])
    assert "OpenAI.namedCredential-meta.xml:11</code> Named Credential OpenAI endpoint https://api.openai.com" \
        in re.search(rf'<div class="detail d-{m}">.*?</div>', page, re.DOTALL).group()


def test_a_finding_with_many_paths_keeps_ten_and_says_how_many_more(tmp_path):
    names = ["FirstName", "LastName", "Email", "Phone", "MobilePhone", "Birthdate", "MailingStreet",
             "MailingCity", "MailingPostalCode", "MailingCountry", "Description", "OtherPhone"]
    write_project(tmp_path, {
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/ClientDossier.cls": f"""
            public with sharing class ClientDossier {{
                @AuraEnabled
                public static String send(Id contactId) {{
                    Contact c = [SELECT {', '.join(names)} FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody({' + '.join(f'c.{n}' for n in names)});
                    return new Http().send(req).getBody();
                }}
            }}
            """})
    doc = inventory_of(tmp_path)
    finding, = channel(doc, "apex-callout:ClientDossier.send:Http.send")["findings"]
    assert len(finding["fields"]) == 12 and finding["paths_total"] == 12 and len(finding["paths"]) == 10
    page = render_inventory_html(doc)
    assert "Path 10 of 12" in page and "Path 11 of 12" not in page and "2 more paths" in page


def test_every_finding_can_be_selected(doc):
    page = render_inventory_html(doc)
    count = len({(f["rule"], f["location"]["path"], f["location"]["line"], f["destination"])
                 for c in doc["channels"] for f in c["findings"]})
    for n in range(1, count + 1):
        assert page.count(f'<span id="finding-{n}" class="fsel"></span>') == 1
        assert f'<div class="detail d-{n}">' in page and f'<a href="#finding-{n}">' in page
        assert f'class="fl f-{n}" href="#finding-{n}"' in page
    assert f'id="finding-{count + 1}"' not in page


def test_html_escapes_finding_steps_from_the_project(doc):
    evil = json.loads(json.dumps(doc))
    c = next(c for c in evil["channels"] if c["findings"] and c["destinations"])
    f = c["findings"][0]
    f["message"] = "<img src=x onerror=alert(1)>"
    f["paths"] = [[{"path": "force-app/<b>x</b>.cls", "line": 1, "col": 1, "message": "</ol><script>x</script>"}]]
    c["destinations"][0]["host"] = f["destination"] = '"><script>y</script>'
    page = render_inventory_html(evil)
    assert "<script>x" not in page and "<script>y" not in page and "<img" not in page and "<b>" not in page


# The whole JSON inventory of samples/fintech-org, reviewed row by row against the sample's source
# (its README lists the cases): every channel's destinations (host, provider, seat, region, verdict,
# how it is configured), fields, entry points and findings. After a reviewed change to the sample or
# to the inventory, regenerate it from the repository's top folder with
#     apexscan inventory samples/fintech-org --format json --no-cache --timestamp 2025-03-31T12:00:00Z \
#         -o tests/data/fintech-inventory.json
# then read `git diff tests/data/fintech-inventory.json` channel by channel against the source before
# committing it. Known imprecision kept on purpose: RetirementPlanAssistant.whatIf lists
# Contact.Birthdate and Portfolio__c.Balance__c (see the comment at its send).
EXPECTED_INVENTORY = Path(__file__).resolve().parent / "data" / "fintech-inventory.json"


def test_the_json_inventory_of_the_sample_is_exactly_the_reviewed_one():
    res = CliRunner().invoke(main, ["inventory", str(SAMPLE), "--format", "json", "--no-cache",
                                    "--timestamp", "2025-03-31T12:00:00Z"])
    assert res.exit_code == 0, res.output
    got, want = json.loads(res.stdout), json.loads(EXPECTED_INVENTORY.read_text("utf-8"))
    # Not part of the review: the version number, and the commit of this repository the sample is read from.
    want["generator"] = got["generator"]
    want["record"]["apexscan_version"] = got["record"]["apexscan_version"]
    assert got["systems"][0]["source"]["repository"]["path"] == "samples/fintech-org"
    want["systems"][0]["source"]["repository"] = got["systems"][0]["source"]["repository"]
    assert [c["id"] for c in got["channels"]] == [c["id"] for c in want["channels"]]
    for mine, reviewed in zip(got["channels"], want["channels"]):
        assert mine == reviewed, mine["id"]
    assert got == want
    assert res.stdout == render_inventory_json(want)  # byte for byte


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
    assert compare(doc, doc) == {"base": "", "base_generator": "apexscan test", "new_channels": [], "removed_channels": [],
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


def test_sinks_reached_from_too_much_of_the_project_are_listed_untraced(monkeypatch):
    from apexscan.pipeline import inventory
    monkeypatch.setattr(inventory, "MAX_TRACE_NODES", 1)
    small = inventory_of(SAMPLE)
    geo = channel(small, "apex-callout:ClientAddressGeocoder.geocodeLater:Http.send")
    assert not geo["data"]["traced"] and geo["data"]["fields"] == []
    assert "more than 1 places" in geo["data"]["untraced_because"]
    leak = channel(small, "apex-callout:RetirementPlanAssistant.explainProjection:Http.send")
    assert leak["data"]["traced"] and fields(leak) == ["Contact.Birthdate", "Portfolio__c.Balance__c"]
    assert "not traced" in render_inventory_markdown(small) and "not traced" in render_inventory_html(small)


# --- --compare with a git ref -------------------------------------------------------------------

DIGEST_V1 = """
public with sharing class BalanceDigest {
    @AuraEnabled
    public static String send(Id accountId) {
        FinServ__FinancialAccount__c fa = [SELECT Name, FinServ__Balance__c FROM FinServ__FinancialAccount__c
                                           WHERE Id = :accountId];
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody(JSON.serialize(new Map<String, Object>{'account' => fa.Name}));
        return new Http().send(req).getBody();
    }
}
"""
DIGEST_V2 = DIGEST_V1.replace("'account' => fa.Name", "'account' => fa.Name, 'balance' => fa.FinServ__Balance__c")
NEW_BALANCE_PATH = ("New path from FinServ__FinancialAccount__c.FinServ__Balance__c to api.openai.com (OpenAI, US)"
                    "** (foreign) via `apex-callout:BalanceDigest.send:Http.send`")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
                           "-c", "commit.gpgsign=false", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """An empty git repository; git may not look above tmp_path, nor at a hook's GIT_* variables."""
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


def write_digest(project: Path, source: str) -> None:
    project.mkdir(parents=True, exist_ok=True)
    write_project(project, {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
                            "classes/BalanceDigest.cls": source})


def state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under root (.git included) with its modification time and size."""
    return {p.relative_to(root).as_posix(): (p.lstat().st_mtime_ns, p.lstat().st_size) for p in root.rglob("*")}


def markdown_inventory(*args: str) -> CliRunner:
    res = CliRunner().invoke(main, ["inventory", "--format", "markdown", *args])
    assert res.exit_code == 0, res.output
    return res


def test_compare_with_head_lists_the_path_added_in_the_work_tree(repo):
    project = repo / "salesforce" / "advisory-org"  # a subfolder of the repository
    write_digest(project, DIGEST_V1)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "digest without balances")
    write_digest(project, DIGEST_V2)
    before = state(repo)
    res = markdown_inventory(str(project), "--compare", "HEAD")
    assert state(repo) == before  # nothing written in the repository, .git included
    head = git(repo, "rev-parse", "HEAD").strip()
    assert f"## Changes since HEAD (commit {head[:10]})" in res.stdout
    assert NEW_BALANCE_PATH in res.stdout
    assert "Changed `apex-callout:BalanceDigest.send:Http.send`: field added: " \
           "FinServ__FinancialAccount__c.FinServ__Balance__c" in res.stdout
    assert "New channel" not in res.stdout and "Removed" not in res.stdout


def test_compare_with_an_earlier_commit_and_from_inside_the_project(repo, monkeypatch):
    project = repo / "advisory-org"
    write_digest(project, DIGEST_V1)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "digest without balances")
    write_digest(project, DIGEST_V2)
    git(repo, "commit", "-q", "-am", "digest with balances")
    monkeypatch.chdir(project)
    assert NEW_BALANCE_PATH in markdown_inventory("--compare", "main~1").stdout
    assert "No channel or path changed." in markdown_inventory(".", "--compare", "main").stdout
    html = CliRunner().invoke(main, ["inventory", "--compare", "HEAD~1"]).stdout
    assert "<h2>Changes since HEAD~1 (commit " in html
    assert "<strong>New path from FinServ__FinancialAccount__c.FinServ__Balance__c to api.openai.com" in html


def test_compare_with_a_commit_that_has_no_project_there_lists_every_channel_as_new(repo):
    (repo / "README.md").write_text("Nothing yet.\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "empty")
    project = repo / "org"
    write_digest(project, DIGEST_V2)
    doc = json.loads(markdown_inventory(str(project), "--format", "json", "--compare", "HEAD").stdout)
    cmp = doc["comparison"]
    assert cmp["base"].startswith("HEAD (commit ") and cmp["base"].endswith(", which has no org")
    assert sorted(c["id"] for c in cmp["new_channels"]) == sorted(c["id"] for c in doc["channels"])
    assert ("FinServ__FinancialAccount__c.FinServ__Balance__c", "api.openai.com") in \
        {(p["field"], p["destination"]) for p in cmp["new_paths"]}
    assert cmp["removed_channels"] == cmp["changed_channels"] == cmp["removed_paths"] == []


def test_compare_base_is_read_from_git_objects_only_regular_files(repo):
    project = repo / "org"
    write_digest(project, DIGEST_V1)
    secret = repo.parent / "outside.cls"
    secret.write_text(DIGEST_V2, encoding="utf-8")
    (project / "force-app/main/default/classes/Linked.cls").symlink_to(secret)
    (repo / ".gitattributes").write_text("*.cls filter=evil\n", encoding="utf-8")
    git(repo, "config", "filter.evil.smudge", f"touch {repo.parent / 'smudged'}; cat")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "with a symbolic link and a smudge filter")
    base = find_git_base("HEAD", project)
    with checked_out(base, []) as folder:
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        assert "force-app/main/default/classes/BalanceDigest.cls" in files
        assert "force-app/main/default/classes/Linked.cls" not in files  # links are not followed
        assert (folder / "force-app/main/default/classes/BalanceDigest.cls").read_text("utf-8") == \
            (project / "force-app/main/default/classes/BalanceDigest.cls").read_text("utf-8")
    assert not folder.exists()  # removed afterwards
    assert not (repo.parent / "smudged").exists()  # no filter of the project ran


def test_compare_refuses_a_commit_whose_tree_climbs_out(repo, tmp_path):
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input="class X {}\n",
                          check=True, capture_output=True, text=True).stdout.strip()

    def mktree(entries: str) -> str:
        return subprocess.run(["git", "mktree"], cwd=repo, input=entries, check=True, capture_output=True,
                              text=True).stdout.strip()

    inner = mktree(f"100644 blob {blob}\tEscaped.cls\n")
    org = mktree(f"040000 tree {inner}\t..\n")
    top = mktree(f"040000 tree {org}\torg\n")
    commit = git(repo, "commit-tree", top, "-m", "a tree git would not check out").strip()
    project = repo / "org"
    write_digest(project, DIGEST_V1)
    res = CliRunner().invoke(main, ["inventory", str(project), "--compare", commit])
    assert res.exit_code == 2
    assert "unsafe path '..'" in res.stderr and "Traceback" not in res.output  # the folder, listed first
    assert not list(tmp_path.rglob("Escaped.cls"))


@pytest.mark.parametrize("case", ["unknown ref", "option-like ref", "not a repository", "no git"])
def test_compare_with_a_bad_ref_is_a_one_line_usage_error(case, repo, tmp_path, monkeypatch):
    project = tmp_path / "plain" if case == "not a repository" else repo / "org"
    write_digest(project, DIGEST_V1)
    if case != "not a repository":
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "digest")
    if case == "no git":
        empty = tmp_path / "bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
    ref = "--upload-pack=touch" if case == "option-like ref" else "origin/nowhere"
    res = CliRunner().invoke(main, ["inventory", str(project), f"--compare={ref}"])
    assert res.exit_code == 2, res.output
    message, = res.stderr.splitlines()
    expected = {"unknown ref": "no such file, nor a commit, branch or tag of",
                "option-like ref": "no such file, nor a git commit, branch or tag",
                "not a repository": "is not inside a git work tree",
                "no git": "git was not found on PATH"}[case]
    assert message.startswith("apexscan: error: --compare ") and expected in message


# --- the page in a real browser -----------------------------------------------------------------

def test_the_browser_check_sees_console_errors(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><title>x</title><script>console.error('boom'); undefinedFunction();</script>",
                    encoding="utf-8")
    chromium.open(page.as_uri())
    errors = chromium.console_errors()
    assert any("boom" in e for e in errors) and any("Uncaught" in e or "undefinedFunction" in e for e in errors)


def test_html_renders_in_headless_chromium_and_highlights_a_finding(chromium, doc, tmp_path):
    page = tmp_path / "inventory.html"
    html = render_inventory_html(doc)
    page.write_text(html, encoding="utf-8")
    chromium.page("Emulation.setDeviceMetricsOverride", width=1400, height=1600, deviceScaleFactor=1, mobile=False)
    chromium.open(page.as_uri())
    shot = chromium.screenshot()
    (tmp_path / "inventory.png").write_bytes(shot)  # look at it: pytest --basetemp=DIR keeps it
    assert shot.startswith(b"\x89PNG") and len(shot) > 50_000
    assert chromium.evaluate("document.querySelector('svg').getBBox().width") > 900
    assert chromium.evaluate("document.documentElement.scrollWidth <= innerWidth")  # no sideways scrolling
    assert chromium.evaluate("document.querySelectorAll(\"tbody tr[id^='ch-']\").length") == len(doc["channels"])
    n = finding_number(html, doc, "apex-callout:RetirementPlanAssistant.explainProjection:Http.send", "APX-LLM-001")
    style = ("(s => getComputedStyle(document.querySelector(s)))")
    assert chromium.evaluate(f"{style}('.d-{n}').display") == "none"
    assert chromium.evaluate(f"{style}('.steps .hint').display") == "block"
    # select the finding as a click on its link would
    chromium.evaluate(f"document.querySelector('a.fl.f-{n}').click()")
    assert chromium.evaluate("location.hash") == f"#finding-{n}"
    assert chromium.evaluate(f"{style}('.d-{n}').display") == "block"
    assert chromium.evaluate(f"{style}('.steps .hint').display") == "none"
    assert chromium.evaluate(f"{style}('path.f-{n}').strokeWidth") == "3px"
    assert chromium.evaluate(f"{style}('g.f-{n}').opacity") == "1"
    assert chromium.evaluate(f"{style}('g.n:not(.f-{n})').opacity") == "0.3"
    assert chromium.evaluate("document.querySelector('.flows').getBoundingClientRect().top") < 200  # scrolled there
    selected = chromium.screenshot()
    (tmp_path / f"inventory-finding-{n}.png").write_bytes(selected)
    assert selected != shot
    assert chromium.console_errors() == []


def test_a_wildcard_csp_site_lists_the_llm_hosts_it_covers_as_its_finding_does(tmp_path):
    site = """
        <CspTrustedSite xmlns="http://soap.sforce.com/2006/04/metadata">
            <context>All</context>
            <endpointUrl>{url}</endpointUrl>
            <isActive>true</isActive>
            <isApplicableToConnectSrc>true</isApplicableToConnectSrc>
        </CspTrustedSite>
    """
    root = write_project(tmp_path, {
        "cspTrustedSites/Google_APIs.cspTrustedSite-meta.xml": site.format(url="https://*.googleapis.com"),
        "cspTrustedSites/Azure_OpenAI.cspTrustedSite-meta.xml": site.format(url="https://*.openai.azure.com"),
    })
    inventory = inventory_of(root)
    google = channel(inventory, "csp-trusted-site:Google_APIs")
    hosts = [d["host"] for d in google["destinations"]]
    assert "generativelanguage.googleapis.com" in hosts and "*.googleapis.com" not in hosts
    assert [f["rule"] for f in google["findings"]] == ["APX-CFG-003"]
    azure = channel(inventory, "csp-trusted-site:Azure_OpenAI")
    assert [(d["host"], d["provider"]) for d in azure["destinations"]] == [("*.openai.azure.com", "Azure OpenAI")]
