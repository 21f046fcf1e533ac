"""Agentforce agents as egress channels: an action's target (Apex, flow, prompt template) is linked
like any call, and what it returns reaches the agent's planner model (Salesforce-managed). Topics
and agents list actions; standard actions that read arbitrary records are sinks where they are
listed; an output schema can keep a result out of the model's context."""
from __future__ import annotations

import pytest
from conftest import assert_exact, data_findings, run

from apexscan.frontends.agent import agent_file, lower_agent
from apexscan.pipeline.inventory import build_inventory
from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import scan
from apexscan.salesforce.policy import load_policy, policy_from_dict
from apexscan.salesforce.rules import load_catalog


def function(name: str, target_type: str, target: str, marker: str = "") -> str:
    return f"""
        <?xml version="1.0" encoding="UTF-8"?>
        <GenAiFunction xmlns="http://soap.sforce.com/2006/04/metadata">
            <description>{name}</description>
            <invocationTarget>{target}</invocationTarget> {marker}
            <invocationTargetType>{target_type}</invocationTargetType>
            <isConfirmationRequired>false</isConfirmationRequired>
            <masterLabel>{name}</masterLabel>
        </GenAiFunction>
    """


def output_schema(**used: bool) -> str:
    props = ",".join(f'"{name}": {{"title": "{name}", "lightning:type": "lightning__textType", '
                     f'"copilotAction:isDisplayable": true, "copilotAction:isUsedByPlanner": {str(flag).lower()}}}'
                     for name, flag in used.items())
    return f'{{"unevaluatedProperties": false, "properties": {{{props}}}, "lightning:type": "lightning__objectType"}}'


FIND_CLIENT_FLOW = """
<?xml version="1.0" encoding="UTF-8"?>
<Flow xmlns="http://soap.sforce.com/2006/04/metadata">
    <assignments>
        <name>Save</name>
        <assignmentItems>
            <assignToReference>client</assignToReference>
            <operator>Assign</operator>
            <value><elementReference>Find_Client</elementReference></value>
        </assignmentItems>
    </assignments>
    <processType>AutoLaunchedFlow</processType>
    <recordLookups>
        <name>Find_Client</name>
        <object>Contact</object>
        <filters><field>Email</field><operator>EqualTo</operator><value><elementReference>email</elementReference></value></filters>
        <getFirstRecordOnly>true</getFirstRecordOnly>
        <storeOutputAutomatically>true</storeOutputAutomatically>
    </recordLookups>
    <status>Active</status>
    <variables><name>client</name><dataType>SObject</dataType><isInput>false</isInput><isOutput>true</isOutput><objectType>Contact</objectType></variables>
    <variables><name>email</name><dataType>String</dataType><isInput>true</isInput><isOutput>false</isOutput></variables>
</Flow>
"""

PLUGIN = """
<?xml version="1.0" encoding="UTF-8"?>
<GenAiPlugin xmlns="http://soap.sforce.com/2006/04/metadata">
    <developerName>Client_Support</developerName>
    <genAiFunctions><functionName>Find_Client</functionName></genAiFunctions>
    <language>en_US</language>
    <masterLabel>Client Support</masterLabel>
    <pluginType>Topic</pluginType>
</GenAiPlugin>
"""

PLANNER = """
<?xml version="1.0" encoding="UTF-8"?>
<GenAiPlannerBundle xmlns="http://soap.sforce.com/2006/04/metadata">
    <description>Helps advisors.</description>
    <genAiPlugins><genAiPluginName>Client_Support</genAiPluginName></genAiPlugins>
    <masterLabel>Advisor Agent</masterLabel>
    <plannerType>AiCopilot__ReAct</plannerType>
</GenAiPlannerBundle>
"""


