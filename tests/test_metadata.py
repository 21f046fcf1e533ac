"""Metadata files -> facts: named credentials, remote sites, labels, custom metadata, fields, objects,
admin configuration and Data Loader jobs."""
from __future__ import annotations

import pytest

from apexscan.engine.model import Location
from apexscan.frontends.metadata import (
    METADATA_FILE_NAMES,
    METADATA_FILE_SUFFIXES,
    MetadataFacts,
    merge,
    parse_metadata_file,
    soql_select_list,
)
from apexscan.pipeline.project import discover, file_kind

DEFAULT = "force-app/main/default"

LEGACY_NC = b"""<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata">
    <allowMergeFieldsInBody>false</allowMergeFieldsInBody>
    <allowMergeFieldsInHeader>true</allowMergeFieldsInHeader>
    <endpoint>https://api.openai.com</endpoint>
    <generateAuthorizationHeader>false</generateAuthorizationHeader>
    <label>OpenAI</label>
    <principalType>Anonymous</principalType>
    <protocol>NoAuthentication</protocol>
</NamedCredential>
"""

NEW_NC = b"""<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata">
    <allowMergeFieldsInBody>false</allowMergeFieldsInBody>
    <allowMergeFieldsInHeader>true</allowMergeFieldsInHeader>
    <calloutStatus>Enabled</calloutStatus>
    <generateAuthorizationHeader>false</generateAuthorizationHeader>
    <label>Mistral</label>
    <namedCredentialParameters>
        <parameterName>DefaultEndpoint</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://api.mistral.ai/v1/chat/completions</parameterValue>
    </namedCredentialParameters>
    <namedCredentialParameters>
        <externalCredential>Mistral_EC</externalCredential>
        <parameterName>ExternalCredential</parameterName>
        <parameterType>Authentication</parameterType>
    </namedCredentialParameters>
    <namedCredentialParameters>
        <parameterName>Authorization</parameterName>
        <parameterType>HttpHeader</parameterType>
        <parameterValue>Bearer {!$Credential.Mistral_EC.API_KEY}</parameterValue>
        <sequenceNumber>1</sequenceNumber>
    </namedCredentialParameters>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
</NamedCredential>
"""

REMOTE_SITE = b"""<?xml version="1.0" encoding="UTF-8"?>
<RemoteSiteSetting xmlns="http://soap.sforce.com/2006/04/metadata">
    <description>Legacy OpenAI access</description>
    <disableProtocolSecurity>false</disableProtocolSecurity>
    <isActive>false</isActive>
    <url>https://api.openai.com</url>
</RemoteSiteSetting>
"""

LABELS = b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomLabels xmlns="http://soap.sforce.com/2006/04/metadata">
    <labels>
        <fullName>OpenAI_endpoint</fullName>
        <language>en_US</language>
        <protected>false</protected>
        <shortDescription>OpenAI endpoint</shortDescription>
        <value>https://api.openai.com/v1/completions</value>
    </labels>
    <labels>
        <fullName>Greeting</fullName>
        <language>en_US</language>
        <protected>true</protected>
        <shortDescription>Greeting</shortDescription>
        <value>Hello &amp; welcome</value>
    </labels>
</CustomLabels>
"""

DECOMPOSED_LABEL = b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomLabel xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Claude_Endpoint</fullName>
    <language>en_US</language>
    <protected>false</protected>
    <shortDescription>Claude endpoint</shortDescription>
    <value>https://api.anthropic.com/v1/messages</value>
</CustomLabel>
"""

CMDT_RECORD = b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
    <label>OpenAI</label>
    <protected>false</protected>
    <values>
        <field>API_Endpoint__c</field>
        <value xsi:type="xsd:string">callout:OpenAI/v1/chat/completions</value>
    </values>
    <values>
        <field>Fallback_URL__c</field>
        <value xsi:nil="true"/>
    </values>
    <values>
        <field>Max_Tokens__c</field>
        <value xsi:type="xsd:double">512.0</value>
    </values>
</CustomMetadata>
"""

FIELD_IBAN = b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>IBAN__c</fullName>
    <businessStatus>Active</businessStatus>
    <complianceGroup>PII;GDPR</complianceGroup>
    <externalId>false</externalId>
    <label>IBAN</label>
    <length>34</length>
    <required>false</required>
    <securityClassification>Restricted</securityClassification>
    <trackTrending>false</trackTrending>
    <type>Text</type>
    <unique>false</unique>
</CustomField>
"""

FIELD_LOOKUP = b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Primary_Holder__c</fullName>
    <complianceGroup>PII</complianceGroup>
    <complianceGroup>PCI;None</complianceGroup>
    <deleteConstraint>SetNull</deleteConstraint>
    <encryptionScheme>None</encryptionScheme>
    <label>Primary Holder</label>
    <referenceTo>Contact</referenceTo>
    <relationshipLabel>Loans</relationshipLabel>
    <relationshipName>Loans</relationshipName>
    <type>Lookup</type>
