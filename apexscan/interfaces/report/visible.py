"""Text a human reads, made safe from the characters a hostile repository can put in it.

File names, messages and code excerpts come from the scanned project. In a terminal, an editor's
problem list or a rendered pull-request comment, some characters change what a reader sees without
being seen themselves (Trojan Source, CVE-2021-42574): bidirectional overrides and isolates
(U+202A-U+202E, U+2066-U+2069) and marks (U+200E, U+200F, U+061C) reorder what follows, so
`Leak\u202eslc.cls` reads as `Leakscl.cls`; zero-width and other format characters hide text;
C0 and C1 controls (a newline that forges a report line, ESC that drives the terminal) and lone
surrogates (a file name that is not UTF-8) do worse. `visible` shows each of them as `<U+XXXX>`
instead, so a reader sees that something is there and what it is; everything else, the letters of
every script included, is kept. Machine formats (SARIF, JSON) keep the exact text instead.
"""
from __future__ import annotations

import re
import unicodedata

# Categories shown as code points: controls (Cc), format characters (Cf: bidi controls,
# zero-width spaces and joiners, BOM...), surrogates (Cs), private use (Co), unassigned (Cn), and
# line and paragraph separators (Zl, Zp), which break a line like a newline does.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_PLAIN = re.compile(r"[\t\x20-\x7e]*")  # most text is printable ASCII: nothing to look at


def visible(text: str, *, keep_tab: bool = True, markup: bool = False) -> str:
    """`text` with every invisible or layout-changing character shown as `<U+XXXX>` (tab kept,
    unless `keep_tab` is false); with `markup`, as `&lt;U+XXXX&gt;`, for Markdown or HTML that is
    otherwise escaped already."""
    if _PLAIN.fullmatch(text) and (keep_tab or "\t" not in text):
        return text
    shown = "&lt;U+{:04X}&gt;" if markup else "<U+{:04X}>"
    return "".join(shown.format(ord(c)) if _hidden(c) and not (keep_tab and c == "\t") else c for c in text)


def visible_line(text: str) -> str:
    """`visible`, on one line: runs of whitespace (tabs included) become one space."""
    return " ".join(visible(text).split())


def _hidden(c: str) -> bool:
    return unicodedata.category(c) in _HIDDEN
