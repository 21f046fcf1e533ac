"""How much of one input apexscan agrees to analyse: every resource bound, in one place.

The scanned repository is hostile, so every stage whose cost grows with its input is bounded here,
by counts that do not depend on the machine (bytes, parser steps, syntax nodes, nesting), so that
two runs on any two machines analyse exactly the same files. A file over a bound is not analysed, and says so:
a `Diagnostic` with the stage `LIMIT` (never a silent skip), which the gate reports as a file not
analysed. The figures behind each bound are in the README ("Resource bounds") and are measured by
`benchmarks/bench_shapes.py`.

`LIMITS` is the one instance the pipeline uses; tests pass a smaller `Limits` where a stage takes one.
"""
from __future__ import annotations

from dataclasses import dataclass

LIMIT = "limit"  # the Diagnostic stage of a file (or part of the project) left out by a bound


@dataclass(frozen=True, slots=True)
class Limits:
    # Any file larger is not read at all (metadata XML, flows, templates, markup).
    file_bytes: int = 20_000_000
    # Source parsed by tree-sitter (Apex, JavaScript): its tree alone takes up to 240 bytes of memory
    # per byte of dense source (`((((`), so a larger file is not parsed.
    parse_bytes: int = 3_000_000
    # Work tree-sitter may do on one file, in its progress reports (one per hundred parser
    # operations): `parse_steps` plus `parse_steps_per_kb` per 1,000 bytes. Its error recovery is
    # super-linear on some broken input; ordinary code needs about 10 reports per KB, the densest
    # valid code 50 (MetadataService.cls: 8,300 for 1 MB), so only such input reaches the bound.
    parse_steps: int = 50_000
    parse_steps_per_kb: int = 100
    # Syntax nodes of one parsed file (tree-sitter nodes, or XML elements): what the facts, the
    # graph and the searches grow with (up to 0.6 KB of memory per node in the densest code).
    # MetadataService.cls (apex-mdapi, 1 MB, the largest Apex class we know of) has 277,000.
    syntax_nodes: int = 1_000_000
    # Expressions or blocks nested deeper than this are not lowered (Python frames; each costs
    # stack in the big-stack thread of frontends/parsing.run_deep).
    nesting: int = 200_000
    # Tuples nested in one string expression (an endpoint being built: choices, maps): a deeper
    # part becomes unknown (about 50 ternaries in a row; an endpoint never needs more than a few).
    string_nesting: int = 100
    # Alternatives kept in one string choice (`a ? b : c ? d : ...` is one choice); more are one unknown.
    string_choices: int = 64
    # .forceignore: a larger file, or more patterns, is not honoured (everything is scanned).
    ignore_bytes: int = 1_000_000
    ignore_patterns: int = 10_000
    # Folders and files one scan walks; the rest of a larger tree is not analysed.
    walk_entries: int = 2_000_000
    # One language-server message (a didOpen carries a whole file); a larger one is skipped.
    lsp_message_bytes: int = 64_000_000
    lsp_header_bytes: int = 8_192


LIMITS = Limits()


def megabytes(size: int) -> str:
    """A size for messages: 20000000 -> "20 MB", 2500000 -> "2.5 MB", 64000 -> "64 KB", 500 -> "500 bytes"."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f}".removesuffix(".0") + " MB"
    if size >= 10_000:
        return f"{size / 1000:.0f} KB"
    return f"{size:,} bytes"
