"""A Markdown summary of a scan for a CI job page (GitHub Actions' `$GITHUB_STEP_SUMMARY`).

The counts, the policy each project was scanned with, and a table of the findings that are
neither suppressed nor already in the baseline, most severe first, at most `MAX_ROWS` of them
(the SARIF and JSON reports are never cut). Text from the scanned project is escaped so that it
cannot add Markdown or HTML to the page.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

from apexscan.engine.model import Finding
from apexscan.interfaces.report import LEVEL_RANK, level_of, sorted_findings
from apexscan.interfaces.report.text import summary_line
from apexscan.pipeline.baseline import NEW, Comparison
from apexscan.salesforce.rules import Catalog

MAX_ROWS = 50
MAX_MESSAGE = 160


def render_step_summary(findings: Sequence[Finding], catalog: Catalog, *, policies: Sequence[str] = (),
                        baseline: Comparison | None = None) -> str:
    """The summary as Markdown; `policies` are lines such as "samples/org: policy samples/org/apexscan.toml"."""
    listed = [f for f in sorted_findings(findings) if not f.suppression
              and (baseline is None or baseline.state(f) == NEW)]
    listed.sort(key=lambda f: LEVEL_RANK.get(level_of(f, catalog), 9))  # stable: file order within a level
    out = [f"### {_cell(summary_line(findings, catalog, baseline))}", ""]
    out.extend(f"- {_cell(line)}" for line in policies)
    if policies:
        out.append("")
    if listed:
        out.append("| Level | Rule | Location | Finding |")
        out.append("|---|---|---|---|")
        for f in listed[:MAX_ROWS]:
            out.append(f"| {level_of(f, catalog)} | {f.rule_id} | {_code(str(f.location))} | "
                       f"{_cell(_first_sentence(f.message))} |")
        if len(listed) > MAX_ROWS:
            out.append("")
            out.append(f"… and {len(listed) - MAX_ROWS} more: see the SARIF or JSON report.")
        out.append("")
    return "\n".join(out) + "\n"


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    text = text[:end + 1] if 0 < end else text
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: no HTML, no pipes, no line breaks, no emphasis."""
    text = html.escape(" ".join(text.split()), quote=False)
    for char in "\\|*_`[]#":
        text = text.replace(char, "\\" + char)
    return text


def _code(text: str) -> str:
    text = " ".join(text.split()).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"