</CustomField>
"""

MDAPI_OBJECT = b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <fields>
        <fullName>Tax_Id__c</fullName>
        <encryptionScheme>ProbabilisticEncryption</encryptionScheme>
        <label>Tax Id</label>
        <type>Text</type>
    </fields>
    <fields>
        <fullName>Segment__c</fullName>
        <label>Segment</label>
        <securityClassification>Internal</securityClassification>
        <type>Picklist</type>
    </fields>
    <label>Loan</label>
    <nameField><label>Loan Name</label><type>Text</type></nameField>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
"""

CUSTOM_SETTING = b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <customSettingsType>Hierarchy</customSettingsType>
    <enableFeeds>false</enableFeeds>
    <label>AI Settings</label>
    <visibility>Public</visibility>
</CustomObject>
"""

PLATFORM_EVENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <deploymentStatus>Deployed</deploymentStatus>
    <eventType>HighVolume</eventType>
    <label>Prompt Event</label>
    <publishBehavior>PublishAfterCommit</publishBehavior>
</CustomObject>
"""


def facts_of(path: str, data: bytes) -> MetadataFacts:
    facts, diagnostics = parse_metadata_file(path, data)
    assert diagnostics == ()
    return facts


# --- named credentials and remote sites ----------------------------------------------------------


def test_legacy_named_credential_url_comes_from_endpoint():
    path = f"{DEFAULT}/namedCredentials/OpenAI.namedCredential-meta.xml"
    (nc,) = facts_of(path, LEGACY_NC).named_credentials
    assert (nc.name, nc.url, nc.external_credential) == ("OpenAI", "https://api.openai.com", "")
    assert nc.location == Location(path, 5, 5)


def test_new_named_credential_url_is_the_url_typed_parameter_whatever_its_name():
    path = f"{DEFAULT}/namedCredentials/Mistral.namedCredential-meta.xml"
    (nc,) = facts_of(path, NEW_NC).named_credentials
    assert nc.name == "Mistral"
    assert nc.url == "https://api.mistral.ai/v1/chat/completions"
    assert nc.external_credential == "Mistral_EC"
    assert nc.location.line == 11  # the <parameterValue> holding the URL


def test_named_credential_name_is_the_file_stem_even_when_the_label_differs():
    path = "src/namedCredentials/zApi.namedCredential-meta.xml"
    (nc,) = facts_of(path, LEGACY_NC).named_credentials
    assert nc.name == "zApi"


def test_named_credential_without_url_has_empty_url():
    data = b'<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata"><label>X</label></NamedCredential>'
    (nc,) = facts_of("namedCredentials/X.namedCredential-meta.xml", data).named_credentials
    assert nc.url == ""
    assert nc.location.line == 1


def test_mdapi_named_credential_is_read_in_its_folder():
    (nc,) = facts_of("src/namedCredentials/OpenAI.namedCredential", LEGACY_NC).named_credentials
    assert nc.url == "https://api.openai.com"


def test_remote_site_setting_url_and_active_flag():
    path = f"{DEFAULT}/remoteSiteSettings/OpenAI.remoteSite-meta.xml"
    (site,) = facts_of(path, REMOTE_SITE).remote_sites
    assert (site.name, site.url, site.active) == ("OpenAI", "https://api.openai.com", False)
    assert site.location == Location(path, 6, 5)


# --- labels and custom metadata ------------------------------------------------------------------


def test_custom_labels_bundle_gives_every_label_with_its_line():
    path = f"{DEFAULT}/labels/first-app-CustomLabels.labels-meta.xml"
    labels = facts_of(path, LABELS).labels
    assert [(lb.name, lb.value, lb.location.line) for lb in labels] == [
        ("OpenAI_endpoint", "https://api.openai.com/v1/completions", 3),
        ("Greeting", "Hello & welcome", 10),
    ]


def test_decomposed_label_file():
    path = f"{DEFAULT}/labels/Claude_Endpoint.label-meta.xml"
    (label,) = facts_of(path, DECOMPOSED_LABEL).labels
    assert (label.name, label.value) == ("Claude_Endpoint", "https://api.anthropic.com/v1/messages")


def test_mdapi_labels_file():
    assert len(facts_of("src/labels/CustomLabels.labels", LABELS).labels) == 2


