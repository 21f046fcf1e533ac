"""Mule 4 apps, construct by construct: discovery, sources, propagation, sinks and connectors."""
from __future__ import annotations

from mule_helpers import (
    OPENAI,
    QUERY_CONTACT,
    SALESFORCE,
    by_rule,
    fields,
    line_of,
    mule_xml,
    named,
    scan_tree,
    write_app,
)

from apexscan.engine.model import Verdict
from apexscan.frontends.mule.flows import lower_mule
from apexscan.pipeline.project import discover


def one(result, rule: str = "APX-LLM-001"):
    found = by_rule(result, rule)
    assert len(found) == 1, [(f.rule_id, str(f.location), f.message) for f in result.findings]
    return found[0]


def flow(body: str, name: str = "main") -> str:
    return f'<flow name="{name}">\n<http:listener config-ref="API" path="/{name}"/>\n{body}\n</flow>'


# --- discovery ----------------------------------------------------------------------------------------


def test_apps_are_found_by_pom_packaging_or_mule_artifact_json_and_their_files_get_mule_kinds(tmp_path):
    write_app(tmp_path, "apps/a", {"a.xml": SALESFORCE}, {"config.yaml": "x: 1\n", "dw/p.dwl": "payload\n",
                                                          "api/spec.yaml": "openapi: 3.0.0\n",
                                                          "cfg.properties.example": "k=v\n"})
    write_app(tmp_path, "apps/b", {"b.xml": SALESFORCE}, pom=False)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/pom.xml").write_text("<project><packaging>jar</packaging></project>", "utf-8")
    (tmp_path / "lib/src/main/mule").mkdir(parents=True)
    (tmp_path / "lib/src/main/mule/x.xml").write_text(mule_xml(""), "utf-8")
    (tmp_path / "apps/a/target/classes").mkdir(parents=True)
    (tmp_path / "apps/a/target/classes/copy.xml").write_text(mule_xml(""), "utf-8")
    kinds = {f.rel: f.kind for f in discover([tmp_path]).files}
    assert kinds == {
        "apps/a/pom.xml": "mule-project",
        "apps/a/src/main/mule/a.xml": "mule",
        "apps/a/src/main/resources/config.yaml": "mule-config",
        "apps/a/src/main/resources/cfg.properties.example": "mule-config",
        "apps/a/src/main/resources/dw/p.dwl": "dataweave",
        "apps/b/mule-artifact.json": "mule-project",
        "apps/b/src/main/mule/b.xml": "mule",
    }  # not the jar's files, the build output, or the API specification


