"""Command line: `apexscan scan`, `apexscan rules`, `apexscan inventory`, `apexscan evidence`, `apexscan init`,
`apexscan lsp`.

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage error or nothing scannable.
Findings suppressed by an `apexscan:ignore` comment, and with --baseline or --baseline-ref those the
baseline already had, never make the run fail.
"""
from __future__ import annotations

import functools
import gc
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

import click

from apexscan import __version__
from apexscan.engine.model import Diagnostic, Finding
from apexscan.interfaces.report.evidence import (
    EVIDENCE_CSS,
    evidence_section,
    render_evidence_json,
    render_evidence_text,
)
from apexscan.interfaces.report.inventory import (
    render_inventory_html,
    render_inventory_json,
    render_inventory_markdown,
)
from apexscan.interfaces.report.json_report import render_json
from apexscan.interfaces.report.sarif import dumps_sarif, render_sarif
from apexscan.interfaces.report.text import render_diagnostics, render_text
from apexscan.interfaces.staged import could_touch, narrow, selection, skipped
from apexscan.pipeline import suppress
from apexscan.pipeline.basecommit import BaseError, GitBase, base_project, checked_out, find_git_base
from apexscan.pipeline.baseline import NEW, BaselineError, Comparison, baseline_of, compare, load_baseline
from apexscan.pipeline.cache import FactsCache, default_cache_dir
from apexscan.pipeline.event_log_files import LogUsageError, discover_logs, read_logs
from apexscan.pipeline.evidence import build_evidence
from apexscan.pipeline.evidence import fails as evidence_fails
from apexscan.pipeline.gitread import GitError
from apexscan.pipeline.inventory import InventoryError, build_inventory, empty_inventory, load_inventory
from apexscan.pipeline.inventory import compare as compare_inventories
from apexscan.pipeline.lowering import default_jobs
from apexscan.pipeline.policyref import TrustedPolicy, policy_from_ref
from apexscan.pipeline.project import Project, UsageError, discover
from apexscan.pipeline.scan import ScanMemory
from apexscan.pipeline.scan import scan as run_scan
from apexscan.salesforce.event_logs import load_event_types
from apexscan.salesforce.policy import Policy, PolicyError, load_policy
from apexscan.salesforce.rules import load_catalog
from apexscan.salesforce.sensitivity import FieldCatalog

LEVELS = {"note": 0, "warning": 1, "error": 2}
T = TypeVar("T")


@dataclass
class Speed:
    """--no-cache, --cache-dir and --jobs: how a scan is run, never what it finds."""

    cache_dir: Path | None  # None: no cache
    jobs: int
    # A long-running process (the language server) keeps, per project root, the cache object (the
    # facts it has decoded, instead of reading the pack again at each save) and the previous
    # scan's linking, patched where files changed; it writes the caches in `between_scans`.
    resident: bool = False
    caches: dict = field(default_factory=dict)
    memories: dict = field(default_factory=dict)
    scans: int = 0

    def scan(self, project, policy, **options):
        cache = memory = None
        if self.cache_dir is not None:
            cache = self.caches.setdefault(project.root, FactsCache(self.cache_dir, project.root))
            if self.resident:
                memory = self.memories.setdefault(project.root, ScanMemory())
        result = run_scan(project, policy, cache=cache, jobs=self.jobs, memory=memory, **options)
        if cache is not None:
            cache.finish()
            if not self.resident:
                cache.write()
        return result

    def between_scans(self) -> None:
        """Housekeeping for a long-running process, once a scan's results are out: write the
        caches; then collect the scan's garbage and freeze what is kept (facts, the linked graph),
        so that the collector stops walking those millions of objects (a 1.6 s pause on NPSP in the
        middle of a later scan). What is kept holds no reference cycles, and is freed by reference
        counting when a later scan replaces it; every 25th time, everything is unfrozen and
        collected in full, for whatever cyclic garbage the server's own objects left there."""
        for cache in self.caches.values():
            cache.write()
        self.scans += 1
        if self.scans % 25 == 0:
            gc.unfreeze()
        gc.collect()
        gc.freeze()


