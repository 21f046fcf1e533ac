"""The inventory an auditor signs: summary, record header, why no finding, Markdown for pull
requests, CSV, the estate of several systems and its links, and the page in a real browser at
360 px, 1400 px and in print (issue 18).

Browser screenshots and the printed PDF are written to each test's tmp_path: run
`pytest tests/test_inventory_page.py --basetemp=/tmp/shots` and look at them.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import OPENAI_NC, write_project
from test_inventory import SAMPLE, channel, git, inventory_of

from apexscan.frontends.metadata import identity_digest
from apexscan.interfaces.cli import main
from apexscan.interfaces.report.inventory import (
    MAX_MARKDOWN,
    csv_cell,
    render_channels_csv,
    render_findings_csv,
    render_inventory_html,
    render_inventory_markdown,
)
from apexscan.interfaces.report.inventory_labels import dest_key
from apexscan.interfaces.report.inventory_svg import MAX_ROWS
from apexscan.pipeline.estate import estate_targets, merge
from apexscan.pipeline.inventory import METADATA_KINDS
from apexscan.pipeline.project import UsageError
from apexscan.pipeline.record import git_state, policy_file, scan_time, source_of, stamp

ROOT = Path(__file__).resolve().parent.parent
WHEN = "2025-03-31T12:00:00Z"


@pytest.fixture(scope="module")
def doc() -> dict:
    return stamp(inventory_of(SAMPLE), WHEN, "--timestamp", "0.1.0")


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env)


# --- the summary --------------------------------------------------------------------------------


def test_the_sample_orgs_summary_numbers(doc):
    s = doc["summary"]
    assert (s["channels"], s["code_channels"], s["metadata_channels"], s["destinations"]) == (89, 67, 22, 26)
    assert s["findings"] == {"error": 33, "warning": 16, "note": 3, "suppressed": 0}
    assert (s["channels_with_findings"], s["channels_with_sensitive_data"]) == (48, 61)
    groups = {by: {g["value"]: (len(g["destinations"]), g["channels"], g["sensitive_fields"], g["findings"])
                   for g in rows} for by, rows in s["groups"].items()}
    assert groups["verdict"] == {"foreign": (6, 55, 25, 43), "unknown": (6, 6, 6, 3), "sovereign": (2, 12, 12, 0),
                                 "not-llm": (11, 15, 10, 5), "in-org": (1, 1, 1, 0)}
    assert groups["jurisdiction"] == {"US": (7, 54, 25, 42), "unknown": (18, 27, 13, 9), "FR": (1, 8, 11, 0)}
    assert groups["provider"]["OpenAI"] == (1, 40, 24, 32) and groups["provider"]["Mistral AI"] == (1, 8, 11, 0)
    assert groups["provider"]["Anthropic"] == (1, 2, 7, 3)
    assert groups["region"] == {"global": (2, 42, 24, 35), "unknown": (22, 37, 14, 15), "US": (1, 2, 1, 1),
                                "EU": (1, 8, 11, 0)}
    assert [g["value"] for g in s["groups"]["verdict"]] == ["foreign", "unknown", "sovereign", "not-llm", "in-org"]
    # the counts agree with the channels themselves
    # (a destination's verdict is the worst any channel gives it: a Named Credential's host, judged alone,
    # may be "not an LLM" while a callout through it shows an LLM path)
    keys = {r["destination"] for r in s["by_destination"] if r["verdict"] == "foreign"}
    foreign = [c for c in doc["channels"] if any(dest_key(d) in keys for d in c["destinations"])]
    assert len(foreign) == 55
    assert len({f["field"] for c in foreign for f in c["data"]["fields"] if f["sensitivity"] == "sensitive"}) == 25
    openai, = [r for r in s["by_destination"] if r["destination"] == "api.openai.com"]
    assert (openai["verdict"], openai["provider"], openai["jurisdiction"], openai["channels"]) == ("foreign", "OpenAI",
                                                                                                   "US", 40)


def test_the_summary_comes_first_in_every_format(doc):
    page = render_inventory_html(doc)
    order = [page.index(f'<section id="{s}">') for s in ("summary", "picture", "channels", "findings")]
    assert order == sorted(order)
    assert "<strong>89</strong> channels" in page and "<strong>52</strong> findings (33 errors, 16 warnings, 3 notes)" \
        in page and "By legal seat (jurisdiction)" in page and "By provider" in page and "By processing region" in page
    md = render_inventory_markdown(doc)
    assert md.index("| Verdict | Destinations") < md.index("## Channels in code")
    assert "| foreign | 6 | 55 | 25 | 43 |" in md and "| FR | sovereign | 1 | 8 | 11 | 0 |" in md


# --- why a channel has no finding ---------------------------------------------------------------


def test_every_channel_without_a_finding_says_why(doc):
    for c in doc["channels"]:
        active = any(not f["suppressed"] for f in c["findings"])
        assert bool(c["no_finding_because"]) != active, c["id"]
        assert c["no_finding_because"] != "no rule applies to this channel", c["id"]
    why = {c["id"]: c["no_finding_because"] for c in doc["channels"]}
    assert why["apex-callout:ClientAddressGeocoder.geocodeLater:Http.send"].startswith("not an LLM API")
    assert why["apex-callout:MistralEuProvider.complete:Http.send"].startswith("sovereign")
    assert why["apex-callout:ProposalDraftService.draftCoverLetter:Http.send"].startswith("guarded by a residency check")
    assert why["apex-callout:ConsentLedgerClient.record:Http.send"] == "stays in the org"
    assert why["apex-callout:ClientCallPrepController.suggestOpeningLine:Http.send"] == "no record data reaches it"
    assert why["outbound-message:Contact.Release_Event_Seat"] == "only non-sensitive data"
    assert why["apex-callout:DocumentArchiveClient.store:Http.send"] == "destination not resolved and no sign of an LLM"
    assert why["connected-app:Advisor_Mobile"] == "inbound API access with IP restrictions enforced"
    page, md = render_inventory_html(doc), render_inventory_markdown(doc)
    assert '<span class="why">guarded by a residency check before the request is sent</span>' in page
    assert "none (stays in the org) |" in md


def test_a_channel_whose_data_is_not_traced_or_whose_finding_is_suppressed_says_so(monkeypatch, tmp_path):
    from apexscan.pipeline import inventory
    monkeypatch.setattr(inventory, "MAX_TRACE_NODES", 1)
    small = inventory_of(SAMPLE)
    assert channel(small, "apex-callout:ClientAddressGeocoder.geocodeLater:Http.send")["no_finding_because"] \
        .startswith("not traced: too much of the project reaches it")
    monkeypatch.undo()
    write_project(tmp_path, {
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/Brief.cls": """
            public with sharing class Brief {
                @AuraEnabled
                public static String send(Id contactId) {
                    Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(c.Email);
                    // apexscan:ignore APX-LLM-001 the DPA with OpenAI covers e-mail addresses (DPO, 2025-02)
                    return new Http().send(req).getBody();
                }
            }
            """})
    project = json.loads(invoke("inventory", str(tmp_path), "--format", "json").stdout)  # suppressions applied
    c = channel(project, "apex-callout:Brief.send:Http.send")
    assert [(f["rule"], f["suppressed"]) for f in c["findings"]] == [("APX-LLM-001", True)]
    assert c["no_finding_because"] == "its findings are suppressed (assessed with apexscan:ignore)"
    assert project["summary"]["findings"]["suppressed"] == 1


# --- the record header --------------------------------------------------------------------------


def test_scan_time_comes_from_the_option_the_environment_or_the_clock():
    assert scan_time("2025-03-31T14:00:00+02:00", {}) == ("2025-03-31T12:00:00Z", "--timestamp")
    assert scan_time("@1743422400", {"SOURCE_DATE_EPOCH": "1"}) == ("2025-03-31T12:00:00Z", "--timestamp")
    assert scan_time(None, {"SOURCE_DATE_EPOCH": "1743422400"}) == ("2025-03-31T12:00:00Z", "SOURCE_DATE_EPOCH")
    when, source = scan_time(None, {})
    assert source == "clock" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", when)
    for bad in ("yesterday", "2025-03-31T12:00:00"):  # no offset: not a time an auditor can place
        with pytest.raises(UsageError, match="--timestamp"):
            scan_time(bad, {})
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        scan_time(None, {"SOURCE_DATE_EPOCH": "soon"})


def test_the_record_names_time_commit_policy_and_version_and_is_reproducible(tmp_path):
    env = {"SOURCE_DATE_EPOCH": "1743422400"}
    first = invoke("inventory", str(SAMPLE), "--no-cache", env=env)
    again = invoke("inventory", str(SAMPLE), env=env)
    assert first.exit_code == 0 and first.stdout == again.stdout  # byte for byte
    page = first.stdout
    policy = hashlib.sha256((SAMPLE / "apexscan.toml").read_bytes()).hexdigest()
    text = re.sub(r"<[^>]+>", "", page)
    assert "Scanned2025-03-31T12:00:00Z UTC (from SOURCE_DATE_EPOCH)" in text
    assert f"apexscan.toml · SHA-256 {policy}" in text
    assert "Toolapexscan 0.1.0" in text
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode == 0:  # the sample is read from this repository's commit
        assert f"commit {head.stdout.strip()[:12]}" in text and "work tree state not checked" in text
    doc = json.loads(invoke("inventory", str(SAMPLE), "--format", "json", "--timestamp", "@0", env=env).stdout)
    assert doc["record"] == {"scanned_at": "1970-01-01T00:00:00Z", "scanned_at_source": "--timestamp",
                             "apexscan_version": "0.1.0"}
    assert doc["policy"]["file"] == "apexscan.toml" and doc["policy"]["sha256"] == policy
    bad = invoke("inventory", str(SAMPLE), "--timestamp", "next tuesday")
    assert bad.exit_code == 2 and "not an ISO 8601 time" in bad.stderr


def test_the_policy_file_is_hashed_as_given_or_defaults_are_named(tmp_path):
    given = tmp_path / "strict.toml"
    given.write_text('[policy]\nallowed_jurisdictions = ["EU"]\n', encoding="utf-8")
    assert policy_file(given, SAMPLE) == {"file": "strict.toml", "sha256": hashlib.sha256(given.read_bytes()).hexdigest()}
    assert policy_file(None, tmp_path) == {"file": "", "sha256": ""}
    write_project(_folder(tmp_path / "p"), {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC})
    page = invoke("inventory", str(tmp_path / "p")).stdout
    assert "built-in defaults (no policy file)" in page


def test_git_state_is_read_from_git_files_without_running_git(repo):
    write_project(_folder(repo / "org"), {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC})
    assert git_state(repo / "org", {}).unknown_because == "main has no commit yet" or \
        git_state(repo / "org", {}).commit == ""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "org")
    head = git(repo, "rev-parse", "HEAD").strip()
    state = git_state(repo / "org", {})
    assert (state.commit, state.branch, state.dirty, state.top) == (head, "main", None, repo.resolve())
    assert "not checked" in state.unknown_because
    git(repo, "pack-refs", "--all")  # the branch now lives in packed-refs only
    assert not (repo / ".git/refs/heads/main").exists() and git_state(repo, {}).commit == head
    git(repo, "checkout", "-q", "--detach")
    assert (git_state(repo, {}).commit, git_state(repo, {}).branch) == (head, "")
    git(repo, "checkout", "-q", "main")
    git(repo, "worktree", "add", "-q", "-b", "side", str(repo.parent / "side"))
    side = git_state(repo.parent / "side" / "org", {})
    assert (side.commit, side.branch, side.top) == (head, "side", (repo.parent / "side").resolve())
    assert source_of(repo / "org", {})["repository"]["path"] == "org"
    # a ceiling stops the search, as it stops git
    assert git_state(repo / "org", {"GIT_CEILING_DIRECTORIES": str(repo / "org")}).commit == ""


def test_a_hostile_git_folder_gives_an_unknown_commit_not_an_error(tmp_path):
    top = tmp_path / "repo"
    (top / ".git").mkdir(parents=True)
    (top / ".git" / "HEAD").symlink_to("/dev/zero")
    assert git_state(top, {}).commit == "" and "HEAD cannot be read" in git_state(top, {}).unknown_because
    (top / ".git" / "HEAD").unlink()
    (top / ".git" / "HEAD").write_text("ref: refs/heads/../../../../etc/passwd\n", encoding="utf-8")
    assert "not a ref" in git_state(top, {}).unknown_because
    (top / ".git" / "HEAD").write_text("x" * 200_000, encoding="utf-8")
    assert git_state(top, {}).commit == ""
    (top / ".git" / "HEAD").write_text("<script>alert(1)</script>\n", encoding="utf-8")
    assert git_state(top, {}).unknown_because == "HEAD does not name a commit"


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


# --- Markdown for pull requests -----------------------------------------------------------------


def test_changes_only_markdown_for_a_one_file_change_is_under_2_kb(tmp_path):
    base = tmp_path / "base.json"
    assert invoke("inventory", str(SAMPLE), "--format", "json", "-o", str(base)).exit_code == 0
    copy = tmp_path / "fintech-org"
    shutil.copytree(SAMPLE, copy)
    cls = copy / "force-app/main/default/classes/advisory/ClientCallPrepController.cls"
    source = cls.read_text("utf-8")
    assert "suggestOpeningLine" in source
    # the opening line now tells the model the client's mobile number
    changed = source.replace(
        "public static String suggestOpeningLine(String occasion) {",
        "public static String suggestOpeningLine(String occasion, Id contactId) {\n"
        "        Contact who = [SELECT MobilePhone FROM Contact WHERE Id = :contactId];").replace(
        "' + occasion + '.'", "' + occasion + ' with ' + who.MobilePhone + '.'")
    assert changed.count("who.MobilePhone") == 1 and "Id contactId) {" in changed
    cls.write_text(changed, "utf-8")
    res = invoke("inventory", str(copy), "--format", "markdown", "--compare", str(base), "--changes-only",
                 "--artifact-url", "https://ci.example/run/7/artifacts/inventory.html")
    assert res.exit_code == 0, res.output
    md = res.stdout
    assert len(md.encode("utf-8")) < 2048, md
    assert "## Changes since" in md and "Contact.MobilePhone" in md and "suggestOpeningLine" in md
    assert "## Channels in code" not in md and "| Verdict |" not in md
    assert "<https://ci.example/run/7/artifacts/inventory.html>" in md
    assert invoke("inventory", str(copy), "--format", "markdown", "--changes-only").exit_code == 2


def test_markdown_stays_under_its_cap_and_points_to_the_full_artifact(doc):
    full = render_inventory_markdown(doc)
    assert len(full) < MAX_MARKDOWN and "not shown" not in full
    cut = render_inventory_markdown(doc, limit=8000, artifact="inventory.html (workflow artifact)")
    assert len(cut) <= 8000
    assert re.search(r"_Cut to stay under 8,000 characters: \d+ channels not shown; the full inventory is at "
                     r"inventory.html \(workflow artifact\)\._", cut)
    assert cut.count("\n| `") < full.count("\n| `")
    estate = _estate(doc, 10)
    big = render_inventory_markdown(estate)
    assert len(big) <= MAX_MARKDOWN and "channels not shown" in big


def test_markdown_neutralises_markup_from_the_project(doc):
    evil = json.loads(json.dumps(doc))
    c = evil["channels"][0]
    c["name"] = "x` ![t](https://tracker.example/p.png) <img src=x> | y"
    c["data"]["fields"][0]["field"] = "[click](javascript:alert(1))"
    md = render_inventory_markdown(evil)
    outside_code = re.sub(r"`[^`]*`", "", md)
    assert "![t](" not in outside_code and "<img" not in outside_code
    assert not re.search(r"(?<!\\)\]\(", outside_code)  # no link: the brackets are escaped
    assert "\\[click\\](javascript:alert(1))" in md
    assert "`x' ![t](https://tracker.example/p.png) <img src=x> \\| y`" in md  # literal in a code span


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_lists_channels_per_destination_and_findings(doc):
    rows = list(csv.DictReader(io.StringIO(render_channels_csv(doc))))
    assert len(rows) == sum(max(1, len(c["destinations"])) for c in doc["channels"])
    geo, = [r for r in rows if r["channel"] == "apex-callout:ClientAddressGeocoder.geocodeLater:Http.send"]
    assert (geo["destination"], geo["verdict"], geo["sensitive_fields"], geo["findings"], geo["worst_level"]) == (
        "maps.googleapis.com", "not-llm", "Contact.MailingCity; Contact.MailingStreet", "", "none")
    assert geo["no_finding_because"].startswith("not an LLM API")
    findings = list(csv.DictReader(io.StringIO(render_findings_csv(doc))))
    assert len(findings) == 52 and {f["level"] for f in findings} == {"error", "warning", "note"}
    assert render_findings_csv(doc).startswith('"system","number","rule","level"')
    res = invoke("inventory", str(SAMPLE), "--format", "csv-findings")
    assert res.exit_code == 0 and len(list(csv.reader(io.StringIO(res.stdout)))) == 53


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"https://evil/\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1",
                                  "\r=1", " =1", "\n=1", "＝1", "=1\n=2"])
def test_csv_cells_a_spreadsheet_would_evaluate_are_neutralised(cell):
    out = csv_cell(cell)
    assert out.startswith("'") and "\n" not in out and "\r" not in out


def test_csv_from_a_hostile_project_reads_back_as_text(doc):
    evil = json.loads(json.dumps(doc))
    evil["channels"][0]["name"] = '=cmd|" /C calc"!A0'
    evil["channels"][0]["destinations"][0]["host"] = "@evil.example"
    row = next(csv.DictReader(io.StringIO(render_channels_csv(evil))))
    assert row["name"] == "'=cmd|\" /C calc\"!A0" and row["destination"] == "'@evil.example"
    assert csv_cell("plain-text") == "plain-text" and csv_cell(12) == "12"


# --- the estate: several systems, links -----------------------------------------------------------


def _estate(doc: dict, copies: int) -> dict:
    """`copies` variants of the sample's inventory (benchmarks/gen_estate.py), merged."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gen_estate
    finally:
        sys.path.pop(0)
    text = json.dumps(doc)
    return merge([json.loads(gen_estate.variant(text, k)) for k in range(copies)], "apexscan test")


