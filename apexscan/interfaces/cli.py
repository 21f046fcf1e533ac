"""Command line: `apexscan scan`, `apexscan rules`, `apexscan inventory`, `apexscan init`, `apexscan lsp`.

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage error or nothing scannable.
Findings suppressed by an `apexscan:ignore` comment, and with --baseline those the baseline already
had, never make the run fail.
"""
from __future__ import annotations

import functools
import gc
import os
import sys
import tempfile
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path

import click

from apexscan import __version__
from apexscan.engine.model import Finding
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
from apexscan.pipeline.baseline import NEW, BaselineError, Comparison, compare, load_baseline
from apexscan.pipeline.cache import FactsCache, default_cache_dir
from apexscan.pipeline.inventory import (
    GitBase,
    InventoryError,
    build_inventory,
    checked_out,
    empty_inventory,
    find_git_base,
    load_inventory,
)
from apexscan.pipeline.inventory import compare as compare_inventories
from apexscan.pipeline.lowering import default_jobs
from apexscan.pipeline.project import UsageError, discover
from apexscan.pipeline.scan import ScanMemory
from apexscan.pipeline.scan import scan as run_scan
from apexscan.salesforce.policy import PolicyError, load_policy
from apexscan.salesforce.rules import load_catalog

LEVELS = {"note": 0, "warning": 1, "error": 2}


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
@click.option("--baseline", "baseline_path", type=click.Path(path_type=Path, dir_okay=False),
              help="SARIF of an earlier scan: only findings it does not have fail the run.")
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
         fail_on: str, baseline_path: Path | None, show_suppressed: bool, strict: bool,
         staged: bool, only_touching: tuple[Path, ...], speed: Speed) -> None:
    """Scan an SFDX project folder (or individual files) and report LLM data leaks."""
    try:
        project = discover(list(paths) or [Path(".")])
        policy = load_policy(policy_path, project.root)
        baseline = load_baseline(baseline_path) if baseline_path is not None else None
        selected = selection(project.root, staged, only_touching)
    except (UsageError, PolicyError, BaselineError) as exc:
        _fail(str(exc))
    _require_files(project)
    if could_touch(selected, project):
        result = speed.scan(project, policy, strict=strict)
    else:
        result = skipped(project)
    catalog = load_catalog()
    findings = suppress.apply_in_project(project, result.findings, catalog)
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
@click.option("--compare", "compare_with", metavar="BASE_REF_OR_FILE",
              help="List new, removed and changed channels and paths since a base: an earlier inventory "
                   "(--format json), or a git commit, branch or tag (HEAD, HEAD~1, origin/main) whose version "
                   "of the project is read from git and scanned with the same policy.")
@speed_options
def inventory(paths: tuple[Path, ...], fmt: str, output: Path | None, policy_path: Path | None,
              compare_with: str | None, speed: Speed) -> None:
    """Every channel through which data can leave the org: where it goes, what reaches it, from where."""
    base: dict | GitBase | None = None
    try:
        project = discover(list(paths) or [Path(".")])
        policy = load_policy(policy_path, project.root)
        if compare_with is not None:
            base = load_inventory(Path(compare_with)) if Path(compare_with).is_file() \
                else find_git_base(compare_with, project.root)
    except (UsageError, PolicyError, InventoryError) as exc:
        _fail(str(exc))
    _require_files(project)
    catalog = load_catalog()
    generator = f"apexscan {__version__}"

    def document(project, speed: Speed):
        result = speed.scan(project, policy, inventory=True)
        findings = suppress.apply_in_project(project, result.findings, catalog)
        doc = build_inventory(result.sinks, findings, result.metadata, policy, {r.id: r.level for r in catalog},
                              project=project.root.name, generator=generator)
        return doc, result.diagnostics

    doc, diagnostics = document(project, speed)
    if isinstance(base, GitBase):
        try:
            with checked_out(base) as folder:
                # The same targets, as they are in the base commit (a target it lacks is left out).
                targets = [folder / p.resolve().relative_to(project.root) for p in (paths or (Path("."),))] \
                    if folder is not None else []
                targets = [t for t in targets if t.exists()]
                base_project = discover(targets) if targets else None
                if base_project is None or not base_project.files:
                    name = f"{base.name}, which has no {base.prefix if base.prefix != '.' else 'project'}"
                    doc["comparison"] = compare_inventories(empty_inventory(generator), doc, name)
                else:
                    # no facts cache for a temporary folder: its pack would outlive it
                    base_doc = document(base_project, Speed(None, speed.jobs))[0]
                    doc["comparison"] = compare_inventories(base_doc, doc, base.name)
        except (UsageError, InventoryError) as exc:
            _fail(str(exc))
    elif base is not None:
        doc["comparison"] = compare_inventories(base, doc, compare_with)
    if diagnostics:
        click.echo(render_diagnostics(diagnostics), err=True, nl=False)
    text = INVENTORY_RENDERERS[fmt](doc)
    if output is not None:
        _write_atomic(output, text)
    else:
        click.echo(text, nl=not text.endswith("\n"))


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
        _fail(f"{project.root}: no Apex classes, triggers, flows, Lightning components, metadata "
              "files or services (Python, Node.js) found (is this a Salesforce DX project?)")


def _fail(message: str) -> None:
    click.echo(f"apexscan: error: {message}", err=True)
    sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
