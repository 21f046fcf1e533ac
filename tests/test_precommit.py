"""The pre-commit hook: `scan --changed-files` reports the findings that touch the files pre-commit
hands it (the staged ones in a commit, every file with `--all-files`); `scan --staged` does the same
for a plain git hook.

The end-to-end tests drive the real `pre-commit` tool and real `git commit`s in a temporary
repository. The hook is this checkout's `.pre-commit-hooks.yaml` entry, used as a local hook with
`language: system` (only the executable is swapped for `python -m apexscan`): pre-commit would
otherwise build a virtualenv and install apexscan from the network, and the test runs offline.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import OPENAI_NC
from conftest import expected as marked

from apexscan.engine.model import Finding, Location, Step
from apexscan.interfaces.cli import main
from apexscan.interfaces.staged import to_project_paths, touching
from apexscan.pipeline.project import METADATA_SUFFIXES, UsageError, file_kind

CHECKOUT = Path(__file__).resolve().parents[1]
SAMPLE = CHECKOUT / "samples" / "fintech-org"
HOOKS = CHECKOUT / ".pre-commit-hooks.yaml"
CLASSES = "sfdx/force-app/main/default/classes"

SFDX_PROJECT = '{"packageDirectories": [{"path": "force-app", "default": true}], "sourceApiVersion": "62.0"}\n'

POLICY = """
[policy]
allowed_jurisdictions = ["EU", "EEA"]
allowed_regions = ["EU", "EEA"]
sanitizers = ["PiiMasker.mask"]
"""


OPENAI_CLIENT = r"""
public with sharing class OpenAiClient {
    private static final String ENDPOINT = 'callout:OpenAI/v1/chat/completions';

    public static String complete(String prompt) {
        HttpRequest req = new HttpRequest();
        req.setEndpoint(ENDPOINT);
        req.setMethod('POST');
        req.setHeader('Content-Type', 'application/json');
        req.setTimeout(60000);
        Map<String, Object> body = new Map<String, Object>{
            'model' => 'gpt-4o-mini',
            'messages' => new List<Object>{
                new Map<String, Object>{ 'role' => 'user', 'content' => prompt }
            }
        };
        req.setBody(JSON.serialize(body));
        HttpResponse res = new Http().send(req);
        if (res.getStatusCode() != 200) {
            throw new CalloutException('OpenAI returned ' + res.getStatus());
        }
        Map<String, Object> parsed = (Map<String, Object>) JSON.deserializeUntyped(res.getBody());
        List<Object> choices = (List<Object>) parsed.get('choices');
        Map<String, Object> message = (Map<String, Object>) ((Map<String, Object>) choices[0]).get('message');
        return (String) message.get('content');
    }
}
"""

# The leak that was there before the hook: case text sent to OpenAI through the shared client.
LEGACY_SUMMARIZER = r"""
public with sharing class LegacyCaseSummarizer {
    @AuraEnabled
    public static String summarize(Id caseId) {
        Case c = [SELECT Subject, Description FROM Case WHERE Id = :caseId WITH USER_MODE];
        return OpenAiClient.complete('Summarize this support case:\n' + c.Subject + '\n' + c.Description);
    }
}
"""

PII_MASKER = r"""
public with sharing class PiiMasker {
    /** Replaces names, e-mail addresses, dates and numbers by placeholders before text leaves the org. */
    public static String mask(String text, List<String> names) {
        if (text == null) {
            return null;
        }
        String masked = text;
        for (String name : names) {
            if (String.isNotBlank(name)) {
                masked = masked.replace(name, '<name>');
            }
        }
        masked = masked.replaceAll('[\\w.+-]+@[\\w-]+\\.[\\w.]+', '<email>');
        masked = masked.replaceAll('\\d{4}-\\d{2}-\\d{2}', '<date>');
        return masked.replaceAll('\\d+', '<number>');
    }
}
"""

ACCOUNT_SERVICE = r"""
public with sharing class AccountService {
    public static void markReviewed(List<Account> accounts) {
        for (Account a : accounts) {
            a.Rating = 'Warm';
        }
        update accounts;
    }
}
"""

# The new code of the commit under test: a client's personal data straight into the prompt ...
BRIEFING_LEAK = r"""
public with sharing class ClientBriefingService {
    @AuraEnabled
    public static String briefing(Id contactId) {
        Contact c = [
            SELECT FirstName, LastName, Email, Birthdate, MailingCity
            FROM Contact
            WHERE Id = :contactId
            WITH USER_MODE
        ];
        String prompt = 'Prepare a meeting briefing for ' + c.FirstName + ' ' + c.LastName
            + ' (born ' + String.valueOf(c.Birthdate) + ', ' + c.Email + ')'
            + ' who lives in ' + c.MailingCity + '.';
        return OpenAiClient.complete(prompt);
    }
}
"""

# ... and the fix: the prompt is masked first (PiiMasker.mask is a sanitizer in apexscan.toml).
BRIEFING_FIXED = BRIEFING_LEAK.replace(
    "return OpenAiClient.complete(prompt);",
    "return OpenAiClient.complete(PiiMasker.mask(prompt, new List<String>{ c.FirstName, c.LastName }));")


def _hook() -> dict:
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load(HOOKS.read_text("utf-8"))
    return next(h for h in hooks if h["id"] == "apexscan")


# --- the hook definition ------------------------------------------------------------------------


def test_hook_definition_takes_the_files_pre_commit_passes():
    # The hook used to run `scan --staged .` with pass_filenames: false, so `pre-commit run
    # --all-files` (pre-commit.ci, CI jobs), where nothing is staged, reported nothing at all.
    hook = _hook()
    assert hook["pass_filenames"] is True and hook["require_serial"] is True
    assert shlex.split(hook["entry"]) == ["apexscan", "scan", "--changed-files"]
    assert "args" not in hook


@pytest.mark.parametrize("rel", [
    "force-app/main/default/classes/Foo.cls",
    "force-app/main/default/triggers/Foo.trigger",
    "force-app/main/default/flows/Lead_Router.flow-meta.xml",
    "src/flows/Lead_Router.flow",
    "force-app/main/default/genAiPromptTemplates/Summary.genAiPromptTemplate-meta.xml",
    "force-app/main/default/lwc/clientCard/clientCard.js",
    "force-app/main/default/lwc/clientCard/__tests__/clientCard.test.js",
    "force-app/main/default/customMetadata/Llm_Endpoint.OpenAI.md-meta.xml",
    "src/customMetadata/Llm_Endpoint.OpenAI.md",
    "README.md",
    "docs/notes.md",
    "scripts/build.js",
    "services/copilot/app/main.py",
    "services/copilot/tests/test_main.py",
    "services/nightly/src/job.ts",
    "services/copilot/.env.example",
    "services/copilot/app.json",
    "heroku/mapping-export.json",
    "infra/heroku.tf",
    "force-app/main/default/classes/Foo.CLS",
    "force-app/main/default/genAiPlannerBundles/Agent/Agent.genAiPlannerBundle",
    "force-app/main/default/genAiFunctions/Action/Action.genAiFunction-meta.xml",
    "force-app/main/default/genAiFunctions/Action/output/schema.json",
    "force-app/main/default/genAiFunctions/Action/input/schema.json",
    "force-app/main/default/genAiPlannerBundles/Agent/localActions/topic/action/output/schema.json",
    "force-app/main/default/bots/Agent/v1.botVersion-meta.xml",
    "force-app/main/default/aiAuthoringBundles/Agent/Agent.agent",
    "force-app/main/default/staticresources/notes.agent",
    *(f"force-app/main/default/x/Thing{suffix}" for suffix in METADATA_SUFFIXES if suffix != ".md"),
])
def test_hook_files_pattern_runs_the_hook_for_what_the_analysis_reads(rel):
    """`files` decides whether pre-commit runs the hook at all: it must match every file the
    analysis reads (or a staged leak goes unseen) and should skip the rest."""
    pattern = re.compile(_hook()["files"])
    if re.search(r"(?i)\.(py|[jt]s|tf|json)$|\.env", rel):
        # Service code and configuration: every file the analysis reads runs the hook; the pattern
        # does not repeat which of them are tests or builds (those only cost a scan).
        assert pattern.search(rel) or file_kind(rel) is None, rel
        return
    assert bool(pattern.search(rel)) == (file_kind(rel) is not None), rel


# --- mapping and selection ----------------------------------------------------------------------


def test_repository_paths_map_to_project_paths(tmp_path):
    repo, project = tmp_path, tmp_path / "salesforce"
    project.mkdir()
    staged = ["salesforce/force-app/main/default/classes/A.cls", "README.md", "salesforce-old/B.cls"]
    assert to_project_paths(staged, repo, project) == {"force-app/main/default/classes/A.cls"}
    assert to_project_paths(staged, repo, repo) == set(staged)
    with pytest.raises(UsageError):
        to_project_paths(staged, project, repo)


def test_a_finding_touches_the_files_of_its_location_and_of_every_path_step():
    def step(path: str) -> Step:
        return Step(Location(path, 1, 1), "")

    finding = Finding("APX-LLM-001", Location("Sink.cls", 9, 1), "m", destination=None,  # type: ignore[arg-type]
                      paths=((step("Source.cls"), step("Helper.cls"), step("Sink.cls")),
                             (step("Other.cls"), step("Sink.cls"))))
    for rel in ("Sink.cls", "Source.cls", "Helper.cls", "Other.cls"):
        assert touching([finding], frozenset({rel})) == (finding,)
    assert touching([finding], frozenset({"Unrelated.cls"})) == ()


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def _project(root: Path, briefing: str | None = BRIEFING_LEAK) -> None:
    files = {
        "sfdx/sfdx-project.json": SFDX_PROJECT,
        "sfdx/apexscan.toml": POLICY,
        "sfdx/force-app/main/default/namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        f"{CLASSES}/OpenAiClient.cls": OPENAI_CLIENT,
        f"{CLASSES}/LegacyCaseSummarizer.cls": LEGACY_SUMMARIZER,
        f"{CLASSES}/PiiMasker.cls": PII_MASKER,
        f"{CLASSES}/AccountService.cls": ACCOUNT_SERVICE,
        "README.md": "# Advisory org\n",
    }
    if briefing is not None:
        files[f"{CLASSES}/ClientBriefingService.cls"] = briefing
    _write(root, files)


def test_only_touching_reports_findings_whose_path_starts_in_the_named_file(tmp_path, monkeypatch):
    _project(tmp_path)
    monkeypatch.chdir(tmp_path / "sfdx")
    cls = "force-app/main/default/classes/"
    r = CliRunner().invoke(main, ["scan", ".", "--only-touching", cls + "ClientBriefingService.cls"])
    assert r.exit_code == 1 and "APX-LLM-001" in r.stdout and "APX-CFG-002" not in r.stdout
    assert "reporting 1 of 2 findings" in r.stderr
    r = CliRunner().invoke(main, ["scan", ".", "--only-touching", cls + "AccountService.cls"])
    assert r.exit_code == 0 and "APX-LLM" not in r.stdout
    r = CliRunner().invoke(main, ["scan", ".", "--only-touching", str(tmp_path / "README.md")])
    assert r.exit_code == 2 and "not inside the project" in r.stderr


def test_staged_outside_a_git_repository_is_a_usage_error(tmp_path, monkeypatch):
    _project(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    for key in [k for k in os.environ if k.startswith("GIT_") and k != "GIT_CEILING_DIRECTORIES"]:
        monkeypatch.delenv(key)
    r = CliRunner().invoke(main, ["scan", str(tmp_path / "sfdx"), "--staged"])
    assert r.exit_code == 2
    assert "--staged" in r.stderr and "not inside a git work tree" in r.stderr


# --- the real pre-commit tool -------------------------------------------------------------------


def _git_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT")) and k != "SKIP"}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", PRE_COMMIT_HOME=str(tmp_path / "cache"),
               XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
               # the hook runs this checkout's apexscan, whatever is installed
               PYTHONPATH=os.pathsep.join(filter(None, [str(CHECKOUT), env.get("PYTHONPATH")])))
    return env


@pytest.fixture
def repo(tmp_path):
    """A git repository holding an SFDX project in sfdx/, with a leak committed before the hook."""
    root = tmp_path / "repo"
    root.mkdir()
    r = Repo(root, _git_env(tmp_path))
    r.git("init", "-q")
    r.git("config", "user.name", "Test Developer")
    r.git("config", "user.email", "dev@example.com")
    r.git("config", "commit.gpgsign", "false")
    _project(root, briefing=None)
    r.git("add", "-A")
    r.git("commit", "-q", "-m", "Advisory org as it was before the hook")
    return r


class Repo:
    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env = root, env

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `cmd` in the repository; stdout holds standard output and error, interleaved (git
        hooks, and so pre-commit's report, write to standard error)."""
        proc = subprocess.run(cmd, cwd=self.root, env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}")
        return proc

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("git", *args, check=check)

    def commit(self, message: str, *files: str, text: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        if text:
            _write(self.root, text)
        self.git("add", *files)
        return self.git("commit", "-m", message, check=False)

    def head_count(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD").stdout)


def _require_pre_commit() -> None:
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("pre-commit is not installed (it is in the `test` extra)")
        pytest.skip("pre-commit is not installed")


def _use_the_hook(repo: Repo) -> None:
    """This checkout's hook as a local one (the project sits in the subfolder sfdx/; no argument
    says so), installed as the repository's git pre-commit hook."""
    _require_pre_commit()
    hook = _hook()
    entry = shlex.split(hook["entry"])
    assert entry[0] == "apexscan"
    local = {**hook, "language": "system", "entry": shlex.join([sys.executable, "-m", "apexscan", *entry[1:]])}
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (repo.root / ".pre-commit-config.yaml").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    repo.run(sys.executable, "-m", "pre_commit", "install")


def test_pre_commit_run_all_files_reports_every_finding_of_the_sample_org(tmp_path):
    """pre-commit.ci and CI jobs run `pre-commit run --all-files`: nothing is staged there, and the
    hook must still fail on the sample org's error-level leaks."""
    _require_pre_commit()
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(SAMPLE, root / "salesforce")  # a subfolder project, with its own apexscan.toml
    r = Repo(root, _git_env(tmp_path))
    r.git("init", "-q")
    _use_the_hook(r)
    r.git("add", "-A")
    run = r.run(sys.executable, "-m", "pre_commit", "run", "--all-files", check=False)
    assert run.returncode == 1, run.stdout
    assert "Failed" in run.stdout
    expected = CliRunner().invoke(main, ["scan", str(root / "salesforce"), "--format", "json"]).stdout
    summary = json.loads(expected)["summary"]
    assert summary["findings"] == len(marked(SAMPLE)) and summary["error"] > 20  # every marked finding
    assert f"{summary['findings']} findings: {summary['error']} error, {summary['warning']} warning" in run.stdout
    assert "salesforce/force-app/main/default/classes/advisory/ClientCallPrepController.cls:22:28: " \
           "error[APX-LLM-001]" in run.stdout
    assert "policy: salesforce/apexscan.toml (project root)" in run.stdout


def test_pre_commit_blocks_a_new_leak_and_lets_the_fix_and_unrelated_commits_through(repo):
    _use_the_hook(repo)
    done = repo.commit("Use pre-commit", ".pre-commit-config.yaml")
    assert done.returncode == 0, done.stdout
    assert "Skipped" in done.stdout  # no Salesforce file staged: the hook does not even run
    commits = repo.head_count()

    # 1. A new class sends a client's name, e-mail and birth date to OpenAI: blocked. The sink is in
    #    OpenAiClient.cls, which is not staged; the path starts in the staged file.
    briefing = f"{CLASSES}/ClientBriefingService.cls"
    blocked = repo.commit("Client briefing with GPT", briefing, text={briefing: BRIEFING_LEAK})
    out = blocked.stdout
    assert blocked.returncode != 0, out
    assert "Failed" in out and "error[APX-LLM-001]" in out and "ClientBriefingService.cls" in out, out
    assert "Contact.Email" in out
    assert "APX-CFG-002" not in out  # the Named Credential finding touches no staged file
    assert repo.head_count() == commits

    # 2. The fix masks the prompt: allowed, although the finding at the same sink (the old case
    #    summaries) is still there -- its paths no longer touch the staged file.
    fixed = repo.commit("Mask the briefing prompt", briefing, text={briefing: BRIEFING_FIXED})
    assert fixed.returncode == 0, fixed.stdout
    assert "Passed" in fixed.stdout
    assert repo.head_count() == commits + 1

    # 3. An unrelated Apex change while the old leak is still in the project: allowed.
    service = f"{CLASSES}/AccountService.cls"
    unrelated = repo.commit("Rate reviewed accounts hot", service,
                            text={service: ACCOUNT_SERVICE.replace("'Warm'", "'Hot'")})
    assert unrelated.returncode == 0, unrelated.stdout
    assert "Passed" in unrelated.stdout
    assert repo.head_count() == commits + 2
    full = repo.run(sys.executable, "-m", "apexscan", "scan", check=False)
    assert full.returncode == 1 and "LegacyCaseSummarizer.cls" in full.stdout  # the old leak is real

    # 4. Touching the file where the old leak leaves the org makes it this commit's business.
    client = f"{CLASSES}/OpenAiClient.cls"
    sink = repo.commit("Longer OpenAI timeout", client,
                       text={client: OPENAI_CLIENT.replace("setTimeout(60000)", "setTimeout(120000)")})
    assert sink.returncode != 0 and "LegacyCaseSummarizer.cls" in sink.stdout
    assert repo.head_count() == commits + 2


def test_a_plain_git_hook_that_changes_folder_reads_the_commit_s_index(repo):
    """Git hands hooks GIT_INDEX_FILE=.git/index, relative to the top of the work tree; a hook that
    runs apexscan from the project folder must still see what is staged (and `git commit FILE`
    stages into a temporary index of its own)."""
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ncd sfdx && exec {shlex.quote(sys.executable)} -m apexscan scan . --staged\n",
                    encoding="utf-8")
    hook.chmod(0o755)
    commits = repo.head_count()
    briefing = f"{CLASSES}/ClientBriefingService.cls"
    blocked = repo.commit("Client briefing with GPT", briefing, text={briefing: BRIEFING_LEAK})
    assert blocked.returncode != 0 and "ClientBriefingService.cls" in blocked.stdout, blocked.stdout
    repo.git("reset", "-q")
    service = f"{CLASSES}/AccountService.cls"
    _write(repo.root, {service: ACCOUNT_SERVICE.replace("'Warm'", "'Hot'")})
    allowed = repo.git("commit", "-m", "Rate reviewed accounts hot", "--", service, check=False)
    assert allowed.returncode == 0, allowed.stdout
    assert "reporting 0 of 2 findings" in allowed.stdout  # the leak left in the work tree is not staged
    blocked = repo.git("commit", "-m", "Client briefing with GPT", "--", briefing, check=False)
    assert blocked.returncode != 0 and "ClientBriefingService.cls" in blocked.stdout, blocked.stdout
    assert repo.head_count() == commits + 1


def test_readme_s_pre_commit_config_names_a_rev_that_exists_and_autoupdate_freezes_it(tmp_path):
    """The README starts from `rev: main` and `pre-commit autoupdate --freeze`: with no release tag,
    that must pin the newest commit of the hook repository by its full SHA."""
    _require_pre_commit()
    yaml = pytest.importorskip("yaml")
    readme = (CHECKOUT / "README.md").read_text("utf-8")
    section = readme[readme.index("### pre-commit"):]
    config = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    [repo_entry] = config["repos"]
    assert repo_entry["rev"] == "main" and [h["id"] for h in repo_entry["hooks"]] == ["apexscan"]
    env = _git_env(tmp_path)
    hooks = Repo(tmp_path / "apexscan", env)
    hooks.root.mkdir()
    hooks.git("init", "-q", "-b", "main")
    shutil.copy(HOOKS, hooks.root / ".pre-commit-hooks.yaml")
    hooks.git("add", "-A")
    hooks.git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "hooks")
    head = hooks.git("rev-parse", "HEAD").stdout.strip()
    user = Repo(tmp_path / "user", env)
    user.root.mkdir()
    user.git("init", "-q")
    config["repos"][0]["repo"] = str(hooks.root)
    (user.root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    user.run(sys.executable, "-m", "pre_commit", "autoupdate", "--freeze")
    frozen = yaml.safe_load((user.root / ".pre-commit-config.yaml").read_text("utf-8"))
    assert frozen["repos"][0]["rev"] == head and re.fullmatch(r"[0-9a-f]{40}", head)
