"""`apexscan lsp`: a language server over stdio that shows findings in the editor as diagnostics.

When an Apex, LWC, Flow or metadata file is opened or saved, or changes on disk (a `git checkout`,
a generator: `workspace/didChangeWatchedFiles`, for which the server asks the client to watch the
files it reads), the whole project around it (the nearest folder with an sfdx-project.json, else
the workspace folder) is analysed again, the way `apexscan scan` would, `apexscan:ignore` comments
included. Each unsuppressed finding becomes a
diagnostic at its sink, with the steps of its paths (source -> ... -> sink) as related
information; a file that cannot be parsed gets a warning. A finding can appear in, or vanish
from, a file that was not touched (a save in a service class creates a leak in the client it
calls), so every file of the project gets its diagnostics, and files that no longer have any get
an empty list.

Hovering a finding shows its rule's help; its quick fix inserts an `apexscan:ignore RULE-ID
<reason>` comment on the line above, whose `<reason>` placeholder suppresses nothing until it is
replaced by the reason.

The analysis reads the files from disk, so unsaved edits count at the next save. It runs in a
worker thread, one scan at a time: rapid opens and saves are debounced into one scan, and the
result of a scan that a later save made stale is dropped.

    analyse_project(root, codec, run) -> Outcome  disk in, LSP diagnostics by file out
    Session                                       the server's state: projects, debounce, publishing
    create_server(run) -> LanguageServer          the pygls server with its handlers
    serve(server)                                 run it over stdio, through a MessageReader

`run` is how the project is scanned: `apexscan.pipeline.scan.scan`, or the CLI's scan with its parsed-facts
cache and worker options. It is called in one place, `analyse_project`.
"""
from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace.position_codec import PositionCodec

from apexscan import __version__
from apexscan.engine.limits import LIMITS, Limits, megabytes
from apexscan.engine.model import Diagnostic, Finding, Location
from apexscan.interfaces.report import level_of
from apexscan.interfaces.report.visible import visible_line
from apexscan.pipeline import suppress
from apexscan.pipeline.coverage import reported_separately
from apexscan.pipeline.project import Project, UsageError, discover, find_root, kind_of
from apexscan.pipeline.scan import ScanResult, scan
from apexscan.pipeline.suppress import MARKER, MARKUP_SUFFIXES
from apexscan.pipeline.suppress import RULE_ID as SUPPRESSION_RULE
from apexscan.pipeline.workspace import make_unit, repository_root
from apexscan.salesforce.policy import POLICY_FILE_NAME, Policy, PolicyError
from apexscan.salesforce.rules import Catalog, load_catalog

DEBOUNCE_SECONDS = 0.3  # a burst of saves (a "save all", a formatter) becomes one scan
SOURCE = "apexscan"
SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
            "note": types.DiagnosticSeverity.Information, "none": types.DiagnosticSeverity.Hint}
# Files that change what the scan does without being scanned themselves.
PROJECT_FILES = frozenset({"sfdx-project.json", ".forceignore", POLICY_FILE_NAME})

