"""Hostile and broken Mule input: the Mule frontends never raise, whatever the bytes.

Arbitrary bytes, mutated files of samples/mule-estate and DataWeave token soup go through the
frontends `scan` uses for each Mule file kind; every problem must come back as a Diagnostic.
`APEXSCAN_FUZZ_SCALE=20 python -m pytest tests/test_mule_robustness.py` runs more examples.
"""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apexscan.engine.facts import FileFacts
from apexscan.engine.model import Diagnostic
from apexscan.frontends.metadata import MetadataFacts
from apexscan.frontends.mule import dataweave as dw
from apexscan.pipeline.lowering import lower_bytes

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "mule-estate"
SCALE = max(1, int(os.environ.get("APEXSCAN_FUZZ_SCALE", "1")))
KINDS = {".xml": "mule", ".dwl": "dataweave", ".properties": "mule-config", ".yaml": "mule-config",
         ".example": "mule-config", ".json": "mule-config"}
PATHS = [("app/src/main/mule/f.xml", "mule"), ("app/src/main/resources/dw/x.dwl", "dataweave"),
         ("app/src/main/resources/a.properties", "mule-config"), ("app/src/main/resources/a.yaml", "mule-config"),
         ("app/src/main/resources/envVars.json", "mule-config"), ("app/pom.xml", "mule-project")]
SEEDS = tuple((p.relative_to(SAMPLE).as_posix(), "mule-project" if p.name == "pom.xml" else KINDS[p.suffix],
               p.read_bytes())
              for p in sorted(SAMPLE.rglob("*")) if p.is_file() and (p.suffix in KINDS or p.name == "pom.xml")
              and "/src/" in p.as_posix() or p.name == "pom.xml")


def fuzz(examples: int):
    return settings(max_examples=examples * SCALE, deadline=None, database=None,
                    derandomize=os.environ.get("CI") == "true",
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def lower(rel: str, kind: str, data: bytes) -> None:
    facts, diags = lower_bytes(rel, kind, data)
    parts = facts if isinstance(facts, tuple) else (facts,)
    assert all(isinstance(p, (FileFacts, MetadataFacts)) for p in parts)
    assert all(isinstance(d, Diagnostic) and d.path == rel for d in diags)


ARBITRARY = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=512).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.tuples(st.sampled_from([b'<?xml version="1.0"?><mule xmlns="http://www.mulesoft.org/schema/mule/core"><flow name="f">',
                               b"%dw 2.0\noutput json\n---\n", b"a:\n  b: ", b'{"OPENAI": ', b"key=${",
                               b"<project><packaging>mule-application</packaging>"]),
              st.binary(max_size=512)).map(b"".join),
)


def test_the_seeds_cover_every_mule_kind():
    assert {kind for _, kind, _ in SEEDS} == {"mule", "dataweave", "mule-config", "mule-project"}


@fuzz(40)
@given(target=st.sampled_from(PATHS), data=ARBITRARY)
@example(target=PATHS[0], data=b"")
@example(target=PATHS[3], data=b"a: &a [*a]")
def test_fuzz_mule_frontends_never_raise_on_arbitrary_bytes(target, data):
    lower(*target, data)


@st.composite
def mutated(draw, content: bytes) -> bytes:
    out = bytearray(content)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, max(0, len(out) - 1)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "markup"]))
        if op == "flip" and out:
            out[at] = draw(st.integers(0, 255))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del out[at:at + draw(st.integers(1, 64))]
        else:
            out[at:at] = draw(st.sampled_from([b"<", b">", b"#[", b"]", b"${", b"}", b"(", b"'", b'"', b"---",
                                               b"\x00", b"<!DOCTYPE x>", b"<![CDATA[", b"]]>", b"&", b"\\"]))
    return bytes(out)


@fuzz(120)
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_fuzz_mutated_sample_files_never_raise(seed, data):
    rel, kind, content = seed
    lower(rel, kind, data.draw(mutated(content), label="mutated"))


DW_TOKENS = ["payload", "vars", ".", "x", "Email", "[", "]", "0", "{", "}", "(", ")", ":", ",", "++", "map", "$",
             "->", "if", "else", "match", "case", "do", "---", "var", "=", "fun", "'s'", '"$(', "default", "as",
             "String", "write", "update", "at", "!", "?", "..", ".*", "@", "#", "/re/", "|2020-01-01|", "java!a::b::c",
             "\n", " "]


@fuzz(200)
@given(tokens=st.lists(st.sampled_from(DW_TOKENS), max_size=60))
def test_fuzz_dataweave_token_soup_is_read_or_refused(tokens):
    src = " ".join(tokens)
    payload = dw.Value()
    try:
        script = dw.parse(src)
    except dw.DataWeaveError as exc:
        assert 0 <= exc.offset <= len(src) + 1
        return
    try:
        dw.Evaluator(payload, lambda n: dw.NOTHING, lambda: dw.NOTHING).run(script)
    except dw.DataWeaveError:
        pass
