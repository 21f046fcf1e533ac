"""Aura components: the bundle's markup names the Apex controller, its JavaScript lowers through the
LWC frontend, and server actions (`component.get("c.m")` + `setParams` + `$A.enqueueAction`) are
calls of the controller's @AuraEnabled methods by parameter name.

Whole-project tests mark the lines that must be reported with `// expect: RULE-ID`; `assert_exact`
requires exactly those findings.
"""
from __future__ import annotations

import textwrap

import pytest
from conftest import OPENAI_NC, assert_exact, run

from apexscan.engine.facts import FileFacts
from apexscan.frontends.aura import aura_bundle, lower_aura
from apexscan.pipeline.project import file_kind

BUNDLE = "force-app/main/default/aura/clientBrief"

CMP = """
    <!-- An earlier version used <aura:component controller="OldController"> -->
    <aura:component controller="ClientBriefController"
                    implements="force:hasRecordId,flexipage:availableForRecordHome" access="global">
        <aura:attribute name="client" type="Contact"/>
        <aura:handler name="init" value="{!this}" action="{!c.doInit}"/>
        <p>{!v.client.FirstName}&nbsp;{!v.client.LastName}</p>
    </aura:component>
"""

APEX = """
    public with sharing class ClientBriefController {
        @AuraEnabled(cacheable=true)
        public static Contact getClient(Id contactId) {
            return [SELECT Id, FirstName, Description, MailingCity, Birthdate FROM Contact WHERE Id = :contactId];
        }

        @AuraEnabled
        public static String summarize(String notes, String city) {
            HttpRequest req = new HttpRequest();
            req.setEndpoint('callout:OpenAI/v1/chat/completions');
            req.setMethod('POST');
            req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o-mini', 'input' => notes + ' ' + city }));
            return new Http().send(req).getBody(); // expect: APX-LLM-001
        }

        @AuraEnabled
        public static String greet(String occasion) {
            HttpRequest req = new HttpRequest();
            req.setEndpoint('callout:OpenAI/v1/chat/completions');
            req.setMethod('POST');
            req.setBody(JSON.serialize(new Map<String, Object>{ 'model' => 'gpt-4o-mini', 'input' => occasion }));
            return new Http().send(req).getBody(); // ok: only a constant occasion
        }
    }
"""


def lower(source: str, name: str = "clientBriefController.js") -> FileFacts:
    return lower_aura(f"{BUNDLE}/{name}", textwrap.dedent(source).lstrip("\n").encode("utf-8"), strict=True)


def bundle(controller: str, helper: str = "", cmp: str = CMP, apex: str = APEX) -> dict[str, str]:
    files = {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
             "classes/ClientBriefController.cls": apex,
             "aura/clientBrief/clientBrief.cmp": cmp,
             "aura/clientBrief/clientBriefController.js": controller}
    if helper:
        files["aura/clientBrief/clientBriefHelper.js"] = helper
    return files


# --- files and facts of one bundle ------------------------------------------------------------------

def test_bundle_files_are_aura_and_other_files_are_not():
    for name in ("clientBrief.cmp", "clientBriefController.js", "clientBriefHelper.js", "clientBriefRenderer.js",
                 "clientBriefApp.app"):
        assert file_kind(f"{BUNDLE}/{name}") == "aura", name
    for name in ("clientBrief.css", "clientBrief.design", "clientBrief.cmp-meta.xml", "clientBrief.auradoc",
                 "clientBrief.svg", "utils.js"):
        assert file_kind(f"{BUNDLE}/{name}") is None, name
    assert file_kind("force-app/main/default/aura/clientBrief.cmp") is None  # not inside a bundle folder
    assert aura_bundle(f"{BUNDLE}/clientBriefHelper.js") == ("clientBrief", "helper")
    assert aura_bundle(f"{BUNDLE}/clientBrief.cmp") == ("clientBrief", "component")