T = TypeVar("T")
Runner = Callable[[Project, Policy], ScanResult]  # how a project is scanned (with or without a cache)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one analysis found, by project-relative POSIX path. `complete` is False when the
    project could not be analysed (a broken apexscan.toml): then `files` holds only the problem,
    and the diagnostics already shown for other files stay as they are."""

    files: dict[str, list[types.Diagnostic]]
    complete: bool = True


# --- analysis (runs in the worker thread) -----------------------------------------------------------


def analyse_project(root: Path, codec: PositionCodec, run: Runner = scan) -> Outcome:
    """Scan the project at `root` as `apexscan scan` does and turn the result into LSP diagnostics.

    Suppressed findings are left out; APX-SUP-001 findings (bad or unused suppressions) are kept.
    The uris of path steps are made from `root` as given (as the client spells it, symbolic links
    not resolved). Raises UsageError when `root` has gone.
    """
    project = discover([root])
    try:  # the policy `apexscan scan` would choose: $APEXSCAN_POLICY, the project's, the repository's
        unit = make_unit(project, report_root=project.root, repo_root=repository_root(project.root),
                         cwd=project.root, environ=os.environ)
    except PolicyError as exc:
        return Outcome({POLICY_FILE_NAME: [_file_problem(str(exc))]}, complete=False)
    project, policy = unit.project, unit.policy
    if not project.files:
        return Outcome({})
    result = run(project, policy)
    catalog = load_catalog()
    findings = tuple(f for f in suppress.apply_in_project(project, result.findings, catalog)
                     if f.rule_id not in policy.disabled_rules)
    texts = _Texts(project.root)
    files: dict[str, list[types.Diagnostic]] = {}
    for finding in findings:
        if finding.suppression or not _inside(finding.location.path):
            continue
        files.setdefault(finding.location.path, []).append(finding_diagnostic(finding, catalog, root, texts, codec))
    for problem in reported_separately(result.diagnostics):  # the others are APX-SCAN-001 findings
        if _inside(problem.path):
            files.setdefault(problem.path, []).append(scan_diagnostic(problem, texts, codec))
    return Outcome(files)


def file_uri(path: Path) -> str:
    """The file: URI of an absolute path, as pygls spells it; a name that is not UTF-8 (which pygls
    cannot quote) gets its bytes percent-encoded."""
    try:
        return from_fs_path(str(path))
    except UnicodeEncodeError:
        return path.as_uri()


def finding_diagnostic(finding: Finding, catalog: Catalog, root: Path, texts: _Texts,
                       codec: PositionCodec) -> types.Diagnostic:
    """A finding at its sink; each step of each path is related information."""
    related = []
    for number, path in enumerate(finding.paths, 1):
        prefix = f"path {number}/{len(finding.paths)}: " if len(finding.paths) > 1 else ""
        for step in path:
            if _inside(step.location.path):
                related.append(types.DiagnosticRelatedInformation(
                    location=types.Location(uri=file_uri(root / step.location.path),
                                            range=texts.range(step.location, codec)),
                    message=prefix + _one_line(step.message)))
    return types.Diagnostic(
        range=texts.range(finding.location, codec),
        severity=SEVERITY.get(level_of(finding, catalog), types.DiagnosticSeverity.Warning),
        code=finding.rule_id,
        source=SOURCE,
        message=_one_line(finding.message),
        # No code_description: rules have no help page on the web, only `apexscan rules`.
        related_information=related or None)


def scan_diagnostic(problem: Diagnostic, texts: _Texts, codec: PositionCodec) -> types.Diagnostic:
    """A file the scan could not read or parse: a warning on its line (or its first line)."""
    where = Location(problem.path, max(problem.line, 1), 1)
    return types.Diagnostic(range=texts.range(where, codec), severity=types.DiagnosticSeverity.Warning,
                            code=problem.stage, source=SOURCE, message=_one_line(problem.message))


def _file_problem(message: str) -> types.Diagnostic:
    start = types.Position(line=0, character=0)
    return types.Diagnostic(range=types.Range(start=start, end=start), severity=types.DiagnosticSeverity.Error,
                            code="policy", source=SOURCE, message=_one_line(message))


class _Texts:
    """The lines of the project's files, read once, to turn 1-based (line, column) locations into
    LSP positions in the client's position encoding."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lines: dict[str, list[str]] = {}

    def lines(self, rel: str) -> list[str]:
        if rel not in self._lines:
            try:
                text = (self.root / rel).read_text("utf-8", errors="replace")
            except OSError:
                text = ""
            self._lines[rel] = text.split("\n")
        return self._lines[rel]

    def range(self, loc: Location, codec: PositionCodec) -> types.Range:
        lines = self.lines(loc.path)
        start = self._position(lines, loc.path, loc.line, loc.col, codec)
        if loc.end_line > 0:
            end = self._position(lines, loc.path, loc.end_line, loc.end_col, codec)
        else:  # unknown end: up to the end of the line's text
            text = lines[start.line].rstrip() if start.line < len(lines) else ""
            end = types.Position(line=start.line, character=max(start.character, codec.client_num_units(text)))
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start=start, end=end)

    @staticmethod
    def _position(lines: list[str], rel: str, line: int, col: int, codec: PositionCodec) -> types.Position:
        index = max(line - 1, 0)
        if index >= len(lines):
            return types.Position(line=index, character=max(col - 1, 0))
        text = lines[index].rstrip("\r")
        offset = max(col - 1, 0)
        chars = text[:offset]  # every frontend counts columns in characters
        return types.Position(line=index, character=codec.client_num_units(chars))