def agent_project(project, schema: str | None = None, marker: str = "<!-- expect: APX-LLM-001, APX-LLM-002 -->"):
    files = {
        "flows/Find_Client.flow-meta.xml": FIND_CLIENT_FLOW,
        "genAiFunctions/Find_Client/Find_Client.genAiFunction-meta.xml": function("Find_Client", "flow", "Find_Client", marker),
        "genAiPlugins/Client_Support.genAiPlugin-meta.xml": PLUGIN,
        "genAiPlannerBundles/Advisor_Agent/Advisor_Agent.genAiPlannerBundle": PLANNER,
    }
    if schema is not None:
        files["genAiFunctions/Find_Client/output/schema.json"] = schema
    return project(files)


def test_record_a_flow_action_returns_reaches_the_agents_model(project):
    root = agent_project(project, output_schema(client=True))
    result = run(root)
    assert_exact(root, result)
    finding = next(f for f in data_findings(result) if f.rule_id == "APX-LLM-001")
    assert finding.destination.host == "Agentforce planner"
    path = finding.paths[0]
    assert path[0].message.startswith("every field of Contact read by Get Records Find_Client")
    assert path[0].location.path.endswith("Find_Client.flow-meta.xml")
    assert path[-1].message.startswith("sent by agent action Find_Client to Agentforce planner")


def test_output_kept_from_the_planner_never_reaches_the_model(project):
    root = agent_project(project, output_schema(client=False), marker="<!-- ok: shown to the user only -->")
    assert_exact(root, run(root))


def test_output_schema_without_a_planner_flag_is_taken_to_reach_the_model(project):
    root = agent_project(project, '{"properties": {"client": {"title": "client"}}}')
    assert_exact(root, run(root))


def test_trusted_salesforce_models_leave_the_region_undecided(project):
    root = agent_project(project, output_schema(client=True), marker="<!-- expect: APX-LLM-002, APX-LLM-003 -->")
    assert_exact(root, run(root, {"policy": {"allowed_jurisdictions": ["EU"], "allowed_regions": ["EU"],
                                             "trust_salesforce_ai": True}}))


PRODUCT_FINDER = """
public with sharing class ProductFinder {
    public class Result { @InvocableVariable public String products; }
    @InvocableMethod(label='Find products')
    public static List<Result> find(List<String> families) {
        Result r = new Result();
        r.products = '';
        for (Product2 p : [SELECT Name, Description FROM Product2 WHERE Family IN :families]) {
            r.products += p.Name + ': ' + p.Description + '\n';
        }
        return new List<Result>{ r };
    }
}
"""

HOLDINGS = """
public with sharing class HoldingsLookup {
    public class Result { @InvocableVariable public String summary; }
    @InvocableMethod(label='Client holdings')
    public static List<Result> lookup(List<Id> clientIds) {
        Result r = new Result();
        for (Contact c : [SELECT LastName, Birthdate FROM Contact WHERE Id IN :clientIds]) {
            r.summary = c.LastName + ' (' + c.Birthdate + ')';
        }
        return new List<Result>{ r };
    }
}
"""


def test_apex_action_returning_client_data_reaches_the_model(project):
    root = project({
        "classes/HoldingsLookup.cls": HOLDINGS,
        "genAiFunctions/Holdings/Holdings.genAiFunction-meta.xml": function(
            "Holdings", "apex", "HoldingsLookup", "<!-- expect: APX-LLM-001 -->"),
    })
    result = run(root)
    assert_exact(root, result)
    assert {str(f) for f, _ in data_findings(result)[0].fields} == {"Contact.LastName", "Contact.Birthdate"}


def test_catalog_free_text_an_action_returns_is_of_unknown_sensitivity(project):
    root = project({
        "classes/ProductFinder.cls": PRODUCT_FINDER,
        "genAiFunctions/Find_Products/Find_Products.genAiFunction-meta.xml": function(
            "Find_Products", "apex", "ProductFinder", "<!-- expect: APX-LLM-004 -->"),
    })
    result = run(root)
    assert_exact(root, result)
    assert all(k.sensitivity.value == "unknown" for _, k in result.findings[0].fields)


