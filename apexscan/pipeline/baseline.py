"""Baselines: compare a scan with the SARIF of an earlier one (`apexscan scan --baseline old.sarif`), or
with the findings of the project as it is in a git commit (`--baseline-ref REF`, `baseline_of`).

Findings are matched by apexscan's line-independent fingerprint (`partialFingerprints["apexscan/v1"]`,
see fingerprints.py), counting occurrences: when the baseline has two results with one fingerprint
and the scan three findings, the first two (in report order) are "unchanged" and the third is
"new". Baseline results that no finding matches are "absent" (counted, not listed: code scanning
would turn a listed result into an alert again). Only "new" findings can fail the run.

`load_baseline` reads and checks the file and raises `BaselineError` with a message for the user;
`compare` is pure.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from apexscan.engine.model import Finding, sorted_findings
from apexscan.pipeline.fingerprints import FINGERPRINT_VERSION, finding_fingerprint

NEW = "new"
UNCHANGED = "unchanged"
ABSENT = "absent"
TOOL_NAME = "apexscan"


class BaselineError(ValueError):
    """The baseline file is missing or not an apexscan SARIF log; the message says which."""


@dataclass(frozen=True, slots=True)
class Baseline:
    fingerprints: Mapping[str, int]  # apexscan/v1 fingerprint -> how many results carry it


@dataclass(frozen=True, slots=True)
class Comparison:
    states: Mapping[Finding, str]  # every finding of the scan -> NEW or UNCHANGED
    absent: int  # baseline results that no finding matches any more

    def state(self, finding: Finding) -> str:
        return self.states.get(finding, NEW)

    def count(self, state: str) -> int:
        return self.absent if state == ABSENT else sum(1 for s in self.states.values() if s == state)


def load_baseline(path: Path) -> Baseline:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BaselineError(f"{path}: cannot read baseline file: {reason}") from None
    return parse_baseline(text, str(path))


def parse_baseline(text: str, name: str = "baseline") -> Baseline:
    """The fingerprints of the apexscan runs of a SARIF 2.1.0 log."""
    def fail(problem: str) -> BaselineError:
        return BaselineError(f"{name}: not a usable baseline: {problem} "
                             "(write one with `apexscan scan --format sarif -o FILE`)")

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"invalid JSON at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise fail("JSON nested too deeply to read") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise fail("it is not a SARIF log (no \"runs\" list)")
    if doc.get("version") != "2.1.0":
        raise fail(f"SARIF version {doc.get('version')!r}, expected '2.1.0'")
    counts: Counter[str] = Counter()
    runs = 0
    for run_index, run in enumerate(doc["runs"]):
        tool = run.get("tool") if isinstance(run, dict) else None
        driver = tool.get("driver") if isinstance(tool, dict) else None
        if not isinstance(driver, dict) or driver.get("name") != TOOL_NAME:
            continue
        runs += 1
        results = run.get("results", [])
        if not isinstance(results, list):
            raise fail(f"runs[{run_index}].results is not a list")
        for index, result in enumerate(results):
            if not isinstance(result, dict):
                raise fail(f"runs[{run_index}].results[{index}] is not an object")
            if result.get("baselineState") == ABSENT:
                continue  # listed by another tool as gone already
            partial = result.get("partialFingerprints")
            fingerprint = partial.get(FINGERPRINT_VERSION) if isinstance(partial, dict) else None
            if not isinstance(fingerprint, str) or not fingerprint:
                raise fail(f"runs[{run_index}].results[{index}] has no \"{FINGERPRINT_VERSION}\" "
                           "partial fingerprint")
            counts[fingerprint] += 1
    if not runs:
        raise fail("it has no apexscan run")
    return Baseline(dict(counts))


def baseline_of(findings: Sequence[Finding]) -> Baseline:
    """The baseline a scan's findings make (`--baseline-ref`): as if its SARIF had been written
    and read back, so suppressed findings count too."""
    return Baseline(dict(Counter(finding_fingerprint(f) for f in findings)))


def compare(findings: Sequence[Finding], baseline: Baseline) -> Comparison:
    """Which findings the baseline already had, and how many of its results are gone."""
    left = Counter(baseline.fingerprints)
    states = {}
    for finding in sorted_findings(findings):
        fingerprint = finding_fingerprint(finding)
        if left[fingerprint] > 0:
            left[fingerprint] -= 1
            states[finding] = UNCHANGED
        else:
            states[finding] = NEW
    return Comparison(states, sum(left.values()))
