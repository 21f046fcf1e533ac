"""Reading exported Event Monitoring logs (EventLogFile CSVs, plain or gzip) with DuckDB.

`discover_logs` finds the files, reads each one's header line itself (bounded: at most
`MAX_HEADER` bytes) and decides what it is: an event log of a known type, of a type apexscan does
not analyse, or not an event log at all. `read_logs` then hands every file of a known type to
DuckDB, files with the same header together, and returns per-day aggregates; it never loads rows
into Python. Columns are found by the names in each file's own header (the order changes between
releases), and every row DuckDB cannot read (a truncated last line, a row with too few or too many
values, bytes that are not UTF-8, a line over `MAX_LINE` bytes) is counted and reported with its
line number as a Diagnostic; a file that cannot be read at all (a corrupt or truncated gzip) is
reported and left out, and the other files are still read.

DuckDB runs without network or extensions: extension autoloading and autoinstalling are off, the
extension directory and repository are an empty temporary folder, external access is limited to
the given log files, and the configuration is locked before the first query (see `_connect`).
Memory is bounded by `MEMORY_LIMIT` (DuckDB spills to the temporary folder beyond it).
"""
from __future__ import annotations

import csv
import gzip
import io
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from apexscan.engine.model import Diagnostic
from apexscan.salesforce.event_logs import EventType, EventTypes

STAGE = "event-log"
MAX_HEADER = 1 << 20  # bytes read to find a file's header line and first row
MAX_LINE = 8 << 20  # longest CSV line DuckDB accepts (bytes); longer lines are rejected and reported
MEMORY_LIMIT = "1GB"
THREADS = 2
SUFFIXES = (".csv", ".csv.gz")
MAX_LISTED = 5  # file names or line numbers listed in one diagnostic


class LogUsageError(Exception):
    """A log path that does not exist (a usage error, exit 2)."""


@dataclass(frozen=True, slots=True)
class LogFile:
    path: Path
    shown: str  # as reports name it: relative to the folder given, or as given
    event_type: str  # "" when the file has no row
    columns: tuple[str, ...]


@dataclass
class LogTables:
    """What DuckDB computed, merged over all files (plain rows, ready for `apexscan.pipeline.evidence`)."""

    files: list[dict] = field(default_factory=list)  # {"path", "event_type", "rows", "rejected", "status"}
    # callout: (set: 1 per day, 2 per user; event type, target, day, user, calls, request bytes, response
    #           bytes, known request sizes, known response sizes, failures, agent calls, first, last, example path)
    callouts: list[tuple] = field(default_factory=list)
    # api: (set: 7 per day, 11 per client IP, 1 per entity; event type, app id, client name, user, day, ip,
    #       entity, is_read, requests, rows read, bytes read, first, last)
    api: list[tuple] = field(default_factory=list)
    identities: list[tuple] = field(default_factory=list)  # (app id, app name, user, category, rows)
    logins: list[tuple] = field(default_factory=list)  # (user, user name, rows)
    diagnostics: list[Diagnostic] = field(default_factory=list)


# --- finding and sniffing files -------------------------------------------------------------------