def test_several_repositories_on_the_command_line_make_one_estate(tmp_path):
    other = write_project(_folder(tmp_path / "payments-org"), {
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "classes/Refund.cls": """
            public with sharing class Refund {
                @AuraEnabled
                public static String explain(Id contactId) {
                    Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
                    HttpRequest req = new HttpRequest();
                    req.setEndpoint('callout:OpenAI/v1/chat/completions');
                    req.setBody(c.Email);
                    return new Http().send(req).getBody();
                }
            }
            """})
    res = invoke("inventory", str(SAMPLE), str(other), "--format", "json", "--timestamp", WHEN)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [s["id"] for s in doc["systems"]] == ["fintech-org", "payments-org"]
    assert [s["channels"] for s in doc["systems"]] == [89, 2]
    assert doc["summary"]["channels"] == 91 and doc["project"] == "fintech-org, payments-org"
    ids = [c["id"] for c in doc["channels"]]
    assert len(set(ids)) == 91 and "payments-org/named-credential:OpenAI" in ids and \
        "fintech-org/named-credential:OpenAI" in ids
    nc = channel(doc, "payments-org/named-credential:OpenAI")
    assert nc["system"] == "payments-org" and nc["used_by"] == ["payments-org/apex-callout:Refund.explain:Http.send"]
    assert all(u in ids for c in doc["channels"] for u in c["used_by"])
    assert doc["policy"]["file"] == "" and doc["systems"][0]["policy"]["file"] == "apexscan.toml"
    assert doc["systems"][1]["policy"]["file"] == ""  # each system keeps its own policy
    page = invoke("inventory", str(other), str(SAMPLE), "--timestamp", WHEN).stdout  # order does not matter
    assert page == invoke("inventory", str(SAMPLE), str(other), "--timestamp", WHEN).stdout
    assert "Egress inventory: estate of 2 systems" in page and '<section id="links">' in page
    # an earlier estate inventory is a base; a git ref is not, for several projects
    base = tmp_path / "estate.json"
    base.write_text(res.stdout, "utf-8")
    same = invoke("inventory", str(SAMPLE), str(other), "--format", "markdown", "--compare", str(base))
    assert "No channel or path changed." in same.stdout
    refused = invoke("inventory", str(SAMPLE), str(other), "--compare", "HEAD")
    assert refused.exit_code == 2 and "a git ref compares one project" in refused.stderr