def test_markup_names_the_apex_controller_as_the_component_class_superclass():
    facts = lower_aura(f"{BUNDLE}/clientBrief.cmp", textwrap.dedent(CMP).lstrip("\n").encode("utf-8"))
    assert facts.diagnostics == ()
    (info,) = facts.classes
    assert (info.name, info.kind, info.superclass, info.display) == ("aura:clientbrief", "aura",
                                                                    "clientbriefcontroller", "clientBrief")
    assert (info.location.line, info.location.col) == (2, 17)  # the controller attribute, not the comment
    namespaced = lower_aura(f"{BUNDLE}/clientBrief.cmp", b'<aura:component controller="npsp.HH_Container_LCTRL"/>')
    assert namespaced.classes[0].superclass == "hh_container_lctrl"
    broken = lower_aura(f"{BUNDLE}/clientBrief.cmp", b"<div>not a component</div>")
    assert broken.classes == () and "no <aura:component>" in broken.diagnostics[0].message


def test_server_action_is_a_call_by_parameter_name_whose_result_reaches_the_callback():
    facts = lower("""
        ({
            doInit: function (cmp, evt, hlp) {
                var action = cmp.get("c.getClient");
                action.setParams({ contactId: cmp.get("v.recordId") });
                action.setCallback(this, function (response) {
                    cmp.set("v.client", response.getReturnValue());
                });
                $A.enqueueAction(action);
                var noParams = cmp.get("c.loadSettings");
                $A.enqueueAction(noParams);
                var toast = $A.get("e.force:showToast");
                toast.setParams({ title: "Saved" });
                toast.fire();
            }
        })
    """)
    assert [(c.name, c.static_type, c.arg_names, c.location.line) for c in facts.calls] == [
        ("getclient", "aura:clientbrief", ("contactid",), 4), ("loadsettings", "aura:clientbrief", (), 10)]
    assert facts.classes[0].name == "aura:clientbrief:controller" and facts.classes[0].kind == "aura"
    assert [f.display for f in facts.functions] == ["clientBriefController.<module>", "clientBriefController.doInit"]
    record_id = facts.calls[0].args[0][0]
    assert record_id.ref.node == "F:aura:clientbrief:v.recordid"
    into_attribute = [a for a in facts.assigns if a.target.node == "F:aura:clientbrief:v.client"]
    assert len(into_attribute) == 1


def test_helper_and_renderer_parameters_call_the_helper_file():
    facts = lower("""
        ({
            afterRender: function (component, helper) {
                this.superAfterRender();
                helper.focus(component, "search");
            }
        })
    """, "clientBriefRenderer.js")
    (call,) = [c for c in facts.calls if c.name == "focus"]
    assert call.static_type == "aura:clientbrief:helper"


def test_real_shapes_lower_in_strict_mode():
    facts = lower("""
        /* eslint-disable */
        ({
            MAX_ROWS: 50,
            init(component, event, helper) {
                const rows = component.get("v.rows") || [];
                component.set("v.visible", rows.slice(0, this.MAX_ROWS));
                window.setTimeout($A.getCallback(() => helper.refresh(component)), 100);
            },
            handleKey: function (component, event) {
                if (event.getParam("keyCode") === 13) {
                    component.getEvent("search").setParams({ term: event.getSource().get("v.value") }).fire();
                }
            }
        });
    """)
    assert facts.diagnostics == ()
    assert {f.name for f in facts.functions} == {"<module>", "init", "handlekey"}


# --- whole projects ------------------------------------------------------------------------------

CONTROLLER = """
    ({
        doInit: function (component, event, helper) {
            var load = component.get("c.getClient");
            load.setParams({ contactId: component.get("v.recordId") });
            load.setCallback(this, function (response) {
                if (response.getState() === "SUCCESS") {
                    component.set("v.client", response.getReturnValue());
                }
            });
            $A.enqueueAction(load);
        },

        handleSummarize: function (component, event, helper) {
            helper.summarize(component);
        },

        handleGreet: function (component, event, helper) {
            var action = component.get("c.greet");
            action.setParams({ occasion: "birthday" });
            $A.enqueueAction(action);
        }
    })
"""

HELPER = """
    ({
        summarize: function (component) {
            var client = component.get("v.client");
            var action = component.get("c.summarize");
            action.setParams({ notes: client.Description, city: component.get("v.client.MailingCity") });
            action.setCallback(this, $A.getCallback(function (response) {
                component.set("v.summary", response.getReturnValue());
            }));
            $A.enqueueAction(action);
        }
    })
"""


