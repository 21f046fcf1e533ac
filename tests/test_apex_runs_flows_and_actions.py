"""Apex that runs flows, invocable actions, prompt templates and agents by name: `Flow.Interview`
(`createInterview` and the typed `new Flow.Interview.My_Flow(inputs)`, outputs read back with
`getVariableValue`) and `Invocable.Action.createCustomAction` / `createStandardAction`.

Inputs bind to the flow's input variables (or the action's inputs) by name, so a record field passed
to an input the flow never sends is not a leak."""
from __future__ import annotations

from conftest import OPENAI_NC, assert_exact, data_findings, run

from apexscan.frontends.apex import lower_apex

# An invocable callout: what the flow or the action finally sends.
DRAFTER = """
public with sharing class LoanLetterDrafter {
    public class Request {
        @InvocableVariable public String applicantText;
        @InvocableVariable public String channel;
    }
    @InvocableMethod(label='Draft loan letter' callout=true)
    public static List<String> draft(List<Request> requests) {
        List<String> out = new List<String>();
        for (Request r : requests) {
            HttpRequest req = new HttpRequest();
            req.setEndpoint('callout:OpenAI/v1/chat/completions');
            req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => new List<Object>{ r.applicantText } }));
            out.add(new Http().send(req).getBody()); // MARKER
        }
        return out;
    }
}
"""

# An autolaunched flow: `applicantText` goes to the drafter, `channel` only decides nothing.
LETTER_FLOW = """
<?xml version="1.0" encoding="UTF-8"?>
<Flow xmlns="http://soap.sforce.com/2006/04/metadata">
    <actionCalls>
        <name>Draft</name>
        <actionName>LoanLetterDrafter</actionName>
        <actionType>apex</actionType>
        <inputParameters>
            <name>applicantText</name>
            <value><elementReference>applicantText</elementReference></value>
        </inputParameters>
    </actionCalls>
    <processType>AutoLaunchedFlow</processType>
    <status>Active</status>
    <variables><name>applicantText</name><dataType>String</dataType><isInput>true</isInput><isOutput>false</isOutput></variables>
    <variables><name>channel</name><dataType>String</dataType><isInput>true</isInput><isOutput>false</isOutput></variables>
</Flow>
"""


def _project(project, apex: str, marker: str = "expect: APX-LLM-001"):
    return project({
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/LoanLetterDrafter.cls": DRAFTER.replace("MARKER", marker),
        "flows/Loan_Letter.flow-meta.xml": LETTER_FLOW,
        "classes/LoanIntake.cls": apex,
    })


def test_typed_interview_passes_inputs_put_into_a_map_to_the_flow(project):
    root = _project(project, """
        public with sharing class LoanIntake {
            public static void start(Id applicantId) {
                Contact c = [SELECT Email, Birthdate FROM Contact WHERE Id = :applicantId];
                Map<String, Object> inputs = new Map<String, Object>();
                inputs.put('applicantText', 'Applicant ' + c.Email + ', born ' + c.Birthdate);
                Flow.Interview.Loan_Letter letter = new Flow.Interview.Loan_Letter(inputs);
                letter.start();
            }
        }
    """)
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert {str(f) for f, _ in finding.fields} == {"Contact.Email", "Contact.Birthdate"}
    messages = [step.message for step in finding.paths[0]]
    assert any("passed to flow Loan_Letter(applicanttext)" in m for m in messages)


def test_create_interview_with_a_map_literal_binds_by_key(project):
    root = _project(project, """
        public with sharing class LoanIntake {
            public static void start(Id applicantId) {
                Contact c = [SELECT Email FROM Contact WHERE Id = :applicantId];
                Flow.Interview letter = Flow.Interview.createInterview('Loan_Letter',
                    new Map<String, Object>{ 'applicantText' => c.Email, 'channel' => 'email' });
                letter.start();
            }
        }
    """)
    assert_exact(root, run(root))


def test_namespaced_create_interview_names_the_flow_second(project):
    root = _project(project, """
        public with sharing class LoanIntake {
            public static void start(Id applicantId) {
                Contact c = [SELECT Email FROM Contact WHERE Id = :applicantId];
                Flow.Interview.createInterview('', 'Loan_Letter', new Map<String, Object>{ 'applicantText' => c.Email }).start();
            }
        }
    """)
    assert_exact(root, run(root))


