"""Command line: `apexscan scan`, `apexscan rules`, `apexscan inventory`, `apexscan evidence`, `apexscan init`,
`apexscan lsp`.

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage error, nothing scannable or a
report that cannot be written, 3 internal error (a bug in apexscan: one line on stderr, the
traceback in a file it names, or on stderr with --debug), 130 interrupted. Findings suppressed by
an `apexscan:ignore` comment, and with --baseline or --baseline-ref those the baseline already had,
never make the run fail. No exit leaves a partial report or a temporary file behind.
"""
from __future__ import annotations

import difflib
import functools
import gc
import json
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

import click

from apexscan import __version__
from apexscan.engine.model import Diagnostic, Finding, sorted_findings
from apexscan.interfaces.progress import ScanProgress
from apexscan.interfaces.report import level_of
from apexscan.interfaces.report.evidence import (
    EVIDENCE_CSS,
    evidence_section,
    render_evidence_json,
    render_evidence_text,
)
from apexscan.interfaces.report.inventory import (
    render_channels_csv,
    render_findings_csv,
    render_inventory_html,
    render_inventory_json,
    render_inventory_markdown,
)
from apexscan.interfaces.report.json_report import json_schema_text, rule_json
from apexscan.interfaces.report.text import render_diagnostics, summary_line
from apexscan.interfaces.report.visible import visible_line
from apexscan.interfaces.reports import FORMATS, Outcome, TextOptions, policy_lines, render, step_summary
from apexscan.interfaces.staged import could_touch, narrow, selection, skipped
from apexscan.pipeline import suppress
from apexscan.pipeline.basecommit import BaseError, GitBase, base_project, checked_out, find_git_base
from apexscan.pipeline.baseline import NEW, BaselineError, Comparison, baseline_of, compare, load_baseline
from apexscan.pipeline.cache import FactsCache, default_cache_dir
from apexscan.pipeline.coverage import reported_separately
from apexscan.pipeline.estate import estate_targets
from apexscan.pipeline.estate import merge as merge_inventories
from apexscan.pipeline.event_log_files import LogUsageError, discover_logs, read_logs
from apexscan.pipeline.evidence import build_evidence
from apexscan.pipeline.evidence import fails as evidence_fails
from apexscan.pipeline.gitread import GitError
from apexscan.pipeline.inventory import InventoryError, build_inventory, empty_inventory, load_inventory
from apexscan.pipeline.inventory import compare as compare_inventories
from apexscan.pipeline.lowering import default_jobs
from apexscan.pipeline.policyref import TrustedPolicy
from apexscan.pipeline.project import Project, UsageError, discover
from apexscan.pipeline.record import policy_file, scan_time, source_of, stamp
from apexscan.pipeline.scan import ScanMemory, ScanResult
from apexscan.pipeline.scan import scan as run_scan
from apexscan.pipeline.workspace import (
    Workspace,
    make_unit,
    open_workspace,
    rebase,
    rebase_diagnostics,
    repository_root,
)
from apexscan.salesforce.event_logs import load_event_types
from apexscan.salesforce.policy import Policy, PolicyError, load_policy
from apexscan.salesforce.rules import load_catalog
from apexscan.salesforce.sensitivity import FieldCatalog

LEVELS = {"note": 0, "warning": 1, "error": 2}
T = TypeVar("T")
EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 2, 3, 130


