"""`apexscan lsp`, spoken to as an editor would: JSON-RPC with Content-Length framing over the pipes
of a real `python -m apexscan lsp` process.

The project is a small SFDX folder: a class that reads a Case's description and posts it to OpenAI
through the OpenAI Named Credential. Each test waits for the messages it needs (never sleeps) and
gives up after TIMEOUT seconds.
"""
from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import OPENAI_NC, write_project
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from apexscan.interfaces.lsp import Outcome, Session, analyse_project

TIMEOUT = 60  # seconds for any one awaited message; a scan of these projects takes well under one
CLASSES = "force-app/main/default/classes"

SUMMARIZER = """
public with sharing class CaseSummarizer {
    public static String summarize(Id caseId) {
        Case c = [SELECT Id, Description FROM Case WHERE Id = :caseId];
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody('Summarize: ' + c.Description);{reason}
        HttpResponse res = new Http().send(req);
        return res.getBody();
    }
}
"""
FIXED = SUMMARIZER.replace("'Summarize: ' + c.Description", "'Summarize case ' + caseId")

# A client that sends whatever it is given, and a service that decides what that is.
LLM_CLIENT = """
public with sharing class LlmClient {
    public static String complete(String prompt) {
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody(prompt);
        return new Http().send(req).getBody();
    }
}
"""
CASE_SERVICE = """
public with sharing class CaseService {
    public static String summarize(Id caseId) {
        Case c = [SELECT Id, Description FROM Case WHERE Id = :caseId];
        return LlmClient.complete({prompt});
    }
}
"""


class LspClient:
    """The editor's side of the pipe: framed JSON-RPC out, every message in kept in order."""

    def __init__(self, root: Path, scratch: Path) -> None:
        env = {**os.environ, "XDG_CACHE_HOME": str(scratch / "cache")}  # the parsed-facts cache, not the user's
        self.log = scratch / "lsp-stderr.log"  # a file, not a pipe nobody reads that could fill up
        with self.log.open("wb") as stderr:
            self.proc = subprocess.Popen([sys.executable, "-m", "apexscan", "lsp"], cwd=root, env=env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        self._incoming: queue.Queue[dict | None] = queue.Queue()
        self.received: list[dict] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            headers = {}
            while (line := out.readline().strip()):
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            if "content-length" not in headers:
                self._incoming.put(None)  # the server closed its stdout
                return
            self._incoming.put(json.loads(out.read(int(headers["content-length"]))))

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict | None) -> dict:
        self._next_id += 1
        ident = self._next_id
        self.send({"id": ident, "method": method, "params": params})
        reply = self.wait_for(lambda m: m.get("id") == ident and "method" not in m, f"the reply to {method}")
        assert "error" not in reply, reply["error"]
        return reply["result"]

    def wait_for(self, wanted: Callable[[dict], bool], what: str, start: int = 0) -> dict:
        """The first message from `received[start:]` on that `wanted` accepts, waiting for more."""
        index = start
        while True:
            while index < len(self.received):
                if wanted(self.received[index]):
                    return self.received[index]
                index += 1
            try:
                message = self._incoming.get(timeout=TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no {what} within {TIMEOUT} s; received {self.received}")
            if message is None:
                pytest.fail(f"the server exited before {what}: {self.log.read_text('utf-8', 'replace')}")
            if message.get("method") == "window/showMessage" and message["params"]["type"] == 1:
                pytest.fail(f"the server reported an error before {what}: {message['params']['message']}")
            self.received.append(message)

    def diagnostics(self, uri: str, start: int = 0) -> list[dict]:
        """The diagnostics of the first publication for `uri` at or after `received[start]`."""
        message = self.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                and m["params"]["uri"] == uri, f"diagnostics for {uri}", start)
        return message["params"]["diagnostics"]

    def published(self) -> list[dict]:
        return [m["params"] for m in self.received if m.get("method") == "textDocument/publishDiagnostics"]

    def open(self, path: Path) -> int:
        """didOpen; returns the index from which the answer is to be looked for."""
        mark = len(self.received)
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": path.as_uri(), "languageId": "apex", "version": 1, "text": path.read_text("utf-8")}})
        return mark

    def save(self, path: Path) -> int:
        mark = len(self.received)
        self.notify("textDocument/didSave", {"textDocument": {"uri": path.as_uri()}})
        return mark

    def close(self) -> int:
        """shutdown, exit; the server's exit code."""
        assert self.request("shutdown", None) is None
        self.notify("exit", {})
        try:
            code = self.proc.wait(timeout=TIMEOUT)
            errors = self.log.read_text("utf-8", "replace")
            assert "Traceback" not in errors, errors  # pygls logs a handler's exception and goes on
            return code
        finally:
            self.proc.stdin.close()
            self.proc.stdout.close()