def speed_options(command):
    """Add the cache and worker options to a command; it receives them as one `speed` argument."""
    @click.option("--no-cache", is_flag=True,
                  help="Parse every file again instead of reusing the facts of unchanged files.")
    @click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False),
                  help="Where parsed facts are kept between runs (default: $XDG_CACHE_HOME/apexscan "
                       "or ~/.cache/apexscan; never inside the scanned project unless you say so).")
    @click.option("--jobs", type=click.IntRange(min=1), default=None,
                  help=f"Worker processes for parsing large projects (default: {default_jobs()}; "
                       "1: parse in this process).")
    @functools.wraps(command)
    def wrapper(*args, no_cache: bool, cache_dir: Path | None, jobs: int | None, **kwargs):
        folder = None if no_cache else (cache_dir or default_cache_dir())
        return command(*args, speed=Speed(folder, jobs or default_jobs()), **kwargs)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="apexscan")
def main() -> None:
    """Find paths from sensitive Salesforce data to LLM APIs outside your jurisdiction."""


@main.command(short_help="Report paths from sensitive data to LLMs outside your jurisdiction.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "sarif", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report to this file instead of standard output.")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Policy file (default: apexscan.toml at the project root, if present).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "note", "never"]), default="error",
              show_default=True, help="Exit 1 when a finding at or above this level is reported.")
@click.option("--policy-ref", metavar="REF",
              help="Read the policy file from git commit REF (a trusted branch, such as the pull request's base) "
                   "instead of the working tree; a working tree policy that differs is an APX-SCAN-002 error.")
@click.option("--baseline", "baseline_path", type=click.Path(path_type=Path, dir_okay=False),
              help="SARIF of an earlier scan: only findings it does not have fail the run.")
@click.option("--baseline-ref", metavar="REF",
              help="The baseline is the findings of the project as it is in git commit REF (read from git's "
                   "objects, scanned with the same policy): only findings it does not have fail the run.")
@click.option("--show-suppressed", is_flag=True,
              help="List findings suppressed by apexscan:ignore comments in the text report.")
@click.option("--staged", is_flag=True,
              help="Report only findings whose location or path touches a file staged in git "
                   "(the whole project is still analysed). For pre-commit hooks.")
@click.option("--only-touching", "only_touching", multiple=True, metavar="FILE",
              type=click.Path(path_type=Path),
              help="Report only findings whose location or path touches FILE (repeatable).")
@click.option("--strict", is_flag=True, hidden=True, help="Raise on unknown syntax (for tests).")
@speed_options
def scan(paths: tuple[Path, ...], fmt: str, output: Path | None, policy_path: Path | None,
         policy_ref: str | None, fail_on: str, baseline_path: Path | None, baseline_ref: str | None,
         show_suppressed: bool, strict: bool, staged: bool, only_touching: tuple[Path, ...],
         speed: Speed) -> None:
    """Scan an SFDX project folder (or individual files) and report LLM data leaks."""
    if baseline_path is not None and baseline_ref is not None:
        _fail("give --baseline FILE or --baseline-ref REF, not both")
    base = None
    try:
        project = discover(list(paths) or [Path(".")])
        policy, trusted = _policy(policy_path, project.root, policy_ref)
        baseline = load_baseline(baseline_path) if baseline_path is not None else None
        if baseline_ref is not None:
            base = find_git_base(baseline_ref, project.root, "--baseline-ref")
        selected = selection(project.root, staged, only_touching)
    except (UsageError, PolicyError, BaselineError, GitError) as exc:
        _fail(str(exc))
    _require_files(project)
    if could_touch(selected, project):
        result = speed.scan(project, policy, strict=strict)
    else:
        result = skipped(project)
    catalog = load_catalog()
    policy_finding = (trusted.finding,) if trusted is not None and trusted.finding is not None else ()
    findings = suppress.apply_in_project(project, result.findings + policy_finding, catalog)
    if base is not None:
        def base_findings(base_project: Project | None) -> tuple[Finding, ...]:
            if base_project is None:
                return ()
            found = Speed(None, speed.jobs).scan(base_project, policy, strict=strict).findings
            return suppress.apply_in_project(base_project, found, catalog)

        found, base_diagnostics = _in_base("--baseline-ref", base, paths, project, base_findings)
        baseline = baseline_of(found)
        result = replace(result, diagnostics=result.diagnostics + base_diagnostics)
        if fmt == "text":
            click.echo(f"apexscan: baseline: {len(found)} finding{'s' if len(found) != 1 else ''} of {base.name}",
                       err=True)
    if fmt == "text" and trusted is not None:
        _echo_policy(trusted)
    findings, result, note = narrow(findings, result, selected)  # --staged, --only-touching
    comparison = compare(findings, baseline) if baseline is not None else None
    if fmt == "sarif":
        texts = _file_texts(project.root, findings)
        doc = dumps_sarif(render_sarif(findings, catalog, result.diagnostics,
                                       tool_version=__version__, source_root=project.root,
                                       file_texts=texts, baseline=comparison))
    elif fmt == "json":
        doc = render_json(findings, catalog, result.diagnostics, baseline=comparison)
    else:
        doc = render_text(findings, catalog, result.diagnostics, color=False,
                          show_suppressed=show_suppressed, baseline=comparison)
    if fmt == "text" and result.diagnostics:
        click.echo(render_diagnostics(result.diagnostics), err=True, nl=False)
    if fmt == "text" and note:
        click.echo(note, err=True)
    if output is not None:
        _write_atomic(output, doc)
    else:
        click.echo(doc, nl=not doc.endswith("\n"))
    sys.exit(1 if _fails(findings, catalog, fail_on, comparison) else 0)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
