"""Mule attribute and text values: `${key}` property placeholders and `#[...]` DataWeave expressions.

A value as written in Mule XML is literal text in which `${key}` is replaced at deployment from the
app's properties, and which may be (or contain) `#[...]` expressions evaluated at run time.
"""
from __future__ import annotations

import re

from apexscan.engine.facts import StrExpr

PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}")
SECURE = "secure::"
WHAT = "Mule property"


def expression_segments(text: str) -> list[tuple[str, str, int]]:
    """The parts of a value: ("lit", text, offset) and ("expr", DataWeave source, offset) for each
    `#[...]` (brackets inside the expression, and inside its strings, are matched)."""
    stripped = text.strip()
    if stripped.startswith("#[") and stripped.endswith("]") and "#[" not in stripped[2:]:
        at = text.index("#[") + 2  # the whole value is one expression (regexes may hold quotes)
        return [("expr", stripped[2:-1], at)]
    out: list[tuple[str, str, int]] = []
    i, start, n = 0, 0, len(text)
    while i < n:
        if text.startswith("#[", i):
            depth, j, quote = 1, i + 2, ""
            while j < n and depth:
                ch = text[j]
                if quote:
                    if ch == "\\":
                        j += 1
                    elif ch == quote:
                        quote = ""
                elif ch in "\"'`":
                    quote = ch
                elif ch == "[":
                    depth += 1
                elif ch == "]":
                    depth -= 1
                j += 1
            if depth:  # unterminated: the rest is the expression
                j = n + 1
            if i > start:
                out.append(("lit", text[start:i], start))
            out.append(("expr", text[i + 2:j - 1], i + 2))
            i = start = min(j, n)
            continue
        i += 1
    if start < n:
        out.append(("lit", text[start:], start))
    return out


def is_expression(text: str) -> bool:
    return "#[" in text


def blank_placeholders(source: str) -> str:
    """DataWeave source with each `${key}` replaced by underscores of the same length (Mule replaces
    placeholders before the expression is compiled; offsets stay right)."""
    return PLACEHOLDER.sub(lambda m: "_" * len(m.group()), source)


def string_expr(text: str, path: str) -> StrExpr:
    """A value as a symbolic string (engine/facts.py StrExpr): literal parts, `${key}` as
    ("config", path, key, (), "Mule property"), `${secure::key}` and `#[...]` as unknown parts."""
    out: list[tuple] = []
    for kind, part, _ in expression_segments(text):
        if kind == "expr":
            out.append(("unknown", f"#[{part.strip()}]"))
            continue
        at = 0
        for m in PLACEHOLDER.finditer(part):
            if m.start() > at:
                out.append(("lit", part[at:m.start()]))
            key = m.group(1).strip()
            if key.startswith(SECURE):
                out.append(("unknown", f"secure property {key[len(SECURE):]}"))
            else:
                out.append(("config", path, key, (), WHAT))
            at = m.end()
        if at < len(part):
            out.append(("lit", part[at:]))
    return tuple(out)


def literal(expr: StrExpr) -> str | None:
    """The text of an expression made of literal parts only, else None."""
    if all(p[0] == "lit" for p in expr):
        return "".join(p[1] for p in expr)
    return None