class Main(click.Group):
    """The command group, and the one place where an unexpected exception is caught: whatever goes
    wrong inside apexscan exits 3 (never 1, which means findings), with one line on stderr."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # usage errors (2) and --help/--version: click reports them
        except KeyboardInterrupt:
            click.echo("apexscan: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:  # `apexscan scan . | head`: the reader went away
            _silence_stdout()
            sys.exit(EXIT_USAGE)
        except Exception as exc:  # noqa: BLE001 - the crash handler: anything else is a bug in apexscan
            _internal_error(exc, debug=bool(ctx.params.get("debug")))


def _internal_error(exc: Exception, debug: bool) -> None:
    """Report a bug in apexscan: the traceback on stderr with --debug, else in a file named on one line."""
    details = "".join(traceback.format_exception(exc))
    summary = visible_line(f"{type(exc).__name__}: {exc}")[:300]
    if debug:
        click.echo(details, err=True, nl=False)
        where = "the traceback is above"
    else:
        where = _crash_report(details)
    click.echo(f"apexscan: internal error: this is a bug in apexscan, not a problem with your project "
               f"({summary}); {where}", err=True)
    sys.exit(EXIT_INTERNAL)


def _crash_report(details: str) -> str:
    """Write the traceback to a new file in the temporary folder; say where (or that it could not)."""
    header = (f"apexscan {__version__} on Python {platform.python_version()} ({platform.platform()})\n"
              f"command: {' '.join(sys.argv)}\n\n")
    try:
        handle, path = tempfile.mkstemp(prefix="apexscan-crash-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as out:
            out.write(header + details)
    except OSError:
        return "rerun with --debug for the traceback"
    return f"details in {path} (rerun with --debug to print them)"


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that the interpreter's final flush is quiet."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="apexscan")
@click.option("--debug", is_flag=True, envvar="APEXSCAN_DEBUG",
              help="On an internal error (exit 3), print the traceback instead of writing it to a file.")
def main(debug: bool) -> None:
    """Find paths from sensitive Salesforce data to LLM APIs outside your jurisdiction."""
    del debug  # read by Main.invoke


@main.command(short_help="Report paths from sensitive data to LLMs outside your jurisdiction.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report to this file instead of standard output (the summary line still "
                   "goes to standard error).")
@click.option("--sarif-output", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Also write a SARIF report to FILE.")
@click.option("--json-output", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Also write a JSON report to FILE.")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Policy file (default: $APEXSCAN_POLICY, else apexscan.toml at the project root, the "
                   "repository root or the current folder).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "note", "never"]), default="error",
              show_default=True, help="Exit 1 when a finding at or above this level is reported.")
@click.option("--policy-ref", metavar="REF",
              help="Read each project's policy file from git commit REF (a trusted branch, such as the pull "
                   "request's base) instead of the working tree; a working tree policy that differs is an "
                   "APX-SCAN-002 error.")
@click.option("--min-level", type=click.Choice(["note", "warning", "error"]), default="note",
              show_default=True, help="Report only findings at or above this level.")
@click.option("--baseline", "baseline_path", type=click.Path(path_type=Path, dir_okay=False),
              help="SARIF of an earlier scan: only findings it does not have are listed and fail the run.")
@click.option("--baseline-ref", metavar="REF",
              help="The baseline is the findings of the same targets as they are in git commit REF (read from "
                   "git's objects, scanned with the same policies): only findings it does not have are listed "
                   "and fail the run.")
@click.option("--show-suppressed", is_flag=True,
              help="List findings suppressed by apexscan:ignore comments in the text report.")
@click.option("--paths", "all_paths", is_flag=True,
              help="Text report: list every step of every path (default: one representative path).")
@click.option("--staged", is_flag=True,
              help="Report only findings whose location or path touches a file staged in git "
                   "(the whole project is still analysed).")
@click.option("--only-touching", "only_touching", multiple=True, metavar="FILE",
              type=click.Path(path_type=Path),
              help="Report only findings whose location or path touches FILE (repeatable).")
@click.option("--changed-files", is_flag=True,
              help="PATHS are files (pre-commit passes them): analyse every project of the repository "
                   "they are in, whole, and report the findings that touch one of them.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Do not scan files matching GLOB (.gitignore syntax; repeatable).")
@click.option("--include", multiple=True, metavar="GLOB",
              help="Scan only files matching GLOB (.gitignore syntax; repeatable).")
@click.option("--category", metavar="NAME",
              help="SARIF automationDetails.id (default: none, so upload-sarif's category applies).")
@click.option("--source-root", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Report paths relative to this folder (default: the top of the git repository, "
                   "else the folder scanned); SARIF's %SRCROOT%.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the text report (auto: on a terminal, unless NO_COLOR is set).")
@click.option("-q", "--quiet", is_flag=True,
              help="Print findings and scan problems only: no policy, summary or progress lines.")
@click.option("--no-step-summary", is_flag=True,
              help="On GitHub Actions, do not append a Markdown summary to $GITHUB_STEP_SUMMARY.")
@click.option("--strict", is_flag=True, hidden=True, help="Raise on unknown syntax (for tests).")
@speed_options
def scan(paths: tuple[Path, ...], fmt: str, output: Path | None, sarif_output: Path | None,
         json_output: Path | None, policy_path: Path | None, policy_ref: str | None, fail_on: str,
         min_level: str, baseline_path: Path | None, baseline_ref: str | None, show_suppressed: bool,
         all_paths: bool, staged: bool, only_touching: tuple[Path, ...], changed_files: bool,
         exclude: tuple[str, ...], include: tuple[str, ...], category: str | None, source_root: Path | None,
         color: str, quiet: bool, no_step_summary: bool, strict: bool, speed: Speed) -> None:
    """Scan a repository, an SFDX project folder or individual files, and report LLM data leaks."""
    if baseline_path is not None and baseline_ref is not None:
        _fail("give --baseline FILE or --baseline-ref REF, not both")
    base = None
    try:
        targets = list(paths)
        if changed_files:
            folders = [p for p in paths if p.is_dir()]
            if folders:
                raise UsageError(f"--changed-files: {folders[0]} is a folder; give the files to report on "
                                 "(pre-commit passes them), the repository they are in is analysed")
            here = Path.cwd()
            targets = [repository_root(here) or here]
            only_touching = (*only_touching, *paths)
        workspace = open_workspace(targets or [Path(".")], policy_path=policy_path, report_root=source_root,
                                   exclude=exclude, include=include, policy_ref=policy_ref)
        baseline = load_baseline(baseline_path) if baseline_path is not None else None
        if baseline_ref is not None:
            base = find_git_base(baseline_ref, workspace.report_root, "--baseline-ref")
        selected = selection(workspace.report_root, staged, only_touching)
    except (UsageError, PolicyError, BaselineError, GitError) as exc:
        _fail(str(exc))
    if not any(unit.project.files for unit in workspace.units):
        _require_files(workspace.units[0].project)
    if not quiet:
        for line in policy_lines(workspace):
            click.echo(f"apexscan: {line}", err=True)
    catalog = load_catalog()
    with ScanProgress(sys.stderr, enabled=None if not quiet else False) as progress:
        findings, diagnostics = _scan_workspace(workspace, selected, speed, catalog, strict, progress)
    if base is not None:
        found, base_diagnostics = _base_findings(base, targets or [Path(".")], workspace, speed, catalog, strict)
        baseline = baseline_of(found)
        diagnostics = tuple(sorted(set(diagnostics + base_diagnostics)))
        if not quiet:
            click.echo(f"apexscan: baseline: {len(found)} finding{'s' if len(found) != 1 else ''} of {base.name}",
                       err=True)
    merged = ScanResult(workspace.report_root, findings, diagnostics, 0)
    findings, merged, note = narrow(findings, merged, selected)  # --staged, --only-touching, --changed-files
    findings = tuple(f for f in findings if LEVELS.get(level_of(f, catalog), 0) >= LEVELS[min_level])
    comparison = compare(findings, baseline) if baseline is not None else None
    outcome = Outcome(workspace, findings, merged.diagnostics, comparison)

    to_terminal = output is None and fmt == "text"
    text = TextOptions(color=to_terminal and _use_color(color), show_suppressed=show_suppressed, paths=all_paths,
                       focus=selected, summary=not quiet)
    doc = render(fmt, outcome, catalog, text=text, category=category)
    extra = [(target, render(kind, outcome, catalog, category=category))
             for kind, target in (("sarif", sarif_output), ("json", json_output)) if target is not None]
    if fmt == "text" or output is not None:
        separate = reported_separately(outcome.diagnostics)  # APX-SCAN-001 ones are findings already
        if separate:
            click.echo(render_diagnostics(separate), err=True, nl=False)
        if note and not quiet:
            click.echo(note, err=True)
    for target, report in extra:
        _write_atomic(target, report)
    if output is not None:
        _write_atomic(output, doc)
        if not quiet:
            click.echo(summary_line(findings, catalog, comparison), err=True)
    else:  # click would strip the colours of a stream it does not take for a terminal
        _emit(doc, color=text.color or None)
    if not no_step_summary:
        _append_step_summary(outcome, catalog)
    sys.exit(EXIT_FINDINGS if _fails(findings, catalog, fail_on, comparison) else 0)


def _scan_workspace(workspace: Workspace, selected: frozenset[str] | None, speed: Speed, catalog,
                    strict: bool, progress) -> tuple[tuple[Finding, ...], tuple[Diagnostic, ...]]:
    """Scan each project with its policy; findings and diagnostics with report-relative paths.
    A project none of whose files a finding to report could touch is not scanned."""
    prefixes = [unit.prefix for unit in workspace.units]
    findings: list[Finding] = []
    diagnostics: list[Diagnostic] = []
    for unit in workspace.units:
        mine = _owned(selected, unit.prefix, prefixes)
        if unit.project.files and could_touch(mine, unit.project):
            result = speed.scan(unit.project, unit.policy, strict=strict, progress=progress)
        else:
            result = skipped(unit.project)
        # --policy-ref: the working tree's policy differs from the trusted one (never suppressible)
        policy_finding = (unit.trusted.finding,) if unit.trusted is not None and unit.trusted.finding else ()
        found = suppress.apply_in_project(unit.project, result.findings + policy_finding, catalog)
        found = tuple(f for f in found if f.rule_id not in unit.policy.disabled_rules)
        findings.extend(rebase(found, unit.prefix, unit.project.sfdx_prefix))
        diagnostics.extend(rebase_diagnostics(result.diagnostics, unit.prefix))
    return tuple(sorted_findings(findings)), tuple(sorted(set(diagnostics)))


def _owned(selected: frozenset[str] | None, prefix: str, prefixes: list[str]) -> frozenset[str] | None:
    """The selected report-relative paths that belong to the project at `prefix` (the innermost
    project holding them), relative to that project."""
    if selected is None:
        return None

    def owner(path: str) -> str:
        holding = [p for p in prefixes if not p or path.startswith(p + "/")]
        return max(holding, key=len) if holding else None

    lead = len(prefix) + 1 if prefix else 0
    return frozenset(p[lead:] for p in selected if owner(p) == prefix)


def _use_color(choice: str) -> bool:
    """--color: `auto` colours a terminal, unless NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    stream = sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def _append_step_summary(outcome: Outcome, catalog) -> None:
    """On GitHub Actions, add the Markdown summary to the job's page ($GITHUB_STEP_SUMMARY, a file
    every step of the job appends to)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY", "")
    if os.environ.get("GITHUB_ACTIONS") != "true" or not target:
        return
    try:
        with open(target, "a", encoding="utf-8", newline="\n") as out:
            out.write(step_summary(outcome, catalog))
    except OSError as exc:
        click.echo(f"apexscan: warning: cannot write the step summary to {target}: {exc.strerror or exc}", err=True)


@main.command()
@click.argument("rule_id", required=False, metavar="[RULE-ID]")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
def rules(rule_id: str | None, fmt: str) -> None:
    """List the rule catalog, or print one rule's help (apexscan rules APX-LLM-001)."""
    catalog = load_catalog()
    chosen = list(catalog)
    if rule_id is not None:
        if rule_id.upper() not in catalog:
            close = difflib.get_close_matches(rule_id.upper(), catalog.ids, n=1)
            _fail(f"no rule {rule_id!r}" + (f" (did you mean {close[0]}?)" if close else "")
                  + "; `apexscan rules` lists them")
        chosen = [catalog[rule_id.upper()]]
    if fmt == "json":
        click.echo(json.dumps([rule_json(rule) for rule in chosen], indent=2, ensure_ascii=False))
        return
    for rule in chosen:
        if fmt == "markdown":
            click.echo(f"## {rule.id} {rule.name}\n\n{rule.help_markdown}\n")
        elif rule_id is not None:
            cwe = ", ".join(f"CWE-{c}" for c in rule.cwe)
            click.echo(f"{rule.id} {rule.name} ({rule.level}, {cwe})\n\n{rule.short_description}\n\n"
                       f"Fix: {rule.fix_hint}\n\n{rule.help_text.rstrip()}")
        else:
            cwe = ", ".join(f"CWE-{c}" for c in rule.cwe)
            click.echo(f"{rule.id}  {rule.level:<7}  {rule.name}  ({cwe})\n    {rule.short_description}")


