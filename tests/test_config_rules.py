"""Admin-configuration rules (APX-CFG-*): metadata alone opens a channel out of the org.

Each test writes a few real-looking metadata files, reads them with the metadata frontend and runs
`config_findings`. Lines that must be reported carry `<!-- expect: APX-CFG-00N -->`; look-alikes
that must stay silent carry `<!-- ok: why -->`, and the comparison is exact (file, line, rule).
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import assert_exact
from test_sarif import assert_valid

from apexscan.engine.model import Finding, Sensitivity, Verdict
from apexscan.frontends.metadata import ProjectMetadata, merge, parse_metadata_file
from apexscan.interfaces.report.sarif import render_sarif
from apexscan.pipeline.config_rules import config_findings
from apexscan.salesforce.hosts import load_registry
from apexscan.salesforce.policy import Policy
from apexscan.salesforce.rules import load_catalog
from apexscan.salesforce.sensitivity import FieldCatalog

DEFAULT = "force-app/main/default"
REGISTRY = load_registry()
XML = '<?xml version="1.0" encoding="UTF-8"?>\n'
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / DEFAULT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(XML + textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def read(root: Path) -> ProjectMetadata:
    facts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        file_facts, diagnostics = parse_metadata_file(path.relative_to(root).as_posix(), path.read_bytes())
        assert diagnostics == ()
        facts.append(file_facts)
    metadata = merge(facts)
    assert metadata.diagnostics == ()
    return metadata


def scan_config(root: Path, policy: Policy | None = None) -> list[Finding]:
    policy = policy or Policy()
    metadata = read(root)
    catalog = FieldCatalog.build(metadata, policy.sensitive_fields, policy.non_sensitive_fields)
    return config_findings(metadata, policy, REGISTRY, catalog)


def check(root: Path, findings: list[Finding]) -> None:
    assert_exact(root, SimpleNamespace(findings=findings))


def only(findings: list[Finding], rule_id: str) -> Finding:
    (finding,) = [f for f in findings if f.rule_id == rule_id]
    return finding


def remote_site(url: str, active: str = "true", marker: str = "") -> str:
    return f"""
        <RemoteSiteSetting {NS}>
            <description>Callout allow-list entry</description>
            <disableProtocolSecurity>false</disableProtocolSecurity>
            <isActive>{active}</isActive>
            <url>{url}</url>{marker}
        </RemoteSiteSetting>
        """


# --- APX-CFG-001: Remote Site Settings -----------------------------------------------------------


def test_active_remote_site_to_openai_is_reported_and_sovereign_or_non_llm_sites_are_not(tmp_path):
    root = write(tmp_path, {
        "remoteSiteSettings/OpenAI.remoteSite-meta.xml":
            remote_site("https://api.openai.com", marker=" <!-- expect: APX-CFG-001 -->"),
        "remoteSiteSettings/Mistral_EU.remoteSite-meta.xml":
            remote_site("https://api.eu.mistral.ai", marker=" <!-- ok: EU endpoint of an EU provider -->"),
        "remoteSiteSettings/GoogleMaps.remoteSite-meta.xml":
            remote_site("https://maps.googleapis.com", marker=" <!-- ok: not an LLM API -->"),
        "remoteSiteSettings/Claude_Pilot.remoteSite-meta.xml":
            remote_site("https://api.anthropic.com", active="false", marker=" <!-- ok: inactive -->"),
        "remoteSiteSettings/Self.remoteSite-meta.xml":
            remote_site("https://northbank.my.salesforce.com", marker=" <!-- ok: the org itself -->"),
    })
    findings = scan_config(root)
    check(root, findings)
    finding = only(findings, "APX-CFG-001")
    path = f"{DEFAULT}/remoteSiteSettings/OpenAI.remoteSite-meta.xml"
    assert finding.location.path == path
    assert "Remote Site Setting OpenAI" in finding.message
    assert "api.openai.com (OpenAI, seat US, region global)" in finding.message
    assert path in finding.message
    assert finding.destination.verdict == Verdict.FOREIGN
    assert finding.destination.how == "Remote Site Setting OpenAI"
    assert finding.paths == ((finding.paths[0][0],),) and finding.paths[0][0].location == finding.location


def test_remote_site_allowed_by_the_policy_stays_silent(tmp_path):
    root = write(tmp_path, {"remoteSiteSettings/OpenAI.remoteSite-meta.xml": remote_site("https://api.openai.com")})
    assert scan_config(root, Policy(allowed_hosts=("api.openai.com",))) == []
    assert scan_config(root, Policy(allowed_jurisdictions=("US",), allowed_regions=("GLOBAL",))) == []


# --- APX-CFG-002: Named Credentials --------------------------------------------------------------


def test_named_credentials_to_foreign_llms_are_reported_on_their_url_element(tmp_path):
    root = write(tmp_path, {
        "namedCredentials/Claude.namedCredential-meta.xml": f"""
            <NamedCredential {NS}>
                <allowMergeFieldsInBody>false</allowMergeFieldsInBody>
                <allowMergeFieldsInHeader>true</allowMergeFieldsInHeader>
                <endpoint>https://api.anthropic.com</endpoint> <!-- expect: APX-CFG-002 -->
                <label>Claude</label>
                <principalType>Anonymous</principalType>
                <protocol>NoAuthentication</protocol>
            </NamedCredential>
            """,
        "namedCredentials/OpenAI.namedCredential-meta.xml": f"""
            <NamedCredential {NS}>
                <label>OpenAI</label>
                <namedCredentialParameters>
                    <parameterName>Url</parameterName>
                    <parameterType>Url</parameterType>
                    <parameterValue>https://api.openai.com</parameterValue> <!-- expect: APX-CFG-002 -->
                </namedCredentialParameters>
                <namedCredentialParameters>
                    <externalCredential>OpenAI_Key</externalCredential>
                    <parameterName>ExternalCredential</parameterName>
                    <parameterType>Authentication</parameterType>
                </namedCredentialParameters>
                <namedCredentialType>SecuredEndpoint</namedCredentialType>
            </NamedCredential>
            """,
        "namedCredentials/Mistral_EU.namedCredential-meta.xml": f"""
            <NamedCredential {NS}>
                <label>Mistral EU</label>
                <namedCredentialParameters>
                    <parameterName>Url</parameterName>
                    <parameterType>Url</parameterType>
                    <parameterValue>https://api.eu.mistral.ai</parameterValue> <!-- ok: sovereign -->
                </namedCredentialParameters>
                <namedCredentialType>SecuredEndpoint</namedCredentialType>
            </NamedCredential>
            """,
        "namedCredentials/Geocoding.namedCredential-meta.xml": f"""
            <NamedCredential {NS}>
                <endpoint>https://maps.googleapis.com/maps/api</endpoint> <!-- ok: not an LLM API -->
                <label>Geocoding</label>
                <principalType>Anonymous</principalType>
                <protocol>NoAuthentication</protocol>
            </NamedCredential>
            """,
    })
    findings = scan_config(root)
    check(root, findings)
    openai = next(f for f in findings if "OpenAI" in f.message)
    assert "External Credential OpenAI_Key" in openai.message
    assert "callout:OpenAI" in openai.message
    assert "api.openai.com (OpenAI, seat US, region global)" in openai.message
    claude = next(f for f in findings if "Claude" in f.message)
    assert "External Credential" not in claude.message
    assert "api.anthropic.com (Anthropic, seat US" in claude.message


# --- APX-CFG-003: CSP Trusted Sites --------------------------------------------------------------


def csp(url: str, *flags: str, active: str = "true", context: str = "All", marker: str = "") -> str:
    lines = "".join(f"\n    <{flag}>true</{flag}>" for flag in flags)
    return f"""
