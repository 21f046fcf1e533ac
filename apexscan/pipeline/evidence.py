"""Runtime evidence: what the Event Monitoring logs say happened, set against the egress inventory.

`build_evidence` takes the aggregates `apexscan.pipeline.event_log_files.read_logs` computed, the
project's inventory document (`apexscan.pipeline.inventory.build_inventory`; None without a
project), its field catalog and the policy, and returns the JSON-ready evidence document that
`apexscan.interfaces.report.evidence` renders (its schema: `evidence.schema.json` beside it):

* destinations actually called, per host (or per Named Credential, for `callout:NAME` URLs), with
  the registry's provider, seat and region and the policy's verdict, and the inventory channels
  that explain each one;
* drift: hosts no code or metadata explains, static channels never seen (dormant), and channels
  whose traffic no event type records (not observable);
* API clients: per Connected App (or client name and user), the rows and bytes read, from which
  networks, which objects, and whether the project has the app;
* anomalies: days far above a host's or client's usual volume (median and MAD, see `anomalies`);
* findings (rules APX-RUN-001 ... 007) and the problems met reading the logs.

Everything here is pure and deterministic: the same aggregates give the same document.
"""
from __future__ import annotations

import ipaddress
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from apexscan.engine.model import Diagnostic, Sensitivity
from apexscan.pipeline.event_log_files import LogTables
from apexscan.salesforce import hosts
from apexscan.salesforce.event_logs import Anomaly, EventTypes
from apexscan.salesforce.policy import Policy
from apexscan.salesforce.sensitivity import FieldCatalog

SCHEMA_VERSION = 1
Json = dict[str, Any]
INTERNAL_IP = "Salesforce.com IP"  # how the logs write a request from inside Salesforce
MAX_IPS = 50  # client IPs listed per client (every untrusted one is listed up to MAX_UNTRUSTED)
MAX_UNTRUSTED = 200
LEVEL_ORDER = {"error": 0, "warning": 1, "note": 2}


def build_evidence(tables: LogTables, skipped: Sequence[Json], discovery: Sequence[Diagnostic], inventory: Json | None,
                   catalog: FieldCatalog | None, policy: Policy, types: EventTypes, *, project: str,
                   generator: str) -> Json:
    registry = hosts.load_registry()
    days = _window(tables)
    channels = inventory["channels"] if inventory else []
    destinations = _destinations(tables, channels, policy, registry, days, types.anomaly)
    drift = _drift(destinations, channels, types, inventory is not None)
    clients = _clients(tables, channels, catalog, policy, types, days, inventory is not None)
    findings = _findings(destinations, drift, clients, policy, inventory is not None)
    diagnostics = sorted(list(discovery) + tables.diagnostics, key=lambda d: (d.path, d.line, d.message))
    files = sorted([*tables.files, *skipped], key=lambda f: f["path"])
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": generator,
        "project": project,
        "window": {"first_day": days[0].isoformat() if days else "", "last_day": days[-1].isoformat() if days else "",
                   "days": len(days)},
        "inputs": {"files": files, "rows": sum(f["rows"] for f in files),
                   "rows_not_read": sum(f["rejected"] for f in files),
                   "files_not_read": sum(1 for f in files if f["status"] in ("skipped", "unreadable"))},
        "policy": {"trusted_networks": list(policy.trusted_networks),
                   "app_networks": {app: list(nets) for app, nets in policy.app_networks},
                   "anomaly": {"min_days": types.anomaly.min_days, "robust_z": types.anomaly.robust_z,
                               "min_ratio": types.anomaly.min_ratio, "floor_share": types.anomaly.floor_share}},
        "summary": _summary(destinations, drift, clients, findings),
        "destinations": destinations,
        "drift": drift,
        "clients": clients,
        "findings": findings,
        "diagnostics": [{"path": d.path, "line": d.line, "message": d.message} for d in diagnostics],
    }


def _window(tables: LogTables) -> list[date]:
    seen = [r[3] for r in tables.callouts if r[0] == 1 and r[3] is not None]
    seen += [r[5] for r in tables.api if r[0] == 7 and r[5] is not None]
    if not seen:
        return []
    first, last = min(seen), max(seen)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z" if value else ""


# --- destinations ---------------------------------------------------------------------------------