def discover_logs(paths: Sequence[Path], types: EventTypes) -> tuple[list[LogFile], list[dict], list[Diagnostic]]:
    """The log files under `paths` (files, or folders searched recursively for *.csv and *.csv.gz),
    sorted by their shown name; the files left out ({"path", "event_type", "rows", "rejected",
    "status": "skipped"}); and a Diagnostic for each file that is not an event log of a type apexscan
    analyses. Raises LogUsageError for a path that does not exist."""
    found: list[tuple[Path, str]] = []
    diagnostics: list[Diagnostic] = []
    for given in paths:
        if given.is_dir():
            ignored = []
            for path in sorted(p for p in given.rglob("*") if p.is_file()):
                rel = path.relative_to(given).as_posix()
                if path.name.lower().endswith(SUFFIXES):
                    found.append((path, f"{given.as_posix().rstrip('/')}/{rel}"))
                else:
                    ignored.append(rel)
            if ignored:
                listed = ", ".join(ignored[:MAX_LISTED]) + (f" and {len(ignored) - MAX_LISTED} more"
                                                          if len(ignored) > MAX_LISTED else "")
                diagnostics.append(Diagnostic(given.as_posix(), STAGE, f"{len(ignored)} file(s) not read: "
                                              f"not .csv or .csv.gz ({listed})"))
        elif given.is_file():
            found.append((given, given.as_posix()))
        else:
            raise LogUsageError(f"{given}: no such file or folder")
    files: list[LogFile] = []
    skipped: list[dict] = []
    seen: set[Path] = set()
    for path, shown in sorted(found, key=lambda f: f[1]):
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        log, problem = _sniff(path, shown, types)
        if problem:
            diagnostics.append(Diagnostic(shown, STAGE, problem))
        if log is not None:
            files.append(log)
        else:
            skipped.append({"path": shown, "event_type": "", "rows": 0, "rejected": 0, "status": "skipped"})
    return files, skipped, diagnostics


def _sniff(path: Path, shown: str, types: EventTypes) -> tuple[LogFile | None, str]:
    """The file's header and event type, or why it cannot be used."""
    try:
        with open(path, "rb") as raw:
            head = raw.read(2)
            raw.seek(0)
            if head == b"\x1f\x8b":
                try:
                    with gzip.GzipFile(fileobj=raw) as unzipped:
                        data = unzipped.read(MAX_HEADER)
                except (OSError, EOFError, zlib.error) as e:
                    return None, f"not read: corrupt or truncated gzip file ({e})"
            else:
                if path.name.lower().endswith(".gz"):
                    return None, "not read: named .gz but not a gzip file"
                data = raw.read(MAX_HEADER)
    except OSError as e:
        return None, f"not read: {e.strerror or e}"
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    if "\n" not in text and len(data) >= MAX_HEADER:
        return None, f"not an event log: no header line in the first {MAX_HEADER} bytes"
    try:
        records = list(_first_records(text, complete=len(data) < MAX_HEADER))
    except csv.Error as e:
        return None, f"not an event log: the header is not CSV ({e})"
    if not records or not records[0]:
        return None, "not an event log: the file is empty"
    header = tuple(c.strip() for c in records[0])
    if types.event_type_column not in header:
        return None, (f"not an event log: no {types.event_type_column} column in the header "
                      f"(first columns: {', '.join(header[:4])[:120]})")
    if len(set(header)) != len(header):
        twice = sorted({c for c in header if header.count(c) > 1})
        return None, f"not read: the header names {', '.join(twice)} twice"
    if len(records) < 2:
        return LogFile(path, shown, "", header), "no rows: the file has only a header"
    row = records[1]
    index = header.index(types.event_type_column)
    event_type = row[index].strip() if index < len(row) else ""
    known = types.get(event_type)
    if known is None:
        return None, (f"event type {event_type!r} is not analysed by apexscan evidence; file not read"
                      if event_type else f"not read: the first row has no {types.event_type_column}")
    missing = [m for m in known.required if known.column(m) not in header]
    if types.derived_time not in header and types.compact_time not in header:
        missing.append(f"time ({types.derived_time} or {types.compact_time})")
    if missing:
        names = ", ".join(known.column(m) or m for m in missing)
        return None, f"{event_type} file without the column(s) {names}; not read"
    return LogFile(path, shown, event_type, header), ""


def _first_records(text: str, complete: bool) -> Iterable[list[str]]:
    """The header and the first data record (a quoted value may span lines)."""
    lines = text.splitlines(keepends=True)
    if not complete and lines:
        lines = lines[:-1]  # may be cut in the middle
    reader = csv.reader(io.StringIO("".join(lines)), strict=True)
    for i, record in enumerate(reader):
        yield record
        if i == 1:
            return


# --- reading with DuckDB ------------------------------------------------------------------------


