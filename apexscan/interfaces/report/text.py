"""Plain-text report for terminals and CI logs, in the compiler style editors can jump to.

By default each finding is one short block: its location, level, rule and message on one line (the
line problem matchers read), then one representative path (the shortest): where the data is read,
and the files it passes through on the way to the sink, then the fix hint, then a blank line:

    force-app/main/default/classes/CaseSummarizer.cls:9:28: error[APX-LLM-001] Sensitive data reaches ...
        from force-app/main/default/triggers/CaseTrigger.trigger:3:5: Case.Description read from Trigger.new
        via CaseTriggerHandler.cls:12 → CaseSummarizer.cls:7 (1 of 2 paths; --paths shows every step)
        fix: Mask or drop the fields before the callout ... (apexscan rules APX-LLM-001)

    apexscan: 1 finding: 1 error, 0 warning, 0 note

With `paths`, every step of every witness path is listed instead, one per line, indented by four
spaces (every path ends at the sink), and no fix hint: the full listing of earlier versions.

Findings suppressed by an `apexscan:ignore` comment are left out and counted in the summary
(`; 1 suppressed`); with `show_suppressed` they are listed, tagged `[suppressed: reason]`. With a
baseline only the new findings are listed; the summary counts new, unchanged and absent ones. Scan
problems are not part of this report: `render_diagnostics` formats them for stderr.
"""
from __future__ import annotations

from collections.abc import Sequence

from apexscan.engine.model import Diagnostic, Finding, Step
from apexscan.interfaces.report import level_of, rule_of, sorted_findings
from apexscan.interfaces.report.visible import visible_line
from apexscan.pipeline.baseline import ABSENT, NEW, UNCHANGED, Comparison
from apexscan.salesforce.rules import LEVELS, Catalog

_RESET = "\033[0m"
_BOLD = "\033[1m"
_DIM = "\033[2m"
_FIX = "\033[32m"
_LEVEL_COLOR = {"error": "\033[1;31m", "warning": "\033[1;33m", "note": "\033[1;36m"}
_MAX_HOPS = 6  # files shown on the `via` line; the middle of a longer path is elided


def render_text(findings: Sequence[Finding], catalog: Catalog, diagnostics: Sequence[Diagnostic], *,
                color: bool = False, show_suppressed: bool = False,
                baseline: Comparison | None = None, paths: bool = False,
                focus: frozenset[str] | None = None, summary: bool = True) -> str:
    """Findings and a one-line summary; ANSI colours only when `color` is true. The representative
    path is the shortest one, among those passing through a file of `focus` when it is given (the
    files of a commit: the path that makes the finding this commit's business).

    The level counts of the summary are those of the findings that are not suppressed.
    `diagnostics` is accepted so every reporter has the same inputs; they are rendered by
    `render_diagnostics`, not here.
    """
    del diagnostics

    def paint(text: str, style: str) -> str:
        return f"{style}{text}{_RESET}" if color and style else text

    lines: list[str] = []
    for finding in sorted_findings(findings):
        if finding.suppression and not show_suppressed:
            continue
        if baseline is not None and baseline.state(finding) != NEW:
            continue
        level = level_of(finding, catalog)
        severity = paint(level, _LEVEL_COLOR.get(level, ""))
        tags = f"[suppressed: {_one_line(finding.suppression)}] " if finding.suppression else ""
        lines.append(f"{paint(_one_line(str(finding.location)), _BOLD)}: {severity}[{finding.rule_id}] "
                     f"{tags}{_one_line(finding.message)}")
        if paths:
            for path in finding.paths:
                for step in path:
                    lines.append(f"    {paint(_one_line(str(step.location)), _DIM)}: {_one_line(step.message)}")
            continue
        lines.extend(f"    {paint(line, _DIM)}" for line in _representative(finding, focus))
        rule = rule_of(finding, catalog)
        lines.append(f"    {paint('fix:', _FIX)} {_one_line(rule.fix_hint)} (apexscan rules {rule.id})")
        lines.append("")
    if summary:
        lines.append(summary_line(findings, catalog, baseline))
    elif lines and not lines[-1]:
        lines.pop()
    return "".join(f"{line}\n" for line in lines)


