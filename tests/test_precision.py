"""Precision on shapes real orgs use: a callout helper shared by LLM and non-LLM callers, queries
over an object chosen at run time, Flow actions whose External Service registration is not in the
source, test-only stand-in endpoints, and Named Credentials that are missing from the project.

Each source file marks the line where a finding must be reported with `// expect: RULE-ID`
(`<!-- expect: RULE-ID -->` in XML); `assert_exact` requires exactly those findings.
"""
from __future__ import annotations

from conftest import OPENAI_NC, assert_exact, data_findings, run

# --- a shared HTTP helper: where each caller's data goes -----------------------------------------

CALLOUT_SERVICE = """
public with sharing class CalloutService {
    public static HttpResponse send(String endpoint, String body) {
        HttpRequest req = new HttpRequest();
        req.setEndpoint(endpoint);
        req.setMethod('POST');
        req.setHeader('Content-Type', 'application/json');
        req.setBody(body);
        return new Http().send(req); // expect: APX-LLM-001
    }
}
"""

CLAIM_ASSISTANT = """
public with sharing class ClaimAssistant {
    @AuraEnabled
    public static String triage(Id claimId) {
        Claim__c claim = [SELECT Id, Description__c FROM Claim__c WHERE Id = :claimId];
        Map<String, Object> payload = new Map<String, Object>{
            'model' => 'gpt-4o-mini',
            'messages' => new List<Object>{
                new Map<String, Object>{ 'role' => 'user', 'content' => 'Triage this claim: ' + claim.Description__c }
            }
        };
        return CalloutService.send('callout:OpenAI/v1/chat/completions', JSON.serialize(payload)).getBody();
    }
}
"""

PARTNER_SYNC = """
public with sharing class PartnerSync {
    public static void pushContacts(Set<Id> accountIds) {
        for (Contact c : [SELECT Email, MobilePhone FROM Contact WHERE AccountId IN :accountIds]) {
            CalloutService.send('callout:Partner_Portal/api/contacts', JSON.serialize(c));
        }
    }
}
"""

PARTNER_NC = """
<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Partner Portal</label>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://partners.northwind-insurance.eu</parameterValue>
    </namedCredentialParameters>
</NamedCredential>
"""