BRANCH_HOURS = """
public with sharing class BranchHours {
    @InvocableMethod(label='Branch opening hours')
    public static List<String> hours(List<String> cities) {
        List<String> out = new List<String>();
        for (Branch__c b : [SELECT Opening_Hours__c FROM Branch__c WHERE City__c IN :cities]) {
            out.add(b.Opening_Hours__c);
        }
        return out;
    }
}
"""


def test_agent_whose_actions_touch_only_non_sensitive_data_is_not_reported(project):
    root = project({
        "classes/BranchHours.cls": BRANCH_HOURS,
        "objects/Branch__c/fields/Opening_Hours__c.field-meta.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
                <fullName>Opening_Hours__c</fullName>
                <securityClassification>Public</securityClassification>
                <type>Text</type>
            </CustomField>
        """,
        "genAiFunctions/Branch_Hours/Branch_Hours.genAiFunction-meta.xml": function(
            "Branch_Hours", "apex", "BranchHours", "<!-- ok: public opening hours only -->"),
    })
    project_ = discover([root])
    policy = load_policy(None, project_.root)
    result = scan(project_, policy, strict=True, inventory=True)
    assert_exact(root, result)
    (record,) = [r for r in result.sinks if r.kind == "agent"]
    assert [str(d.field) for d in record.reach.data] == ["Branch__c.Opening_Hours__c"]  # still inventoried


def test_standard_record_action_listed_in_a_topic_sends_records_of_any_object(project):
    root = project({"genAiPlugins/Assistant.genAiPlugin-meta.xml": """
        <?xml version="1.0" encoding="UTF-8"?>
        <GenAiPlugin xmlns="http://soap.sforce.com/2006/04/metadata">
            <developerName>Assistant</developerName>
            <genAiFunctions><functionName>EmployeeCopilot__QueryRecords</functionName></genAiFunctions> <!-- expect: APX-LLM-002 -->
            <genAiFunctions><functionName>EmployeeCopilot__AnswerQuestionsWithKnowledge</functionName></genAiFunctions> <!-- ok: knowledge articles -->
            <masterLabel>Assistant</masterLabel>
            <pluginType>Topic</pluginType>
        </GenAiPlugin>
    """})
    result = run(root)
    assert_exact(root, result)
    (finding,) = result.findings
    assert finding.level == "warning" and "chosen at run time" in finding.message


LOCAL_BUNDLE = """
<?xml version="1.0" encoding="UTF-8"?>
<GenAiPlannerBundle xmlns="http://soap.sforce.com/2006/04/metadata">
    <description>Lending agent.</description>
    <localTopicLinks><genAiPluginName>lending_16jKS</genAiPluginName></localTopicLinks>
    <localTopics>
        <fullName>lending_16jKS</fullName>
        <description>Loan questions</description>
        <developerName>lending_16jKS</developerName>
        <localActionLinks><functionName>holdings_179KS</functionName></localActionLinks>
        <localActions>
            <fullName>holdings_179KS</fullName>
            <description>Client holdings</description>
            <developerName>holdings_179KS</developerName>
            <invocationTarget>HoldingsLookup</invocationTarget> MARKER
            <invocationTargetType>apex</invocationTargetType>
            <localDeveloperName>holdings</localDeveloperName>
            <masterLabel>Holdings</masterLabel>
        </localActions>
        <localDeveloperName>lending</localDeveloperName>
        <masterLabel>Lending</masterLabel>
        <pluginType>Topic</pluginType>
    </localTopics>
    <masterLabel>Lending Agent</masterLabel>
    <plannerType>Atlas__ConcurrentMultiAgentOrchestration</plannerType>
</GenAiPlannerBundle>
"""


def test_local_actions_of_a_planner_bundle_are_actions_too(project):
    root = project({
        "classes/HoldingsLookup.cls": HOLDINGS,
        "genAiPlannerBundles/Lending_Agent/Lending_Agent.genAiPlannerBundle": LOCAL_BUNDLE.replace(
            "MARKER", "<!-- expect: APX-LLM-001 -->"),
    })
    assert_exact(root, run(root))


def test_local_action_output_schema_keeps_its_result_from_the_model(project):
    root = project({
        "classes/HoldingsLookup.cls": HOLDINGS,
        "genAiPlannerBundles/Lending_Agent/Lending_Agent.genAiPlannerBundle": LOCAL_BUNDLE.replace(
            "MARKER", "<!-- ok: filtered from the agent -->"),
        "genAiPlannerBundles/Lending_Agent/localActions/lending/holdings/output/schema.json": output_schema(summary=False),
    })
    assert_exact(root, run(root))


BOT = """
<?xml version="1.0" encoding="UTF-8"?>
<Bot xmlns="http://soap.sforce.com/2006/04/metadata">
    <agentType>EinsteinServiceAgent</agentType>
    <contextVariables>
        <contextVariableMappings>
            <SObjectType>MessagingSession</SObjectType>
            <fieldName>MessagingEndUser.Name</fieldName>
            <messageType>EmbeddedMessaging</messageType>
        </contextVariableMappings>
        <dataType>Text</dataType>
        <developerName>EndUserName</developerName>
        <includeInPrompt>INCLUDED</includeInPrompt> MARKER
        <label>End user name</label>
    </contextVariables>
    <label>Service Agent</label>
    <type>ExternalCopilot</type>
</Bot>
"""


def test_bot_context_variable_included_in_the_prompt_sends_its_field(project):
    root = project({"bots/Service_Agent/Service_Agent.bot-meta.xml": BOT.replace("INCLUDED", "true").replace(
        "MARKER", "<!-- expect: APX-LLM-004 -->")})
    assert_exact(root, run(root))


def test_bot_context_variable_kept_out_of_the_prompt_is_silent(project):
    root = project({"bots/Service_Agent/Service_Agent.bot-meta.xml": BOT.replace("INCLUDED", "false").replace(
        "MARKER", "<!-- ok: not in the prompt -->")})
    assert_exact(root, run(root))


def test_inventory_lists_the_agent_channel_with_the_agent_as_its_entry_point(project):
    root = agent_project(project, output_schema(client=True))
    files = dict((p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file())
    files["force-app/main/default/bots/Advisor_Agent/v1.botVersion-meta.xml"] = None
    (root / "force-app/main/default/bots/Advisor_Agent").mkdir(parents=True)
    (root / "force-app/main/default/bots/Advisor_Agent/v1.botVersion-meta.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<BotVersion xmlns="http://soap.sforce.com/2006/04/metadata">'
        '<fullName>v1</fullName><conversationDefinitionPlanners><genAiPlannerName>Advisor_Agent</genAiPlannerName>'
        '</conversationDefinitionPlanners></BotVersion>\n', encoding="utf-8")
    project_ = discover([root])
    policy = load_policy(None, project_.root)
    result = scan(project_, policy, strict=True, inventory=True)
    levels = {r.id: r.level for r in load_catalog().rules}
    doc = build_inventory(result.sinks, result.findings, result.metadata, policy, levels, project="p", generator="t")
    (channel,) = [c for c in doc["channels"] if c["kind"] == "agent"]
    assert channel["id"] == "agent:Find_Client"
    assert {(e["kind"], e["name"]) for e in channel["entry_points"]} == {("agent", "Advisor_Agent")}
    assert {f["rule"] for f in channel["findings"]} == {"APX-LLM-001", "APX-LLM-002"}


@pytest.mark.parametrize(("path", "kind"), [
    ("force-app/main/default/genAiFunctions/X/X.genAiFunction-meta.xml", "function"),
    ("force-app/main/default/genAiFunctions/X/output/schema.json", "schema"),
    ("force-app/main/default/genAiFunctions/X/input/schema.json", ""),
    ("force-app/main/default/genAiPlannerBundles/A/A.genAiPlannerBundle", "planner"),
    ("force-app/main/default/genAiPlannerBundles/A/localActions/t/a/output/schema.json", "schema"),
    ("force-app/main/default/genAiPlugins/T.genAiPlugin-meta.xml", "plugin"),
    ("force-app/main/default/bots/B/B.bot-meta.xml", "bot"),
    ("force-app/main/default/bots/B/v1.botVersion-meta.xml", "botversion"),
    ("force-app/main/default/staticresources/schema.json", ""),
])
def test_agent_files_are_recognised_by_suffix_and_schema_folder(path, kind):
    assert agent_file(path) == kind


def test_malformed_agent_files_are_diagnostics_not_crashes():
    bad_xml = lower_agent("genAiPlugins/T.genAiPlugin-meta.xml", b"<GenAiPlugin><oops></GenAiPlugin>")
    wrong_root = lower_agent("genAiPlugins/T.genAiPlugin-meta.xml", b"<Flow/>")
    bad_json = lower_agent("genAiFunctions/X/output/schema.json", b"{not json")
    odd_json = lower_agent("genAiFunctions/X/output/schema.json", b'["a list"]')
    assert bad_xml.diagnostics and wrong_root.diagnostics and bad_json.diagnostics
    assert not odd_json.diagnostics and not odd_json.barriers


def test_policy_object_is_reusable(project):
    # The same project scanned with a policy that allows the US sees no foreign model.
    root = agent_project(project, output_schema(client=True), marker="<!-- ok: US allowed -->")
    result = run(root, {"policy": {"allowed_jurisdictions": ["US"], "allowed_regions": ["US", "global"],
                                   "trust_salesforce_ai": True}})
    assert all(f.rule_id != "APX-LLM-001" for f in result.findings)
    assert policy_from_dict({}, "x") is not None


AGENT_SCRIPT = """
# Lending assistant
config:
   developer_name: "Lending_Assistant"
   agent_type: "AgentforceEmployeeAgent"

subagent lending:
   description: "Loan questions"
   actions:
      client_holdings:
         description: "Holdings of the client"
         inputs:
            clientId: string
         outputs:
            summary: string
               description: "Name and birthdate"
         target: "apex://HoldingsLookup" MARKER1

      hidden_holdings:
         description: "Shown to the user only"
         outputs:
            summary: string
               filter_from_agent: True
               is_displayable: True
         target: "apex://HoldingsLookup" MARKER2

      find_records:
         description: "Any record"
         target: "standardInvocableAction://EmployeeCopilot__QueryRecords" MARKER3
"""


def test_agent_script_actions_are_actions(project):
    root = project({
        "classes/HoldingsLookup.cls": HOLDINGS,
        "aiAuthoringBundles/Lending_Assistant/Lending_Assistant.agent": AGENT_SCRIPT.replace(
            "MARKER1", "# expect: APX-LLM-001").replace("MARKER2", "# ok: filtered from the agent").replace(
            "MARKER3", "# expect: APX-LLM-002"),
    })
    result = run(root)
    lines = AGENT_SCRIPT.strip("\n").splitlines()
    line_of = {m: next(i for i, text in enumerate(lines, 1) if m in text) for m in ("MARKER1", "MARKER3")}
    found = {(f.location.line, f.rule_id) for f in result.findings}
    assert found == {(line_of["MARKER1"], "APX-LLM-001"), (line_of["MARKER3"], "APX-LLM-002")}
    assert next(f for f in result.findings if f.rule_id == "APX-LLM-001").message.count("agent action client_holdings")


def test_agent_script_that_is_not_utf8_is_a_diagnostic():
    facts = lower_agent("aiAuthoringBundles/A/A.agent", bytes([0xFF, 0xFE, 0x00]) + b"bad")
    assert facts.diagnostics and not facts.sinks