def test_apps_next_to_an_sfdx_project_are_found_although_only_package_directories_are_walked(tmp_path):
    (tmp_path / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app"}]}', "utf-8")
    (tmp_path / "force-app/main/default/classes").mkdir(parents=True)
    (tmp_path / "force-app/main/default/classes/A.cls").write_text("public class A {}", "utf-8")
    write_app(tmp_path, "integration/crm-sync", {"sync.xml": SALESFORCE})
    rels = {f.rel for f in discover([tmp_path]).files}
    assert {"force-app/main/default/classes/A.cls", "integration/crm-sync/src/main/mule/sync.xml"} <= rels


def test_flow_ids_are_scoped_by_app_so_two_main_flows_never_merge(tmp_path):
    sender = flow('<flow-ref name="send"/>', "main")
    write_app(tmp_path, "a", {"main.xml": SALESFORCE + OPENAI + flow(QUERY_CONTACT + '<flow-ref name="send"/>'),
                              "send.xml": '<sub-flow name="send"><ms-inference:chat-answer-prompt config-ref="OpenAI" '
                                          'doc:name="Ask"/></sub-flow>' + OPENAI})
    write_app(tmp_path, "b", {"main.xml": SALESFORCE + OPENAI + sender,
                              "send.xml": '<sub-flow name="send"><logger message="#[payload]"/></sub-flow>'})
    result = scan_tree(tmp_path)
    # a's records reach a's sender; b's sub-flow of the same name sends nothing
    finding = one(result)
    assert finding.location.path == "a/src/main/mule/send.xml"
    assert fields(finding) == {"Contact.Email", "Contact.MailingCity", "Contact.Industry__c"}


def test_namespaces_are_matched_by_uri_whatever_the_prefix(tmp_path):
    prefixes = {"": "http://www.mulesoft.org/schema/mule/core", "crm": "http://www.mulesoft.org/schema/mule/salesforce",
                "llm": "http://www.mulesoft.org/schema/mule/ms-inference", "web": "http://www.mulesoft.org/schema/mule/http",
                "doc": "http://www.mulesoft.org/schema/mule/documentation"}
    body = """
    <crm:sfdc-config name="SF"><crm:basic-connection username="u"/></crm:sfdc-config>
    <llm:text-generation-config name="OpenAI"><llm:openai-connection openAIModelName="gpt-4o"/></llm:text-generation-config>
    <flow name="main">
      <crm:query config-ref="SF"><crm:salesforce-query>SELECT Email FROM Contact</crm:salesforce-query></crm:query>
      <llm:chat-answer-prompt config-ref="OpenAI" doc:name="Ask"/>
    </flow>
    <flow name="decoy">
      <salesforce:query xmlns:salesforce="urn:not-mule"><salesforce:salesforce-query>SELECT Email FROM Contact</salesforce:salesforce-query></salesforce:query>
      <llm:chat-answer-prompt config-ref="OpenAI" doc:name="Decoy"/>
    </flow>"""
    write_app(tmp_path, "app", {"main.xml": mule_xml(body, prefixes)})
    result = scan_tree(tmp_path)
    assert list(named(result, "APX-LLM-002", tmp_path)) == ["Ask"]
    assert fields(one(result, "APX-LLM-002")) == {"Contact.Email"}


def test_an_unreadable_flow_file_is_a_diagnostic_and_studio_metadata_is_not(tmp_path):
    write_app(tmp_path, "app", {"broken.xml": '<?xml version="1.0"?><mule><flow', "application-types.xml":
                                '<?xml version="1.0"?><mule xmlns="http://www.mulesoft.org/schema/mule/types"/>'})
    result = scan_tree(tmp_path)
    assert [(d.path.rsplit("/", 1)[-1], d.stage) for d in result.diagnostics] == [("broken.xml", "parse")]


# --- sources -------------------------------------------------------------------------------------------


def test_query_fields_come_from_the_soql_reader_and_binds_are_not_data(tmp_path):
    query = """
    <salesforce:query-all config-ref="SF" doc:name="All">
      <salesforce:salesforce-query><![CDATA[SELECT Id, Owner.Email, toLabel(Status), (SELECT Email FROM Contacts)
      FROM Account WHERE Name LIKE ':name']]></salesforce:salesforce-query>
      <salesforce:parameters>#[{name: vars.searchTerm}]</salesforce:parameters>
    </salesforce:query-all>
    <ms-inference:chat-answer-prompt config-ref="OpenAI"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + flow(query)})
    finding = one(scan_tree(tmp_path), "APX-LLM-001")
    assert fields(finding) == {"Account.Id", "User.Email", "Account.Status", "Contact.Email"}
    assert "read by salesforce:query-all \"All\"" in finding.paths[0][0].message


def test_retrieve_reads_the_fields_of_its_request_and_every_field_when_it_names_none(tmp_path):
    listed = """<salesforce:retrieve type="Account" config-ref="SF"><salesforce:retrieve-request>#[{ids: [vars.id],
    fields: ["Name", "AnnualRevenue"]}]</salesforce:retrieve-request></salesforce:retrieve>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Named">
      <ms-inference:prompt>#[payload[0].AnnualRevenue]</ms-inference:prompt>
    </ms-inference:chat-answer-prompt>"""
    dynamic = """<salesforce:retrieve type="Account" config-ref="SF"><salesforce:retrieve-request>#[vars.request]</salesforce:retrieve-request></salesforce:retrieve>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Whole"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + flow(listed, "a") + flow(dynamic, "b")})
    result = scan_tree(tmp_path)
    assert fields(named(result, "APX-LLM-001", tmp_path)["Named"]) == {"Account.AnnualRevenue"}  # what the prompt reads
    assert "Named" not in named(result, "APX-LLM-002", tmp_path)
    assert fields(named(result, "APX-LLM-002", tmp_path)["Whole"]) == {"Account.*"}


