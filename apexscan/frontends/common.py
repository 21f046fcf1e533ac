"""Small pieces of fact-building that several frontends share (Apex, LWC/Aura, Flow, prompt templates).

Tree-walking helpers live with the visitor (`visitor.py`); these work on values and text.
"""
from __future__ import annotations

import re

from ..facts import Inflow, Ref, StrExpr

CONCAT = ("collapse", "concatenated")  # the second item only words the path message

# A merge field, `{!Get_Case.Description}` in a Flow value, `{!$Input:Account.Name}` in a prompt
# template. No braces inside: linear even on an unclosed `{!`.
MERGE_FIELD = re.compile(r"\{!([^{}]*)\}")


def get_field(inflows: tuple[Inflow, ...], field_name: str, text: str) -> tuple[Inflow, ...]:
    """`value.field`: one more step on the path of a plain reference, a `get` after any other op."""
    out = []
    for i in inflows:
        if not i.ops:
            out.append(Inflow(Ref(i.ref.node, i.ref.type, i.ref.path + (field_name,)), (), text))
        else:
            out.append(Inflow(i.ref, i.ops + (("get", field_name),), text))
    return tuple(out)


def all_unknown(s: StrExpr) -> bool:
    """Whether a string expression names nothing (then it is not worth a StrDef)."""
    for part in s:  # (a plain loop: this runs for every assignment)
        if part[0] != "unknown":
            return False
    return True


ESCAPE = re.compile(r"\\(.)")
# What a backslash escape stands for in a string literal; any other escaped character stands for
# itself. Both tables are partial: Apex's \r, \b, \f and JavaScript's \b, \f, \v, \xHH, \uHHHH
# are still read as the bare letter (decoding them would change the strings endpoints are made of).
APEX_ESCAPES = {"n": "\n", "t": "\t"}
JS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def unescape(body: str, escapes: dict[str, str]) -> str:
    """The text a string literal's body (quotes removed) stands for."""
    if "\\" not in body:
        return body
    return ESCAPE.sub(lambda m: escapes.get(m.group(1), m.group(1)), body)