@pytest.fixture
def lsp(tmp_path):
    """Start servers for a project root; any still running at the end of the test are killed."""
    started: list[LspClient] = []

    def start(root: Path, capabilities: dict | None = None) -> LspClient:
        client = LspClient(root, tmp_path)
        started.append(client)
        result = client.request("initialize", {"processId": None, "rootUri": root.as_uri(),
                                               "capabilities": capabilities or {}})
        sync = result["capabilities"]["textDocumentSync"]
        assert sync["openClose"] and sync["save"], sync
        assert result["serverInfo"]["name"] == "apexscan"
        client.notify("initialized", {})
        return client

    yield start
    for client in started:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait()


def make_project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "project").mkdir()
    return write_project(tmp_path / "project", files)


def write(path: Path, text: str) -> None:
    path.write_text(text.lstrip("\n"), encoding="utf-8")


def leaking_project(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The project of CaseSummarizer's leak: (root, the class, the Named Credential file)."""
    root = make_project(tmp_path, {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
                                   "classes/CaseSummarizer.cls": SUMMARIZER.replace("{reason}", "")})
    return (root, root / CLASSES / "CaseSummarizer.cls",
            root / "force-app/main/default/namedCredentials/OpenAI.namedCredential-meta.xml")


def test_leak_is_published_at_its_sink_with_its_path_and_cleared_after_the_fix_is_saved(tmp_path, lsp):
    root, cls, credential = leaking_project(tmp_path)
    client = lsp(root)

    mark = client.open(cls)
    [leak] = client.diagnostics(cls.as_uri(), mark)
    assert leak["code"] == "APX-LLM-001"
    assert leak["source"] == "apexscan"
    assert leak["severity"] == 1  # Error
    assert leak["message"].startswith("Sensitive data reaches a non-sovereign LLM: Case.Description")
    # `new Http().send(req)` on line 8 (1-based), from column 28 to 48.
    assert leak["range"] == {"start": {"line": 7, "character": 27}, "end": {"line": 7, "character": 47}}
    steps = [(r["location"]["uri"], r["location"]["range"]["start"]["line"], r["message"])
             for r in leak["relatedInformation"]]
    assert steps[0] == (cls.as_uri(), 2, "Case.Description read by SOQL")
    assert (cls.as_uri(), 6, "c.Description set as the body of req") in steps
    assert steps[-1][:2] == (cls.as_uri(), 7) and steps[-1][2].startswith("sent by Http.send to api.openai.com")
    # The same scan found the Named Credential itself: published to that file, which nobody opened.
    [nc] = client.diagnostics(credential.as_uri(), mark)
    assert (nc["code"], nc["severity"], nc["range"]["start"]) == ("APX-CFG-002", 2, {"line": 7, "character": 8})

    write(cls, FIXED.replace("{reason}", ""))
    mark = client.save(cls)
    assert client.diagnostics(cls.as_uri(), mark) == []

    assert client.close() == 0
    assert any((tmp_path / "cache").rglob("*")), "the scans did not use the parsed-facts cache"


def test_saving_one_class_publishes_the_leak_it_creates_in_another(tmp_path, lsp):
    root = make_project(tmp_path, {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
                                   "classes/LlmClient.cls": LLM_CLIENT,
                                   "classes/CaseService.cls": CASE_SERVICE.replace("{prompt}", "'Hello'")})
    service, llm_client = root / CLASSES / "CaseService.cls", root / CLASSES / "LlmClient.cls"
    client = lsp(root)

    assert client.diagnostics(service.as_uri(), client.open(service)) == []

    write(service, CASE_SERVICE.replace("{prompt}", "c.Description"))
    mark = client.save(service)
    [leak] = client.diagnostics(llm_client.as_uri(), mark)
    assert leak["code"] == "APX-LLM-001"
    assert leak["range"]["start"]["line"] == 6  # new Http().send(req), line 7
    assert leak["relatedInformation"][0]["location"]["uri"] == service.as_uri()
    assert client.diagnostics(service.as_uri(), mark) == []  # the saved file has none of its own

    write(service, CASE_SERVICE.replace("{prompt}", "'Hello'"))
    assert client.diagnostics(llm_client.as_uri(), client.save(service)) == []

    assert client.close() == 0


def test_suppressed_finding_is_not_published(tmp_path, lsp):
    reason = "\n        // apexscan:ignore APX-LLM-001 DPA with OpenAI Ireland signed, see JIRA-12"
    root = make_project(tmp_path, {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
                                   "classes/CaseSummarizer.cls": SUMMARIZER.replace("{reason}", reason)})
    cls = root / CLASSES / "CaseSummarizer.cls"
    client = lsp(root)

    assert client.diagnostics(cls.as_uri(), client.open(cls)) == []
    assert not any(d["code"].startswith("APX-LLM") for p in client.published() for d in p["diagnostics"])
    assert client.close() == 0


def test_quick_fix_inserts_an_ignore_comment_whose_placeholder_suppresses_nothing_until_filled(tmp_path, lsp):
    root, cls, credential = leaking_project(tmp_path)
    client = lsp(root)
    mark = client.open(cls)
    [leak] = client.diagnostics(cls.as_uri(), mark)
    [nc] = client.diagnostics(credential.as_uri(), mark)

    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": cls.as_uri()}, "range": leak["range"], "context": {"diagnostics": [leak]}})
    [action] = actions
    assert action["kind"] == "quickfix" and "APX-LLM-001" in action["title"]
    [edit] = action["edit"]["changes"][cls.as_uri()]
    assert edit["range"]["start"] == {"line": 7, "character": 0} == edit["range"]["end"]
    assert edit["newText"] == "        // apexscan:ignore APX-LLM-001 <reason>\n"
    # in XML the comment is an XML comment
    [xml_action] = client.request("textDocument/codeAction", {
        "textDocument": {"uri": credential.as_uri()}, "range": nc["range"], "context": {"diagnostics": [nc]}})
    assert xml_action["edit"]["changes"][credential.as_uri()][0]["newText"] == \
        "        <!-- apexscan:ignore APX-CFG-002 <reason> -->\n"

    lines = cls.read_text("utf-8").split("\n")
    lines.insert(7, edit["newText"].rstrip("\n"))
    cls.write_text("\n".join(lines), encoding="utf-8")
    codes = sorted(d["code"] for d in client.diagnostics(cls.as_uri(), client.save(cls)))
    assert codes == ["APX-LLM-001", "APX-SUP-001"]  # the placeholder is no reason: still a leak
    cls.write_text(cls.read_text("utf-8").replace("<reason>", "DPA with OpenAI Ireland, JIRA-12"), encoding="utf-8")
    assert client.diagnostics(cls.as_uri(), client.save(cls)) == []
    assert client.close() == 0


def test_hover_on_a_finding_shows_its_rule_s_help(tmp_path, lsp):
    root, cls, _ = leaking_project(tmp_path)
    client = lsp(root)
    [leak] = client.diagnostics(cls.as_uri(), client.open(cls))
    hover = client.request("textDocument/hover", {"textDocument": {"uri": cls.as_uri()},
                                                  "position": leak["range"]["start"]})
    assert hover["contents"]["kind"] == "markdown"
    text = hover["contents"]["value"]
    assert text.startswith("**APX-LLM-001** sensitive-data-to-foreign-llm") and "## Use instead (compliant Apex)" in text
    assert client.request("textDocument/hover", {"textDocument": {"uri": cls.as_uri()},
                                                 "position": {"line": 0, "character": 0}}) is None
    assert client.close() == 0


def test_a_file_changed_on_disk_is_scanned_again_without_a_save(tmp_path, lsp):
    root, cls, _ = leaking_project(tmp_path)
    client = lsp(root, {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}})
    register = client.wait_for(lambda m: m.get("method") == "client/registerCapability", "the file watch request")
    client.send({"id": register["id"], "result": None})
    [registration] = register["params"]["registrations"]
    assert registration["method"] == "workspace/didChangeWatchedFiles"
    patterns = [w["globPattern"] for w in registration["registerOptions"]["watchers"]]
    assert any("cls" in p for p in patterns)
    [leak] = client.diagnostics(cls.as_uri(), client.open(cls))
    assert leak["code"] == "APX-LLM-001"

    write(cls, FIXED.replace("{reason}", ""))  # e.g. `git checkout` of the fix
    mark = len(client.received)
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": cls.as_uri(), "type": 2}]})
    assert client.diagnostics(cls.as_uri(), mark) == []
    assert client.close() == 0


