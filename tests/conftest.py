"""Shared helpers: build a small SFDX project on disk, scan it, read `// expect:` markers."""
from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import scan
from apexscan.salesforce.policy import load_policy, policy_from_dict

MARKER = re.compile(r"(?://|<!--|#)\s*expect:\s*([A-Z0-9, -]+?)\s*(?:-->|$)")
# Files whose markers `expected` reads: Salesforce source and metadata, and services' code and configuration.
MARKED_SUFFIXES = (".cls", ".trigger", ".xml", ".js", ".html", ".genAiPlannerBundle", ".py", ".ts", ".tsx", ".mjs", ".cjs", ".tf")

# The OpenAI Named Credential most tests call out through (itself an APX-CFG-002 finding).
OPENAI_NC = """
<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>OpenAI</label>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://api.openai.com</parameterValue> <!-- expect: APX-CFG-002 -->
    </namedCredentialParameters>
</NamedCredential>
"""

@pytest.fixture
def chromium(tmp_path):
    """Headless Chromium (tests/chromium.py) for one test; skipped without it, except under CI."""
    from chromium import CHROMIUM, Chromium  # a browser only for the tests that ask for one

    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with open(tmp_path / "chromium.log", "wb") as log:
        browser = Chromium(tmp_path / "profile", log)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(autouse=True)
def _private_cache_folder(tmp_path_factory, monkeypatch):
    """The CLI keeps parsed facts in the user's cache folder, authenticated with a key in the
    user's state folder: give each test its own, empty ones."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
    monkeypatch.delenv("APEXSCAN_CACHE_KEY", raising=False)


SFDX = '{"packageDirectories": [{"path": "force-app", "default": true}]}\n'


def write_project(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (paths relative to force-app/main/default, or to the root when they start
    with '/') plus an sfdx-project.json, and return the project root."""
    (root / "sfdx-project.json").write_text(SFDX, encoding="utf-8")
    for rel, content in files.items():
        path = root / rel.lstrip("/") if rel.startswith("/") else root / "force-app/main/default" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def run(root: Path, policy: dict | None = None):
    project = discover([root])
    pol = policy_from_dict(policy, "test policy") if policy is not None else load_policy(None, project.root)
    return scan(project, pol, strict=True)


def data_findings(result) -> list:
    """The findings about data reaching an LLM (APX-LLM-*), without metadata-only ones (APX-CFG-*)."""
    return [f for f in result.findings if f.rule_id.startswith("APX-LLM")]


def found(result) -> set[tuple[str, int, str]]:
    return {(f.location.path, f.location.line, f.rule_id) for f in result.findings}


def expected(root: Path) -> set[tuple[str, int, str]]:
    """Every `// expect: RULE[, RULE]` (or `<!-- expect: RULE -->`, `# expect: RULE`) marker under `root`."""
    out = set()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in MARKED_SUFFIXES:
            continue
        for number, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1):
            m = MARKER.search(line)
            if m:
                for rule in re.split(r"[,\s]+", m.group(1).strip()):
                    if rule:
                        out.add((path.relative_to(root).as_posix(), number, rule))
    return out


def assert_exact(root: Path, result) -> None:
    want, got = expected(root), found(result)
    missing, extra = sorted(want - got), sorted(got - want)
    details = "\n".join(
        [f"missing: {m}" for m in missing] +
        [f"unexpected: {e} {next(f.message for f in result.findings if (f.location.path, f.location.line, f.rule_id) == e)}"
         for e in extra])
    assert not missing and not extra, details


def scan_tree(root: Path, files: dict[str, str], policy: dict | None = None):
    """Write `files` (paths relative to `root`, no sfdx-project.json: a repository of services)
    and scan it strictly with `policy` (the default policy when None)."""
    from apexscan.salesforce.policy import Policy

    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    pol = policy_from_dict(policy, "test policy") if policy is not None else Policy()
    return scan(discover([root]), pol, strict=True)


@pytest.fixture
def project(tmp_path):
    def make(files: dict[str, str | bytes]) -> Path:
        return write_project(tmp_path, files)
    return make