def test_platform_event_listener_reads_the_event_and_what_the_org_publishes_on_it(tmp_path):
    listener = """<flow name="events">
      <salesforce:replay-channel-listener config-ref="SF" streamingChannel="/event/Loan_Review__e"/>
      <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Review">
        <ms-inference:prompt>#["Review " ++ payload.Applicant_Email__c]</ms-inference:prompt>
      </ms-inference:chat-answer-prompt>
    </flow>"""
    write_app(tmp_path, "mule/app", {"events.xml": SALESFORCE + OPENAI + listener})
    (tmp_path / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app"}]}', "utf-8")
    classes = tmp_path / "force-app/main/default/classes"
    classes.mkdir(parents=True)
    (classes / "LoanPublisher.cls").write_text("""
public with sharing class LoanPublisher {
    @AuraEnabled
    public static void publish(Id contactId) {
        Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
        EventBus.publish(new Loan_Review__e(Applicant_Email__c = c.Email));
    }
}""", "utf-8")
    finding = one(scan_tree(tmp_path))
    assert fields(finding) == {"Loan_Review__e.Applicant_Email__c", "Contact.Email"}
    contact_path = next(p for p in finding.paths if p[0].location.path.endswith(".cls"))
    assert contact_path[-1].location.path.endswith("events.xml")  # from the Apex query to the Mule sink


def test_change_data_capture_channel_names_its_object(tmp_path):
    listener = """<flow name="changes">
      <salesforce:subscribe-channel-listener config-ref="SF" streamingChannel="/data/Loan__ChangeEvent"/>
      <ms-inference:chat-answer-prompt config-ref="OpenAI"/>
    </flow>"""
    write_app(tmp_path, "app", {"cdc.xml": SALESFORCE + OPENAI + listener})
    finding = one(scan_tree(tmp_path), "APX-LLM-002")
    assert fields(finding) == {"Loan__c.*"}


OUTBOUND_FLOW = """
<http:listener-config name="OM" basePath="/sfdc"><http:listener-connection host="0.0.0.0" port="8090"/></http:listener-config>
<flow name="loan-outbound">
  <http:listener config-ref="OM" path="/loans"/>
  <ee:transform><ee:message><ee:set-payload><![CDATA[%dw 2.0
output application/java
---
payload.Envelope.Body.notifications.Notification.sObject map { iban: $.IBAN__c }]]></ee:set-payload></ee:message></ee:transform>
  <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Screen"/>
</flow>"""
WORKFLOW = """<?xml version="1.0" encoding="UTF-8"?>
<Workflow xmlns="http://soap.sforce.com/2006/04/metadata">
    <outboundMessages>
        <fullName>Loan_To_Mule</fullName>
        <endpointUrl>https://loan-intake.eu-central-1.cloudhub.io/sfdc/loans</endpointUrl>
        <fields>IBAN__c</fields>
        <fields>Name</fields>
        <includeSessionId>false</includeSessionId>
        <integrationUser>integration@bank.example</integrationUser>
        <name>Loan to Mule</name>
        <protected>false</protected>
        <useDeadLetterQueue>false</useDeadLetterQueue>
    </outboundMessages>
</Workflow>
"""


def test_soap_outbound_message_listener_reads_a_record_of_unknown_object_alone(tmp_path):
    write_app(tmp_path, "app", {"om.xml": OPENAI + OUTBOUND_FLOW})
    finding = one(scan_tree(tmp_path))
    assert fields(finding) == {"SObject.Iban__c"}
    assert "outbound message received at listener /sfdc/loans" in finding.paths[0][0].message


def test_soap_outbound_message_listener_is_joined_with_the_orgs_outbound_message(tmp_path):
    write_app(tmp_path, "mule/loan-intake", {"om.xml": OPENAI + OUTBOUND_FLOW})
    (tmp_path / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app"}]}', "utf-8")
    workflows = tmp_path / "force-app/main/default/workflows"
    workflows.mkdir(parents=True)
    (workflows / "Loan__c.workflow-meta.xml").write_text(WORKFLOW, "utf-8")
    finding = one(scan_tree(tmp_path))
    assert fields(finding) == {"Loan__c.IBAN__c"}  # the field DataWeave reads, not every field sent
    assert finding.paths[0][0].location.path.endswith("Loan__c.workflow-meta.xml")
    assert "outbound message Loan__c.Loan_To_Mule" in finding.paths[0][0].message


def test_data_returned_by_another_app_of_the_repository_through_http_reaches_the_caller(tmp_path):
    server = """<http:listener-config name="API"><http:listener-connection host="0.0.0.0" port="${http.port}"/></http:listener-config>
    <salesforce:sfdc-config name="SF"><salesforce:basic-connection username="u"/></salesforce:sfdc-config>
    <flow name="client">
      <http:listener config-ref="API" path="/clients/{id}"/>
      """ + QUERY_CONTACT + "</flow>"
    caller = """<http:listener-config name="API"><http:listener-connection host="0.0.0.0" port="8085"/></http:listener-config>
    <http:request-config name="CRM"><http:request-connection host="localhost" port="8081"/></http:request-config>
    <flow name="brief">
      <http:listener config-ref="API" path="/brief"/>
      <http:request method="GET" config-ref="CRM" path="/clients/42" doc:name="Fetch client"/>
      <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Brief"/>
    </flow>""" + OPENAI
    write_app(tmp_path, "crm-system-api", {"api.xml": server}, {"config.properties": "http.port=8081\n"})
    write_app(tmp_path, "brief-experience-api", {"brief.xml": caller})
    finding = one(scan_tree(tmp_path), "APX-LLM-001")
    assert finding.location.path.startswith("brief-experience-api/")
    assert fields(finding) == {"Contact.Email", "Contact.MailingCity", "Contact.Industry__c"}
    assert any("returned by the listener /clients/{id} of crm-system-api" in s.message for s in finding.paths[0])


def test_a_request_to_another_path_or_port_of_that_app_gets_nothing(tmp_path):
    server = SALESFORCE + '<flow name="client"><http:listener config-ref="API" path="/clients"/>' + QUERY_CONTACT + "</flow>"
    caller = """<http:request-config name="CRM"><http:request-connection host="localhost" port="9999"/></http:request-config>
    <flow name="brief"><scheduler/>
      <http:request method="GET" config-ref="CRM" path="/clients"/>
      <http:request method="GET" url="http://localhost:8081/health"/>
      <ms-inference:chat-answer-prompt config-ref="OpenAI"/>
    </flow>""" + OPENAI
    write_app(tmp_path, "crm-api", {"api.xml": server})
    write_app(tmp_path, "other", {"brief.xml": caller})
    assert not [f for f in scan_tree(tmp_path).findings if f.rule_id.startswith("APX-LLM")]


# --- propagation -----------------------------------------------------------------------------------------


def test_targets_target_values_and_variables_keep_fields_apart(tmp_path):
    body = """
    <salesforce:query config-ref="SF" target="client" targetValue="#[payload[0]]">
      <salesforce:salesforce-query>SELECT Email, Industry__c FROM Contact</salesforce:salesforce-query>
    </salesforce:query>
    <set-variable variableName="segment" value="#[vars.client.Industry__c]"/>
    <set-payload value="#[{segment: vars.segment}]"/>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Segment only"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + flow(body)})
    result = scan_tree(tmp_path)
    assert not by_rule(result, "APX-LLM-001")  # Email stays in vars.client
    assert fields(one(result, "APX-LLM-004")) == {"Contact.Industry__c"}


def test_a_payload_set_again_no_longer_carries_the_records(tmp_path):
    body = QUERY_CONTACT + """
    <set-payload value="#['What is the weather like?']"/>
    <ms-inference:chat-answer-prompt config-ref="OpenAI"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + flow(body)})
    assert not scan_tree(tmp_path).findings


