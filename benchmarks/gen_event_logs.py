"""Seeded generator of Salesforce Event Monitoring logs for the fintech sample org (Northbank).

Writes EventLogFile CSVs the way Salesforce exports them (a header of upper-snake column names,
every value double-quoted, one file per event type and day) for `apexscan evidence`:

    python benchmarks/gen_event_logs.py samples/fintech-org-logs           # the shipped sample
    python benchmarks/gen_event_logs.py /tmp/logs --scale 400 --gzip       # ~10 million rows

The story, over 14 days (day 0 = 2025-03-03):
* Apex callouts to the hosts the project's code and metadata explain (OpenAI and Mistral through
  their Named Credentials, the bank's gateway, the EU TIN service, the org itself), and through
  Named Credentials logged by name (`callout:Claude_Prod/...`, `callout:Document_Archive/...`).
* Drift: from day 8 on, callouts to api.deepseek.com and a Slack webhook that no code explains.
* A dormant channel: nothing calls api.anthropic.com, although a Remote Site and code allow it.
* A spike: on day 10, six times the usual OpenAI callouts.
* API clients: Research_Copilot (REST, its integration user's Bulk API 2.0 job), Advisor_Mobile,
  Data Loader over SOAP, and Marketing_Cloud_Sync, a Connected App the project does not have.
* On day 11 Research_Copilot's user pulls 250,000 Contact rows through Bulk API 2.0 from
  185.220.101.33, outside every trusted network of the policy (a bulk-export spike).
* A user exports the client contact report twice on day 12.
* The files of days 0-6 use an older release's columns, those of days 7-13 a newer release's,
  in another order (STATUS_CODE, BOT_IDENTIFIER ... added), as real exports across releases do.

`--scale N` multiplies the daily volume of every stream (not the one-off events), so the benchmark
can ask for 10 million rows with the same shape. The output depends only on the arguments.
"""
from __future__ import annotations

import argparse
import gzip
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2025, 3, 3, tzinfo=timezone.utc)
ORG = "00D5g000004Nbk1"