def rules(fmt: str) -> None:
    """List the rule catalog."""
    catalog = load_catalog()
    for rule in catalog:
        if fmt == "markdown":
            click.echo(f"## {rule.id} {rule.name}\n\n{rule.help_markdown}\n")
        else:
            cwe = ", ".join(f"CWE-{c}" for c in rule.cwe)
            click.echo(f"{rule.id}  {rule.level:<7}  {rule.name}  ({cwe})\n    {rule.short_description}")


INVENTORY_RENDERERS = {"html": render_inventory_html, "json": render_inventory_json,
                       "markdown": render_inventory_markdown}


@main.command(short_help="Every channel out of the org: HTML, JSON or markdown for auditors.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(INVENTORY_RENDERERS)), default="html",
              show_default=True, help="html: one self-contained file; json: for scripts; markdown: for PRs.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the inventory to this file instead of standard output.")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Policy file (default: apexscan.toml at the project root, if present).")
@click.option("--policy-ref", metavar="REF",
              help="Read the policy file from git commit REF (a trusted branch) instead of the working tree.")
@click.option("--compare-ref", metavar="REF",
              help="List new, removed and changed channels and paths since git commit, branch or tag REF "
                   "(HEAD~1, origin/main): its version of the project is read from git's objects and scanned "
                   "with the same policy.")
@click.option("--compare-file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="List what changed since an earlier inventory written with --format json.")
@click.option("--compare", "compare_with", metavar="REF_OR_FILE",
              help="--compare-ref or --compare-file, whichever exists; an error when both a file and a git "
                   "ref have that name.")
@speed_options
def inventory(paths: tuple[Path, ...], fmt: str, output: Path | None, policy_path: Path | None,
              policy_ref: str | None, compare_ref: str | None, compare_file: Path | None,
              compare_with: str | None, speed: Speed) -> None:
    """Every channel through which data can leave the org: where it goes, what reaches it, from where."""
    if sum(option is not None for option in (compare_ref, compare_file, compare_with)) > 1:
        _fail("give one of --compare-ref, --compare-file and --compare")
    base: dict | GitBase | None = None
    try:
        project = discover(list(paths) or [Path(".")])
        policy, trusted = _policy(policy_path, project.root, policy_ref)
        if compare_file is not None:
            base = load_inventory(compare_file)
        elif compare_ref is not None:
            base = find_git_base(compare_ref, project.root, "--compare-ref")
        elif compare_with is not None:
            base = _compare_base(compare_with, project.root)
        compare_option = "--compare-ref" if compare_ref is not None else "--compare"
    except (UsageError, PolicyError, InventoryError, GitError) as exc:
        _fail(str(exc))
    _require_files(project)
    catalog = load_catalog()
    generator = f"apexscan {__version__}"

    def document(project, speed: Speed):
        doc, _, diagnostics = _inventory_document(project, policy, speed, catalog, generator)
        return doc, diagnostics

    doc, diagnostics = document(project, speed)
    if trusted is not None:
        doc["policy"].update(trusted_source=trusted.source, working_tree_changes=list(trusted.changes))
        _echo_policy(trusted)
    if isinstance(base, GitBase):
        def base_document(base_project: Project | None) -> dict:
            if base_project is None:
                name = f"{base.name}, which has no {base.prefix if base.prefix != '.' else 'project'}"
                return compare_inventories(empty_inventory(generator), doc, name)
            # no facts cache for a temporary folder: its pack would outlive it
            return compare_inventories(document(base_project, Speed(None, speed.jobs))[0], doc, base.name)

        doc["comparison"], base_diagnostics = _in_base(compare_option, base, paths, project, base_document)
        diagnostics = diagnostics + base_diagnostics
    elif base is not None:
        doc["comparison"] = compare_inventories(base, doc, str(compare_file or compare_with))
    if diagnostics:
        click.echo(render_diagnostics(diagnostics), err=True, nl=False)
    text = INVENTORY_RENDERERS[fmt](doc)
    if output is not None:
        _write_atomic(output, text)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def _inventory_document(project, policy, speed: Speed, catalog, generator: str):
    """(the inventory document, the project's metadata, the scan's diagnostics)."""
    result = speed.scan(project, policy, inventory=True)
    findings = suppress.apply_in_project(project, result.findings, catalog)
    doc = build_inventory(result.sinks, findings, result.metadata, policy, {r.id: r.level for r in catalog},
                          project=project.root.name, generator=generator)
    return doc, result.metadata, result.diagnostics


@main.command(short_help="What Event Monitoring logs say was sent where, checked against the inventory.")
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--project", "project_path", type=click.Path(path_type=Path),
              help="The SFDX project whose inventory the logs are checked against (drift, dormant channels, "
                   "Connected Apps, sensitive objects). Without it, only what the logs say is reported.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True,
              help="text: a summary; json: the evidence document (schema: evidence.schema.json); html: the "
                   "project's inventory page with a runtime evidence section (needs --project).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report to this file instead of standard output.")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Policy file (default: apexscan.toml at the project root, or in the current folder "
                   "without --project). Its [networks] say where API clients may connect from.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "note", "never"]), default="error",
              show_default=True, help="Exit 1 when a finding at or above this level is reported.")
