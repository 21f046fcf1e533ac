"""Small pieces of fact-building that several frontends share (Apex, LWC/Aura, Flow, prompt templates).

Tree-walking helpers live with the visitor (`visitor.py`); these work on values and text.
"""
from __future__ import annotations

import re

from apexscan.engine.facts import Inflow, Ref, StrExpr
from apexscan.engine.limits import LIMITS

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


def bounded(expr: StrExpr, text: str, limit: int = LIMITS.string_nesting) -> StrExpr:
    """`expr`, or one unknown part when its tuples nest deeper than `limit`: a string choice or map
    built from thousands of nested ternaries or literals (`a ? b : c ? d : ...`) stays shallow for
    the cache, the endpoint resolver and everything else that walks it. Each call reads at most
    `limit` levels, and a part cut here is one tuple for the callers above: linear overall."""
    stack = [(expr, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return (("unknown", text),)
        for item in value:
            if type(item) is tuple:
                stack.append((item, depth + 1))
    return expr


def choice(branches: tuple[StrExpr, ...], text: str, most: int = LIMITS.string_choices) -> StrExpr:
    """`a ? b : c`, `a || b`: one ("choice", alternative, ...) part. A choice among the branches is
    spliced in, so a chain of 300 ternaries is one part of 301 alternatives, not 300 levels deep;
    past `most` alternatives the rest is one unknown alternative (so each level copies a bounded
    number: linear in the chain)."""
    alternatives: list[StrExpr] = []
    for branch in branches:
        if len(branch) == 1 and branch[0][0] == "choice":
            alternatives.extend(branch[0][1:])
        else:
            alternatives.append(branch)
    if len(alternatives) > most:
        alternatives[most - 1:] = [(("unknown", f"one of more than {most} alternatives of {text}"),)]
    return bounded((("choice", *alternatives),), text)


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