<CspTrustedSite {NS}>
    <context>{context}</context>
    <endpointUrl>{url}</endpointUrl>{marker}
    <isActive>{active}</isActive>{lines}
</CspTrustedSite>
"""


def test_csp_trusted_sites_with_connect_src_to_foreign_llms(tmp_path):
    expect = " <!-- expect: APX-CFG-003 -->"
    root = write(tmp_path, {
        "cspTrustedSites/OpenAI.cspTrustedSite-meta.xml":
            csp("https://api.openai.com", "isApplicableToConnectSrc", marker=expect),
        "cspTrustedSites/Gemini_Old.cspTrustedSite-meta.xml":  # no isApplicableTo... at all: every directive
            csp("https://generativelanguage.googleapis.com", context="LEX", marker=expect),
        "cspTrustedSites/Azure_OpenAI.cspTrustedSite-meta.xml":
            csp("https://*.openai.azure.com", "isApplicableToConnectSrc", marker=expect),
        "cspTrustedSites/Google_APIs.cspTrustedSite-meta.xml":  # a wildcard that covers Gemini
            csp("https://*.googleapis.com", "isApplicableToConnectSrc", "isApplicableToImgSrc", marker=expect),
        "cspTrustedSites/OpenAI_Images.cspTrustedSite-meta.xml":
            csp("https://api.openai.com", "isApplicableToImgSrc", marker=" <!-- ok: images only -->"),
        "cspTrustedSites/OpenAI_Off.cspTrustedSite-meta.xml":
            csp("https://api.openai.com", "isApplicableToConnectSrc", active="false", marker=" <!-- ok: inactive -->"),
        "cspTrustedSites/Mistral_EU.cspTrustedSite-meta.xml":
            csp("https://api.eu.mistral.ai", "isApplicableToConnectSrc", marker=" <!-- ok: sovereign -->"),
        "cspTrustedSites/googleapis.cspTrustedSite-meta.xml":
            csp("https://www.googleapis.com", "isApplicableToConnectSrc", marker=" <!-- ok: not an LLM API -->"),
        "cspTrustedSites/ESA.cspTrustedSite-meta.xml":
            csp("https://*.my.salesforce-scrt.com", "isApplicableToConnectSrc", marker=" <!-- ok: not an LLM -->"),
    })
    findings = scan_config(root)
    check(root, findings)
    by_name = {f.extra[0][1]: f for f in findings}
    assert "isApplicableToConnectSrc is true" in by_name["CspTrustedSite OpenAI"].message
    old = by_name["CspTrustedSite Gemini_Old"]
    assert "applies every CSP directive" in old.message and "context LEX" in old.message
    azure = by_name["CspTrustedSite Azure_OpenAI"]
    assert azure.destination.host == "*.openai.azure.com" and azure.destination.provider == "Azure OpenAI"
    assert azure.confidence == "high"
    google = by_name["CspTrustedSite Google_APIs"]
    assert "any host under https://*.googleapis.com" in google.message
    assert "generativelanguage.googleapis.com (Google Gemini API" in google.message
    assert google.destination.host == "generativelanguage.googleapis.com"
    assert google.confidence == "medium"


# --- APX-CFG-004: External Services --------------------------------------------------------------

OPENAI_NC = f"""
<NamedCredential {NS}>
    <label>OpenAI</label>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://api.openai.com/v1</parameterValue> <!-- expect: APX-CFG-002 -->
    </namedCredentialParameters>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
