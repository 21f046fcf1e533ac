"""Behaviour of the Lightning Web Component frontend: the facts one component yields, and the
findings of a whole project where data crosses from JavaScript to Apex or leaves the browser.

Each source file marks the line where a finding must be reported with `// expect: RULE-ID`;
`assert_exact` requires exactly those findings. Until project discovery hands `.js` files to the
LWC frontend, `scan_project` lowers them itself and runs the same analysis as `scan`.
"""
from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import OPENAI_NC, assert_exact, found, run

from apexscan.engine.facts import FileFacts, Ref
from apexscan.frontends.lwc import StrictError, bundle_of, lower_lwc
from apexscan.frontends.metadata import merge
from apexscan.pipeline.lowering import lower_file
from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import analyse
from apexscan.salesforce.policy import load_policy

LWC = "lwc/contactAssistant/contactAssistant.js"


def lower(source: str, path: str = "force-app/main/default/" + LWC) -> FileFacts:
    return lower_lwc(path, textwrap.dedent(source).lstrip("\n").encode("utf-8"), strict=True)


@dataclass(frozen=True)
class Result:
    findings: tuple


def scan_project(root: Path) -> Result:
    """Scan `root` with its LWC JavaScript included (as `scan` will once it knows about LWC)."""
    project = discover([root])
    if any(f.kind == "lwc" for f in project.files):  # the lead wired LWC into discovery and scan
        return run(root)
    apex, metadata = [], []
    for f in project.files:
        facts, diags = lower_file(f, strict=True)
        assert not diags, diags
        (apex if isinstance(facts, FileFacts) else metadata).append(facts)
    for path in sorted(root.rglob("*.js")):
        rel = path.relative_to(root).as_posix()
        if "/lwc/" in rel and "__tests__" not in rel:
            facts = lower_lwc(rel, path.read_bytes(), strict=True)
            assert not facts.diagnostics, facts.diagnostics
            apex.append(facts)
    return Result(tuple(analyse(apex, merge(metadata), load_policy(None, project.root))))


# --- facts of single components -----------------------------------------------------------------

def test_bundle_is_the_folder_under_lwc():
    assert bundle_of("force-app/main/default/lwc/contactAssistant/contactAssistant.js") == "contactassistant"
    assert bundle_of("force-app/main/default/lwc/utils/format.js") == "utils"


def test_wired_record_fields_are_sources_where_the_ui_api_puts_them():
    facts = lower("""
        import { LightningElement, api, wire } from 'lwc';
        import { getRecord } from 'lightning/uiRecordApi';
        import EMAIL_FIELD from '@salesforce/schema/Contact.Email';
        import ACCOUNT_NAME from '@salesforce/schema/Contact.Account.Name';

        export default class ContactAssistant extends LightningElement {
            @api recordId;
            @wire(getRecord, { recordId: '$recordId', fields: [EMAIL_FIELD], optionalFields: [ACCOUNT_NAME] })
            contact;
        }
    """)
    sources = {(s.object, s.fields, s.scalar, s.location.line) for s in facts.sources}
    assert sources == {("Contact", (("email",),), True, 8), ("Contact", (("account", "name"),), True, 8)}
    wired = [a for a in facts.assigns if a.target.node == "F:lwc:contactassistant.contact"]
    ops = {a.value[0].text: a.value[0].ops for a in wired}
    assert ops["Contact.Email"] == (("put", "value"), ("put", "email"), ("put", "fields"), ("put", "data"))
    assert ops["Contact.Account.Name"][:2] == (("put", "value"), ("put", "name"))
    # The field token itself is not data: nothing flows from the import binding.
    assert not any("email_field" in i.ref.node for a in facts.assigns for i in a.value)


def test_string_field_lists_in_a_module_constant_and_layout_wildcard():
    facts = lower("""
        import { LightningElement, api, wire } from 'lwc';
        import { getRecord } from 'lightning/uiRecordApi';
        const FIELDS = ['Contact.Name', 'Contact.Phone'];
        export default class ContactCard extends LightningElement {
            @api recordId;
            @wire(getRecord, { recordId: '$recordId', fields: FIELDS }) contact;
            @wire(getRecord, { recordId: '$recordId', layoutTypes: ['Full'], fields: FIELDS }) full;
        }
    """)
    by_line = {}
    for s in facts.sources:
        by_line.setdefault(s.location.line, set()).add(s.fields)
    assert by_line[6] == {(("name",),), (("phone",),)}
    assert by_line[7] == {(("name",),), (("phone",),), (("*",),)}