def test_record_data_bound_to_an_input_the_flow_never_sends_is_not_a_leak(project):
    root = _project(project, """
        public with sharing class LoanIntake {
            public static void start(Id applicantId) {
                Contact c = [SELECT Email FROM Contact WHERE Id = :applicantId];
                Map<String, Object> inputs = new Map<String, Object>{ 'channel' => c.Email };
                new Flow.Interview.Loan_Letter(inputs).start();
            }
        }
    """, marker="ok: the flow sends only applicantText, and Apex sets only channel")
    assert_exact(root, run(root))


SCORING_FLOW = """
<?xml version="1.0" encoding="UTF-8"?>
<Flow xmlns="http://soap.sforce.com/2006/04/metadata">
    <assignments>
        <name>Set_Outputs</name>
        <assignmentItems>
            <assignToReference>clientNotes</assignToReference>
            <operator>Assign</operator>
            <value><elementReference>Get_Client.Description</elementReference></value>
        </assignmentItems>
        <assignmentItems>
            <assignToReference>segment</assignToReference>
            <operator>Assign</operator>
            <value><stringValue>retail</stringValue></value>
        </assignmentItems>
    </assignments>
    <processType>AutoLaunchedFlow</processType>
    <recordLookups>
        <name>Get_Client</name>
        <object>Contact</object>
        <queriedFields>Description</queriedFields>
        <getFirstRecordOnly>true</getFirstRecordOnly>
        <storeOutputAutomatically>true</storeOutputAutomatically>
    </recordLookups>
    <status>Active</status>
    <variables><name>clientNotes</name><dataType>String</dataType><isInput>false</isInput><isOutput>true</isOutput></variables>
    <variables><name>segment</name><dataType>String</dataType><isInput>false</isInput><isOutput>true</isOutput></variables>
</Flow>
"""

READ_BACK = """
public with sharing class SegmentAdvisor {
    public static String advise() {
        Flow.Interview scoring = Flow.Interview.createInterview('Client_Scoring', new Map<String, Object>());
        scoring.start();
        String value = (String) scoring.getVariableValue('VARIABLE');
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o', 'messages' => new List<Object>{ value } }));
        return new Http().send(req).getBody(); // MARKER
    }
}
"""


def test_output_read_back_with_get_variable_value_carries_that_variable_only(project):
    files = {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
             "flows/Client_Scoring.flow-meta.xml": SCORING_FLOW}
    root = project({**files, "classes/SegmentAdvisor.cls": READ_BACK.replace("VARIABLE", "clientNotes").replace(
        "MARKER", "expect: APX-LLM-001")})
    result = run(root)
    assert_exact(root, result)
    assert [str(f) for f, _ in data_findings(result)[0].fields] == ["Contact.Description"]


def test_output_variable_without_record_data_is_silent(project, tmp_path):
    files = {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
             "flows/Client_Scoring.flow-meta.xml": SCORING_FLOW}
    root = project({**files, "classes/SegmentAdvisor.cls": READ_BACK.replace("VARIABLE", "segment").replace(
        "MARKER", "ok: the segment output is a constant")})
    assert_exact(root, run(root))


# --- Invocable.Action ------------------------------------------------------------------------------

def test_custom_apex_action_passes_named_inputs_to_the_invocable_method(project):
    root = _project(project, """
        public with sharing class LoanIntake {
            public static void start(Id applicantId) {
                Contact c = [SELECT Email FROM Contact WHERE Id = :applicantId];
                Invocable.Action action = Invocable.Action.createCustomAction('apex', 'LoanLetterDrafter');
                action.setInvocationParameter('applicantText', c.Email);
                List<Invocable.Action.Result> results = action.invoke();
            }
        }
    """)
    assert_exact(root, run(root))


def test_custom_flow_action_with_invocations_reaches_the_flow(project):
    root = _project(project, """
        public with sharing class LoanIntake {
            public static void start(Id applicantId) {
                Contact c = [SELECT Email FROM Contact WHERE Id = :applicantId];
                Invocable.Action action = Invocable.Action.createCustomAction('flow', 'Loan_Letter');
                action.setInvocations(new List<Map<String, Object>>{ new Map<String, Object>{ 'applicantText' => c.Email } });
                action.invoke();
            }
        }
    """)
    assert_exact(root, run(root))


def test_custom_action_given_only_a_constant_is_silent(project):
    root = _project(project, """
        public with sharing class LoanIntake {
            public static void start() {
                Invocable.Action action = Invocable.Action.createCustomAction('apex', 'LoanLetterDrafter');
                action.setInvocationParameter('applicantText', 'Explain our fixed-rate mortgage in two lines.');
                action.invoke();
            }
        }
    """, marker="ok: a constant instruction only")
    assert_exact(root, run(root))