</NamedCredential>
"""
MISTRAL_EU_NC = f"""
<NamedCredential {NS}>
    <label>Mistral EU</label>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://api.eu.mistral.ai</parameterValue>
    </namedCredentialParameters>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
</NamedCredential>
"""
YAML_SCHEMA = """openapi: 3.0.3
info:
  title: OpenAI Responses API
  version: 1.0.0
servers:
  - url: https://api.openai.com/v1
    description: OpenAI Production API
paths:
  /responses:
    post:
      operationId: createResponse"""


def esr(credential_tag: str, credential: str, marker: str = "", provider: str = "Custom",
        schema: str = YAML_SCHEMA) -> str:
    return f"""
<ExternalServiceRegistration {NS}>
    <label>Service</label>
    <{credential_tag}>{credential}</{credential_tag}>{marker}
    <operations>
        <active>true</active>
        <name>createresponse</name>
    </operations>
    <operations>
        <active>false</active>
        <name>deleteresponse</name>
    </operations>
    <registrationProviderType>{provider}</registrationProviderType>
    <schema>{schema}</schema>
    <schemaType>OpenApi3</schemaType>
    <status>Complete</status>
</ExternalServiceRegistration>
"""


def test_external_service_resolves_its_named_credential(tmp_path):
    root = write(tmp_path, {
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "namedCredentials/Mistral_EU.namedCredential-meta.xml": MISTRAL_EU_NC,
        "externalServiceRegistrations/OpenAIRs.externalServiceRegistration-meta.xml":
            esr("namedCredentialReference", "OpenAI", " <!-- expect: APX-CFG-004 -->"),
        # Its schema still names api.openai.com, but the callouts go to the credential: silent.
        "externalServiceRegistrations/MistralRs.externalServiceRegistration-meta.xml":
            esr("namedCredential", "Mistral_EU", " <!-- ok: the credential is sovereign -->"),
        "externalServiceRegistrations/OwnApex.externalServiceRegistration-meta.xml":
            esr("namedCredential", "OpenAI", " <!-- ok: the org's own Apex -->", provider="ApexRest"),
    })
    findings = scan_config(root)
    check(root, findings)
    finding = only(findings, "APX-CFG-004")
    assert "External Service OpenAIRs (operations createresponse)" in finding.message
    assert "deleteresponse" not in finding.message
    assert "through Named Credential OpenAI" in finding.message
    (path,) = finding.paths
    assert [step.location.path.rsplit("/", 1)[1] for step in path] == [
        "OpenAI.namedCredential-meta.xml", "OpenAIRs.externalServiceRegistration-meta.xml"]
    assert path[-1].location == finding.location and finding.confidence == "high"


def test_external_service_without_its_credential_falls_back_to_the_schema_servers(tmp_path):
    json_schema = '{"openapi": "3.0.0", "servers": [{"url": "https://api.anthropic.com/v1"}], "paths": {}}'
    root = write(tmp_path, {
        "externalServiceRegistrations/Claude.externalServiceRegistration-meta.xml":
            esr("namedCredential", "Claude_NC", " <!-- expect: APX-CFG-004 -->", schema=json_schema),
        "externalServiceRegistrations/Weather.externalServiceRegistration-meta.xml":
            esr("namedCredential", "Weather_NC", " <!-- ok: not an LLM API -->",
                schema='{"swagger": "2.0", "host": "api.brightsky.dev", "basePath": "/"}'),
    })
    findings = scan_config(root)
    check(root, findings)
    finding = only(findings, "APX-CFG-004")
    assert finding.confidence == "medium"
    assert "Named Credential Claude_NC is not in the project" in finding.message
    assert finding.destination.host == "api.anthropic.com"


# --- APX-CFG-005: Connected Apps -----------------------------------------------------------------

SECRET = "3MVG9fake.consumer.key.never.shown"


def connected_app(scopes: tuple[str, ...], policy: str = "", callback: str = "https://localhost:8443/callback",
                  client_credentials: str = "false", marker: str = "", config_marker: str = "") -> str:
    scope_lines = "".join(f"\n        <scopes>{s}</scopes>" for s in scopes)
    return f"""