def test_shared_callout_helper_reports_each_callers_data_with_its_own_endpoint(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "namedCredentials/Partner_Portal.namedCredential-meta.xml": PARTNER_NC,
        "classes/CalloutService.cls": CALLOUT_SERVICE,
        "classes/ClaimAssistant.cls": CLAIM_ASSISTANT,
        "classes/PartnerSync.cls": PARTNER_SYNC,
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert finding.destination.host == "api.openai.com"
    # The contacts go to the partner portal only; the claim text is what reaches OpenAI.
    assert [str(f) for f, _ in finding.fields] == ["Claim__c.Description__c"]
    (path,) = finding.paths
    assert any("ClaimAssistant" in s.location.path for s in path)
    assert not any("PartnerSync" in s.location.path for s in path)


def test_other_callers_endpoint_on_an_example_host_still_keeps_its_data(project):
    """A documentation host set by another caller is that caller's endpoint, not a test stand-in
    of this request: the contacts still do not go to OpenAI."""
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/CalloutService.cls": CALLOUT_SERVICE,
        "classes/ClaimAssistant.cls": CLAIM_ASSISTANT,
        "classes/PartnerSync.cls": PARTNER_SYNC.replace("'callout:Partner_Portal/api/contacts'",
                                                        "'https://crm-bridge.example.org/contacts'"),
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert [str(f) for f, _ in finding.fields] == ["Claim__c.Description__c"]


def test_shared_helper_behind_a_second_helper_keeps_callers_apart(project):
    """send(endpoint, body) <- post(url, body) <- two callers: two levels of call strings."""
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "namedCredentials/Partner_Portal.namedCredential-meta.xml": PARTNER_NC,
        "classes/CalloutService.cls": CALLOUT_SERVICE,
        "classes/JsonClient.cls": """
            public with sharing class JsonClient {
                public static String post(String url, String body) {
                    return CalloutService.send(url, body).getBody();
                }
            }
        """,
        "classes/ClaimAssistant.cls": CLAIM_ASSISTANT.replace("CalloutService.send(", "JsonClient.post(")
                                                   .replace(").getBody();", ");"),
        "classes/PartnerSync.cls": PARTNER_SYNC.replace("CalloutService.send(", "JsonClient.post("),
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert [str(f) for f, _ in finding.fields] == ["Claim__c.Description__c"]


def test_helper_returning_an_endpoint_per_caller_does_not_mix_callers(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "namedCredentials/Partner_Portal.namedCredential-meta.xml": PARTNER_NC,
        "classes/Endpoints.cls": """
            public with sharing class Endpoints {
                public static String of(String credential, String path) {
                    return 'callout:' + credential + path;
                }
            }
        """,
        "classes/Outbound.cls": """
            public with sharing class Outbound {
                public static void summarize(Id caseId) {
                    Case c = [SELECT Description FROM Case WHERE Id = :caseId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(Endpoints.of('OpenAI', '/v1/chat/completions'));
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => c.Description }));
                    new Http().send(req); // expect: APX-LLM-001
                }
                public static void syncPartner(Id contactId) {
                    Contact p = [SELECT Email FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(Endpoints.of('Partner_Portal', '/api/contacts'));
                    req.setBody(p.Email);
                    new Http().send(req);
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert [str(f) for f, _ in finding.fields] == ["Case.Description"]


def test_data_prepared_inside_the_helper_goes_to_every_callers_endpoint(project):
    """A datum with no calling context of its own still reaches all the endpoints set for the
    request: matching by context only narrows data that carries one."""
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "namedCredentials/Partner_Portal.namedCredential-meta.xml": PARTNER_NC,
        "classes/AuditedCallout.cls": """
            public with sharing class AuditedCallout {
                public static HttpResponse send(String endpoint, String body) {
                    User me = [SELECT Email FROM User WHERE Id = :UserInfo.getUserId()];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(endpoint);
                    req.setBody(body + ' requested by ' + me.Email);
                    return new Http().send(req); // expect: APX-LLM-001
                }
                public static void ask(String question) {
                    send('callout:OpenAI/v1/chat/completions', JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => question }));
                }
                public static void notifyPartner() {
                    send('callout:Partner_Portal/api/ping', '{}');
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert [str(f) for f, _ in finding.fields] == ["User.Email"]


# --- queries over an object chosen at run time ---------------------------------------------------

def test_query_over_an_object_chosen_at_run_time_is_a_whole_record_warning(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/RecordChat.cls": """
            public with sharing class RecordChat {
                @AuraEnabled
                public static String ask(String objectApiName, Id recordId, String question) {
                    String soql = 'SELECT Id, Name FROM ' + String.escapeSingleQuotes(objectApiName) + ' WHERE Id = :recordId';
                    List<SObject> rows = Database.query(soql);
                    String context = JSON.serialize(rows);
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setMethod('POST');
                    req.setBody(JSON.serialize(new Map<String, Object>{
                        'model' => 'gpt-4o',
                        'messages' => new List<Object>{ question + '\\n' + context }
                    }));
                    return new Http().send(req).getBody(); // expect: APX-LLM-002
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert finding.level == "warning" and finding.confidence == "medium"
    assert finding.message.startswith("Records of an object chosen at run time are serialized")
    assert [str(f) for f, _ in finding.fields] == ["SObject.*"]
    assert finding.paths[0][0].message == "records of an object chosen at run time read by database.query"


def test_model_written_query_run_as_a_tool_sends_its_records_back(project):
    root = project({
        "classes/AgentTools.cls": """
            public with sharing class AgentTools {
                public static String runQuery(String soql) {
                    List<SObject> records = Database.query(soql, AccessLevel.USER_MODE);
                    return JSON.serialize(records);
                }
            }
        """,
        "classes/ClaudeAgent.cls": """
            public with sharing class ClaudeAgent {
                public static String ask(String question) {
                    List<Object> messages = new List<Object>{ new Map<String, Object>{ 'role' => 'user', 'content' => question } };
                    Map<String, Object> reply = call(messages);
                    Map<String, Object> toolUse = (Map<String, Object>) reply.get('tool_use');
                    String result = AgentTools.runQuery((String) toolUse.get('query'));
                    messages.add(new Map<String, Object>{ 'role' => 'user', 'content' => result });
                    return JSON.serialize(call(messages));
                }
                private static Map<String, Object> call(List<Object> messages) {
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('https://api.anthropic.com/v1/messages'); // expect: APX-LLM-006
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'claude-sonnet-4', 'messages' => messages }));
                    HttpResponse res = new Http().send(req); // expect: APX-LLM-002
                    return (Map<String, Object>) JSON.deserializeUntyped(res.getBody());
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)


def test_static_query_handed_to_a_query_locator_stays_a_known_object(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/NoteDigestBatch.cls": """
            public with sharing class NoteDigestBatch implements Database.Batchable<SObject>, Database.AllowsCallouts {
                public Database.QueryLocator start(Database.BatchableContext bc) {
                    return Database.getQueryLocator([SELECT Id, Description FROM Opportunity WHERE IsClosed = false]);
                }
                public void execute(Database.BatchableContext bc, List<Opportunity> scope) {
                    for (Opportunity o : scope) {
                        HttpRequest req = new HttpRequest();
                        req.setEndpoint('callout:OpenAI/v1/chat/completions');
                        req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => o.Description }));
                        new Http().send(req); // expect: APX-LLM-001
                    }
                }
                public void finish(Database.BatchableContext bc) {}
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert [str(f) for f, _ in finding.fields] == ["Opportunity.Description"]


# --- endpoints set only in tests -----------------------------------------------------------------

def test_stand_in_endpoint_of_a_test_only_branch_is_not_a_destination(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/LeadScorer.cls": """
            public with sharing class LeadScorer {
                public static String score(Id leadId) {
                    Lead l = [SELECT Email, Description FROM Lead WHERE Id = :leadId];
                    HttpRequest req = new HttpRequest();
                    if (Test.isRunningTest()) {
                        req.setEndpoint('https://mock.example.invalid/v1/chat/completions');
                    } else {
                        req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    }
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => l.Description + ' ' + l.Email }));
                    return new Http().send(req).getBody(); // expect: APX-LLM-001
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert [f.destination.host for f in data_findings(result)] == ["api.openai.com"]


def test_stand_in_endpoint_alone_is_still_reported_as_unknown(project):
    """A documentation host with nothing else beside it may be a redacted real endpoint."""
    root = project({
        "classes/LeadScorer.cls": """
            public with sharing class LeadScorer {
                public static String score(Id leadId) {
                    Lead l = [SELECT Email FROM Lead WHERE Id = :leadId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('https://llm.example.com/v1/chat/completions');
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => l.Email }));
                    return new Http().send(req).getBody(); // expect: APX-LLM-003
                }
            }
        """,
    })
    assert_exact(root, run(root))


def test_branch_taken_only_in_apex_tests_is_not_lowered(project):
    """The mock host is no documentation host: only the Test.isRunningTest() branch rules it out."""
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/CaseSummarizer.cls": """
            public with sharing class CaseSummarizer {
                public static String summarize(Id caseId) {
                    Case c = [SELECT Subject, Description FROM Case WHERE Id = :caseId];
                    HttpRequest req = new HttpRequest();
                    String host = Test.isRunningTest() ? 'https://mock-llm.northbank.dev' : 'callout:OpenAI';
                    req.setEndpoint(host + '/v1/chat/completions');
                    if (!Test.isRunningTest()) {
                        req.setHeader('X-Trace', 'prod');
                    } else {
                        req.setEndpoint('https://mock-llm.northbank.dev/v1/chat/completions');
                    }
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => c.Description }));
                    return new Http().send(req).getBody(); // expect: APX-LLM-001
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert [f.destination.host for f in data_findings(result)] == ["api.openai.com"]


def test_data_sent_only_inside_a_test_branch_is_not_a_leak(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/ContactAdvisor.cls": """
            public with sharing class ContactAdvisor {
                public static String advise(Id contactId) {
                    Contact c = [SELECT Email, Birthdate FROM Contact WHERE Id = :contactId];
                    String prompt = 'Suggest a product';
                    if (Test.isRunningTest()) {
                        prompt += ' for ' + c.Email;
                    }
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => prompt }));
                    return new Http().send(req).getBody();
                }
            }
        """,
    })
    assert data_findings(run(root)) == []


# --- records grouped in a map of lists -----------------------------------------------------------

def test_records_grouped_with_map_get_add_keep_their_fields(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/HouseholdBriefing.cls": """
            public with sharing class HouseholdBriefing {
                public static String brief(Set<Id> accountIds) {
                    Map<Id, List<Contact>> membersByAccount = new Map<Id, List<Contact>>();
                    for (Contact c : [SELECT AccountId, Email, Birthdate FROM Contact WHERE AccountId IN :accountIds]) {
                        if (!membersByAccount.containsKey(c.AccountId)) {
                            membersByAccount.put(c.AccountId, new List<Contact>());
                        }
                        membersByAccount.get(c.AccountId).add(c);
                    }
                    String prompt = '';
                    for (Id accountId : accountIds) {
                        for (Contact member : membersByAccount.get(accountId)) {
                            prompt += member.Email + ' born ' + String.valueOf(member.Birthdate) + '\n';
                        }
                    }
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => prompt }));
                    return new Http().send(req).getBody(); // expect: APX-LLM-001
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert {str(f) for f, _ in finding.fields} >= {"Contact.Email", "Contact.Birthdate"}


# --- Named Credentials: read at run time, or missing ---------------------------------------------

SLACK_NC = """
<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Slack Alerts</label>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://hooks.slack.com</parameterValue>
    </namedCredentialParameters>
</NamedCredential>
"""


def test_credential_name_read_at_run_time_lists_only_llm_credentials(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "namedCredentials/Slack_Alerts.namedCredential-meta.xml": SLACK_NC,
        "classes/FeedbackAdvisor.cls": """
            public with sharing class FeedbackAdvisor {
                public static String advise(Id caseId, String credential) {
                    Case c = [SELECT Description FROM Case WHERE Id = :caseId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:' + credential + '/v1/chat/completions');
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => c.Description }));
                    return new Http().send(req).getBody(); // expect: APX-LLM-001
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert finding.destination.host == "api.openai.com"
    assert "slack" not in finding.message.lower()


def test_missing_credential_named_like_the_provider_of_its_api_path_is_that_provider(project):
    root = project({
        "classes/PortfolioAdvisor.cls": """
            public with sharing class PortfolioAdvisor {
                @AuraEnabled
                public static String explain(Id accountId) {
                    Account a = [SELECT Name, AnnualRevenue FROM Account WHERE Id = :accountId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI_API/v1/chat/completions');
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => a.Name + ' ' + a.AnnualRevenue }));
                    return new Http().send(req).getBody(); // expect: APX-LLM-001
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert finding.destination.host == "api.openai.com"
    assert finding.confidence == "medium"
    assert "Named Credential OpenAI_API (assumed: it is not in this project" in finding.message


def test_missing_credential_with_a_remote_site_of_the_same_name_uses_its_host(project):
    root = project({
        "remoteSiteSettings/Groq.remoteSite-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <RemoteSiteSetting xmlns="http://soap.sforce.com/2006/04/metadata">
                <disableProtocolSecurity>false</disableProtocolSecurity>
                <isActive>true</isActive>
                <url>https://api.groq.com</url> <!-- expect: APX-CFG-001 -->
            </RemoteSiteSetting>
        """,
        "classes/ResumeCoach.cls": """
            public with sharing class ResumeCoach {
                public static String review(Id resumeId) {
                    Resume__c r = [SELECT Experience_Summary__c FROM Resume__c WHERE Id = :resumeId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:Groq/openai/v1/chat/completions');
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'llama-3.3-70b-versatile', 'messages' => r.Experience_Summary__c }));
                    return new Http().send(req).getBody(); // expect: APX-LLM-001
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert finding.destination.provider == "Groq" and finding.confidence == "medium"


def test_missing_credential_whose_name_and_path_disagree_stays_unknown(project):
    root = project({
        "classes/CvReviewer.cls": """
            public with sharing class CvReviewer {
                public static String review(Id contactId) {
                    Contact c = [SELECT Description FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:Claude_Integration/v1/messages');
                    req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'claude-sonnet-4', 'messages' => c.Description }));
                    return new Http().send(req).getBody(); // expect: APX-LLM-003
                }
            }
        """,
    })
    assert_exact(root, run(root))


# --- Flow External Service actions whose registration is not in the project ----------------------

MAKE_NC = """
<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Make</label>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://hook.eu1.make.com</parameterValue>
    </namedCredentialParameters>
</NamedCredential>
"""


def _lead_flow(action: str, marker: str = "") -> str:
    return f"""
        <?xml version="1.0" encoding="UTF-8"?>
        <Flow xmlns="http://soap.sforce.com/2006/04/metadata">
            <actionCalls> {marker}
                <name>Call_Service</name>
                <label>Call service</label>
                <actionName>{action}</actionName>
                <actionType>externalService</actionType>
                <inputParameters>
                    <name>body</name>
                    <value><elementReference>Request_Text</elementReference></value>
                </inputParameters>
                <nameSegment>{action}</nameSegment>
            </actionCalls>
            <apiVersion>61.0</apiVersion>
            <label>Lead outreach</label>
            <processType>AutoLaunchedFlow</processType>
            <start>
                <connector><targetReference>Call_Service</targetReference></connector>
                <object>Lead</object>
                <recordTriggerType>Create</recordTriggerType>
                <triggerType>RecordAfterSave</triggerType>
            </start>
            <status>Active</status>
            <textTemplates>
                <name>Request_Text</name>
                <isViewedAsPlainText>true</isViewedAsPlainText>
                <text>{{!$Record.FirstName}} {{!$Record.Email}} asked: {{!$Record.Description}}</text>
            </textTemplates>
        </Flow>
    """


def test_missing_registration_named_after_a_webhook_credential_is_not_an_llm(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "namedCredentials/Make.namedCredential-meta.xml": MAKE_NC,
        "flows/Lead_Outreach.flow-meta.xml": _lead_flow("SendHookToMake.InvokeLeadCreated"),
    })
    result = run(root)
    assert_exact(root, result)
    assert not data_findings(result)


def test_missing_registration_with_an_unrelated_name_is_unknown_and_silent(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "flows/Lead_Outreach.flow-meta.xml": _lead_flow("MarketingCloudJourney.PostEntryEvent"),
    })
    result = run(root)
    assert_exact(root, result)


def test_missing_registration_named_like_the_llm_credential_reaches_it(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "namedCredentials/Make.namedCredential-meta.xml": MAKE_NC,
        "flows/Lead_Outreach.flow-meta.xml": _lead_flow("OpenAiGpt4o.Chat Completion",
                                                        "<!-- expect: APX-LLM-001 -->"),
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert finding.destination.host == "api.openai.com"
    assert finding.confidence == "medium"
    assert "External Service registration OpenAiGpt4o is not in this project" in finding.message


# --- positions -----------------------------------------------------------------------------------

def test_columns_count_characters_on_lines_with_accents(project):
    """tree-sitter counts bytes; editors, SARIF viewers and GitHub count characters."""
    line = "        /* Überweisungsprüfung */ return new Http().send(req).getBody(); // expect: APX-LLM-001"
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/TransferCheck.cls": "\n".join([
            "public with sharing class TransferCheck {",
            "    public static String check(Id contactId) {",
            "        Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];",
            "        HttpRequest req = new HttpRequest();",
            "        req.setEndpoint('callout:OpenAI/v1/chat/completions');",
            "        req.setBody('Prüfe: ' + c.Email);",
            line,
            "    }",
            "}",
        ]),
    })
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert (finding.location.line, finding.location.col) == (7, line.index("new Http()") + 1)
    assert finding.location.end_col == line.index(".getBody()") + 1