def test_custom_metadata_record_values_with_nil():
    path = f"{DEFAULT}/customMetadata/AI_Configuration.OpenAI.md-meta.xml"
    (record,) = facts_of(path, CMDT_RECORD).cmdt_records
    assert (record.type, record.record) == ("AI_Configuration", "OpenAI")
    assert [(v.field, v.value) for v in record.values] == [
        ("API_Endpoint__c", "callout:OpenAI/v1/chat/completions"),
        ("Fallback_URL__c", None),
        ("Max_Tokens__c", "512.0"),
    ]
    assert record.values[0].location == Location(path, 5, 5)

    project = merge([facts_of(path, CMDT_RECORD)])
    assert project.cmdt[("ai_configuration", "openai")] == {
        "api_endpoint__c": "callout:OpenAI/v1/chat/completions",
        "fallback_url__c": None,
        "max_tokens__c": "512.0",
    }
    assert project.cmdt_record("AI_Configuration__mdt", "OPENAI") == record
    assert project.cmdt_type_records("ai_configuration__MDT") == (record,)


def test_mdapi_custom_metadata_record_but_not_a_readme():
    assert len(facts_of("src/customMetadata/AI_Configuration.OpenAI.md", CMDT_RECORD).cmdt_records) == 1
    assert parse_metadata_file("README.md", b"# apexscan\n") == (MetadataFacts(), ())
    assert parse_metadata_file("docs/Setup.Guide.md", b"# setup\n") == (MetadataFacts(), ())


def test_custom_metadata_file_name_without_record_is_a_diagnostic():
    facts, diagnostics = parse_metadata_file("customMetadata/Broken.md-meta.xml", CMDT_RECORD)
    assert facts == MetadataFacts()
    assert len(diagnostics) == 1
    assert diagnostics[0].stage == "metadata"
    assert "<Type>.<Record>" in diagnostics[0].message


# --- fields and objects --------------------------------------------------------------------------


def test_custom_field_with_compliance_group_list_in_one_element():
    path = f"{DEFAULT}/objects/Account/fields/IBAN__c.field-meta.xml"
    (field,) = facts_of(path, FIELD_IBAN).custom_fields
    assert (field.object, field.field, field.type) == ("Account", "IBAN__c", "Text")
    assert field.security_classification == "Restricted"
    assert field.compliance_groups == ("PII", "GDPR")
    assert field.location == Location(path, 2, 1)


def test_custom_field_with_repeated_compliance_groups_lookup_and_relationship():
    path = f"{DEFAULT}/objects/Loan__c/fields/Primary_Holder__c.field-meta.xml"
    (field,) = facts_of(path, FIELD_LOOKUP).custom_fields
    assert field.compliance_groups == ("PII", "PCI")  # "None" is not a group
    assert (field.reference_to, field.relationship_name, field.encryption_scheme) == ("Contact", "Loans", "None")


def test_field_file_outside_an_objects_folder_is_a_diagnostic():
    facts, diagnostics = parse_metadata_file("misc/IBAN__c.field-meta.xml", FIELD_IBAN)
    assert facts == MetadataFacts()
    assert "objects/<Object>/fields/<Field>.field-meta.xml" in diagnostics[0].message


def test_mdapi_object_file_gives_its_fields_and_the_object():
    path = "src/objects/Loan__c.object"
    facts = facts_of(path, MDAPI_OBJECT)
    assert [(f.object, f.field, f.type, f.location.line) for f in facts.custom_fields] == [
        ("Loan__c", "Tax_Id__c", "Text", 3),
        ("Loan__c", "Segment__c", "Picklist", 9),
    ]
    assert facts.custom_fields[0].encryption_scheme == "ProbabilisticEncryption"
    assert facts.custom_fields[1].security_classification == "Internal"
    (obj,) = facts.custom_objects
    assert (obj.name, obj.platform_event, obj.custom_settings_type) == ("Loan__c", False, "")


def test_source_object_files_for_custom_setting_and_platform_event():
    setting = facts_of(f"{DEFAULT}/objects/AI_Settings__c/AI_Settings__c.object-meta.xml", CUSTOM_SETTING)
    assert setting.custom_objects[0].custom_settings_type == "Hierarchy"
    assert setting.custom_fields == ()
    event = facts_of(f"{DEFAULT}/objects/Prompt__e/Prompt__e.object-meta.xml", PLATFORM_EVENT)
    assert (event.custom_objects[0].platform_event, event.custom_objects[0].event_type) == (True, "HighVolume")


# --- errors and unknown files --------------------------------------------------------------------


def test_unknown_metadata_types_give_empty_facts_and_no_diagnostic():
    for path in (f"{DEFAULT}/classes/Foo.cls-meta.xml", f"{DEFAULT}/flows/X.flow-meta.xml",
                 f"{DEFAULT}/classes/Foo.cls", "sfdx-project.json", "src/objects/Loan__c.field"):
        assert parse_metadata_file(path, b"<broken") == (MetadataFacts(), ())


def test_malformed_metadata_is_one_parse_diagnostic_with_its_line():
    path = f"{DEFAULT}/namedCredentials/Bad.namedCredential-meta.xml"
    facts, (diagnostic,) = parse_metadata_file(path, b"<NamedCredential>\n  <endpoint>x</endpint>\n</NamedCredential>")
    assert facts == MetadataFacts()
    assert (diagnostic.path, diagnostic.stage, diagnostic.line) == (path, "parse", 2)