def _destinations(tables: LogTables, channels: Sequence[Json], policy: Policy, registry, days: list[date],
                  thresholds: Anomaly) -> list[Json]:
    merged: dict[str, Json] = {}
    for row in tables.callouts:
        kind, _et, target, day, user, calls, req, resp, n_req, n_resp, failed, agent, first, last, path = row
        d = merged.setdefault(target, {"target": target, "calls": 0, "request_bytes": 0, "response_bytes": 0,
                                       "sized": 0, "failures": 0, "agent_calls": 0, "first": None, "last": None,
                                       "path": None, "users": set(), "by_day": {}, "undated": 0})
        if kind == 2:  # per user
            if user:
                d["users"].add(user)
            continue
        d["calls"] += calls
        d["request_bytes"] += int(req or 0)
        d["response_bytes"] += int(resp or 0)
        d["sized"] += min(n_req, n_resp)
        d["failures"] += failed
        d["agent_calls"] += agent
        d["first"] = min(filter(None, (d["first"], first)), default=None)
        d["last"] = max(filter(None, (d["last"], last)), default=None)
        d["path"] = min(filter(None, (d["path"], path)), default=None)
        if day is None:
            d["undated"] += calls
        else:
            day_row = d["by_day"].setdefault(day, [0, 0])
            day_row[0] += calls
            day_row[1] += int(req or 0)
    out = []
    for target, d in merged.items():
        named = target[len("callout:"):] if target.startswith("callout:") else ""
        explained, dest = _explain(target, named, d["path"] or "", channels, policy, registry)
        series = [(day, d["by_day"].get(day, [0, 0])[0]) for day in days]
        out.append({
            "target": target,
            "host": dest["host"],
            "named_credential": named,
            "provider": dest["provider"],
            "llm": dest["llm"],
            "jurisdiction": dest["jurisdiction"],
            "region": dest["region"],
            "verdict": dest["verdict"],
            "note": dest["note"],
            "calls": d["calls"],
            "failures": d["failures"],
            "agent_calls": d["agent_calls"],
            "request_bytes": d["request_bytes"],
            "response_bytes": d["response_bytes"],
            "bytes_complete": d["sized"] == d["calls"],
            "first_seen": _stamp(d["first"]),
            "last_seen": _stamp(d["last"]),
            "users": len(d["users"]),
            "example_url": _public_path(d["path"] or ""),
            "explained_by": explained,
            "timeline": [{"day": day.isoformat(), "calls": d["by_day"].get(day, [0, 0])[0],
                          "request_bytes": d["by_day"].get(day, [0, 0])[1]} for day in days],
            "undated_calls": d["undated"],
            "anomalies": anomalies(series, thresholds) if dest["llm"] else [],
        })
    return sorted(out, key=lambda d: (-d["calls"], d["target"]))