def test_transform_scripts_read_the_incoming_event_and_resource_scripts_are_called(tmp_path):
    body = QUERY_CONTACT + """
    <ee:transform>
      <ee:message><ee:set-payload resource="dw/prompt.dwl"/></ee:message>
      <ee:variables><ee:set-variable variableName="city">payload[0].MailingCity</ee:set-variable></ee:variables>
    </ee:transform>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Prompt"/>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="City"><ms-inference:prompt>#[vars.city]</ms-inference:prompt></ms-inference:chat-answer-prompt>"""
    dwl = '%dw 2.0\noutput application/json\n---\n{ prompt: "Write to " ++ payload[0].Email }\n'
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + flow(body)}, {"dw/prompt.dwl": dwl})
    result = scan_tree(tmp_path)
    by_name = {k: fields(f) for k, f in named(result, "APX-LLM-001", tmp_path).items()}
    assert by_name == {"Prompt": {"Contact.Email"}, "City": {"Contact.MailingCity"}}
    prompt = named(result, "APX-LLM-001", tmp_path)["Prompt"]
    assert any(s.location.path.endswith("prompt.dwl") for s in prompt.paths[0])


def test_flow_ref_passes_payload_and_variables_and_brings_back_what_the_callee_sets(tmp_path):
    caller = flow(QUERY_CONTACT + """<set-variable variableName="mail" value="#[payload[0].Email]"/>
    <flow-ref name="enrich"/>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="After"><ms-inference:prompt>#[vars.city]</ms-inference:prompt></ms-inference:chat-answer-prompt>""")
    callee = """<sub-flow name="enrich">
      <set-variable variableName="city" value="#[payload[0].MailingCity]"/>
      <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Inside"><ms-inference:prompt>#[vars.mail]</ms-inference:prompt></ms-inference:chat-answer-prompt>
    </sub-flow>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + caller, "enrich.xml": callee})
    by_name = {k: fields(f) for k, f in named(scan_tree(tmp_path), "APX-LLM-001", tmp_path).items()}
    assert by_name == {"Inside": {"Contact.Email"}, "After": {"Contact.MailingCity"}}


def test_a_sub_flow_called_by_a_clean_and_a_dirty_flow_does_not_mix_them(tmp_path):
    dirty = flow(QUERY_CONTACT + '<flow-ref name="ask"/>', "dirty")
    clean = flow('<set-payload value="#[\'hello\']"/><flow-ref name="ask"/>', "clean")
    ask = '<sub-flow name="ask"><set-variable variableName="q" value="#[payload]"/><flow-ref name="send"/></sub-flow>' \
          '<sub-flow name="send"><ms-inference:chat-answer-prompt config-ref="OpenAI"><ms-inference:prompt>#[vars.q]' \
          '</ms-inference:prompt></ms-inference:chat-answer-prompt></sub-flow>'
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + dirty + clean + ask})
    finding = one(scan_tree(tmp_path), "APX-LLM-002")
    assert {p[0].location.line for p in finding.paths} == {line_of(tmp_path / "app/src/main/mule/main.xml",
                                                                   "doc:name=\"Client\"")}


def test_foreach_choice_scatter_gather_async_try_and_batch_keep_the_data_flowing(tmp_path):
    body = QUERY_CONTACT + """
    <foreach collection="#[payload]">
      <set-variable variableName="mails" value="#[(vars.mails default '') ++ payload.Email]"/>
    </foreach>
    <choice><when expression="#[sizeOf(payload) > 0]">
      <scatter-gather>
        <route><set-payload value="#[vars.mails]"/></route>
        <route><set-payload value="#['x']"/></route>
      </scatter-gather>
    </when></choice>
    <try>
      <async><ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Deep"><ms-inference:prompt>#[payload[0].payload]</ms-inference:prompt></ms-inference:chat-answer-prompt></async>
    </try>"""
    batch = QUERY_CONTACT + """
    <batch:job jobName="j"><batch:process-records><batch:step name="s">
      <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Record"><ms-inference:prompt>#[payload.MailingCity]</ms-inference:prompt></ms-inference:chat-answer-prompt>
    </batch:step></batch:process-records></batch:job>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="After the job"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + flow(body, "a") + flow(batch, "b")})
    by_name = {k: fields(f) for k, f in named(scan_tree(tmp_path), "APX-LLM-001", tmp_path).items()}
    assert by_name == {"Deep": {"Contact.Email"}, "Record": {"Contact.MailingCity"}}  # the job's result is not data


