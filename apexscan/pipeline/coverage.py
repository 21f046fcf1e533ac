"""Fail closed: a file apexscan should have analysed and did not is a finding, not a footnote.

A frontend, the file reader or discovery marks such a problem with `Diagnostic.not_analysed`
(see its docstring in engine/model.py), or gives it the stage `LIMIT` (engine/limits.py: a file
over a resource bound). Each becomes an APX-SCAN-001 finding at the file, at
error level when the whole file (or folder) was skipped and at warning level when tree-sitter
recovered from a syntax error and only part of it was; the gate (`--fail-on`) then sees what a
repository could otherwise hide by making a file unreadable, unparsable or too deep to analyse.

The finding is suppressed like any other, with a reason, but by a comment anywhere in the file
(`apexscan:ignore APX-SCAN-001 reason`), since a file that cannot be parsed has no reliable line
to hang it on; a file that is never deployed is better listed in `.forceignore`.
"""
from __future__ import annotations

from collections.abc import Iterable

from apexscan.engine.limits import LIMIT
from apexscan.engine.model import Destination, Diagnostic, Finding, Location, Verdict
from apexscan.pipeline.fingerprints import CONTEXT_KEY

RULE_ID = "APX-SCAN-001"
NOT_SCANNED = Destination("", "", "", "", "", Verdict.NOT_LLM, "not analysed")


def not_analysed_findings(diagnostics: Iterable[Diagnostic]) -> list[Finding]:
    """One APX-SCAN-001 finding per diagnostic that says a file, or part of it, was not analysed."""
    findings = []
    for d in diagnostics:
        if not skipped(d):
            continue
        reason = d.message.removesuffix("; not analysed")
        message = f"Partly analysed: {reason}." if d.partly else \
            f"Not analysed: {reason}; a leak in it would not be reported."
        findings.append(Finding(
            rule_id=RULE_ID,
            location=Location(d.path or ".", max(d.line, 1), 1),  # "": the project as a whole
            message=message,
            destination=NOT_SCANNED,
            level="warning" if d.partly else "",
            # fingerprint: the file and whether all or part of it was skipped, not the line or the
            # wording of the reason, so a baseline keeps matching while the cause stays the same
            extra=((CONTEXT_KEY, "partly analysed" if d.partly else "not analysed"),),
        ))
    return findings


def reported_separately(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """The diagnostics a report lists besides its findings: those not already an APX-SCAN-001
    finding (text on stderr and the editor would otherwise say the same thing twice)."""
    return tuple(d for d in diagnostics if not skipped(d))


def skipped(d: Diagnostic) -> bool:
    """Whether the diagnostic says a file (or part of it, or of the project) was not analysed."""
    return d.not_analysed or d.stage == LIMIT