def test_doctype_in_metadata_is_refused():
    data = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><NamedCredential><endpoint>&e;</endpoint></NamedCredential>'
    facts, (diagnostic,) = parse_metadata_file("namedCredentials/X.namedCredential-meta.xml", data)
    assert facts == MetadataFacts()
    assert "DOCTYPE declarations are not allowed" in diagnostic.message


def test_wrong_root_element_is_a_diagnostic():
    facts, (diagnostic,) = parse_metadata_file("remoteSiteSettings/X.remoteSite-meta.xml", LEGACY_NC)
    assert facts == MetadataFacts()
    assert "expected a <RemoteSiteSetting> document" in diagnostic.message


# --- merge ---------------------------------------------------------------------------------------


def test_merge_gives_case_insensitive_lookups_with_original_spelling():
    project = merge([
        facts_of(f"{DEFAULT}/namedCredentials/OpenAI.namedCredential-meta.xml", LEGACY_NC),
        facts_of(f"{DEFAULT}/remoteSiteSettings/OpenAI.remoteSite-meta.xml", REMOTE_SITE),
        facts_of(f"{DEFAULT}/labels/CustomLabels.labels-meta.xml", LABELS),
        facts_of(f"{DEFAULT}/objects/Account/fields/IBAN__c.field-meta.xml", FIELD_IBAN),
        facts_of("src/objects/Loan__c.object", MDAPI_OBJECT),
    ])
    assert project.named_credentials["openai"].name == "OpenAI"
    assert project.named_credential("OPENAI").url == "https://api.openai.com"
    assert project.named_credential("acme__OpenAI", namespace="acme").name == "OpenAI"
    assert project.remote_site("openai").active is False
    assert project.label("openai_ENDPOINT").value == "https://api.openai.com/v1/completions"
    assert project.custom_fields[("account", "iban__c")].field == "IBAN__c"
    assert project.custom_field("ACCOUNT", "iban__C").security_classification == "Restricted"
    assert project.custom_field("acme__Loan__c", "acme__Tax_Id__c", namespace="acme").field == "Tax_Id__c"
    assert project.custom_object("loan__c").name == "Loan__c"
    assert project.named_credential("Nope") is None
    assert project.diagnostics == ()


def test_merge_keeps_the_first_path_and_reports_a_conflicting_duplicate():
    other = LEGACY_NC.replace(b"https://api.openai.com", b"https://eu.api.openai.com")
    project = merge([
        facts_of("pkg-b/namedCredentials/OpenAI.namedCredential-meta.xml", other),
        facts_of("pkg-a/namedCredentials/OpenAI.namedCredential-meta.xml", LEGACY_NC),
        facts_of("pkg-c/namedCredentials/OpenAI.namedCredential-meta.xml", LEGACY_NC),  # same value: silent
    ])
    assert project.named_credential("openai").location.path.startswith("pkg-a/")
    (diagnostic,) = project.diagnostics
    assert diagnostic.path.startswith("pkg-b/")
    assert "named credential 'OpenAI' is defined again" in diagnostic.message


# --- admin configuration: CSP trusted sites, connected apps, external services, outbound messages -

CSP_SITE = b"""<?xml version="1.0" encoding="UTF-8"?>
<CspTrustedSite xmlns="http://soap.sforce.com/2006/04/metadata">
    <context>Communities</context>
    <endpointUrl>https://*.openai.azure.com</endpointUrl>
    <isActive>false</isActive>
    <isApplicableToConnectSrc>true</isApplicableToConnectSrc>
    <isApplicableToImgSrc>true</isApplicableToImgSrc>
    <isApplicableToMediaSrc>false</isApplicableToMediaSrc>
</CspTrustedSite>
"""

CSP_SITE_WITHOUT_DIRECTIVES = b"""<?xml version="1.0" encoding="UTF-8"?>
<CspTrustedSite xmlns="http://soap.sforce.com/2006/04/metadata">
    <description>Used for Lightning component callouts</description>
    <endpointUrl>https://api.anthropic.com</endpointUrl>
    <isActive>true</isActive>
</CspTrustedSite>
"""

CONNECTED_APP = b"""<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">
    <contactEmail>owner@bank.example</contactEmail>
    <label>AI Bridge</label>
    <oauthConfig>
        <callbackUrl>https://bridge.example/cb
https://localhost:8080/cb</callbackUrl>
        <callbackUrl>https://bridge.example/cb</callbackUrl>
        <certificate>MIICertificateText</certificate>
        <consumerKey>3MVG9.not.a.real.key</consumerKey>
        <consumerSecret>not-a-real-secret</consumerSecret>
        <isClientCredentialEnabled>true</isClientCredentialEnabled>
        <scopes>Api</scopes>
        <scopes>RefreshToken</scopes>
    </oauthConfig>
    <oauthPolicy>
        <ipRelaxation>BYPASS</ipRelaxation>
        <refreshTokenPolicy>infinite</refreshTokenPolicy>
    </oauthPolicy>
</ConnectedApp>
"""

