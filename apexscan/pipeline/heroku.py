"""Heroku Connect: Salesforce records copied into a Heroku Postgres database, and read from there.

  * `sql_sources(text, metadata)`: what a SQL SELECT (its text resolved by the scan) reads of
    Heroku Connect tables, as (object, field paths, fields as written) for the taint search. A
    mapping export in the repository names the table's object and says which columns are Salesforce
    fields (system columns such as `sfid` never are); without one, columns of a table in the default
    schema `salesforce` are taken for the fields of the object the table is named after.
  * `heroku_findings`: a mapping that copies sensitive fields
      - into an app whose region the policy does not allow, or that the repository does not record
        (Heroku creates apps in region us unless told otherwise)       APX-HRK-001 (warning)
      - into an app that also holds LLM credentials or an inference add-on   APX-HRK-002 (warning)
  * `connect_channels`: the mappings as egress channels of the inventory.

Which app a mapping belongs to: the app.json or Terraform heroku_app of the export's folder or the
nearest folder above it, or one named like the export's `connection.app_name`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from apexscan.engine.model import Destination, FieldClass, FieldRef, Finding, Location, Sensitivity, Step, Verdict
from apexscan.frontends.metadata import HerokuAppMeta, HerokuConnectMapping, ProjectMetadata
from apexscan.frontends.sql import EVERY_COLUMN, select_reads
from apexscan.salesforce import hosts
from apexscan.salesforce.findings import RANK
from apexscan.salesforce.policy import Policy
from apexscan.salesforce.sensitivity import FieldCatalog
from apexscan.salesforce.service_models import HEROKU

HOW = "Heroku Connect table"
_LIST_LIMIT = 6


# --- reads of the copy -----------------------------------------------------------------------------

def sql_sources(text: str, metadata: ProjectMetadata) -> list[tuple[str, tuple[tuple[str, ...], ...], tuple[str, ...], str]]:
    """(object, field paths, fields as written, table) of every Heroku Connect table a SELECT reads."""
    tables = {(m.schema, m.object.lower()): m for m in metadata.heroku_connect}
    schemas = {m.schema for m in metadata.heroku_connect} | {HEROKU.default_schema}
    out = []
    for read in select_reads(text):
        if read.schema not in schemas:
            continue
        mapping = tables.get((read.schema, read.table))
        obj = mapping.object if mapping is not None else _object_name(read.table)
        if mapping is not None:
            synced = {f.lower(): f for f in mapping.fields if f.lower() not in HEROKU.system_columns}
            names = list(synced.values()) if EVERY_COLUMN in read.columns else \
                [synced[c] for c in read.columns if c in synced]
        elif EVERY_COLUMN in read.columns:
            names = [EVERY_COLUMN]
        else:
            names = [c for c in read.columns if c not in HEROKU.system_columns]
        if names:
            out.append((obj, tuple((n.lower(),) for n in names), tuple(names), f"{read.schema}.{read.table}"))
    return out


def _object_name(table: str) -> str:
    """`contact` -> "Contact", `loan__c` -> "Loan__c": as Salesforce spells most object names."""
    return table[:1].upper() + table[1:]


# --- where the copy is -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AppView:
    """What the repository says about the app a mapping copies into."""

    names: tuple[str, ...]
    region: str  # Heroku region name, "" when nothing says
    region_origin: str  # the file that says so
    credentials: tuple[str, ...]  # LLM credential keys it holds
    inference: tuple[str, ...]  # inference add-ons it has
    origins: tuple[str, ...]  # the files it is described in


def app_of(mapping: HerokuConnectMapping, apps: tuple[HerokuAppMeta, ...]) -> AppView:
    found = [a for a in apps if mapping.app_name and a.name == mapping.app_name]
    if not found:
        folder = mapping.folder
        while True:
            found = [a for a in apps if a.folder == folder]
            if found or not folder:
                break
            folder = folder.rpartition("/")[0]
    regioned = next((a for a in found if a.region), None)
    inference = sorted({addon for a in found for addon in a.addons
                        if addon.split(":", 1)[0] in HEROKU.inference_addons})
    return AppView(tuple(sorted({a.name for a in found if a.name})), regioned.region if regioned else "",
                   f"{regioned.origin} in {regioned.location.path}" if regioned else "",
                   tuple(sorted({c for a in found for c in a.llm_credentials})), tuple(inference),
                   tuple(sorted({f"{a.origin} ({a.location.path})" for a in found})))


def region_verdict(view: AppView, policy: Policy, registry: hosts.Registry) -> tuple[str, bool | None]:
    """(processing region code, allowed?) of the app's database; allowed is None when unknown."""
    if not view.region:
        return "", None
    code = HEROKU.regions.get(view.region.lower(), "")
    if not code:
        return "", None
    return code, code.upper() in registry.accepted(policy.allowed_regions)


def destination(mapping: HerokuConnectMapping, view: AppView, policy: Policy, registry: hosts.Registry) -> Destination:
    code, allowed = region_verdict(view, policy, registry)
    app = ", ".join(view.names) or mapping.app_name or "the app of this export"
    table = f"{mapping.schema}.{mapping.object.lower()}"
    note = (f"region {view.region} ({view.region_origin})" if view.region else
            f"the repository does not record the app's region; Heroku creates apps in region "
            f"{HEROKU.default_region} unless told otherwise")
    verdict = Verdict.SOVEREIGN if allowed else Verdict.NOT_LLM
    return Destination(f"postgres {table} of {app}", "", "Heroku Postgres (Heroku Connect)", "US", code, verdict,
                       f"Heroku Connect mapping in {mapping.location.path}", note=note)