def test_record_loaded_by_one_action_and_sent_by_another_reaches_the_openai_callout(project):
    root = project(bundle(CONTROLLER, HELPER))
    result = run(root)
    assert_exact(root, result)
    (finding,) = [f for f in result.findings if f.rule_id == "APX-LLM-001"]
    assert [str(ref) for ref, _ in finding.fields] == ["Contact.Description", "Contact.MailingCity"]
    steps = [step.message for step in finding.paths[0]]
    assert "the response of c.getClient handed to the action's callback" in steps
    assert "response set into attribute v.client" in steps
    handed = [a for a in lower(HELPER, "clientBriefHelper.js").assigns if a.verb == "handed to the action's callback"]
    assert [a.value[0].ref.path for a in handed] == [("$result",)]  # through $A.getCallback too
    assert any(s.startswith("client.Description passed to ClientBriefController.summarize(notes)") for s in steps)
    assert any("clientBriefHelper.js" in step.location.path for step in finding.paths[0])


def test_without_the_markup_the_action_is_not_linked_and_nothing_is_reported(project):
    files = bundle(CONTROLLER, HELPER)
    del files["aura/clientBrief/clientBrief.cmp"]
    result = run(project(files))
    assert [f.rule_id for f in result.findings] == ["APX-CFG-002"]


def test_fetch_from_an_aura_helper_is_a_sink_like_in_lwc(project):
    helper = """
        ({
            summarize: function (component) {
                var client = component.get("v.client");
                return fetch("https://api.openai.com/v1/chat/completions", { // expect: APX-LLM-001, APX-LLM-006
                    method: "POST",
                    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: client.Description }] })
                });
            },
            ping: function (component) {
                return fetch("https://status.northbank.example/ping", { // ok: not an LLM, no data
                    method: "POST", body: JSON.stringify({ at: Date.now() })
                });
            }
        })
    """
    files = bundle(CONTROLLER, helper, apex=APEX.replace("// expect: APX-LLM-001", "// ok: not called here"))
    files["cspTrustedSites/OpenAI_Browser.cspTrustedSite-meta.xml"] = """
        <?xml version="1.0" encoding="UTF-8"?>
        <CspTrustedSite xmlns="http://soap.sforce.com/2006/04/metadata">
            <context>LEX</context>
            <endpointUrl>https://api.openai.com</endpointUrl> <!-- expect: APX-CFG-003 -->
            <isActive>true</isActive>
            <isApplicableToConnectSrc>true</isApplicableToConnectSrc>
        </CspTrustedSite>
    """
    root = project(files)
    result = run(root)
    assert_exact(root, result)
    (finding,) = [f for f in result.findings if f.rule_id == "APX-LLM-001"]
    assert [str(ref) for ref, _ in finding.fields] == ["Contact.Description"]
    assert finding.location.path.endswith("aura/clientBrief/clientBriefHelper.js")
    assert "Allowed in the browser by CSP Trusted Site OpenAI_Browser" in finding.message


@pytest.mark.parametrize("params", [
    "{ notes: client.Description, city: client.MailingCity }",
    "params",  # built in a variable first: passed by its keys
])
def test_set_params_from_an_object_or_a_variable(project, params):
    helper = f"""
        ({{
            summarize: function (component) {{
                var client = component.get("v.client");
                var params = {{ notes: client.Description }};
                params.city = client.MailingCity;
                var action = component.get("c.summarize");
                action.setParams({params});
                $A.enqueueAction(action);
            }}
        }})
    """
    root = project(bundle(CONTROLLER, helper))
    assert_exact(root, run(root))


@pytest.mark.parametrize("data", [
    b"<aura:component " * 20000,  # many openings, no end: one attempt, not one per opening
    b"<!--" * 100000 + b'<aura:component controller="X"/>',  # unterminated comments
    b'<aura:component ' + b'a="b" ' * 100000,
])
def test_hostile_markup_is_read_in_linear_time(data):
    facts = lower_aura(f"{BUNDLE}/clientBrief.cmp", data)
    assert facts.classes == () and len(facts.diagnostics) == 1
