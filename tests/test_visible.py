"""Trojan Source (issue 12, item 11): text meant for people shows invisible characters; machine formats keep them.

File names and code excerpts come from the scanned repository. In text reports, diagnostics, the
Markdown and HTML inventories and editor messages, bidirectional controls and other invisible or
control characters are shown as `<U+XXXX>`; SARIF and JSON keep the exact text.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import write_project

from apexscan.interfaces import lsp
from apexscan.interfaces.cli import main
from apexscan.interfaces.report.visible import visible, visible_line

RLO, LRI, PDI, LRM, ALM, ZWSP = "\u202e", "\u2066", "\u2069", "\u200e", "\u061c", "\u200b"
HIDDEN = [RLO, LRI, PDI, LRM, "\u200f", ALM, ZWSP, "\u202a", "\u202b", "\u202c", "\u202d", "\u2067", "\u2068",
          "\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\ufeff", "\udcff", "\ue000"]
# A class file whose name reads "Leakscl.cls" once the override has reversed it.
NAME = f"Leak{RLO}slc.cls"
LEAK = """
public with sharing class Leak {
    public static void go(Id id) {
        Contact c = [SELECT Email FROM Contact WHERE Id = :id];
        HttpRequest req = new HttpRequest();
        req.setEndpoint('https://api.openai.com/v1/chat/completions');
        req.setBody('{"messages":"' + c.Email + '"}'); // %s
        new Http().send(req);
    }
}
""" % f"access {LRI}level{PDI} check"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("char", HIDDEN, ids=[f"U+{ord(c):04X}" for c in HIDDEN])
def test_each_invisible_or_control_character_is_shown_by_its_code_point(char):
    assert visible(f"a{char}b") == f"a<U+{ord(char):04X}>b"


def test_printable_text_of_every_script_and_tab_are_kept():
    text = "Straße 中文 عربي Ελληνικά emoji 🙂 tab\there <b>|`"
    assert visible(text) == text
    assert visible("a\tb", keep_tab=False) == "a<U+0009>b"
    assert visible(f"a{RLO}b", markup=True) == "a&lt;U+202E&gt;b"
    assert visible_line(f"one\ntwo {RLO} \t three") == "one<U+000A>two <U+202E> three"


@pytest.fixture
def root(tmp_path):
    return write_project(tmp_path, {f"classes/{NAME}": LEAK})


def test_text_report_and_diagnostics_show_bidi_controls(root):
    (root / "force-app/main/default/classes" / f"Bad{LRM}.cls").write_text("public class Bad {")
    r = invoke("scan", str(root), "--fail-on", "never")
    assert r.exit_code == 0
    for stream in (r.stdout, r.stderr):
        assert not any(c in stream for c in HIDDEN), "an invisible character reaches the terminal"
    assert "classes/Leak<U+202E>slc.cls:7:9: error[APX-LLM-001]" in r.stdout
    assert "classes/Bad<U+200E>.cls:1:1: warning[APX-SCAN-001]" in r.stdout


def test_markdown_and_html_inventories_show_them(root):
    markdown = invoke("inventory", str(root), "--format", "markdown").stdout
    # escaped as HTML, since GitHub renders the HTML in Markdown (a bare <U+202E> would vanish as a tag)
    assert "classes/Leak&lt;U+202E&gt;slc.cls:7" in markdown and RLO not in markdown
    html = invoke("inventory", str(root), "--format", "html").stdout
    assert "Leak&lt;U+202E&gt;slc.cls" in html and RLO not in html


def test_sarif_and_json_keep_the_exact_name(root):
    doc = json.loads(invoke("scan", str(root), "--format", "json").stdout)
    assert f"force-app/main/default/classes/{NAME}" in {f["location"]["path"] for f in doc["findings"]}
    inventory = json.loads(invoke("inventory", str(root), "--format", "json").stdout)
    assert any(NAME in c["location"]["path"] for c in inventory["channels"])
    sarif = json.loads(invoke("scan", str(root), "--format", "sarif").stdout)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]
            for loc in r["locations"]}
    assert any("Leak" in uri and ("%E2%80%AE" in uri or RLO in uri) for uri in uris)


def test_editor_messages_show_them():
    assert lsp._one_line(f"sent {RLO}to\nhere") == "sent <U+202E>to<U+000A>here"