def test_a_variable_set_in_one_loop_iteration_is_seen_by_the_next(tmp_path):
    body = QUERY_CONTACT + """
    <set-variable variableName="last" value="#['none']"/>
    <foreach>
      <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Loop" target="answer"><ms-inference:prompt>#[vars.last]</ms-inference:prompt></ms-inference:chat-answer-prompt>
      <set-variable variableName="last" value="#[payload.Email]"/>
    </foreach>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + flow(body)})
    assert fields(one(scan_tree(tmp_path))) == {"Contact.Email"}


# --- sinks and destinations ------------------------------------------------------------------------------


def test_http_request_url_is_the_configs_protocol_host_port_and_base_path_plus_its_path(tmp_path):
    config = """<http:request-config name="LLM" basePath="/openai/v1">
      <http:request-connection protocol="HTTPS" host="${llm.host}" port="443"/>
    </http:request-config>"""
    body = QUERY_CONTACT + '<http:request method="POST" config-ref="LLM" path="/chat/completions" doc:name="Chat"/>'
    write_app(tmp_path, "app", {"global.xml": config + SALESFORCE, "main.xml": flow(body)},
              {"config.yaml": "llm:\n  host: api.groq.com\n"})
    finding = one(scan_tree(tmp_path), "APX-LLM-002")  # no <http:body>: the payload (the records) is sent
    assert finding.destination.url == "https://api.groq.com/openai/v1/chat/completions"
    assert "Mule property llm.host in Mule property file src/main/resources/config.yaml" in finding.destination.how
    assert not by_rule(scan_tree(tmp_path), "APX-LLM-006")  # configured, not hard-coded


def test_http_request_body_is_what_is_sent_and_headers_count_too(tmp_path):
    body = QUERY_CONTACT + """<http:request method="POST" url="https://api.anthropic.com/v1/messages" doc:name="Claude">
      <http:body>#[{messages: [{role: "user", content: "Hi"}]}]</http:body>
      <http:headers>#[{"x-client": payload[0].Email}]</http:headers>
    </http:request>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + flow(body)})
    finding = one(scan_tree(tmp_path))
    assert fields(finding) == {"Contact.Email"} and finding.destination.provider == "Anthropic"