def test_apex_import_called_imperatively_is_a_call_by_parameter_name():
    facts = lower("""
        import { LightningElement, api } from 'lwc';
        import summarize from '@salesforce/apex/AccountAiController.summarize';
        export default class AccountSummary extends LightningElement {
            @api recordId;
            notes = '';
            summary;
            async handleClick() {
                this.summary = await summarize({ recordId: this.recordId, notes: this.notes });
            }
        }
    """)
    (call,) = facts.calls
    assert (call.static_type, call.name, call.arg_names) == ("accountaicontroller", "summarize", ("recordid", "notes"))
    assert [[i.ref.node for i in v] for v in call.args] == [
        ["F:lwc:contactassistant.recordid"], ["F:lwc:contactassistant.notes"]]
    stored = [a for a in facts.assigns if a.target.node == "F:lwc:contactassistant.summary"]
    assert stored[0].value[0].ref.node == call.result


def test_wired_apex_result_is_the_property_data_and_then_callbacks_receive_results():
    facts = lower("""
        import { LightningElement, api, wire } from 'lwc';
        import getContacts from '@salesforce/apex/ContactController.getContacts';
        import describe from '@salesforce/apex/ContactController.describe';
        export default class ContactList extends LightningElement {
            @api accountId;
            @wire(getContacts, { accountId: '$accountId', max: 5 }) contacts;
            text;
            handle() {
                describe({ contactName: this.contacts.data[0].Name }).then((result) => {
                    this.text = result;
                });
            }
        }
    """)
    wired, imperative = sorted(facts.calls, key=lambda c: c.location.line)
    assert wired.arg_names == ("accountid", "max") and wired.caller.endswith("<fieldinit>/0")
    assert wired.args[0][0].ref.node == "F:lwc:contactassistant.accountid" and wired.args[1] == ()
    assert wired.arg_strs[0] == (("ref", Ref("F:lwc:contactassistant.accountid")),)  # not the text '$accountId'
    into_prop = next(a for a in facts.assigns if a.target.node == "F:lwc:contactassistant.contacts")
    assert into_prop.value[0].ref.node == wired.result and into_prop.value[0].ops == (("put", "data"),)
    name_arg = imperative.args[0][0].ref
    assert (name_arg.node, name_arg.path) == ("F:lwc:contactassistant.contacts", ("data", "name"))
    callback_param = next(a for a in facts.assigns if a.verb == "handed to the .then callback")
    assert callback_param.value[0].ref.node == imperative.result
    assert callback_param.target.node.endswith("#result@9.68")


def test_fetch_is_a_sink_with_its_endpoint_body_and_llm_evidence():
    facts = lower("""
        import { LightningElement } from 'lwc';
        import OPENAI_URL from '@salesforce/label/c.OpenAI_Url';
        const BASE = 'https://llm.example.net';
        export default class Chat extends LightningElement {
            question;
            async ask(model) {
                await fetch(OPENAI_URL, { method: 'POST', body: JSON.stringify({ model, messages: [{ role: 'user', content: this.question }] }) });
                await fetch(`${BASE}/v1/chat/completions?user=${this.question}`);
            }
        }
    """)
    first, second = sorted(facts.sinks, key=lambda s: s.location.line)
    assert (first.api, first.kind, first.location.line) == ("fetch", "http", 7)
    endpoints = {e.target.node: e.expr for e in facts.endpoints}
    assert endpoints[first.arg.node] == (("label", "OpenAI_Url"),)
    assert endpoints[second.arg.node] == (
        ("ref", Ref("F:lwc:contactassistant.base")), ("lit", "/v1/chat/completions?user="),
        ("ref", Ref("F:lwc:contactassistant.question")))
    body = [i for a in facts.assigns if a.target.node == first.arg.node for i in a.value]
    question = next(i for i in body if i.ref.node == "F:lwc:contactassistant.question")
    assert ("collapse", "serialized") in question.ops and ("put", "content") in question.ops
    assert {e.text for e in facts.evidence} == {"key 'model'"}
    evidence_node = facts.evidence[0].target.node
    assert any(i.ref.node == evidence_node for i in body)
    # data in the query string travels with the URL
    url_data = [i for a in facts.assigns if a.target.node == second.arg.node for i in a.value]
    assert any(i.ref.node == "F:lwc:contactassistant.question" for i in url_data)


