"""Behaviour of the Apex analysis, one construct per test, on small real-looking projects.

Each source file marks the line where a finding must be reported with `// expect: RULE-ID`;
`assert_exact` requires exactly those findings, so a test fails on a miss and on a false alarm.
"""
from __future__ import annotations

import dataclasses

from conftest import OPENAI_NC, assert_exact, data_findings, run

OPENAI_CLIENT = """
public with sharing class LlmClient {
    public static String complete(String prompt) {
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody(JSON.serialize(new Map<String, Object>{
            'model' => 'gpt-4o-mini',
            'messages' => new List<Object>{ new Map<String, Object>{ 'role' => 'user', 'content' => prompt } }
        }));
        HttpResponse res = new Http().send(req); // expect: APX-LLM-001
        return res.getBody();
    }
}
"""



def test_soql_field_concatenated_into_prompt_reaches_openai(project):
    root = project({
        "classes/LlmClient.cls": OPENAI_CLIENT,
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/ClientReview.cls": """
            public with sharing class ClientReview {
                public static String summarize(Id accountId) {
                    Account acc = [SELECT Id, Name, AnnualRevenue FROM Account WHERE Id = :accountId];
                    String prompt = 'Summarise the client ' + acc.Name + ' with revenue ' + acc.AnnualRevenue;
                    return LlmClient.complete(prompt);
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    finding = result.findings[0]
    assert [str(f) for f, _ in finding.fields] == ["Account.AnnualRevenue", "Account.Name"]
    assert finding.destination.host == "api.openai.com"
    assert finding.destination.how == "Named Credential OpenAI"
    steps = [s.message for s in finding.paths[0]]
    assert steps[0] == "Account.AnnualRevenue read by SOQL"
    assert any("passed to LlmClient.complete(prompt)" in s for s in steps)
    assert steps[-1].startswith("sent by Http.send to api.openai.com")


def test_fields_are_told_apart_non_sensitive_field_only_is_a_note(project):
    root = project({
        "classes/LlmClient.cls": OPENAI_CLIENT.replace("// expect: APX-LLM-001", "// expect: APX-LLM-005"),
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/IndustryBrief.cls": """
            public with sharing class IndustryBrief {
                public static String brief(Id accountId) {
                    Account acc = [SELECT Industry, AnnualRevenue, Phone FROM Account WHERE Id = :accountId];
                    Integer bucket = acc.AnnualRevenue > 1000000 ? 1 : 0;
                    return LlmClient.complete('Trends for the ' + acc.Industry + ' industry');
                }
            }
        """,
    })
    assert_exact(root, run(root))


def test_shared_helper_reports_the_dirty_caller_only(project):
    root = project({
        "classes/LlmClient.cls": OPENAI_CLIENT,
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/Prompts.cls": """
            public with sharing class Prompts {
                public static String wrap(String text) {
                    return 'Answer briefly: ' + text;
                }
                public static String clean() {
                    return LlmClient.complete(wrap('What is a bond ladder?'));
                }
                public static String dirty(Id contactId) {
                    Contact c = [SELECT Email, Birthdate FROM Contact WHERE Id = :contactId];
                    return LlmClient.complete(wrap(c.Email));
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert [str(f) for f, _ in finding.fields] == ["Contact.Email"]
    lines = {s.location.line for s in finding.paths[0] if s.location.path.endswith("Prompts.cls")}
    assert 10 in lines and 7 not in lines  # through the dirty caller, never the clean one


def test_helper_returning_its_parameter_does_not_taint_the_constant_call_site(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/Prompts.cls": """
            public with sharing class Prompts {
                public static String wrap(String text) { return '[' + text + ']'; }
                public static void run(Id contactId) {
                    Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
                    String kept = wrap(c.Email);
                    String sent = wrap('market outlook');
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(sent);
                    new Http().send(req);
                }
            }
        """,
    })
    assert_exact(root, run(root))


def test_queueable_carries_records_from_constructor_to_execute(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "triggers/ContactTrigger.trigger": """
            trigger ContactTrigger on Contact (after insert) {
                System.enqueueJob(new EnrichContactsJob(Trigger.new));
            }
        """,
        "classes/EnrichContactsJob.cls": """
            public with sharing class EnrichContactsJob implements Queueable, Database.AllowsCallouts {
                private final List<Contact> contacts;
                public EnrichContactsJob(List<Contact> contacts) {
                    this.contacts = contacts;
                }
                public void execute(QueueableContext context) {
                    String prompt = 'Write a welcome note for';
                    for (Contact c : contacts) {
                        prompt += ' ' + c.FirstName + ' (' + c.MailingCity + ')';
                    }
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody('{"model": "gpt-4o", "messages": [{"role": "user", "content": "' + prompt + '"}]}');
                    new Http().send(req); // expect: APX-LLM-001
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert {str(f) for f, _ in result.findings[0].fields} == {"Contact.FirstName", "Contact.MailingCity"}


def test_trigger_handler_framework_dispatches_to_the_override(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/LlmClient.cls": OPENAI_CLIENT,
        "triggers/CaseTrigger.trigger": """
            trigger CaseTrigger on Case (after insert) {
                new CaseTriggerHandler().run();
            }
        """,
        "classes/TriggerHandler.cls": """
            public virtual class TriggerHandler {
                public void run() {
                    if (Trigger.isAfter && Trigger.isInsert) {
                        afterInsert(Trigger.new);
                    }
                }
                protected virtual void afterInsert(List<SObject> records) {}
            }
        """,
        "classes/CaseTriggerHandler.cls": """
            public with sharing class CaseTriggerHandler extends TriggerHandler {
                protected override void afterInsert(List<SObject> records) {
                    for (Case c : (List<Case>) records) {
                        LlmClient.complete('Classify this case: ' + c.get('Description'));
                    }
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    # Trigger.new read in the base class holds Cases: CaseTrigger is the only trigger that calls it.
    assert [str(f) for f, _ in result.findings[0].fields] == ["Case.Description"]


def test_interface_call_reaches_every_implementation(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/ChatModel.cls": """
            public interface ChatModel {
                String ask(String prompt);
            }
        """,
        "classes/OpenAiModel.cls": """
            public with sharing class OpenAiModel implements ChatModel {
                public String ask(String prompt) {
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(prompt);
                    return new Http().send(req).getBody(); // expect: APX-LLM-001
                }
            }
        """,
        "classes/EuModel.cls": """
            public with sharing class EuModel implements ChatModel {
                public String ask(String prompt) {
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('https://api.eu.mistral.ai/v1/chat/completions');
                    req.setBody(prompt); // ok: sovereign EU endpoint (APX-LLM-006 only: hard-coded)
                    return new Http().send(req).getBody();
                }
            }
        """,
        "classes/Advisor.cls": """
            public with sharing class Advisor {
                private ChatModel model;
                public Advisor(ChatModel model) { this.model = model; }
                public String advise(Id opportunityId) {
                    Opportunity o = [SELECT Amount, Description FROM Opportunity WHERE Id = :opportunityId];
                    return model.ask('Advise on ' + o.Amount + ': ' + o.Description);
                }
            }
        """,
    })
    result = run(root)
    got = {(f.location.path, f.location.line, f.rule_id) for f in data_findings(result)}
    assert ("force-app/main/default/classes/EuModel.cls", 4, "APX-LLM-006") in got
    assert ("force-app/main/default/classes/OpenAiModel.cls", 6, "APX-LLM-001") in got
    assert len(got) == 2


def test_batch_start_query_feeds_execute_scope(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/BalanceDigestBatch.cls": """
            public with sharing class BalanceDigestBatch implements Database.Batchable<SObject>, Database.AllowsCallouts {
                private static final String QUERY = 'SELECT Id, FinServ__Balance__c, FinServ__FinancialAccountNumber__c FROM FinServ__FinancialAccount__c';
                public Database.QueryLocator start(Database.BatchableContext ctx) {
                    return Database.getQueryLocator(QUERY);
                }
                public void execute(Database.BatchableContext ctx, List<FinServ__FinancialAccount__c> scope) {
                    List<String> lines = new List<String>();
                    for (FinServ__FinancialAccount__c fa : scope) {
                        lines.add(fa.FinServ__FinancialAccountNumber__c + ': ' + fa.FinServ__Balance__c);
                    }
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(String.join(lines, '\\n'));
                    new Http().send(req); // expect: APX-LLM-001
                }
                public void finish(Database.BatchableContext ctx) {}
            }
        """,
    })
    assert_exact(root, run(root))


def test_whole_record_serialized_to_a_label_endpoint(project):
    root = project({
        "labels/CustomLabels.labels-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <CustomLabels xmlns="http://soap.sforce.com/2006/04/metadata">
                <labels>
                    <fullName>Claude_Endpoint</fullName>
                    <language>en_US</language>
                    <protected>true</protected>
                    <shortDescription>Claude endpoint</shortDescription>
                    <value>https://api.anthropic.com/v1/messages</value>
                </labels>
            </CustomLabels>
        """,
        "classes/KycReview.cls": """
            public with sharing class KycReview {
                private static final String ENDPOINT = System.Label.Claude_Endpoint;
                public static void review(Id contactId) {
                    Contact c = [SELECT Id, Email, Birthdate, Department FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(ENDPOINT); // ok: a Custom Label is configuration, not a hard-coded URL
                    req.setBody(JSON.serialize(c));
                    new Http().send(req); // expect: APX-LLM-001, APX-LLM-002
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    whole = next(f for f in result.findings if f.rule_id == "APX-LLM-002")
    assert "Custom Label Claude_Endpoint" in whole.destination.how


def test_policy_sanitizer_cleans_masked_values(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/PiiMasker.cls": """
            public with sharing class PiiMasker {
                public static String mask(String value) {
                    return value == null ? null : value.left(2) + '****';
                }
            }
        """,
        "classes/Onboarding.cls": """
            public with sharing class Onboarding {
                public static void describe(Id contactId) {
                    Contact c = [SELECT Email, MobilePhone FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody('Client contact: ' + PiiMasker.mask(c.Email) + ' / ' + PiiMasker.mask(c.MobilePhone));
                    new Http().send(req); // ok: both values are masked by the policy's sanitizer
                }
            }
        """,
    })
    assert_exact(root, run(root, {"policy": {"sanitizers": ["PiiMasker.mask"]}}))
    unmasked = run(root, {"policy": {}})
    assert {f.rule_id for f in data_findings(unmasked)} == {"APX-LLM-001"}


def test_runtime_endpoint_with_llm_body_is_unknown_jurisdiction(project):
    root = project({
        "classes/AssistantService.cls": """
            public with sharing class AssistantService {
                public static void ask(Id leadId) {
                    Lead l = [SELECT Email, Company FROM Lead WHERE Id = :leadId];
                    AI_Settings__c settings = AI_Settings__c.getOrgDefaults();
                    Map<String, Object> body = new Map<String, Object>{
                        'model' => settings.Model__c,
                        'messages' => new List<Object>{ new Map<String, Object>{ 'role' => 'user', 'content' => l.Email } }
                    };
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(AI_Settings__c.getOrgDefaults().Endpoint__c);
                    req.setBody(JSON.serialize(body));
                    new Http().send(req); // expect: APX-LLM-003
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert "custom setting" in result.findings[0].message
    assert "model" in result.findings[0].message


def test_test_classes_mocks_and_same_org_callouts_are_not_sinks(project):
    root = project({
        "classes/OrgApi.cls": """
            public with sharing class OrgApi {
                public static void touch(Id contactId) {
                    Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(URL.getOrgDomainUrl().toExternalForm() + '/services/data/v62.0/sobjects/Contact');
                    req.setBody(JSON.serialize(c));
                    new Http().send(req); // ok: the org calling itself
                }
            }
        """,
        "classes/LlmMock.cls": """
            @IsTest
            public class LlmMock implements HttpCalloutMock {
                public HttpResponse respond(HttpRequest req) {
                    Contact c = [SELECT Email FROM Contact LIMIT 1];
                    HttpResponse res = new HttpResponse();
                    res.setBody('{"choices": [{"message": {"content": "' + c.Email + '"}}]}');
                    return res;
                }
            }
        """,
        "classes/LlmClientTest.cls": """
            @IsTest
            private class LlmClientTest {
                @IsTest
                static void sendsPrompt() {
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('https://api.openai.com/v1/chat/completions');
                    req.setBody([SELECT Email FROM Contact LIMIT 1].Email);
                    new Http().send(req);
                }
            }
        """,
    })
    assert_exact(root, run(root))


def test_custom_metadata_endpoint_resolves_through_named_credential(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "customMetadata/LLM_Config.Default.md-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <CustomMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
                <label>Default</label>
                <protected>false</protected>
                <values>
                    <field>Endpoint__c</field>
                    <value xsi:type="xsd:string">callout:OpenAI/v1/chat/completions</value>
                </values>
            </CustomMetadata>
        """,
        "classes/NoteSummarizer.cls": """
            public with sharing class NoteSummarizer {
                public static void summarize(Id caseId) {
                    LLM_Config__mdt config = LLM_Config__mdt.getInstance('Default');
                    Case c = [SELECT Subject, Description FROM Case WHERE Id = :caseId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(config.Endpoint__c);
                    req.setBody(c.Description);
                    new Http().send(req); // expect: APX-LLM-001
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert result.findings[0].destination.url == "https://api.openai.com/v1/chat/completions"


def test_non_llm_host_is_out_of_scope(project):
    root = project({
        "classes/Geocoder.cls": """
            public with sharing class Geocoder {
                private static final String BASE = 'https://maps.googleapis.com/maps/api/geocode/json?address=';
                public static void locate(Id contactId) {
                    Contact c = [SELECT MailingStreet, MailingCity FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(BASE + EncodingUtil.urlEncode(c.MailingStreet + ' ' + c.MailingCity, 'UTF-8'));
                    new Http().send(req); // ok: a geocoder, not an LLM
                }
            }
        """,
    })
    assert_exact(root, run(root))


def test_bad_files_are_reported_and_the_scan_goes_on(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/LlmClient.cls": OPENAI_CLIENT,
        "classes/Caller.cls": """
            public with sharing class Caller {
                public static String go(Id id) {
                    return LlmClient.complete([SELECT Email FROM Contact WHERE Id = :id].Email);
                }
            }
        """,
        "classes/Empty.cls": "",
        "classes/NotApex.cls": "<html><body>this is not Apex</body></html>\n",
        "classes/Broken.cls": "public class Broken {\n    public void f( {\n}\n",
        "classes/Latin1.cls": "public class Latin1 { String s = 'Gr\xfc\xdfe'; }\n".encode("latin-1"),
        "classes/Binary.cls": b"\x00\x01\x02\xff\xfe binary",
        "namedCredentials/Evil.namedCredential-meta.xml": """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
            <NamedCredential><endpoint>&lol2;</endpoint></NamedCredential>
        """,
    })
    result = run(root)
    skipped = [f for f in result.findings if f.rule_id == "APX-SCAN-001"]
    assert_exact(root, dataclasses.replace(result, findings=tuple(f for f in result.findings if f not in skipped)))
    by_file = {d.path.rsplit("/", 1)[-1]: d.message for d in result.diagnostics}
    assert by_file["Empty.cls"] == "empty file"
    assert "not Apex" in by_file["NotApex.cls"]
    assert "syntax error" in by_file["Broken.cls"]
    assert "UTF-8" in by_file["Latin1.cls"]
    assert "binary" in by_file["Binary.cls"]
    assert "DOCTYPE" in by_file["Evil.namedCredential-meta.xml"]
    # Fail closed: what was skipped, wholly or in part, is a finding the gate sees; an empty file
    # (nothing to analyse) and replaced bad UTF-8 bytes (nothing lost) are not.
    levels = {f.location.path.rsplit("/", 1)[-1]: f.level or "error" for f in skipped}
    assert levels == {"NotApex.cls": "error", "Binary.cls": "error", "Evil.namedCredential-meta.xml": "error",
                      "Broken.cls": "warning"}


def test_residency_guard_on_the_request_suppresses_that_send_only(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/ResidencyGuard.cls": """
            public with sharing class ResidencyGuard {
                public static void assertSovereign(HttpRequest req) {
                    if (!req.getEndpoint().startsWith('callout:Mistral_EU')) {
                        throw new CalloutException('LLM endpoint outside the EU');
                    }
                }
            }
        """,
        "classes/Advisor.cls": """
            public with sharing class Advisor {
                public static void guarded(Id contactId) {
                    Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(c.Email);
                    ResidencyGuard.assertSovereign(req);
                    new Http().send(req); // ok: checked by the policy's residency guard
                }
                public static void unguarded(Id contactId) {
                    Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(c.Email);
                    new Http().send(req); // expect: APX-LLM-001
                }
            }
        """,
    })
    assert_exact(root, run(root, {"policy": {"residency_guards": ["ResidencyGuard.assertSovereign"]}}))
    assert len(data_findings(run(root, {"policy": {}}))) == 2


def test_endpoint_from_custom_metadata_query_copied_into_a_map(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "customMetadata/AI_Request_Setting.Analyst.md-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <CustomMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
                <label>Analyst</label>
                <values><field>Endpoint__c</field><value xsi:type="xsd:string">callout:OpenAI/v1/chat/completions</value></values>
                <values><field>Timeout__c</field><value xsi:type="xsd:double">60000</value></values>
            </CustomMetadata>
        """,
        "classes/Keys.cls": """
            public class Keys {
                public static final String ENDPOINT = 'Endpoint';
            }
        """,
        "classes/SettingsSelector.cls": """
            public with sharing class SettingsSelector {
                public static Map<String, String> load(String name) {
                    AI_Request_Setting__mdt s = [SELECT Endpoint__c, Timeout__c FROM AI_Request_Setting__mdt WHERE DeveloperName = :name];
                    return new Map<String, String>{ Keys.ENDPOINT => s.Endpoint__c };
                }
            }
        """,
        "classes/MeetingJob.cls": """
            public with sharing class MeetingJob implements Queueable, Database.AllowsCallouts {
                private Map<String, String> settings;
                private Id meetingId;
                public MeetingJob(Map<String, String> settings, Id meetingId) {
                    this.settings = settings;
                    this.meetingId = meetingId;
                }
                public void execute(QueueableContext ctx) {
                    Event e = [SELECT Description FROM Event WHERE Id = :meetingId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(settings.get(Keys.ENDPOINT));
                    req.setBody(e.Description);
                    new Http().send(req); // expect: APX-LLM-001
                }
            }
        """,
        "classes/MeetingService.cls": """
            public with sharing class MeetingService {
                public static void analyse(Id meetingId) {
                    System.enqueueJob(new MeetingJob(SettingsSelector.load('Analyst'), meetingId));
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert result.findings[0].destination.how == "Named Credential OpenAI"


def test_records_added_to_a_list_by_a_callee_reach_the_caller(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/Digest.cls": """
            public with sharing class Digest {
                private static void collect(List<String> lines, Id accountId) {
                    for (Contact c : [SELECT Email FROM Contact WHERE AccountId = :accountId]) {
                        lines.add(c.Email);
                    }
                }
                public static void send(Id accountId) {
                    List<String> lines = new List<String>();
                    collect(lines, accountId);
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(String.join(lines, '\\n'));
                    new Http().send(req); // expect: APX-LLM-001
                }
            }
        """,
    })
    assert_exact(root, run(root))


def test_platform_event_carries_copied_fields_to_the_subscribing_trigger(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/DealPublisher.cls": """
            public with sharing class DealPublisher {
                public static void announce(Id opportunityId) {
                    Opportunity o = [SELECT Amount, StageName FROM Opportunity WHERE Id = :opportunityId];
                    Deal_Signal__e signal = new Deal_Signal__e(Deal_Amount__c = o.Amount, Stage__c = o.StageName);
                    EventBus.publish(signal);
                }
            }
        """,
        "triggers/DealSignalTrigger.trigger": """
            trigger DealSignalTrigger on Deal_Signal__e (after insert) {
                for (Deal_Signal__e s : Trigger.new) {
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody('Comment on a deal of ' + s.Deal_Amount__c);
                    new Http().send(req); // expect: APX-LLM-001
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert [str(f) for f, _ in data_findings(result)[0].fields] == ["Opportunity.Amount"]


def test_super_call_reaches_the_parent_method_not_the_override(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/BasePrompt.cls": """
            public virtual class BasePrompt {
                public virtual String text(Contact c) { return 'Client segment: gold'; }
            }
        """,
        "classes/DetailedPrompt.cls": """
            public with sharing class DetailedPrompt extends BasePrompt {
                public override String text(Contact c) { return 'Client ' + c.Email; }
                public String brief(Contact c) { return super.text(c); }
                public void send(Id contactId) {
                    Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(brief(c));
                    new Http().send(req); // ok: super.text() ignores the contact's e-mail
                }
            }
        """,
    })
    assert_exact(root, run(root))


def test_dynamic_soql_json_generator_and_populated_fields(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/ExportForAi.cls": """
            public with sharing class ExportForAi {
                private static final String FIELDS = 'Id, Email, Phone';
                public static void byQuery(Id contactId) {
                    List<Contact> rows = Database.query('SELECT ' + FIELDS + ' FROM Contact WHERE Id = :contactId');
                    JSONGenerator gen = JSON.createGenerator(false);
                    gen.writeStartObject();
                    gen.writeStringField('prompt', 'Summarise ' + rows[0].Phone);
                    gen.writeEndObject();
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/completions');
                    req.setBody(gen.getAsString());
                    new Http().send(req); // expect: APX-LLM-001
                }
                public static void byMap(String objectName, String whereClause) {
                    SObject rec = Database.query('SELECT ' + String.join(new List<String>(Schema.getGlobalDescribe().get(objectName).getDescribe().fields.getMap().keySet()), ',') + ' FROM Lead ' + whereClause)[0];
                    Map<String, Object> fields = rec.getPopulatedFieldsAsMap();
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/completions');
                    req.setBody(JSON.serialize(fields));
                    new Http().send(req); // expect: APX-LLM-001, APX-LLM-002
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    by_query, by_map = sorted((f for f in result.findings if f.rule_id == "APX-LLM-001"),
                              key=lambda f: f.location.line)
    assert [str(f) for f, _ in by_query.fields] == ["Contact.Phone"]
    assert by_query.confidence == "high"
    assert [str(f) for f, _ in by_map.fields] == ["Lead.*"]
    assert by_map.confidence == "medium"  # the select list is built at run time


def test_models_api_sends_record_data_to_a_salesforce_hosted_model(project):
    root = project({
        "classes/CaseTriage.cls": """
            public with sharing class CaseTriage {
                private static final String MODEL = 'sfdc_ai__DefaultOpenAIGPT4OmniMini';
                public static String classify(Id caseId) {
                    Case c = [SELECT Description FROM Case WHERE Id = :caseId];
                    aiplatform.ModelsAPI_ChatMessageRequest msg = new aiplatform.ModelsAPI_ChatMessageRequest();
                    msg.role = 'user';
                    msg.content = 'Classify: ' + c.Description;
                    aiplatform.ModelsAPI_ChatGenerationsRequest body = new aiplatform.ModelsAPI_ChatGenerationsRequest();
                    body.messages = new List<aiplatform.ModelsAPI_ChatMessageRequest>{ msg };
                    aiplatform.ModelsAPI.createChatGenerations_Request req = new aiplatform.ModelsAPI.createChatGenerations_Request();
                    req.modelName = MODEL;
                    req.body = body;
                    aiplatform.ModelsAPI api = new aiplatform.ModelsAPI();
                    return api.createChatGenerations(req).Code200.generationDetails.generations[0].content; // expect: APX-LLM-001
                }
                public static String greet() {
                    aiplatform.ModelsAPI.createGenerations_Request req = new aiplatform.ModelsAPI.createGenerations_Request();
                    aiplatform.ModelsAPI_GenerationRequest body = new aiplatform.ModelsAPI_GenerationRequest();
                    body.prompt = 'Write a friendly greeting';
                    req.body = body;
                    return new aiplatform.ModelsAPI().createGenerations('sfdc_ai__DefaultOpenAIGPT4OmniMini', req).Code200.generation.generatedText; // ok: no record data
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert result.findings[0].destination.provider == "OpenAI via Salesforce"
    trusted = run(root, {"policy": {"trust_salesforce_ai": True, "allowed_jurisdictions": ["EU", "US"]}})
    assert all(f.rule_id != "APX-LLM-001" for f in trusted.findings)


def test_unicode_escapes_in_an_endpoint_literal_are_decoded(project):
    """`\\u002F` is a slash to Apex: the host is OpenAI's, not an unknown one."""
    root = project({
        "classes/Escaped.cls": r"""
            public with sharing class Escaped {
                public static void send(Id caseId) {
                    Case c = [SELECT Description FROM Case WHERE Id = :caseId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('https:\u002F\u002Fapi.openai.com\u002Fv1\u002Fchat\u002Fcompletions'); // expect: APX-LLM-006
                    req.setMethod('POST');
                    req.setBody('{"model": "gpt-4o", "input": "' + c.Description + '"}\r\n');
                    new Http().send(req); // expect: APX-LLM-001
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert {f.destination.host for f in result.findings} == {"api.openai.com"}


def test_polymorphic_lookups_are_named_by_their_path(project):
    """Who and What lead to the Name object: Task.Who.Name and Task.What.Name are two data, not
    one "Name.Name"."""
    root = project({
        "classes/TaskDigest.cls": """
            public with sharing class TaskDigest {
                public static void send(Id taskId) {
                    Task t = [SELECT Who.Name, What.Name FROM Task WHERE Id = :taskId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setMethod('POST');
                    req.setBody(JSON.serialize(new Map<String, Object>{
                        'model' => 'gpt-4o', 'input' => t.Who.Name + ' / ' + t.What.Name }));
                    new Http().send(req); // expect: APX-LLM-001
                }
            }
        """,
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
    })
    result = run(root)
    assert_exact(root, result)
    [finding] = data_findings(result)
    assert sorted(f"{ref.object}.{ref.field}" for ref, _ in finding.fields) == ["Task.What.Name", "Task.Who.Name"]
    assert "Name.Name" not in finding.message


def test_dynamic_soql_with_a_sub_query_reads_the_outer_object_and_its_fields(project):
    """The first FROM of `SELECT Name, (SELECT Email FROM Contacts) FROM Account` is the sub-query's:
    the records are Accounts, with their Contacts' e-mail, not every field of "Contacts"."""
    root = project({
        "classes/AccountBrief.cls": """
            public with sharing class AccountBrief {
                private static final String QUERY =
                    'SELECT Name, toLabel(Industry), (SELECT Email FROM Contacts) FROM Account WHERE Id = :accId';
                public static void send(Id accId) {
                    List<Account> rows = Database.query(QUERY);
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/responses');
                    req.setMethod('POST');
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'input' => rows[0].Name + ' ' + rows[0].Industry + ' ' + rows[0].Contacts[0].Email }));
                    new Http().send(req); // expect: APX-LLM-001
                }
            }
        """,
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
    })
    result = run(root)
    assert_exact(root, result)
    [finding] = data_findings(result)
    assert sorted(f"{ref.object}.{ref.field}" for ref, _ in finding.fields) == [
        "Account.Industry", "Account.Name", "Contact.Email"]


RUNTIME_NC_TOOL = """
    public with sharing class HttpTool {
        public class Config { public String namedCredential; }
        public class ChatRequest { public String model; public List<String> messages = new List<String>(); }
        public static String run(Id contactId, String configJson, Boolean asChat) {
            Config cfg = (Config) JSON.deserialize(configJson, Config.class);
            Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
            HttpRequest req = new HttpRequest();
            req.setEndpoint('callout:' + cfg.namedCredential);
            req.setMethod('POST');
            req.setBody(JSON.serialize(new Map<String, Object>{ 'email' => c.Email }));
            return new Http().send(req).getBody();
        }
        public static String chat(Id contactId, String configJson) {
            Config cfg = (Config) JSON.deserialize(configJson, Config.class);
            Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
            ChatRequest body = new ChatRequest();
            body.model = 'default';
            body.messages.add('Write to ' + c.Email);
            HttpRequest req = new HttpRequest();
            req.setEndpoint('callout:' + cfg.namedCredential);
            req.setMethod('POST');
            req.setBody(JSON.serialize(body));
            return new Http().send(req).getBody(); // expect: APX-LLM-001
        }
    }
"""


def test_a_credential_named_at_run_time_is_an_llm_one_only_for_a_request_shaped_like_an_llm_call(project):
    """A generic HTTP tool configured with data is not sent to the project's OpenAI credential;
    a request built from a wrapper class with `model` and `messages` fields is."""
    root = project({
        "classes/HttpTool.cls": RUNTIME_NC_TOOL,
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
    })
    result = run(root)
    assert_exact(root, result)
    [finding] = data_findings(result)
    assert finding.destination.host == "api.openai.com"



def test_a_prompt_template_missing_from_the_project_is_still_a_call_to_a_model(project):
    """Retrieved source often lacks the genAiPromptTemplates: the data sent to the template from
    Apex is reported at the call, with an unknown destination (the template's model decides)."""
    root = project({
        "classes/Summ.cls": """
            public with sharing class Summ {
                @AuraEnabled
                public static String summarize(Id contactId) {
                    Contact c = [SELECT Email, Description FROM Contact WHERE Id = :contactId];
                    ConnectApi.WrappedValue v = new ConnectApi.WrappedValue();
                    v.value = 'Email: ' + c.Email + '\n' + c.Description;
                    Map<String, ConnectApi.WrappedValue> params = new Map<String, ConnectApi.WrappedValue>();
                    params.put('Input:Context', v);
                    ConnectApi.EinsteinPromptTemplateGenerationsInput input = new ConnectApi.EinsteinPromptTemplateGenerationsInput();
                    input.inputParams = params;
                    input.isPreview = false;
                    ConnectApi.EinsteinPromptTemplateGenerationsRepresentation out =
                        ConnectApi.EinsteinLLM.generateMessagesForPromptTemplate('Contact_Summary', input); // expect: APX-LLM-003
                    return out.generations[0].text;
                }
                public static String byName(String templateName, Map<String, String> inputs) {
                    ConnectApi.EinsteinPromptTemplateGenerationsInput input = new ConnectApi.EinsteinPromptTemplateGenerationsInput();
                    Map<String, ConnectApi.WrappedValue> params = new Map<String, ConnectApi.WrappedValue>();
                    for (String k : inputs.keySet()) { ConnectApi.WrappedValue w = new ConnectApi.WrappedValue(); w.value = inputs.get(k); params.put(k, w); }
                    input.inputParams = params;
                    return ConnectApi.EinsteinLLM.generateMessagesForPromptTemplate(templateName, input).generations[0].text; // expect: APX-LLM-003
                }
                @AuraEnabled
                public static String viaName(Id contactId) {
                    Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
                    return byName('Contact_Summary', new Map<String, String>{ 'Input:Context' => c.Email });
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert {f.destination.provider for f in result.findings} == {"Salesforce-hosted model"}
    assert any("Contact_Summary is not in this project" in f.destination.how for f in result.findings)



def test_an_endpoint_read_from_the_first_custom_metadata_record_of_a_query(project):
    """`settings[0].Base_Url__c` of `[SELECT ... FROM AI_Provider_Setting__mdt]` is the records'
    Base_Url__c, as `setting.Base_Url__c` of a single record is."""
    root = project({
        "classes/Svc.cls": """
            public with sharing class Svc {
                public class Cfg {
                    public String apiKey;
                    public String baseUrl;
                    public Cfg(String k, String b) { apiKey = k; baseUrl = b; }
                }
                public static Cfg getCfg(String provider) {
                    List<AI_Provider_Setting__mdt> s = [SELECT Api_Key__c, Base_Url__c FROM AI_Provider_Setting__mdt WHERE MasterLabel = :provider LIMIT 1];
                    return new Cfg(s[0].Api_Key__c, s[0].Base_Url__c);
                }
                @AuraEnabled
                public static String ask(Id contactId, String provider) {
                    Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
                    Cfg cfg = getCfg(provider);
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(cfg.baseUrl + '/chat/completions');
                    req.setMethod('POST');
                    req.setHeader('Authorization', 'Bearer ' + cfg.apiKey);
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'deepseek-chat',
                        'messages' => new List<Object>{ new Map<String, Object>{ 'role' => 'user', 'content' => c.Email } } }));
                    return new Http().send(req).getBody(); // expect: APX-LLM-001
                }
            }
        """,
        "customMetadata/AI_Provider_Setting.DeepSeek.md-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <CustomMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
                <label>DeepSeek</label>
                <protected>false</protected>
                <values>
                    <field>Base_Url__c</field>
                    <value xsi:type="xsd:string">https://api.deepseek.com</value>
                </values>
            </CustomMetadata>
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert [f.destination.host for f in result.findings] == ["api.deepseek.com"]
