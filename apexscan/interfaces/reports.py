"""What `apexscan scan` reports: the documents one scan is rendered into, returned as text.

`Outcome` is a finished scan as the reports see it: findings and diagnostics with paths relative
to the report root, the baseline comparison, and the workspace (which policy each project used).
`render` turns it into one format; `policy_lines` and `invocation_properties` say which policy
applied, for standard error and for SARIF. Writing files and printing is the CLI's business.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from apexscan import __version__
from apexscan.engine.model import Diagnostic, Finding
from apexscan.interfaces.report.json_report import render_json
from apexscan.interfaces.report.sarif import dumps_sarif, render_sarif
from apexscan.interfaces.report.summary import render_step_summary
from apexscan.interfaces.report.text import render_text
from apexscan.pipeline.baseline import Comparison
from apexscan.pipeline.workspace import Unit, Workspace, display_path
from apexscan.salesforce.rules import Catalog

FORMATS = ("text", "sarif", "json")


@dataclass(frozen=True, slots=True)
class Outcome:
    workspace: Workspace
    findings: tuple[Finding, ...]  # report-relative paths, suppressions applied, narrowed
    diagnostics: tuple[Diagnostic, ...]
    comparison: Comparison | None


@dataclass(frozen=True, slots=True)
class TextOptions:
    color: bool = False
    show_suppressed: bool = False
    paths: bool = False
    focus: frozenset[str] | None = None  # the selected files (--staged, --changed-files ...)
    summary: bool = True  # end with the summary line (not with --quiet)


def render(fmt: str, outcome: Outcome, catalog: Catalog, *, text: TextOptions = TextOptions(),
           category: str | None = None) -> str:
    if fmt == "sarif":
        root = outcome.workspace.report_root
        return dumps_sarif(render_sarif(
            outcome.findings, catalog, outcome.diagnostics, tool_version=__version__, source_root=root,
            file_texts=file_texts(root, outcome.findings), baseline=outcome.comparison, category=category,
            invocation_properties=invocation_properties(outcome.workspace)))
    if fmt == "json":
        return render_json(outcome.findings, catalog, outcome.diagnostics, baseline=outcome.comparison)
    return render_text(outcome.findings, catalog, outcome.diagnostics, color=text.color,
                       show_suppressed=text.show_suppressed, baseline=outcome.comparison, paths=text.paths,
                       focus=text.focus, summary=text.summary)


def step_summary(outcome: Outcome, catalog: Catalog) -> str:
    return render_step_summary(outcome.findings, catalog, policies=policy_lines(outcome.workspace),
                               baseline=outcome.comparison)


def policy_lines(workspace: Workspace) -> list[str]:
    """One line per project: which policy file it was scanned with, or that the defaults were."""
    units = workspace.units
    return [(f"{_project_name(unit)}: " if len(units) > 1 else "") + _policy_text(unit, workspace.report_root)
            for unit in units]


def invocation_properties(workspace: Workspace) -> dict:
    """SARIF `invocations[0].properties`: the projects scanned and the policy of each."""
    return {"projects": [{
        "root": unit.prefix or ".",
        "policy": unit.trusted.source if unit.trusted is not None else
        display_path(unit.choice.path, workspace.report_root) if unit.choice.path else "",
        "policySource": "--policy-ref" if unit.trusted is not None else unit.choice.source,
    } for unit in workspace.units]}


def _policy_text(unit: Unit, root: Path) -> str:
    if unit.trusted is not None:
        text = f"policy from {unit.trusted.source} (--policy-ref)"
        if unit.trusted.changes:
            text += f"; the working tree's differs (APX-SCAN-002): {'; '.join(unit.trusted.changes)}"
        return text
    if unit.choice.path is None:
        return "policy: built-in defaults (no apexscan.toml at the project root, the repository root or " \
               "the current folder)"
    return f"policy: {display_path(unit.choice.path, root)} ({unit.choice.source})"


def _project_name(unit: Unit) -> str:
    return unit.prefix or "."


def file_texts(root: Path, findings: Sequence[Finding]) -> dict[str, str]:
    """The text of each file a finding is in, for GitHub's line hashes ("" when unreadable)."""
    texts = {}
    for f in findings:
        rel = f.location.path
        if rel not in texts:
            try:
                texts[rel] = (root / rel).read_text("utf-8", errors="replace")
            except OSError:
                texts[rel] = ""
    return texts