@speed_options
def evidence(logs: tuple[Path, ...], project_path: Path | None, fmt: str, output: Path | None,
             policy_path: Path | None, fail_on: str, speed: Speed) -> None:
    """Read exported Event Monitoring logs (EventLogFile CSVs, .csv or .csv.gz; files or folders) and
    report the destinations actually called, drift from the project's inventory, the API clients that
    pulled data and from where, and days of unusual volume."""
    types = load_event_types()
    if fmt == "html" and project_path is None:
        _fail("--format html puts the evidence into the project's inventory page: give --project")
    try:
        project = discover([project_path]) if project_path is not None else None
        policy = load_policy(policy_path, project.root if project is not None else Path("."))
        files, skipped, problems = discover_logs(list(logs), types)
    except (UsageError, PolicyError, LogUsageError) as exc:
        _fail(str(exc))
    generator = f"apexscan {__version__}"
    inventory_doc, catalog, diagnostics = None, None, []
    if project is not None:
        _require_files(project)
        inventory_doc, metadata, diagnostics = _inventory_document(project, policy, speed, load_catalog(), generator)
        catalog = FieldCatalog.build(metadata, policy.sensitive_fields, policy.non_sensitive_fields)
    tables = read_logs(files, types)
    doc = build_evidence(tables, skipped, problems, inventory_doc, catalog, policy, types,
                         project=project.root.name if project is not None else "", generator=generator)
    if diagnostics or doc["diagnostics"]:
        log_problems = [Diagnostic(d["path"], "event-log", d["message"], d["line"]) for d in doc["diagnostics"]]
        click.echo(render_diagnostics([*diagnostics, *log_problems]), err=True, nl=False)
    if not any(f["status"] == "read" for f in doc["inputs"]["files"]):
        _fail("no event log among " + ", ".join(str(p) for p in logs) + " could be read (see above)")
    if fmt == "json":
        text = render_evidence_json(doc)
    elif fmt == "html":
        text = render_inventory_html(inventory_doc, sections=[(EVIDENCE_CSS, evidence_section(doc))])
    else:
        text = render_evidence_text(doc)
    if output is not None:
        _write_atomic(output, text)
    else:
        click.echo(text, nl=not text.endswith("\n"))
    sys.exit(1 if evidence_fails(doc["findings"], fail_on) else 0)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing apexscan.toml.")
def init(folder: Path, force: bool) -> None:
    """Write a commented starter policy (apexscan.toml) into FOLDER."""
    target = folder / "apexscan.toml"
    if target.exists() and not force:
        _fail(f"{target} already exists (use --force to overwrite)")
    if not folder.is_dir():
        _fail(f"{folder}: no such folder")
    template = files("apexscan.salesforce.data").joinpath("policy_template.toml").read_text("utf-8")
    _write_atomic(target, template)
    click.echo(f"wrote {target}")


