"""`--policy-ref REF`: scan with the policy of a trusted commit, and report a pull request that changes it.

The policy decides what counts as a leak: `allowed_hosts = ["*.com"]` in a pull request's
`apexscan.toml` silences every finding. With `--policy-ref origin/main` the policy file the scan
would otherwise read (the same path, relative to the top of the work tree) is read from that
commit's git objects instead, through `gitread` (a blob of at most `MAX_POLICY_BYTES`), and the scan
uses it. When the working tree's policy means something else (another key or value; comments and
order do not count), or is missing or invalid, the difference is an APX-SCAN-002 finding at the
policy file: the change takes effect once merged, so the gate fails until someone who owns the
policy accepts it. The finding cannot be suppressed by a comment (`suppress.UNSUPPRESSIBLE`): the
pull request under review writes the comments too.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from apexscan.engine.model import Destination, Finding, Location, Verdict
from apexscan.pipeline.basecommit import find_git_base
from apexscan.pipeline.fingerprints import CONTEXT_KEY
from apexscan.pipeline.gitread import GitError
from apexscan.salesforce.policy import (
    Policy,
    PolicyError,
    load_policy,
    policy_changes,
    policy_from_text,
)

RULE_ID = "APX-SCAN-002"
MAX_POLICY_BYTES = 1 << 20  # a policy file is a few hundred bytes
POLICY_DESTINATION = Destination("", "", "", "", "", Verdict.NOT_LLM, "policy file")


@dataclass(frozen=True, slots=True)
class TrustedPolicy:
    policy: Policy  # the one to scan with: the trusted commit's
    source: str  # what it was read from, for the reader: "origin/main (commit 3f2a1b0c4d):apexscan.toml"
    changes: tuple[str, ...]  # how the working tree's policy differs; () when it does not
    finding: Finding | None  # the APX-SCAN-002 finding when it differs
    sha256: str = ""  # of the trusted policy file's bytes; "" for the built-in defaults


def policy_from_ref(ref: str, candidates: Sequence[Path], project_root: Path,
                    working: Path | None) -> TrustedPolicy:
    """The policy of commit `ref`, and how the working tree's differs.

    `candidates` are the files the scan looks for, in order (the `--policy` file, else apexscan.toml
    at the project root, the repository root, the current folder): the first that commit `ref` has
    is the trusted policy (its built-in defaults when it has none), chosen in REF's tree, not the
    working tree's, so that deleting or adding a file cannot move the scan to another policy.
    `working` is the file the scan would use without --policy-ref (None: the defaults). Raises
    GitError (git, repository or ref unusable, a path outside the work tree, the file not a regular
    file or too large) or PolicyError (the trusted policy itself is invalid), with one-line messages."""
    option = f"--policy-ref {ref}"
    base = find_git_base(ref, project_root, "--policy-ref")
    inside = []  # (file, path in the work tree) of each candidate, once
    for candidate in candidates:
        file = _absolute(candidate)
        try:
            rel = file.relative_to(base.top).as_posix()
        except ValueError:
            if len(candidates) == 1:  # the file given (--policy, $APEXSCAN_POLICY) must be in the commit
                raise GitError(f"{option}: the policy file {file} is not inside the git work tree {base.top}") from None
            continue  # the current folder's apexscan.toml, outside the repository: not in any commit
        if rel not in (r for _, r in inside):
            inside.append((file, rel))
    chosen, entry, rel = None, None, ""
    for file, rel in inside:
        entry = base.repo.tree_entry(base.commit, rel)
        if entry is not None:
            chosen = file
            break
    if entry is None:
        looked = " or ".join(r for _, r in inside) or "policy file"
        trusted, source, digest = Policy(), f"{base.name}, which has no {looked}: the built-in defaults", ""
    elif entry.kind != "blob" or not entry.mode.startswith("100"):
        raise GitError(f"{option}: {base.name}:{rel} is not a regular file")
    else:
        where = f"{base.name}:{rel}"
        try:
            data = base.repo.read_blob(entry.oid, MAX_POLICY_BYTES)
        except GitError as exc:
            raise GitError(f"{option}: cannot read {where}: {exc}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PolicyError(f"{where}: the trusted policy is not UTF-8") from None
        trusted, source, digest = policy_from_text(text, where), where, hashlib.sha256(data).hexdigest()

    working_file = _absolute(working) if working is not None else None
    current, changes = Policy(), ()
    try:
        current = load_policy(working_file, project_root) if working_file is not None else Policy()
    except PolicyError as exc:
        changes = (f"it is not a valid policy ({exc.message})",)
    if not changes:
        changes = policy_changes(trusted, current)
        if changes and working_file is None:
            changes = ("it is deleted (the built-in defaults would apply)", *changes)
        elif changes and chosen is None:
            try:
                named = working_file.relative_to(base.top).as_posix()
            except ValueError:
                named = str(working_file)
            changes = (f"{named} is new", *changes)
        elif changes and working_file != chosen:
            changes = (f"the scan would use another file than the trusted {rel}", *changes)
    finding = None
    at = working_file or chosen
    if changes and at is not None:
        shown = os.path.relpath(at, project_root).replace(os.sep, "/")
        finding = Finding(
            rule_id=RULE_ID,
            location=Location(shown, 1, 1),
            message=(f"The policy in the working tree ({shown}) differs from the trusted one in {source}: "
                     f"{'; '.join(changes)}. This scan used the trusted policy; the change applies once it is "
                     "merged, so it needs the approval of whoever owns the policy."),
            destination=POLICY_DESTINATION,
            extra=((CONTEXT_KEY, "; ".join(changes)),),  # fingerprint: what changed, not where
        )
    return TrustedPolicy(trusted, source, changes, finding, digest)


def _absolute(path: Path) -> Path:
    """An absolute path whose last part is kept as it is (the link itself when it is a symbolic link)."""
    file = Path(os.path.abspath(path))
    return file.parent.resolve() / file.name
