"""The DataWeave reader: which parts of the event an expression carries, field by field where it can."""
from __future__ import annotations

import pytest

from apexscan.engine.facts import Inflow, Ref
from apexscan.frontends.mule import dataweave as dw

PAYLOAD = dw.Value((Inflow(Ref("f#payload"), (), "payload"),))


def var(name: str) -> dw.Value:
    return dw.Value((Inflow(Ref(f"f#vars.{name.lower()}"), (), f"vars.{name}"),))


def carried(src: str) -> set[tuple]:
    """(place, fields read from it, operations after) for each part of the event `src` carries."""
    value = dw.Evaluator(PAYLOAD, var, lambda: dw.NOTHING).run(dw.parse(src))
    return {(f.ref.node.split("#")[1], ".".join(f.ref.path), tuple(op[0] if op[0] != "put" else f"put:{op[1]}"
                                                                   for op in f.ops)) for f in value.flows}


@pytest.mark.parametrize("src, expected", [
    ("payload.Email", {("payload", "email", ())}),
    ("vars.client.IBAN__c", {("vars.client", "iban__c", ())}),
    ("payload[0].Name", {("payload", "name", ())}),
    ("payload.*Contacts.Email", {("payload", "contacts.email", ())}),
    ("payload..Id", {("payload", "id", ())}),
    ('payload."Billing Street"', {("payload", "billing street", ())}),
    ("payload.ns0#Body", {("payload", "body", ())}),
    ("payload map { e: $.Email }", {("payload", "email", ("put:e",))}),
    ("payload map (c, i) -> c.Phone", {("payload", "phone", ())}),
    ("payload filter ($.Active) map $.Email", {("payload", "email", ())}),
    ("{ name: payload.Name, acct: { iban: vars.client.IBAN__c } }",
     {("payload", "name", ("put:name",)), ("vars.client", "iban__c", ("put:iban", "put:acct"))}),
    ("if (payload.vip) payload.A else vars.b", {("payload", "a", ()), ("vars.b", "", ())}),
    ("payload.Name default vars.fallback", {("payload", "name", ()), ("vars.fallback", "", ())}),
    ("payload match { case x if x.a == 1 -> x.B else -> payload.C }", {("payload", "b", ()), ("payload", "c", ())}),
    ("do { var e = payload.Email --- { mail: e } }", {("payload", "email", ("put:mail",))}),
    ("%dw 2.0\noutput application/json\nvar p = payload[0]\nfun pick(r) = r.Email\n---\npick(p)",
     {("payload", "email", ())}),
    ("payload ++ {extra: vars.x}", {("payload", "", ()), ("vars.x", "", ("put:extra",))}),
    ("root: payload.Name", {("payload", "name", ("put:root",))}),
    ("payload update { case .Email -> 'hidden' }", {("payload", "", ())}),
])
def test_plain_selectors_are_followed_field_by_field(src, expected):
    assert carried(src) == expected


@pytest.mark.parametrize("src, expected", [
    ("write(payload)", {("payload", "", ("collapse",))}),
    ("'Dear ' ++ payload.Name", {("payload", "name", ("collapse",))}),
    ('"Dear $(payload.Name)"', {("payload", "name", ("collapse",))}),
    ("payload.Amount as String", {("payload", "amount", ("collapse",))}),
    ("payload joinBy ', '", {("payload", "", ("collapse",))}),
    ("someModule::mystery(payload.Email)", {("payload", "email", ("collapse",))}),  # a function nobody described
    ("java!com::bank::Masker::mask(payload.Email)", {("payload", "email", ("collapse",))}),  # a Java static method
])
def test_values_turned_into_text_are_whole(src, expected):
    assert carried(src) == expected


@pytest.mark.parametrize("src", [
    "sizeOf(payload)", "isEmpty(vars.x)", "payload.Email == 'x'", "now()", "uuid()", "p('openai.key')",
    "payload.Email contains '@'", "typeOf(payload)", "'a constant'", "attributes.queryParams.q",
])
def test_values_that_carry_no_data(src):
    assert carried(src) == set()


def test_the_payload_alone_is_the_payload_with_its_structure():
    assert carried("payload") == {("payload", "", ())}
    assert carried("%dw 2.0\noutput application/json\n---\npayload") == {("payload", "", ())}


@pytest.mark.parametrize("src", [
    "payload.", "{ a: }", "payload map (x -> x", "'unterminated", "if (x) ", "payload ++ ++ vars.a", "#",
])
def test_what_cannot_be_read_raises_with_an_offset(src):
    with pytest.raises(dw.DataWeaveError) as caught:
        dw.parse(src)
    assert 0 <= caught.value.offset <= len(src)


def test_the_fallback_names_every_payload_and_variable_reference_as_a_whole_value():
    value = dw.mentions("payload[0].Email ++ ++ vars.client.IBAN__c // broken", PAYLOAD, var)
    assert {(f.ref.node, f.ref.path, f.ops[-1]) for f in value.flows} == {
        ("f#payload", ("email",), dw.SERIALIZED), ("f#vars.client", ("iban__c",), dw.SERIALIZED)}


def test_deep_nesting_and_huge_scripts_are_refused_not_crashed():
    with pytest.raises(dw.DataWeaveError, match="nested deeper"):
        dw.parse("(" * 5000 + "payload" + ")" * 5000)
    with pytest.raises(dw.DataWeaveError, match="nested deeper"):
        dw.parse("[" * 5000 + "]" * 5000)
    with pytest.raises(dw.DataWeaveError, match="longer than"):
        dw.parse("payload ++ " * 30_000 + "payload")
    nested = "%dw 2.0\nfun f(x) = f(x)\n---\nf(payload)"
    value = dw.Evaluator(PAYLOAD, var, lambda: dw.NOTHING).run(dw.parse(nested))  # bounded inlining
    assert value.flows


def test_header_directives_and_comments_are_skipped():
    src = """%dw 2.0
import * from dw::core::Strings
ns ns0 http://example.com/ns
output application/json skipNullOn="everywhere"
// a comment with payload.Secret
/* payload.Other */
---
{ id: payload.Id }"""
    assert carried(src) == {("payload", "id", ("put:id",))}
