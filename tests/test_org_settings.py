"""Org-side settings that decide where data may go: the Einstein generative AI settings (APX-CFG-009),
External Client Apps (APX-CFG-010, APX-CFG-011) and Private Connect outbound network connections
(the region of a Named Credential bound to one)."""
from __future__ import annotations

import pytest
from conftest import OPENAI_NC, assert_exact, data_findings, run
from test_config_rules import NS, check, only, read, scan_config, write

from apexscan.engine.model import Verdict
from apexscan.frontends.metadata import parse_metadata_file
from apexscan.pipeline.config_rules import einstein_routing
from apexscan.salesforce.policy import Policy

EU = Policy(allowed_jurisdictions=("EU", "EEA"), allowed_regions=("EU", "EEA"))


def einstein(**flags: str) -> str:
    body = "\n".join(f"    <{name}>{value}</{name}>" for name, value in flags.items())
    return f"<EinsteinGptSettings {NS}>\n{body}\n</EinsteinGptSettings>\n"


SETTINGS = "settings/EinsteinGpt.settings-meta.xml"


# --- APX-CFG-009: Einstein generative AI settings ---------------------------------------------------

def test_region_fallback_left_on_lets_prompts_leave_the_region(tmp_path):
    root = write(tmp_path, {SETTINGS: einstein(
        disableAIProvAWSBedrock="true", disableAIProvAzureOpenAI="false", disableAIProvOpenAI="false",
        disableAIProviderRegionFallback="false <!-- expect: APX-CFG-009 -->", enableEinsteinGptPlatform="true")})
    findings = scan_config(root, EU)
    check(root, findings)
    finding = only(findings, "APX-CFG-009")
    assert "fall back outside the model endpoint's region" in finding.message
    assert (finding.destination.region, finding.confidence) == ("US", "high")


def test_fallback_not_set_is_its_default_and_medium_confidence(tmp_path):
    root = write(tmp_path, {SETTINGS: einstein(disableAIProvAWSBedrock="true", enableEinsteinGptPlatform="true")})
    (finding,) = scan_config(root, EU)
    assert finding.rule_id == "APX-CFG-009" and finding.confidence == "medium"
    assert finding.location.line == 2  # the root (after the XML declaration): no element to point at


def test_bedrock_left_on_serves_some_models_outside_the_region(tmp_path):
    root = write(tmp_path, {SETTINGS: einstein(
        disableAIProvAWSBedrock="false <!-- expect: APX-CFG-009 -->", disableAIProvOpenAI="true",
        disableAIProviderRegionFallback="true", enableEinsteinGptPlatform="true")})
    findings = scan_config(root, EU)
    check(root, findings)
    assert "Amazon Bedrock is on" in only(findings, "APX-CFG-009").message


def test_fallback_disabled_and_only_in_region_providers_is_silent(tmp_path):
    root = write(tmp_path, {SETTINGS: einstein(
        disableAIProvAWSBedrock="true", disableAIProvAzureOpenAI="false", disableAIProvOpenAI="true",
        disableAIProviderRegionFallback="true", enableEinsteinGptPlatform="true")})
    assert scan_config(root, EU) == []


def test_generative_ai_off_or_a_policy_allowing_the_us_is_silent(tmp_path):
    root = write(tmp_path, {SETTINGS: einstein(enableEinsteinGptPlatform="false")})
    assert scan_config(root, EU) == []
    root2 = write(tmp_path / "us", {SETTINGS: einstein(enableEinsteinGptPlatform="true")})
    assert scan_config(root2, Policy(allowed_jurisdictions=("US",), allowed_regions=("US", "EU"))) == []


def test_older_enable_provider_switches_are_read(tmp_path):
    root = write(tmp_path, {SETTINGS: einstein(
        enableAIProviderAWSBedrock="false", enableAIProviderAzureOpenAI="false", enableAIProviderGoogleVertex="true",
        enableAIProviderOpenAI="false", enableEinsteinGptPlatform="true")})
    routing = einstein_routing(read(root))
    assert [p.provider for p in routing.enabled] == ["Google Vertex AI"]
    assert scan_config(root, EU) == []  # no provider on that falls back or serves outside the region