@main.command()
@click.argument("report", type=click.Choice(["json"]))
def schema(report: str) -> None:
    """Print the JSON Schema of a report (`apexscan schema json`: the --format json report)."""
    click.echo(json_schema_text(), nl=False)


INVENTORY_FORMATS = ("csv", "csv-findings", "html", "json", "markdown")


@main.command(short_help="Every channel out of the org: HTML, JSON, CSV or markdown for auditors.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(INVENTORY_FORMATS), default="html", show_default=True,
              help="html: one self-contained file; json: for scripts; csv / csv-findings: the channels / the "
                   "findings for spreadsheets; markdown: for pull requests.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the inventory to this file instead of standard output.")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Policy file (default: $APEXSCAN_POLICY, else apexscan.toml at each project's root, the "
                   "repository root or the current folder).")
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
@click.option("--changes-only", is_flag=True,
              help="Markdown with a comparison: the summary line and the changes only (a pull-request comment).")
@click.option("--artifact-url", metavar="URL",
              help="Where the full inventory is (a CI artifact): markdown points there when it leaves rows out.")
@click.option("--timestamp", metavar="TIME",
              help="Scan time to record (ISO 8601 with offset, or @SECONDS), for reproducible output; default: "
                   "$SOURCE_DATE_EPOCH, else the clock.")