ESR_JSON = b"""<?xml version="1.0" encoding="UTF-8"?>
<ExternalServiceRegistration xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Gemini</label>
    <namedCredential>Gemini_NC</namedCredential>
    <operations>
        <active>true</active>
        <name>generatecontent</name>
    </operations>
    <operations>
        <active>false</active>
        <name>counttokens</name>
    </operations>
    <registrationProviderType>Custom</registrationProviderType>
    <schema>{&quot;openapi&quot;: &quot;3.0.0&quot;, &quot;servers&quot;: [{&quot;url&quot;: &quot;https://generativelanguage.googleapis.com/v1beta&quot;}], &quot;paths&quot;: {}}</schema>
    <schemaType>OpenApi3</schemaType>
    <serviceBinding>{&quot;host&quot;:&quot;generativelanguage.googleapis.com&quot;,&quot;basePath&quot;:&quot;/&quot;}</serviceBinding>
    <status>Complete</status>
</ExternalServiceRegistration>
"""

ESR_SWAGGER_YAML = b"""<?xml version="1.0" encoding="UTF-8"?>
<ExternalServiceRegistration xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Legacy</label>
    <namedCredentialReference>Legacy_NC</namedCredentialReference>
    <registrationProviderType>Custom</registrationProviderType>
    <schema>swagger: &apos;2.0&apos;
host: api.legacy.example
basePath: /v2
paths:
  /items:
    get:
      operationId: listItems</schema>
    <schemaType>OpenApi</schemaType>
</ExternalServiceRegistration>
"""

WORKFLOW = b"""<?xml version="1.0" encoding="UTF-8"?>
<Workflow xmlns="http://soap.sforce.com/2006/04/metadata">
    <fieldUpdates>
        <fullName>Set_Status</fullName>
        <field>Status__c</field>
        <literalValue>Sent</literalValue>
        <name>Set status</name>
        <operation>Literal</operation>
        <protected>false</protected>
    </fieldUpdates>
    <outboundMessages>
        <fullName>Notify_Partner</fullName>
        <apiVersion>61.0</apiVersion>
        <endpointUrl>https://partner.example/Outbound.svc</endpointUrl>
        <fields>Id</fields>
        <fields>Tax_Id__c</fields>
        <includeSessionId>true</includeSessionId>
        <integrationUser>integration@bank.example</integrationUser>
        <name>Notify partner</name>
        <protected>false</protected>
    </outboundMessages>
    <outboundMessages>
        <apiVersion>61.0</apiVersion>
        <endpointUrl>https://partner.example/Other.svc</endpointUrl>
    </outboundMessages>
</Workflow>
"""

DECOMPOSED_OUTBOUND = b"""<?xml version="1.0" encoding="UTF-8"?>
<WorkflowOutboundMessage xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Push</fullName>
    <endpointUrl>https://partner.example/Push.svc</endpointUrl>
    <fields>Id</fields>
</WorkflowOutboundMessage>
"""


def test_csp_trusted_site_directives_context_and_location():
    path = f"{DEFAULT}/cspTrustedSites/Azure.cspTrustedSite-meta.xml"
    (site,) = facts_of(path, CSP_SITE).csp_trusted_sites
    assert (site.name, site.url, site.active) == ("Azure", "https://*.openai.azure.com", False)
    assert site.context == "Communities"
    assert site.directives == ("connect-src", "img-src") and site.connect_src
    assert not site.all_directives_by_default
    assert site.location == Location(path, 4, 5)


def test_csp_trusted_site_without_directive_flags_applies_to_every_directive():
    (site,) = facts_of("src/cspTrustedSites/Claude.cspTrustedSite", CSP_SITE_WITHOUT_DIRECTIVES).csp_trusted_sites
    assert site.all_directives_by_default and site.connect_src
    assert site.directives == ("connect-src", "frame-src", "img-src", "media-src", "font-src", "style-src")
    assert (site.active, site.context) == (True, "")


def test_connected_app_keeps_scopes_callbacks_and_policy_but_no_secret():
    path = f"{DEFAULT}/connectedApps/AI_Bridge.connectedApp-meta.xml"
    facts = facts_of(path, CONNECTED_APP)
    (app,) = facts.connected_apps
    assert app.oauth and app.scopes == ("Api", "RefreshToken")
    assert app.callback_urls == ("https://bridge.example/cb", "https://localhost:8080/cb")
    assert (app.client_credentials, app.ip_relaxation, app.refresh_token_policy) == (True, "BYPASS", "infinite")
    assert (app.location.line, app.scopes_location.line, app.ip_relaxation_location.line) == (5, 13, 17)
    dumped = repr(facts)
    for secret in ("3MVG9", "not-a-real-secret", "MIICertificateText", "owner@bank.example"):
        assert secret not in dumped


