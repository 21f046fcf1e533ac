"""The rule catalog: every rule apexscan can report, loaded from `apexscan/salesforce/data/rules.toml`.

A rule id is defined there and nowhere else. Engines refer to rules by id; reporters take the
`Catalog` to describe them (SARIF `tool.driver.rules`, help pages, `apexscan rules`).

The help page of each rule is assembled here from the TOML section keys, always with the same
headings (`help_sections()`: `HELP_SECTIONS`, where rules whose examples are metadata XML say
"metadata" instead of "Apex"), and a plain-text version is derived from the markdown, so the two
never disagree.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

RULES_FILE = "rules.toml"

LEVELS = ("error", "warning", "note")
PRECISIONS = ("very-high", "high", "medium", "low")
HELP_SECTIONS = (
    "What it does",
    "Why it matters",
    "Example (non-compliant Apex)",
    "Use instead (compliant Apex)",
    "Policy (apexscan.toml)",
    "References",
)
# What the examples of a rule are written in: rules.toml key `example_language` (default "apex").
# Code rules show Apex; configuration rules (APX-CFG-*) show the metadata XML an admin deploys;
# runtime evidence rules (APX-RUN-*) show the Event Monitoring log rows that raise them; rules
# about the policy file show apexscan.toml.
# Value: (the word that replaces "Apex" in the example headings, the markdown fence language).
# Rules about the project's files themselves (APX-SCAN-001) show a terminal session; the Heroku
# rules (APX-HRK-*) the JSON configuration they read.
EXAMPLE_LANGUAGES = {"apex": ("Apex", "apex"), "xml": ("metadata", "xml"), "csv": ("event log", "csv"),
                     "toml": ("policy", "toml"), "text": ("project", "text"), "json": ("configuration", "json")}

_ID = re.compile(r"^APX-[A-Z]+-[0-9]{3}$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_RULE_KEYS = frozenset({
    "id", "name", "short_description", "full_description", "level", "security_severity",
    "precision", "cwe", "tags", "what", "why", "bad", "good", "policy", "references",
})
_OPTIONAL_KEYS = {"example_language": "apex", "fix": ""}  # key -> default
_MAX_DESCRIPTION = 1024  # GitHub truncates shortDescription / fullDescription beyond this
_MAX_TAGS = 10  # GitHub keeps only the first 10 tags of a rule


class CatalogError(ValueError):
    """rules.toml is malformed; the message names the rule and the key."""


@dataclass(frozen=True, slots=True)
class Reference:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Cwe:
    id: int  # 359
    name: str  # "Exposure of Private Personal Information to an Unauthorized Actor"

    @property
    def url(self) -> str:
        return f"https://cwe.mitre.org/data/definitions/{self.id}.html"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str  # "APX-LLM-001"
    name: str  # kebab-case, "sensitive-data-to-foreign-llm"
    short_description: str  # one sentence, the alert title
    full_description: str  # one paragraph
    level: str  # default level: "error", "warning" or "note"
    security_severity: str  # GitHub score as a string, "8.5"
    precision: str  # "very-high", "high", "medium", "low"
    cwe: tuple[int, ...]  # (359, 201)
    tags: tuple[str, ...]  # ("security", "privacy", "llm", "external/cwe/cwe-359", ...)
    help_markdown: str  # full help page, sections in HELP_SECTIONS order
    help_text: str  # the same page as plain text
    bad_example: str  # non-compliant example (Apex, or metadata XML for configuration rules)
    good_example: str  # its compliant rewrite, in the same language
    references: tuple[Reference, ...]
    example_language: str = "apex"  # a key of EXAMPLE_LANGUAGES
    fix: str = ""  # one sentence: what to do about a finding ("" falls back to short_description)

    @property
    def fix_hint(self) -> str:
        return self.fix or self.short_description


@dataclass(frozen=True, slots=True)
class Catalog:
    """All rules ordered by id; `catalog["APX-LLM-001"]`, `for rule in catalog`, `len(catalog)`."""

    rules: tuple[Rule, ...]
    cwes: tuple[Cwe, ...]  # every CWE a rule refers to, ordered by number
    _by_id: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {rule.id: i for i, rule in enumerate(self.rules)})

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[self._by_id[rule_id]]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)

    def index(self, rule_id: str) -> int:
        """Position of the rule in `rules` (SARIF ruleIndex); KeyError for an unknown id."""
        return self._by_id[rule_id]

    def cwe(self, number: int) -> Cwe:
        for entry in self.cwes:
            if entry.id == number:
                return entry
        raise KeyError(number)


def load_catalog() -> Catalog:
    """Read the shipped rules.toml; raises CatalogError when it is malformed (a packaging bug)."""
    text = files("apexscan.salesforce.data").joinpath(RULES_FILE).read_text(encoding="utf-8")
    return parse_catalog(text)


def parse_catalog(text: str) -> Catalog:
    """Build a Catalog from the text of a rules.toml (exposed for tests of the validation)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{RULES_FILE}: {error}") from None
    cwe_names = {}
    for row in data.get("cwe", []):
        number, name = row.get("id"), row.get("name")
        if not isinstance(number, int) or not isinstance(name, str) or not name:
            raise CatalogError(f"{RULES_FILE}: [[cwe]] rows need an integer id and a name: {row!r}")
        cwe_names[number] = name
    rules = [_rule(row, cwe_names) for row in data.get("rules", [])]
    if not rules:
        raise CatalogError(f"{RULES_FILE}: no [[rules]]")
    for attribute in ("id", "name"):
        seen: set[str] = set()
        for rule in rules:
            value = getattr(rule, attribute)
            if value in seen:
                raise CatalogError(f"{RULES_FILE}: duplicate rule {attribute} {value!r}")
            seen.add(value)
    rules.sort(key=lambda rule: rule.id)
    used = sorted({number for rule in rules for number in rule.cwe})
    return Catalog(rules=tuple(rules), cwes=tuple(Cwe(n, cwe_names[n]) for n in used))