def test_other_settings_files_are_read_without_facts_or_diagnostics():
    facts, diagnostics = parse_metadata_file("force-app/main/default/settings/Security.settings-meta.xml",
                                             f"<SecuritySettings {NS}><sessionSettings/></SecuritySettings>".encode())
    assert diagnostics == () and facts.einstein_settings == ()


TEMPLATE = """
<?xml version="1.0" encoding="UTF-8"?>
<GenAiPromptTemplate xmlns="http://soap.sforce.com/2006/04/metadata">
    <developerName>Note</developerName>
    <masterLabel>Note</masterLabel>
    <templateVersions>
        <content>Write to {!$Input:Client.FirstName}</content> <!-- expect: APX-LLM-001 -->
        <inputs><apiName>Client</apiName><definition>SOBJECT://Contact</definition><referenceName>Input:Client</referenceName></inputs>
        <primaryModel>sfdc_ai__DefaultGPT4Omni</primaryModel>
    </templateVersions>
</GenAiPromptTemplate>
"""


def test_salesforce_hosted_destinations_say_what_the_settings_allow(project):
    root = project({
        "genAiPromptTemplates/Note.genAiPromptTemplate-meta.xml": TEMPLATE,
        SETTINGS: '<?xml version="1.0" encoding="UTF-8"?>\n' + einstein(
            disableAIProvAWSBedrock="true", disableAIProviderRegionFallback="false <!-- expect: APX-CFG-009 -->"),
        "settings/EinsteinAI.settings-meta.xml": f'<?xml version="1.0" encoding="UTF-8"?>\n<EinsteinAISettings {NS}>'
                                                 "<enableTrustPIIMasking>false</enableTrustPIIMasking></EinsteinAISettings>",
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    note = finding.destination.note
    assert "Einstein settings (force-app/main/default/settings/EinsteinGpt.settings-meta.xml)" in note
    assert "turned off: Amazon Bedrock" in note and "region fallback allowed" in note
    assert "Trust Layer data masking off" in note


# --- APX-CFG-010 / 011: External Client Apps --------------------------------------------------------

def eca_files(relaxation: str = "Bypass", scopes: str = "Api, RefreshToken", ranges: str = "",
              secret: str = "", marker: str = "<!-- expect: APX-CFG-010 -->") -> dict[str, str]:
    files = {
        "externalClientApps/Research_Assistant.eca-meta.xml": f"""
            <ExternalClientApplication {NS}>
                <contactEmail>it@northbank.example</contactEmail>
                <distributionState>Local</distributionState>
                <label>Research Assistant</label>
            </ExternalClientApplication>
        """,
        "extlClntAppOauthSettings/Research_Assistant_oauth.ecaOauth-meta.xml": f"""
            <ExtlClntAppOauthSettings {NS}>
                <commaSeparatedOauthScopes>{scopes}</commaSeparatedOauthScopes>
                <externalClientApplication>Research_Assistant</externalClientApplication>
                <label>Research Assistant OAuth</label>{ranges}
            </ExtlClntAppOauthSettings>
        """,
        "extlClntAppOauthPolicies/Research_Assistant_oauthPlcy.ecaOauthPlcy-meta.xml": f"""
            <ExtlClntAppOauthConfigurablePolicies {NS}>
                <externalClientApplication>Research_Assistant</externalClientApplication>
                <ipRelaxationPolicyType>{relaxation}</ipRelaxationPolicyType> {marker}
                <refreshTokenPolicyType>Infinite</refreshTokenPolicyType>
            </ExtlClntAppOauthConfigurablePolicies>
        """,
    }
    if secret:
        files["extlClntAppGlobalOauthSets/Research_Assistant_glbloauth.ecaGlblOauth-meta.xml"] = f"""
            <ExtlClntAppGlobalOauthSettings {NS}>
                <callbackUrl>https://chatgpt.com/connector_platform_oauth_redirect</callbackUrl>
                <consumerKey>3MVG9LOOKSLIKEAKEY</consumerKey>
                {secret}
                <externalClientApplication>Research_Assistant</externalClientApplication>
                <label>Research Assistant</label>
            </ExtlClntAppGlobalOauthSettings>
        """
    return files


def test_eca_with_api_scopes_and_ip_bypass_is_reported_on_the_policy(tmp_path):
    root = write(tmp_path, eca_files())
    findings = scan_config(root)
    check(root, findings)
    finding = only(findings, "APX-CFG-010")
    assert "External Client App Research_Assistant grants API access" in finding.message
    assert "never expire" in finding.message


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"relaxation": "Enforce"}, "IP restrictions enforced"),
    ({"scopes": "OpenID, Profile"}, "no data scope"),
    ({"ranges": "<trustedIpRanges><startIpAddress>10.0.0.0</startIpAddress>"
                "<endIpAddress>10.0.0.255</endIpAddress></trustedIpRanges>"}, "trusted ranges"),
    ({"relaxation": "Enforce_RelaxRefresh", "scopes": "Api"}, "relaxed only for refresh tokens it never gets"),
])
def test_eca_look_alikes_are_silent(tmp_path, kwargs, why):
    root = write(tmp_path, eca_files(marker=f"<!-- ok: {why} -->", **kwargs))
    check(root, scan_config(root))