OLD, NEW = "old", "new"
HEADERS = {
    "ApexCallout": {
        OLD: ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "RUN_TIME", "CPU_TIME", "URI",
              "SESSION_KEY", "LOGIN_KEY", "TYPE", "METHOD", "SUCCESS", "TIME", "REQUEST_SIZE", "RESPONSE_SIZE", "URL",
              "TIMESTAMP_DERIVED", "USER_ID_DERIVED", "CLIENT_IP", "URI_ID_DERIVED"],
        NEW: ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "RUN_TIME", "CPU_TIME", "URI",
              "SESSION_KEY", "LOGIN_KEY", "TYPE", "METHOD", "SUCCESS", "STATUS_CODE", "TIME", "URL", "REQUEST_SIZE",
              "RESPONSE_SIZE", "BOT_IDENTIFIER", "BOT_SESSION_IDENTIFIER", "PLANNER_IDENTIFIER", "TIMESTAMP_DERIVED",
              "USER_ID_DERIVED", "CLIENT_IP", "URI_ID_DERIVED"],
    },
    "RestApi": {
        OLD: ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "RUN_TIME", "CPU_TIME", "URI",
              "SESSION_KEY", "LOGIN_KEY", "REQUEST_STATUS", "DB_TOTAL_TIME", "ENTITY_NAME", "METHOD", "MEDIA_TYPE",
              "STATUS_CODE", "USER_AGENT", "ROWS_PROCESSED", "NUMBER_FIELDS", "REQUEST_SIZE", "RESPONSE_SIZE",
              "CONNECTED_APP_ID", "CLIENT_NAME", "TIMESTAMP_DERIVED", "USER_ID_DERIVED", "CLIENT_IP", "URI_ID_DERIVED"],
        NEW: ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "CONNECTED_APP_ID", "CLIENT_IP",
              "CLIENT_NAME", "RUN_TIME", "CPU_TIME", "DB_TOTAL_TIME", "DB_CPU_TIME", "DB_BLOCKS", "URI", "SESSION_KEY",
              "LOGIN_KEY", "REQUEST_STATUS", "ENTITY_NAME", "METHOD", "MEDIA_TYPE", "STATUS_CODE", "EXCEPTION_MESSAGE",
              "USER_AGENT", "ROWS_PROCESSED", "NUMBER_FIELDS", "REQUEST_SIZE", "RESPONSE_SIZE", "TIMESTAMP_DERIVED",
              "USER_ID_DERIVED", "URI_ID_DERIVED"],
    },
    "ApiTotalUsage": {
        OLD: ["EVENT_TYPE", "TIMESTAMP", "TIMESTAMP_DERIVED", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "API_FAMILY",
              "API_VERSION", "API_RESOURCE", "CLIENT_NAME", "HTTP_METHOD", "CLIENT_IP", "COUNTS_AGAINST_API_LIMIT",
              "CONNECTED_APP_ID", "CONNECTED_APP_NAME", "ENTITY_NAME", "STATUS_CODE"],
        NEW: ["EVENT_TYPE", "TIMESTAMP", "TIMESTAMP_DERIVED", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID",
              "API_CLIENT_CATEGORY", "API_FAMILY", "API_VERSION", "API_RESOURCE", "BOT_IDENTIFIER",
              "BOT_SESSION_IDENTIFIER", "CLIENT_NAME", "HTTP_METHOD", "CLIENT_IP", "COUNTS_AGAINST_API_LIMIT",
              "CONNECTED_APP_ID", "CONNECTED_APP_NAME", "ENTITY_NAME", "STATUS_CODE"],
    },
    "API": {
        OLD: ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "RUN_TIME", "CPU_TIME", "URI",
              "SESSION_KEY", "LOGIN_KEY", "CLIENT_NAME", "API_TYPE", "API_VERSION", "METHOD_NAME", "ENTITY_NAME",
              "ROWS_PROCESSED", "REQUEST_STATUS", "REQUEST_SIZE", "RESPONSE_SIZE", "TIMESTAMP_DERIVED",
              "USER_ID_DERIVED", "CLIENT_IP", "URI_ID_DERIVED"],
    },
    "BulkApi2": {
        OLD: ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "RUN_TIME", "CPU_TIME", "URI",
              "SESSION_KEY", "LOGIN_KEY", "JOB_ID", "JOB_STATUS", "OPERATION_TYPE", "ENTITY_TYPE", "RECORDS_PROCESSED",
              "RECORDS_FAILED", "RESULT_SIZE_MB", "TIMESTAMP_DERIVED", "USER_ID_DERIVED", "CLIENT_IP",
              "URI_ID_DERIVED"],
    },
    "Report": {
        OLD: ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "RUN_TIME", "CPU_TIME", "URI",
              "SESSION_KEY", "LOGIN_KEY", "REQUEST_STATUS", "DB_TOTAL_TIME", "ENTITY_NAME", "DISPLAY_TYPE",
              "ROW_COUNT", "NUMBER_EXCEPTION_FILTERS", "NUMBER_COLUMNS", "AVERAGE_ROW_SIZE", "SORT", "DB_BLOCKS",
              "DB_CPU_TIME", "NUMBER_BUCKETS", "TIMESTAMP_DERIVED", "USER_ID_DERIVED", "CLIENT_IP", "URI_ID_DERIVED",
              "REPORT_ID_DERIVED", "ORIGIN"],
    },
    "ReportExport": {
        OLD: ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "RUN_TIME", "CPU_TIME", "URI",
              "SESSION_KEY", "LOGIN_KEY", "CLIENT_INFO", "REPORT_DESCRIPTION", "TIMESTAMP_DERIVED",
              "USER_ID_DERIVED", "CLIENT_IP", "URI_ID_DERIVED"],
    },
    "Login": {  # the column order of a real Login file (elastic/beats fixture)
        OLD: ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "RUN_TIME", "CPU_TIME", "URI",
              "SESSION_KEY", "LOGIN_KEY", "USER_TYPE", "REQUEST_STATUS", "DB_TOTAL_TIME", "LOGIN_TYPE", "BROWSER_TYPE",
              "API_TYPE", "API_VERSION", "USER_NAME", "TLS_PROTOCOL", "CIPHER_SUITE",
              "AUTHENTICATION_METHOD_REFERENCE", "LOGIN_SUB_TYPE", "TIMESTAMP_DERIVED", "USER_ID_DERIVED",
              "CLIENT_IP", "URI_ID_DERIVED", "LOGIN_STATUS", "SOURCE_IP"],
    },
}