@speed_options
def inventory(paths: tuple[Path, ...], fmt: str, output: Path | None, policy_path: Path | None,
              policy_ref: str | None, compare_ref: str | None, compare_file: Path | None,
              compare_with: str | None, changes_only: bool, artifact_url: str | None, timestamp: str | None,
              speed: Speed) -> None:
    """Every channel through which data can leave the org: where it goes, what reaches it, from where.

    Several folders of different projects or repositories (an SFDX project, its Mule apps, its
    services) make one estate inventory, each a system of its own."""
    if sum(option is not None for option in (compare_ref, compare_file, compare_with)) > 1:
        _fail("give one of --compare-ref, --compare-file and --compare")
    base: dict | GitBase | None = None
    try:
        units = [unit for group in estate_targets(list(paths) or [Path(".")])
                 for unit in open_workspace(group, policy_path=policy_path, policy_ref=policy_ref).units]
        scanned_at = scan_time(timestamp, os.environ)
        if changes_only and (fmt != "markdown" or not (compare_ref or compare_file or compare_with)):
            raise UsageError("--changes-only needs a comparison (--compare-ref, --compare-file or --compare) "
                             "and --format markdown")
        if compare_file is not None:
            base = load_inventory(compare_file)
        elif (compare_ref or compare_with) and len(units) > 1 and not (compare_with and Path(compare_with).is_file()):
            raise UsageError(f"{compare_ref or compare_with}: a git ref compares one project; for several, "
                             "give an earlier inventory file (--compare-file)")
        elif compare_ref is not None:
            base = find_git_base(compare_ref, units[0].project.root, "--compare-ref")
        elif compare_with is not None:
            base = _compare_base(compare_with, units[0].project.root)
        compare_option = "--compare-ref" if compare_ref is not None else "--compare"
    except (UsageError, PolicyError, InventoryError, GitError) as exc:
        _fail(str(exc))
    if not any(unit.project.files for unit in units):
        _require_files(units[0].project)
    units = [unit for unit in units if unit.project.files]
    catalog = load_catalog()
    generator = f"apexscan {__version__}"

    def document(project, policy, speed: Speed, policy_json=None, source=None):
        doc, _, diagnostics = _inventory_document(project, policy, speed, catalog, generator,
                                                  policy_file=policy_json, source=source)
        return doc, diagnostics

    docs, diagnostics = [], []
    for unit in units:
        project = unit.project
        chosen = policy_file(unit.choice.path, project.root) if unit.trusted is None else \
            {"file": unit.trusted.source, "sha256": unit.trusted.sha256}  # what the scan used: the trusted file
        one, problems = document(project, unit.policy, speed, chosen, source_of(project.root))
        if unit.trusted is not None:
            one["policy"].update(trusted_source=unit.trusted.source,
                                 working_tree_changes=list(unit.trusted.changes))
            for system in one["systems"]:
                system["policy"] = one["policy"]
            _echo_policy(unit.trusted)
        docs.append(one)
        diagnostics += problems
    doc = merge_inventories(docs, generator)
    if isinstance(base, GitBase):
        project, policy = units[0].project, units[0].policy

        def base_document(base_project: Project | None) -> dict:
            if base_project is None:
                name = f"{base.name}, which has no {base.prefix if base.prefix != '.' else 'project'}"
                return compare_inventories(empty_inventory(generator), doc, name)
            # no facts cache for a temporary folder: its pack would outlive it
            return compare_inventories(document(base_project, policy, Speed(None, speed.jobs))[0], doc, base.name)

        doc["comparison"], base_diagnostics = _in_base(
            compare_option, base, lambda folder: base_document(base_project(folder, paths or (Path("."),), project.root)))
        diagnostics = diagnostics + list(base_diagnostics)
    elif base is not None:
        doc["comparison"] = compare_inventories(base, doc, str(compare_file or compare_with))
    stamp(doc, *scanned_at, __version__)
    if diagnostics:
        click.echo(render_diagnostics(diagnostics), err=True, nl=False)
    if fmt == "markdown":
        text = render_inventory_markdown(doc, changes_only=changes_only, artifact=artifact_url or "")
    else:
        text = {"csv": render_channels_csv, "csv-findings": render_findings_csv, "html": render_inventory_html,
                "json": render_inventory_json}[fmt](doc)
    _emit(text, output)