def _public_path(url: str) -> str:
    """scheme://host/path without user info (the query string is already cut in SQL)."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@", r"\1", url)[:300]


def _explain(target: str, named: str, url: str, channels: Sequence[Json], policy: Policy,
             registry) -> tuple[list[str], Json]:
    """The inventory channels that explain a runtime target, and its classified destination."""
    explained: list[str] = []
    found: Json | None = None
    if named:
        pattern = re.compile(rf"named credential {re.escape(named.lower())}(?![a-z0-9_])")
        for c in channels:
            if c["kind"] == "named-credential" and c["name"].lower() == named.lower():
                explained.append(c["id"])
                found = found or (c["destinations"][0] if c["destinations"] else None)
            elif any(pattern.search(d["how"].lower()) for d in c["destinations"]):
                explained.append(c["id"])
        if found is None:
            return sorted(set(explained)), _unknown(f"Named Credential {named} is not in the project: its host "
                                                    "is not known" if not explained else
                                                    f"Named Credential {named} is used by the project's code but "
                                                    "is not in it: its host is not known")
        return sorted(set(explained)), _dest_json(found, policy, registry)
    dest = hosts.classify_url(_public_path(url) or f"https://{target}", policy, registry)
    for c in channels:
        if c["kind"] in ("connected-app", "dataloader-extract"):
            continue
        for d in c["destinations"]:
            host = d["host"].lower()
            if host == target or host.startswith("*.") and target.endswith(host[1:]) \
                    or dest.verdict.value == "in-org" and d["verdict"] == "in-org":
                explained.append(c["id"])
                break
    return sorted(set(explained)), _dest_of(dest)


def _dest_json(d: Json, policy: Policy, registry) -> Json:
    # The inventory classified the credential's URL with the same registry and policy.
    return {"host": d["host"], "provider": d["provider"], "llm": d["llm"], "jurisdiction": d["jurisdiction"],
            "region": d["region"], "verdict": d["verdict"], "note": d["note"]}


def _dest_of(d) -> Json:
    return {"host": d.host, "provider": d.provider, "llm": bool(d.provider) or bool(d.evidence),
            "jurisdiction": d.jurisdiction or "unknown", "region": d.region or "unknown",
            "verdict": d.verdict.value, "note": d.note}


def _unknown(note: str) -> Json:
    return {"host": "", "provider": "", "llm": False, "jurisdiction": "unknown", "region": "unknown",
            "verdict": "unknown", "note": note}


# --- anomalies ------------------------------------------------------------------------------------


def anomalies(series: Sequence[tuple[date, int]], th: Anomaly) -> list[Json]:
    """Days far above the usual volume of `series` (day, value), oldest first.

    The baseline is taken from the first day with a value to the last day of the series (a host
    first called mid-window is not anomalous every day it is called): median m and median
    absolute deviation MAD of those days, days without traffic counting as 0. A day is anomalous
    when value > m + robust_z * s and value >= min_ratio * m, with s = max(1.4826 * MAD,
    floor_share * m, 1) (1.4826 makes MAD comparable to a standard deviation; the floor keeps a
    perfectly regular series from flagging every wobble). Spans shorter than min_days have no
    baseline."""
    start = next((i for i, (_, v) in enumerate(series) if v), None)
    if start is None:
        return []
    values = [v for _, v in series[start:]]
    if len(values) < th.min_days:
        return []
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    scale = max(1.4826 * mad, th.floor_share * median, 1.0)
    threshold = median + th.robust_z * scale
    return [{"day": day.isoformat(), "value": v, "median": _num(median), "mad": _num(mad),
             "threshold": _num(round(threshold, 1)), "ratio": _num(round(v / median, 1)) if median else None}
            for day, v in series[start:] if v > threshold and v >= th.min_ratio * median]


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


# --- drift ----------------------------------------------------------------------------------------


def _drift(destinations: Sequence[Json], channels: Sequence[Json], types: EventTypes, checked: bool) -> Json:
    if not checked:
        return {"checked": False, "unexplained": [], "dormant": [], "not_observable": [], "unchecked": []}
    seen_hosts = {d["host"] for d in destinations if d["host"]} | {d["target"] for d in destinations}
    seen_credentials = {d["named_credential"].lower() for d in destinations if d["named_credential"]}
    in_org_seen = any(d["verdict"] == "in-org" for d in destinations)
    not_logged = dict(types.not_logged)
    dormant: dict[str, Json] = {}
    observable_unknown, not_observable = [], []
    for c in channels:
        if c["kind"] not in types.logged_kinds:
            if c["kind"] in not_logged:
                not_observable.append({"channel": c["id"], "kind": c["kind"], "why": not_logged[c["kind"]]})
            continue
        if c["kind"] == "remote-site" and c["details"].get("active") is False:
            continue
        for d in c["destinations"]:
            credential = _credential_of(d)
            if d["verdict"] == "in-org":
                if not in_org_seen:
                    dormant.setdefault("(the org itself)", {"destination": "(the org itself)", "channels": []})[
                        "channels"].append(c["id"])
            elif d["host"]:
                if d["host"].lower() not in seen_hosts and (not credential or credential not in seen_credentials):
                    dormant.setdefault(d["host"], {"destination": d["host"], "channels": []})["channels"].append(c["id"])
            elif credential:
                if credential not in seen_credentials:
                    key = f"callout:{credential}"
                    dormant.setdefault(key, {"destination": key, "channels": []})["channels"].append(c["id"])
            else:
                observable_unknown.append({"channel": c["id"], "why": d.get("unknown_because") or d["how"]})
    return {
        "checked": True,
        "unexplained": [d["target"] for d in destinations if not d["explained_by"] and d["verdict"] != "in-org"],
        "dormant": [{**v, "channels": sorted(set(v["channels"]))} for _, v in sorted(dormant.items())],
        "not_observable": sorted(not_observable, key=lambda x: x["channel"]),
        "unchecked": sorted(observable_unknown, key=lambda x: x["channel"]),
    }


def _credential_of(d: Json) -> str:
    m = re.search(r"named credential ([A-Za-z0-9_]+)", d["how"], re.IGNORECASE)
    return m.group(1).lower() if m else ""


# --- API clients ----------------------------------------------------------------------------------


def _clients(tables: LogTables, channels: Sequence[Json], catalog: FieldCatalog | None, policy: Policy,
             types: EventTypes, days: list[date], checked: bool) -> list[Json]:
    names: dict[str, dict[str, int]] = {}  # app id -> name -> rows
    categories: dict[str, set[str]] = {}
    for app, name, _user, category, n in tables.identities:
        if app and name:
            names.setdefault(app, {})
            names[app][name] = names[app].get(name, 0) + n
        if app and category:
            categories.setdefault(app, set()).add(category)
    user_names: dict[str, str] = {}
    for user, name, _n in sorted(tables.logins):
        if user and name:
            user_names.setdefault(user, name)
    # A user whose API rows name exactly one Connected App is that app's integration user: its rows
    # without an app (Bulk API jobs, which log none) are the app's too.
    apps_of_user: dict[str, set[str]] = {}
    for row in tables.api:
        if row[2]:
            apps_of_user.setdefault(row[4], set()).add(row[2])
    project_apps = {c["name"].lower(): c for c in channels if c["kind"] == "connected-app"}
    exports = {t.name for t in types.types if t.export}
    families = {t.name: t.family for t in types.types}
    clients: dict[str, Json] = {}
    for row in tables.api:
        kind, et, app, client_name, user, day, ip, entity, is_read, requests, rows, nbytes, first, last = row
        via_user = False
        if not app and len(apps_of_user.get(user, ())) == 1:
            app, via_user = next(iter(apps_of_user[user])), True
        key = f"app:{app}" if app else f"client:{client_name}|user:{user}"
        c = clients.setdefault(key, {"key": key, "app_id": app, "client_name": "" if app else client_name,
                                     "user": "" if app else user, "users": set(), "families": {}, "requests": 0,
                                     "rows_read": 0, "bytes_read": 0, "by_day": {}, "ips": {}, "entities": {},
                                     "first": None, "last": None, "via_user": set()})
        if kind == 7:  # per day
            c["users"].add(user)
            if via_user:
                c["via_user"].add(user)
            c["requests"] += requests
            c["rows_read"] += int(rows or 0)
            c["bytes_read"] += int(nbytes or 0)
            fam = families.get(et, et)
            c["families"][fam] = c["families"].get(fam, 0) + requests
            c["first"] = min(filter(None, (c["first"], first)), default=None)
            c["last"] = max(filter(None, (c["last"], last)), default=None)
            if day is not None:
                by_day = c["by_day"].setdefault(day, [0, 0, 0])
                by_day[0] += requests
                by_day[1] += int(rows or 0)
                if et in exports:
                    by_day[2] += int(rows or 0)
        elif kind == 11:  # per client IP
            ip_row = c["ips"].setdefault(ip, [0, 0])
            ip_row[0] += requests
            ip_row[1] += int(rows or 0)
        else:  # per entity
            if entity:
                e = c["entities"].setdefault((entity, et), [0, 0, 0])
                e[0] += requests
                e[1] += int(rows or 0)
                e[2] += int(nbytes or 0)
    out = []
    for key, c in clients.items():
        app_name = _best(names.get(c["app_id"], {}))
        project = project_apps.get(app_name.lower()) if app_name else None
        networks = policy.networks_for(app_name) if (policy.trusted_networks or policy.app_networks) else None
        ips = [{"ip": ip, "requests": n, "rows_read": r, "trusted": _trusted(ip, networks)}
               for ip, (n, r) in c["ips"].items()]
        ips.sort(key=lambda i: (-i["requests"], i["ip"]))
        untrusted = [i for i in ips if i["trusted"] is False]
        series = [(day, c["by_day"].get(day, [0, 0, 0])[2]) for day in days]
        entities = []
        for (entity, et), (n, r, b) in sorted(c["entities"].items()):
            entities.append({"entity": entity, "event_type": et, "family": families.get(et, et),
                             "object": bool(types.get(et) and types.get(et).column("entity")),
                             "sensitivity": _entity_sensitivity(entity, et, types, catalog),
                             "requests": n, "rows_read": r, "bytes_read": b})
        user_list = sorted(u for u in c["users"] if u)
        out.append({
            "key": key,
            "app_id": c["app_id"],
            "app_name": app_name,
            "client_name": c["client_name"],
            "user": c["user"],
            "user_name": user_names.get(c["user"], ""),
            "users": [{"id": u, "name": user_names.get(u, ""), "attributed_by_user": u in c["via_user"]}
                      for u in user_list],
            "categories": sorted(categories.get(c["app_id"], ())),
            # None: not known (no project, no Connected App, or an id the logs never name)
            "in_project": bool(project) if checked and app_name else None,
            "project_channel": project["id"] if project else "",
            "ip_relaxation": project["details"].get("ip_relaxation", "") if project else "",
            "requests": c["requests"],
            "rows_read": c["rows_read"],
            "bytes_read": c["bytes_read"],
            "families": dict(sorted(c["families"].items())),
            "first_seen": _stamp(c["first"]),
            "last_seen": _stamp(c["last"]),
            "networks": list(networks) if networks is not None else None,
            "ips": ips[:MAX_IPS],
            "ips_total": len(ips),
            "untrusted_ips": untrusted[:MAX_UNTRUSTED],
            "untrusted_requests": sum(i["requests"] for i in untrusted),
            "entities": entities,
            "timeline": [{"day": day.isoformat(), "requests": c["by_day"].get(day, [0, 0, 0])[0],
                          "rows_read": c["by_day"].get(day, [0, 0, 0])[1],
                          "export_rows": c["by_day"].get(day, [0, 0, 0])[2]} for day in days],
            "anomalies": anomalies(series, types.anomaly),
        })
    return sorted(out, key=lambda c: (-c["rows_read"], c["key"]))


def _best(counts: Mapping[str, int]) -> str:
    return min(counts, key=lambda n: (-counts[n], n)) if counts else ""


def _trusted(ip: str, networks: Sequence[str] | None) -> bool | None:
    if ip == INTERNAL_IP:
        return True
    if networks is None:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    return any(address in ipaddress.ip_network(n) for n in networks)


def _entity_sensitivity(entity: str, et: str, types: EventTypes, catalog: FieldCatalog | None) -> str:
    etype = types.get(et)
    if catalog is None or etype is None or not etype.column("entity"):
        return "unknown"
    ranks = {Sensitivity.SENSITIVE: 0, Sensitivity.UNKNOWN: 1, Sensitivity.NON_SENSITIVE: 2}
    found = [catalog.classify_object(e.strip()).sensitivity for e in entity.split(",") if e.strip()]
    return min(found, key=ranks.get).value if found else "unknown"


# --- findings -------------------------------------------------------------------------------------


def _findings(destinations: Sequence[Json], drift: Json, clients: Sequence[Json], policy: Policy,
              checked: bool) -> list[Json]:
    out: list[Json] = []

    def add(rule: str, level: str, subject: str, message: str, **details: Any) -> None:
        out.append({"rule": rule, "level": level, "subject": subject, "message": message, "details": details})

    for d in destinations:
        name = d["host"] or d["target"]
        if d["llm"] and d["verdict"] == "foreign":
            add("APX-RUN-001", "error", d["target"],
                f"{d['calls']} callouts to {name} ({d['provider']}, seat {d['jurisdiction']}, region {d['region']}) "
                f"were logged between {d['first_seen'][:10]} and {d['last_seen'][:10]}: {d['request_bytes']} bytes "
                f"sent to a provider outside the allowed jurisdictions or regions"
                + (f", {d['agent_calls']} of them by an agent" if d["agent_calls"] else ""),
                calls=d["calls"], request_bytes=d["request_bytes"], channels=d["explained_by"])
        if checked and not d["explained_by"] and d["verdict"] != "in-org":
            add("APX-RUN-002", "warning", d["target"],
                f"{d['calls']} callouts to {name} were logged, but no code or metadata in the project explains "
                f"them (a channel configured in the org, a managed package, or code not in source control)"
                + (f"; {d['provider']} is an LLM provider" if d["llm"] and d["provider"] else ""),
                calls=d["calls"], request_bytes=d["request_bytes"], first_seen=d["first_seen"])
        for a in d["anomalies"]:
            add("APX-RUN-006", "warning", f"{d['target']} {a['day']}",
                f"{a['value']} callouts to {name} on {a['day']}, against a usual {a['median']} a day "
                f"(threshold {a['threshold']})", day=a["day"], value=a["value"], median=a["median"])
    for dormant in drift["dormant"]:
        add("APX-RUN-003", "note", dormant["destination"],
            f"{dormant['destination']} is configured or called in the project but was never called in the "
            f"logs: {', '.join(dormant['channels'])} (dead, not deployed, or used less often than the logs cover)",
            channels=dormant["channels"])
    for c in clients:
        who = _client_label(c)
        if c["in_project"] is False:
            add("APX-RUN-004", "warning", c["key"],
                f"Connected App {c['app_name']} read {c['rows_read']} rows in {c['requests']} requests, but the "
                "project has no such Connected App (configured in the org, not in source control)",
                rows_read=c["rows_read"], requests=c["requests"])
        if c["untrusted_requests"]:
            shown = ", ".join(i["ip"] for i in c["untrusted_ips"][:5])
            add("APX-RUN-005", "warning", c["key"],
                f"{who} made {c['untrusted_requests']} requests from networks outside the policy's trusted "
                f"networks ({shown}{' ...' if len(c['untrusted_ips']) > 5 else ''}), reading "
                f"{sum(i['rows_read'] for i in c['untrusted_ips'])} rows",
                ips=[i["ip"] for i in c["untrusted_ips"]], requests=c["untrusted_requests"])
        for a in c["anomalies"]:
            add("APX-RUN-006", "warning", f"{c['key']} {a['day']}",
                f"{who} exported {a['value']} rows on {a['day']}, against a usual {a['median']} a day "
                f"(threshold {a['threshold']})", day=a["day"], value=a["value"], median=a["median"])
        sensitive = [e for e in c["entities"] if e["sensitivity"] == "sensitive" and e["rows_read"]]
        if sensitive:
            listed = ", ".join(f"{e['entity']} ({e['rows_read']} rows, {e['family']})" for e in sensitive)
            add("APX-RUN-007", "note", c["key"], f"{who} read records of objects that hold sensitive fields: {listed}",
                entities=sorted({e["entity"] for e in sensitive}), rows_read=sum(e["rows_read"] for e in sensitive))
    return sorted(out, key=lambda f: (f["rule"], f["subject"]))


def _client_label(c: Json) -> str:
    if c["app_id"]:
        return f"Connected App {c['app_name'] or c['app_id']}"
    name = c["user_name"] or c["user"] or "an unknown user"
    return f"{c['client_name']} ({name})" if c["client_name"] else name


def client_label(c: Json) -> str:
    """How reports name an API client."""
    return _client_label(c)


def _summary(destinations: Sequence[Json], drift: Json, clients: Sequence[Json],
             findings: Sequence[Json]) -> Json:
    levels = {lvl: sum(1 for f in findings if f["level"] == lvl) for lvl in LEVEL_ORDER}
    return {
        "callouts": sum(d["calls"] for d in destinations),
        "destinations": len(destinations),
        "foreign_llm_destinations": sum(1 for d in destinations if d["llm"] and d["verdict"] == "foreign"),
        "unexplained_destinations": len(drift["unexplained"]),
        "dormant_destinations": len(drift["dormant"]),
        "clients": len(clients),
        "api_requests": sum(c["requests"] for c in clients),
        "rows_read": sum(c["rows_read"] for c in clients),
        "untrusted_requests": sum(c["untrusted_requests"] for c in clients),
        "anomalies": sum(len(d["anomalies"]) for d in destinations) + sum(len(c["anomalies"]) for c in clients),
        "findings": levels,
    }


def fails(findings: Iterable[Json], fail_on: str) -> bool:
    """A finding at or above `fail_on` ("error", "warning", "note"; "never": none)."""
    if fail_on == "never":
        return False
    return any(LEVEL_ORDER[f["level"]] <= LEVEL_ORDER[fail_on] for f in findings)