def _rule(row: dict[str, Any], cwe_names: Mapping[int, str]) -> Rule:
    rule_id = row.get("id", "?")

    def fail(message: str) -> CatalogError:
        return CatalogError(f"{RULES_FILE}: rule {rule_id}: {message}")

    unknown = sorted(set(row) - _RULE_KEYS - set(_OPTIONAL_KEYS))
    missing = sorted(_RULE_KEYS - set(row))
    if unknown or missing:
        raise fail(f"unknown keys {unknown}, missing keys {missing}")
    row = {**_OPTIONAL_KEYS, **row}
    for key in _RULE_KEYS - {"cwe", "tags", "references"}:
        if not isinstance(row[key], str) or not row[key].strip():
            raise fail(f"{key} must be a non-empty string")
    if not _ID.match(rule_id):
        raise fail("id must look like APX-LLM-001")
    if not _NAME.match(row["name"]):
        raise fail(f"name {row['name']!r} must be kebab-case")
    if row["level"] not in LEVELS:
        raise fail(f"level must be one of {LEVELS}")
    if row["example_language"] not in EXAMPLE_LANGUAGES:
        raise fail(f"example_language must be one of {tuple(EXAMPLE_LANGUAGES)}")
    if row["precision"] not in PRECISIONS:
        raise fail(f"precision must be one of {PRECISIONS}")
    try:
        score = float(row["security_severity"])
    except ValueError:
        raise fail("security_severity must be a number written as a string") from None
    if not 0.0 < score <= 10.0:
        raise fail("security_severity must be in (0.0, 10.0]")
    for key in ("short_description", "full_description"):
        if len(row[key]) > _MAX_DESCRIPTION:
            raise fail(f"{key} is longer than {_MAX_DESCRIPTION} characters")
    cwe = row["cwe"]
    if not cwe or not all(isinstance(n, int) and n in cwe_names for n in cwe):
        raise fail("cwe must list CWE numbers that have a [[cwe]] row")
    tags = list(row["tags"])
    if not tags or not all(isinstance(t, str) and t for t in tags):
        raise fail("tags must be a list of strings")
    tags += [f"external/cwe/cwe-{n}" for n in cwe if f"external/cwe/cwe-{n}" not in tags]
    if len(tags) > _MAX_TAGS:
        raise fail(f"more than {_MAX_TAGS} tags, GitHub would drop some")
    references = []
    for ref in row["references"]:
        if not isinstance(ref, dict) or set(ref) != {"title", "url"}:
            raise fail(f"references need exactly a title and a url: {ref!r}")
        references.append(Reference(title=ref["title"], url=ref["url"]))
    if not references:
        raise fail("references must not be empty")
    bad, good = row["bad"].strip("\n"), row["good"].strip("\n")
    markdown = _help_markdown(row["what"], row["why"], bad, good, row["policy"], references,
                              row["example_language"])
    return Rule(
        id=rule_id, name=row["name"], short_description=row["short_description"].strip(),
        full_description=row["full_description"].strip(), level=row["level"],
        security_severity=row["security_severity"], precision=row["precision"], cwe=tuple(cwe),
        tags=tuple(tags), help_markdown=markdown, help_text=markdown_to_text(markdown),
        bad_example=bad, good_example=good, references=tuple(references),
        example_language=row["example_language"], fix=row["fix"].strip())


def help_sections(example_language: str = "apex") -> tuple[str, ...]:
    """The help headings of a rule whose examples are in `example_language`, in order."""
    word = EXAMPLE_LANGUAGES[example_language][0]
    return tuple(title.replace("Apex)", f"{word})") for title in HELP_SECTIONS)


def _help_markdown(what: str, why: str, bad: str, good: str, policy: str,
                   references: list[Reference], example_language: str = "apex") -> str:
    fence = EXAMPLE_LANGUAGES[example_language][1]
    bodies = (
        what.strip(),
        why.strip(),
        f"```{fence}\n{bad}\n```",
        f"```{fence}\n{good}\n```",
        policy.strip(),
        "\n".join(f"- [{ref.title}]({ref.url})" for ref in references),
    )
    headings = help_sections(example_language)
    return "\n\n".join(f"## {title}\n\n{body}" for title, body in zip(headings, bodies)) + "\n"


_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*([^*\s][^*]*)\*(?![*\w])")
_CODE = re.compile(r"`([^`]+)`")  # one capture group: split() keeps the insides


def markdown_to_text(markdown: str) -> str:
    """The small markdown subset of rule help, as plain text: headings become plain lines, fenced
    code is indented by four spaces, links become "title (url)", emphasis and backticks go."""
    out: list[str] = []
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            out.append(f"    {line}" if line else "")
            continue
        if line.startswith("#"):
            out.append(line.lstrip("#").strip())
            continue
        # Emphasis markers inside `code spans` are literal (globs such as `*.cls`).
        parts = _CODE.split(line)  # odd indexes are the insides of code spans
        out.append("".join(
            part if i % 2 else _ITALIC.sub(r"\1", _BOLD.sub(r"\1", _LINK.sub(r"\1 (\2)", part)))
            for i, part in enumerate(parts)))
    return "\n".join(out).rstrip("\n") + "\n"