def _inside(rel: str) -> bool:
    """A project-relative path (not "", not a policy file given by absolute path)."""
    return bool(rel) and not Path(rel).is_absolute() and not rel.startswith("../")


def _one_line(text: str) -> str:
    return visible_line(text)  # names and messages come from the scanned project


# --- the server ------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Project:
    """Per project root; touched only on the event loop."""

    root: Path  # absolute, as the client spells it (symbolic links not resolved)
    generation: int = 0  # bumped by every open or save; a scan started for an older one is stale
    waiting: asyncio.Task | None = None  # the scan in its debounce delay (cancelled by a newer request)
    queued: bool = False  # a scan is asked for and has not started yet (debouncing, or behind another)
    running: bool = False
    started_at: float | None = None  # when the latest scan started (time.time())
    published: dict[str, list[types.Diagnostic]] = field(default_factory=dict)  # uri -> last sent, non-empty
    touched: set[str] = field(default_factory=set)  # uris opened or saved since the last publication


class Session:
    """Which projects exist, when to scan them, and what the client has been told."""

    def __init__(self, server: LanguageServer, debounce: float = DEBOUNCE_SECONDS,
                 analyse: Callable[[Path, PositionCodec], Outcome] = analyse_project,
                 idle: Callable[[], None] | None = None) -> None:
        self.server = server
        self.debounce = debounce
        self.analyse = analyse
        self.idle = idle  # housekeeping run between scans, once diagnostics are out (cache writing)
        self.projects: dict[Path, _Project] = {}
        self.uris: dict[Path, str] = {}  # the client's own spelling of the uri of each document it sent
        self.closed = False
        self._one_at_a_time = asyncio.Lock()

    # handlers

    def opened(self, uri: str) -> None:
        """Scan, unless a scan that sees this file as it is on disk has run or is under way; the
        scan publishes the file's diagnostics, or, when none is needed, the last ones are sent."""
        found = self._project_of(uri)
        if found is None:
            return
        project, path = found
        project.touched.add(uri)
        if project.queued:
            return
        if project.started_at is None or _modified_after(path, project.started_at):
            self._schedule(project)
        elif not project.running:
            self._send(uri, project.published.get(uri, []))
            project.touched.discard(uri)

    def saved(self, uri: str) -> None:
        found = self._project_of(uri)
        if found is not None:
            found[0].touched.add(uri)
            self._schedule(found[0])

    def changed_on_disk(self, uris: list[str]) -> None:
        """Files created, changed or deleted outside the editor: one scan per project concerned."""
        projects = {}
        for uri in uris:
            found = self._project_of(uri)
            if found is not None:
                projects[found[0].root] = found[0]
        for project in projects.values():
            self._schedule(project)

    def diagnostics_at(self, uri: str, position: types.Position) -> list[types.Diagnostic]:
        """The apexscan diagnostics last published for `uri` whose range holds `position`."""
        for project in self.projects.values():
            if uri in project.published:
                return [d for d in project.published[uri] if _contains(d.range, position)]
        return []

    def shutdown(self) -> None:
        self.closed = True
        for project in self.projects.values():
            project.generation += 1
            if project.waiting is not None:
                project.waiting.cancel()

    # scheduling

    def _project_of(self, uri: str) -> tuple[_Project, Path] | None:
        """The project a document belongs to, when apexscan reads it; None for other files."""
        fs_path = to_fs_path(uri)
        if fs_path is None or self.closed:
            return None
        path = Path(os.path.abspath(fs_path))
        root = self._root_for(path)
        if root is None:
            return None
        rel = path.relative_to(root).as_posix()
        if kind_of(path, rel) is None and path.name not in PROJECT_FILES:
            return None
        self.uris[path] = uri
        project = self.projects.setdefault(root, _Project(root))
        return project, path

    def _root_for(self, path: Path) -> Path | None:
        nearest = find_root(path)
        if (nearest / "sfdx-project.json").is_file():
            return nearest
        folders = [Path(os.path.abspath(p)) for p in (
            *(to_fs_path(f.uri) for f in self.server.workspace.folders.values()),
            self.server.workspace.root_path) if p]
        containing = [f for f in folders if f.is_dir() and path.is_relative_to(f)]
        return max(containing, key=lambda f: len(f.parts)) if containing else None

    def _schedule(self, project: _Project) -> None:
        project.generation += 1
        project.queued = True
        if project.waiting is not None:
            project.waiting.cancel()
        project.waiting = asyncio.get_running_loop().create_task(self._scan(project, project.generation))

    async def _scan(self, project: _Project, generation: int) -> None:
        await asyncio.sleep(self.debounce)
        project.waiting = None
        async with self._one_at_a_time:
            if generation != project.generation:
                return  # a newer request is waiting for its turn
            project.queued, project.running, project.started_at = False, True, time.time()
            try:
                outcome = await _in_thread(self.analyse, project.root, self.server.workspace.position_codec)
            except UsageError as exc:
                self._log(types.MessageType.Warning, f"apexscan: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - a bug in one scan must not take the editor's server down
                self._log(types.MessageType.Error, f"apexscan: analysis of {project.root} failed: {exc!r}")
                return
            finally:
                project.running = False
        if generation != project.generation:
            return  # stale: a file changed while it ran; the newer scan publishes
        self._publish(project, outcome)
        if self.idle is not None:
            async with self._one_at_a_time:
                try:
                    await _in_thread(self.idle)
                except Exception as exc:  # noqa: BLE001 - housekeeping must not take the server down
                    self._log(types.MessageType.Error, f"apexscan: {exc!r}")

    # publishing

    def _publish(self, project: _Project, outcome: Outcome) -> None:
        new = {self._uri(project.root / rel): diags for rel, diags in outcome.files.items()}
        if not outcome.complete:
            new = {**project.published, **new}
        for uri in sorted(set(project.published) | set(new) | project.touched):
            diagnostics = new.get(uri, [])
            if uri in project.touched or diagnostics != project.published.get(uri, []):
                self._send(uri, diagnostics)
        project.published = {uri: diags for uri, diags in new.items() if diags}
        project.touched.clear()

    def _uri(self, path: Path) -> str:
        return self.uris.get(path) or file_uri(path)

    def _send(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        self.server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    def _log(self, kind: types.MessageType, message: str) -> None:
        self.server.window_log_message(types.LogMessageParams(type=kind, message=message))
        if kind == types.MessageType.Error:
            self.server.window_show_message(types.ShowMessageParams(type=kind, message=message))


def _modified_after(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime > moment
    except OSError:
        return True


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn` in a daemon thread and await its result. A daemon thread, not an executor: an
    `exit` in the middle of a long scan ends the process at once instead of waiting for it."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def work() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as exc:  # noqa: BLE001 - handed over to the awaiting task, which reports it
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:
            pass  # the event loop has closed: the server is exiting and nobody waits for this scan

    threading.Thread(target=work, name="apexscan-analysis", daemon=True).start()
    return await done


def _contains(r: types.Range, p: types.Position) -> bool:
    return (r.start.line, r.start.character) <= (p.line, p.character) <= (r.end.line, r.end.character)


# Files whose change on disk the client is asked to report (workspace/didChangeWatchedFiles).
WATCHED = ("**/*.{cls,trigger,js,cmp,app,xml,flow,md,json,toml,agent,py,ts,tsx,mjs,cjs,dwl,yaml,yml,properties,tf}",
           "**/.forceignore", "**/.env", "**/.env.*")


def rule_hover(diagnostics: list[types.Diagnostic], catalog: Catalog) -> types.Hover | None:
    """The help of the rules of the findings under the cursor, as Markdown."""
    parts = []
    for rule_id in dict.fromkeys(d.code for d in diagnostics if d.source == SOURCE):
        if isinstance(rule_id, str) and rule_id in catalog:
            rule = catalog[rule_id]
            parts.append(f"**{rule.id}** {rule.name}: {rule.short_description}\n\n**Fix:** {rule.fix_hint}\n\n"
                         f"{rule.help_markdown}")
    if not parts:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))


def ignore_actions(uri: str, diagnostics: list[types.Diagnostic], lines: list[str]) -> list[types.CodeAction]:
    """A quick fix per finding: an `apexscan:ignore RULE-ID <reason>` comment alone on the line
    above the finding's line, indented like it (`//` in code, `<!-- -->` in XML and markup)."""
    markup = (to_fs_path(uri) or uri).lower().endswith(MARKUP_SUFFIXES)
    actions = []
    for d in diagnostics:
        if d.source != SOURCE or not isinstance(d.code, str) or d.code == SUPPRESSION_RULE \
                or not d.code.startswith("APX-"):
            continue  # scan problems and APX-SUP-001 cannot be suppressed
        line = d.range.start.line
        text = lines[line] if line < len(lines) else ""
        indent = text[:len(text) - len(text.lstrip())]
        body = f"{MARKER} {d.code} <reason>"
        comment = f"{indent}<!-- {body} -->\n" if markup else f"{indent}// {body}\n"
        start = types.Position(line=line, character=0)
        edit = types.TextEdit(range=types.Range(start=start, end=start), new_text=comment)
        actions.append(types.CodeAction(
            title=f"Suppress {d.code} here with an apexscan:ignore comment (then write the reason)",
            kind=types.CodeActionKind.QuickFix, diagnostics=[d],
            edit=types.WorkspaceEdit(changes={uri: [edit]})))
    return actions


def create_server(run: Runner = scan, debounce: float = DEBOUNCE_SECONDS,
                  idle: Callable[[], None] | None = None) -> LanguageServer:
    """The language server: diagnostics on open and save, nothing on unsaved edits. `idle` runs
    after each publication, before the next scan starts."""
    server = LanguageServer(SOURCE, __version__, text_document_sync_kind=types.TextDocumentSyncKind.None_)
    session = Session(server, debounce, analyse=lambda root, codec: analyse_project(root, codec, run), idle=idle)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        session.opened(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        session.saved(params.text_document.uri)

    @server.feature(types.INITIALIZED)
    def initialized(params: types.InitializedParams) -> None:
        del params
        watching = server.client_capabilities.workspace
        watching = watching.did_change_watched_files if watching else None
        if watching is None or not watching.dynamic_registration:
            return  # the client cannot be asked; saves still trigger scans
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHED])
        server.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
            id="apexscan-watched-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=options)]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        session.changed_on_disk([change.uri for change in params.changes])

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(params: types.HoverParams) -> types.Hover | None:
        return rule_hover(session.diagnostics_at(params.text_document.uri, params.position), load_catalog())

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        wanted = [d for d in params.context.diagnostics if d.source == SOURCE] or \
            session.diagnostics_at(uri, params.range.start)
        path = to_fs_path(uri)
        try:
            lines = Path(path).read_text("utf-8", errors="replace").split("\n") if path else []
        except OSError:
            lines = []
        return ignore_actions(uri, wanted, lines)

    @server.feature(types.SHUTDOWN)
    def shutdown(params: Any) -> None:
        del params
        session.shutdown()

    return server


# --- the byte stream from the client ----------------------------------------------------------------


class MessageReader:
    """The client's stream as pygls reads it (`readline`, `read`), passing on only whole, well-formed
    messages. pygls trusts the stream: a `Content-Length` of a terabyte is one allocation of that
    size, and a header it cannot read (`Content-Length: ten`, no length at all) makes it read the
    body as header lines, waiting for ever for a newline. Here each header line is at most
    `lsp_header_bytes`; a message longer than `lsp_message_bytes` is read past in small pieces and
    dropped (logged); a malformed header ends the stream (logged), since nothing tells where the
    next message starts. Lines may end with CRLF (the protocol) or LF."""

    MAX_HEADERS = 32
    CHUNK = 1 << 20

    def __init__(self, stream, limits: Limits = LIMITS, log: Callable[[str], None] | None = None):
        self.stream = stream
        self.limits = limits
        self.log = log or (lambda text: print(f"apexscan lsp: {text}", file=sys.stderr, flush=True))
        self._pending = b""  # the current message, re-framed for pygls, not yet handed over
        self._ended = False

    def readline(self) -> bytes:
        if not self._pending:
            self._pending = self._next_message()
        end = self._pending.find(b"\n") + 1 or len(self._pending)
        line, self._pending = self._pending[:end], self._pending[end:]
        return line

    def read(self, size: int = -1) -> bytes:
        size = len(self._pending) if size is None or size < 0 else size
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def _next_message(self) -> bytes:
        while not self._ended:
            length = self._headers()
            if length is None:
                break
            if length > self.limits.lsp_message_bytes:
                self.log(f"a message of {megabytes(length)} is over the {megabytes(self.limits.lsp_message_bytes)} "
                         "limit; ignored")
                self._skip(length)
                continue
            body = self._exactly(length)
            if body is None:
                break
            return b"Content-Length: %d\r\n\r\n" % length + body
        self._ended = True
        return b""  # the end of the stream, for pygls

    def _headers(self) -> int | None:
        """The Content-Length of the next message, or None at the end of the stream or on a
        malformed header (then logged)."""
        length = None
        for count in range(self.MAX_HEADERS + 1):
            line = self.stream.readline(self.limits.lsp_header_bytes + 1)
            if not line and count == 0:
                return None  # the client closed the stream between two messages
            if not line.endswith(b"\n") or count == self.MAX_HEADERS:
                return self._malformed("a header line that is too long, unterminated, or one too many")
            text = line.rstrip(b"\r\n")
            if not text:
                return length if length is not None else self._malformed("a message without Content-Length")
            name, colon, value = text.partition(b":")
            if not colon:
                return self._malformed(f"a header line without a colon ({text[:40]!r})")
            if name.strip().lower() == b"content-length":
                value = value.strip()
                if not value.isdigit() or not value.isascii() or length is not None:
                    return self._malformed(f"an unreadable Content-Length ({value[:40]!r})")
                length = int(value)
        return None  # not reached: the loop returns on its last turn

    def _malformed(self, what: str) -> None:
        self.log(f"{what} from the client; stopping (the stream cannot be read past it)")
        return None

    def _exactly(self, size: int) -> bytes | None:
        parts, left = [], size
        while left:
            part = self.stream.read(min(left, self.CHUNK))
            if not part:
                return None
            parts.append(part)
            left -= len(part)
        return b"".join(parts)

    def _skip(self, size: int) -> None:
        while size:
            part = self.stream.read(min(size, self.CHUNK))
            if not part:
                self._ended = True
                return
            size -= len(part)


def serve(server: LanguageServer, stdin=None, stdout=None, limits: Limits = LIMITS) -> None:
    """Run the server over standard input and output, reading through a MessageReader."""
    server.start_io(MessageReader(stdin or sys.stdin.buffer, limits), stdout or sys.stdout.buffer)