def test_unparseable_file_gets_a_warning(tmp_path, lsp):
    root = make_project(tmp_path, {"classes/Broken.cls": "public class Broken {\n    void f( {\n}\n"})
    broken = root / CLASSES / "Broken.cls"
    client = lsp(root)

    [problem] = client.diagnostics(broken.as_uri(), client.open(broken))
    assert (problem["severity"], problem["source"]) == (2, "apexscan")
    assert client.close() == 0


# --- scheduling, without a client: a fake server and an analysis that waits to be let go ----------


class FakeServer:
    """What Session uses of a pygls server: the workspace and publishDiagnostics."""

    def __init__(self, root: Path) -> None:
        self.workspace = SimpleNamespace(position_codec=PositionCodec(), folders={}, root_path=str(root))
        self.sent: list[tuple[str, list[str]]] = []
        self.arrived = asyncio.Event()

    def text_document_publish_diagnostics(self, params) -> None:
        self.sent.append((params.uri, [d.message for d in params.diagnostics]))
        self.arrived.set()

    def window_log_message(self, params) -> None:
        raise AssertionError(params.message)

    window_show_message = window_log_message


class HeldAnalysis:
    """Each call is analysis number n: it says it started, then waits until `release(n)`."""

    def __init__(self) -> None:
        self.started = [threading.Event() for _ in range(3)]
        self.go = [threading.Event() for _ in range(3)]
        self.calls = 0

    def __call__(self, root: Path, codec) -> Outcome:
        number, self.calls = self.calls, self.calls + 1
        self.started[number].set()
        assert self.go[number].wait(TIMEOUT)
        return Outcome({f"{CLASSES}/CaseSummarizer.cls": [types.Diagnostic(range=types.Range(start=types.Position(line=0, character=0),
                                                                 end=types.Position(line=0, character=0)),
                                               message=f"scan {number}")]})