# --- a custom metadata record named by a constant --------------------------------------------------

MISTRAL_NC = """
<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Mistral EU</label>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://api.eu.mistral.ai</parameterValue>
    </namedCredentialParameters>
</NamedCredential>
"""


def _llm_config(name: str, endpoint: str) -> str:
    return f"""
        <?xml version="1.0" encoding="UTF-8"?>
        <CustomMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
            <label>{name}</label>
            <values>
                <field>Endpoint__c</field>
                <value xsi:type="xsd:string">{endpoint}</value>
            </values>
        </CustomMetadata>
    """


CONFIG_RECORDS = {
    "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
    "namedCredentials/Mistral_EU.namedCredential-meta.xml": MISTRAL_NC,
    "customMetadata/LLM_Config.Default.md-meta.xml": _llm_config("Default", "callout:OpenAI/v1/chat/completions"),
    "customMetadata/LLM_Config.Sovereign.md-meta.xml": _llm_config("Sovereign", "callout:Mistral_EU/v1/chat/completions"),
}

NOTES_BY_CONSTANT = """
public with sharing class NotesSummarizer {
    private static final String CONFIG_NAME = 'RECORD';
    public static void summarize(Id caseId) {
        Case c = [SELECT Description FROM Case WHERE Id = :caseId];
        HttpRequest req = new HttpRequest();
        req.setEndpoint(LLM_Config__mdt.getInstance(CONFIG_NAME).Endpoint__c);
        req.setBody(c.Description);
        new Http().send(req); // MARKER
    }
}
"""