# name -> (15-character user id, user name)
USERS = {
    "advisor1": ("0055g00000A1dv1", "m.berger@northbank.eu"),
    "advisor2": ("0055g00000A1dv2", "s.dubois@northbank.eu"),
    "advisor3": ("0055g00000A1dv3", "l.rossi@northbank.eu"),
    "automation": ("0055g00000AutoP", "automated.process@northbank.eu"),
    "copilot": ("0055g00000RcCop", "research.copilot@northbank.eu"),
    "mobile": ("0055g00000MobAp", "advisor.mobile@northbank.eu"),
    "marketing": ("0055g00000MkSyn", "marketing.sync@northbank.eu"),
    "dataloader": ("0055g00000DtLdr", "dataloader@northbank.eu"),
    "analyst": ("0055g00000Kel01", "j.keller@northbank.eu"),
}
APPS = {  # name -> (15-character connected app id, user, client IPs)
    "Research_Copilot": ("0H45g000000RcCp", "copilot", ["203.0.113.10", "203.0.113.11", "203.0.113.12"]),
    "Advisor_Mobile": ("0H45g000000AdvM", "mobile", ["198.51.100.21", "198.51.100.22", "198.51.100.40"]),
    "Marketing_Cloud_Sync": ("0H45g000000MkSy", "marketing", ["198.51.100.200"]),
}
OUTSIDE_IP = "185.220.101.33"
BANK_IPS = ["198.51.100.5", "198.51.100.6", "198.51.100.7"]

# (URL, method, users, base calls a day, first day, response size range)
CALLOUTS = [
    ("https://api.openai.com/v1/chat/completions", "POST", ["advisor1", "advisor2", "advisor3", "automation"], 40, 0,
     (800, 4000)),
    ("https://api.eu.mistral.ai/v1/chat/completions", "POST", ["advisor1", "advisor2", "automation"], 20, 0, (600, 3000)),
    ("https://llm-gateway.northbank.eu/v1/chat/completions", "POST", ["advisor2", "advisor3"], 15, 0, (600, 3000)),
    ("https://ec.europa.eu/taxation_customs/tin/api/checkTin", "POST", ["automation"], 5, 0, (200, 400)),
    ("https://northbank.my.salesforce.com/services/data/v62.0/sobjects/Consent_Change__e", "POST", ["automation"], 3,
     0, (100, 200)),
    ("callout:Claude_Prod/v1/messages", "POST", ["advisor1", "advisor3"], 4, 0, (900, 3500)),
    ("callout:Document_Archive/api/v2/documents", "PUT", ["automation"], 6, 0, (150, 300)),
    ("https://api.deepseek.com/chat/completions", "POST", ["advisor3"], 12, 8, (700, 2500)),  # drift
    ("https://hooks.slack.com/services/T0NB/B0NB/x", "POST", ["automation"], 2, 8, (2, 10)),  # drift, not an LLM
]
SPIKE_DAY, SPIKE_URL, SPIKE_FACTOR = 10, CALLOUTS[0][0], 6
BULK_SPIKE_DAY, EXPORT_DAY = 11, 12
DAYS = 14


class Writer:
    """One CSV per (event type, day): header by release, values quoted, optionally gzipped."""

    def __init__(self, out: Path, compress: bool) -> None:
        self.out, self.compress, self.files, self.rows = out, compress, {}, 0

    def row(self, event_type: str, day: int, values: dict[str, str]) -> None:
        key = (event_type, day)
        handle = self.files.get(key)
        release = NEW if day >= 7 and NEW in HEADERS[event_type] else OLD
        header = HEADERS[event_type][release]
        if handle is None:
            name = f"{(START + timedelta(days=day)):%Y-%m-%d}_{event_type}.csv" + (".gz" if self.compress else "")
            path = self.out / name
            raw = gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=1) if self.compress \
                else open(path, "w", encoding="utf-8", newline="")
            raw.write(_line(header))
            handle = self.files[key] = raw
        values = {"EVENT_TYPE": event_type, "ORGANIZATION_ID": ORG, **values}
        handle.write(_line([values.get(c, "") for c in header]))
        self.rows += 1

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


def _line(values: list[str]) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' for v in values) + "\n"


