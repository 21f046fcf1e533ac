"""Mule apps' configuration: property files, the pom.xml deployment, and the rules on them."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from mule_helpers import (
    OPENAI,
    QUERY_CONTACT,
    SALESFORCE,
    by_rule,
    deployment,
    line_of,
    scan_tree,
    write_app,
)

from apexscan.frontends.mule.project import parse_mule_project
from apexscan.frontends.mule.properties import parse_property_file
from apexscan.interfaces.cli import main
from apexscan.pipeline import suppress
from apexscan.pipeline.project import discover
from apexscan.salesforce.rules import load_catalog

RES = "apps/crm/src/main/resources/"


def values(rel: str, text: str) -> dict[str, tuple[str, str]]:
    facts, diags = parse_property_file(rel, text.encode())
    assert not diags, diags
    assert all(v.scope == "apps/crm" for v in facts.config_values)
    return {v.key: (v.value, v.confidence) for v in facts.config_values}


def test_properties_files_follow_java_syntax():
    text = ("# comment\n! also a comment\nhttp.host = api.openai.com\nhttp.path:/v1\nplain value\n"
            "long = first \\\n    second\nescaped\\:key=a\\u0041\nempty=\nurl=https://${http.host}${http.path}\n")
    assert values(RES + "dev.properties", text) == {
        "http.host": ("api.openai.com", "high"), "http.path": ("/v1", "high"), "plain": ("value", "high"),
        "long": ("first second", "high"), "escaped:key": ("aA", "high"),
        "url": ("https://api.openai.com/v1", "high")}  # empty = not set; same-file references expanded


def test_yaml_is_flattened_with_dots_and_a_reference_to_another_file_is_a_hole():
    text = "llm:\n  host: api.mistral.ai\n  url: \"https://${llm.host}/${llm.version}\"\nports: [8081, 8082]\n"
    assert values(RES + "config.yaml", text) == {
        "llm.host": ("api.mistral.ai", "high"), "llm.url": ("https://api.mistral.ai/\x00", "high"),
        "ports[0]": ("8081", "high"), "ports[1]": ("8082", "high")}


def test_example_files_and_connector_json_are_low_confidence():
    assert values(RES + "config.properties.example", "openai.model=gpt-4o\n") == {"openai.model": ("gpt-4o", "low")}
    assert values(RES + "envVars.json", '{"OLLAMA": {"OLLAMA_BASE_URL": "http://ollama:11434"}}') == \
        {"OLLAMA.OLLAMA_BASE_URL": ("http://ollama:11434", "low")}


def test_secrets_are_never_kept():
    text = ("salesforce.password=hunter2\nopenai.apikey=sk-live\nAZURE_OPENAI_KEY=k\nmcp.clientSecret=s\n"
            "salesforce.securityToken=t\nsalesforce.tokenUrl=https://bank.my.salesforce.com/services/oauth2/token\n"
            "tls.keystore.password=x\nurl=https://x.example/${openai.apikey}\n")
    kept = values(RES + "a.properties", text)
    assert set(kept) == {"salesforce.tokenUrl", "url"}
    assert kept["url"] == ("https://x.example/\x00", "high")  # a secret is not even expanded
    assert "hunter2" not in repr(parse_property_file(RES + "a.properties", text.encode()))


def test_hostile_yaml_is_bounded():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
    facts, diags = parse_property_file(RES + "bomb.yaml", bomb.encode())
    assert len(facts.config_values) <= 50_000 and diags and "aliases" in diags[0].message
    facts, diags = parse_property_file(RES + "bad.yaml", b"a: [unclosed\n")
    assert not facts.config_values and diags[0].stage == "parse"
    facts, diags = parse_property_file(RES + "deep.yaml", b"a: " + b"[" * 50_000 + b"]" * 50_000)
    assert not facts.config_values and "nested too deeply" in diags[0].message
    facts, diags = parse_property_file(RES + "huge.properties", b"k=v\n" * 600_000)
    assert not facts.config_values and "larger than" in diags[0].message


def test_pom_deployment_region_with_maven_properties():
    pom = """<project><artifactId>crm</artifactId><packaging>mule-application</packaging>
    <properties><ch.region>eu-central-1</ch.region></properties>""" + deployment(
        "cloudHubDeployment", "region", "${ch.region}") + "</project>"
    (unit,), _ = parse_mule_project("apps/crm/pom.xml", pom.encode())[0].units, None
    assert (unit.scope, unit.name, unit.deployment, unit.region, unit.region_code) == \
        ("apps/crm", "crm", "CloudHub", "eu-central-1", "eu-central-1")
    ch2 = "<project><artifactId>x</artifactId><packaging>mule-application</packaging>" + deployment(
        "cloudhub2Deployment", "target", "US East (Ohio)") + "</project>"
    assert parse_mule_project("x/pom.xml", ch2.encode())[0].units[0].region_code == "us-east-2"
    private = "<project><artifactId>x</artifactId><packaging>mule-application</packaging>" + deployment(
        "cloudhub2Deployment", "target", "bank-private-space", uri="https://eu1.anypoint.mulesoft.com") + "</project>"
    assert parse_mule_project("x/pom.xml", private.encode())[0].units[0].region_code == "eu"  # the control plane


# --- APX-MULE-001 / 002 ------------------------------------------------------------------------------------


def test_unused_ai_config_for_a_foreign_provider_is_reported_and_a_used_or_sovereign_one_is_not(tmp_path):
    configs = OPENAI + """
    <ms-aichain:config name="Dormant" llmType="ANTHROPIC" modelName="claude"/>
    <ms-inference:text-generation-config name="Gateway"><ms-inference:openai-compatible-connection openAICompatibleURL="https://llm-gateway.bank.eu/v1"/></ms-inference:text-generation-config>
    <ms-inference:text-generation-config name="Unknown"><ms-inference:openai-compatible-connection openAICompatibleURL="${llm.url}"/></ms-inference:text-generation-config>
    <flow name="main"><scheduler/><ms-inference:chat-answer-prompt config-ref="OpenAI"/></flow>"""
    app = write_app(tmp_path, "app", {"global.xml": configs})
    found = by_rule(scan_tree(tmp_path), "APX-MULE-001")
    assert [(f.location.line, f.destination.host) for f in found] == [
        (line_of(app / "src/main/mule/global.xml", 'name="Dormant"'), "api.anthropic.com")]
    assert "no operation of the app uses it" in found[0].message


def test_a_config_is_used_by_an_operation_of_another_file_of_the_same_app_only(tmp_path):
    write_app(tmp_path, "a", {"global.xml": OPENAI, "flows.xml": '<flow name="f"><scheduler/>'
                              '<ms-inference:chat-answer-prompt config-ref="OpenAI"/></flow>'})
    write_app(tmp_path, "b", {"global.xml": OPENAI})
    assert [f.location.path for f in by_rule(scan_tree(tmp_path), "APX-MULE-001")] == ["b/src/main/mule/global.xml"]


def test_an_app_reading_salesforce_data_deployed_outside_the_allowed_regions(tmp_path):
    reader = {"main.xml": SALESFORCE + '<flow name="f"><scheduler/>' + QUERY_CONTACT + "</flow>"}
    write_app(tmp_path, "us", reader, build=deployment("cloudHubDeployment", "region", "us-east-2"))
    write_app(tmp_path, "eu", reader, build=deployment("cloudhub2Deployment", "target", "Cloudhub-EU-Central-1"))
    write_app(tmp_path, "quiet", {"main.xml": '<flow name="f"><scheduler/><logger message="hi"/></flow>'},
              build=deployment("cloudHubDeployment", "region", "us-east-1"))
    write_app(tmp_path, "nowhere", reader)
    (finding,) = by_rule(scan_tree(tmp_path), "APX-MULE-002")
    assert finding.location.path == "us/pom.xml" and finding.location.line == line_of(tmp_path / "us/pom.xml", "<region>")
    assert "reads Salesforce data (Contact)" in finding.message and "region US" in finding.message
    assert finding.paths[0][0].location.path == "us/src/main/mule/main.xml"


# --- suppressions -----------------------------------------------------------------------------------------


def test_suppression_comments_in_mule_xml_work_as_in_metadata(tmp_path):
    body = SALESFORCE + OPENAI + """<flow name="f"><scheduler/>""" + QUERY_CONTACT + """
    <!-- apexscan:ignore APX-LLM-001 DPA with OpenAI Ireland signed 2025-03, ticket PRIV-88 -->
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Excused" target="y"/>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Reported" target="x"/> <!-- apexscan:ignore APX-LLM-001 -->
    </flow>"""
    write_app(tmp_path, "app", {"main.xml": body})
    project = discover([tmp_path])
    result = scan_tree(tmp_path)
    applied = suppress.apply_in_project(project, result.findings, load_catalog())
    llm = {(f.location.line, f.suppression) for f in applied if f.rule_id == "APX-LLM-001"}
    path = tmp_path / "app/src/main/mule/main.xml"
    assert llm == {(line_of(path, '"Excused"'), "DPA with OpenAI Ireland signed 2025-03, ticket PRIV-88"),
                   (line_of(path, '"Reported"'), "")}
    assert [f.location.line for f in applied if f.rule_id == "APX-SUP-001"] == [line_of(path, '"Reported"')]


# --- the command line --------------------------------------------------------------------------------------


def test_a_repository_of_mule_apps_only_scans_with_the_usual_exit_codes(tmp_path):
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + '<flow name="f"><scheduler/>' + QUERY_CONTACT +
                                '<ms-inference:chat-answer-prompt config-ref="OpenAI"/></flow>'})
    runner = CliRunner()
    leak = runner.invoke(main, ["scan", str(tmp_path), "--format", "json", "--no-cache"])
    assert leak.exit_code == 1, leak.output
    assert {r["rule"] for r in json.loads(leak.stdout)["findings"]} >= {"APX-LLM-001", "APX-LLM-002"}
    (tmp_path / "app/src/main/mule/main.xml").write_text(
        (tmp_path / "app/src/main/mule/main.xml").read_text().replace('config-ref="OpenAI"/>', 'config-ref="OpenAI" '
                                                                      'target="x"><ms-inference:prompt>hi'
                                                                      '</ms-inference:prompt></ms-inference:chat-answer-prompt>'))
    assert runner.invoke(main, ["scan", str(tmp_path), "--no-cache"]).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = runner.invoke(main, ["scan", str(empty), "--no-cache"])
    assert nothing.exit_code == 2 and "Mule apps" in nothing.output


def test_the_pre_commit_hook_runs_for_mule_app_files():
    import re

    import yaml
    hook = yaml.safe_load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text("utf-8"))[0]
    pattern = re.compile(hook["files"])
    for rel in ("integration/crm/src/main/mule/global.xml", "crm/src/main/resources/config.yaml",
                "crm/src/main/resources/dw/prompt.dwl", "crm/src/main/resources/app.properties.example",
                "crm/pom.xml", "mule-artifact.json"):
        assert pattern.search(rel), rel
    assert not pattern.search("crm/src/test/munit/test.xml")