<ConnectedApp {NS}>
    <contactEmail>integration.owner@northbank.example</contactEmail>
    <label>App</label>
    <oauthConfig>{config_marker}
        <callbackUrl>{callback}</callbackUrl>
        <certificate>MIIC-fake-certificate</certificate>
        <consumerKey>{SECRET}</consumerKey>
        <consumerSecret>fake-consumer-secret</consumerSecret>
        <isAdminApproved>true</isAdminApproved>
        <isClientCredentialEnabled>{client_credentials}</isClientCredentialEnabled>{scope_lines}
    </oauthConfig>{policy.replace("MARK", marker)}
</ConnectedApp>
"""


def oauth_policy(relaxation: str, refresh: str = "infinite") -> str:
    return f"""
    <oauthPolicy>
        <ipRelaxation>{relaxation}</ipRelaxation>MARK
        <refreshTokenPolicy>{refresh}</refreshTokenPolicy>
    </oauthPolicy>"""


def test_connected_app_with_api_scopes_and_relaxed_ip_restrictions(tmp_path):
    expect = " <!-- expect: APX-CFG-005 -->"
    root = write(tmp_path, {
        "connectedApps/AI_Assistant.connectedApp-meta.xml": connected_app(
            ("Api", "Full", "RefreshToken"), oauth_policy("BYPASS"), client_credentials="true", marker=expect),
        "connectedApps/Grok_Bridge.connectedApp-meta.xml": connected_app(
            ("Api",), oauth_policy("ENFORCE_ACTIVATED_DEVICES"), callback="https://api.x.ai/oauth/callback",
            marker=expect),
        "connectedApps/No_Policy.connectedApp-meta.xml": connected_app(
            ("Full", "Web"), config_marker=expect),
        "connectedApps/Enforced.connectedApp-meta.xml": connected_app(
            ("Api", "RefreshToken"), oauth_policy("ENFORCE"), marker=" <!-- ok: IP restrictions enforced -->"),
        "connectedApps/Login_Only.connectedApp-meta.xml": connected_app(
            ("OpenID", "Web"), oauth_policy("BYPASS"), marker=" <!-- ok: no data scope -->"),
        "connectedApps/Relax_Refresh.connectedApp-meta.xml": connected_app(
            ("Api",), oauth_policy("ENFORCE_RELAXREFRESH"), marker=" <!-- ok: no refresh tokens to relax -->"),
    })
    findings = scan_config(root)
    check(root, findings)
    by_name = {f.extra[0][1]: f for f in findings}
    assistant = by_name["ConnectedApp AI_Assistant"]
    assert "scopes Api, Full" in assistant.message and "ipRelaxation BYPASS" in assistant.message
    assert "never expire (refreshTokenPolicy infinite)" in assistant.message
    assert "client-credentials flow" in assistant.message
    assert assistant.confidence == "high"
    assert [step.location.line for step in assistant.paths[0]][-1] == assistant.location.line
    grok = by_name["ConnectedApp Grok_Bridge"]
    assert "for activated devices" in grok.message
    assert "callback URL is on api.x.ai (xAI, seat US" in grok.message
    assert grok.destination.provider == "xAI"
    unset = by_name["ConnectedApp No_Policy"]
    assert "sets no IP policy" in unset.message and unset.confidence == "medium"


def test_connected_app_secrets_are_never_kept_or_echoed(tmp_path):
    root = write(tmp_path, {"connectedApps/AI.connectedApp-meta.xml": connected_app(("Api",), oauth_policy("BYPASS"))})
    metadata = read(root)
    findings = scan_config(root)
    dumped = repr(metadata) + repr(findings)
    for secret in (SECRET, "fake-consumer-secret", "MIIC-fake-certificate", "integration.owner@"):
        assert secret not in dumped
    assert len(findings) == 1


# --- APX-CFG-006 / 007: Workflow outbound messages -----------------------------------------------

HF_US = "https://x7k2m9.us-east-1.aws.endpoints.huggingface.cloud/soap"


def outbound(name: str, url: str, fields: tuple[str, ...], session: str = "false", marker: str = "") -> str:
    field_lines = "".join(f"\n        <fields>{f}</fields>" for f in fields)
    return f"""
    <outboundMessages>
        <fullName>{name}</fullName>
        <apiVersion>61.0</apiVersion>
        <endpointUrl>{url}</endpointUrl>{marker}{field_lines}
        <includeSessionId>{session}</includeSessionId>
        <integrationUser>integration@northbank.example</integrationUser>
        <name>{name.replace("_", " ")}</name>
        <protected>false</protected>
        <useDeadLetterQueue>false</useDeadLetterQueue>
    </outboundMessages>"""


def workflow(*messages: str) -> str:
    return f"<Workflow {NS}>{''.join(messages)}\n</Workflow>\n"


def test_outbound_messages_to_llms_and_external_hosts(tmp_path):
    root = write(tmp_path, {
        "workflows/Contact.workflow-meta.xml": workflow(
            outbound("Summarize_Client", HF_US, ("Id", "Email", "Birthdate"), session="true",
                     marker=" <!-- expect: APX-CFG-006 -->"),
            outbound("Touch_Client", HF_US, ("Id", "LastModifiedDate"), marker=" <!-- expect: APX-CFG-006 -->"),
            outbound("Partner_Sync", "https://crm-sync.partner.example/soap", ("Id", "Email"),
                     marker=" <!-- expect: APX-CFG-007 -->"),
            outbound("Partner_Ping", "https://crm-sync.partner.example/ping", ("Id",), session="true",
                     marker=" <!-- expect: APX-CFG-007 -->"),
            outbound("Partner_Status", "https://crm-sync.partner.example/status", ("Id", "LastModifiedDate"),
                     marker=" <!-- ok: no sensitive field, no session id -->"),
            outbound("Gateway", "https://llm-gateway.bank.eu/outbound", ("Id", "Email", "Description"),
                     marker=" <!-- ok: the bank's own gateway (allowed_hosts) -->"),
            outbound("Self", "https://northbank.my.salesforce.com/services/apexrest/x", ("Email",),
                     marker=" <!-- ok: the org itself -->"),
        ),
    })
    findings = scan_config(root, Policy(allowed_hosts=("llm-gateway.bank.eu",)))
    check(root, findings)
    by_name = {f.extra[0][1]: f for f in findings}

    summarize = by_name["OutboundMessage Contact.Summarize_Client"]
    assert summarize.level == ""  # the rule's default: error
    assert [str(ref) for ref, _ in summarize.fields] == ["Contact.Birthdate", "Contact.Email", "Contact.Id"]
    assert summarize.fields[0][1].sensitivity == Sensitivity.SENSITIVE
    assert ("Contact.Birthdate (personal), Contact.Email (personal), Contact.Id to "
            "x7k2m9.us-east-1.aws.endpoints.huggingface.cloud (Hugging Face Inference Endpoints, seat US, "
            "region US)") in summarize.message
    assert "session id" in summarize.message
    assert f"{DEFAULT}/workflows/Contact.workflow-meta.xml" in summarize.message
    # One path per sensitive field: from its <fields> element to the <endpointUrl> element.
    assert len(summarize.paths) == 2
    for path in summarize.paths:
        assert path[0].location.line > summarize.location.line and path[-1].location == summarize.location

    touch = by_name["OutboundMessage Contact.Touch_Client"]
    assert touch.level == "warning"  # only non-sensitive fields, no session id
    assert touch.paths == ((touch.paths[0][0],),) and touch.paths[0][0].location == touch.location

    assert "Contact.Email (personal)" in by_name["OutboundMessage Contact.Partner_Sync"].message
    assert "crm-sync.partner.example" in by_name["OutboundMessage Contact.Partner_Sync"].message
    assert "session id" in by_name["OutboundMessage Contact.Partner_Ping"].message


def test_policy_field_lists_change_the_outbound_message_result(tmp_path):
    root = write(tmp_path, {"workflows/Account.workflow-meta.xml": workflow(
        outbound("Score", "https://scoring.partner.example/soap", ("Id", "Risk_Score__c")))})
    assert scan_config(root) == []
    findings = scan_config(root, Policy(sensitive_fields=("Account.Risk_Score__c",)))
    assert [f.rule_id for f in findings] == ["APX-CFG-007"]


def test_decomposed_and_mdapi_outbound_messages_take_the_object_from_the_path(tmp_path):
    decomposed = f"""
