"""The rule catalog: complete metadata for every rule, help pages with every section, one id per rule."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from apexscan.frontends.xmlsafe import Element, parse
from apexscan.salesforce.policy import policy_changes, policy_from_text
from apexscan.salesforce.rules import (
    HELP_SECTIONS,
    Catalog,
    CatalogError,
    help_sections,
    load_catalog,
    parse_catalog,
)

EXPECTED = {
    "APX-LLM-001": ("sensitive-data-to-foreign-llm", "error", "8.5", {359, 201}),
    "APX-LLM-002": ("record-serialized-to-llm", "error", "8.0", {201, 359}),
    "APX-LLM-003": ("sensitive-data-to-unknown-jurisdiction", "warning", "6.5", {201}),
    "APX-LLM-004": ("unclassified-data-to-foreign-llm", "warning", "5.0", {201}),
    "APX-LLM-005": ("record-data-to-foreign-llm", "note", "2.0", {201}),
    "APX-LLM-006": ("hardcoded-llm-endpoint", "note", "3.0", {1051}),
    "APX-CFG-001": ("remote-site-to-foreign-llm", "warning", "5.5", {359}),
    "APX-CFG-002": ("named-credential-to-foreign-llm", "warning", "5.5", {359}),
    "APX-CFG-003": ("csp-connect-src-to-foreign-llm", "warning", "5.0", {942, 359}),
    "APX-CFG-004": ("external-service-to-foreign-llm", "warning", "5.5", {359}),
    "APX-CFG-005": ("connected-app-api-access-without-ip-restrictions", "warning", "5.0", {923, 359}),
    "APX-CFG-006": ("outbound-message-to-foreign-llm", "error", "7.5", {359, 201}),
    "APX-CFG-007": ("outbound-message-sensitive-data-to-external-host", "warning", "5.0", {201, 359}),
    "APX-CFG-008": ("dataloader-extract-of-sensitive-fields", "warning", "5.0", {200, 359, 538}),
    "APX-RUN-001": ("logged-callouts-to-foreign-llm", "error", "7.5", {359, 201}),
    "APX-RUN-002": ("logged-callouts-not-in-project", "warning", "5.5", {923}),
    "APX-RUN-003": ("egress-channel-never-called", "note", "2.0", {1164}),
    "APX-RUN-004": ("api-client-not-in-project", "warning", "5.0", {284}),
    "APX-RUN-005": ("api-access-from-untrusted-network", "warning", "6.0", {284}),
    "APX-RUN-006": ("unusual-transfer-volume", "warning", "5.0", {200}),
    "APX-RUN-007": ("sensitive-object-export", "note", "3.0", {200, 359}),
    "APX-SCAN-001": ("file-not-analysed", "error", "7.0", {636}),
    "APX-SCAN-002": ("policy-changed-by-the-change", "error", "7.5", {15}),
    "APX-CFG-009": ("einstein-settings-allow-processing-outside-region", "warning", "5.0", {923, 359}),
    "APX-CFG-010": ("external-client-app-api-access-without-ip-restrictions", "warning", "5.0", {923, 359}),
    "APX-CFG-011": ("external-client-app-consumer-secret-committed", "error", "7.5", {798, 540}),
    "APX-MULE-001": ("mule-ai-config-to-foreign-llm", "warning", "5.5", {359}),
    "APX-MULE-002": ("mule-app-with-client-data-outside-allowed-regions", "warning", "5.0", {359}),
    "APX-HRK-001": ("heroku-connect-sync-outside-allowed-regions", "warning", "5.5", {200, 359}),
    "APX-HRK-002": ("heroku-connect-sync-beside-llm-credentials", "warning", "5.0", {200, 359}),
    "APX-SUP-001": ("invalid-suppression", "warning", "4.0", {710}),
}
# Rules whose examples are Apex: the code rules, and the suppression rule (its examples are comments in Apex).
CODE_RULES = sorted(r for r in EXPECTED if r.startswith(("APX-LLM-", "APX-SUP-")))
CONFIG_RULES = sorted(r for r in EXPECTED if r.startswith(("APX-CFG-", "APX-MULE-")))
# Runtime evidence rules show event log rows; those about inbound API clients are not about LLMs.
RUNTIME_RULES = sorted(r for r in EXPECTED if r.startswith("APX-RUN-"))
NOT_LLM_RULES = {"APX-RUN-004", "APX-RUN-005", "APX-RUN-007"}
FENCES = {"apex": "```apex", "xml": "```xml", "csv": "```csv", "toml": "```toml", "text": "```text",
          "json": "```json"}
# Rules about the policy file: their examples are apexscan.toml.
POLICY_RULES = ["APX-SCAN-002"]
# Rules about files apexscan could not analyse: their examples are a terminal session.
SCAN_RULES = ["APX-SCAN-001"]
# Rules on the configuration of services outside the org, whose examples are JSON files.
SERVICE_CONFIG_RULES = sorted(r for r in EXPECTED if r.startswith("APX-HRK-"))
# The metadata type each configuration rule's examples are written in (their root element).
CONFIG_ROOTS = {
    "APX-CFG-001": "RemoteSiteSetting",
    "APX-CFG-002": "NamedCredential",
    "APX-CFG-003": "CspTrustedSite",
    "APX-CFG-004": "ExternalServiceRegistration",
    "APX-CFG-005": "ConnectedApp",
    "APX-CFG-006": "Workflow",
    "APX-CFG-007": "Workflow",
    "APX-CFG-008": "beans",  # Data Loader's process-conf.xml
    "APX-CFG-009": "EinsteinGptSettings",
    "APX-CFG-010": "ExtlClntAppOauthConfigurablePolicies",
    "APX-CFG-011": "ExtlClntAppGlobalOauthSettings",
    "APX-MULE-001": "mule",  # a Mule app's configuration XML
    "APX-MULE-002": "project",  # a Mule app's pom.xml
}
# GitHub's bands for security-severity, and the default level each band should have.
BAND_LEVEL = [(9.0, "error"), (7.0, "error"), (4.0, "warning"), (0.1, "note")]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_catalog_has_the_expected_rules_in_id_order(catalog: Catalog) -> None:
    assert catalog.ids == tuple(sorted(EXPECTED))
    assert [rule.id for rule in catalog] == list(catalog.ids)
    assert len(catalog) == len(EXPECTED)
    for index, rule_id in enumerate(catalog.ids):
        assert catalog.index(rule_id) == index
        assert catalog[rule_id].id == rule_id
    assert "APX-LLM-999" not in catalog
    with pytest.raises(KeyError):
        catalog["APX-LLM-999"]


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_rule_metadata_is_complete(catalog: Catalog, rule_id: str) -> None:
    rule = catalog[rule_id]
    name, level, severity, cwes = EXPECTED[rule_id]
    assert (rule.name, rule.level, rule.security_severity, set(rule.cwe)) == (name, level, severity, cwes)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert rule.precision in ("very-high", "high", "medium", "low")
    assert rule.short_description.endswith(".") and len(rule.short_description) <= 1024
    assert 0 < len(rule.full_description) <= 1024
    assert "\n" not in rule.short_description


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_tags_carry_security_privacy_llm_and_every_cwe(catalog: Catalog, rule_id: str) -> None:
    rule = catalog[rule_id]
    assert rule.tags[0] == "security"
    assert {"privacy", "llm"} - ({"llm"} if rule_id in NOT_LLM_RULES else set()) <= set(rule.tags)
    assert {f"external/cwe/cwe-{n}" for n in rule.cwe} <= set(rule.tags)
    assert len(rule.tags) == len(set(rule.tags)) <= 10
    for number in rule.cwe:
        assert catalog.cwe(number).name


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_security_severity_band_agrees_with_the_level(catalog: Catalog, rule_id: str) -> None:
    rule = catalog[rule_id]
    score = float(rule.security_severity)
    expected = next(level for floor, level in BAND_LEVEL if score >= floor)
    assert rule.level == expected


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_help_has_every_section_in_order(catalog: Catalog, rule_id: str) -> None:
    rule = catalog[rule_id]
    markdown = rule.help_markdown
    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    assert headings == list(help_sections(rule.example_language))
    assert "What it does" in HELP_SECTIONS and "References" == HELP_SECTIONS[-1]
    assert markdown.count(FENCES[rule.example_language]) == 2
    assert "apexscan.toml" in markdown


def test_code_rules_show_apex_and_config_rules_show_metadata(catalog: Catalog) -> None:
    assert help_sections("apex") == HELP_SECTIONS
    assert help_sections("xml")[2:4] == ("Example (non-compliant metadata)", "Use instead (compliant metadata)")
    assert {catalog[r].example_language for r in CODE_RULES} == {"apex"}
    assert {catalog[r].example_language for r in CONFIG_RULES} == {"xml"}
    assert {catalog[r].example_language for r in RUNTIME_RULES} == {"csv"}
    assert help_sections("csv")[2:4] == ("Example (non-compliant event log)", "Use instead (compliant event log)")
    assert {catalog[r].example_language for r in POLICY_RULES} == {"toml"}
    assert help_sections("toml")[2:4] == ("Example (non-compliant policy)", "Use instead (compliant policy)")
    assert help_sections("text")[2:4] == ("Example (non-compliant project)", "Use instead (compliant project)")
    assert {catalog[r].example_language for r in SCAN_RULES} == {"text"}


@pytest.mark.parametrize("rule_id", RUNTIME_RULES)
def test_runtime_examples_are_event_log_csv_and_differ(catalog: Catalog, rule_id: str) -> None:
    import csv
    import io
    rule = catalog[rule_id]
    for example in (rule.bad_example, rule.good_example):
        rows = list(csv.reader(io.StringIO(example), strict=True))
        assert rows[0][0] == "EVENT_TYPE" and all(c == c.upper() for c in rows[0])
        assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
        assert example in rule.help_markdown
    assert rule.bad_example != rule.good_example
    assert "runtime" in rule.tags


@pytest.mark.parametrize("rule_id", SCAN_RULES)
def test_scan_rule_examples_show_the_finding_and_how_it_goes_away(catalog: Catalog, rule_id: str) -> None:
    rule = catalog[rule_id]
    assert f"error[{rule_id}] Not analysed:" in rule.bad_example and "echo $?\n1" in rule.bad_example
    assert f"apexscan:ignore {rule_id} " in rule.good_example and ".forceignore" in rule.good_example
    assert rule.good_example.rstrip().endswith("0") and rule_id not in rule.good_example.split("$ apexscan scan .")[-1]


def test_heroku_rules_show_json_configuration(catalog: Catalog) -> None:
    assert {catalog[r].example_language for r in SERVICE_CONFIG_RULES} == {"json"}
    assert help_sections("json")[2:4] == ("Example (non-compliant configuration)", "Use instead (compliant configuration)")


@pytest.mark.parametrize("rule_id", CODE_RULES)
def test_examples_are_apex_and_differ(catalog: Catalog, rule_id: str) -> None:
    rule = catalog[rule_id]
    for example in (rule.bad_example, rule.good_example):
        assert re.search(r"\bpublic (with sharing )?class \w+", example)
        assert "setEndpoint(" in example and "new Http().send(req)" in example
        assert example.count("{") == example.count("}")
        assert example in rule.help_markdown
    assert rule.bad_example != rule.good_example
    assert "callout:" in rule.good_example  # the compliant way is always a Named Credential


@pytest.mark.parametrize("rule_id", CONFIG_RULES)
def test_config_examples_are_well_formed_metadata_and_differ(catalog: Catalog, rule_id: str) -> None:
    rule = catalog[rule_id]
    for example in (rule.bad_example, rule.good_example):
        tree = parse(example)
        assert isinstance(tree, Element), tree
        assert tree.tag == CONFIG_ROOTS[rule_id]
        assert example.startswith('<?xml version="1.0" encoding="UTF-8"?>')
        assert example in rule.help_markdown
        # A connected app's examples must never show what the rule promises not to echo; the rule
        # about a committed secret shows the element, with an obvious placeholder.
        if rule_id == "APX-CFG-011":
            assert all("EXAMPLE" in value for value in re.findall(r"<consumer(?:Key|Secret)>([^<]*)<", example))
        else:
            assert not re.search(r"consumerKey|consumerSecret|<certificate>", example)
    assert rule.bad_example != rule.good_example
    assert "configuration" in rule.tags


@pytest.mark.parametrize("rule_id", POLICY_RULES)
def test_policy_examples_are_valid_policies_and_differ(catalog: Catalog, rule_id: str) -> None:
    rule = catalog[rule_id]
    policies = [policy_from_text(example, f"{rule_id} example") for example in (rule.bad_example, rule.good_example)]
    assert policy_changes(policies[1], policies[0])  # the bad one is a change of the good one
    assert all(example in rule.help_markdown for example in (rule.bad_example, rule.good_example))
@pytest.mark.parametrize("rule_id", SERVICE_CONFIG_RULES)
def test_service_config_examples_are_json_and_only_the_bad_one_is_reported(tmp_path, catalog: Catalog,
                                                                          rule_id: str) -> None:
    """The examples are the files the rule reads (a Heroku Connect export, an app.json); scanned
    with the rule's other file, the bad one gives the finding and the good one does not."""
    from apexscan.pipeline.project import discover
    from apexscan.pipeline.scan import scan
    from apexscan.salesforce.policy import Policy

    rule = catalog[rule_id]
    export = json.loads(catalog["APX-HRK-001"].bad_example)
    for example, reported in ((rule.bad_example, True), (rule.good_example, False)):
        doc = json.loads(example)
        assert example in rule.help_markdown
        root = tmp_path / ("bad" if reported else "good")
        root.mkdir()
        is_export = "mappings" in doc
        (root / ("mapping.json" if is_export else "app.json")).write_text(example, encoding="utf-8")
        if not is_export:  # the app of APX-HRK-002's examples holds the copy of APX-HRK-001's export
            (root / "mapping.json").write_text(json.dumps(export), encoding="utf-8")
        else:
            (root / "app.json").write_text(catalog["APX-HRK-002"].bad_example, encoding="utf-8")
        result = scan(discover([root]), Policy(), strict=True)
        assert (rule_id in {f.rule_id for f in result.findings}) == reported, result.findings
    assert rule.bad_example != rule.good_example
    assert "configuration" in rule.tags and "heroku" in rule.tags


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_references_are_https_links(catalog: Catalog, rule_id: str) -> None:
    rule = catalog[rule_id]
    assert rule.references
    for ref in rule.references:
        assert ref.title and ref.url.startswith("https://")
        assert f"[{ref.title}]({ref.url})" in rule.help_markdown
    assert any(f"cwe.mitre.org/data/definitions/{rule.cwe[0]}.html" in ref.url for ref in rule.references)


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_plain_text_help_is_derived_from_markdown(catalog: Catalog, rule_id: str) -> None:
    rule = catalog[rule_id]
    text = rule.help_text
    assert "```" not in text and "## " not in text and "**" not in text and "*how*" not in text
    for section in help_sections(rule.example_language):
        assert f"\n{section}\n" in f"\n{text}"
    first_code_line = rule.bad_example.splitlines()[0]
    assert f"    {first_code_line}" in text
    for ref in rule.references:
        assert f"{ref.title} ({ref.url})" in text