def test_committed_consumer_secret_is_its_own_finding_and_never_echoed(tmp_path):
    root = write(tmp_path, eca_files(relaxation="Enforce", marker="",
                                     secret="<consumerSecret>S3CR3T0VALUE0123</consumerSecret> <!-- expect: APX-CFG-011 -->"))
    findings = scan_config(root)
    check(root, findings)
    assert only(findings, "APX-CFG-011").location.path.endswith(".ecaGlblOauth-meta.xml")
    assert "S3CR3T" not in repr(findings) and "3MVG9LOOKSLIKEAKEY" not in repr(read(root))


def test_global_settings_without_a_secret_are_not_reported(tmp_path):
    root = write(tmp_path, eca_files(secret="<isPkceRequired>true</isPkceRequired>"))
    findings = scan_config(root)
    check(root, findings)
    assert [f.rule_id for f in findings] == ["APX-CFG-010"]
    assert read(root).eca_global_oauth["research_assistant"].callback_urls == (
        "https://chatgpt.com/connector_platform_oauth_redirect",)


def test_eca_without_a_policy_file_keeps_salesforces_default_enforce(tmp_path):
    files = eca_files()
    del files["extlClntAppOauthPolicies/Research_Assistant_oauthPlcy.ecaOauthPlcy-meta.xml"]
    assert scan_config(write(tmp_path, files)) == []


# --- Private Connect --------------------------------------------------------------------------------

