"""Plain-text report for terminals and CI logs, in the compiler style editors can jump to.

    force-app/main/default/classes/LlmClient.cls:42:9: error[APX-LLM-001] Sensitive data reaches ...
        force-app/main/default/triggers/CaseTrigger.trigger:3:5: Case.Description read from Trigger.new
        force-app/main/default/classes/LlmClient.cls:42:9: sent by Http.send to api.openai.com (...)
    apexscan: 1 finding: 1 error, 0 warning, 0 note

Each finding is one line, followed by the steps of each of its witness paths, one per line,
indented by four spaces (every path ends at the sink). Scan problems are not part of this report:
`render_diagnostics` formats them for stderr.

Findings suppressed by an `apexscan:ignore` comment are left out and counted in the summary
(`; 1 suppressed`); with `show_suppressed` they are listed, tagged `[suppressed: reason]`. With a
baseline, findings it already had are tagged `[unchanged]` and the summary counts new, unchanged
and absent ones.
"""
from __future__ import annotations

from collections.abc import Sequence

from apexscan.engine.model import Diagnostic, Finding
from apexscan.interfaces.report import level_of, sorted_findings
from apexscan.interfaces.report.visible import visible_line
from apexscan.pipeline.baseline import ABSENT, NEW, UNCHANGED, Comparison
from apexscan.salesforce.rules import LEVELS, Catalog

_RESET = "\033[0m"
_BOLD = "\033[1m"
_DIM = "\033[2m"
_LEVEL_COLOR = {"error": "\033[1;31m", "warning": "\033[1;33m", "note": "\033[1;36m"}


def render_text(findings: Sequence[Finding], catalog: Catalog, diagnostics: Sequence[Diagnostic], *,
                color: bool = False, show_suppressed: bool = False,
                baseline: Comparison | None = None) -> str:
    """Findings, their paths and a one-line summary; ANSI colours only when `color` is true.

    The level counts of the summary are those of the findings that are not suppressed.

    `diagnostics` is accepted so every reporter has the same inputs; they are rendered by
    `render_diagnostics`, not here.
    """
    del diagnostics

    def paint(text: str, style: str) -> str:
        return f"{style}{text}{_RESET}" if color and style else text

    lines: list[str] = []
    counts = dict.fromkeys(LEVELS, 0)
    suppressed = 0
    for finding in sorted_findings(findings):
        level = level_of(finding, catalog)
        if finding.suppression:
            suppressed += 1
            if not show_suppressed:
                continue
        else:
            counts[level] = counts.get(level, 0) + 1
        severity = paint(level, _LEVEL_COLOR.get(level, ""))
        tags = ""
        if finding.suppression:
            tags += f"[suppressed: {_one_line(finding.suppression)}] "
        if baseline is not None and baseline.state(finding) == UNCHANGED:
            tags += "[unchanged] "
        lines.append(f"{paint(_one_line(str(finding.location)), _BOLD)}: {severity}[{finding.rule_id}] "
                     f"{tags}{_one_line(finding.message)}")
        for path in finding.paths:
            for step in path:
                lines.append(f"    {paint(_one_line(str(step.location)), _DIM)}: {_one_line(step.message)}")
    total = sum(counts.values())
    noun = "finding" if total == 1 else "findings"
    by_level = ", ".join(f"{counts[level]} {level}" for level in LEVELS)
    extra = "".join(f", {n} {level}" for level, n in counts.items() if level not in LEVELS)
    if suppressed:
        extra += f"; {suppressed} suppressed"
    if baseline is not None:
        extra += (f"; baseline: {baseline.count(NEW)} new, {baseline.count(UNCHANGED)} unchanged, "
                  f"{baseline.count(ABSENT)} absent")
    lines.append(f"apexscan: {total} {noun}: {by_level}{extra}")
    return "\n".join(lines) + "\n"


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