def test_a_placeholder_without_a_value_is_unknown_and_named_and_a_secure_one_too(tmp_path):
    body = QUERY_CONTACT + """<http:request method="POST" url="${llm.url}/v1/chat/completions" doc:name="Plain" target="r"/>
    <http:request method="POST" url="${secure::llm.url}/v1/chat/completions" doc:name="Secure"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + flow(body)})
    found = {k: f.destination for k, f in named(scan_tree(tmp_path), "APX-LLM-003", tmp_path).items()}
    assert found["Plain"].verdict == Verdict.UNKNOWN and "Mule property llm.url has no value" in found["Plain"].how
    assert "secure property llm.url" in found["Secure"].how


def test_example_property_files_are_used_only_when_no_real_one_says_otherwise(tmp_path):
    body = QUERY_CONTACT + '<http:request method="POST" url="${llm.url}" doc:name="Chat"/>'
    app = write_app(tmp_path, "app", {"main.xml": SALESFORCE + flow(body)},
                    {"app.properties.example": "llm.url=https://api.openai.com/v1/chat/completions\n"})
    assumed = one(scan_tree(tmp_path), "APX-LLM-002")
    assert assumed.confidence == "medium" and "assumed" in assumed.destination.how
    (app / "src/main/resources/app.properties").write_text("llm.url=https://llm-gateway.bank.eu/v1/chat\n", "utf-8")
    assert not scan_tree(tmp_path).findings  # the real file: the bank's gateway


def test_inference_connector_provider_comes_from_the_connection_element(tmp_path):
    configs = """
    <ms-inference:text-generation-config name="Claude"><ms-inference:anthropic-connection anthropicModelName="claude-sonnet-4"/></ms-inference:text-generation-config>
    <ms-inference:text-generation-config name="MistralEU"><ms-inference:openai-compatible-connection openAICompatibleURL="https://api.eu.mistral.ai/v1"/></ms-inference:text-generation-config>
    <ms-inference:text-generation-config name="Azure"><ms-inference:azure-openai-connection azureOpenaiResourceName="bank-weu" azureOpenaiDeploymentId="gpt4o"/></ms-inference:text-generation-config>"""
    body = QUERY_CONTACT + """
    <ms-inference:chat-answer-prompt config-ref="Claude" doc:name="Claude" target="a"/>
    <ms-inference:chat-answer-prompt config-ref="MistralEU" doc:name="EU" target="b"/>
    <ms-inference:chat-answer-prompt config-ref="Azure" doc:name="Azure" target="c"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + configs + flow(body)})
    result = scan_tree(tmp_path)
    dests = {k: f.destination for rule in ("APX-LLM-001", "APX-LLM-003") for k, f in named(result, rule, tmp_path).items()}
    assert dests["Claude"].host == "api.anthropic.com"
    assert "EU" not in dests  # the EU endpoint is sovereign
    assert dests["Azure"].url == "https://bank-weu.openai.azure.com/openai/deployments/gpt4o/chat/completions"
    assert dests["Azure"].region == ""  # the resource's region is not in the repository
    assert dests["Azure"].verdict == Verdict.FOREIGN  # and the seat (US) is not allowed anyway


