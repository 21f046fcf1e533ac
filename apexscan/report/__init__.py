"""Reporters: findings + catalog (+ diagnostics) -> a document, returned, never written or printed.

* `apexscan.report.sarif`       SARIF 2.1.0 for GitHub code scanning (`render_sarif`, `dumps_sarif`)
* `apexscan.report.text`        one line per finding and per path step (`render_text`,
                                `render_diagnostics`)
* `apexscan.report.json_report` a stable JSON document for scripts (`render_json`)

All of them list findings in the order given by `sorted_findings`, so every format agrees.
"""
from __future__ import annotations

from collections.abc import Iterable

from ..model import Finding
from ..rules import Catalog, Rule

LEVEL_RANK = {"error": 0, "warning": 1, "note": 2, "none": 3}


def finding_order(finding: Finding) -> tuple:
    """Sort key: file, line, column, rule, then everything else so that the order is total."""
    loc = finding.location
    return (
        loc.path, loc.line, loc.col, finding.rule_id, loc.end_line, loc.end_col,
        finding.destination.host, finding.destination.url, finding.message,
        tuple(str(ref) for ref, _ in finding.fields), finding.confidence, finding.level,
        tuple(tuple((step.location, step.message) for step in path) for path in finding.paths),
        finding.extra,
    )


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=finding_order)


def level_of(finding: Finding, catalog: Catalog) -> str:
    """The finding's own level when it overrides the rule's, else the rule's default level."""
    return finding.level or rule_of(finding, catalog).level


def rule_of(finding: Finding, catalog: Catalog) -> Rule:
    """The catalog rule of a finding; a finding for an id the catalog lacks is a programming error."""
    if finding.rule_id not in catalog:
        raise ValueError(f"finding at {finding.location} uses unknown rule {finding.rule_id!r}")
    return catalog[finding.rule_id]