def test_xhr_websocket_and_beacon_are_sinks():
    facts = lower("""
        import { LightningElement } from 'lwc';
        export default class Telemetry extends LightningElement {
            socket;
            connectedCallback() {
                this.socket = new WebSocket('wss://stream.example.com/ws');
            }
            push(payload) {
                this.socket.send(JSON.stringify(payload));
                const xhr = new XMLHttpRequest();
                xhr.open('POST', 'https://collector.example.com/v1/events');
                xhr.send(payload);
                navigator.sendBeacon('https://collector.example.com/beacon', payload);
            }
        }
    """)
    assert sorted((s.api, s.location.line) for s in facts.sinks) == [
        ("WebSocket.send", 8), ("XMLHttpRequest.send", 11), ("navigator.sendBeacon", 12)]
    assert {e.expr for e in facts.endpoints} == {
        (("lit", "wss://stream.example.com/ws"),), (("lit", "https://collector.example.com/v1/events"),),
        (("lit", "https://collector.example.com/beacon"),)}


def test_strict_mode_raises_on_an_unknown_node_type_and_normal_mode_does_not():
    source = b"export default class X { m() { <div>{a}</div>; } }"  # JSX is not LWC
    with pytest.raises(StrictError):
        lower_lwc("lwc/x/x.js", source, strict=True)
    assert lower_lwc("lwc/x/x.js", source).functions


def test_unparseable_file_is_a_diagnostic_not_an_exception():
    facts = lower_lwc("lwc/x/x.js", b"\x00\x01binary")
    assert facts.diagnostics and not facts.functions
    broken = lower_lwc("lwc/x/x.js", b"export default class X { m() { fetch('https://a.example', ; } }")
    assert any(d.stage == "parse" for d in broken.diagnostics)


def test_real_components_lower_in_strict_mode():
    """Every component under $APEXSCAN_LWC_CORPUS (folders of public SFDX repositories) lowers with
    no unknown node type and no diagnostic. Skipped when the variable is not set."""
    corpus = os.environ.get("APEXSCAN_LWC_CORPUS")
    if not corpus:
        pytest.skip("set APEXSCAN_LWC_CORPUS to a folder of SFDX projects")
    files = [p for p in sorted(Path(corpus).rglob("*.js"))
             if "lwc" in p.parts and "__tests__" not in p.parts and "node_modules" not in p.parts]
    assert files
    for path in files:
        facts = lower_lwc(path.as_posix(), path.read_bytes(), strict=True)
        assert not facts.diagnostics, facts.diagnostics


# --- findings across the project --------------------------------------------------------------------


DRAFT_EMAIL = """
import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue } from 'lightning/uiRecordApi';
import EMAIL_FIELD from '@salesforce/schema/Contact.Email';
import TITLE_FIELD from '@salesforce/schema/Contact.Title';

const LLM_URL = 'https://api.openai.com/v1/chat/completions';

export default class DraftEmail extends LightningElement {
    @api recordId;
    draft;

    @wire(getRecord, { recordId: '$recordId', fields: [EMAIL_FIELD, TITLE_FIELD] })
    contact;

    get email() {
        return getFieldValue(this.contact.data, EMAIL_FIELD);
    }

    async handleDraft() {
        const prompt = `Write a short follow-up to ${this.email}`;
        const response = await fetch(LLM_URL, { // expect: APX-LLM-001, APX-LLM-006
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] })
        });
        const json = await response.json();
        this.draft = json.choices[0].message.content;
    }
}
"""


def test_wired_contact_email_fetched_to_openai_from_the_browser(project):
    root = project({"lwc/draftEmail/draftEmail.js": DRAFT_EMAIL})
    result = scan_project(root)
    assert_exact(root, result)
    finding = next(f for f in result.findings if f.rule_id == "APX-LLM-001")
    assert [str(f) for f, _ in finding.fields] == ["Contact.Email"]
    assert finding.destination.host == "api.openai.com"
    steps = [s.message for s in finding.paths[0]]
    assert steps[0] == "Contact.Email read by @wire(getRecord)"
    assert steps[-1].startswith("sent by fetch to api.openai.com")


def test_same_component_posting_to_a_non_llm_host_is_silent(project):
    source = DRAFT_EMAIL.replace("https://api.openai.com/v1/chat/completions", "https://hooks.example.com/notes") \
        .replace(" // expect: APX-LLM-001, APX-LLM-006", "")
    root = project({"lwc/draftEmail/draftEmail.js": source})
    assert found(scan_project(root)) == set()


AI_CONTROLLER = """
public with sharing class AccountAiController {
    @AuraEnabled
    public static String summarize(String notes, String email) {
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody(JSON.serialize(new Map<String, Object>{
            'model' => 'gpt-4o-mini',
            'messages' => new List<Object>{ new Map<String, Object>{ 'role' => 'user', 'content' => notes + email } }
        }));
        HttpResponse res = new Http().send(req); // expect: APX-LLM-001
        return res.getBody();
    }
}
"""