def summary_line(findings: Sequence[Finding], catalog: Catalog, baseline: Comparison | None = None) -> str:
    """`apexscan: 39 findings: 25 error, 11 warning, 3 note; 2 suppressed` (also printed on stderr
    when the report goes to a file). With a baseline the counts are those of the new findings, the
    ones listed and able to fail the run."""
    counts = dict.fromkeys(LEVELS, 0)
    suppressed = 0
    for finding in findings:
        if baseline is not None and baseline.state(finding) != NEW:
            continue
        if finding.suppression:
            suppressed += 1
        else:
            level = level_of(finding, catalog)
            counts[level] = counts.get(level, 0) + 1
    total = sum(counts.values())
    noun = "finding" if total == 1 else "findings"
    by_level = ", ".join(f"{counts[level]} {level}" for level in LEVELS)
    extra = "".join(f", {n} {level}" for level, n in counts.items() if level not in LEVELS)
    if suppressed:
        extra += f"; {suppressed} suppressed"
    if baseline is not None:
        extra += (f"; baseline: {baseline.count(NEW)} new, {baseline.count(UNCHANGED)} unchanged, "
                  f"{baseline.count(ABSENT)} absent")
    return f"apexscan: {total} {noun}: {by_level}{extra}"


def _representative(finding: Finding, focus: frozenset[str] | None) -> list[str]:
    """At most two lines for the shortest witness path: its source, and the files it crosses."""
    candidates = [path for path in finding.paths if path]
    if not candidates:
        return []
    focused = [p for p in candidates if focus and any(step.location.path in focus for step in p)]
    path = min(focused or candidates, key=len)
    if len(path) < 2:
        return []
    out = [f"from {_one_line(str(path[0].location))}: {_one_line(path[0].message)}"]
    rest = f"1 of {len(candidates)} paths; --paths shows every step" if len(candidates) > 1 \
        else "--paths shows every step"
    hops = _hops(path[1:-1])
    if hops:
        out.append(f"via {hops} ({rest})")
    elif len(candidates) > 1:
        out.append(f"({rest})")
    return out


def _hops(steps: Sequence[Step]) -> str:
    """The files a path passes through, in order, each with its lines: `A.cls:8,18 → b.js:4`."""
    hops: list[tuple[str, list[int]]] = []
    for step in steps:
        name = step.location.path.rsplit("/", 1)[-1]
        if hops and hops[-1][0] == name:
            if step.location.line not in hops[-1][1]:
                hops[-1][1].append(step.location.line)
        else:
            hops.append((name, [step.location.line]))
    shown = [f"{_one_line(name)}:{','.join(str(n) for n in numbers)}" for name, numbers in hops]
    if len(shown) > _MAX_HOPS:
        shown = [*shown[:_MAX_HOPS // 2], f"… {len(shown) - _MAX_HOPS + 1} more files …",
                 *shown[-(_MAX_HOPS // 2 - 1):]]
    return " → ".join(shown)


def render_diagnostics(diagnostics: Sequence[Diagnostic]) -> str:
    """One `path:line: stage: message` line per scan problem (for stderr); "" when there are none."""
    lines = []
    for d in sorted(diagnostics, key=lambda d: (d.path, d.line, d.stage, d.message)):
        where = _one_line(d.path) or "apexscan"
        if d.path and d.line > 0:
            where = f"{where}:{d.line}"
        lines.append(f"{where}: {d.stage}: {_one_line(d.message)}")
    return "".join(f"{line}\n" for line in lines)


def _one_line(text: str) -> str:
    """One printable line: file names and messages come from the scanned project, so control,
    bidirectional and other invisible characters (a newline forging report lines, ESC driving the
    terminal, U+202E reversing a file name) are shown as `<U+XXXX>` (see report/visible.py)."""
    return visible_line(text)