def test_custom_metadata_record_named_by_a_constant_is_that_record_only(project):
    root = project({**CONFIG_RECORDS, "classes/NotesSummarizer.cls": NOTES_BY_CONSTANT.replace(
        "RECORD", "Sovereign").replace("MARKER", "ok: the constant names the EU record")})
    assert_exact(root, run(root))


def test_custom_metadata_record_named_by_a_constant_names_its_own_endpoint(project):
    root = project({**CONFIG_RECORDS, "classes/NotesSummarizer.cls": NOTES_BY_CONSTANT.replace(
        "RECORD", "Default").replace("MARKER", "expect: APX-LLM-001")})
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert finding.destination.url == "https://api.openai.com/v1/chat/completions"
    assert "mistral" not in finding.message.lower()


def test_custom_metadata_record_held_in_a_variable_from_a_constant(project):
    source = NOTES_BY_CONSTANT.replace("RECORD", "Sovereign").replace(
        "req.setEndpoint(LLM_Config__mdt.getInstance(CONFIG_NAME).Endpoint__c);",
        "LLM_Config__mdt config = LLM_Config__mdt.getInstance(CONFIG_NAME);\n"
        "        req.setEndpoint(config.Endpoint__c);").replace("MARKER", "ok: the EU record")
    root = project({**CONFIG_RECORDS, "classes/NotesSummarizer.cls": source})
    assert_exact(root, run(root))