def read_logs(files: Sequence[LogFile], types: EventTypes) -> LogTables:
    out = LogTables()
    groups: dict[tuple[str, tuple[str, ...]], list[LogFile]] = {}
    for f in files:
        if f.event_type:
            groups.setdefault((f.event_type, f.columns), []).append(f)
        else:
            out.files.append({"path": f.shown, "event_type": "", "rows": 0, "rejected": 0, "status": "empty"})
    if not groups:
        return out
    with tempfile.TemporaryDirectory(prefix="apexscan-evidence-") as work:
        con = _connect(Path(work), [f.path for f in files if f.event_type])
        try:
            for (event_type, columns), group in sorted(groups.items(), key=lambda g: g[1][0].shown):
                _read_group(con, types.get(event_type), columns, group, types, out)
        finally:
            con.close()
    out.files.sort(key=lambda f: f["path"])
    return out


def _connect(work: Path, paths: Sequence[Path]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that can read `paths` and nothing else, and never fetches anything."""
    con = duckdb.connect(":memory:", config={
        "threads": THREADS, "memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False,
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
        "allow_community_extensions": False, "extension_directory": str(work / "extensions"),
        "custom_extension_repository": str(work / "no-repository"), "temp_directory": str(work / "spill"),
    })
    con.execute("SET allowed_paths = $p", {"p": sorted({str(p.resolve()) for p in paths} | {str(p) for p in paths})})
    con.execute("SET allowed_directories = $p", {"p": [str(work) + "/"]})
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _read_group(con, etype: EventType, columns: tuple[str, ...], group: list[LogFile], types: EventTypes,
                out: LogTables) -> None:
    """One query over files with the same header; on an error, each file alone, so that one corrupt
    file does not take the others with it."""
    try:
        _query(con, etype, columns, group, types, out)
    except duckdb.Error as e:
        if len(group) > 1:
            for f in group:
                _read_group(con, etype, columns, [f], types, out)
            return
        message = str(e).splitlines()[0]
        out.diagnostics.append(Diagnostic(group[0].shown, STAGE, f"not read: {message}"))
        out.files.append({"path": group[0].shown, "event_type": etype.name, "rows": 0, "rejected": 0,
                          "status": "unreadable"})


def _query(con, etype: EventType, columns: tuple[str, ...], group: list[LogFile], types: EventTypes,
           out: LogTables) -> None:
    """One scan of the files: the role's aggregates, plus (in the grouping set `(file, et)`) each
    file's row count per EVENT_TYPE value and its rows without a readable time."""
    present = set(columns)

    def col(meaning: str) -> str:
        name = etype.column(meaning)
        return _ident(name) if name and name in present else "NULL"

    derived = f"TRY_CAST(NULLIF({_ident(types.derived_time)}, '') AS TIMESTAMP)" \
        if types.derived_time in present else "NULL"
    compact = f"TRY_STRPTIME(NULLIF({_ident(types.compact_time)}, ''), {_literal(types.compact_format)})" \
        if types.compact_time in present else "NULL"
    ts = f"COALESCE({derived}, {compact})"
    source = ("read_csv($files, header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
              "columns = $columns, ignore_errors = true, store_rejects = true, rejects_table = 'rejects', "
              f"rejects_scan = 'scans', max_line_size = {MAX_LINE}, filename = '__file')")
    params = {"files": [str(f.path) for f in group], "columns": {c: "VARCHAR" for c in columns}}
    fields, sets, aggregates = _role_sql(etype, col, present)
    rows = f"SELECT __file AS file, {_ident(types.event_type_column)} AS et, {ts} AS ts, " \
           f"CAST({ts} AS DATE) AS day, {fields} FROM {source}"
    counts = "count(*), count(*) FILTER (WHERE ts IS NULL)"
    if etype.role == "api" and etype.column("job"):
        # A job logs a row per state change: one job is one request, with its largest counts. The
        # files are scanned once into a small table of (job, file) rows, which both queries read.
        con.execute("CREATE OR REPLACE TEMP TABLE jobs AS SELECT file, et, min(ts) AS ts, app, client, usr, ip, "
                    "entity, is_read, max(nrows) AS nrows, max(nbytes) AS nbytes, count(*) AS raw, "
                    f"count(*) FILTER (WHERE ts IS NULL) AS timeless, job FROM ({rows}) GROUP BY ALL", params)
        result = [(0, *[None] * len(aggregates), *row) for row in con.execute(
            "SELECT file, et, sum(raw), sum(timeless) FROM jobs GROUP BY file, et").fetchall()]
        result += [(1, *row, None, None, None, None) for row in con.execute(
            f"WITH q AS (SELECT et, min(ts) AS ts, CAST(min(ts) AS DATE) AS day, app, client, usr, ip, entity, "
            f"is_read, max(nrows) AS nrows, max(nbytes) AS nbytes FROM jobs "
            f"GROUP BY et, app, client, usr, ip, entity, is_read, job) "
            f"SELECT {', '.join(aggregates)} FROM q GROUP BY GROUPING SETS ({', '.join(sets)})").fetchall()]
        con.execute("DROP TABLE jobs")
    else:
        result = con.execute(
            f"WITH q AS ({rows}) SELECT GROUPING(file) AS by_role, {', '.join(aggregates)}, file, et, {counts} "
            f"FROM q GROUP BY GROUPING SETS ((file, et), {', '.join(sets)})", params).fetchall()
    per_file: dict[str, int] = {}
    timeless: dict[str, int] = {}
    others: dict[str, int] = {}
    width = len(aggregates)
    for row in result:
        if row[0] == 0:  # the (file, et) set
            file, et, n, no_time = row[1 + width:1 + width + 4]
            per_file[file] = per_file.get(file, 0) + int(n)
            timeless[file] = timeless.get(file, 0) + int(no_time or 0)
            if et != etype.name:
                others[str(et)] = others.get(str(et), 0) + int(n)
        else:
            _keep(etype, row[1:1 + width], out)
    rejected = _rejects(con)
    for f in group:
        n, no_time, bad = per_file.get(str(f.path), 0), timeless.get(str(f.path), 0), rejected.get(str(f.path), [])
        out.files.append({"path": f.shown, "event_type": etype.name, "rows": n, "rejected": len(bad), "status": "read"})
        if bad:
            lines = ", ".join(f"{line} ({kind.lower()})" for line, kind in bad[:MAX_LISTED])
            more = f" and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
            word = "line" if len(bad) == 1 else "lines"
            out.diagnostics.append(Diagnostic(f.shown, STAGE, f"{len(bad)} row(s) not read: {word} {lines}{more}",
                                              bad[0][0]))
        if no_time:
            out.diagnostics.append(Diagnostic(f.shown, STAGE, f"{no_time} row(s) without a readable "
                                              f"{types.derived_time} or {types.compact_time}: counted in the "
                                              "totals, not on any day"))
    for et, n in sorted(others.items()):
        where_shown = group[0].shown if len(group) == 1 else f"{group[0].shown} (and {len(group) - 1} more)"
        out.diagnostics.append(Diagnostic(where_shown, STAGE, f"{n} row(s) of event type {et!r} in a "
                                          f"{etype.name} file: read as {etype.name}"))


def _role_sql(etype: EventType, col, present: set[str]) -> tuple[str, list[str], list[str]]:
    """(the role's fields of each row, its grouping sets, its aggregates)."""
    if etype.role == "callout":
        agent = " OR ".join(f"COALESCE({_ident(c)}, '') <> ''" for c in etype.agent if c in present) or "false"
        url = col("url")
        target = (f"CASE WHEN lower({url}) LIKE 'callout:%' THEN 'callout:' || "
                  f"regexp_extract({url}, '^[^:]*:([^/?#]*)', 1) ELSE lower(regexp_extract({url}, "
                  "'^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(\\[[^]/]*\\]|[^/?#:]*)', 1)) END")
        fields = (f"COALESCE({target}, '') AS target, regexp_extract(COALESCE({url}, ''), '^[^?#]*') AS path, "
                  f"TRY_CAST({col('request_bytes')} AS BIGINT) AS req, "
                  f"TRY_CAST({col('response_bytes')} AS BIGINT) AS resp, {col('success')} AS ok, "
                  f"{col('user')} AS usr, ({agent}) AS agent")
        sets = ["(et, target, day)", "(et, target, usr)"]
        aggregates = ["GROUPING(day, usr)", "et", "target", "day", "usr", "count(*)", "sum(req)", "sum(resp)", "count(req)",
                      "count(resp)", "count(*) FILTER (WHERE ok IN ('0', 'false'))", "count(*) FILTER (WHERE agent)",
                      "min(ts)", "max(ts)", "min(path)"]
        return fields, sets, aggregates
    if etype.role == "api":
        rows = f"TRY_CAST({col('rows')} AS BIGINT)"
        if etype.column("bytes"):
            size = f"CAST(TRY_CAST({col('bytes')} AS DOUBLE) * {etype.bytes_unit} AS BIGINT)"
        elif etype.column("bytes_per_row"):
            size = f"CAST(TRY_CAST({col('bytes_per_row')} AS DOUBLE) * {rows} AS BIGINT)"
        else:
            size = "CAST(NULL AS BIGINT)"
        if etype.read_operations is None:
            is_read = "true"
        else:
            listed = ", ".join(_literal(o.lower()) for o in etype.read_operations)
            is_read = f"lower(COALESCE({col('operation')}, '')) IN ({listed})"
        entity = col("entity") if etype.column("entity") else col("description")
        fields = (f"COALESCE({col('app_id')}, '') AS app, COALESCE({col('client_name')}, '') AS client, "
                  f"COALESCE({col('user')}, '') AS usr, COALESCE({col('client_ip')}, '') AS ip, "
                  f"COALESCE({entity}, '') AS entity, {is_read} AS is_read, {rows} AS nrows, {size} AS nbytes, "
                  f"COALESCE({col('job')}, '') AS job")
        sets = ["(et, app, client, usr, day)", "(et, app, client, usr, ip)", "(et, app, client, usr, entity, is_read)"]
        aggregates = ["GROUPING(day, ip, entity, is_read)", "et", "app", "client", "usr", "day", "ip", "entity",
                      "is_read", "count(*)", "sum(nrows) FILTER (WHERE is_read)",
                      "sum(nbytes) FILTER (WHERE is_read)", "min(ts)", "max(ts)"]
        return fields, sets, aggregates
    if etype.role == "identity":
        fields = (f"COALESCE({col('app_id')}, '') AS app, COALESCE({col('app_name')}, '') AS name, "
                  f"COALESCE({col('user')}, '') AS usr, COALESCE({col('category')}, '') AS category")
        return fields, ["(app, name, usr, category)"], ["app", "name", "usr", "category", "count(*)"]
    fields = f"COALESCE({col('user')}, '') AS usr, COALESCE({col('user_name')}, '') AS name"
    return fields, ["(usr, name)"], ["usr", "name", "count(*)"]


def _keep(etype: EventType, values: tuple, out: LogTables) -> None:
    if etype.role == "callout":
        out.callouts.append(values)
    elif etype.role == "api":
        out.api.append(values)
    elif etype.role == "identity":
        out.identities.append(values)
    else:
        out.logins.append(values)


def _rejects(con) -> dict[str, list[tuple[int, str]]]:
    """Rejected rows of the last query, per file: [(line, error type)], each line once."""
    try:
        rows = con.execute("SELECT s.file_path, e.line, min(CAST(e.error_type AS VARCHAR)) FROM rejects e "
                           "JOIN scans s USING (scan_id, file_id) GROUP BY ALL ORDER BY 1, 2").fetchall()
        con.execute("DROP TABLE rejects")
        con.execute("DROP TABLE scans")
    except duckdb.CatalogException:  # nothing was rejected: DuckDB made no table
        return {}
    out: dict[str, list[tuple[int, str]]] = {}
    for path, line, kind in rows:
        out.setdefault(path, []).append((int(line), kind))
    return out


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