def test_folders_of_one_project_stay_one_system(tmp_path):
    classes, lwc = SAMPLE / "force-app/main/default/classes", SAMPLE / "force-app/main/default/lwc"
    assert estate_targets([classes, lwc]) == [[classes, lwc]]
    assert estate_targets([SAMPLE, tmp_path]) == [[SAMPLE], [tmp_path]]
    assert estate_targets([SAMPLE, classes]) == [[SAMPLE, classes]]  # one inside the other
    cls = classes / "advisory" / "ClientCallPrepController.cls"
    assert estate_targets([SAMPLE, cls]) == [[SAMPLE, cls]]  # a file: one project, as `scan` reads it
    with pytest.raises(UsageError, match="no such file"):
        estate_targets([SAMPLE, tmp_path / "missing"])


ORDERS_NC = """
<?xml version="1.0" encoding="UTF-8"?>
<NamedCredential xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Orders</label>
    <namedCredentialType>SecuredEndpoint</namedCredentialType>
    <namedCredentialParameters>
        <parameterName>Url</parameterName>
        <parameterType>Url</parameterType>
        <parameterValue>https://orders.northbank.eu/api/orders</parameterValue>
    </namedCredentialParameters>
</NamedCredential>
"""
COPILOT_APP = """
<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Copilot</label>
    <oauthConfig>
        <callbackUrl>https://copilot.northbank.eu/oauth/callback</callbackUrl>
        <consumerKey>3MVG9rZjd7MXFdLhTestConsumerKey</consumerKey>
        <scopes>Api</scopes>
    </oauthConfig>
    <oauthPolicy><ipRelaxation>ENFORCE</ipRelaxation></oauthPolicy>
</ConnectedApp>
"""


