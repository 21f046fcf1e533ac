"""A stable JSON report for scripts (`schema_version` 1), described by the JSON Schema shipped next
to this module (`json_report.schema.json`, printed by `apexscan schema json`).

Compatible changes (new keys) keep schema_version 1; renaming or removing a key, or changing a
value's meaning, bumps it. Every key is always present (empty string, 0 or [] when unknown), and
findings come in the same order as in the SARIF and text reports (file, line, column, rule).

    {
      "schema_version": 1,
      "summary": {"findings": 2, "error": 1, "warning": 1, "note": 0, "suppressed": 0,
                  "diagnostics": 1, "baseline": {}},
                                                   # findings counts every finding, the levels only
                                                   # those not suppressed; baseline is {} without
                                                   # --baseline, else {"new": n, "unchanged": n,
                                                   # "absent": n}
      "findings": [
        {
          "rule": "APX-LLM-001",                  # rule id
          "rule_name": "sensitive-data-to-foreign-llm",
          "level": "error",                        # the finding's level, else the rule's default
          "security_severity": "8.5",              # GitHub score of the rule, a string
          "confidence": "high",                    # high / medium / low
          "message": "Sensitive data reaches ...",
          "fingerprint": "3f1c...",                # apexscan/v1: stable across edits elsewhere in the file
          "location": {"path": "force-app/.../LlmClient.cls", "line": 42, "col": 9,
                       "end_line": 0, "end_col": 0},   # 1-based; 0 = unknown
          "destination": {"url": "...", "host": "api.openai.com", "provider": "OpenAI",
                          "jurisdiction": "US", "region": "global",
                          "verdict": "foreign",    # sovereign / foreign / unknown / not-llm / in-org
                          "how": "named credential OpenAI", "evidence": [], "note": ""},
          "fields": [{"field": "Contact.Email", "object": "Contact", "name": "Email",
                      "sensitivity": "sensitive", "category": "personal", "reason": "catalog"}],
          "paths": [[{"path": "...", "line": 3, "col": 5, "message": "Contact.Email read by SOQL"}, ...]],
          "extra": {},                             # engine-specific stable key/values
          "suppression": {},                       # {"justification": "...", "location": {...}}
                                                   # when an apexscan:ignore comment excuses it
          "baseline_state": ""                     # "new" / "unchanged" with --baseline, else ""
        }
      ],
      "diagnostics": [{"path": "force-app/.../Broken.cls", "line": 7, "stage": "parse",
                       "message": "syntax error"}]
    }
"""
from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from apexscan.engine.model import Diagnostic, Finding, Location
from apexscan.interfaces.report import dumps_json, level_of, rule_of, sorted_findings
from apexscan.pipeline.baseline import ABSENT, NEW, UNCHANGED, Comparison
from apexscan.pipeline.fingerprints import finding_fingerprint
from apexscan.pipeline.suppress import SUPPRESSED_AT, suppression_location
from apexscan.salesforce.rules import LEVELS, Catalog, Rule

SCHEMA_VERSION = 1
SCHEMA_FILE = "json_report.schema.json"  # the JSON Schema of this report, shipped in the package


def json_schema_text() -> str:
    """The report's JSON Schema (draft 2020-12), as shipped (`apexscan schema json`)."""
    return files("apexscan.interfaces.report").joinpath(SCHEMA_FILE).read_text("utf-8")


def rule_json(rule: Rule) -> dict[str, Any]:
    """One rule of the catalog for `apexscan rules --format json`."""
    return {
        "id": rule.id, "name": rule.name, "level": rule.level, "security_severity": rule.security_severity,
        "precision": rule.precision, "cwe": list(rule.cwe), "tags": list(rule.tags),
        "short_description": rule.short_description, "full_description": rule.full_description,
        "fix": rule.fix_hint, "help_text": rule.help_text, "help_markdown": rule.help_markdown,
        "references": [{"title": r.title, "url": r.url} for r in rule.references],
    }


def render_json(findings: Sequence[Finding], catalog: Catalog, diagnostics: Sequence[Diagnostic], *,
                baseline: Comparison | None = None) -> str:
    """The report as JSON text (two-space indent, final newline); the same input gives the same text."""
    items = [_finding(f, catalog, baseline) for f in sorted_findings(findings)]
    summary: dict[str, Any] = {"findings": len(items)}
    summary.update(dict.fromkeys(LEVELS, 0))
    summary["suppressed"] = 0
    for item in items:
        key = "suppressed" if item["suppression"] else item["level"]
        summary[key] = summary.get(key, 0) + 1
    summary["diagnostics"] = len(diagnostics)
    summary["baseline"] = {} if baseline is None else {
        state: baseline.count(state) for state in (NEW, UNCHANGED, ABSENT)}
    doc = {
        "schema_version": SCHEMA_VERSION,
        "summary": summary,
        "findings": items,
        "diagnostics": [
            {"path": d.path, "line": d.line, "stage": d.stage, "message": d.message}
            for d in sorted(diagnostics, key=lambda d: (d.path, d.line, d.stage, d.message))
        ],
    }
    return dumps_json(doc, indent=2) + "\n"


def _location(location: Location) -> dict[str, Any]:
    return {"path": location.path, "line": location.line, "col": location.col,
            "end_line": location.end_line, "end_col": location.end_col}


def _finding(finding: Finding, catalog: Catalog, baseline: Comparison | None) -> dict[str, Any]:
    rule = rule_of(finding, catalog)
    dest = finding.destination
    return {
        "rule": rule.id,
        "rule_name": rule.name,
        "level": level_of(finding, catalog),
        "security_severity": rule.security_severity,
        "confidence": finding.confidence,
        "message": finding.message,
        "fingerprint": finding_fingerprint(finding),
        "location": _location(finding.location),
        "destination": {
            "url": dest.url, "host": dest.host, "provider": dest.provider,
            "jurisdiction": dest.jurisdiction, "region": dest.region, "verdict": dest.verdict.value,
            "how": dest.how, "evidence": list(dest.evidence), "note": dest.note,
        },
        "fields": [
            {"field": str(ref), "object": ref.object, "name": ref.field,
             "sensitivity": klass.sensitivity.value, "category": klass.category, "reason": klass.reason}
            for ref, klass in finding.fields
        ],
        "paths": [
            [{"path": step.location.path, "line": step.location.line, "col": step.location.col,
              "message": step.message} for step in path]
            for path in finding.paths
        ],
        "extra": {key: value for key, value in finding.extra if key != SUPPRESSED_AT},
        "suppression": _suppression(finding),
        "baseline_state": "" if baseline is None else baseline.state(finding),
    }


def _suppression(finding: Finding) -> dict[str, Any]:
    if not finding.suppression:
        return {}
    where = suppression_location(finding)
    return {"justification": finding.suppression,
            "location": _location(where) if where is not None else {}}