def test_external_service_with_json_schema_and_service_binding():
    path = f"{DEFAULT}/externalServiceRegistrations/Gemini.externalServiceRegistration-meta.xml"
    (service,) = facts_of(path, ESR_JSON).external_services
    assert (service.name, service.named_credential, service.provider_type) == ("Gemini", "Gemini_NC", "Custom")
    assert service.servers == ("https://generativelanguage.googleapis.com/v1beta",
                               "https://generativelanguage.googleapis.com")
    assert service.operations == ("generatecontent",)
    assert service.location == Location(path, 4, 5)


def test_external_service_with_swagger_yaml_and_credential_reference():
    (service,) = facts_of("src/externalServiceRegistrations/Legacy.externalServiceRegistration",
                          ESR_SWAGGER_YAML).external_services
    assert service.named_credential == "Legacy_NC"
    assert service.servers == ("https://api.legacy.example/v2",)
    assert service.operations == ()


def test_workflow_outbound_messages_with_fields_and_their_lines():
    path = f"{DEFAULT}/workflows/Loan__c.workflow-meta.xml"
    facts, (diagnostic,) = parse_metadata_file(path, WORKFLOW)
    (message,) = facts.outbound_messages
    assert (message.object, message.name) == ("Loan__c", "Notify_Partner")
    assert message.url == "https://partner.example/Outbound.svc"
    assert [(f.name, f.location.line) for f in message.fields] == [("Id", 15), ("Tax_Id__c", 16)]
    assert message.include_session_id
    assert (message.location.line, message.url_location.line) == (11, 14)
    assert diagnostic.line == 22 and "without <fullName>" in diagnostic.message


def test_workflow_without_outbound_messages_and_decomposed_outbound_message():
    facts = facts_of("src/workflows/Opportunity.workflow", WORKFLOW.replace(b"<outboundMessages>", b"<alerts>")
                     .replace(b"</outboundMessages>", b"</alerts>"))
    assert facts.outbound_messages == ()
    path = f"{DEFAULT}/workflows/Account/workflowOutboundMessages/Push.workflowOutboundMessage-meta.xml"
    (message,) = facts_of(path, DECOMPOSED_OUTBOUND).outbound_messages
    assert (message.object, message.name, message.include_session_id) == ("Account", "Push", False)
    facts, (diagnostic,) = parse_metadata_file("misc/Push.workflowOutboundMessage-meta.xml", DECOMPOSED_OUTBOUND)
    assert facts == MetadataFacts() and "workflowOutboundMessages" in diagnostic.message


def test_merge_indexes_the_configuration_facts():
    project = merge([
        facts_of(f"{DEFAULT}/cspTrustedSites/Azure.cspTrustedSite-meta.xml", CSP_SITE),
        facts_of(f"{DEFAULT}/connectedApps/AI_Bridge.connectedApp-meta.xml", CONNECTED_APP),
        facts_of(f"{DEFAULT}/externalServiceRegistrations/Gemini.externalServiceRegistration-meta.xml", ESR_JSON),
        facts_of(f"{DEFAULT}/workflows/Account/workflowOutboundMessages/Push.workflowOutboundMessage-meta.xml",
                 DECOMPOSED_OUTBOUND),
        facts_of("other/workflows/Account/workflowOutboundMessages/Push.workflowOutboundMessage-meta.xml",
                 DECOMPOSED_OUTBOUND.replace(b"Push.svc", b"Elsewhere.svc")),
    ])
    assert project.csp_trusted_site("AZURE").url == "https://*.openai.azure.com"
    assert project.connected_app("ai_bridge").name == "AI_Bridge"
    assert project.external_service("acme__Gemini", namespace="acme").named_credential == "Gemini_NC"
    assert project.outbound_message("account", "PUSH").url == "https://partner.example/Push.svc"
    assert project.outbound_message("Contact", "Push") is None
    (diagnostic,) = project.diagnostics
    assert "outbound message Account.Push is defined again" in diagnostic.message


def test_every_recognised_suffix_is_listed_for_discovery():
    for suffix in (".csptrustedsite-meta.xml", ".csptrustedsite", ".connectedapp-meta.xml", ".connectedapp",
                   ".externalserviceregistration-meta.xml", ".externalserviceregistration", ".workflow-meta.xml",
                   ".workflow", ".workflowoutboundmessage-meta.xml", ".namedcredential-meta.xml", ".remotesite"):
        assert suffix in METADATA_FILE_SUFFIXES
    assert all(s == s.lower() and s.startswith(".") for s in METADATA_FILE_SUFFIXES)


# --- Data Loader: process-conf.xml and database-conf.xml --------------------------------------------

