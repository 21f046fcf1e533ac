"""Reporters: findings + catalog (+ diagnostics) -> a document, returned, never written or printed.

* `sarif`       SARIF 2.1.0 for GitHub code scanning (`render_sarif`, `dumps_sarif`)
* `text`        one line per finding and per path step (`render_text`, `render_diagnostics`)
* `json_report` a stable JSON document for scripts (`render_json`)

All of them list findings in the order given by `sorted_findings`, so every format agrees.
"""
from __future__ import annotations

import json
import re
from typing import Any

from apexscan.engine.model import Finding, finding_order, sorted_findings  # noqa: F401  (re-exported)
from apexscan.salesforce.rules import Catalog, Rule

LEVEL_RANK = {"error": 0, "warning": 1, "note": 2, "none": 3}


def level_of(finding: Finding, catalog: Catalog) -> str:
    """The finding's own level when it overrides the rule's, else the rule's default level."""
    return finding.level or rule_of(finding, catalog).level


def rule_of(finding: Finding, catalog: Catalog) -> Rule:
    """The catalog rule of a finding; a finding for an id the catalog lacks is a programming error."""
    if finding.rule_id not in catalog:
        raise ValueError(f"finding at {finding.location} uses unknown rule {finding.rule_id!r}")
    return catalog[finding.rule_id]


# A file name that is not UTF-8 reaches the reports with each undecodable byte as a lone surrogate
# (os.fsdecode's surrogateescape); no UTF-8 writer accepts those.
_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps_json(doc: Any, **options: Any) -> str:
    """JSON text that is valid UTF-8 whatever the strings hold: non-ASCII characters as they are,
    and a lone surrogate as its `\\udcXX` escape, which is valid JSON and which a Python reader
    turns back into the same name (os.fsencode then gives the file's bytes)."""
    text = json.dumps(doc, ensure_ascii=False, **options)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def without_surrogates(text: str) -> str:
    """Text for a UTF-8 report that is not JSON (Markdown, HTML): each lone surrogate written as
    `\\udcXX`, as the text report shows it."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
