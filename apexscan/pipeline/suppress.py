"""Inline suppressions: `// apexscan:ignore RULE-ID reason` comments, and the findings they excuse.

A finding is suppressed by a comment that names its rule and gives a reason, written

* on the finding's line (after the code), or alone on the line just above it;
* or, the same way, at the first step of its paths (where the data is read): a finding with
  several paths is suppressed only when every path starts at such a comment, so excusing one
  source never hides another one.

Apex and JavaScript files use `//` or `/* … */`; XML and HTML files use `<!-- … -->`; Python,
dotenv and Terraform files use `#`. Several
comments may be stacked above one line, and one comment may name several rules
(`apexscan:ignore APX-LLM-003, APX-LLM-004 reason`). A suppressed finding stays in the report with
`Finding.suppression` set to the reason (SARIF `suppressions`), and never fails the run.

APX-SCAN-001 (a file that could not be analysed) is the exception: a file that cannot be parsed has
no reliable line, so a comment naming it anywhere in the file suppresses it.

A comment that names no rule, an unknown rule or no reason, or that matches no finding, is itself
reported as a finding of rule APX-SUP-001 at the comment; a comment without a reason suppresses
nothing. APX-SUP-001 cannot be suppressed.

`collect` reads the files (only those that contain "apexscan:ignore" get a regex pass), `apply`
is pure: findings and suppressions in, findings out.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath, PureWindowsPath

from apexscan.engine.limits import LIMITS
from apexscan.engine.model import Destination, Finding, Location, Verdict, finding_order
from apexscan.pipeline import coverage
from apexscan.pipeline.fingerprints import CONTEXT_KEY
from apexscan.pipeline.project import Project
from apexscan.salesforce.rules import Catalog

RULE_ID = "APX-SUP-001"
# Findings no comment can excuse: a bad suppression itself, and a policy changed by the change under
# review (policyref.py), whose author also writes the comments.
UNSUPPRESSIBLE = frozenset({RULE_ID, "APX-SCAN-002"})
MARKER = "apexscan:ignore"
SUPPRESSED_AT = "suppressed_at"  # Finding.extra key: "path:line:col" of the comment that suppresses it

# Files whose comments are `<!-- -->` (lower-case suffixes); every other file uses `//` and `/* */`.
MARKUP_SUFFIXES = (".xml", ".html", ".htm", ".page", ".component", ".cmp", ".app", ".evt", ".design",
                   ".intf", ".tokens", ".flow", ".object", ".labels", ".remotesite", ".namedcredential")
# Files whose comments run from `#` to the end of the line (lower-case suffixes and names).
HASH_SUFFIXES = (".py", ".tf", ".env", ".sh", ".toml", ".yaml", ".yml")
_ENV_NAME = re.compile(r"(^|/)\.env(\.[\w.-]+)?$", re.IGNORECASE)

_AFTER = r"(?![\w:-])"  # "apexscan:ignored" or "apexscan:ignore-next" are not suppressions
_CODE_COMMENT = re.compile(r"(?P<open>//+|/\*+)[ \t]*apexscan:ignore" + _AFTER)
_MARKUP_COMMENT = re.compile(r"(?P<open><!--)[ \t]*apexscan:ignore" + _AFTER)
_HASH_COMMENT = re.compile(r"(?P<open>#+)[ \t]*apexscan:ignore" + _AFTER)
_CLOSERS = {"/": "*/", "<": "-->"}  # by the opener's first character; `//` ends at the line's end
_RULE = r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+"
_RULES = re.compile(rf"\s*(?P<ids>{_RULE}(?:\s*,\s*{_RULE})*)")
_PLACEHOLDER = re.compile(r"^<[^<>]*>$")  # a reason left as `<reason>` gives no reason
_BLOCK_LINE_START = re.compile(r"\n[ \t]*\*+(?!/)")  # the " * " that starts lines of a /* */ block

# Rules suppressed by a comment anywhere in the file: a file that could not be parsed has no line to trust.
FILE_WIDE_RULES = frozenset({coverage.RULE_ID})

NO_DESTINATION = Destination("", "", "", "", "", Verdict.NOT_LLM, "suppression comment")


@dataclass(frozen=True, slots=True, order=True)
class Suppression:
    """One `apexscan:ignore` comment."""

    location: Location  # the comment's opener (`//`, `/*` or `<!--`)
    rule_ids: tuple[str, ...]  # the rules it names, upper-cased, in written order; () when none
    reason: str  # the justification, on one line; "" when none was given
    lines: tuple[int, ...]  # the lines it covers: its own, and the next code line when it stands alone
    text: str  # the comment on one line without its delimiters ("apexscan:ignore APX-LLM-001 …")


# --- reading ---------------------------------------------------------------------------------------


def collect(root: Path, rels: Iterable[str]) -> tuple[Suppression, ...]:
    """The suppressions of the files `rels` (POSIX paths relative to `root`), in location order.

    A file that cannot be read is skipped: the scan has already reported it as a diagnostic.
    """
    found: list[Suppression] = []
    for rel in sorted(set(rels)):
        if not rel or PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).is_absolute():
            continue  # outside the project (a policy file given on the command line)
        try:
            with (root / rel).open("rb") as handle:
                data = handle.read(LIMITS.file_bytes + 1)
        except OSError:
            continue
        if len(data) > LIMITS.file_bytes:
            continue  # not analysed either: reported by the scan
        if MARKER.encode("ascii") in data:
            found.extend(read_suppressions(rel, data.decode("utf-8", errors="replace")))
    return tuple(found)


def read_suppressions(rel: str, text: str) -> tuple[Suppression, ...]:
    """The `apexscan:ignore` comments of one file (`rel` decides the comment syntax)."""
    if MARKER not in text:
        return ()
    lower = rel.lower()
    pattern = _MARKUP_COMMENT if lower.endswith(MARKUP_SUFFIXES) else \
        _HASH_COMMENT if lower.endswith(HASH_SUFFIXES) or _ENV_NAME.search(lower) else _CODE_COMMENT
    starts = [0] + [m.end() for m in re.finditer("\n", text)]  # offset of each line's first character

    def line_of(offset: int) -> int:
        return bisect_right(starts, offset)

    raw = []  # (location, body, end line, stands alone)
    for m in pattern.finditer(text):
        line = line_of(m.start())
        opener = m.group("open")
        line_end = text.find("\n", m.end())
        body_end = comment_end = len(text) if line_end == -1 else line_end
        if not opener.startswith(("//", "#")):
            closer = _CLOSERS[opener[0]]
            end = text.find(closer, m.end())
            if end != -1:  # an unterminated comment is read to the end of its line
                body_end, comment_end = end, end + len(closer)
        body = text[m.end():body_end]
        if opener.startswith("/*"):
            body = _BLOCK_LINE_START.sub(" ", body)
        alone = not text[starts[line - 1]:m.start()].strip()
        location = Location(rel, line, m.start() - starts[line - 1] + 1)
        raw.append((location, body, line_of(max(comment_end - 1, m.start())), alone))

    # Lines taken up by comments that stand alone: stacked comments all cover the code line below them.
    comment_lines = {n for loc, _, end_line, alone in raw if alone for n in range(loc.line, end_line + 1)}
    out = []
    for location, body, end_line, alone in raw:
        lines = set(range(location.line, end_line + 1))
        if alone:
            below = end_line + 1
            while below in comment_lines:
                below += 1
            lines.add(below)
        rule_ids, reason = _parse(body)
        text_one_line = " ".join(f"{MARKER} {body}".split())
        out.append(Suppression(location, rule_ids, reason, tuple(sorted(lines)), text_one_line))
    return tuple(out)


def _parse(body: str) -> tuple[tuple[str, ...], str]:
    """`APX-LLM-001, APX-LLM-004: reason` -> (("APX-LLM-001", "APX-LLM-004"), "reason")."""
    m = _RULES.match(body)
    if not m:
        return (), ""
    ids = tuple(dict.fromkeys(i.strip().upper() for i in m.group("ids").split(",")))
    reason = " ".join(body[m.end():].split()).lstrip(":-–—|").strip()
    if _PLACEHOLDER.match(reason):
        return ids, ""  # `<reason>`, as the editor's quick fix writes it, is still to be filled in
    return ids, reason if re.search(r"\w", reason) else ""


# --- applying --------------------------------------------------------------------------------------


def apply(findings: Sequence[Finding], suppressions: Sequence[Suppression],
          catalog: Catalog) -> tuple[Finding, ...]:
    """The findings with `suppression` set where a comment excuses them, plus one APX-SUP-001
    finding per comment that is malformed or matches nothing, in report order."""
    at: dict[tuple[str, int], list[Suppression]] = {}
    in_file: dict[str, list[Suppression]] = {}  # for the rules a comment anywhere in the file excuses
    for s in sorted(suppressions):
        for line in s.lines:
            at.setdefault((s.location.path, line), []).append(s)
        in_file.setdefault(s.location.path, []).append(s)
    used: dict[Suppression, set[str]] = {}

    def matching(location: Location, rule_id: str) -> list[Suppression]:
        near = in_file.get(location.path, ()) if rule_id in FILE_WIDE_RULES else at.get((location.path, location.line), ())
        hits = [s for s in near if rule_id in s.rule_ids]
        for s in hits:
            used.setdefault(s, set()).add(rule_id)
        return hits

    out = []
    for finding in findings:
        if finding.rule_id in UNSUPPRESSIBLE:
            out.append(finding)
            continue
        at_sink = [s for s in matching(finding.location, finding.rule_id) if s.reason]
        at_sources = [[s for s in matching(path[0].location, finding.rule_id) if s.reason]
                      for path in finding.paths if path]
        chosen = at_sink[0] if at_sink else \
            at_sources[0][0] if at_sources and all(at_sources) else None
        if chosen is not None:
            extra = tuple(sorted(dict(finding.extra, **{SUPPRESSED_AT: str(chosen.location)}).items()))
            finding = replace(finding, suppression=chosen.reason, extra=extra)
        out.append(finding)
    out.extend(problem for s in sorted(suppressions)
               if (problem := _problem(s, used.get(s, set()), catalog)) is not None)
    return tuple(sorted(out, key=finding_order))


def _problem(s: Suppression, used: set[str], catalog: Catalog) -> Finding | None:
    problems = []
    if not s.rule_ids:
        problems.append(f"names no rule: write `{MARKER} RULE-ID reason`, e.g. `{MARKER} APX-LLM-003 "
                        "the gateway is our EU proxy`")
    unknown = [r for r in s.rule_ids if r not in catalog]
    if len(unknown) == 1:
        problems.append(f"names {unknown[0]}, which is not an apexscan rule")
    elif unknown:
        problems.append(f"names {_joined(unknown, 'and')}, which are not apexscan rules")
    fixed = [r for r in s.rule_ids if r in UNSUPPRESSIBLE]
    if fixed:
        problems.append(f"names {_joined(fixed, 'and')}, which cannot be suppressed")
    if s.rule_ids and not s.reason:
        problems.append("gives no reason, so it suppresses nothing: write why the finding is acceptable "
                        "after the rule id")
    unused = [r for r in s.rule_ids if r in catalog and r not in UNSUPPRESSIBLE and r not in used]
    near = [r for r in unused if r not in FILE_WIDE_RULES]
    if near:
        problems.append(f"matches no {_joined(near, 'or')} finding on its line, on the line below it, "
                        "or at the start of a finding's path")
    if len(near) < len(unused):
        problems.append(f"matches no {_joined([r for r in unused if r in FILE_WIDE_RULES], 'or')} finding "
                        "in its file")
    if not problems:
        return None
    return Finding(
        rule_id=RULE_ID,
        location=s.location,
        message=f"Invalid suppression `{_shorten(s.text)}`: it " + "; it ".join(problems) + ".",
        destination=NO_DESTINATION,
        extra=((CONTEXT_KEY, s.text),),  # fingerprint: the comment itself, wherever it moves
    )


def suppression_location(finding: Finding) -> Location | None:
    """Where the comment that suppresses `finding` is, or None when it is not suppressed."""
    where = dict(finding.extra).get(SUPPRESSED_AT, "")
    path, _, rest = where.rpartition(":")
    path, _, line = path.rpartition(":")
    if not path or not line.isdigit() or not rest.isdigit():
        return None
    return Location(path, int(line), int(rest))


def apply_in_project(project: Project, findings: Sequence[Finding], catalog: Catalog) -> tuple[Finding, ...]:
    """`apply` with the comments of every scanned file and of every file a finding passes through."""
    rels = {f.rel for f in project.files} | referenced_paths(findings)
    return apply(findings, collect(project.root, rels), catalog)


def referenced_paths(findings: Iterable[Finding]) -> set[str]:
    """Every file a finding points at: its location and each step of its paths."""
    return {loc.path for f in findings
            for loc in (f.location, *(step.location for path in f.paths for step in path))}


def _joined(items: Sequence[str], word: str) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} {items[-1]}"


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
