"""Re-scanning with the previous scan's linking (the language server after a save): only the
changed files are linked again, and the result is exactly that of a fresh scan."""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import write_project

from apexscan.engine.link import Linker
from apexscan.pipeline.cache import FactsCache
from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import ScanMemory, scan
from apexscan.salesforce.policy import load_policy

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "fintech-org"
TRIAGE = "force-app/main/default/classes/clients/ComplaintTriageService.cls"


@pytest.fixture
def org(tmp_path) -> Path:
    root = tmp_path / "org"
    shutil.copytree(SAMPLE, root)
    return root


class Editor:
    """Scans a project as the language server does: one facts cache and one memory throughout."""

    def __init__(self, root: Path, cache_dir: Path):
        self.root = root
        self.cache = FactsCache(cache_dir, root)
        self.memory = ScanMemory()
        self.policy = load_policy(None, root)

    def scan(self):
        result = scan(discover([self.root]), self.policy, cache=self.cache, memory=self.memory)
        self.cache.save()
        return result

    def fresh(self):
        return scan(discover([self.root]), self.policy)

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


def edges(graph) -> Counter:
    return Counter((u, v, repr(sorted(d.items()))) for u, v, d in graph.edges(data=True))


def triage_sinks(result) -> set[tuple[str, int]]:
    return {(f.rule_id, f.location.line) for f in result.findings if f.location.path == TRIAGE}


def test_a_body_edit_relinks_that_file_only_and_matches_a_fresh_scan(org, tmp_path):
    editor = Editor(org, tmp_path / "cache")
    first = editor.scan()
    linker = editor.memory.linker
    assert ("APX-LLM-001", 35) in triage_sinks(first)

    # Every line below moves down, and `direct` now sends to the bank's own gateway.
    editor.edit(TRIAGE, "public with sharing class", "\n\npublic with sharing class")
    editor.edit(TRIAGE, "req.setEndpoint(URL);", "req.setEndpoint(GATEWAY_URL);")
    second = editor.scan()

    assert editor.memory.linker is linker  # patched, not rebuilt
    assert second == editor.fresh()
    assert triage_sinks(first) == {("APX-LLM-001", 35), ("APX-LLM-006", 26)}
    assert triage_sinks(second) == set()  # neither the leak nor the hard-coded OpenAI URL
    assert len(second.findings) == len(first.findings) - 2
    rebuilt = Linker(linker.files, editor.policy.sanitizers)
    program = rebuilt.link()
    assert edges(program.graph) == edges(linker.graph)
    assert set(program.graph.nodes) == set(linker.graph.nodes)
    assert rebuilt.strdefs == linker.strdefs  # the same definitions in the same order
    assert program.call_targets == linker.call_targets
    assert program.functions == linker.functions


def test_undoing_an_edit_brings_the_finding_back(org, tmp_path):
    editor = Editor(org, tmp_path / "cache")
    first = editor.scan()
    editor.edit(TRIAGE, "req.setEndpoint(URL);", "req.setEndpoint(GATEWAY_URL);")
    editor.scan()
    editor.edit(TRIAGE, "req.setEndpoint(GATEWAY_URL);", "req.setEndpoint(URL);")
    assert editor.scan() == first


def test_a_signature_change_links_the_project_afresh(org, tmp_path):
    editor = Editor(org, tmp_path / "cache")
    editor.scan()
    linker = editor.memory.linker
    # A new parameter changes which calls resolve to `direct` anywhere in the project.
    editor.edit(TRIAGE, "private static String direct(String complaintText)",
                "private static String direct(String complaintText, Integer attempt)")
    editor.edit(TRIAGE, ": direct(text));", ": direct(text, 1));")
    result = editor.scan()
    assert editor.memory.linker is not linker
    assert result == editor.fresh()
    assert ("APX-LLM-001", 35) in triage_sinks(result)


def test_a_new_file_links_the_project_afresh(org, tmp_path):
    editor = Editor(org, tmp_path / "cache")
    editor.scan()
    linker = editor.memory.linker
    (org / "force-app/main/default/classes/clients/Extra.cls").write_text(
        "public class Extra { public static String name() { return 'x'; } }\n", encoding="utf-8")
    result = editor.scan()
    assert editor.memory.linker is not linker
    assert result == editor.fresh()


def test_a_changed_policy_sanitizer_links_the_project_afresh(org, tmp_path):
    editor = Editor(org, tmp_path / "cache")
    editor.scan()
    linker = editor.memory.linker
    editor.edit("apexscan.toml", 'sanitizers = ["PiiMasker.mask"]',
                'sanitizers = ["PiiMasker.mask", "ComplaintTriageService.direct"]')
    editor.policy = load_policy(None, org)
    result = editor.scan()
    assert editor.memory.linker is not linker
    assert result == editor.fresh()
    assert ("APX-LLM-001", 35) not in triage_sinks(result)


def test_every_code_file_edited_in_turn_gives_what_a_fresh_scan_gives(org, tmp_path):
    """A blank line in the middle of each Apex, trigger and LWC file, one after another: each
    re-scan patches the previous linking, and each result equals a fresh scan."""
    editor = Editor(org, tmp_path / "cache")
    editor.scan()
    linker = editor.memory.linker
    code = sorted(p for p in org.rglob("*") if p.suffix in (".cls", ".trigger", ".js"))
    assert len(code) > 40
    for path in code:
        lines = path.read_text(encoding="utf-8").split("\n")
        lines.insert(len(lines) // 2, "")
        path.write_text("\n".join(lines), encoding="utf-8")
        assert editor.scan() == editor.fresh(), path
    assert editor.memory.linker is linker


def test_two_files_defining_one_class_are_relinked_apart(tmp_path):
    """Copies of a class in two folders name their call results alike: editing one copy must not
    change how the other links (a reviewer's fuzzer found the two sharing result types)."""
    (tmp_path / "dup").mkdir()
    root = write_project(tmp_path / "dup", {
        "classes/Payload.cls": """
            public class Payload {
                String body;
                public Payload(String s) { body = s; }
                public String text() { return 'x'; }
            }
        """,
        "classes/Dup.cls": """
            public class Dup {
                public static String go(String s) {
                    String r = Dup.make(s).text();
                    return r;
                }
                public static Payload make(String s) { return new Payload(s); }
            }
        """,
        "/force-app/other/classes/Dup.cls": """
            public class Dup {
                public static String go(String s) {
                    String r = Jsn.make(s).text();
                    HttpRequest req = new HttpRequest(); req.setEndpoint('https://api.openai.com/v1/chat/completions'); req.setBody(r); new Http().send(req);
                    return r;
                }
                public static Payload make(String s) { return new Payload(s); }
                public static void entry() { Contact c = [SELECT Email FROM Contact LIMIT 1]; go(c.Email); }
            }
        """,
    })
    editor = Editor(root, tmp_path / "cache")
    editor.scan()
    linker = editor.memory.linker
    editor.edit("force-app/main/default/classes/Dup.cls", "String r = Dup.make(s).text();", "String q = Zzz.make(s);")
    result = editor.scan()
    assert editor.memory.linker is linker
    assert result == editor.fresh()
    program = Linker(linker.files, editor.policy.sanitizers).link()
    assert edges(program.graph) == edges(linker.graph)
