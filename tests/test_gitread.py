"""Issue 12, items 1, 2, 4 and the git part of 9: a hostile repository cannot run code through git,
forge the base of a comparison or a baseline, swap the policy, or make the base read unbounded.

Each test builds its repository in a temporary folder with the real `git`, from the issue's
reproducer where there is one. HOME points into the temporary folder, so a command run by a
repository's config would leave its PWNED file there.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import OPENAI_NC, write_project

from apexscan.interfaces.cli import main
from apexscan.pipeline import basecommit, gitread
from apexscan.pipeline.gitread import find_git, find_git_dir, open_repository

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="git is not installed")
CHECKOUT = Path(__file__).resolve().parents[1]

# Case text sent to OpenAI: APX-LLM-001 at the send (and APX-CFG-002 at the Named Credential).
SUMMARIZER = """
public with sharing class CaseSummarizer {
    @AuraEnabled
    public static String summarize(Id caseId) {
        Case c = [SELECT Subject FROM Case WHERE Id = :caseId WITH USER_MODE];
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody(JSON.serialize(new Map<String, Object>{'input' => c.Subject}));
        return new Http().send(req).getBody();
    }
}
"""
# The pull request's change: the case's free text goes too.
SUMMARIZER_LEAK = SUMMARIZER.replace("SELECT Subject", "SELECT Subject, Description").replace(
    "'input' => c.Subject", "'input' => c.Subject + c.Description")
NEW_PATH = "New path from Case.Description to api.openai.com"
FSMONITOR = '"id > $HOME/PWNED; false"'


def git(cwd: Path, *args: str, stdin: bytes | None = None, index: Path | None = None) -> str:
    env = {**os.environ, "GIT_INDEX_FILE": str(index)} if index is not None else None
    return subprocess.run([GIT, "-c", "user.name=Test", "-c", "user.email=test@example.com",
                           "-c", "commit.gpgsign=false", *args], cwd=cwd, input=stdin, check=True,
                          capture_output=True, env=env).stdout.decode()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A HOME of its own (where PWNED would appear), no GIT_* variable of a surrounding hook, and
    git may not look above tmp_path."""
    for key in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture
def repo(tmp_path, home) -> Path:
    root = tmp_path / "r"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


def org(project: Path, summarizer: str) -> Path:
    project.mkdir(parents=True, exist_ok=True)
    return write_project(project, {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
                                   "classes/CaseSummarizer.cls": summarizer})