def test_custom_metadata_record_named_at_run_time_may_be_any_record(project):
    source = NOTES_BY_CONSTANT.replace("CONFIG_NAME = 'RECORD'", "CONFIG_NAME = UserInfo.getUserName()").replace(
        "MARKER", "expect: APX-LLM-001")
    root = project({**CONFIG_RECORDS, "classes/NotesSummarizer.cls": source})
    assert_exact(root, run(root))


# --- documented LLM API paths on hosts nobody knows ------------------------------------------------

GATEWAY_CLIENT = """
public with sharing class GatewayClient {
    private static final String BASE = 'https://ai.acme-internal.net';
    public static String summarize(Id contactId) {
        Contact c = [SELECT Email, Birthdate FROM Contact WHERE Id = :contactId];
        HttpRequest req = new HttpRequest();
        req.setEndpoint(BASE + 'PATH');
        req.setMethod('POST');
        req.setBody(JSON.serialize(new Map<String, Object>{ BODY }));
        return new Http().send(req).getBody(); // MARKER
    }
}
"""


def _gateway(path: str, body: str, marker: str) -> str:
    return GATEWAY_CLIENT.replace("PATH", path).replace("BODY", body).replace("MARKER", marker)


def test_legacy_completions_path_with_a_prompt_body_is_an_llm_of_unknown_jurisdiction(project):
    root = project({"classes/GatewayClient.cls": _gateway(
        "/v1/complete", "'model' => 'claude-2.1', 'prompt' => 'Human: ' + c.Email + ' Assistant:'",
        "expect: APX-LLM-003")})
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert "/v1/complete is an Anthropic-style Text Completions API" in finding.message
    assert "map key 'model'" in finding.message