def _system(sid: str, kind: str, inputs: list, channels: list) -> dict:
    """A system's document as the Mule and services frontends are to emit it (see pipeline/estate.py)."""
    policy = {"allowed_jurisdictions": ["EU"], "allowed_regions": ["EU"], "allowed_hosts": [], "residency_guards": [],
              "file": "", "sha256": ""}
    return {"schema_version": 1, "generator": "test", "project": sid, "record": {}, "policy": policy,
            "summary": {}, "systems": [{"id": sid, "kind": kind, "name": sid, "source": {"folder": sid, "repository": {}},
                                        "policy": policy, "inputs": inputs, "channels": len(channels)}],
            "links": [], "channels": channels, "comparison": {}}


def _channel(sid: str, cid: str, kind: str, host: str, verdict: str) -> dict:
    return {"id": cid, "system": sid, "kind": kind, "name": cid.split(":", 1)[1], "location": {"path": "src/main/mule/a.xml",
            "line": 3, "col": 5}, "api": "", "guarded": False,
            "destinations": [{"host": host, "url": f"https://{host}/v1/chat/completions", "provider": "OpenAI",
                              "llm": True, "jurisdiction": "US", "region": "global", "unknown_because": "",
                              "verdict": verdict, "configured": ["literal"], "how": "literal", "evidence": [], "note": ""}],
            "data": {"categories": [], "objects": [], "fields": [], "traced": True, "untraced_because": ""},
            "entry_points": [], "findings": [], "used_by": [], "details": {}, "no_finding_because": "no record data"}


