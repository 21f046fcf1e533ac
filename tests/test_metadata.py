"""Metadata files -> facts: named credentials, remote sites, labels, custom metadata, fields, objects."""
from __future__ import annotations

from apexscan.frontends.metadata import MetadataFacts, merge, parse_metadata_file
from apexscan.model import Location

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
