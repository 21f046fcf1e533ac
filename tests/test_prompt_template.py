"""Prompt Builder templates are LLM requests defined in XML: merge fields are sources, the
primaryModel is the destination, Apex grounding joins the Apex graph."""
from __future__ import annotations

from conftest import assert_exact, run

TEMPLATE = """
<?xml version="1.0" encoding="UTF-8"?>
<GenAiPromptTemplate xmlns="http://soap.sforce.com/2006/04/metadata">
    <developerName>Client_Review</developerName>
    <masterLabel>Client review</masterLabel>
    <templateVersions>
        <content>Write a review note for {!$Input:Client.Name}, born {!$Input:Client.Birthdate}. Holdings: {!$Apex:HoldingsGrounding.Prompt}</content> <!-- expect: APX-LLM-001, APX-LLM-002 -->
        <inputs>
            <apiName>Client</apiName>
            <definition>SOBJECT://Contact</definition>
            <referenceName>Input:Client</referenceName>
            <required>true</required>
        </inputs>
        <primaryModel>MODEL</primaryModel>
        <status>Published</status>
        <templateDataProviders>
            <definition>apex://HoldingsGrounding</definition>
            <referenceName>Apex:HoldingsGrounding</referenceName>
        </templateDataProviders>
    </templateVersions>
    <type>einstein_gpt__flex</type>
</GenAiPromptTemplate>
"""

GROUNDING = """
public with sharing class HoldingsGrounding {
    public class Response { @InvocableVariable public String prompt; }
    @InvocableMethod(label='Holdings grounding')
    public static List<Response> ground(List<String> contactIds) {
        Response r = new Response();
        r.prompt = JSON.serialize([SELECT FinServ__Balance__c FROM FinServ__FinancialAccount__c WHERE FinServ__PrimaryOwner__c IN :contactIds]);
        return new List<Response>{ r };
    }
}
"""


def test_template_merge_fields_and_apex_grounding_reach_the_model(project):
    root = project({
        "genAiPromptTemplates/Client_Review.genAiPromptTemplate-meta.xml":
            TEMPLATE.replace("MODEL", "sfdc_ai__DefaultOpenAIGPT4OmniMini"),
        "classes/HoldingsGrounding.cls": GROUNDING,
    })
    result = run(root)
    assert_exact(root, result)
    fields = {str(f) for f, _ in result.findings[0].fields}
    assert {"Contact.Birthdate", "FinServ__FinancialAccount__c.FinServ__Balance__c"} <= fields


def test_template_with_only_typed_inputs_is_silent(project):
    root = project({
        "genAiPromptTemplates/Faq.genAiPromptTemplate-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <GenAiPromptTemplate xmlns="http://soap.sforce.com/2006/04/metadata">
                <developerName>Faq</developerName>
                <masterLabel>FAQ</masterLabel>
                <templateVersions>
                    <content>Answer this product question briefly: {!$Input:Question}</content>
                    <inputs>
                        <apiName>Question</apiName>
                        <definition>primitive://String</definition>
                        <referenceName>Input:Question</referenceName>
                        <required>true</required>
                    </inputs>
                    <primaryModel>sfdc_ai__DefaultOpenAIGPT4OmniMini</primaryModel>
                    <status>Published</status>
                </templateVersions>
                <type>einstein_gpt__flex</type>
            </GenAiPromptTemplate>
        """,
    })
    assert_exact(root, run(root))


def test_flow_prompt_action_fills_a_typed_template_input(project):
    root = project({
        "genAiPromptTemplates/Summarize_Text.genAiPromptTemplate-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <GenAiPromptTemplate xmlns="http://soap.sforce.com/2006/04/metadata">
                <developerName>Summarize_Text</developerName>
                <masterLabel>Summarize text</masterLabel>
                <templateVersions>
                    <content>Summarize: {!$Input:Text}</content> <!-- expect: APX-LLM-001 -->
                    <inputs>
                        <apiName>Text</apiName>
                        <definition>primitive://String</definition>
                        <referenceName>Input:Text</referenceName>
                        <required>true</required>
                    </inputs>
                    <primaryModel>sfdc_ai__DefaultOpenAIGPT4OmniMini</primaryModel>
                    <status>Published</status>
                </templateVersions>
                <type>einstein_gpt__flex</type>
            </GenAiPromptTemplate>
        """,
        "flows/Summarize_Case.flow-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <Flow xmlns="http://soap.sforce.com/2006/04/metadata">
                <actionCalls>
                    <name>Summarize</name>
                    <label>Summarize</label>
                    <actionName>Summarize_Text</actionName>
                    <actionType>generatePromptResponse</actionType>
                    <inputParameters>
                        <name>Input:Text</name>
                        <value><elementReference>$Record.Description</elementReference></value>
                    </inputParameters>
                    <storeOutputAutomatically>true</storeOutputAutomatically>
                </actionCalls>
                <apiVersion>62.0</apiVersion>
                <label>Summarize case</label>
                <processType>AutoLaunchedFlow</processType>
                <start>
                    <object>Case</object>
                    <recordTriggerType>Create</recordTriggerType>
                    <triggerType>RecordAfterSave</triggerType>
                </start>
            </Flow>
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert [str(f) for f, _ in result.findings[0].fields] == ["Case.Description"]


def test_apex_einstein_llm_call_fills_the_template(project):
    template = """
        <?xml version="1.0" encoding="UTF-8"?>
        <GenAiPromptTemplate xmlns="http://soap.sforce.com/2006/04/metadata">
            <developerName>Draft_Reply</developerName>
            <masterLabel>Draft reply</masterLabel>
            <templateVersions>
                <content>Draft a reply to: {!$Input:Message}</content> <!-- expect: APX-LLM-001 -->
                <inputs>
                    <apiName>Message</apiName>
                    <definition>primitive://String</definition>
                    <referenceName>Input:Message</referenceName>
                    <required>true</required>
                </inputs>
                <primaryModel>sfdc_ai__DefaultOpenAIGPT4OmniMini</primaryModel>
                <status>Published</status>
            </templateVersions>
            <type>einstein_gpt__flex</type>
        </GenAiPromptTemplate>
    """
    root = project({
        "genAiPromptTemplates/Draft_Reply.genAiPromptTemplate-meta.xml": template,
        "classes/ReplyDrafter.cls": """
            public with sharing class ReplyDrafter {
                public static String draft(Id emailId) {
                    EmailMessage m = [SELECT TextBody FROM EmailMessage WHERE Id = :emailId];
                    ConnectApi.WrappedValue body = new ConnectApi.WrappedValue();
                    body.value = m.TextBody;
                    ConnectApi.EinsteinPromptTemplateGenerationsInput input = new ConnectApi.EinsteinPromptTemplateGenerationsInput();
                    input.inputParams = new Map<String, ConnectApi.WrappedValue>{ 'Input:Message' => body };
                    ConnectApi.EinsteinPromptTemplateGenerationsRepresentation out =
                        ConnectApi.EinsteinLLM.generateMessagesForPromptTemplate('Draft_Reply', input);
                    return out.generations[0].text;
                }
            }
        """,
    })
    result = run(root)
    assert_exact(root, result)
    assert [str(f) for f, _ in result.findings[0].fields] == ["EmailMessage.TextBody"]