def network_connection(region: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OutboundNetworkConnection {NS}>
    <connectionType>AwsPrivateLink</connectionType>
    <isActive>true</isActive>
    <label>LLM gateway</label>
    <outboundNetworkConnProperties>
        <propertyName>Region</propertyName>
        <propertyValue>{region}</propertyValue>
    </outboundNetworkConnProperties>
    <outboundNetworkConnProperties>
        <propertyName>AwsVpcEndpointServiceName</propertyName>
        <propertyValue>com.amazonaws.vpce.{region}.vpce-svc-0123456789abcdef0</propertyValue>
    </outboundNetworkConnProperties>
    <status>Ready</status>
</OutboundNetworkConnection>
"""


PRIVATE_NC = f"""<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential {NS}>
    <label>Private LLM</label>
    <namedCredentialType>PrivateEndpoint</namedCredentialType>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://llm.gateway.internal</parameterValue>
    </namedCredentialParameters>
    <namedCredentialParameters>
        <outboundNetworkConnection>LLM_Gateway</outboundNetworkConnection>
        <parameterName>LLM_Gateway</parameterName>
        <parameterType>OutboundNetworkConnection</parameterType>
    </namedCredentialParameters>
</NamedCredential>
"""

PRIVATE_CALLER = """
public with sharing class PrivateSummary {
    public static String summarize(Id caseId) {
        Case c = [SELECT Description FROM Case WHERE Id = :caseId];
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:Private_LLM/v1/chat/completions');
        req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'llama', 'messages' => c.Description }));
        return new Http().send(req).getBody(); // MARKER
    }
}
"""


def test_named_credential_reads_its_outbound_network_connection():
    facts, _ = parse_metadata_file("force-app/main/default/namedCredentials/Private_LLM.namedCredential-meta.xml",
                                   PRIVATE_NC.encode())
    assert facts.named_credentials[0].network_connection == "LLM_Gateway"
    legacy, _ = parse_metadata_file("namedCredentials/Old.namedCredential-meta.xml", (
        f'<NamedCredential {NS}><endpoint>https://x.internal</endpoint>'
        '<outboundNetworkConnection>LLM_Gateway</outboundNetworkConnection></NamedCredential>').encode())
    assert legacy.named_credentials[0].network_connection == "LLM_Gateway"


def test_private_connect_region_outside_the_policy_makes_an_unknown_gateway_foreign(project):
    root = project({
        "namedCredentials/Private_LLM.namedCredential-meta.xml": PRIVATE_NC,
        "outboundNetworkConnections/LLM_Gateway.outboundNetworkConnection-meta.xml": network_connection("us-east-1"),
        "classes/PrivateSummary.cls": PRIVATE_CALLER.replace("MARKER", "expect: APX-LLM-001"),
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert (finding.destination.region, finding.destination.verdict) == ("US", Verdict.FOREIGN)
    assert "Private Connect outbound network connection LLM_Gateway: AWS PrivateLink to us-east-1 (US)" in \
        finding.destination.note


def test_private_connect_region_inside_the_policy_leaves_only_the_seat_unknown(project):
    root = project({
        "namedCredentials/Private_LLM.namedCredential-meta.xml": PRIVATE_NC,
        "outboundNetworkConnections/LLM_Gateway.outboundNetworkConnection-meta.xml": network_connection("eu-central-1"),
        "classes/PrivateSummary.cls": PRIVATE_CALLER.replace("MARKER", "expect: APX-LLM-003"),
    })
    result = run(root)
    assert_exact(root, result)
    assert data_findings(result)[0].destination.region == "EU"


def test_connection_missing_from_the_project_is_said_in_the_note(project):
    root = project({
        "namedCredentials/Private_LLM.namedCredential-meta.xml": PRIVATE_NC,
        "classes/PrivateSummary.cls": PRIVATE_CALLER.replace("MARKER", "expect: APX-LLM-003"),
    })
    result = run(root)
    assert_exact(root, result)
    assert "LLM_Gateway, which is not in this project" in data_findings(result)[0].destination.note


def test_known_provider_behind_private_connect_takes_the_connections_region(project):
    nc = OPENAI_NC.replace("https://api.openai.com", "https://myco.openai.azure.com").replace(
        "</NamedCredential>", "<namedCredentialParameters><outboundNetworkConnection>LLM_Gateway"
        "</outboundNetworkConnection><parameterName>Link</parameterName><parameterType>OutboundNetworkConnection"
        "</parameterType></namedCredentialParameters></NamedCredential>").replace(
        "<!-- expect: APX-CFG-002 -->", "<!-- expect: APX-CFG-002 -->")
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": nc,
        "outboundNetworkConnections/LLM_Gateway.outboundNetworkConnection-meta.xml": network_connection("eu-west-1"),
        "classes/PrivateSummary.cls": PRIVATE_CALLER.replace("Private_LLM", "OpenAI").replace(
            "MARKER", "expect: APX-LLM-001"),
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    # Azure OpenAI's seat (US) is still not allowed, but the region is now known: EU.
    assert (finding.destination.provider, finding.destination.region) == ("Azure OpenAI", "EU")
