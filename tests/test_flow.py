"""Flows join the project graph: record-triggered sources, Get Records, formulas and templates,
Apex actions into @InvocableMethod classes, subflows, and External Service actions as sinks."""
from __future__ import annotations

from conftest import OPENAI_NC, assert_exact, run

from apexscan.frontends.flow import lower_flow

SUMMARIZER = """
public with sharing class CaseSummarizer {
    public class Request {
        @InvocableVariable(required=true) public String prompt;
        @InvocableVariable public String caseNumber;
    }
    @InvocableMethod(label='Summarize case' callout=true)
    public static List<String> summarize(List<Request> requests) {
        List<String> out = new List<String>();
        for (Request r : requests) {
            HttpRequest req = new HttpRequest();
            req.setEndpoint('callout:OpenAI/v1/chat/completions');
            req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => new List<Object>{ r.prompt } }));
            out.add(new Http().send(req).getBody()); // expect: APX-LLM-001
        }
        return out;
    }
}
"""

RECORD_TRIGGERED = """
<?xml version="1.0" encoding="UTF-8"?>
<Flow xmlns="http://soap.sforce.com/2006/04/metadata">
    <actionCalls>
        <name>Summarize</name>
        <label>Summarize</label>
        <actionName>CaseSummarizer</actionName>
        <actionType>apex</actionType>
        <inputParameters>
            <name>prompt</name>
            <value><elementReference>Prompt</elementReference></value>
        </inputParameters>
        <inputParameters>
            <name>caseNumber</name>
            <value><elementReference>$Record.CaseNumber</elementReference></value>
        </inputParameters>
        <storeOutputAutomatically>true</storeOutputAutomatically>
    </actionCalls>
    <apiVersion>62.0</apiVersion>
    <label>Case summary</label>
    <processType>AutoLaunchedFlow</processType>
    <start>
        <connector><targetReference>Summarize</targetReference></connector>
        <object>Case</object>
        <recordTriggerType>Create</recordTriggerType>
        <triggerType>RecordAfterSave</triggerType>
    </start>
    <status>Active</status>
    <textTemplates>
        <name>Prompt</name>
        <isViewedAsPlainText>true</isViewedAsPlainText>
        <text>Summarise this complaint: {!$Record.Subject} / {!$Record.Description}</text>
    </textTemplates>
</Flow>
"""


def test_record_triggered_flow_passes_record_fields_to_an_invocable_callout(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/CaseSummarizer.cls": SUMMARIZER,
        "flows/Case_Summary.flow-meta.xml": RECORD_TRIGGERED,
    })
    result = run(root)
    assert_exact(root, result)
    finding = result.findings[0]
    assert [str(f) for f, _ in finding.fields] == ["Case.Description", "Case.Subject"]
    first = finding.paths[0]
    assert first[0].location.path.endswith("Case_Summary.flow-meta.xml")
    assert "record-triggered flow" in first[0].message
    assert any("passed to CaseSummarizer.summarize" in s.message for s in first)


def test_flow_passing_only_a_constant_is_silent(project):
    flow = RECORD_TRIGGERED.replace("{!$Record.Subject} / {!$Record.Description}", "a generic greeting")
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/CaseSummarizer.cls": SUMMARIZER.replace("// expect: APX-LLM-001", "// ok: constant prompt"),
        "flows/Case_Summary.flow-meta.xml": flow,
    })
    assert_exact(root, run(root))