def test_an_org_channel_joins_a_mule_app_and_a_connected_app_joins_a_service(tmp_path):
    org = inventory_of(write_project(_folder(tmp_path / "core-org"), {
        "namedCredentials/Orders.namedCredential-meta.xml": ORDERS_NC,
        "connectedApps/Copilot.connectedApp-meta.xml": COPILOT_APP}))
    assert "3MVG9rZjd7MXFdLhTestConsumerKey" not in json.dumps(org)  # only its digest
    mule = _system("orders-mule", "mule-app", [
        {"kind": "http", "host": "orders.northbank.eu", "path": "/api/*", "what": "HTTP listener orders-listener",
         "channels": ["mule-http-request:orders-flow"]},
        {"kind": "http", "host": "", "path": "/internal", "what": "listener of unknown host", "channels": []}],
        [_channel("orders-mule", "mule-http-request:orders-flow", "mule-http-request", "api.openai.com", "foreign")])
    service = _system("copilot-svc", "service", [
        {"kind": "salesforce-api", "connected_app": "", "what": "simple_salesforce client (SF_CONSUMER_KEY)",
         "consumer_key_digest": identity_digest(" 3MVG9rZjd7MXFdLhTestConsumerKey "), "channels": []}], [])
    estate = merge([service, org, mule], "apexscan test")
    assert [s["id"] for s in estate["systems"]] == ["copilot-svc", "core-org", "orders-mule"]
    links = [(x["from_channel"], x["to_system"], x["to_channels"], x["matched"]) for x in estate["links"]]
    assert links == [
        ("core-org/connected-app:Copilot", "copilot-svc", [],
         "simple_salesforce client (SF_CONSUMER_KEY) uses the consumer key of Connected App Copilot"),
        ("core-org/named-credential:Orders", "orders-mule", ["orders-mule/mule-http-request:orders-flow"],
         "orders.northbank.eu/api/orders is served by HTTP listener orders-listener")]
    nc = channel(estate, "core-org/named-credential:Orders")
    assert nc["no_finding_because"].endswith("; the data goes on to orders-mule (see its channels)")
    page = render_inventory_html(estate)
    links_html = page[page.index('<section id="links">'):page.index("</section>", page.index('<section id="links">'))]
    assert "HTTP listener orders-listener" in links_html and "api.<wbr>openai.<wbr>com" in links_html
    assert '<span class="v v-foreign"' in links_html  # org channel → Mule app → a foreign destination
    # a listener on another path of the host, or of a host nobody knows, is not joined
    elsewhere = json.loads(json.dumps(mule).replace('"/api/*"', '"/payments"'))
    assert merge([org, elsewhere], "t")["links"] == []


