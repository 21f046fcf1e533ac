"""primaryLocationLineHash as github/codeql-action computes it, and apexscan's own fingerprint."""
from __future__ import annotations

import dataclasses

import pytest

from apexscan.engine.model import (
    Destination,
    FieldClass,
    FieldRef,
    Finding,
    Location,
    Sensitivity,
    Step,
    Verdict,
)
from apexscan.pipeline.fingerprints import finding_fingerprint, line_hash, line_hashes

# Expected values from github/codeql-action src/fingerprints.test.ts.
CODEQL_ACTION_VECTORS = [
    ("", ["c129715d7a2bc9a3:1"]),
    (" a\nb\n  \t\tc\n d",
     ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"]),
    (" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End",
     ["8b7cf3e952e7aeb2:1", "b1ae1287ec4718d9:1", "bff680108adb0fcc:1", "c6805c5e1288b612:1",
      "b86d3392aea1be30:1", "e6ceba753e1a442:1"]),
    (" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n",
     ["e9496ae3ebfced30:1", "fb7c023a8b9ccb3f:1", "ce8ba1a563dcdaca:1", "e20e36e16fcb0cc8:1",
      "b3edc88f2938467e:1", "c8e28b0b4002a3a0:1", "c129715d7a2bc9a3:1"]),
    ("Lorem ipsum dolor sit amet.\n" * 10,
     ["a7f2ff13bc495cf2:1", "a7f2ff13bc495cf2:2", "a7f2ff13bc495cf2:3", "a7f2ff13bc495cf2:4",
      "a7f2ff13bc495cf2:5", "a7f2ff13bc495cf2:6", "a7f2ff1481e87703:1", "a9cf91f7bbf1862b:1",
      "55ec222b86bcae53:1", "cc97dc7b1d7d8f7b:1", "c129715d7a2bc9a3:1"]),
]


@pytest.mark.parametrize(("text", "expected"), CODEQL_ACTION_VECTORS)
def test_line_hashes_match_codeql_action_vectors(text: str, expected: list[str]) -> None:
    assert list(line_hashes(text)) == expected
    for line, value in enumerate(expected, start=1):
        assert line_hash(text, line) == value


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_cr_and_crlf_hash_like_lf(newline: str) -> None:
    lf = " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n"
    assert line_hashes(lf.replace("\n", newline)) == line_hashes(lf)


def test_mixed_line_endings_hash_like_lf() -> None:
    mixed = " hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n"
    assert line_hashes(mixed) == line_hashes(" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n")


def test_spaces_and_tabs_do_not_matter() -> None:
    assert line_hash("req.setBody(body);\n", 1) == line_hash("\t  req.setBody( body );\n", 1)


def test_line_outside_the_file_has_no_hash() -> None:
    text = "a\nb\n"
    assert len(line_hashes(text)) == 3  # a trailing newline opens an empty last line
    assert line_hash(text, 0) == ""
    assert line_hash(text, 4) == ""


def test_hash_depends_on_following_lines_not_preceding_ones() -> None:
    text = "Http h = new Http();\nHttpResponse r = h.send(req);\n"
    moved = "// a comment added above\n// another one\n" + text
    assert line_hash(moved, 3) == line_hash(text, 1)
    assert line_hash(moved, 4) == line_hash(text, 2)


def test_characters_outside_the_bmp_count_as_two_utf16_units() -> None:
    # JavaScript's charCodeAt sees a surrogate pair; the pair must not hash like one code unit.
    assert line_hash("x = '😀';\n", 1) != line_hash("x = '\ue000';\n", 1)
    assert line_hash("x = '😀';\n", 1) == line_hash("x = '\ud83d\ude00';\n", 1)


# --- finding_fingerprint -------------------------------------------------------------------------

SINK = Location("force-app/main/default/classes/CaseSummaryService.cls", 42, 9, 42, 35)
OPENAI = Destination(url="https://api.openai.com/v1/chat/completions", host="api.openai.com",
                     provider="OpenAI", jurisdiction="US", region="global", verdict=Verdict.FOREIGN,
                     how="named credential OpenAI")
EMAIL = (FieldRef("Contact", "Email"), FieldClass(Sensitivity.SENSITIVE, "personal", "catalog"))
DESCRIPTION = (FieldRef("Case", "Description"), FieldClass(Sensitivity.SENSITIVE, "free-text", "catalog"))


def finding(**changes) -> Finding:
    base = Finding(rule_id="APX-LLM-001", location=SINK, message="Sensitive data reaches a non-sovereign LLM.",
                   destination=OPENAI, fields=(DESCRIPTION, EMAIL),
                   paths=((Step(SINK, "sent by Http.send to api.openai.com"),),))
    return dataclasses.replace(base, **changes)


def test_fingerprint_ignores_line_column_message_and_paths() -> None:
    moved = Location(SINK.path, 90, 13, 90, 40)
    assert finding_fingerprint(finding()) == finding_fingerprint(
        finding(location=moved, message="reworded", paths=((Step(moved, "other"),),)))


def test_fingerprint_ignores_field_order_and_case() -> None:
    upper = (FieldRef("CONTACT", "EMAIL"), EMAIL[1])
    assert finding_fingerprint(finding()) == finding_fingerprint(finding(fields=(upper, DESCRIPTION)))


@pytest.mark.parametrize("changes", [
    {"rule_id": "APX-LLM-003"},
    {"location": Location("force-app/main/default/classes/Other.cls", 42, 9)},
    {"destination": dataclasses.replace(OPENAI, host="api.anthropic.com")},
    {"fields": (EMAIL,)},
    {"extra": (("context", "CaseSummaryService.summarize"),)},
])
def test_fingerprint_changes_with_what_the_finding_is_about(changes: dict) -> None:
    assert finding_fingerprint(finding(**changes)) != finding_fingerprint(finding())


def test_unresolved_destination_has_a_fingerprint() -> None:
    unknown = Destination(url="", host="", provider="", jurisdiction="", region="",
                          verdict=Verdict.UNKNOWN, how="unresolved: custom setting LLM_Settings__c")
    value = finding_fingerprint(finding(rule_id="APX-LLM-003", destination=unknown))
    assert len(value) == 32 and int(value, 16) >= 0