def _inventory_document(project, policy, speed: Speed, catalog, generator: str, policy_file=None, source=None):
    """(the inventory document, the project's metadata, the scan's diagnostics)."""
    result = speed.scan(project, policy, inventory=True)
    findings = suppress.apply_in_project(project, result.findings, catalog)
    doc = build_inventory(result.sinks, findings, result.metadata, policy, {r.id: r.level for r in catalog},
                          project=project.root.name, generator=generator, units=result.units, source=source,
                          policy_file=policy_file)
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
        policy = _project_policy(project, policy_path, None)[0] if project is not None \
            else load_policy(policy_path, Path("."))
        files, skipped, problems = discover_logs(list(logs), types)
        scanned_at = scan_time(None, os.environ)
    except (UsageError, PolicyError, LogUsageError) as exc:
        _fail(str(exc))
    generator = f"apexscan {__version__}"
    inventory_doc, catalog, diagnostics = None, None, []
    if project is not None:
        _require_files(project)
        inventory_doc, metadata, diagnostics = _inventory_document(
            project, policy, speed, load_catalog(), generator, policy_file=policy_file(policy_path, project.root),
            source=source_of(project.root))
        stamp(inventory_doc, *scanned_at, __version__)
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
    from apexscan.interfaces.lsp import create_server, serve  # pygls is loaded only by this command
    speed = replace(speed, resident=True)  # caches written after the diagnostics are out, not before
    serve(create_server(speed.scan, idle=speed.between_scans))


