"""Stable identities for findings.

Two fingerprints, for two consumers:

* `line_hash` is GitHub code scanning's `primaryLocationLineHash`, computed exactly as
  github/codeql-action `src/fingerprints.ts` does when `upload-sarif` fills it in itself: a rolling
  hash (base 37, 64-bit wrap-around) over the first 100 characters from the start of the line,
  skipping spaces and tabs and reading CR and CRLF as LF, written "<hex>:<n>" where n is 1 for the
  first line of the file with that hash, 2 for the second, and so on. Computing it ourselves keeps
  alerts matched across uploads made outside Actions (REST API, other CI).
* `finding_fingerprint` is apexscan's own id of a finding (SARIF `apexscan/v1`, baselines): a
  sha256 of what the finding is about (rule, file, destination host, fields, enclosing context),
  never of its line, so edits elsewhere in the file do not change it.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

from apexscan.engine.model import Finding

_BLOCK_SIZE = 100
_MOD = 37
_MASK = (1 << 64) - 1
_FIRST_MOD = pow(_MOD, _BLOCK_SIZE, 1 << 64)
_TAB, _SPACE, _LF, _CR = 9, 32, 10, 13
_EOF = 65535

FINGERPRINT_VERSION = "apexscan/v1"
CONTEXT_KEY = "context"  # Finding.extra key naming the sink's enclosing method, e.g. "LlmClient.ask"
# Finding.extra key: the folder of the finding's SFDX project, relative to the report root, when
# paths are reported from a folder above it (the repository root). The fingerprint hashes the path
# within the project, so it is the same whichever folder the scan was started from.
PROJECT_KEY = "project"


def _utf16_units(text: str) -> Iterator[int]:
    """The text as JavaScript sees it (`charCodeAt`): UTF-16 code units."""
    for char in text:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            yield 0xD800 + (code >> 10)
            yield 0xDC00 + (code & 0x3FF)
        else:
            yield code


def line_hashes(text: str) -> tuple[str, ...]:
    """`primaryLocationLineHash` of every line: element i belongs to line i + 1.

    `text` is the file decoded as UTF-8 (keep a BOM as U+FEFF, as Node does); universal-newline
    decoding is fine since CR, LF and CRLF hash alike. Like codeql-action, a file that ends with a
    newline has one more (empty) line than it has newline characters, and "" has one line.
    """
    window = [0] * _BLOCK_SIZE
    line_numbers = [-1] * _BLOCK_SIZE
    hashes: list[str] = []
    counts: dict[str, int] = {}
    state = 0
    index = 0
    line_number = 0
    line_start = True
    prev_cr = False

    def output() -> None:
        value = format(state, "x")
        counts[value] = counts.get(value, 0) + 1
        # Lines come out in order, each exactly once.
        hashes.append(f"{value}:{counts[value]}")
        line_numbers[index] = -1

    def update(current: int) -> None:
        nonlocal state, index
        begin = window[index]
        window[index] = current
        state = (_MOD * state + current - _FIRST_MOD * begin) & _MASK
        index = (index + 1) % _BLOCK_SIZE

    def process(current: int) -> None:
        nonlocal prev_cr, line_start, line_number
        if current in (_SPACE, _TAB) or (prev_cr and current == _LF):
            prev_cr = False
            return
        if current == _CR:
            current = _LF
            prev_cr = True
        else:
            prev_cr = False
        if line_numbers[index] != -1:
            output()
        if line_start:
            line_start = False
            line_number += 1
            line_numbers[index] = line_number
        if current == _LF:
            line_start = True
        update(current)

    for unit in _utf16_units(text):
        process(unit)
    process(_EOF)
    for _ in range(_BLOCK_SIZE):
        if line_numbers[index] != -1:
            output()
        update(0)
    return tuple(hashes)


def line_hash(text_of_file: str, line: int) -> str:
    """GitHub's `primaryLocationLineHash` of 1-based `line`; "" when the file has no such line."""
    hashes = line_hashes(text_of_file)
    return hashes[line - 1] if 1 <= line <= len(hashes) else ""


def finding_fingerprint(finding: Finding) -> str:
    """A stable id (32 hex digits) of what a finding is about, independent of line and column.

    Inputs: fingerprint version, rule id, file path within its SFDX project, destination host (or "unresolved"), the
    lower-cased Object.Field names that reach the sink, and the sink's enclosing context when the
    engine records it as `Finding.extra` key "context". Two findings of the same rule, file, host
    and fields without a context share a fingerprint; consumers that need them apart count
    occurrences (as GitHub does for line hashes).
    """
    extra = dict(finding.extra)
    context = extra.get(CONTEXT_KEY, "")
    path, project = finding.location.path, extra.get(PROJECT_KEY, "")
    if project and path.startswith(project + "/"):
        path = path[len(project) + 1:]
    if project:  # a context naming a file (a Data Loader process's folder) names it within the project too
        context = re.sub(rf"(^|[\s(]){re.escape(project)}/", r"\1", context)
    fields = sorted({f"{ref.object}.{ref.field}".lower() for ref, _ in finding.fields})
    payload = json.dumps(
        [FINGERPRINT_VERSION, finding.rule_id, path,
         finding.destination.host or "unresolved", fields, context],
        ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("ascii")).hexdigest()[:32]
