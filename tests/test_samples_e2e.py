"""End to end on samples/fintech-org: every finding is marked in the sample, and every marker is found.

The sample is a small SFDX project of a wealth-management bank. Each line where apexscan must
report carries a trailing marker naming the rules, e.g. `// expect: APX-LLM-001, APX-LLM-002`
(in XML: `<!-- expect: APX-LLM-001 -->`). Safe look-alikes carry `// ok: <why>` and must stay
silent. The test compares the set of (file, line, rule) from the markers with the findings of a
scan that uses the sample's own apexscan.toml, and lists what is missing and what is unexpected.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_exact, expected

from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import ScanResult, scan
from apexscan.salesforce.policy import load_policy

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "fintech-org"


@pytest.fixture(scope="module")
def result() -> ScanResult:
    project = discover([SAMPLE])
    return scan(project, load_policy(None, project.root), strict=True)


def test_sample_has_markers_for_every_rule() -> None:
    # A marker regex that silently matched nothing would let the exact-match test pass vacuously.
    rules = {rule for _, _, rule in expected(SAMPLE)}
    assert {f"APX-LLM-00{n}" for n in range(1, 7)} <= rules


def test_sample_parses_without_diagnostics(result: ScanResult) -> None:
    assert result.files_scanned > 50
    assert not result.diagnostics, "\n".join(
        f"{d.path}:{d.line}: {d.stage}: {d.message}" for d in result.diagnostics)


def test_findings_match_markers_exactly(result: ScanResult) -> None:
    assert_exact(SAMPLE, result)


def test_every_finding_has_a_path_ending_at_the_sink(result: ScanResult) -> None:
    for f in result.findings:
        assert f.paths, f
        for path in f.paths:
            assert path[-1].location == f.location
            assert all(step.message for step in path)


def test_component_finding_names_the_csp_site_that_lets_the_browser_call_the_llm(result: ScanResult) -> None:
    (finding,) = [f for f in result.findings
                  if f.rule_id == "APX-LLM-001" and f.location.path.endswith("clientEmailDraft.js")]
    assert "CSP Trusted Site OpenAI_Browser_Pilot" in finding.message
    assert ("csp_trusted_sites", "OpenAI_Browser_Pilot") in finding.extra