def _project_policy(project: Project, policy_path: Path | None,
                    policy_ref: str | None) -> tuple[Policy, TrustedPolicy | None]:
    """The policy `scan` would use for this project (--policy, $APEXSCAN_POLICY, found files), or
    with --policy-ref the trusted commit's, and then how the working tree's differs."""
    repo = repository_root(project.root)
    unit = make_unit(project, report_root=project.root, repo_root=repo, cwd=Path.cwd(), environ=os.environ,
                     policy_path=policy_path, policy_ref=policy_ref)
    return unit.policy, unit.trusted


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


def _in_base(option: str, base: GitBase, use: Callable[[Path | None], T]) -> tuple[T, tuple[Diagnostic, ...]]:
    """`use(the folder of the base commit that mirrors the one `base` was found from, or None when
    the commit has no such folder)`, and what reading the base left out."""
    diagnostics: list[Diagnostic] = []
    try:
        with checked_out(base, diagnostics) as folder:
            value = use(folder)
    except (BaseError, UsageError) as exc:
        _fail(f"{option} {base.ref}: {exc}")
    return value, tuple(diagnostics)


def _base_findings(base: GitBase, targets: list[Path], workspace: Workspace, speed: Speed, catalog,
                   strict: bool) -> tuple[tuple[Finding, ...], tuple[Diagnostic, ...]]:
    """--baseline-ref: the findings of the same targets as they are in the base commit, each project
    scanned with the policy of the same project now (its prefix), report-relative."""
    policies = {unit.prefix: unit.policy for unit in workspace.units}

    def findings_in(folder: Path | None) -> tuple[Finding, ...]:
        if folder is None:
            return ()
        mirrored = [folder / Path(os.path.abspath(t)).relative_to(workspace.report_root) for t in targets]
        mirrored = [t for t in mirrored if t.exists()]
        if not mirrored:
            return ()
        base_space = open_workspace(mirrored, report_root=folder, cwd=folder, environ={})
        units = tuple(replace(u, policy=policies.get(u.prefix, u.policy)) for u in base_space.units)
        found, _ = _scan_workspace(replace(base_space, units=units), None, Speed(None, speed.jobs), catalog,
                                   strict, ScanProgress(sys.stderr, enabled=False))
        return found

    return _in_base("--baseline-ref", base, findings_in)