def test_old_inference_connector_and_ai_chain_name_the_provider_with_an_enum(tmp_path):
    configs = """
    <mac-inference:config name="Vertex"><mac-inference:llm-connection inferenceType="VERTEX_AI" modelName="gemini-2.0-flash"
        vertexAIProjectId="bank-ai" vertexAILocationId="europe-west4"/></mac-inference:config>
    <mac-inference:config name="Groq"><mac-inference:llm-connection inferenceType="GROQ" modelName="llama3"/></mac-inference:config>
    <ms-aichain:config name="Chain" llmType="${llm.type}" modelName="gpt-4o" configType="Configuration Json"/>"""
    body = QUERY_CONTACT + """
    <mac-inference:chat-answer-prompt config-ref="Vertex" doc:name="Vertex" target="a"/>
    <mac-inference:chat-answer-prompt config-ref="Groq" doc:name="Groq" target="b"/>
    <ms-aichain:chat-answer-prompt config-ref="Chain" doc:name="Chain" target="c"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + configs + flow(body)}, {"ai.properties": "llm.type=ANTHROPIC\n"})
    dests = {k: f.destination for k, f in named(scan_tree(tmp_path), "APX-LLM-002", tmp_path).items()}
    assert dests["Vertex"].region == "EU"  # europe-west4: EU region, but the seat is US ...
    result = scan_tree(tmp_path, {"policy": {"allowed_jurisdictions": ["US", "EU"], "allowed_regions": ["EU"]}})
    assert "Vertex" not in named(result, "APX-LLM-002", tmp_path)  # ... which this policy accepts
    assert dests["Groq"].host == "api.groq.com"
    assert dests["Chain"].host == "api.anthropic.com"  # llmType from the property file


def test_einstein_models_follow_trust_salesforce_ai(tmp_path):
    body = QUERY_CONTACT + """<ms-einstein-ai:chat-answer-prompt config-ref="Einstein" modelApiName="sfdc_ai__DefaultBedrockAnthropicClaude3Haiku" doc:name="Einstein" target="a"/>
    <ms-einstein-ai:chat-answer-prompt config-ref="Einstein" doc:name="Default model"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + '<ms-einstein-ai:config name="Einstein"/>' + flow(body)})
    result = scan_tree(tmp_path)
    dests = {k: f.destination for k, f in named(result, "APX-LLM-002", tmp_path).items()}
    assert dests["Einstein"].provider == "Anthropic on Amazon Bedrock via Salesforce"
    assert dests["Default model"].url == "sfdc_ai__DefaultOpenAIGPT35Turbo"  # the connector's default
    assert dests["Einstein"].verdict == Verdict.FOREIGN  # US seat, trust layer not accepted
    trusting = {"policy": {"allowed_jurisdictions": ["EU"], "allowed_regions": ["EU"], "trust_salesforce_ai": True}}
    trusted = named(scan_tree(tmp_path, trusting), "APX-LLM-002", tmp_path)["Einstein"].destination
    # the seat is accepted through the trust layer; where the model runs is still not in the repository
    assert trusted.verdict == Verdict.UNKNOWN and "trust_salesforce_ai" in trusted.note


def test_bedrock_region_decides(tmp_path):
    def app(region: str) -> None:
        config = f'<ms-bedrock:config name="Bedrock"><ms-bedrock:basic-connection region="{region}"/></ms-bedrock:config>'
        body = QUERY_CONTACT + '<ms-bedrock:chat-answer-prompt config-ref="Bedrock" ' \
                               'modelName="anthropic.claude-3-haiku-20240307-v1:0" doc:name="B"/>'
        write_app(tmp_path, "app", {"main.xml": SALESFORCE + config + flow(body)})
    app("us-east-1")
    assert scan_tree(tmp_path).findings
    app("eu-central-1")
    eu = scan_tree(tmp_path, {"policy": {"allowed_jurisdictions": ["US", "EU"], "allowed_regions": ["EU"]}})
    assert not eu.findings


def test_self_hosted_models_are_judged_by_their_url(tmp_path):
    configs = """<ms-inference:text-generation-config name="Local"><ms-inference:ollama-connection ollamaModelName="llama3"/></ms-inference:text-generation-config>
    <ms-inference:text-generation-config name="Gateway"><ms-inference:ollama-connection ollamaUrl="https://llm-gateway.bank.eu/ollama"/></ms-inference:text-generation-config>"""
    body = QUERY_CONTACT + """<ms-inference:chat-answer-prompt config-ref="Local" doc:name="Local" target="a"/>
    <ms-inference:chat-answer-prompt config-ref="Gateway" doc:name="Gateway"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + configs + flow(body)})
    result = scan_tree(tmp_path)
    assert {k for f in result.findings for k in named(result, f.rule_id, tmp_path)} == {"Local"}
    local = by_rule(result, "APX-LLM-003")[0]
    assert local.destination.url == "http://localhost:11434/api/chat"  # the connector's default, unknown jurisdiction


def test_content_children_are_the_data_and_the_payload_when_none_is_written(tmp_path):
    body = QUERY_CONTACT + """<ms-inference:agent-define-prompt-template config-ref="OpenAI" doc:name="Template">
      <ms-inference:template>You are a helpful assistant.</ms-inference:template>
      <ms-inference:instructions>Be brief.</ms-inference:instructions>
      <ms-inference:data>#[payload[0].MailingCity]</ms-inference:data>
    </ms-inference:agent-define-prompt-template>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + flow(body)})
    assert fields(one(scan_tree(tmp_path))) == {"Contact.MailingCity"}


def test_mule_sinks_are_never_hard_coded_endpoint_findings(tmp_path):
    body = QUERY_CONTACT + '<http:request method="POST" url="https://api.openai.com/v1/chat/completions"/>'
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + flow(body)})
    assert not by_rule(scan_tree(tmp_path), "APX-LLM-006")