def _stamp(rng: random.Random, day: int, hours: tuple[int, int] = (7, 19)) -> dict[str, str]:
    t = START + timedelta(days=day, seconds=rng.randrange(hours[0] * 3600, hours[1] * 3600),
                          milliseconds=rng.randrange(1000))
    return {"TIMESTAMP": f"{t:%Y%m%d%H%M%S}.{t.microsecond // 1000:03d}",
            "TIMESTAMP_DERIVED": f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"}


def _user(name: str) -> dict[str, str]:
    uid = USERS[name][0]
    return {"USER_ID": uid, "USER_ID_DERIVED": uid + "AAA"}


def _request(rng: random.Random) -> dict[str, str]:
    return {"REQUEST_ID": "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                                              k=22)),
            "SESSION_KEY": f"s{rng.randrange(10**7):07d}", "LOGIN_KEY": f"k{rng.randrange(10**7):07d}"}


def generate(out: Path, *, seed: int = 19, scale: int = 1, compress: bool = False) -> int:
    """Write the logs into `out`; returns the number of rows written."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    w = Writer(out, compress)
    for day in range(DAYS):
        _callouts(w, rng, day, scale)
        _api_clients(w, rng, day, scale)
        _logins(w, rng, day)
        _reports(w, rng, day)
    w.close()
    return w.rows


def _callouts(w: Writer, rng: random.Random, day: int, scale: int) -> None:
    for url, method, users, base, first, (lo, hi) in CALLOUTS:
        if day < first:
            continue
        n = base * scale * (SPIKE_FACTOR if day == SPIKE_DAY and url == SPIKE_URL else 1)
        n = max(0, n + rng.randint(-base // 5, base // 5) * scale)  # the usual day-to-day wobble
        for _ in range(n):
            user = rng.choice(users)
            ok = rng.random() > 0.02
            row = {**_stamp(rng, day, (0, 24) if user == "automation" else (7, 19)), **_user(user), **_request(rng),
                   "URI": "CALLOUT-LOG", "TYPE": "REST", "METHOD": method, "SUCCESS": "1" if ok else "0",
                   "STATUS_CODE": "200" if ok else "503", "TIME": str(rng.randrange(120, 9000)),
                   "REQUEST_SIZE": str(rng.randrange(300, 6000)), "RESPONSE_SIZE": str(rng.randrange(lo, hi)),
                   "URL": url, "CLIENT_IP": "Salesforce.com IP", "CPU_TIME": str(rng.randrange(5, 80)),
                   "RUN_TIME": str(rng.randrange(120, 9000))}
            if day >= 7 and "openai" in url and rng.random() < 0.1:  # a share sent by an agent's Apex action
                row["BOT_IDENTIFIER"] = "0Xx5g000000BrfA"
                row["BOT_SESSION_IDENTIFIER"] = f"0Mw5g{rng.randrange(10**10):010d}"
                row["PLANNER_IDENTIFIER"] = "16j5g000000PlnA"
            w.row("ApexCallout", day, row)


def _rest(w: Writer, rng: random.Random, day: int, app: str, entity: str, rows: int, ip: str) -> None:
    app_id, user, _ = APPS[app]
    stamp, who, req = _stamp(rng, day), _user(user), _request(rng)
    w.row("RestApi", day, {**stamp, **who, **req, "URI": "/services/data/v62.0/query", "REQUEST_STATUS": "S",
                           "ENTITY_NAME": entity, "METHOD": "GET", "MEDIA_TYPE": "application/json",
                           "STATUS_CODE": "200", "USER_AGENT": f"{app}/2.4", "ROWS_PROCESSED": str(rows),
                           "NUMBER_FIELDS": "12", "REQUEST_SIZE": "0", "RESPONSE_SIZE": str(rows * 850),
                           "CONNECTED_APP_ID": app_id, "CLIENT_NAME": "", "CLIENT_IP": ip,
                           "CPU_TIME": str(rng.randrange(10, 90)), "RUN_TIME": str(rng.randrange(40, 900))})
    w.row("ApiTotalUsage", day, {**stamp, **who, "REQUEST_ID": req["REQUEST_ID"],
                                 "API_CLIENT_CATEGORY": "EXTERNAL_APPLICATION", "API_FAMILY": "REST",
                                 "API_VERSION": "62.0", "API_RESOURCE": "/v62.0/query", "HTTP_METHOD": "GET",
                                 "CLIENT_IP": ip, "COUNTS_AGAINST_API_LIMIT": "true", "CONNECTED_APP_ID": app_id,
                                 "CONNECTED_APP_NAME": app, "ENTITY_NAME": entity, "STATUS_CODE": "200"})


def _api_clients(w: Writer, rng: random.Random, day: int, scale: int) -> None:
    for _ in range(30 * scale):
        _rest(w, rng, day, "Research_Copilot", rng.choice(["Contact", "Portfolio__c"]), rng.randrange(20, 200),
              rng.choice(APPS["Research_Copilot"][2]))
    for _ in range(50 * scale):
        _rest(w, rng, day, "Advisor_Mobile", rng.choice(["Account", "Contact", "Task"]), rng.randrange(1, 20),
              rng.choice(APPS["Advisor_Mobile"][2]))
    for _ in range(10 * scale):
        _rest(w, rng, day, "Marketing_Cloud_Sync", "Contact", rng.randrange(100, 400), APPS["Marketing_Cloud_Sync"][2][0])
    for _ in range(8 * scale):  # Data Loader over SOAP: no connected app, a client name
        rows = rng.randrange(200, 2000)
        w.row("API", day, {**_stamp(rng, day, (1, 3)), **_user("dataloader"), **_request(rng), "URI": "/services/Soap/u/62.0",
                           "CLIENT_NAME": "DataLoaderPartnerUI/62.0.0", "API_TYPE": "P", "API_VERSION": "62.0",
                           "METHOD_NAME": "query", "ENTITY_NAME": "Portfolio__c", "ROWS_PROCESSED": str(rows),
                           "REQUEST_STATUS": "S", "REQUEST_SIZE": "900", "RESPONSE_SIZE": str(rows * 400),
                           "CLIENT_IP": rng.choice(BANK_IPS)})
    # Research_Copilot's integration user runs a nightly Bulk API 2.0 query job on Contact.
    spike = day == BULK_SPIKE_DAY
    records = 250_000 if spike else rng.randrange(1800, 2400)
    ip = OUTSIDE_IP if spike else APPS["Research_Copilot"][2][0]
    for job in range(scale):
        job_id = f"7505g{day:02d}{job:08d}"
        for status in ("UploadComplete", "InProgress", "JobComplete"):
            done = status == "JobComplete"
            w.row("BulkApi2", day, {**_stamp(rng, day, (2, 3)), **_user("copilot"), **_request(rng),
                                    "URI": f"/services/data/v62.0/jobs/query/{job_id}", "JOB_ID": job_id,
                                    "JOB_STATUS": status, "OPERATION_TYPE": "Query", "ENTITY_TYPE": "Contact",
                                    "RECORDS_PROCESSED": str(records) if done else "0", "RECORDS_FAILED": "0",
                                    "RESULT_SIZE_MB": f"{records * 0.00078:.2f}" if done else "0",
                                    "CLIENT_IP": ip})


def _logins(w: Writer, rng: random.Random, day: int) -> None:
    for name in ("advisor1", "advisor2", "advisor3", "analyst", "copilot", "mobile", "marketing", "dataloader"):
        ip = {"copilot": APPS["Research_Copilot"][2][0], "mobile": APPS["Advisor_Mobile"][2][0],
              "marketing": APPS["Marketing_Cloud_Sync"][2][0]}.get(name, rng.choice(BANK_IPS))
        if name == "copilot" and day == BULK_SPIKE_DAY:
            ip = OUTSIDE_IP
        w.row("Login", day, {**_stamp(rng, day, (6, 9)), **_user(name), **_request(rng), "URI": "/index.jsp",
                             "USER_TYPE": "Standard", "REQUEST_STATUS": "", "LOGIN_TYPE": "R" if name in APPS else "A",
                             "BROWSER_TYPE": "Other", "API_TYPE": "", "USER_NAME": USERS[name][1],
                             "TLS_PROTOCOL": "TLSv1.3", "CIPHER_SUITE": "TLS_AES_256_GCM_SHA384",
                             "LOGIN_STATUS": "LOGIN_NO_ERROR", "CLIENT_IP": ip, "SOURCE_IP": ip})


def _reports(w: Writer, rng: random.Random, day: int) -> None:
    if day % 7 == 1:
        w.row("Report", day, {**_stamp(rng, day), **_user("analyst"), **_request(rng), "URI": "/00O5g000001Clnt",
                              "ENTITY_NAME": "Contact", "DISPLAY_TYPE": "S", "ROW_COUNT": "1800",
                              "AVERAGE_ROW_SIZE": "420", "NUMBER_COLUMNS": "9", "CLIENT_IP": BANK_IPS[0],
                              "REPORT_ID_DERIVED": "00O5g000001ClntEAA", "ORIGIN": "ReportRunFromLightning"})
    if day == EXPORT_DAY:
        for _ in range(2):
            w.row("ReportExport", day, {**_stamp(rng, day, (17, 19)), **_user("analyst"), **_request(rng),
                                        "URI": "/00O5g000001Clnt", "CLIENT_INFO": "Excel",
                                        "REPORT_DESCRIPTION": "Client contact list (all clients, e-mail and phone)",
                                        "CLIENT_IP": BANK_IPS[0]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the CSV files into")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--scale", type=int, default=1, help="multiply every stream's daily volume")
    parser.add_argument("--gzip", action="store_true", help="write .csv.gz files")
    args = parser.parse_args()
    rows = generate(args.out, seed=args.seed, scale=args.scale, compress=args.gzip)
    print(f"wrote {rows} rows into {args.out}")


if __name__ == "__main__":
    main()