PROCESS_CONF = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE beans PUBLIC "-//SPRING//DTD BEAN//EN" "http://www.springframework.org/dtd/spring-beans.dtd">
<beans>
    <bean id="accountExtract" class="com.salesforce.dataloader.process.ProcessRunner" scope="prototype">
        <property name="name" value="accountExtract"/>
        <property name="configOverrideMap">
            <map>
                <entry key="sfdc.endpoint" value="https://login.salesforce.com"/>
                <entry key="sfdc.username" value="ops@northbank.example"/>
                <entry key="sfdc.password" value="4285b36161c65a22"/>
                <entry key="process.encryptionKeyFile" value="c:/dataloader/key.txt"/>
                <entry key="sfdc.entity" value="Account"/>
                <entry key="process.operation" value="extract"/>
                <entry key="sfdc.extractionSOQL"
                       value="SELECT Id, Name,
                              FinServ__TaxId__c FROM Account"/>
                <entry key="dataAccess.type" value="csvWrite"/>
                <entry key="dataAccess.name" value="c:/dataloader/out/accounts.csv"/>
            </map>
        </property>
    </bean>
    <bean id="contactWarehouse" class="com.salesforce.dataloader.process.ProcessRunner">
        <property name="configOverrideMap">
            <map>
                <entry><key><value>process.operation</value></key><value>extract_all</value></entry>
                <entry key="sfdc.extractionSOQL"><value>SELECT Id, Owner.Email, FIELDS(STANDARD) FROM Contact</value></entry>
                <entry key="dataAccess.type" value="databaseWrite"/>
                <entry key="dataAccess.name" value="contactWrite"/>
            </map>
        </property>
    </bean>
    <bean id="accountInsert" class="com.salesforce.dataloader.process.ProcessRunner">
        <property name="configOverrideMap">
            <map>
                <entry key="process.operation" value="insert"/>
                <entry key="dataAccess.type" value="csvRead"/>
                <entry key="dataAccess.name" value="c:/dataloader/in/accounts.csv"/>
            </map>
        </property>
    </bean>
    <bean id="dataSourceLikeBean" class="org.apache.commons.dbcp.BasicDataSource"/>
</beans>
"""

DATABASE_CONF = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE beans PUBLIC "-//SPRING//DTD BEAN//EN" "http://www.springframework.org/dtd/spring-beans.dtd">
<beans>
    <bean id="dbDataSource" class="org.apache.commons.dbcp.BasicDataSource" destroy-method="close">
        <property name="driverClassName" value="org.postgresql.Driver"/>
        <property name="url" value="jdbc:postgresql://dwh.northbank.example:5432/crm"/>
        <property name="username" value="loader"/>
        <property name="password" value="s3cret"/>
    </bean>
    <bean id="contactWrite" class="com.salesforce.dataloader.dao.database.DatabaseConfig" singleton="true">
        <property name="sqlConfig" ref="contactWriteSql"/>
        <property name="dataSource" ref="dbDataSource"/>
    </bean>
    <bean id="inlineWrite" class="com.salesforce.dataloader.dao.database.DatabaseConfig">
        <property name="dataSource">
            <bean class="org.apache.commons.dbcp.BasicDataSource">
                <property name="url"><value>jdbc:oracle:thin:@//ora.northbank.example:1521/CRM</value></property>
            </bean>
        </property>
    </bean>
</beans>
"""


def test_data_loader_processes_keep_operation_query_and_target_but_no_credential():
    facts, diagnostics = parse_metadata_file("ops/dataloader/process-conf.xml", PROCESS_CONF)
    assert diagnostics == ()
    account, contact, insert = facts.dataloader_jobs
    assert (account.name, account.folder, account.process) == ("accountExtract", "ops/dataloader",
                                                                "ops/dataloader/accountExtract")
    assert (account.operation, account.entity, account.extract, account.to_database) == ("extract", "Account",
                                                                                          True, False)
    assert account.soql == "SELECT Id, Name, FinServ__TaxId__c FROM Account"
    assert (account.soql_object, account.soql_fields) == ("Account", ("Id", "Name", "FinServ__TaxId__c"))
    assert (account.data_access_type, account.data_access_name) == ("csvWrite", "c:/dataloader/out/accounts.csv")
    assert account.endpoint == "https://login.salesforce.com"
    assert (account.location.line, account.soql_location.line, account.target_location.line) == (4, 14, 18)
    assert (contact.operation, contact.soql_object, contact.to_database) == ("extract_all", "Contact", True)
    assert contact.soql_fields == ("Id", "Owner.Email", "FIELDS(STANDARD)")
    assert contact.data_access_name == "contactWrite"
    assert (insert.operation, insert.extract, insert.soql) == ("insert", False, "")
    text = repr(facts)
    for secret in ("ops@northbank.example", "4285b36161c65a22", "key.txt"):
        assert secret not in text