@main.command()
@click.option("--stdio", is_flag=True, help="Talk over standard input and output (the default; "
                                            "accepted because editor clients pass it).")
@speed_options
def lsp(stdio: bool, speed: Speed) -> None:
    """Language server: findings in the editor.

    Speaks LSP over standard input and output. Each time an Apex, LWC, Flow or metadata file is
    opened or saved, the whole project is scanned and its findings are published as diagnostics
    (see docs/vscode.md).
    """
    del stdio  # stdio is the only transport
    from apexscan.interfaces.lsp import create_server  # pygls is loaded only by this command
    speed = replace(speed, resident=True)  # caches written after the diagnostics are out, not before
    create_server(speed.scan, idle=speed.between_scans).start_io()


def _policy(policy_path: Path | None, root: Path, policy_ref: str | None) -> tuple[Policy, TrustedPolicy | None]:
    """The policy to scan with: the working tree's, or with --policy-ref the trusted commit's."""
    if policy_ref is None:
        return load_policy(policy_path, root), None
    trusted = policy_from_ref(policy_ref, policy_path, root)
    return trusted.policy, trusted


def _echo_policy(trusted: TrustedPolicy) -> None:
    click.echo(f"apexscan: policy from {trusted.source}", err=True)
    if trusted.changes:
        click.echo(f"apexscan: the working tree's policy differs from it (APX-SCAN-002): {'; '.join(trusted.changes)}",
                   err=True)


def _compare_base(name: str, root: Path) -> dict | GitBase:
    """`--compare NAME`: the inventory file NAME or the git ref NAME, whichever exists; an error
    when both do (a committed file named `origin/main` must not stand in for the branch)."""
    is_file = Path(name).is_file()
    try:
        base = find_git_base(name, root, "--compare", or_file=True)
    except GitError:
        if is_file:
            return load_inventory(Path(name))
        raise
    if is_file:
        raise UsageError(f"--compare {name}: ambiguous, both a file and a git ref ({base.name}) have that name; "
                         f"say --compare-file {name} or --compare-ref {name}")
    return base


def _in_base(option: str, base: GitBase, paths: tuple[Path, ...], project: Project,
             use: Callable[[Project | None], T]) -> tuple[T, tuple[Diagnostic, ...]]:
    """`use(the same targets as they are in the base commit, or None when it has none of them)`,
    and what reading the base left out."""
    diagnostics: list[Diagnostic] = []
    try:
        with checked_out(base, diagnostics) as folder:
            value = use(base_project(folder, paths or (Path("."),), project.root))
    except (BaseError, UsageError) as exc:
        _fail(f"{option} {base.ref}: {exc}")
    return value, tuple(diagnostics)


def _fails(findings: tuple[Finding, ...], catalog, fail_on: str, baseline: Comparison | None) -> bool:
    """A finding at or above `fail_on` that is neither suppressed nor already in the baseline."""
    if fail_on == "never":
        return False
    threshold = LEVELS[fail_on]
    return any(LEVELS[f.level or catalog[f.rule_id].level] >= threshold for f in findings
               if not f.suppression and (baseline is None or baseline.state(f) == NEW))


def _file_texts(root: Path, findings: tuple[Finding, ...]) -> dict[str, str]:
    texts = {}
    for f in findings:
        rel = f.location.path
        if rel not in texts:
            try:
                texts[rel] = (root / rel).read_text("utf-8", errors="replace")
            except OSError:
                texts[rel] = ""
    return texts


def _write_atomic(path: Path, text: str) -> None:
    """Write the whole report or nothing: a crash never leaves half a SARIF file behind.

    A device or pipe (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is written to directly: renaming a
    file over it would replace the device itself (as root) or fail."""
    try:
        if path.exists() and not path.is_file():
            if path.is_dir():
                _fail(f"{path}: is a folder; give a file name for the report")
            with path.open("w", encoding="utf-8", newline="\n") as out:
                out.write(text)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a report is an ordinary file
        os.replace(tmp, path)
    except OSError as exc:
        _fail(f"{path}: cannot write report: {exc.strerror or exc}")


def _require_files(project) -> None:
    if not project.files:
        _fail(f"{project.root}: no Apex classes, triggers, flows, Lightning components or metadata "
              "files found (is this a Salesforce DX project?)")


def _fail(message: str) -> None:
    click.echo(f"apexscan: error: {message}", err=True)
    sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
