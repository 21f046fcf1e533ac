"""The files users copy into their CI: the GitHub Action (action.yml), the sample workflow, and
their checks: actions pinned by commit, inputs never spliced into scripts, and actionlint.

actionlint runs when it is installed (`actionlint` on PATH, or APEXSCAN_ACTIONLINT naming it);
.ci/run installs it, and with CI=true a missing actionlint fails instead of skipping.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
ACTION = CHECKOUT / "action.yml"
WORKFLOW = CHECKOUT / "samples" / "github-workflow" / "apexscan.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _yaml(path: Path) -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(path.read_text("utf-8"))


def _uses_lines(path: Path) -> list[str]:
    return [line.split("uses:", 1)[1].strip() for line in path.read_text("utf-8").splitlines()
            if line.strip().startswith(("uses:", "- uses:"))]


@pytest.mark.parametrize("path", [ACTION, WORKFLOW], ids=["action.yml", "sample workflow"])
def test_third_party_actions_are_pinned_by_full_commit_sha_with_the_tag_in_a_comment(path):
    lines = _uses_lines(path)
    assert lines
    for line in lines:
        ref, _, comment = line.partition("#")
        ref = ref.strip()
        if ref.split("@")[0].endswith("/apexscan") or ref.startswith("./"):
            continue  # apexscan itself: the user's own pin
        assert PINNED.match(ref), f"{path.name}: {ref} is not pinned by a full commit SHA"
        assert re.match(r"^\s*v\d+(\.\d+)*$", comment), f"{path.name}: {line} names no tag in a comment"


def test_action_is_composite_installs_itself_at_its_ref_scans_and_uploads_with_a_category():
    action = _yaml(ACTION)
    runs = action["runs"]
    assert runs["using"] == "composite"
    steps = runs["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    install = next(s for s in steps if s.get("name") == "Install apexscan")
    assert install["env"]["APEXSCAN_SOURCE"] == "${{ github.action_path }}"
    upload = steps[-1]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["category"] == "${{ steps.scan.outputs.category }}"
    for step in steps:  # inputs reach scripts through the environment (no script injection)
        assert "${{" not in step.get("run", ""), step
    scan = next(s for s in steps if s.get("id") == "scan")
    assert "--category" not in scan["run"]  # the SARIF carries none, so upload-sarif's applies
    assert set(action["inputs"]) >= {"path", "policy", "category", "fail-on", "sarif-file", "upload", "args"}


def test_sample_workflow_uses_the_action_and_caches_the_facts_cache():
    job = _yaml(WORKFLOW)["jobs"]["apexscan"]
    uses = [s.get("uses", "") for s in job["steps"]]
    assert any(u.split("@")[0].endswith("/apexscan") for u in uses)
    cache = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == "~/.cache/apexscan"
    assert job["permissions"]["security-events"] == "write"


def _actionlint() -> str:
    found = os.environ.get("APEXSCAN_ACTIONLINT") or shutil.which("actionlint")
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("actionlint is not installed (.ci/run installs it)")
        pytest.skip("actionlint is not installed")
    return found


def test_actionlint_passes_on_the_sample_workflow_and_on_a_workflow_using_the_action(tmp_path):
    actionlint = _actionlint()
    repo = tmp_path / "repo"
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, capture_output=True)
    shutil.copy(WORKFLOW, workflows / "apexscan.yml")
    # The action as a local one: actionlint then checks the inputs against action.yml.
    shutil.copy(ACTION, repo / "action.yml")
    (workflows / "local.yml").write_text(
        WORKFLOW.read_text("utf-8").replace("your-org/apexscan@v1", "./").replace(
            "          category: apexscan\n",
            "          path: salesforce\n          category: apexscan-salesforce\n          fail-on: error\n"),
        encoding="utf-8")
    done = subprocess.run([actionlint, "-no-color"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # and it does check: a misspelt input of the action is an error
    (workflows / "local.yml").write_text((workflows / "local.yml").read_text("utf-8").replace(
        "fail-on: error", "fail_on: error"), encoding="utf-8")
    done = subprocess.run([actionlint, "-no-color"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and 'input "fail_on" is not defined' in done.stdout