def test_component_data_passed_to_aura_enabled_apex_reaches_openai_callout(project):
    root = project({
        "classes/AccountAiController.cls": AI_CONTROLLER,
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "lwc/contactNotes/contactNotes.js": """
            import { LightningElement, api, wire } from 'lwc';
            import { getRecord } from 'lightning/uiRecordApi';
            import summarize from '@salesforce/apex/AccountAiController.summarize';

            const FIELDS = ['Contact.Email', 'Contact.Description'];

            export default class ContactNotes extends LightningElement {
                @api recordId;
                summary;
                @wire(getRecord, { recordId: '$recordId', fields: FIELDS }) contact;

                handleSummarize() {
                    const email = this.contact.data.fields.Email.value;
                    summarize({ notes: 'Quarterly review', email })
                        .then((result) => { this.summary = result; })
                        .catch(() => { this.summary = undefined; });
                }
            }
        """,
    })
    result = scan_project(root)
    assert_exact(root, result)
    finding = next(f for f in result.findings if f.rule_id == "APX-LLM-001")
    assert [str(f) for f, _ in finding.fields] == ["Contact.Email"]
    path = finding.paths[0]
    assert path[0].location.path.endswith("lwc/contactNotes/contactNotes.js")
    assert any("passed to AccountAiController.summarize(email)" in s.message for s in path)
    assert path[-1].location.path.endswith("classes/AccountAiController.cls")


def test_component_calling_apex_with_a_constant_is_silent(project):
    root = project({
        "classes/AccountAiController.cls": AI_CONTROLLER.replace(" // expect: APX-LLM-001", ""),
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "lwc/contactNotes/contactNotes.js": """
            import { LightningElement } from 'lwc';
            import summarize from '@salesforce/apex/AccountAiController.summarize';

            export default class ContactNotes extends LightningElement {
                summary;
                async handleSummarize() {
                    this.summary = await summarize({ notes: 'What is a good opening line?', email: '' });
                }
            }
        """,
    })
    # The Named Credential may still be reported as configuration (APX-CFG-*); no data reaches it.
    assert {f for f in found(scan_project(root)) if f[2].startswith("APX-LLM")} == set()


def test_template_url_with_unknown_host_but_llm_path_is_unknown_jurisdiction(project):
    root = project({"lwc/gatewayChat/gatewayChat.js": """
        import { LightningElement, api, wire } from 'lwc';
        import { getRecord, getFieldValue } from 'lightning/uiRecordApi';
        import PHONE_FIELD from '@salesforce/schema/Contact.Phone';

        export default class GatewayChat extends LightningElement {
            @api recordId;
            @api gatewayHost;
            @wire(getRecord, { recordId: '$recordId', fields: [PHONE_FIELD] }) contact;

            async ask() {
                const phone = getFieldValue(this.contact.data, PHONE_FIELD);
                const url = `https://${this.gatewayHost}/v1/chat/completions`;
                const payload = { messages: [{ role: 'user', content: 'Call ' + phone }] };
                await fetch(url, { method: 'POST', body: JSON.stringify(payload) }); // expect: APX-LLM-003
            }
        }
    """})
    result = scan_project(root)
    assert_exact(root, result)
    (finding,) = result.findings
    assert [str(f) for f, _ in finding.fields] == ["Contact.Phone"]


def test_apex_records_returned_to_the_component_and_sent_to_an_llm(project):
    """Apex -> LWC -> browser round trip: records an @AuraEnabled method returns are record data in JS."""
    root = project({
        "classes/ContactController.cls": """
            public with sharing class ContactController {
                @AuraEnabled(cacheable=true)
                public static List<Contact> getContacts(Id accountId) {
                    return [SELECT Id, Name, MobilePhone FROM Contact WHERE AccountId = :accountId];
                }
            }
        """,
        "lwc/contactBrief/contactBrief.js": """
            import { LightningElement, api, wire } from 'lwc';
            import getContacts from '@salesforce/apex/ContactController.getContacts';

            export default class ContactBrief extends LightningElement {
                @api recordId;
                @wire(getContacts, { accountId: '$recordId' }) contacts;

                async brief() {
                    const lines = this.contacts.data.map((c) => `${c.Name}`).join('\\n');
                    await fetch('https://api.anthropic.com/v1/messages', { // expect: APX-LLM-001, APX-LLM-006
                        method: 'POST',
                        body: JSON.stringify({ model: 'claude-3-5-haiku', messages: [{ role: 'user', content: lines }] })
                    });
                }
            }
        """,
    })
    result = scan_project(root)
    assert_exact(root, result)
    finding = next(f for f in result.findings if f.rule_id == "APX-LLM-001")
    assert [str(f) for f, _ in finding.fields] == ["Contact.Name"]  # MobilePhone is never read in JS


