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


def _template(name: str, content: str, inputs: str, providers: str = "") -> str:
    return "\n".join(line.strip() for line in f"""
        <?xml version="1.0" encoding="UTF-8"?>
        <GenAiPromptTemplate xmlns="http://soap.sforce.com/2006/04/metadata">
            <developerName>{name}</developerName>
            <masterLabel>{name}</masterLabel>
            <templateVersions>
                {content}
                {inputs}
                <primaryModel>sfdc_ai__DefaultGPT4Omni</primaryModel>
                <status>Published</status>
                {providers}
            </templateVersions>
            <type>einstein_gpt__flex</type>
        </GenAiPromptTemplate>
    """.strip().splitlines())


FILE_INPUT = """
    <inputs>
        <apiName>Statement</apiName>
        <definition>SOBJECT://ContentDocument</definition>
        <referenceName>Input:Statement</referenceName>
        <required>true</required>
    </inputs>
    <inputs>
        <apiName>Question</apiName>
        <definition>primitive://String</definition>
        <referenceName>Input:Question</referenceName>
    </inputs>
"""


def test_file_input_sends_the_files_content_even_without_a_merge_field(project):
    root = project({"genAiPromptTemplates/Read_Statement.genAiPromptTemplate-meta.xml": _template(
        "Read_Statement",
        "<content>Read the attached bank statement and answer: {!$Input:Question}</content> <!-- expect: APX-LLM-001 -->",
        FILE_INPUT)})
    result = run(root)
    assert_exact(root, result)
    (finding,) = result.findings
    assert [str(f) for f, _ in finding.fields] == ["ContentVersion.VersionData"]
    assert "the file's content is sent with the prompt" in finding.paths[0][0].message


def test_template_without_a_file_input_sends_no_file(project):
    root = project({"genAiPromptTemplates/Answer.genAiPromptTemplate-meta.xml": _template(
        "Answer", "<content>Answer briefly: {!$Input:Question}</content>",
        FILE_INPUT.split("</inputs>", 1)[1])})
    assert_exact(root, run(root))


GROUNDED_BY_APEX = """
    <templateDataProviders>
        <definition>apex://HoldingsGrounding</definition>
        <parameters>
            <definition>SOBJECT://Contact</definition>
            <parameterName>client</parameterName>
            <valueExpression>{!$Input:Client}</valueExpression>
        </parameters>
        <referenceName>Apex:HoldingsGrounding</referenceName>
    </templateDataProviders>
"""

RECORD_INPUT = """
    <inputs>
        <apiName>Client</apiName>
        <definition>SOBJECT://Contact</definition>
        <referenceName>Input:Client</referenceName>
    </inputs>
"""

GROUNDING_FROM_RECORD = """
public with sharing class HoldingsGrounding {
    public class Request { @InvocableVariable public Contact client; }
    public class Response { @InvocableVariable public String prompt; }
    @InvocableMethod(label='Holdings for the client')
    public static List<Response> ground(List<Request> requests) {
        List<Response> out = new List<Response>();
        for (Request req : requests) {
            Response r = new Response();
            r.prompt = 'Client e-mail: ' + req.client.Email;
            out.add(r);
        }
        return out;
    }
}
"""


def test_apex_provider_receives_the_record_input_named_in_its_parameters(project):
    root = project({
        "genAiPromptTemplates/Holdings.genAiPromptTemplate-meta.xml": _template(
            "Holdings", "<content>Suggest a review: {!$Apex:HoldingsGrounding.Prompt}</content> <!-- expect: APX-LLM-001 -->",
            RECORD_INPUT, GROUNDED_BY_APEX),
        "classes/HoldingsGrounding.cls": GROUNDING_FROM_RECORD,
    })
    result = run(root)
    assert_exact(root, result)
    assert [str(f) for f, _ in result.findings[0].fields] == ["Contact.Email"]


def test_provider_output_no_merge_field_uses_is_not_in_the_prompt(project):
    root = project({
        "genAiPromptTemplates/Holdings.genAiPromptTemplate-meta.xml": _template(
            "Holdings", "<content>Suggest a portfolio review in two lines.</content>", RECORD_INPUT, GROUNDED_BY_APEX),
        "classes/HoldingsGrounding.cls": GROUNDING_FROM_RECORD,
    })
    assert_exact(root, run(root))


PROMPT_FLOW = """
<?xml version="1.0" encoding="UTF-8"?>
<Flow xmlns="http://soap.sforce.com/2006/04/metadata">
    <assignments>
        <name>Add_Prompt_Instructions</name>
        <assignmentItems>
            <assignToReference>$Output.Prompt</assignToReference>
            <operator>Add</operator>
            <value><stringValue>Open cases: {!Get_Cases.Subject}</stringValue></value>
        </assignmentItems>
    </assignments>
    <processType>PromptFlow</processType>
    <recordLookups>
        <name>Get_Cases</name>
        <object>Case</object>
        <queriedFields>Subject</queriedFields>
        <storeOutputAutomatically>true</storeOutputAutomatically>
    </recordLookups>
    <status>Active</status>
    <variables><name>contactId</name><dataType>String</dataType><isInput>true</isInput><isOutput>false</isOutput></variables>
</Flow>
"""


def test_template_grounded_only_in_a_prompt_flow_sends_what_the_flow_adds(project):
    providers = """
        <templateDataProviders>
            <definition>flow://Open_Cases_Prompt</definition>
            <parameters>
                <parameterName>contactId</parameterName>
                <valueExpression>{!$Input:ContactId}</valueExpression>
            </parameters>
            <referenceName>Flow:Open_Cases_Prompt</referenceName>
        </templateDataProviders>
    """
    inputs = """
        <inputs>
            <apiName>ContactId</apiName>
            <definition>primitive://String</definition>
            <referenceName>Input:ContactId</referenceName>
        </inputs>
    """
    root = project({
        "genAiPromptTemplates/Case_Digest.genAiPromptTemplate-meta.xml": _template(
            "Case_Digest", "<content>Summarise: {!$Flow:Open_Cases_Prompt.Prompt}</content> <!-- expect: APX-LLM-001 -->",
            inputs, providers),
        "flows/Open_Cases_Prompt.flow-meta.xml": PROMPT_FLOW,
    })
    result = run(root)
    assert_exact(root, result)
    assert [str(f) for f, _ in result.findings[0].fields] == ["Case.Subject"]
