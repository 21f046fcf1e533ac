"""Command line: `apexscan scan`, `apexscan rules`, `apexscan inventory`, `apexscan init`.

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage error or nothing scannable.
Findings suppressed by an `apexscan:ignore` comment, and with --baseline those the baseline already
had, never make the run fail.
"""
from __future__ import annotations

import os
import sys
import tempfile
from importlib.resources import files
from pathlib import Path

import click

from . import __version__, suppress
from .baseline import NEW, BaselineError, Comparison, compare, load_baseline
from .inventory import InventoryError, build_inventory, load_inventory
from .inventory import compare as compare_inventories
from .model import Finding
from .policy import PolicyError, load_policy
from .project import UsageError, discover
from .report.inventory import render_inventory_html, render_inventory_json, render_inventory_markdown
from .report.json_report import render_json
from .report.sarif import dumps_sarif, render_sarif
from .report.text import render_diagnostics, render_text
from .rules import load_catalog
from .scan import scan as run_scan
from .staged import could_touch, narrow, selection, skipped

LEVELS = {"note": 0, "warning": 1, "error": 2}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="apexscan")
def main() -> None:
    """Find paths from sensitive Salesforce data to LLM APIs outside your jurisdiction."""


@main.command()
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
def scan(paths: tuple[Path, ...], fmt: str, output: Path | None, policy_path: Path | None,
         fail_on: str, baseline_path: Path | None, show_suppressed: bool, strict: bool,
         staged: bool, only_touching: tuple[Path, ...]) -> None:
    """Scan an SFDX project folder (or individual files) and report LLM data leaks."""
    try:
        project = discover(list(paths) or [Path(".")])
        policy = load_policy(policy_path, project.root)
        baseline = load_baseline(baseline_path) if baseline_path is not None else None
        selected = selection(project.root, staged, only_touching)
    except (UsageError, PolicyError, BaselineError) as exc:
        _fail(str(exc))
    _require_files(project)
    result = run_scan(project, policy, strict=strict) if could_touch(selected, project) else skipped(project)
    catalog = load_catalog()
    files = {f.rel for f in project.files} | suppress.referenced_paths(result.findings)
    findings = suppress.apply(result.findings, suppress.collect(project.root, files), catalog)
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


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(INVENTORY_RENDERERS)), default="html",
              show_default=True, help="html: one self-contained file; json: for scripts; markdown: for PRs.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the inventory to this file instead of standard output.")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Policy file (default: apexscan.toml at the project root, if present).")
@click.option("--compare", "compare_path", type=click.Path(path_type=Path, dir_okay=False),
              help="An earlier inventory (--format json): list new, removed and changed channels and paths.")
def inventory(paths: tuple[Path, ...], fmt: str, output: Path | None, policy_path: Path | None,
              compare_path: Path | None) -> None:
    """Every channel through which data can leave the org: where it goes, what reaches it, from where."""
    try:
        project = discover(list(paths) or [Path(".")])
        policy = load_policy(policy_path, project.root)
        base = load_inventory(compare_path) if compare_path is not None else None
    except (UsageError, PolicyError, InventoryError) as exc:
        _fail(str(exc))
    _require_files(project)
    result = run_scan(project, policy, inventory=True)
    catalog = load_catalog()
    files = {f.rel for f in project.files} | suppress.referenced_paths(result.findings)
    findings = suppress.apply(result.findings, suppress.collect(project.root, files), catalog)
    doc = build_inventory(result.sinks, findings, result.metadata, policy, {r.id: r.level for r in catalog},
                          project=project.root.name, generator=f"apexscan {__version__}")
    if base is not None:
        doc["comparison"] = compare_inventories(base, doc)
    if result.diagnostics:
        click.echo(render_diagnostics(result.diagnostics), err=True, nl=False)
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
    template = files("apexscan.data").joinpath("policy_template.toml").read_text("utf-8")
    _write_atomic(target, template)
    click.echo(f"wrote {target}")


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
    """Write the whole report or nothing: a crash never leaves half a SARIF file behind."""
    try:
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
