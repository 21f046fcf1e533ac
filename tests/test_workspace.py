"""Where the scan stands: the policy each SFDX project is scanned with, and the paths reports use.

Two defects of the first release, reproduced here: `apexscan scan .` from a repository whose SFDX
project sits in a subfolder ignored that project's apexscan.toml (and used the defaults), and
paths were relative to the SFDX project, not to the repository, so GitHub could not place the
alerts of a subfolder project. Plus policy typos that passed silently.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import OPENAI_NC, expected, write_project

from apexscan.interfaces.cli import main
from apexscan.pipeline.workspace import open_workspace, project_roots, repository_root

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "fintech-org"

# Case text to OpenAI; the policy of the project masks it (PiiMasker.mask is a sanitizer there).
MASKED_LEAK = """
public with sharing class CaseSummarizer {
    public static String summarize(Id caseId) {
        Case c = [SELECT Description FROM Case WHERE Id = :caseId];
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody(PiiMasker.mask(c.Description));
        return new Http().send(req).getBody();
    }
}
"""
MASKER = """
public with sharing class PiiMasker {
    public static String mask(String text) { return text == null ? null : text.replaceAll('\\\\d', '#'); }
}
"""
SANITIZING_POLICY = '[policy]\nsanitizers = ["PiiMasker.mask"]\n'
ALLOW_US = '[policy]\nallowed_jurisdictions = ["EU", "US"]\nallowed_regions = ["EU", "global"]\n'


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def git_repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True)
    return root


def subfolder_project(repo: Path, policy: str | None = SANITIZING_POLICY, name: str = "salesforce") -> Path:
    project = repo / name
    project.mkdir(parents=True)
    write_project(project, {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
                            "classes/CaseSummarizer.cls": MASKED_LEAK, "classes/PiiMasker.cls": MASKER})
    if policy is not None:
        (project / "apexscan.toml").write_text(policy, encoding="utf-8")
    return project


def project_in(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    return write_project(root, files)


def rules_found(result) -> list[str]:
    return sorted(f["rule"] for f in json.loads(result.stdout)["findings"])


# --- defect 2: the policy of a subfolder project ----------------------------------------------


def test_scanning_the_repository_root_uses_the_subfolder_project_s_policy(tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "repo")
    project = subfolder_project(repo)
    monkeypatch.chdir(repo)
    from_root = invoke("scan", ".", "--format", "json")
    named = invoke("scan", "salesforce", "--format", "json")
    # The masked case text is no finding under the project's policy; only the credential is.
    assert rules_found(from_root) == rules_found(named) == ["APX-CFG-002"]
    assert "apexscan: policy: salesforce/apexscan.toml (project root)" in from_root.stderr
    (project / "apexscan.toml").unlink()
    assert rules_found(invoke("scan", ".", "--format", "json")) == ["APX-CFG-002", "APX-LLM-001"]


def test_the_sample_org_scanned_from_this_repository_s_root_gives_the_sample_s_own_findings(monkeypatch):
    checkout = SAMPLE.parents[1]
    monkeypatch.chdir(checkout)
    def sample_findings(target: str) -> list:
        doc = json.loads(invoke("scan", target, "--format", "json").stdout)
        return [(f["rule"], f["location"], f["fingerprint"]) for f in doc["findings"]
                if f["location"]["path"].startswith("samples/fintech-org/")]
    # The repository root also holds the other samples (Mule apps, services), analysed with the
    # sample org: its findings are the same, with its own policy, whichever folder is named (the
    # messages name its files from the repository root then).
    from_root = sample_findings(".")
    assert from_root == sample_findings("samples/fintech-org") and len(from_root) == len(expected(SAMPLE))


def test_policy_falls_back_to_the_repository_root_then_the_current_folder(tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "repo")
    subfolder_project(repo, policy=None)
    (repo / "apexscan.toml").write_text(SANITIZING_POLICY, encoding="utf-8")
    r = invoke("scan", str(repo / "salesforce"), "--format", "json")
    assert rules_found(r) == ["APX-CFG-002"]
    assert "policy: apexscan.toml (repository root)" in r.stderr
    (repo / "apexscan.toml").unlink()
    elsewhere = tmp_path / "ops"
    elsewhere.mkdir()
    (elsewhere / "apexscan.toml").write_text(ALLOW_US, encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    r = invoke("scan", str(repo), "--format", "json")
    assert rules_found(r) == []
    assert f"policy: {elsewhere / 'apexscan.toml'} (current folder)" in r.stderr
    monkeypatch.chdir(tmp_path)
    r = invoke("scan", str(repo), "--format", "json")
    assert "policy: built-in defaults" in r.stderr and rules_found(r) == ["APX-CFG-002", "APX-LLM-001"]


def test_apexscan_policy_variable_wins_over_found_files_and_loses_to_the_option(tmp_path):
    repo = git_repo(tmp_path / "repo")
    project = subfolder_project(repo)
    strict = tmp_path / "strict.toml"
    strict.write_text('[policy]\nallowed_jurisdictions = ["FR"]\n', encoding="utf-8")
    lax = tmp_path / "lax.toml"
    lax.write_text(ALLOW_US, encoding="utf-8")
    r = invoke("scan", str(project), "--format", "json", env={"APEXSCAN_POLICY": str(strict)})
    assert rules_found(r) == ["APX-CFG-002", "APX-LLM-001"]
    assert f"policy: {strict} (from $APEXSCAN_POLICY) ($APEXSCAN_POLICY)" not in r.stderr
    assert f"policy: {strict} ($APEXSCAN_POLICY)" in r.stderr
    r = invoke("scan", str(project), "--format", "json", "--policy", str(lax), env={"APEXSCAN_POLICY": str(strict)})
    assert rules_found(r) == [] and f"policy: {lax} (--policy)" in r.stderr
    missing = invoke("scan", str(project), env={"APEXSCAN_POLICY": str(tmp_path / "nope.toml")})
    assert missing.exit_code == 2 and "nope.toml" in missing.stderr and "APEXSCAN_POLICY" in missing.stderr


def test_sarif_says_which_policy_each_project_was_scanned_with(tmp_path):
    repo = git_repo(tmp_path / "repo")
    subfolder_project(repo, name="retail")
    subfolder_project(repo, name="wealth", policy=ALLOW_US)
    doc = json.loads(invoke("scan", str(repo), "--format", "sarif").stdout)
    run = doc["runs"][0]
    assert run["invocations"][0]["properties"] == {"projects": [
        {"root": "retail", "policy": "retail/apexscan.toml", "policySource": "project root"},
        {"root": "wealth", "policy": "wealth/apexscan.toml", "policySource": "project root"},
    ]}
    # Each project is judged by its own policy: wealth accepts US providers.
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert all(u.startswith("retail/") for u in uris) and uris
    plain = json.loads(invoke("scan", str(repo / "retail"), "--format", "sarif",
                              "--policy", str(repo / "wealth" / "apexscan.toml")).stdout)
    [project] = plain["runs"][0]["invocations"][0]["properties"]["projects"]
    assert project["policySource"] == "--policy"


def test_defaults_are_named_in_sarif_too(tmp_path):
    root = project_in(tmp_path / "p", {"classes/CaseSummarizer.cls": MASKED_LEAK})
    doc = json.loads(invoke("scan", str(root), "--format", "sarif").stdout)
    assert doc["runs"][0]["invocations"][0]["properties"] == {
        "projects": [{"root": ".", "policy": "", "policySource": "built-in defaults"}]}


def test_files_outside_every_project_are_still_scanned(tmp_path):
    repo = git_repo(tmp_path / "repo")
    subfolder_project(repo)
    loose = repo / "legacy" / "classes"
    loose.mkdir(parents=True)
    (loose / "Old.cls").write_text("public class Old {\n    void run() {\n", encoding="utf-8")  # broken
    r = invoke("scan", str(repo), "--format", "json")
    assert [d["path"] for d in json.loads(r.stdout)["diagnostics"]] == ["legacy/classes/Old.cls"]


def test_project_roots_are_the_outermost_sfdx_projects_below_a_folder(tmp_path):
    for rel in ("a", "b/nested", "b/nested/inner", "node_modules/pkg", ".hidden/x"):
        (tmp_path / rel).mkdir(parents=True)
        (tmp_path / rel / "sfdx-project.json").write_text("{}", encoding="utf-8")
    assert project_roots(tmp_path) == [tmp_path / "a", tmp_path / "b/nested"]
    assert project_roots(tmp_path / "a") == [tmp_path / "a"]


# --- defect 3: paths relative to the repository -----------------------------------------------


def test_paths_are_relative_to_the_repository_and_fingerprints_do_not_change(tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "repo")
    project = subfolder_project(repo, policy=None)
    outside = tmp_path / "copy"
    shutil.copytree(project, outside)  # the same project, in no repository: paths from its root
    inside = json.loads(invoke("scan", str(project), "--format", "sarif").stdout)["runs"][0]
    alone = json.loads(invoke("scan", str(outside), "--format", "sarif").stdout)["runs"][0]
    assert inside["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in inside["results"]]
    assert uris == ["salesforce/" + r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    for r in alone["results"]]
    steps = [loc["location"]["physicalLocation"]["artifactLocation"]["uri"]
             for r in inside["results"] for flow in r.get("codeFlows", [])
             for thread in flow["threadFlows"] for loc in thread["locations"]]
    assert steps and all(s.startswith("salesforce/force-app/") for s in steps)
    assert [r["partialFingerprints"] for r in inside["results"]] == [r["partialFingerprints"] for r in alone["results"]]
    # the text report too, as editors' problem matchers read it
    monkeypatch.chdir(repo / "salesforce" / "force-app")
    text = invoke("scan", "..").stdout
    assert text.startswith("salesforce/force-app/main/default/classes/CaseSummarizer.cls:")


def test_a_baseline_written_before_paths_moved_to_the_repository_root_still_matches(tmp_path):
    repo = git_repo(tmp_path / "repo")
    project = subfolder_project(repo, policy=None)
    baseline = tmp_path / "old.sarif"
    invoke("scan", str(project), "--format", "sarif", "-o", str(baseline), "--source-root", str(project))
    results = json.loads(baseline.read_text("utf-8"))["runs"][0]["results"]
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("force-app/")
               for r in results)  # paths as the first release wrote them
    r = invoke("scan", str(repo), "--baseline", str(baseline))
    assert r.exit_code == 0 and "2 unchanged" in r.stdout


def test_source_root_chooses_where_paths_start(tmp_path):
    repo = git_repo(tmp_path / "repo")
    project = subfolder_project(repo, policy=None)
    doc = json.loads(invoke("scan", str(repo), "--format", "json", "--source-root", str(project)).stdout)
    assert all(f["location"]["path"].startswith("force-app/") for f in doc["findings"])
    r = invoke("scan", str(repo), "--source-root", str(repo / "salesforce" / "force-app"))
    assert r.exit_code == 2 and "is not inside" in r.stderr


def test_repository_root_is_found_without_git_from_a_worktree_file(tmp_path):
    (tmp_path / "wt" / "a" / "b").mkdir(parents=True)
    (tmp_path / "wt" / ".git").write_text("gitdir: /elsewhere/.git/worktrees/wt\n", encoding="utf-8")
    assert repository_root(tmp_path / "wt" / "a" / "b") == tmp_path / "wt"
    assert repository_root(Path("/")) is None or repository_root(Path("/")) == Path("/")


# --- defect 5: policy typos -------------------------------------------------------------------


@pytest.mark.parametrize("line, code, meant", [
    ('allowed_jurisdictions = ["EUROPE"]', "EUROPE", "EU"),
    ('allowed_jurisdictions = ["EU", "EAA"]', "EAA", "EEA"),
    ('allowed_regions = ["eu-west-1"]', "EU-WEST-1", "EU"),
    ('allowed_regions = ["GLOBL"]', "GLOBL", "GLOBAL"),
])
def test_an_unknown_jurisdiction_or_region_code_is_an_error_with_a_suggestion(tmp_path, line, code, meant):
    root = project_in(tmp_path / "p", {"classes/CaseSummarizer.cls": MASKED_LEAK})
    (root / "apexscan.toml").write_text(f"[policy]\n{line}\n", encoding="utf-8")
    r = invoke("scan", str(root))
    assert r.exit_code == 2, r.stdout
    assert f"unknown code {code!r}" in r.stderr and f"did you mean {meant!r}" in r.stderr
    assert "apexscan.toml" in r.stderr


def test_every_country_group_and_region_of_the_registry_is_accepted(tmp_path):
    root = project_in(tmp_path / "p", {"classes/CaseSummarizer.cls": MASKED_LEAK})
    (root / "apexscan.toml").write_text(
        '[policy]\nallowed_jurisdictions = ["EU", "EEA", "EFTA", "UK", "GB", "CH", "US", "FR", "NO"]\n'
        'allowed_regions = ["EU", "EEA", "APAC", "global", "CA", "ME", "DE"]\n', encoding="utf-8")
    r = invoke("scan", str(root))
    assert r.exit_code == 0 and "0 findings" in r.stdout, r.stderr  # scanned, not refused


def test_a_sanitizer_or_guard_that_matches_nothing_is_a_warning(tmp_path):
    root = project_in(tmp_path / "p", {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
                                           "classes/CaseSummarizer.cls": MASKED_LEAK,
                                           "classes/PiiMasker.cls": MASKER})
    (root / "apexscan.toml").write_text(
        '[policy]\nsanitizers = ["PiiMasker.mask", "PiiMask.mask"]\nresidency_guards = ["Residency.check"]\n',
        encoding="utf-8")
    r = invoke("scan", str(root), "--fail-on", "warning")
    assert r.exit_code == 1 and "1 finding: 0 error, 1 warning" in r.stdout  # the credential only
    assert "'piimask.mask' matches no method" in r.stderr and "'piimasker.mask'" not in r.stderr
    assert "residency_guards: 'residency.check' matches no method" in r.stderr
    sarif = json.loads(invoke("scan", str(root), "--format", "sarif").stdout)
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert {(n["level"], n["properties"]["stage"]) for n in notes} == {("warning", "policy")}
    assert len(notes) == 2


def test_the_workspace_api_reports_each_project(tmp_path):
    repo = git_repo(tmp_path / "repo")
    subfolder_project(repo, name="a")
    subfolder_project(repo, name="b", policy=None)
    ws = open_workspace([repo], cwd=tmp_path, environ={})
    assert ws.report_root == repo.resolve()
    assert [(u.prefix, u.choice.source) for u in ws.units] == [("a", "project root"), ("b", "built-in defaults")]
    assert os.path.basename(str(ws.units[0].choice.path)) == "apexscan.toml"


def test_one_sfdx_project_and_the_mule_apps_beside_it_are_one_analysis_with_its_policy(tmp_path):
    """A bank's monorepo: the org in salesforce/, its Mule apps in mule/. One analysis, so the
    org's outbound message and the app it posts to are joined; the org's policy applies to both;
    the org's findings keep the fingerprints of a scan of salesforce/ alone."""
    repo = git_repo(tmp_path / "repo")
    shutil.copytree(SAMPLE, repo / "salesforce")
    shutil.copytree(SAMPLE.parent / "mule-estate" / "apps", repo / "mule")
    whole = json.loads(invoke("scan", str(repo), "--format", "json").stdout)
    alone = json.loads(invoke("scan", str(repo / "salesforce"), "--format", "json").stdout)
    space = open_workspace([repo])
    (unit,) = space.units
    assert unit.project.sfdx_prefix == "salesforce" and unit.choice.path == repo / "salesforce" / "apexscan.toml"
    paths = {f["location"]["path"].split("/", 1)[0] for f in whole["findings"]}
    assert paths == {"salesforce", "mule"}
    org = {f["fingerprint"] for f in whole["findings"] if f["location"]["path"].startswith("salesforce/")}
    assert org == {f["fingerprint"] for f in alone["findings"]}


def test_two_sfdx_projects_stay_apart_and_the_rest_is_analysed_on_its_own(tmp_path):
    repo = git_repo(tmp_path / "repo")
    subfolder_project(repo, name="billing")
    subfolder_project(repo, name="service")
    shutil.copytree(SAMPLE.parent / "mule-estate" / "apps" / "loan-intake", repo / "mule" / "loan-intake")
    space = open_workspace([repo])
    assert [u.prefix for u in space.units] == ["billing", "service", ""]
    assert all(not u.project.sfdx_prefix for u in space.units)