def _fails(findings: tuple[Finding, ...], catalog, fail_on: str, baseline: Comparison | None) -> bool:
    """A finding at or above `fail_on` that is neither suppressed nor already in the baseline."""
    if fail_on == "never":
        return False
    threshold = LEVELS[fail_on]
    return any(LEVELS[f.level or catalog[f.rule_id].level] >= threshold for f in findings
               if not f.suppression and (baseline is None or baseline.state(f) == NEW))


def _emit(text: str, output: Path | None = None, color: bool | None = None) -> None:
    """The report to `output`, else to standard output; a full disk or closed output is exit 2."""
    if output is not None:
        _write_atomic(output, text)
        return
    try:
        click.echo(text, nl=not text.endswith("\n"), color=color)
    except BrokenPipeError:
        raise
    except OSError as exc:
        _fail(f"cannot write the report to standard output: {exc.strerror or exc}")


def _write_atomic(path: Path, text: str) -> None:
    """Write the whole report or nothing: a crash, a full disk or Ctrl-C never leaves half a SARIF
    file, or a temporary file, behind.

    A device or pipe (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is written to directly: renaming a
    file over it would replace the device itself (as root) or fail."""
    tmp = None
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
        tmp = None
    except OSError as exc:
        _fail(f"{path}: cannot write report: {exc.strerror or exc}")
    finally:
        if tmp is not None:  # not renamed into place: an error, Ctrl-C or a bug on the way
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _require_files(project) -> None:
    if not project.files:
        _fail(f"{project.root}: no Apex classes, triggers, flows, Lightning components, metadata files, "
              "Mule apps or services (Python, Node.js) found (is this a Salesforce DX project?)")


def _fail(message: str) -> None:
    click.echo(f"apexscan: error: {visible_line(message)}", err=True)  # may name files of the project
    sys.exit(EXIT_USAGE)


if __name__ == "__main__":  # pragma: no cover
    main()