def fake_git_dir(folder: Path, scratch: Path, summarizer: str | None = None) -> None:
    """What the issue's reproducer commits: `folder` laid out as a git directory (HEAD, config
    with a core.fsmonitor command, objects/, refs/). With `summarizer`, its main branch holds the
    project with that class, so that a reader fooled by it sees a forged base."""
    folder.mkdir(parents=True, exist_ok=True)
    if summarizer is not None:
        scratch.mkdir()
        git(scratch, "init", "-q", "-b", "main")
        org(scratch, summarizer)
        git(scratch, "add", "-A")
        git(scratch, "commit", "-q", "-m", "forged base")
        for name in ("objects", "refs"):
            shutil.copytree(scratch / ".git" / name, folder / name, dirs_exist_ok=True)
        (folder / "refs" / "remotes" / "origin").mkdir(parents=True)
        shutil.copy(folder / "refs" / "heads" / "main", folder / "refs" / "remotes" / "origin" / "main")
    for name in ("objects", "refs"):
        (folder / name).mkdir(exist_ok=True)
        (folder / name / ".k").touch()
    (folder / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (folder / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = .\n"
                                   f"\tfsmonitor = {FSMONITOR}\n", encoding="utf-8")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


# --- item 1: `scan --staged` runs no command chosen by the repository ----------------------------


def test_staged_scan_of_a_subfolder_ignores_a_fake_git_directory_committed_in_it(repo, home, monkeypatch):
    """The issue's reproducer, with a leak in the staged file: git used to find sf/ as a bare
    repository, run its core.fsmonitor and see nothing staged (0 findings, exit 0)."""
    sf = repo / "sf"
    org(sf, SUMMARIZER)
    fake_git_dir(sf, repo.parent / "scratch")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pr")
    org(sf, SUMMARIZER_LEAK)
    git(repo, "add", "-A")
    monkeypatch.chdir(repo)
    res = invoke("scan", "sf/", "--staged")
    assert not (home / "PWNED").exists()
    assert res.exit_code == 1, res.output
    assert "error[APX-LLM-001]" in res.stdout and "Case.Description" in res.stdout
    assert "touch the 1 selected file" in res.stderr
    monkeypatch.chdir(sf)  # from inside the fake git directory itself
    res = invoke("scan", ".", "--staged")
    assert res.exit_code == 1 and "Case.Description" in res.stdout
    assert not (home / "PWNED").exists()


def test_staged_scan_runs_nothing_the_real_repository_configures(repo, home):
    """The scanned tree may be a tarball with a hostile .git, or a runner's repository whose config
    a previous step changed: command-line settings override every config file."""
    org(repo, SUMMARIZER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    org(repo, SUMMARIZER_LEAK)
    git(repo, "add", "-A")
    pwned = home / "PWNED"
    for key, value in (("core.fsmonitor", f"touch {pwned}; false"), ("core.pager", f"touch {pwned}; cat"),
                       ("diff.external", f"touch {pwned}"), ("diff.evil.textconv", f"touch {pwned}; cat"),
                       ("filter.evil.clean", f"touch {pwned}; cat"), ("filter.evil.smudge", f"touch {pwned}; cat"),
                       ("filter.evil.process", f"touch {pwned}"), ("core.sshCommand", f"touch {pwned}"),
                       ("core.alternateRefsCommand", f"touch {pwned}")):
        git(repo, "config", key, value)
    (repo / ".gitattributes").write_text("* filter=evil diff=evil\n", encoding="utf-8")
    res = invoke("scan", str(repo), "--staged")
    assert res.exit_code == 1 and "Case.Description" in res.stdout, res.output
    assert not pwned.exists()
    subprocess.run([GIT, "diff-index", "--cached", "HEAD"], cwd=repo, capture_output=True)
    assert pwned.exists()  # what the same plumbing does without apexscan's settings


def test_a_git_committed_in_the_project_root_does_not_run_from_an_empty_path_entry(repo, home):
    org(repo, SUMMARIZER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    pwned = home / "PWNED"
    for folder in (repo, repo / "bin"):
        folder.mkdir(exist_ok=True)
        fake = folder / "git"
        fake.write_text(f"#!/bin/sh\ntouch {pwned}\nexec {GIT} \"$@\"\n", encoding="utf-8")
        fake.chmod(0o755)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a git of our own")
    org(repo, SUMMARIZER_LEAK)
    git(repo, "add", "-A")
    real = os.path.dirname(GIT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))}
    for path in (f":{real}", f".:{real}", f"bin:{real}", f"{repo}:{repo / 'bin'}:{real}"):
        proc = subprocess.run([sys.executable, "-m", "apexscan", "scan", ".", "--staged"], cwd=repo,
                              env={**env, "PATH": path}, capture_output=True, text=True, timeout=300)
        assert not pwned.exists(), path
        assert proc.returncode == 1 and "Case.Description" in proc.stdout, (path, proc.stderr)
    proc = subprocess.run([sys.executable, "-m", "apexscan", "scan", ".", "--staged"], cwd=repo,
                          env={**env, "PATH": f":{repo}"}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and not pwned.exists()
    assert "git was not found on PATH" in proc.stderr


def test_discovery_never_takes_a_git_like_folder_for_the_repository(repo, tmp_path):
    sf = repo / "sf"
    fake_git_dir(sf / "nested", tmp_path / "scratch")
    assert find_git_dir((sf / "nested").resolve()) == (repo.resolve() / ".git", repo.resolve())
    assert open_repository(sf / "nested").work_tree == repo.resolve()
    lone = tmp_path / "lone"
    fake_git_dir(lone, tmp_path / "scratch2")
    assert find_git_dir(lone.resolve()) is None  # no .git above: not a repository at all
    with pytest.raises(gitread.NotARepository):
        open_repository(lone)


def test_a_linked_worktree_is_found_through_its_git_file(repo, tmp_path):
    org(repo, SUMMARIZER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked))
    found = open_repository(linked / "force-app")
    assert found.work_tree == linked.resolve()
    assert found.git_dir == (repo / ".git" / "worktrees" / "linked").resolve()
    assert found.resolve_commit("HEAD") == git(repo, "rev-parse", "HEAD").strip()


def test_a_pre_commit_hook_in_a_linked_worktree_sees_what_is_staged_there(repo, tmp_path):
    """There git hands the hook GIT_DIR (the worktree's git directory) and an absolute
    GIT_INDEX_FILE; apexscan takes neither GIT_DIR nor any other GIT_* variable but the index."""
    org(repo, SUMMARIZER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked))
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\nexec {sys.executable} -m apexscan scan . --staged\n", encoding="utf-8")
    hook.chmod(0o755)
    org(linked, SUMMARIZER_LEAK)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([GIT, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-am", "leak"],
                          cwd=linked, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "Case.Description" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_git_executable_is_looked_up_in_absolute_path_entries_outside_the_repository(tmp_path, monkeypatch):
    inside, outside = tmp_path / "repo" / "tools", tmp_path / "bin"
    for folder in (inside, outside):
        folder.mkdir(parents=True)
        (folder / "git").write_text("#!/bin/sh\n", encoding="utf-8")
        (folder / "git").chmod(0o755)
    monkeypatch.chdir(inside)
    monkeypatch.setenv("PATH", os.pathsep.join(["", ".", "tools", str(inside), str(outside)]))
    assert find_git(avoid=(tmp_path / "repo",)) == str(outside / "git")
    monkeypatch.setenv("PATH", os.pathsep.join(["", ".", str(inside)]))
    with pytest.raises(gitread.NoGit):
        find_git(avoid=(tmp_path / "repo",))


def test_git_runs_with_an_environment_built_from_scratch(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    for key, value in (("GIT_DIR", str(tmp_path / "elsewhere")), ("GIT_EXTERNAL_DIFF", "touch PWNED"),
                       ("GIT_ALTERNATE_OBJECT_DIRECTORIES", str(tmp_path)), ("GIT_CONFIG_PARAMETERS", "'a.b'='c'"),
                       ("GIT_SSH_COMMAND", "touch PWNED"), ("GIT_EXEC_PATH", str(repo)), ("PAGER", "touch PWNED"),
                       ("GIT_INDEX_FILE", str(tmp_path / "index")), ("GIT_CONFIG_GLOBAL", str(tmp_path / "g")),
                       ("PATH", os.pathsep.join(["", ".", "/usr/bin"]))):
        monkeypatch.setenv(key, value)
    env = gitread._environment(repo)
    assert not {k for k in env if k.startswith("GIT_")} - set(gitread._FIXED_ENV) - {"GIT_CONFIG_GLOBAL"}
    assert env["GIT_CONFIG_GLOBAL"] == str(tmp_path / "g") and env["PAGER"] == "cat" and env["PATH"] == "/usr/bin"
    assert gitread._environment(repo, str(tmp_path / "index"))["GIT_INDEX_FILE"] == str(tmp_path / "index")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL")
    monkeypatch.setenv("HOME", str(repo))  # a committed .gitconfig must not become the global config
    env = gitread._environment(repo)
    assert "HOME" not in env and env["GIT_CONFIG_GLOBAL"] == os.devnull


# --- item 2: `inventory --compare` cannot be forged ------------------------------------------------


def test_compare_base_cannot_be_forged_by_a_fake_git_directory(repo, home, tmp_path):
    """The reproducer of item 2: the fake sf/ git directory's main branch already holds the new
    leak, and the comparison used to say "No channel or path changed"."""
    sf = repo / "sf"
    org(sf, SUMMARIZER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")  # what CI fetched as the base
    fake_git_dir(sf, tmp_path / "scratch", summarizer=SUMMARIZER_LEAK)  # its origin/main: the leak
    org(sf, SUMMARIZER_LEAK)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pr: the leak, and a git directory that already has it")
    for option in ("--compare-ref", "--compare"):
        res = invoke("inventory", str(sf), "--format", "markdown", option, "origin/main")
        assert res.exit_code == 0, res.output
        assert NEW_PATH in res.stdout and "No channel or path changed" not in res.stdout
    res = invoke("inventory", str(sf), "--format", "markdown", "--compare-ref", "main")
    assert "No channel or path changed" in res.stdout  # the real main: the leak is committed there
    assert not (home / "PWNED").exists()


def test_a_file_named_like_the_ref_does_not_stand_in_for_it(repo, monkeypatch):
    org(repo, SUMMARIZER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    org(repo, SUMMARIZER_LEAK)
    monkeypatch.chdir(repo)
    doctored = json.loads(invoke("inventory", ".", "--format", "json").stdout)  # already has the leak
    (repo / "origin").mkdir()
    (repo / "origin" / "main").write_text(json.dumps(doctored), encoding="utf-8")
    res = invoke("inventory", ".", "--format", "markdown", "--compare", "origin/main")
    assert res.exit_code == 2
    message, = res.stderr.splitlines()
    assert "ambiguous" in message and "--compare-file origin/main" in message and "--compare-ref origin/main" in message
    res = invoke("inventory", ".", "--format", "markdown", "--compare-ref", "origin/main")
    assert res.exit_code == 0 and NEW_PATH in res.stdout
    res = invoke("inventory", ".", "--format", "markdown", "--compare-file", "origin/main")
    assert res.exit_code == 0 and "No channel or path changed" in res.stdout
    res = invoke("inventory", ".", "--compare-ref", "origin/main", "--compare-file", "origin/main")
    assert res.exit_code == 2 and "give one of" in res.stderr
    (repo / "only-a-file.json").write_text(json.dumps(doctored), encoding="utf-8")
    res = invoke("inventory", ".", "--format", "markdown", "--compare", "only-a-file.json")
    assert res.exit_code == 0 and "No channel or path changed" in res.stdout  # unambiguous: still works


def _doctored(doc: dict, case: str) -> str:
    if case == "list for a string":
        doc["channels"][0]["id"] = ["apex-callout:x"]
    elif case == "number for a list":
        doc["channels"][1]["destinations"][0]["configured"] = 7
    elif case == "missing key":
        del doc["channels"][0]["data"]
    elif case == "deep nesting":
        return json.dumps(doc)[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    elif case == "wrong schema version":
        doc["schema_version"] = 2
    return json.dumps(doc)


@pytest.mark.parametrize("case, expected", [
    ("list for a string", "channels[0].id: ['apex-callout:x'] is not of type 'string'"),
    ("number for a list", "channels[1].destinations[0].configured: 7 is not of type 'array'"),
    ("missing key", "channels[0]: 'data' is a required property"),
    ("deep nesting", "JSON nested too deeply"),
    ("wrong schema version", "not an apexscan inventory (schema_version 1)"),
    ("not json", "not JSON"),
])
def test_a_base_inventory_file_is_checked_against_the_schema_first(tmp_path, case, expected):
    project = org(tmp_path / "org", SUMMARIZER)
    doc = json.loads(invoke("inventory", str(project), "--format", "json").stdout)
    base = tmp_path / "base.json"
    base.write_text("{\"channels\": [" if case == "not json" else _doctored(doc, case), encoding="utf-8")
    res = invoke("inventory", str(project), "--compare-file", str(base))
    assert res.exit_code == 2, res.output
    message, = res.stderr.splitlines()
    assert message.startswith(f"apexscan: error: {base}: ") and expected in message
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_a_huge_base_inventory_file_is_refused_before_it_is_read(tmp_path):
    project = org(tmp_path / "org", SUMMARIZER)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as f:
        f.truncate(65 * 2**20)  # sparse: no disk used, but 65 MB to read
    res = invoke("inventory", str(project), "--compare-file", str(huge))
    assert res.exit_code == 2 and "more than the 67,108,864 accepted" in res.stderr


def test_the_inventory_of_the_sample_satisfies_the_published_schema():
    from jsonschema import Draft202012Validator

    from apexscan.pipeline.inventory import _validator
    Draft202012Validator.check_schema(_validator().schema)
    sample = json.loads((CHECKOUT / "tests" / "data" / "fintech-inventory.json").read_text("utf-8"))
    assert not list(_validator().iter_errors(sample))


# --- item 4: --policy-ref --------------------------------------------------------------------------

POLICY = '[policy]\nallowed_jurisdictions = ["EU", "EEA"]\nallowed_regions = ["EU", "EEA"]\n'
FIELDS = '[fields]\nsensitive = ["Account.Risk_Score__c"]\n'
LAX = POLICY + 'allowed_hosts = ["*.com"]\n'


@pytest.fixture
def policy_repo(repo) -> Path:
    """The policy and the summarizer on main; the pull request adds the leak and allows *.com."""
    project = repo / "salesforce"
    org(project, SUMMARIZER)
    (project / "apexscan.toml").write_text(POLICY + FIELDS, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    org(project, SUMMARIZER_LEAK)
    (project / "apexscan.toml").write_text("# looks harmless\n" + LAX + FIELDS, encoding="utf-8")
    return project


def test_a_policy_from_the_pull_request_silences_the_scan_without_policy_ref(policy_repo):
    res = invoke("scan", str(policy_repo))
    assert res.exit_code == 0 and "APX-LLM-001" not in res.stdout  # the attack of item 4


def test_policy_ref_scans_with_the_trusted_policy_and_reports_the_change(policy_repo, tmp_path):
    res = invoke("scan", str(policy_repo), "--policy-ref", "main")
    assert res.exit_code == 1, res.output
    assert "error[APX-LLM-001]" in res.stdout and "Case.Description" in res.stdout
    assert "apexscan.toml:1:1: error[APX-SCAN-002]" in res.stdout
    assert "[policy] allowed_hosts: added *.com" in res.stdout
    assert "policy from main (commit " in res.stderr and ":salesforce/apexscan.toml" in res.stderr
    sarif = tmp_path / "r.sarif"
    assert invoke("scan", str(policy_repo), "--policy-ref", "main", "--format", "sarif", "-o", str(sarif)).exit_code == 1
    run = json.loads(sarif.read_text("utf-8"))["runs"][0]
    change, = [r for r in run["results"] if r["ruleId"] == "APX-SCAN-002"]
    rule, = [r for r in run["tool"]["driver"]["rules"] if r["id"] == "APX-SCAN-002"]
    assert change.get("level", rule["defaultConfiguration"]["level"]) == "error"
    # paths from the top of the repository, where code scanning places them
    assert change["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "salesforce/apexscan.toml"
    # Without the leak, against main's findings: the policy change alone fails the gate.
    org(policy_repo, SUMMARIZER)
    res = invoke("scan", str(policy_repo), "--policy-ref", "main", "--baseline-ref", "main")
    assert res.exit_code == 1 and "APX-SCAN-002" in res.stdout and "APX-LLM-001" not in res.stdout


def test_the_policy_change_cannot_be_suppressed_by_the_pull_request(policy_repo):
    (policy_repo / "apexscan.toml").write_text("# apexscan:ignore APX-SCAN-002 approved by nobody\n" + LAX,
                                               encoding="utf-8")
    res = invoke("scan", str(policy_repo), "--policy-ref", "main", "--format", "json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    change, = [f for f in doc["findings"] if f["rule"] == "APX-SCAN-002"]
    assert not change.get("suppression")
    assert any(f["rule"] == "APX-SUP-001" and "cannot be suppressed" in f["message"] for f in doc["findings"])


@pytest.mark.parametrize("edit, expected", [
    ("comment", None),
    ("reorder", None),
    ("delete", "it is deleted (the built-in defaults would apply); [fields] sensitive: removed account.risk_score__c"),
    ("invalid", "it is not a valid policy"),
    ("tighter", "[policy] allowed_regions: removed EEA"),
])
def test_what_counts_as_a_policy_change(policy_repo, edit, expected):
    toml = policy_repo / "apexscan.toml"
    org(policy_repo, SUMMARIZER)
    if edit == "comment":
        toml.write_text("# reviewed 2025-01-07\n" + POLICY + FIELDS, encoding="utf-8")
    elif edit == "reorder":
        toml.write_text(FIELDS + POLICY.replace('["EU", "EEA"]\n', '["EEA", "EU"]\n'), encoding="utf-8")
    elif edit == "delete":
        toml.unlink()
    elif edit == "invalid":
        toml.write_text(POLICY + 'allowed_hosts = "everything"\n' + FIELDS, encoding="utf-8")
    else:
        toml.write_text(POLICY.replace('allowed_regions = ["EU", "EEA"]', 'allowed_regions = ["EU"]') + FIELDS,
                        encoding="utf-8")
    # The findings main already has are the baseline: only a policy change can fail the run.
    res = invoke("scan", str(policy_repo), "--policy-ref", "main", "--baseline-ref", "main")
    if expected is None:
        assert res.exit_code == 0 and "APX-SCAN-002" not in res.stdout, res.output
    else:
        assert res.exit_code == 1 and "APX-SCAN-002" in res.stdout and expected in res.stdout, res.output


def test_policy_ref_without_a_policy_in_the_ref_means_the_defaults(repo):
    project = org(repo / "org", SUMMARIZER_LEAK)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "no policy yet")
    (project / "apexscan.toml").write_text(LAX, encoding="utf-8")
    res = invoke("scan", str(project), "--policy-ref", "HEAD")
    assert res.exit_code == 1 and "Case.Description" in res.stdout
    assert "org/apexscan.toml is new; [policy] allowed_hosts: added *.com" in res.stdout
    assert "which has no org/apexscan.toml or apexscan.toml: the built-in defaults" in res.stderr


def test_policy_ref_on_the_inventory(policy_repo):
    res = invoke("inventory", str(policy_repo), "--format", "json", "--policy-ref", "main")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["policy"]["allowed_hosts"] == []
    assert doc["policy"]["trusted_source"].endswith(":salesforce/apexscan.toml")
    assert doc["policy"]["working_tree_changes"] == ["[policy] allowed_hosts: added *.com"]
    assert "APX-SCAN-002" in res.stderr
    markdown = invoke("inventory", str(policy_repo), "--format", "markdown", "--policy-ref", "main").stdout
    assert "added \\*.com" in markdown  # Markdown-escaped


@pytest.mark.parametrize("case", ["unknown ref", "outside the work tree", "not a repository"])
def test_policy_ref_errors_are_one_line_usage_errors(policy_repo, tmp_path, case):
    args = ["scan", str(policy_repo), "--policy-ref", "nowhere" if case == "unknown ref" else "main"]
    if case == "outside the work tree":
        outside = tmp_path / "policy.toml"
        outside.write_text(POLICY, encoding="utf-8")
        args += ["--policy", str(outside)]
    if case == "not a repository":
        args[1] = str(org(tmp_path / "plain", SUMMARIZER))
    res = invoke(*args)
    assert res.exit_code == 2, res.output
    message, = res.stderr.splitlines()
    assert message.startswith("apexscan: error: --policy-ref ")
    assert {"unknown ref": "not a commit, branch or tag", "outside the work tree": "is not inside the git work tree",
            "not a repository": "is not inside a git work tree"}[case] in message


# --- item 9 (git): the base is read by path and kind, within caps -------------------------------------


def with_entries(repo: Path, tree: str, entries: dict[str, tuple[str, str]]) -> str:
    """The tree `tree` with the top-level `entries` (name -> (mode, object id)) added or replaced."""
    rows = dict(reversed(line.split("\t", 1)) for line in git(repo, "ls-tree", "-z", tree).split("\0") if line)
    for name, (mode, oid) in entries.items():
        rows[name] = f"{mode} {'tree' if mode == '040000' else 'blob'} {oid}"
    return git(repo, "mktree", "-z", stdin="".join(f"{meta}\t{name}\0" for name, meta in rows.items()).encode()).strip()


def test_the_base_reads_only_what_the_scan_analyses_and_skips_blobs_over_the_cap(repo, tmp_path, monkeypatch):
    """A scaled-down git bomb: 3 MB zero blobs against a 1 MB cap (the real cap is 20 MiB; the 1 GB
    case is `benchmarks/bench_git_base.py`)."""
    monkeypatch.setattr(basecommit, "MAX_BLOB_BYTES", 1 << 20)
    project = org(repo / "org", SUMMARIZER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    zeros = git(repo, "hash-object", "-w", "--stdin", stdin=bytes(3 << 20)).strip()
    data = git(repo, "hash-object", "-w", "--stdin", stdin=bytes(3 << 20) + b"\n").strip()
    index = tmp_path / "index"
    git(repo, "read-tree", "HEAD", index=index)
    for rel, oid in (("org/force-app/main/default/classes/Huge.cls", zeros), ("org/zeros.bin", data)):
        git(repo, "update-index", "--add", "--cacheinfo", f"100644,{oid},{rel}", index=index)
    tree = git(repo, "write-tree", index=index).strip()
    git(repo, "update-ref", "refs/heads/zeros", git(repo, "commit-tree", tree, "-p", "HEAD", "-m", "zeros").strip())
    asked: list[str] = []
    real_sizes = gitread.Repository.object_sizes
    monkeypatch.setattr(gitread.Repository, "object_sizes",
                        lambda self, oids: (asked.extend(oids), real_sizes(self, oids))[1])
    org(project, SUMMARIZER_LEAK)
    res = invoke("inventory", str(project), "--format", "markdown", "--compare-ref", "zeros")
    assert res.exit_code == 0, res.output
    assert NEW_PATH in res.stdout  # the rest of the base was read and compared
    assert "force-app/main/default/classes/Huge.cls not read: 3,145,728 bytes, over the cap of 1,048,576" \
           in res.stderr and "counts as new" in res.stderr
    # Huge.cls is a class: its size was asked, its content never read; zeros.bin is no file the
    # scan reads: not even its size was asked.
    assert zeros in asked and data not in asked
    assert len(asked) == 4  # sfdx-project.json, the class, the Named Credential and Huge.cls


def tree_bomb_commit(repo: Path, leaves: str = "x{i}.txt") -> str:
    """The project of HEAD plus a folder of 10 folders of 10 ..., 8 levels deep, 10 files in each of
    the last: a billion paths from 9 tree objects."""
    blob = git(repo, "hash-object", "-w", "--stdin", stdin=b"public class X {}\n").strip()
    names = "".join(f"100644 blob {blob}\t{leaves.format(i=i)}\n" for i in range(10))
    tree = git(repo, "mktree", stdin=names.encode()).strip()
    for _ in range(8):
        tree = git(repo, "mktree", stdin="".join(f"040000 tree {tree}\td{i}\n" for i in range(10)).encode()).strip()
    bombed = with_entries(repo, "HEAD:org", {"zbomb": ("040000", tree)})
    root = with_entries(repo, "HEAD^{tree}", {"org": ("040000", bombed)})
    return git(repo, "commit-tree", root, "-p", "HEAD", "-m", "bomb").strip()


def test_a_tree_bomb_as_the_base_is_refused_while_it_is_listed(repo):
    project = org(repo / "org", SUMMARIZER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    commit = tree_bomb_commit(repo, leaves="X{i}.cls")
    for args in (["inventory", str(project), "--compare-ref", commit], ["scan", str(project), "--baseline-ref", commit]):
        res = invoke(*args)
        assert res.exit_code == 2, res.output
        message, = [line for line in res.stderr.splitlines() if line.startswith("apexscan: error:")]
        assert "repeats one folder at more than 10,000 paths" in message and "tree bomb" in message


def test_the_listing_of_a_base_stops_at_its_cap(repo, monkeypatch):
    monkeypatch.setattr(basecommit, "MAX_TREE_ENTRIES", 5_000)
    monkeypatch.setattr(basecommit, "MAX_SAME_FOLDER", 10**9)
    project = org(repo / "org", SUMMARIZER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    commit = tree_bomb_commit(repo)
    org(project, SUMMARIZER_LEAK)
    res = invoke("inventory", str(project), "--format", "markdown", "--compare-ref", commit)
    assert res.exit_code == 0, res.output
    assert "listing stopped after 5,000 paths" in res.stderr
    assert NEW_PATH in res.stdout  # what was listed before the cap was read


# --- --baseline-ref ------------------------------------------------------------------------------


def test_baseline_ref_fails_only_on_findings_the_ref_does_not_have(repo, tmp_path, monkeypatch):
    sf = repo / "sf"
    org(sf, SUMMARIZER)  # APX-LLM-001 (Case.Subject) and APX-CFG-002 are on main already
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    res = invoke("scan", str(sf), "--baseline-ref", "main")
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == ["apexscan: 0 findings: 0 error, 0 warning, 0 note; "
                                       "baseline: 0 new, 2 unchanged, 0 absent"]
    assert "baseline: 2 findings of main (commit " in res.stderr
    fake_git_dir(sf, tmp_path / "scratch", summarizer=SUMMARIZER_LEAK)  # a forged baseline, ignored
    org(sf, SUMMARIZER_LEAK)
    res = invoke("scan", str(sf), "--baseline-ref", "main")
    assert res.exit_code == 1, res.output
    listed = [line for line in res.stdout.splitlines() if "[APX-" in line]
    assert len(listed) == 1 and "error[APX-LLM-001]" in listed[0] and "Case.Description" in listed[0]
    assert "APX-CFG-002" not in res.stdout  # unchanged: counted, not listed
    assert res.stdout.splitlines()[-1].endswith("; baseline: 1 new, 1 unchanged, 1 absent")
    sarif = tmp_path / "r.sarif"
    invoke("scan", str(sf), "--baseline-ref", "main", "--format", "sarif", "-o", str(sarif))
    states = {r["ruleId"]: r["baselineState"] for r in json.loads(sarif.read_text("utf-8"))["runs"][0]["results"]}
    assert states == {"APX-LLM-001": "new", "APX-CFG-002": "unchanged"}
    assert invoke("scan", str(sf), "--baseline-ref", "main", "--baseline", str(sarif)).exit_code == 2
    monkeypatch.chdir(sf)  # files as targets: the same files of the base are scanned
    res = invoke("scan", "force-app/main/default/classes/CaseSummarizer.cls",
                 "force-app/main/default/namedCredentials/OpenAI.namedCredential-meta.xml", "--baseline-ref", "main")
    assert res.exit_code == 1 and res.stdout.splitlines()[-1].endswith("; baseline: 1 new, 1 unchanged, 1 absent")


def test_baseline_ref_of_a_commit_without_the_project_makes_everything_new(repo):
    (repo / "README.md").write_text("nothing yet\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "empty")
    project = org(repo / "org", SUMMARIZER)
    res = invoke("scan", str(project), "--baseline-ref", "HEAD")
    assert res.exit_code == 1 and res.stdout.splitlines()[-1].endswith("; baseline: 2 new, 0 unchanged, 0 absent")
    assert "baseline: 0 findings of HEAD" in res.stderr


def test_the_sample_workflow_reads_the_policy_from_the_base_branch(tmp_path, home):
    """The sample workflow's own shell steps, on a pull request checked out as actions/checkout
    does (a clone of depth 1 that lacks the base branch): the fetch step brings the base branch,
    and the action's scan step, with the inputs the workflow gives it on a pull request, reports
    both the leak and the loosened policy."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((CHECKOUT / "samples/github-workflow/apexscan.yml").read_text("utf-8"))
    steps = {step.get("name"): step for step in workflow["jobs"]["apexscan"]["steps"]}
    uses = next(step for step in workflow["jobs"]["apexscan"]["steps"] if "apexscan@" in step.get("uses", ""))
    # `${{ github.base_ref && format('origin/{0}', github.base_ref) || '' }}` on a pull request into main
    assert "github.base_ref" in uses["with"]["policy-ref"] and "origin/{0}" in uses["with"]["policy-ref"]
    action = yaml.safe_load((CHECKOUT / "action.yml").read_text("utf-8"))
    scan_step = next(step for step in action["runs"]["steps"] if step.get("name") == "Scan")
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    org(upstream, SUMMARIZER)
    (upstream / "apexscan.toml").write_text(POLICY, encoding="utf-8")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-q", "-m", "main")
    git(upstream, "checkout", "-q", "-b", "pr")
    org(upstream, SUMMARIZER_LEAK)
    (upstream / "apexscan.toml").write_text(LAX, encoding="utf-8")
    git(upstream, "commit", "-q", "-am", "pr")
    workspace = tmp_path / "workspace"
    git(tmp_path, "clone", "-q", "--depth=1", "--branch", "pr", f"file://{upstream}", str(workspace))
    assert subprocess.run([GIT, "rev-parse", "--verify", "-q", "origin/main"], cwd=workspace).returncode != 0
    output = tmp_path / "github-output"
    env = {**os.environ, "BASE_REF": "main", "GITHUB_OUTPUT": str(output),
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
           "SCAN_PATH": ".", "SCAN_POLICY": "", "SCAN_POLICY_REF": "origin/main", "SCAN_CATEGORY": "apexscan",
           "SCAN_FAIL_ON": "never", "SCAN_SARIF": "apexscan.sarif", "SCAN_ARGS": ""}
    assert set(scan_step["env"]) <= set(env), "the action's scan step reads an input this test does not give"
    for name, script in (("Fetch the base branch (pull requests)", steps["Fetch the base branch (pull requests)"]["run"]),
                         ("Scan", scan_step["run"])):
        proc = subprocess.run(["bash", "-e", "-c", script], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (name, proc.stderr)
    results = json.loads((workspace / "apexscan.sarif").read_text("utf-8"))["runs"][0]["results"]
    rules = {r["ruleId"] for r in results}
    assert {"APX-LLM-001", "APX-SCAN-002"} <= rules
    assert "added *.com" in next(r["message"]["text"] for r in results if r["ruleId"] == "APX-SCAN-002")
