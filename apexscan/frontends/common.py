"""Small pieces of fact-building that several frontends share (Apex, LWC/Aura, Flow, prompt templates).

Tree-walking helpers live with the visitor (`visitor.py`); these work on values and text.
"""
from __future__ import annotations

import re

from apexscan.engine.facts import Inflow, Ref, StrExpr

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


# A backslash escape in a string literal: \uXXXX, \xHH (JavaScript only), or one character, which
# the language's table maps (any other escaped character stands for itself).
ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|.)", re.DOTALL)
APEX_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
JS_ESCAPES = {**APEX_ESCAPES, "v": "\v", "0": "\0"}


def unescape_apex(body: str) -> str:
    """The text an Apex string literal's body (quotes removed) stands for."""
    return _unescape(body, APEX_ESCAPES, hex_x=False)


def unescape_js(body: str) -> str:
    """The text a JavaScript string literal's body (quotes removed) stands for."""
    return _unescape(body, JS_ESCAPES, hex_x=True)


def _unescape(body: str, escapes: dict[str, str], hex_x: bool) -> str:
    if "\\" not in body:
        return body

    def one(m: re.Match) -> str:
        code = m.group(1)
        if code[0] == "u" and len(code) == 5 or hex_x and code[0] == "x" and len(code) == 3:
            return chr(int(code[1:], 16))
        return escapes.get(code[0], code[0]) + code[1:]

    return ESCAPE.sub(one, body)