def test_hardcoded_endpoint_help_explains_the_cwe_choice(catalog: Catalog) -> None:
    help_text = catalog["APX-LLM-006"].help_markdown
    assert "CWE-1051" in help_text and "CWE-15" in help_text and "CWE-798" in help_text


def test_every_rule_id_in_the_engine_is_in_the_catalog(catalog: Catalog) -> None:
    package = Path(__file__).resolve().parents[1] / "apexscan"
    used = set()
    for source in package.rglob("*.py"):
        used |= set(re.findall(r"APX-[A-Z]+-\d{3}", source.read_text(encoding="utf-8")))
    assert used <= set(catalog.ids)


# --- validation of rules.toml --------------------------------------------------------------------

VALID_RULE = """
[[cwe]]
id = 201
name = "Insertion of Sensitive Information Into Sent Data"

[[rules]]
id = "{id}"
name = "{name}"
short_description = "Short."
full_description = "Full."
level = "{level}"
security_severity = "5.0"
precision = "high"
cwe = [{cwe}]
tags = ["security"]
what = "What."
why = "Why."
bad = "public class A {{}}"
good = "public class B {{}}"
policy = "See apexscan.toml."
references = [{{ title = "CWE-201", url = "https://cwe.mitre.org/data/definitions/201.html" }}]
"""