<WorkflowOutboundMessage {NS}>
    <fullName>Push_To_Scoring</fullName>
    <apiVersion>61.0</apiVersion>
    <endpointUrl>https://scoring.partner.example/soap</endpointUrl>
    <fields>Id</fields>
    <fields>AnnualRevenue</fields>
    <includeSessionId>false</includeSessionId>
    <integrationUser>integration@northbank.example</integrationUser>
    <name>Push to scoring</name>
    <protected>false</protected>
</WorkflowOutboundMessage>
"""
    decomposed_rel = "workflows/Account/workflowOutboundMessages/Push_To_Scoring.workflowOutboundMessage-meta.xml"
    root = write(tmp_path, {
        decomposed_rel: decomposed,
        "unpackaged/workflows/Lead.workflow": workflow(
            outbound("Lead_Push", "https://leads.partner.example/soap", ("Id", "Email"))),
    })
    findings = scan_config(root)
    decomposed_path = f"{DEFAULT}/{decomposed_rel}"
    assert [(f.rule_id, f.location.path, f.location.line) for f in findings] == [
        ("APX-CFG-007", f"{DEFAULT}/unpackaged/workflows/Lead.workflow", 6),
        ("APX-CFG-007", decomposed_path, 5),
    ]
    assert [[str(ref) for ref, _ in f.fields] for f in findings] == [
        ["Lead.Email", "Lead.Id"], ["Account.AnnualRevenue", "Account.Id"]]


# --- all rules together --------------------------------------------------------------------------


def test_findings_are_deterministic_sorted_and_render_as_sarif_code_flows(tmp_path):
    root = write(tmp_path, {
        "remoteSiteSettings/OpenAI.remoteSite-meta.xml": remote_site("https://api.openai.com"),
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "cspTrustedSites/OpenAI.cspTrustedSite-meta.xml": csp("https://api.openai.com", "isApplicableToConnectSrc"),
        "externalServiceRegistrations/OpenAIRs.externalServiceRegistration-meta.xml":
            esr("namedCredentialReference", "OpenAI"),
        "connectedApps/AI.connectedApp-meta.xml": connected_app(("Api",), oauth_policy("BYPASS")),
        "workflows/Contact.workflow-meta.xml": workflow(outbound("Summarize", HF_US, ("Id", "Email"))),
    })
    first, second = scan_config(root), scan_config(root)
    assert first == second
    assert first == sorted(first, key=lambda f: (f.location.path, f.location.line, f.rule_id))
    assert {f.rule_id for f in first} == {f"APX-CFG-00{n}" for n in range(1, 7)}
    catalog = load_catalog()
    doc = render_sarif(first, catalog, [], tool_version="0", source_root=None, file_texts={})
    assert_valid(doc)
    results = doc["runs"][0]["results"]
    assert len(results) == len(first)
    for result in results:
        assert catalog.ids[result["ruleIndex"]] == result["ruleId"]
        flow = result["codeFlows"][0]["threadFlows"][0]["locations"]
        assert flow[-1]["location"]["physicalLocation"] == result["locations"][0]["physicalLocation"]


@pytest.mark.parametrize("verdict_host", ["https://api.eu.mistral.ai", "https://maps.googleapis.com",
                                          "https://northbank.my.salesforce.com"])
def test_sovereign_non_llm_and_in_org_hosts_give_no_endpoint_findings(tmp_path, verdict_host):
    root = write(tmp_path, {
        "remoteSiteSettings/Site.remoteSite-meta.xml": remote_site(verdict_host),
        "namedCredentials/Site.namedCredential-meta.xml": f"""
            <NamedCredential {NS}>
                <endpoint>{verdict_host}</endpoint>
                <label>Site</label>
            </NamedCredential>
            """,
        "cspTrustedSites/Site.cspTrustedSite-meta.xml": csp(verdict_host, "isApplicableToConnectSrc"),
        "externalServiceRegistrations/Site.externalServiceRegistration-meta.xml": esr("namedCredential", "Site"),
    })
    assert scan_config(root) == []


# --- APX-CFG-008: Data Loader extract jobs -------------------------------------------------------

SPRING_DOCTYPE = ('<!DOCTYPE beans PUBLIC "-//SPRING//DTD BEAN//EN" '
                  '"http://www.springframework.org/dtd/spring-beans.dtd">\n')


def process(name: str, operation: str, soql: str, target: str, access: str = "csvWrite", marker: str = "") -> str:
    return f"""
    <bean id="{name}" class="com.salesforce.dataloader.process.ProcessRunner" scope="prototype">
        <property name="name" value="{name}"/>
        <property name="configOverrideMap">
            <map>
                <entry key="sfdc.endpoint" value="https://login.salesforce.com"/>
                <entry key="sfdc.username" value="ops@northbank.example"/>
                <entry key="sfdc.password" value="4285b36161c65a22"/>
                <entry key="process.operation" value="{operation}"/>
                <entry key="sfdc.extractionSOQL" value="{soql}"/>{marker}
                <entry key="dataAccess.type" value="{access}"/>
                <entry key="dataAccess.name" value="{target}"/>
            </map>
        </property>
    </bean>"""


def beans(*items: str) -> str:
    return SPRING_DOCTYPE + f"<beans>{''.join(items)}\n</beans>\n"


DATABASE_CONF = beans("""
    <bean id="dwhSource" class="org.apache.commons.dbcp2.BasicDataSource">
        <property name="url" value="jdbc:postgresql://dwh.northbank.example:5432/crm"/>
        <property name="password" value="s3cret"/>
    </bean>
    <bean id="clientTable" class="com.salesforce.dataloader.dao.database.DatabaseConfig">
        <property name="dataSource" ref="dwhSource"/>
    </bean>""")


def write_dataloader(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(XML + text, encoding="utf-8")
    return root


def test_data_loader_extracts_of_sensitive_fields_are_reported_at_their_soql(tmp_path):
    root = write(tmp_path, {
        "objects/Loan__c/fields/Salary__c.field-meta.xml": f"""
            <CustomField {NS}>
                <fullName>Salary__c</fullName>
                <complianceGroup>GDPR</complianceGroup>
                <securityClassification>Confidential</securityClassification>
                <type>Currency</type>
            </CustomField>
            """,
    })
    write_dataloader(root, {
        "ops/dataloader/process-conf.xml": beans(
            process("clientExtract", "extract", "SELECT Id, FirstName, LastName, Birthdate, Owner.Email FROM Contact",
                    "/srv/exports/clients.csv", marker=" <!-- expect: APX-CFG-008 -->"),
            process("loanExtract", "extract_all", "SELECT Id, Salary__c, Status__c FROM Loan__c",
                    "c:\\dataloader\\loans.csv", marker=" <!-- expect: APX-CFG-008 -->"),
            process("clientWarehouse", "extract", "SELECT FIELDS(STANDARD) FROM Contact", "clientTable",
                    access="databaseWrite", marker=" <!-- expect: APX-CFG-008 -->"),
            process("segmentExtract", "extract", "SELECT Id, Industry, Type, CreatedDate FROM Account",
                    "/srv/exports/segments.csv", marker=" <!-- ok: only non-sensitive fields -->"),
            process("clientInsert", "insert", "SELECT Id, Email FROM Contact", "/srv/imports/clients.csv",
                    access="csvRead", marker=" <!-- ok: data comes into the org -->"),
        ),
        "ops/dataloader/database-conf.xml": DATABASE_CONF,
    })
    findings = scan_config(root)
    check(root, findings)
    by_name = {dict(f.extra)["context"]: f for f in findings}

    clients = by_name["DataLoaderProcess ops/dataloader/clientExtract"]
    assert [str(ref) for ref, _ in clients.fields] == [
        "Contact.Birthdate", "Contact.FirstName", "Contact.LastName", "User.Email", "Contact.Id"]
    assert ("Data Loader process clientExtract (extract) exports Contact.Birthdate (personal), Contact.FirstName "
            "(personal), Contact.LastName (personal), User.Email (personal), Contact.Id of every Contact record "
            "its query matches in the org at https://login.salesforce.com into the CSV file /srv/exports/clients.csv"
            ) in clients.message
    assert "ops/dataloader/process-conf.xml" in clients.message
    assert clients.destination.url == "/srv/exports/clients.csv" and clients.destination.verdict == Verdict.NOT_LLM
    assert len(clients.paths) == 4  # one per sensitive field, each at the SOQL entry
    assert all(path[-1].location == clients.location for path in clients.paths)
    for secret in ("ops@northbank.example", "4285b36161c65a22", "s3cret"):
        assert all(secret not in f.message for f in findings)

    loans = by_name["DataLoaderProcess ops/dataloader/loanExtract"]
    assert loans.fields[0][0].field == "Salary__c" and "complianceGroup GDPR" in loans.fields[0][1].reason
    assert "(deleted and archived ones too)" in loans.message

    warehouse = by_name["DataLoaderProcess ops/dataloader/clientWarehouse"]
    assert "every field of Contact (personal)" in warehouse.message
    assert ("into the database of bean clientTable (jdbc:postgresql://dwh.northbank.example:5432/crm)"
            in warehouse.message)
    assert warehouse.destination.host == "dwh.northbank.example"


def test_policy_decides_for_data_loader_fields_and_database_hosts(tmp_path):
    root = write_dataloader(tmp_path, {
        "process-conf.xml": beans(
            process("noteExtract", "extract", "SELECT Id, Advisor_Notes__c FROM Portfolio__c", "notes.csv"),
            process("clientWarehouse", "extract", "SELECT Id, Email FROM Contact", "clientTable",
                    access="databaseWrite")),
        "database-conf.xml": DATABASE_CONF,
    })
    assert sorted(dict(f.extra)["context"] for f in scan_config(root)) == [
        "DataLoaderProcess clientWarehouse", "DataLoaderProcess noteExtract"]
    policy = Policy(allowed_hosts=("dwh.northbank.example",), non_sensitive_fields=("Portfolio__c.Advisor_Notes__c",))
    assert scan_config(root, policy) == []


def test_database_extract_whose_bean_is_missing_says_so(tmp_path):
    root = write_dataloader(tmp_path, {"conf/process-conf.xml": beans(
        process("clientWarehouse", "extract", "SELECT Id, Email FROM Contact", "clientTable",
                access="databaseWrite"))})
    (finding,) = scan_config(root)
    assert "the database of bean clientTable (no database-conf.xml bean of that name in the project)" in finding.message
    assert finding.destination.note == "database bean clientTable is not in the project"