# --- the page in a real browser -------------------------------------------------------------------


A4_WIDTH = 718  # CSS px of A4 paper less the page's 10 mm margins (190 mm at 96 px per inch)
NO_OVERFLOW = """[...document.querySelectorAll('td, th, dd')].filter(e => e.offsetParent !== null
  && e.scrollWidth > e.clientWidth + 1).map(e => e.tagName + ': ' + e.textContent.slice(0, 60))"""


def _open(chromium, html: str, path: Path, width: int, *, mobile: bool = False, media: str = "screen") -> None:
    path.write_text(html, encoding="utf-8")
    chromium.page("Emulation.setDeviceMetricsOverride", width=width, height=1000, deviceScaleFactor=1, mobile=mobile)
    chromium.page("Emulation.setEmulatedMedia", media=media)
    chromium.open(path.as_uri())


def _shot(chromium, path: Path, height: int = 3000) -> None:
    data = chromium.page("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": chromium.evaluate("innerWidth"),
                               "height": min(height, chromium.evaluate("document.documentElement.scrollHeight")),
                               "scale": 1})["data"]
    path.write_bytes(base64.b64decode(data))


def _visible(chromium, selector: str) -> int:
    return chromium.evaluate(f"[...document.querySelectorAll({selector!r})].filter(e => e.offsetParent !== null).length")


def _set(chromium, name: str, value: str) -> None:
    chromium.evaluate(f"(() => {{ const e = document.getElementById('filters').elements[{name!r}]; e.value = {value!r}; "
                      "e.dispatchEvent(new Event('change', {bubbles: true})); })()")