# --- Studio-disabled blocks --------------------------------------------------------------------------------


def test_studio_disabled_flows_and_processors_are_never_active(tmp_path):
    body = """<flow name="main">
      <http:listener config-ref="API" path="/x"/>
      <!-- [STUDIO:"Query"]<salesforce:query config-ref="SF"><salesforce:salesforce-query>SELECT Email FROM Contact</salesforce:salesforce-query></salesforce:query> [STUDIO] -->
      <ms-inference:chat-answer-prompt config-ref="OpenAI"/>
    </flow>
    <!-- [STUDIO:"old"]<flow name="old">
      <salesforce:query config-ref="SF"><salesforce:salesforce-query><![CDATA[SELECT Email FROM Contact&#93;&#93;></salesforce:salesforce-query></salesforce:query>
      <ms-inference:chat-answer-prompt config-ref="OpenAI"/>
    </flow> [STUDIO] -->"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + body})
    assert not scan_tree(tmp_path).findings


# --- the frontend on its own ----------------------------------------------------------------------------------


def test_facts_depend_on_the_file_alone_and_name_configs_of_other_files_by_app():
    data = mule_xml(flow('<http:request config-ref="Elsewhere" path="/v1/chat/completions"/>')).encode()
    code, meta = lower_mule("apps/x/src/main/mule/f.xml", data)
    (endpoint,) = code.endpoints
    assert endpoint.expr[0] == ("ref", endpoint.expr[0][1]) and \
        endpoint.expr[0][1].node == "mule:apps/x:config:elsewhere#url"
    assert [u.name for u in meta.connector_uses] == ["API", "Elsewhere"]
    assert lower_mule("apps/x/src/main/mule/f.xml", data) == lower_mule("apps/x/src/main/mule/f.xml", data)


def test_a_dataweave_script_that_cannot_be_read_is_a_diagnostic_and_its_references_are_whole(tmp_path):
    body = QUERY_CONTACT + """<set-payload value="#[payload[0].Email ++ ++ 'x']"/>
    <ms-inference:chat-answer-prompt config-ref="OpenAI"/>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + flow(body)})
    result = scan_tree(tmp_path)
    (diag,) = result.diagnostics
    assert diag.stage == "parse" and "DataWeave in <set-payload> not read" in diag.message
    assert diag.line == line_of(tmp_path / "app/src/main/mule/main.xml", "<set-payload")
    assert fields(one(result, "APX-LLM-001")) == {"Contact.Email"}


def test_hostile_nesting_and_size_are_bounded_and_reported():
    deep = "<try>" * 3000 + '<set-payload value="#[payload]"/>' + "</try>" * 3000
    code, _ = lower_mule("app/src/main/mule/deep.xml", mule_xml(f'<flow name="f">{deep}</flow>').encode())
    assert [d.message.split(";")[0] for d in code.diagnostics] == ["scopes nested deeper than 100 levels"]
    many = '<set-variable variableName="x" value="#[payload]"/>' * 25_000
    code, _ = lower_mule("app/src/main/mule/many.xml", mule_xml(f'<flow name="f">{many}</flow>').encode())
    assert [d.message.split(";")[0] for d in code.diagnostics] == ["more than 20000 processors"]


def test_flow_ref_with_a_target_keeps_the_payload_and_stores_the_callees(tmp_path):
    caller = flow("""<flow-ref name="load" target="client"/>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Payload" target="a"/>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Target"><ms-inference:prompt>#[vars.client[0].Email]</ms-inference:prompt></ms-inference:chat-answer-prompt>""")
    callee = '<sub-flow name="load">' + QUERY_CONTACT + "</sub-flow>"
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + caller + callee})
    result = scan_tree(tmp_path)
    assert {k: fields(f) for k, f in named(result, "APX-LLM-001", tmp_path).items()} == {"Target": {"Contact.Email"}}


def test_polling_object_sources_read_every_field_of_their_object(tmp_path):
    body = """<flow name="changes">
      <salesforce:modified-object-listener config-ref="SF" objectType="Opportunity"/>
      <ms-inference:chat-answer-prompt config-ref="OpenAI"><ms-inference:prompt>#[payload.Amount]</ms-inference:prompt></ms-inference:chat-answer-prompt>
    </flow>"""
    write_app(tmp_path, "app", {"main.xml": SALESFORCE + OPENAI + body})
    assert fields(one(scan_tree(tmp_path))) == {"Opportunity.Amount"}
