"""SARIF 2.1.0 for GitHub code scanning, built as plain dicts in a fixed key order.

One run. `tool.driver.rules` lists every rule of the catalog, results or not, each linked to its CWE
taxa (`run.taxonomies`). Each result carries GitHub's `primaryLocationLineHash` (computed from
`file_texts` when the file's text is given; otherwise upload-sarif computes it) and apexscan's own
line-independent `apexscan/v1` fingerprint, one `codeFlow` per witness path, and the finding's
fields, destination and confidence as properties. A finding excused by an `apexscan:ignore` comment
keeps its result, with an `inSource` suppression that carries the comment's reason and place; with a
baseline (`baseline.Comparison`) every result gets a `baselineState`, "new" or "unchanged". Scan
problems (`Diagnostic`) and anything cut to respect GitHub's limits become
`invocations[0].toolExecutionNotifications`; `invocations[0].properties` says which policy each
project was scanned with. `runs[].automationDetails.id` is set only when a category is given
(`--category`): otherwise upload-sarif's own `category` input applies.

`render_sarif` returns the document; `dumps_sarif` turns it into text. The same input gives the same
bytes: every list is built in a defined order and nothing reads the clock or the environment.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PureWindowsPath
from typing import Any
from urllib.parse import quote

from apexscan.engine.model import Diagnostic, Finding, Location, Step
from apexscan.interfaces.report import LEVEL_RANK, dumps_json, level_of, rule_of, sorted_findings
from apexscan.pipeline.baseline import Comparison
from apexscan.pipeline.fingerprints import FINGERPRINT_VERSION, finding_fingerprint, line_hashes
from apexscan.pipeline.suppress import SUPPRESSED_AT, suppression_location
from apexscan.salesforce.rules import Catalog, Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "apexscan"
SRCROOT = "%SRCROOT%"
CWE_TAXONOMY = "CWE"

# GitHub limits (docs: "SARIF support for code scanning"): beyond them GitHub drops data silently,
# so we cut first and say so in a notification.
MAX_RESULTS = 25_000
MAX_CODE_FLOWS = 100
MAX_THREAD_FLOW_LOCATIONS = 1_000

# Diagnostics from these stages mean the scan itself is unreliable; the others cost coverage only.
ERROR_STAGES = frozenset({"internal"})

Json = dict[str, Any]


def render_sarif(findings: Sequence[Finding], catalog: Catalog, diagnostics: Sequence[Diagnostic], *,
                 tool_version: str, source_root: Path | None, file_texts: Mapping[str, str],
                 information_uri: str | None = None, baseline: Comparison | None = None,
                 category: str | None = None, invocation_properties: Mapping[str, Any] | None = None) -> Json:
    """The SARIF log of one scan.

    `file_texts` maps a finding's `Location.path` to the file's text (decoded as UTF-8); files not
    in it get no `primaryLocationLineHash`. `source_root` becomes `%SRCROOT%`. `information_uri`
    is the tool's home page, omitted when not given (no invented URLs). `baseline`, when given,
    sets `baselineState` on every result. `category` becomes `automationDetails.id` ("cat/", an
    empty run id); `invocation_properties` the invocation's property bag.
    """
    notifications = [_diagnostic_notification(d)
                     for d in sorted(diagnostics, key=lambda d: (d.path, d.line, d.stage, d.message))]
    kept = _within_result_limit(findings, catalog, notifications)
    hashes: dict[str, tuple[str, ...]] = {}
    results = [_result(f, catalog, file_texts, hashes, notifications, baseline)
               for f in sorted_findings(kept)]

    driver: Json = {"name": TOOL_NAME}
    if information_uri:
        driver["informationUri"] = information_uri
    driver["version"] = tool_version
    driver["semanticVersion"] = tool_version
    driver["rules"] = [_rule(rule, catalog) for rule in catalog]
    driver["supportedTaxonomies"] = [{"name": CWE_TAXONOMY, "index": 0}]

    run: Json = {"tool": {"driver": driver}}
    invocation: Json = {"executionSuccessful": True, "toolExecutionNotifications": notifications}
    if invocation_properties:
        invocation["properties"] = dict(invocation_properties)
    run["invocations"] = [invocation]
    if source_root is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": _directory_uri(source_root)}}
    if category:
        run["automationDetails"] = {"id": automation_id(category)}
    run["taxonomies"] = [_cwe_taxonomy(catalog)]
    run["results"] = results
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def automation_id(category: str) -> str:
    """SARIF's `automationDetails.id` for a category: "category/" (the run id after the last slash
    is empty), as upload-sarif writes it; a category already ending in "/" is kept."""
    category = category.strip()
    return category if category.endswith("/") else category + "/"


def dumps_sarif(doc: Mapping[str, Any]) -> str:
    """The document as UTF-8-ready JSON text: keys in build order, two-space indent, final newline."""
    return dumps_json(doc, indent=2, sort_keys=False) + "\n"


# --- rules and taxonomy --------------------------------------------------------------------------


def _rule(rule: Rule, catalog: Catalog) -> Json:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.short_description},
        "fullDescription": {"text": rule.full_description},
        "defaultConfiguration": {"level": rule.level},
        "help": {"text": rule.help_text, "markdown": rule.help_markdown},
        "properties": {
            "tags": list(rule.tags),
            "precision": rule.precision,
            "security-severity": rule.security_severity,
        },
        "relationships": [
            {
                "target": {
                    "id": str(number),
                    "index": [cwe.id for cwe in catalog.cwes].index(number),
                    "toolComponent": {"name": CWE_TAXONOMY, "index": 0},
                },
                "kinds": ["superset"],
            }
            for number in rule.cwe
        ],
    }


def _cwe_taxonomy(catalog: Catalog) -> Json:
    return {
        "name": CWE_TAXONOMY,
        "organization": "MITRE",
        "informationUri": "https://cwe.mitre.org/",
        "shortDescription": {"text": "The MITRE Common Weakness Enumeration"},
        "taxa": [
            {"id": str(cwe.id), "name": cwe.name, "shortDescription": {"text": f"CWE-{cwe.id}: {cwe.name}"},
             "helpUri": cwe.url}
            for cwe in catalog.cwes
        ],
    }


# --- results -------------------------------------------------------------------------------------


def _within_result_limit(findings: Sequence[Finding], catalog: Catalog,
                         notifications: list[Json]) -> Sequence[Finding]:
    if len(findings) <= MAX_RESULTS:
        return findings

    def severity_first(finding: Finding) -> tuple:
        rule = rule_of(finding, catalog)
        return (bool(finding.suppression), LEVEL_RANK.get(level_of(finding, catalog), 9),
                -float(rule.security_severity))

    ranked = sorted(sorted_findings(findings), key=severity_first)  # stable: location order within a rank
    notifications.append(_notification(
        "warning",
        f"{len(findings)} findings, more than GitHub accepts in one run; only the {MAX_RESULTS} most "
        f"severe are in this SARIF file. Use the text or JSON report for the full list.",
        stage="report"))
    return ranked[:MAX_RESULTS]


def _result(finding: Finding, catalog: Catalog, file_texts: Mapping[str, str],
            hashes: dict[str, tuple[str, ...]], notifications: list[Json],
            baseline: Comparison | None) -> Json:
    rule = rule_of(finding, catalog)
    result: Json = {"ruleId": rule.id, "ruleIndex": catalog.index(rule.id)}
    if finding.level:
        result["level"] = finding.level
    result["message"] = {"text": finding.message}
    result["locations"] = [{"physicalLocation": _physical(finding.location)}]

    fingerprints: Json = {}
    line_hash = _line_hash(finding.location, file_texts, hashes)
    if line_hash:
        fingerprints["primaryLocationLineHash"] = line_hash
    fingerprints[FINGERPRINT_VERSION] = finding_fingerprint(finding)
    result["partialFingerprints"] = fingerprints

    code_flows = _code_flows(finding, notifications)
    if code_flows:
        result["codeFlows"] = code_flows
    if finding.suppression:
        result["suppressions"] = [_suppression(finding)]
    if baseline is not None:
        result["baselineState"] = baseline.state(finding)
    result["properties"] = _properties(finding)
    return result


def _suppression(finding: Finding) -> Json:
    suppression: Json = {"kind": "inSource", "justification": finding.suppression}
    where = suppression_location(finding)
    if where is not None:
        suppression["location"] = {"physicalLocation": _physical(where)}
    return suppression


def _line_hash(location: Location, file_texts: Mapping[str, str],
               hashes: dict[str, tuple[str, ...]]) -> str:
    text = file_texts.get(location.path)
    if text is None or location.line < 1:
        return ""
    if location.path not in hashes:
        hashes[location.path] = line_hashes(text)
    file_hashes = hashes[location.path]
    return file_hashes[location.line - 1] if location.line <= len(file_hashes) else ""


def _code_flows(finding: Finding, notifications: list[Json]) -> list[Json]:
    paths = [path for path in finding.paths if path]
    if len(paths) > MAX_CODE_FLOWS:
        notifications.append(_notification(
            "warning",
            f"{finding.rule_id} at {finding.location}: {len(paths)} witness paths, only the first "
            f"{MAX_CODE_FLOWS} are in the SARIF file.",
            stage="report", location=finding.location))
        paths = paths[:MAX_CODE_FLOWS]
    flows = []
    for path in paths:
        steps = list(path)
        if len(steps) > MAX_THREAD_FLOW_LOCATIONS:
            notifications.append(_notification(
                "warning",
                f"{finding.rule_id} at {finding.location}: a witness path of {len(steps)} steps was "
                f"shortened to its first {MAX_THREAD_FLOW_LOCATIONS - 1} steps and the sink.",
                stage="report", location=finding.location))
            steps = steps[:MAX_THREAD_FLOW_LOCATIONS - 1] + steps[-1:]
        last = len(steps) - 1
        flows.append({"threadFlows": [{"locations": [
            _thread_flow_location(step, essential=i in (0, last)) for i, step in enumerate(steps)
        ]}]})
    return flows


def _thread_flow_location(step: Step, *, essential: bool) -> Json:
    location: Json = {"physicalLocation": _physical(step.location), "message": {"text": step.message}}
    entry: Json = {"location": location}
    if essential:
        entry["importance"] = "essential"
    return entry


def _properties(finding: Finding) -> Json:
    dest = finding.destination
    destination: Json = {
        "url": dest.url,
        "host": dest.host,
        "provider": dest.provider,
        "jurisdiction": dest.jurisdiction,
        "region": dest.region,
        "verdict": dest.verdict.value,
        "how": dest.how,
        "evidence": list(dest.evidence),
    }
    if dest.note:
        destination["note"] = dest.note
    properties: Json = {
        "confidence": finding.confidence,
        "destination": destination,
        "fields": [
            {"field": str(ref), "sensitivity": klass.sensitivity.value, "category": klass.category,
             "reason": klass.reason}
            for ref, klass in finding.fields
        ],
    }
    extra = {key: value for key, value in finding.extra if key != SUPPRESSED_AT}  # in `suppressions`
    if extra:
        properties["extra"] = extra
    return properties


# --- locations and notifications -----------------------------------------------------------------


def _artifact(path: str) -> Json:
    """The path's URI: its bytes percent-encoded (exact even for a name that is not UTF-8)."""
    if path.startswith("/"):  # outside the project (a policy file given on the command line)
        return {"uri": "file://" + quote(os.fsencode(path), safe="/")}
    if PureWindowsPath(path).is_absolute():
        return {"uri": PureWindowsPath(path).as_uri()}
    return {"uri": quote(os.fsencode(path), safe="/"), "uriBaseId": SRCROOT}


def _region(location: Location) -> Json:
    region: Json = {}
    if location.line > 0:
        region["startLine"] = location.line
        if location.col > 0:
            region["startColumn"] = location.col
        if location.end_line > 0:
            region["endLine"] = location.end_line
            if location.end_col > 0:
                region["endColumn"] = location.end_col
    return region


def _physical(location: Location) -> Json:
    physical: Json = {"artifactLocation": _artifact(location.path)}
    region = _region(location)
    if region:
        physical["region"] = region
    return physical


def _directory_uri(root: Path) -> str:
    uri = root.absolute().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _notification(level: str, text: str, *, stage: str, location: Location | None = None) -> Json:
    notification: Json = {"level": level, "message": {"text": text}}
    if location is not None and location.path:
        notification["locations"] = [{"physicalLocation": _physical(location)}]
    notification["properties"] = {"stage": stage}
    return notification


def _diagnostic_notification(diagnostic: Diagnostic) -> Json:
    level = "error" if diagnostic.stage in ERROR_STAGES else "warning"
    location = Location(diagnostic.path, diagnostic.line, 0) if diagnostic.path else None
    return _notification(level, diagnostic.message, stage=diagnostic.stage, location=location)