def test_page_at_1400_px_summary_first_filters_and_search(chromium, doc, tmp_path):
    _open(chromium, render_inventory_html(doc), tmp_path / "inventory.html", 1400)
    _shot(chromium, tmp_path / "inventory-1400.png")
    tops = [chromium.evaluate(f"document.getElementById({s!r}).getBoundingClientRect().top")
            for s in ("summary", "picture", "channels", "findings")]
    assert tops == sorted(tops) and tops[0] < 300  # the summary is on the first screen
    assert chromium.evaluate("document.documentElement.scrollWidth") <= 1400
    assert chromium.evaluate(NO_OVERFLOW) == []
    assert chromium.evaluate("document.getElementById('filters').hidden") is False  # the script shows them
    rows = "tr[id^='ch-']"
    assert _visible(chromium, rows) == 89
    assert chromium.evaluate("document.getElementById('shown').textContent") == \
        "Showing every channel (89) and finding (52)."
    expect = {
        ("verdict", "sovereign"): sum(any(d["verdict"] == "sovereign" for d in c["destinations"]) for c in doc["channels"]),
        ("level", "error"): sum(any(f["level"] == "error" and not f["suppressed"] for f in c["findings"])
                                for c in doc["channels"]),
        ("level", "none"): sum(not any(not f["suppressed"] for f in c["findings"]) for c in doc["channels"]),
        ("dest", "maps.googleapis.com"): 2,
        ("object", "Portfolio__c"): sum(any(f["object"] == "Portfolio__c" for f in c["data"]["fields"])
                                        for c in doc["channels"]),
        ("kind", "named-credential"): 6,
    }
    for (name, value), count in expect.items():
        chromium.evaluate("document.getElementById('filters').reset()")
        _set(chromium, name, value)
        assert _visible(chromium, rows) == count, (name, value)
    chromium.evaluate("document.getElementById('filters').reset()")
    _set(chromium, "level", "error")
    findings = _visible(chromium, "#findings tr[data-f]")
    assert findings == doc["summary"]["findings"]["error"]
    chromium.evaluate("document.getElementById('filters').reset()")
    _set(chromium, "q", "geocod")
    assert _visible(chromium, rows) == 2 and chromium.evaluate(
        f"[...document.querySelectorAll({rows!r})].every(r => r.hidden !== r.textContent.toLowerCase().includes('geocod'))")
    # a group box of the picture filters the tables to its channels
    chromium.evaluate("document.getElementById('filters').reset()")
    label = chromium.evaluate("document.querySelector('a[data-g] text').textContent")
    size = int(re.search(r"×(\d+)$", label).group(1)) if "×" in label else 1
    chromium.evaluate("document.querySelector('a[data-g]').dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    assert _visible(chromium, rows) == size
    assert "one group of the picture" in chromium.evaluate("document.getElementById('shown').textContent")
    assert chromium.console_errors() == []  # a Content-Security-Policy violation would be one


def test_page_at_360_px_reads_as_cards_without_sideways_scrolling(chromium, doc, tmp_path):
    _open(chromium, render_inventory_html(doc), tmp_path / "inventory.html", 360, mobile=True)
    _shot(chromium, tmp_path / "inventory-360.png")
    # with mobile emulation the layout viewport widens to the widest content: it must stay 360
    assert chromium.evaluate("[innerWidth, document.documentElement.scrollWidth]") == [360, 360]
    assert chromium.evaluate(NO_OVERFLOW) == []
    cells = chromium.evaluate("[...document.querySelectorAll('#channels td')].map(td => td.getBoundingClientRect().width)")
    assert len(cells) == 89 * 5 and min(cells) > 300  # full-width cards, never one letter per line
    assert chromium.evaluate("getComputedStyle(document.querySelector('#channels td'), '::before').content") == \
        '"Channel"'
    assert chromium.evaluate("document.querySelector('#picture figure').getBoundingClientRect().right") <= 360
    assert chromium.evaluate("(f => f.scrollWidth <= f.clientWidth)(document.getElementById('filters'))")
    _set(chromium, "verdict", "foreign")
    assert _visible(chromium, "tr[id^='ch-']") == \
        sum(any(d["verdict"] == "foreign" for d in c["destinations"]) for c in doc["channels"])
    assert chromium.console_errors() == []


def test_printed_page_keeps_badges_and_every_column(chromium, doc, tmp_path):
    _open(chromium, render_inventory_html(doc), tmp_path / "inventory.html", A4_WIDTH, media="print")
    _shot(chromium, tmp_path / "inventory-print.png")
    badge = chromium.evaluate("(s => [s.backgroundColor, s.color, s.borderTopStyle, s.borderTopWidth])"
                              "(getComputedStyle(document.querySelector('#channels .v-foreign')))")
    assert badge == ["rgba(0, 0, 0, 0)", "rgb(0, 0, 0)", "solid", "1px"]  # text and border, no background needed
    for hidden in ("#filters", ".steps", ".toc"):
        assert chromium.evaluate(f"getComputedStyle(document.querySelector({hidden!r})).display") == "none"
    assert chromium.evaluate(NO_OVERFLOW) == []
    right = chromium.evaluate("Math.max(...[...document.querySelectorAll('table, svg.pic')]"
                              ".map(e => e.getBoundingClientRect().right))")
    assert right <= A4_WIDTH
    right, width = chromium.evaluate("(r => [r.right, r.width])(document.querySelector('#channels th:last-child')"
                                     ".getBoundingClientRect())")
    assert right <= A4_WIDTH and width > 60  # the Findings column is all there
    pdf = base64.b64decode(chromium.page("Page.printToPDF", preferCSSPageSize=True)["data"])
    (tmp_path / "inventory.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 5 <= pages <= len(doc["channels"]) // 2, pages  # 37 pages for the sample's 89 channels
    assert chromium.console_errors() == []


def test_without_the_script_the_page_shows_everything_and_still_highlights_findings(chromium, doc, tmp_path):
    html = re.sub(r"<script>.*?</script>", "", render_inventory_html(doc), flags=re.DOTALL)
    _open(chromium, html, tmp_path / "inventory.html", 1400)
    assert chromium.evaluate("getComputedStyle(document.getElementById('filters')).display") == "none"
    assert _visible(chromium, "tr[id^='ch-']") == 89 and _visible(chromium, "#findings tr[data-f]") == 52
    chromium.evaluate("location.hash = '#finding-3'")  # as following a link to the finding would
    assert chromium.evaluate("getComputedStyle(document.querySelector('.d-3')).display") == "block"
    assert chromium.evaluate("getComputedStyle(document.querySelector('#findings tr.f-3')).backgroundColor") == \
        "rgb(255, 244, 194)"


def test_an_estate_ten_times_the_sample_stays_readable(chromium, doc, tmp_path):
    estate = stamp(_estate(doc, 10), WHEN, "--timestamp", "0.1.0")
    assert estate["summary"]["channels"] == 890 and len(estate["systems"]) == 10
    page = render_inventory_html(estate)
    assert "No picture:" not in page
    _open(chromium, page, tmp_path / "estate.html", 1400)
    _shot(chromium, tmp_path / "estate-1400.png", 6000)
    columns = chromium.evaluate("(() => { const n = {}; for (const r of document.querySelectorAll('svg.pic g.n rect')) "
                                "{ const x = r.getAttribute('x'); n[x] = (n[x] || 0) + 1; } return Object.values(n); })()")
    assert len(columns) == 3 and max(columns) <= MAX_ROWS
    assert chromium.evaluate("document.documentElement.scrollWidth") <= 1400
    # no label is truncated in the tables: every channel's and destination's full name is in its
    # cell, no cell is clipped, and nothing is shortened with an ellipsis
    assert chromium.evaluate(NO_OVERFLOW) == []
    names = chromium.evaluate("[...document.querySelectorAll(\"tr[id^='ch-']\")].map(r => "
                              "[r.querySelector('strong').textContent, r.cells[1].textContent])")
    in_tables = [c for c in estate["channels"] if c["kind"] not in METADATA_KINDS] + \
        [c for c in estate["channels"] if c["kind"] in METADATA_KINDS]
    assert [n for n, _ in names] == [c["name"] for c in in_tables]
    for (_, dests), c in zip(names, in_tables):
        assert all((d["host"] or d["url"].removeprefix("{?}")) in dests for d in c["destinations"]), c["id"]
    assert chromium.evaluate("[...document.querySelectorAll('table')].some(t => t.textContent.includes('…'))") is False
    summary = chromium.evaluate("[...document.querySelectorAll('#summary .dst tbody tr td:first-child')]"
                                ".map(td => td.textContent)")
    assert summary == [r["destination"] for r in estate["summary"]["by_destination"]]
    assert chromium.console_errors() == []


def test_the_runtime_evidence_section_has_its_place_and_fits_a_phone(chromium, tmp_path):
    out = tmp_path / "evidence.html"
    res = invoke("evidence", str(ROOT / "samples" / "fintech-org-logs"), "--project", str(SAMPLE), "--format", "html",
                 "-o", str(out), "--fail-on", "never", "--no-cache")
    assert res.exit_code == 0, res.output
    html = out.read_text("utf-8")
    assert html.index('<section id="findings">') < html.index('<section class="ev" id="evidence">') < \
        html.index("<footer>")
    assert '<a href="#evidence">Runtime evidence</a>' in html and "Scanned</dt><dd><time>" in html
    _open(chromium, html, out, 360, mobile=True)
    assert chromium.evaluate("[innerWidth, document.documentElement.scrollWidth]") == [360, 360]
    assert chromium.console_errors() == []