def rule_toml(id: str = "APX-LLM-100", name: str = "a-rule", level: str = "warning", cwe: str = "201") -> str:
    return VALID_RULE.format(id=id, name=name, level=level, cwe=cwe)


def test_parse_catalog_accepts_a_minimal_rule() -> None:
    catalog = parse_catalog(rule_toml())
    assert catalog.ids == ("APX-LLM-100",)
    assert catalog["APX-LLM-100"].tags == ("security", "external/cwe/cwe-201")


@pytest.mark.parametrize(("text", "complaint"), [
    (rule_toml(level="fatal"), "level"),
    (rule_toml(name="A_Rule"), "kebab-case"),
    (rule_toml(id="LLM-1"), "id must look like"),
    (rule_toml(cwe="999"), "cwe"),
    (rule_toml() + rule_toml().split("[[rules]]")[1].join(["[[rules]]", ""]), "duplicate rule id"),
    (rule_toml().replace('why = "Why."\n', ""), "missing keys ['why']"),
    (rule_toml().replace('why = "Why."', 'why = "Why."\nseverity = "high"'), "unknown keys ['severity']"),
    (rule_toml().replace('"5.0"', '"11"'), "security_severity"),
])
def test_parse_catalog_rejects_malformed_rules(text: str, complaint: str) -> None:
    with pytest.raises(CatalogError, match=re.escape(complaint)):
        parse_catalog(text)


def test_every_rule_has_a_one_sentence_fix_hint():
    """The text report ends every finding with its rule's `fix` (rules.toml): a rule without one
    would fall back to its short description, which says what is wrong, not what to do."""
    from apexscan.salesforce.rules import load_catalog
    for rule in load_catalog():
        assert rule.fix, f"{rule.id} has no fix in rules.toml"
        assert rule.fix.endswith(".") and "\n" not in rule.fix and len(rule.fix) <= 200, rule.id
