"""Bytes -> tree-sitter tree, with every problem turned into a Diagnostic instead of an exception."""
from __future__ import annotations

import sys
import threading
from functools import lru_cache

from tree_sitter import Parser, Tree

from apexscan.engine.limits import LIMIT, LIMITS, Limits, megabytes
from apexscan.engine.model import Diagnostic

BOM = b"\xef\xbb\xbf"


@lru_cache(maxsize=None)
def parser_for(language: str) -> Parser:
    from tree_sitter_language_pack import get_parser  # grammars are bundled: no download

    return get_parser(language)


def parse(language: str, path: str, data: bytes,
          limits: Limits = LIMITS) -> tuple[Tree | None, bytes, tuple[Diagnostic, ...]]:
    """Parse `data`; return (tree, the bytes parsed, diagnostics); tree is None when the file cannot be analysed at all.

    A syntax error elsewhere in a file still yields a tree: tree-sitter recovers, and the rest of
    the file is analysed (the error is reported so the user knows coverage is partial). A file over
    the parse or syntax-node bound is not analysed (a LIMIT diagnostic).
    """
    if len(data) > limits.parse_bytes:
        return None, data, (Diagnostic(path, LIMIT, f"file is {megabytes(len(data))}, over the "
                                       f"{megabytes(limits.parse_bytes)} limit for source code; not analysed"),)
    if data.startswith(BOM):
        data = data[len(BOM):]
    if not data.strip():
        return None, data, (Diagnostic(path, "parse", "empty file"),)
    if b"\x00" in data[:8192]:
        return None, data, (Diagnostic(path, "parse", "binary file, not source code", not_analysed=True),)
    diags: list[Diagnostic] = []
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        diags.append(Diagnostic(path, "read", f"not valid UTF-8 (byte {exc.start}); "
                                "analysed with the bad bytes replaced", line))
        data = data.decode("utf-8", "replace").encode("utf-8")
    steps = limits.parse_steps + len(data) * limits.parse_steps_per_kb // 1000
    tree = _parse_bounded(parser_for(language), data, steps)
    if tree is None:
        return None, data, tuple(diags) + (Diagnostic(path, LIMIT, f"parsing needs more than {steps:,} steps "
                                           "(tree-sitter's error recovery on this input); not analysed"),)
    root = tree.root_node
    if root.descendant_count > limits.syntax_nodes:
        return None, data, tuple(diags) + (Diagnostic(path, LIMIT, f"file has {root.descendant_count:,} syntax "
                                           f"nodes, over the {limits.syntax_nodes:,} limit; not analysed"),)
    if root.has_error:
        bad = _first_error(root)
        line = bad.start_point[0] + 1 if bad is not None else 0
        if not any(c.type != "ERROR" for c in root.named_children):
            return None, data, tuple(diags) + (Diagnostic(path, "parse", f"not {language.capitalize()} source "
                                                    "(nothing could be parsed)", line, not_analysed=True),)
        diags.append(Diagnostic(path, "parse", f"syntax error near line {line}; {_skipped(root)}", line,
                                not_analysed=True, partly=True))
    return tree, data, tuple(diags)


def _skipped(root) -> str:
    """What tree-sitter's error recovery left out, for the message ("lines 4-9 were not analysed,
    the rest of the file was")."""
    spans: list[tuple[int, int]] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "ERROR":
            spans.append((n.start_point[0] + 1, n.end_point[0] + 1))
        elif n.has_error:
            stack.extend(n.children)
    if not spans:
        return "a missing token was assumed, so the file may be read otherwise than it compiles"
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    shown = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in merged[:5])
    more = f" and {len(merged) - 5} more places" if len(merged) > 5 else ""
    plural = len(merged) > 1 or merged[0][0] != merged[0][1]
    return f"line{'s' if plural else ''} {shown}{more} {'were' if plural else 'was'} not analysed, the rest of the file was"
PARSE_CHUNK = 65536  # bytes handed to tree-sitter at a time


def _parse_bounded(parser: Parser, data: bytes, steps: int) -> Tree | None:
    """The tree, or None when tree-sitter needed more than `steps` progress reports (it makes one
    every hundred parser operations, so this is a count of work, the same on every machine). Its
    error recovery is quadratic or worse on some broken input (a phrase repeated inside a map
    literal: 54 KB in 3 s, 3 MB in hours), and its C parser cannot be interrupted otherwise."""
    view = memoryview(data)
    reports = 0

    def progress(_offset: int, _has_error: bool) -> bool:
        nonlocal reports
        reports += 1
        return reports > steps  # True: stop

    try:
        return parser.parse(lambda offset, _point: view[offset:offset + PARSE_CHUNK], progress_callback=progress)
    except ValueError:  # "Parsing failed": halted by `progress`
        parser.reset()  # the next parse starts afresh instead of resuming this one
        if reports <= steps:
            raise
        return None


def _first_error(root):
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            return n
        if n.has_error:
            stack.extend(reversed(n.children))
    return None


DEEP_STACK = 512 * 1024 * 1024  # bytes of C stack for a thread lowering very deep code
DEEP_RECURSION = LIMITS.nesting  # Python frames


def run_deep(fn):
    """Run `fn()` on a thread with a large stack and recursion limit: for the rare file whose
    expressions nest thousands deep (a 10,000-term concatenation). Returns fn's result; re-raises
    what it raised (RecursionError included, when even this is not enough)."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the calling thread below
            box["error"] = exc

    old_limit, old_size = sys.getrecursionlimit(), threading.stack_size()
    sys.setrecursionlimit(max(old_limit, DEEP_RECURSION))
    threading.stack_size(DEEP_STACK)
    try:
        worker = threading.Thread(target=target, name="apexscan-deep")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    if "error" in box:
        raise box["error"]
    return box["value"]