def test_get_records_and_subflow_reach_an_external_service_action(project):
    root = project({
        "flows/Ask_Assistant.flow-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <Flow xmlns="http://soap.sforce.com/2006/04/metadata">
                <actionCalls>
                    <name>Ask_GPT</name>
                    <label>Ask GPT</label>
                    <actionName>OpenAI_Service.createChatCompletion</actionName>
                    <actionType>externalService</actionType>
                    <inputParameters>
                        <name>body</name>
                        <value><elementReference>question</elementReference></value>
                    </inputParameters>
                    <storeOutputAutomatically>true</storeOutputAutomatically>
                </actionCalls>
                <apiVersion>62.0</apiVersion>
                <label>Ask assistant</label>
                <processType>AutoLaunchedFlow</processType>
                <variables>
                    <name>question</name>
                    <dataType>String</dataType>
                    <isInput>true</isInput>
                    <isOutput>false</isOutput>
                </variables>
            </Flow>
        """,
        "flows/Advisor_Prep.flow-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <Flow xmlns="http://soap.sforce.com/2006/04/metadata">
                <apiVersion>62.0</apiVersion>
                <formulas>
                    <name>Question_Text</name>
                    <dataType>String</dataType>
                    <expression>"Prepare a meeting with " &amp; {!Get_Contact.FirstName} &amp; " born " &amp; TEXT({!Get_Contact.Birthdate})</expression>
                </formulas>
                <label>Advisor prep</label>
                <processType>Flow</processType>
                <recordLookups>
                    <name>Get_Contact</name>
                    <label>Get Contact</label>
                    <getFirstRecordOnly>true</getFirstRecordOnly>
                    <object>Contact</object>
                    <queriedFields>Id</queriedFields>
                    <queriedFields>FirstName</queriedFields>
                    <queriedFields>Birthdate</queriedFields>
                    <storeOutputAutomatically>true</storeOutputAutomatically>
                </recordLookups>
                <subflows>
                    <name>Ask</name>
                    <label>Ask</label>
                    <flowName>Ask_Assistant</flowName>
                    <inputAssignments>
                        <name>question</name>
                        <value><elementReference>Question_Text</elementReference></value>
                    </inputAssignments>
                </subflows>
            </Flow>
        """,
    })
    result = run(root)
    (finding,) = result.findings
    assert finding.rule_id == "APX-LLM-003"  # the registration is not in the project
    assert finding.location.path.endswith("Ask_Assistant.flow-meta.xml")
    assert "External Service registration OpenAI_Service is not in this project" in finding.message
    assert [str(f) for f, _ in finding.fields] == ["Contact.Birthdate", "Contact.FirstName"]


def test_bad_flow_files_become_diagnostics():
    assert lower_flow("flows/X.flow-meta.xml", b"<Flow><oops></Flow>").diagnostics
    assert "not a Flow" in lower_flow("flows/X.flow-meta.xml", b"<Workflow/>").diagnostics[0].message
    unsafe = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Flow>&a;</Flow>'
    assert "DOCTYPE" in lower_flow("flows/X.flow-meta.xml", unsafe).diagnostics[0].message


def test_obsolete_and_invalid_flow_versions_never_run_and_are_not_analysed(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/CaseSummarizer.cls": SUMMARIZER.replace("// expect: APX-LLM-001", "// ok: no active caller"),
        "flows/Case_Summary.flow-meta.xml": RECORD_TRIGGERED.replace("<status>Active</status>",
                                                                     "<status>Obsolete</status>"),
        "flows/Case_Summary_Copy.flow-meta.xml": RECORD_TRIGGERED.replace("<status>Active</status>",
                                                                          "<status>InvalidDraft</status>"),
    })
    result = run(root)
    assert_exact(root, result)
    facts = lower_flow("flows/Case_Summary.flow-meta.xml",
                       (root / "force-app/main/default/flows/Case_Summary.flow-meta.xml").read_bytes())
    assert (facts.sources, facts.calls, facts.functions, facts.diagnostics) == ((), (), (), ())


def test_draft_flow_is_still_analysed(project):
    root = project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/CaseSummarizer.cls": SUMMARIZER,
        "flows/Case_Summary.flow-meta.xml": RECORD_TRIGGERED.replace("<status>Active</status>",
                                                                     "<status>Draft</status>"),
    })
    assert_exact(root, run(root))