TEMPLATE = """
<?xml version="1.0" encoding="UTF-8"?>
<GenAiPromptTemplate xmlns="http://soap.sforce.com/2006/04/metadata">
    <developerName>Loan_Explainer</developerName>
    <masterLabel>Loan explainer</masterLabel>
    <templateVersions>
        <content>Explain the loan to the applicant: {!$Input:Applicant}</content> <!-- MARKER -->
        <inputs>
            <apiName>Applicant</apiName>
            <definition>primitive://String</definition>
            <referenceName>Input:Applicant</referenceName>
        </inputs>
        <primaryModel>sfdc_ai__DefaultOpenAIGPT4OmniMini</primaryModel>
        <status>Published</status>
    </templateVersions>
    <type>einstein_gpt__flex</type>
</GenAiPromptTemplate>
"""

PROMPT_ACTION = """
public with sharing class LoanExplainer {
    public static void explain(Id applicantId) {
        Contact c = [SELECT Email FROM Contact WHERE Id = :applicantId];
        Invocable.Action action = CREATE;
        action.setInvocationParameter('Input:Applicant', c.Email);
        action.invoke(); // MARKER
    }
}
"""


def test_prompt_template_run_as_a_custom_action_feeds_the_template(project):
    root = project({
        "genAiPromptTemplates/Loan_Explainer.genAiPromptTemplate-meta.xml": TEMPLATE.replace(
            "MARKER", "expect: APX-LLM-001"),
        "classes/LoanExplainer.cls": PROMPT_ACTION.replace(
            "CREATE", "Invocable.Action.createCustomAction('generatePromptResponse', 'Loan_Explainer')").replace(
            "MARKER", "ok: the template in the project is the sink"),
    })
    assert_exact(root, run(root))


def test_prompt_template_missing_from_the_project_is_reported_at_the_invoke(project):
    root = project({"classes/LoanExplainer.cls": PROMPT_ACTION.replace(
        "CREATE", "Invocable.Action.createCustomAction('generatePromptResponse', 'Loan_Explainer')").replace(
        "MARKER", "expect: APX-LLM-003")})
    result = run(root)
    assert_exact(root, result)
    assert "Loan_Explainer is not in this project" in data_findings(result)[0].message


def test_standard_prompt_action_runs_a_template_chosen_at_run_time(project):
    root = project({"classes/LoanExplainer.cls": PROMPT_ACTION.replace(
        "CREATE", "Invocable.Action.createStandardAction('generatePromptResponse')").replace(
        "MARKER", "expect: APX-LLM-003")})
    assert_exact(root, run(root))


def test_agent_run_from_apex_sends_its_user_message_to_the_agents_model(project):
    root = project({"classes/AgentBridge.cls": """
        public with sharing class AgentBridge {
            public static String ask(Id caseId) {
                Case c = [SELECT Description FROM Case WHERE Id = :caseId];
                Invocable.Action action = Invocable.Action.createCustomAction('generateAiAgentResponse', 'Service_Agent');
                action.setInvocationParameter('userMessage', 'Help with: ' + c.Description);
                List<Invocable.Action.Result> results = action.invoke(); // expect: APX-LLM-001
                return (String) results[0].getOutputParameters().get('agentResponse');
            }
            public static String hello() {
                Invocable.Action action = Invocable.Action.createCustomAction('generateAiAgentResponse', 'Service_Agent');
                action.setInvocationParameter('userMessage', 'Say hello.');
                return String.valueOf(action.invoke()); // ok: a constant message
            }
        }
    """})
    result = run(root)
    assert_exact(root, result)
    (finding,) = data_findings(result)
    assert finding.destination.host == "Agentforce planner"
    assert "Salesforce-managed" in finding.destination.provider


def test_flow_interview_facts_are_a_flow_call_bound_by_name():
    facts = lower_apex("classes/X.cls", b"""
        public class X {
            public static void go(Contact c) {
                Map<String, Object> m = new Map<String, Object>{ 'a' => c.Email };
                m.put('b', c.Phone);
                new Flow.Interview.ns.My_Flow(m).start();
            }
        }
    """, strict=True)
    (call,) = [c for c in facts.calls if c.kind == "flow"]
    assert (call.static_type, call.arg_names) == ("my_flow", ("a", "b"))