def test_apex_arguments_built_in_a_variable_are_passed_by_their_keys():
    facts = lower("""
        import { LightningElement } from 'lwc';
        import draft from '@salesforce/apex/LeadAi.draft';
        export default class LeadDraft extends LightningElement {
            email;
            go() {
                const params = { leadId: this.recordId };
                params.email = this.email;
                return draft(params);
            }
        }
    """)
    (call,) = facts.calls
    assert call.arg_names == ("email", "leadid")
    email = call.args[0][0].ref
    assert (email.node.endswith("#params"), email.path) == (True, ("email",))


def test_graphql_wire_fields_are_sources():
    facts = lower("""
        import { LightningElement, wire } from 'lwc';
        import { gql, graphql } from 'lightning/graphql';
        export default class LeadList extends LightningElement {
            @wire(graphql, { query: gql`
                query leads {
                    uiapi { query { Lead(first: 5) { edges { node {
                        Id
                        Email { value }
                        Owner { Name { value } }
                    } } } } }
                }` })
            results;
        }
    """)
    assert {(s.object, s.fields) for s in facts.sources} == {
        ("Lead", (("id",),)), ("Lead", (("email",),)), ("Lead", (("owner", "name"),))}


def test_promise_resolve_and_local_functions_carry_values():
    facts = lower("""
        import { LightningElement } from 'lwc';
        export default class Waiter extends LightningElement {
            value;
            wait(x) {
                const twice = (v) => v + v;
                return new Promise((resolve) => { resolve(twice(x)); });
            }
        }
    """)
    ret = next(a for a in facts.assigns if a.target.node == "lwc:contactassistant.wait/1#return")
    promise = ret.value[0].ref.node
    into_promise = next(a for a in facts.assigns if a.target.node == promise)
    assert into_promise.value[0].ref.node.startswith("lwc:contactassistant.wait/1#return@")
    into_param = next(a for a in facts.assigns if a.target.node.startswith("lwc:contactassistant.wait/1#v@"))
    assert into_param.value[0].ref.node == "lwc:contactassistant.wait/1#x"


def test_shared_module_function_sends_what_a_component_passes(project):
    root = project({
        "lwc/llmClient/llmClient.js": """
            const ENDPOINT = 'https://api.openai.com/v1/chat/completions';
            export async function complete(prompt) {
                const res = await fetch(ENDPOINT, { // expect: APX-LLM-001, APX-LLM-006
                    method: 'POST',
                    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] })
                });
                return res.json();
            }
        """,
        "lwc/leadTriage/leadTriage.js": """
            import { LightningElement, api, wire } from 'lwc';
            import { getRecord, getFieldValue } from 'lightning/uiRecordApi';
            import { complete } from 'c/llmClient';
            import MOBILE from '@salesforce/schema/Lead.MobilePhone';
            import COMPANY from '@salesforce/schema/Lead.Company';

            export default class LeadTriage extends LightningElement {
                @api recordId;
                answer;
                @wire(getRecord, { recordId: '$recordId', fields: [MOBILE, COMPANY] }) lead;

                async triage() {
                    const mobile = getFieldValue(this.lead.data, MOBILE);
                    this.answer = await complete(`Is ${mobile} a valid number?`);
                }
            }
        """,
    })
    result = scan_project(root)
    assert_exact(root, result)
    finding = next(f for f in result.findings if f.rule_id == "APX-LLM-001")
    assert [str(f) for f, _ in finding.fields] == ["Lead.MobilePhone"]


def test_xhr_post_of_a_wired_field_to_an_llm(project):
    root = project({"lwc/leadNotes/leadNotes.js": """
        import { LightningElement, api, wire } from 'lwc';
        import { getRecord } from 'lightning/uiRecordApi';
        import EMAIL from '@salesforce/schema/Lead.Email';

        export default class LeadNotes extends LightningElement {
            @api recordId;
            @wire(getRecord, { recordId: '$recordId', fields: [EMAIL] }) lead;

            send() {
                const xhr = new XMLHttpRequest();
                xhr.open('POST', 'https://api.mistral.ai/v1/chat/completions'); // expect: APX-LLM-006
                xhr.setRequestHeader('Content-Type', 'application/json');
                const body = { model: 'mistral-small', messages: [{ role: 'user', content: this.lead.data.fields.Email.value }] };
                xhr.send(JSON.stringify(body)); // expect: APX-LLM-001
            }
        }
    """})
    result = scan_project(root)
    assert_exact(root, result)
