"""End to end on samples/fintech-org: every finding is marked in the sample, and every marker is found.

The sample is a small SFDX project of a wealth-management bank. Each line where apexscan must
report carries a trailing marker naming the rules, e.g. `// expect: APX-LLM-001, APX-LLM-002`
(in XML: `<!-- expect: APX-LLM-001 -->`). Safe look-alikes carry `// ok: <why>` and must stay
silent. The test compares the set of (file, line, rule) from the markers with the findings of a
scan that uses the sample's own apexscan.toml, and lists what is missing and what is unexpected.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from apexscan.policy import load_policy
from apexscan.project import discover
from apexscan.scan import ScanResult, scan

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "fintech-org"
RULE = r"APX-LLM-\d{3}"
MARKER = re.compile(rf"(?://|<!--)\s*expect:\s*({RULE}(?:\s*,\s*{RULE})*)")

Key = tuple[str, int, str]  # (path relative to the sample root, 1-based line, rule id)


def expected_markers(root: Path) -> set[Key]:
    """Every `expect:` marker in any text file under `root`."""
    out: set[Key] = set()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not a text file
        rel = path.relative_to(root).as_posix()
        for number, line in enumerate(text.splitlines(), start=1):
            m = MARKER.search(line)
            if m:
                for rule in re.findall(RULE, m.group(1)):
                    out.add((rel, number, rule))
    return out


def describe(keys: set[Key], result: ScanResult | None = None) -> str:
    messages = {}
    if result is not None:
        for f in result.findings:
            messages.setdefault((f.location.path, f.location.line, f.rule_id), f.message)
    lines = []
    for key in sorted(keys):
        path, line, rule = key
        detail = f": {messages[key]}" if key in messages else ""
        lines.append(f"  {path}:{line} {rule}{detail}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def result() -> ScanResult:
    project = discover([SAMPLE])
    return scan(project, load_policy(None, project.root))


def test_sample_has_markers() -> None:
    markers = expected_markers(SAMPLE)
    # The sample covers every rule; a marker regex that silently matches nothing would pass vacuously.
    assert {rule for _, _, rule in markers} == {f"APX-LLM-00{n}" for n in range(1, 7)}


def test_sample_parses_without_diagnostics(result: ScanResult) -> None:
    assert result.files_scanned > 0
    assert not result.diagnostics, "\n".join(
        f"{d.path}:{d.line}: {d.stage}: {d.message}" for d in result.diagnostics)


def test_findings_match_markers(result: ScanResult) -> None:
    expected = expected_markers(SAMPLE)
    actual = {(f.location.path, f.location.line, f.rule_id) for f in result.findings}
    missing = expected - actual
    unexpected = actual - expected
    report = []
    if missing:
        report.append(f"missing findings (marked `expect:` but not reported), {len(missing)}:\n"
                      + describe(missing))
    if unexpected:
        report.append(f"unexpected findings (reported but not marked), {len(unexpected)}:\n"
                      + describe(unexpected, result))
    assert not report, "\n".join(report)