# --- findings --------------------------------------------------------------------------------------

def heroku_findings(metadata: ProjectMetadata, policy: Policy, registry: hosts.Registry,
                    catalog: FieldCatalog) -> list[Finding]:
    findings: list[Finding] = []
    for mapping in metadata.heroku_connect:
        fields = mapping_fields(mapping, catalog)
        sensitive = [(ref, klass) for ref, klass in fields if klass.sensitivity == Sensitivity.SENSITIVE]
        if not sensitive:
            continue
        view = app_of(mapping, metadata.heroku_apps)
        dest = destination(mapping, view, policy, registry)
        code, allowed = region_verdict(view, policy, registry)
        what = _listing(f"{ref} ({klass.category})" for ref, klass in sensitive)
        app = ", ".join(view.names) or mapping.app_name or "its Heroku app"
        table = f"{mapping.schema}.{mapping.object.lower()}"
        writes = (" It also writes changes made in Postgres back to the org (access read_write)."
                  if mapping.access == "read_write" else "")
        paths = tuple((Step(mapping.location, f"{ref} ({klass.category}, sensitive) copied by Heroku Connect into "
                                              f"{table} of {app}"),) for ref, klass in sensitive)
        context = f"HerokuConnect {_channel_name(mapping)}"
        if allowed is not True:
            if allowed is False:
                where = (f"in region {view.region} ({code}), which is not an allowed region "
                         f"({_allowed(policy)}; {view.region_origin})")
            else:
                where = (f"in a region the repository does not record (Heroku creates apps in region "
                         f"{HEROKU.default_region} unless told otherwise; {_allowed(policy)})")
            message = (f"Heroku Connect copies {what} of every {mapping.object} record into table {table} of the "
                       f"Heroku Postgres database of {app}, {where} (mapping in {mapping.location.path}). The copy "
                       f"is outside Salesforce's sharing, field-level security and audit trail.{writes}")
            findings.append(_finding("APX-HRK-001", mapping, message, dest, paths, context,
                                     "high" if allowed is False else "medium", fields))
        if view.credentials or view.inference:
            holds = _listing([f"{c}" for c in view.credentials] + [f"add-on {a}" for a in view.inference])
            message = (f"Heroku Connect copies {what} of every {mapping.object} record into table {table} of "
                       f"{app}, which also holds LLM credentials ({holds}; {', '.join(view.origins)}): any code of "
                       f"the app can send the copy to an LLM without touching the org (mapping in "
                       f"{mapping.location.path}).{writes}")
            findings.append(_finding("APX-HRK-002", mapping, message, dest, paths, context, "medium", fields))
    return findings


def mapping_fields(mapping: HerokuConnectMapping, catalog: FieldCatalog) -> list[tuple[FieldRef, FieldClass]]:
    """The Salesforce fields a mapping copies, most sensitive first."""
    out: dict[FieldRef, FieldClass] = {}
    for name in mapping.fields:
        ref = catalog.resolve(mapping.object, (name.lower(),))
        if ref.field == ref.field.lower():
            ref = FieldRef(ref.object, name)
        out.setdefault(ref, catalog.classify(ref))
    return sorted(out.items(), key=lambda item: (RANK[item[1].sensitivity], str(item[0])))


def _finding(rule: str, mapping: HerokuConnectMapping, message: str, dest: Destination, paths, context: str,
             confidence: str, fields) -> Finding:
    return Finding(rule_id=rule, location=mapping.location, message=message, destination=dest, paths=paths,
                   confidence=confidence, extra=(("context", context),), fields=tuple(fields))


def _channel_name(mapping: HerokuConnectMapping) -> str:
    owner = mapping.app_name or mapping.folder or mapping.location.path
    return f"{owner}/{mapping.object}"


def _allowed(policy: Policy) -> str:
    return "allowed: " + ", ".join(policy.allowed_regions) if policy.allowed_regions else "no region allowed"


def _listing(names) -> str:
    names = list(names)
    more = len(names) - _LIST_LIMIT
    return ", ".join(names[:_LIST_LIMIT]) + (f" and {more} more" if more > 0 else "")


# --- the inventory ---------------------------------------------------------------------------------

def connect_channels(metadata: ProjectMetadata, policy: Policy, registry: hosts.Registry,
                     catalog: FieldCatalog) -> list[tuple[str, Location, Destination, dict, list]]:
    """(name, location, destination, details, [(field, class, whole)]) of every mapped object."""
    out = []
    for mapping in metadata.heroku_connect:
        view = app_of(mapping, metadata.heroku_apps)
        dest = destination(mapping, view, policy, registry)
        details = {"access": mapping.access, "table": f"{mapping.schema}.{mapping.object.lower()}",
                   "app": ", ".join(view.names) or mapping.app_name, "region": view.region,
                   "llm_credentials": list(view.credentials), "inference_addons": list(view.inference)}
        data = [(ref, klass, False) for ref, klass in mapping_fields(mapping, catalog)]
        out.append((_channel_name(mapping), mapping.location, dataclasses.replace(dest), details, data))
    return out