def test_shared_api_path_without_a_prompt_body_is_not_an_llm(project):
    root = project({"classes/GatewayClient.cls": _gateway(
        "/v1/messages", "'channel' => 'advisors', 'text' => c.Email", "ok: a chat service's messages API")})
    assert_exact(root, run(root))


def test_shared_api_path_with_a_prompt_body_is_an_llm(project):
    root = project({"classes/GatewayClient.cls": _gateway(
        "/v1/messages", "'model' => 'claude-sonnet', 'max_tokens' => 512, 'text' => c.Email",
        "expect: APX-LLM-003")})
    assert_exact(root, run(root))


def test_distinctive_llm_path_alone_is_enough_on_an_unknown_host(project):
    root = project({"classes/GatewayClient.cls": _gateway(
        "/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01", "'text' => c.Email",
        "expect: APX-LLM-003")})
    assert_exact(root, run(root))


# --- SOSL built at run time ------------------------------------------------------------------------

def test_sosl_built_at_run_time_names_the_object_it_returns():
    from apexscan.pipeline.scan import parse_soql
    from apexscan.salesforce.endpoints import HOLE
    sosl = ("FIND '" + HOLE + "' IN ALL FIELDS RETURNING KnowledgeArticleVersion(Id, Title, Summary "
            "WHERE PublishStatus = 'Online') LIMIT 5")
    assert parse_soql(sosl) == ("KnowledgeArticleVersion", (("id",), ("title",), ("summary",)),
                                ("Id", "Title", "Summary"))
    assert parse_soql("FIND 'x' RETURNING Contact") == ("Contact", (("id",),), ("Id",))
    assert parse_soql("FIND 'x' RETURNING Contact(" + HOLE + ")")[1] == (("*",),)
    assert parse_soql("FIND 'x' RETURNING " + HOLE) == ("", (), ())


def test_knowledge_search_built_at_run_time_is_not_client_data(project):
    root = project({"classes/KnowledgeSearch.cls": """
        public with sharing class KnowledgeSearch {
            public static String answer(String question) {
                String sosl = 'FIND \\'' + String.escapeSingleQuotes(question) + '\\' IN ALL FIELDS '
                    + 'RETURNING KnowledgeArticleVersion(Id, Title, Summary WHERE PublishStatus = \\'Online\\') LIMIT 5';
                String context = '';
                for (SObject article : Search.query(sosl)[0]) {
                    context += (String) article.get('Summary') + '\n';
                }
                HttpRequest req = new HttpRequest();
                req.setEndpoint('https://api.openai.com/v1/chat/completions'); // expect: APX-LLM-006
                req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => context }));
                return new Http().send(req).getBody(); // expect: APX-LLM-004
            }
        }
    """})
    result = run(root)
    assert_exact(root, result)
    (finding,) = [f for f in data_findings(result) if f.rule_id == "APX-LLM-004"]
    assert [str(f) for f, _ in finding.fields] == ["KnowledgeArticleVersion.Summary"]