def test_a_burst_of_saves_is_one_scan_and_a_scan_made_stale_by_a_save_is_not_published(tmp_path):
    root = make_project(tmp_path, {"classes/CaseSummarizer.cls": SUMMARIZER.replace("{reason}", "")})
    uri = (root / CLASSES / "CaseSummarizer.cls").as_uri()
    analysis = HeldAnalysis()

    async def scenario() -> list:
        server = FakeServer(root)
        session = Session(server, debounce=0.01, analyse=analysis)
        for _ in range(5):
            session.saved(uri)
        assert await asyncio.to_thread(analysis.started[0].wait, TIMEOUT)
        session.saved(uri)  # while scan 0 runs: its result is stale
        analysis.go[0].set()
        assert await asyncio.to_thread(analysis.started[1].wait, TIMEOUT)
        assert server.sent == []
        analysis.go[1].set()
        await asyncio.wait_for(server.arrived.wait(), TIMEOUT)
        session.shutdown()
        return server.sent

    assert asyncio.run(scenario()) == [(uri, ["scan 1"])]
    assert analysis.calls == 2


def test_columns_are_counted_in_the_clients_units_on_lines_with_non_ascii_text(tmp_path):
    prefix = "/* Zürich 🇪🇺 */ "  # 16 characters, 23 UTF-8 bytes, 18 UTF-16 code units
    source = SUMMARIZER.replace("{reason}", "").replace("        HttpResponse res", "        " + prefix + "HttpResponse res")
    root = make_project(tmp_path, {"namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
                                   "classes/CaseSummarizer.cls": source})
    rel = f"{CLASSES}/CaseSummarizer.cls"
    line = (root / rel).read_text("utf-8").splitlines()[7]
    column = line.index("new Http()")  # in characters

    def sink(encoding: str) -> tuple[int, int]:
        [leak] = analyse_project(root, PositionCodec(encoding)).files[rel]
        return leak.range.start.line, leak.range.start.character

    assert sink(types.PositionEncodingKind.Utf32) == (7, column)
    assert sink(types.PositionEncodingKind.Utf16) == (7, len(line[:column].encode("utf-16-le")) // 2)
    assert sink(types.PositionEncodingKind.Utf8) == (7, len(line[:column].encode("utf-8")))


def test_a_scan_that_crashes_is_logged_and_the_server_goes_on(tmp_path):
    """Issue 12, item 6: a bug in one analysis must not take the editor's server down."""
    root = make_project(tmp_path, {"classes/CaseSummarizer.cls": SUMMARIZER.replace("{reason}", "")})
    uri = (root / CLASSES / "CaseSummarizer.cls").as_uri()
    start = types.Position(line=0, character=0)
    calls = []

    def flaky(path: Path, codec) -> Outcome:
        calls.append(path)
        if len(calls) == 1:
            raise RuntimeError("boom in a stage")
        return Outcome({f"{CLASSES}/CaseSummarizer.cls": [
            types.Diagnostic(range=types.Range(start=start, end=start), message="scan 2")]})

    class LoggingServer(FakeServer):
        def __init__(self, root: Path) -> None:
            super().__init__(root)
            self.logged: list[str] = []

        def window_log_message(self, params) -> None:
            self.logged.append(params.message)

    async def scenario() -> LoggingServer:
        server = LoggingServer(root)
        session = Session(server, debounce=0.01, analyse=flaky)
        session.saved(uri)
        while not server.logged:
            await asyncio.sleep(0.01)
        session.saved(uri)
        await asyncio.wait_for(server.arrived.wait(), TIMEOUT)
        session.shutdown()
        return server

    server = asyncio.run(asyncio.wait_for(scenario(), TIMEOUT))
    assert len(server.logged) == 1 and "failed" in server.logged[0] and "boom in a stage" in server.logged[0]
    assert server.sent == [(uri, ["scan 2"])]
# --- a hostile or broken client stream (issue 12, item 10) ------------------------------------------

def framed(body: bytes, header: bytes | None = None) -> bytes:
    return (header if header is not None else b"Content-Length: %d\r\n\r\n" % len(body)) + body


def read_all(data: bytes, **limits) -> tuple[list[bytes], list[str]]:
    """Every message pygls would get from `data` through a MessageReader, and what it logged."""
    import io

    from apexscan.engine.limits import Limits
    from apexscan.interfaces.lsp import MessageReader
    logged: list[str] = []
    reader = MessageReader(io.BytesIO(data), Limits(**limits), logged.append)
    bodies = []
    while (header := reader.readline()):
        assert header.startswith(b"Content-Length: ") and reader.readline() == b"\r\n"
        bodies.append(reader.read(int(header.split(b":")[1])))
    return bodies, logged


def test_message_reader_passes_well_formed_messages_on():
    bodies, logged = read_all(framed(b'{"a": 1}') + framed(b"{}", b"Content-Type: x\r\ncontent-length: 2\n\n"))
    assert bodies == [b'{"a": 1}', b"{}"] and not logged


def test_message_reader_skips_an_oversized_message_and_reads_on():
    bodies, logged = read_all(framed(b"x" * 5000) + framed(b"{}"), lsp_message_bytes=1000)
    assert bodies == [b"{}"] and "over the" in logged[0]


@pytest.mark.parametrize("data", [
    b"Content-Length: ten\r\n\r\n{}",
    b"Content-Length: -5\r\n\r\n{}",
    b"Content-Type: application/json\r\n\r\n{}",
    b"Content-Length: 2" + b" " * 10_000 + b"\r\n\r\n{}",
    b"garbage without a colon\r\n\r\n{}",
])
def test_message_reader_ends_the_stream_on_a_malformed_message(data):
    bodies, logged = read_all(framed(b"{}") + data + framed(b'{"after": 1}'), lsp_header_bytes=100)
    assert bodies == [b"{}"] and "stopping" in logged[0]


def test_message_reader_ends_the_stream_inside_a_body():
    assert read_all(framed(b"{}") + b"Content-Length: 10\r\n\r\n{}") == ([b"{}"], [])


@pytest.mark.parametrize("header", [
    b"Content-Length: 99999999999999999\r\n\r\n",  # pygls allocated that much at once
    b"Content-Length: abc\r\n\r\n",  # pygls waited for ever for a header line
])
def test_server_survives_a_hostile_header_and_exits_when_the_client_goes(tmp_path, header):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "apexscan", "lsp"], cwd=tmp_path, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    initialize = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                             "params": {"processId": None, "rootUri": None, "capabilities": {}}}).encode()
    try:
        out, err = proc.communicate(framed(initialize) + header + b'{"jsonrpc": "2.0"}' * 1000, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the server hung on the stream")
    assert proc.returncode == 0, err.decode(errors="replace")
    assert b'"id": 1' in out or b'"id":1' in out  # the initialize before it was answered
    assert b"apexscan lsp:" in err


def test_saving_a_mule_flow_or_a_python_service_file_belongs_to_the_workspace_project(tmp_path):
    """Mule files are known by their place in an app, not by suffix: the server must still scan
    when one is saved (and watch them on disk, with the service files)."""
    from apexscan.interfaces.lsp import WATCHED, Session
    app = tmp_path / "mule" / "crm"
    (app / "src" / "main" / "mule").mkdir(parents=True)
    (app / "mule-artifact.json").write_text("{}", encoding="utf-8")
    flow = app / "src" / "main" / "mule" / "crm.xml"
    flow.write_text("<mule/>", encoding="utf-8")
    service = tmp_path / "svc" / "app.py"
    service.parent.mkdir()
    service.write_text("import os\n", encoding="utf-8")
    session = Session(FakeServer(tmp_path), debounce=0.01)
    for path in (flow, service):
        found = session._project_of(path.as_uri())
        assert found is not None and found[0].root == tmp_path, path
    assert session._project_of((tmp_path / "notes.txt").as_uri()) is None
    assert any("py" in glob and "dwl" in glob for glob in WATCHED)
