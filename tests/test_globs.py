""".forceignore globs: gitignore semantics, matched in linear time (apexscan/pipeline/globs.py).

The matcher is checked against a plain regular-expression translation of the same semantics on
small inputs (where backtracking costs nothing), and the reproducer that made the old regex
matcher run for minutes must finish in a child process within a generous timeout.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_project
from hypothesis import given, settings
from hypothesis import strategies as st

from apexscan.engine.limits import Limits
from apexscan.pipeline.globs import Glob, _segment_match, compile_segment
from apexscan.pipeline.project import ForceIgnore, discover

REPO = Path(__file__).resolve().parent.parent


def reference(glob: str, anchored: bool, path: str) -> bool:
    """The same semantics through `re` (exponential in the worst case: small inputs only). Knows
    the classes the generated globs use: `[ab]`, `[!a]`."""
    out = []
    segments = glob.split("/")
    for index, segment in enumerate(segments):
        if segment == "**":
            last = index == len(segments) - 1
            out.append("(?:/[^/]+)+" if last and index > 0 else "(?:/[^/]+)*")
            continue
        body = ""
        for token in re.findall(r"\[!?[^\]]+\]|.", segment):
            if token == "*":
                body += "[^/]*"
            elif token == "?":
                body += "[^/]"
            elif token.startswith("[!"):
                body += "[^/" + re.escape(token[2:-1]) + "]"
            elif token.startswith("[") and len(token) > 1:
                body += "[" + re.escape(token[1:-1]) + "]"
            else:
                body += re.escape(token)
        out.append("/" + body)
    regex = ("" if anchored else "(?:/[^/]+)*") + "".join(out)
    return re.fullmatch(regex, "/" + path) is not None


GLOB_SEGMENT = st.lists(st.sampled_from(["a", "b", "*", "?", "[ab]", "[!a]", "ab"]), min_size=1, max_size=5).map("".join)
GLOBS = st.lists(st.one_of(GLOB_SEGMENT, st.just("**")), min_size=1, max_size=4).map("/".join)
PATHS = st.lists(st.text("ab", min_size=1, max_size=6), min_size=1, max_size=4).map("/".join)


@settings(max_examples=400, deadline=None, database=None)
@given(glob=GLOBS, path=PATHS, anchored=st.booleans())
def test_matcher_agrees_with_a_regular_expression_translation(glob, path, anchored):
    assert Glob.compile(glob, anchored).matches(path.split("/")) == reference(glob, anchored, path), (glob, path)


@pytest.mark.parametrize("segment,name,expected", [
    ("*.cls", "A.cls", True), ("*.cls", "A.cls-meta.xml", False), ("a*b*c", "aXbYc", True),
    ("a*b*c", "aXbY", False), ("?", "", False), ("?", "x", True), ("[a-c]x", "bx", True),
    ("[!a-c]x", "bx", False), ("[!a-c]x", "dx", True), ("\\*", "*", True), ("\\*", "x", False),
    ("[", "[", True), ("a[b", "a[b", True), ("**", "anything", True), ("*a*a*b", "aaab", True),
])
def test_segment_examples(segment, name, expected):
    assert _segment_match(compile_segment(segment), name) is expected


def test_the_exponential_reproducer_finishes_in_a_child_process():
    """`**/*a*a*a*a*a*a*a*a*a*a*a*a*b` against a 48-character name: the regex matcher was killed at 60 s."""
    code = ("from apexscan.pipeline.globs import Glob\n"
            "g = Glob.compile('**/*a*a*a*a*a*a*a*a*a*a*a*a*b', True)\n"
            "assert not g.matches(['x', 'a' * 48])\n"
            "assert not g.matches(['a' * 5000])\n"
            "assert g.matches(['a' * 5000 + 'b'])\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_long_forceignore_line_against_deep_paths_finishes(tmp_path):
    """The same shape through `discover`, with a deep folder whose names are all `a`s."""
    deep = "/".join(["a" * 40] * 6)
    write_project(tmp_path, {f"/force-app/{deep}/classes/A.cls": "public class A {}"})
    (tmp_path / ".forceignore").write_text("**/*a*a*a*a*a*a*a*a*a*a*a*a*b\n" * 50, encoding="utf-8")
    code = f"from pathlib import Path\nfrom apexscan.pipeline.project import discover\nprint(len(discover([Path({str(tmp_path)!r})]).files))\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr


def ignore(tmp_path: Path, text: str) -> ForceIgnore:
    (tmp_path / ".forceignore").write_text(text, encoding="utf-8")
    return ForceIgnore.load(tmp_path)


@pytest.mark.parametrize("rules,path,expected", [
    ("package.xml\n", "force-app/package.xml", True),            # no slash: any depth
    ("**/jsconfig.json\n", "force-app/lwc/jsconfig.json", True),
    ("**/__tests__/**\n", "force-app/lwc/x/__tests__/x.test.js", True),
    ("**/__tests__/**\n", "force-app/lwc/x/x.js", False),
    ("force-app/main/default/classes/\n", "force-app/main/default/classes/A.cls", True),  # a folder
    ("classes/\n", "force-app/main/default/classes/A.cls", True),  # folder-only, any depth
    ("A.cls/\n", "force-app/main/default/classes/A.cls", False),  # folder-only rule, a file
    ("/classes\n", "force-app/classes/A.cls", False),  # leading slash: anchored at the root
    ("/force-app/classes\n", "force-app/classes/A.cls", True),
    ("*.cls\n!Keep.cls\n", "force-app/Keep.cls", False),  # negation, last rule wins
    ("*.cls\n!Keep.cls\n", "force-app/Drop.cls", True),
    ("force-app/**/*.cls\n", "force-app/main/A.cls", True),
    ("force-app/**/*.cls\n", "force-app/A.cls", True),  # `**/` may be no folder at all
    ("force-app/**\n", "force-app", False),  # what is inside, not the folder itself
    ("force-app/**\n", "force-app/x/A.cls", True),
    ("# comment\n\n   \n", "force-app/A.cls", False),
    ("Caf[eé].cls\n", "force-app/Café.cls", True),
])
def test_forceignore_semantics(tmp_path, rules, path, expected):
    assert ignore(tmp_path, rules).ignored(path) is expected


def test_an_oversized_forceignore_is_reported_and_not_honoured(tmp_path):
    write_project(tmp_path, {"classes/A.cls": "public class A {}"})
    (tmp_path / ".forceignore").write_text("**/classes/**\n" + "x\n" * 30, encoding="utf-8")
    diags: list = []
    small = Limits(ignore_patterns=10)
    assert not ForceIgnore.load(tmp_path, diags, small).ignored("force-app/main/default/classes/A.cls")
    # reported, not an APX-SCAN-001 skip: ignoring less never hides a finding
    assert [(d.path, d.stage) for d in diags] == [(".forceignore", "discover")]
    assert "not honoured" in diags[0].message
    assert not [f for f in discover([tmp_path]).files]  # the default limits honour it: all ignored