def test_database_conf_beans_resolve_their_data_source_url_but_keep_no_password():
    facts, diagnostics = parse_metadata_file("ops/dataloader/database-conf.xml", DATABASE_CONF)
    assert diagnostics == ()
    assert [(d.name, d.folder, d.url, d.location.line) for d in facts.dataloader_databases] == [
        ("contactWrite", "ops/dataloader", "jdbc:postgresql://dwh.northbank.example:5432/crm", 10),
        ("inlineWrite", "ops/dataloader", "jdbc:oracle:thin:@//ora.northbank.example:1521/CRM", 14)]
    assert "s3cret" not in repr(facts) and "loader" not in repr([d.url for d in facts.dataloader_databases])


def test_merge_joins_a_process_with_the_database_bean_of_its_folder():
    project = merge([parse_metadata_file("ops/dataloader/process-conf.xml", PROCESS_CONF)[0],
                     parse_metadata_file("ops/dataloader/database-conf.xml", DATABASE_CONF)[0],
                     parse_metadata_file("ops/other/database-conf.xml", DATABASE_CONF)[0]])
    job = project.dataloader_jobs[("ops/dataloader", "contactwarehouse")]
    assert project.dataloader_database(job).location.path == "ops/dataloader/database-conf.xml"
    assert project.diagnostics == ()


def test_an_extract_whose_select_list_cannot_be_read_is_a_diagnostic():
    broken = PROCESS_CONF.replace(b"SELECT Id, Name,", b"SELEKT Id, Name,")
    facts, diagnostics = parse_metadata_file("process-conf.xml", broken)
    assert facts.dataloader_jobs[0].soql_fields == ()
    (diagnostic,) = diagnostics
    assert diagnostic.line == 14 and "accountExtract" in diagnostic.message
    assert "select list cannot be read" in diagnostic.message


def test_a_process_conf_that_is_not_a_beans_file_or_has_an_internal_dtd_is_a_diagnostic():
    _, (diagnostic,) = parse_metadata_file("conf/process-conf.xml", b"<processes/>")
    assert "expected a <beans> document" in diagnostic.message
    evil = PROCESS_CONF.replace(b'"http://www.springframework.org/dtd/spring-beans.dtd">',
                                b'"x" [<!ENTITY e SYSTEM "file:///etc/passwd">]>')
    facts, (diagnostic,) = parse_metadata_file("conf/process-conf.xml", evil)
    assert facts == MetadataFacts() and "DOCTYPE declarations are not allowed" in diagnostic.message


def test_data_loader_files_are_recognised_by_name_in_any_folder_and_outside_package_directories(tmp_path):
    assert set(METADATA_FILE_NAMES) == {"process-conf.xml", "database-conf.xml"}
    assert file_kind("scripts/dataloader/conf/process-conf.xml") == "metadata"
    assert file_kind("Process-Conf.xml") == "metadata"
    assert file_kind("scripts/my-process-conf.xml") is None
    (tmp_path / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app"}]}')
    for rel in ("force-app/main/default/dataloader/process-conf.xml", "ops/conf/process-conf.xml",
                "ops/conf/database-conf.xml", "ops/conf/config.properties", "node_modules/x/process-conf.xml",
                "force-app/main/default/classes/README.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(PROCESS_CONF)
    (tmp_path / ".forceignore").write_text("ops/conf/database-conf.xml\n")
    found = {f.rel: f.kind for f in discover([tmp_path]).files}
    assert found == {"force-app/main/default/dataloader/process-conf.xml": "metadata",
                     "ops/conf/process-conf.xml": "metadata"}


@pytest.mark.parametrize(("soql", "expected"), [
    ("SELECT Id, Name, FinServ__TaxId__c FROM Account", ("Account", ("Id", "Name", "FinServ__TaxId__c"))),
    ("select id,owner.email, toLabel(Status), MAX(Amount) total, COUNT() from Opportunity where Name = 'a, FROM b'",
     ("Opportunity", ("id", "owner.email", "Status", "Amount"))),
    ("SELECT Id, (SELECT Email, FIELDS(all) FROM Contacts) FROM Account",
     ("Account", ("Id", "Contacts.Email", "Contacts.FIELDS(ALL)"))),
    ("SELECT FIELDS(CUSTOM) FROM Loan__c LIMIT 200", ("Loan__c", ("FIELDS(CUSTOM)",))),
    ("SELECT TYPEOF What WHEN Account THEN Phone END, Id FROM Event", ("Event", ("Id",))),
    ("  SELECT Id\n  FROM\n  Lead", ("Lead", ("Id",))),
    ("SELECT Id FROM", ("", ())),
    ("DELETE FROM Account", ("", ())),
    ("", ("", ())),
])
def test_soql_select_list(soql, expected):
    assert soql_select_list(soql) == expected


def test_deeply_nested_sub_queries_do_not_recurse():
    soql = "SELECT Id, " + "(SELECT " * 5000 + "Name FROM Contacts" + ")" * 5000 + " FROM Account"
    assert soql_select_list(soql) == ("Account", ("Id",))
