"""Admin configuration -> findings: metadata that opens a channel out of the org, no code path needed.

Each rule reads one kind of metadata fact and asks the same two questions as the code rules: where
does the channel lead (``hosts.classify_url`` against the policy) and, where the metadata lists
them, which fields travel (``FieldCatalog.classify``).

  Remote Site Setting (active) -> non-sovereign LLM host            APX-CFG-001 (warning)
  Named Credential URL -> non-sovereign LLM host                     APX-CFG-002 (warning)
  CSP Trusted Site (active, connect-src) -> non-sovereign LLM host   APX-CFG-003 (warning)
  External Service -> its Named Credential -> non-sovereign LLM host APX-CFG-004 (warning)
  Connected App: API scopes with IP restrictions relaxed or unset    APX-CFG-005 (warning)
  Workflow outbound message -> non-sovereign LLM host                APX-CFG-006 (error; warning
                                                                     when no listed field is sensitive
                                                                     and no session id is sent)
  Workflow outbound message with sensitive fields or the session id
    -> any other external host                                       APX-CFG-007 (warning)
  Data Loader extract job selecting sensitive fields -> a CSV file
    or a database outside Salesforce                                 APX-CFG-008 (warning)

"Non-sovereign LLM host" means verdict FOREIGN, or UNKNOWN with a known provider (the code rules'
meaning). Sovereign (policy-allowed), in-org and non-LLM hosts give nothing for APX-CFG-001 to 004
and 006; APX-CFG-005 and 007 are about the access or the data itself, so they also fire for hosts
that are not LLM APIs, but never for in-org or policy-allowed endpoints. APX-CFG-008 is about a
bulk export: the records leave the org's access controls wherever the file or database is (a
database whose host the policy allows stays silent).

Every finding sits on the line of the element that opens the channel, names the host, provider,
seat and region (``findings.describe``) and the file, and carries a witness path for SARIF.
``config_findings`` is pure and returns its findings in a deterministic order.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable

from apexscan.engine.model import (
    Destination,
    FieldClass,
    FieldRef,
    Finding,
    Location,
    NamedCredentialMeta,
    RemoteSiteMeta,
    Sensitivity,
    Step,
    Verdict,
)
from apexscan.frontends.metadata import (
    ConnectedAppMeta,
    CspTrustedSiteMeta,
    DataLoaderJob,
    ExternalServiceMeta,
    OutboundMessageMeta,
    ProjectMetadata,
)
from apexscan.pipeline.heroku import heroku_findings
from apexscan.salesforce import hosts
from apexscan.salesforce.findings import RANK, describe
from apexscan.salesforce.policy import Policy
from apexscan.salesforce.sensitivity import FieldCatalog

__all__ = [
    "DATA_SCOPES",
    "IN_ORG_SERVICE_TYPES",
    "LONG_LIVED_SCOPES",
    "config_findings",
    "dataloader_destination",
    "dataloader_fields",
]

# Connected App OAuth scopes that let the client read org data through an API (Metadata API
# ConnectedAppOauthAccessScope values): REST/SOAP/Bulk (Api), everything (Full), Connect REST
# (Chatter), CRM Analytics (Wave), Data Cloud queries and profiles (CDPQuery, CDPProfile).
DATA_SCOPES = frozenset({"api", "full", "chatter", "wave", "cdpquery", "cdpprofile"})
# Scopes that keep that access alive without a user present.
LONG_LIVED_SCOPES = frozenset({"refreshtoken", "offlineaccess"})
# External Service registrations that describe this org's own Apex, not an outside server.
IN_ORG_SERVICE_TYPES = frozenset({"apexrest", "auraenabled"})
_IP_ENFORCED = "ENFORCE"
# <ipRelaxation> values other than ENFORCE, as the message describes them.
_IP_RELAXED = {
    "BYPASS": "relaxes IP restrictions",
    "ENFORCE_ACTIVATED_DEVICES": "relaxes IP restrictions for activated devices",
    "ENFORCE_RELAXREFRESH": "relaxes IP restrictions for refresh tokens",
}
_LIST_LIMIT = 6  # names shown in a message before "and N more"

Classify = Callable[[str], Destination]


def config_findings(metadata: ProjectMetadata, policy: Policy, registry: hosts.Registry,
                    catalog: FieldCatalog) -> list[Finding]:
    """Every configuration finding of the project, sorted by file, line, column and rule."""

    def classify(url: str) -> Destination:
        return hosts.classify_url(url, policy, registry)

    findings: list[Finding] = []
    for site in metadata.remote_sites.values():
        findings.extend(_remote_site(site, classify))
    for credential in metadata.named_credentials.values():
        findings.extend(_named_credential(credential, classify))
    for trusted in metadata.csp_trusted_sites.values():
        findings.extend(_csp_trusted_site(trusted, lambda url: hosts.classify_site(url, policy, registry)))
    for service in metadata.external_services.values():
        findings.extend(_external_service(service, metadata, classify))
    for app in metadata.connected_apps.values():
        findings.extend(_connected_app(app, classify))
    for message in metadata.outbound_messages.values():
        findings.extend(_outbound_message(message, classify, catalog))
    for job in metadata.dataloader_jobs.values():
        findings.extend(_dataloader_extract(job, metadata, classify, catalog))
    findings.extend(heroku_findings(metadata, policy, registry, catalog))  # APX-HRK-*: pipeline/heroku.py
    return sorted(findings, key=_order)


def _order(finding: Finding) -> tuple:
    loc = finding.location
    return (loc.path, loc.line, loc.col, finding.rule_id, finding.destination.url, finding.message)


def _reportable(dest: Destination) -> bool:
    """A non-sovereign LLM: foreign, or of undecidable jurisdiction but a known provider."""
    return dest.verdict == Verdict.FOREIGN or (dest.verdict == Verdict.UNKNOWN and bool(dest.provider))


# --- APX-CFG-001: Remote Site Settings ---------------------------------------------------------


def _remote_site(site: RemoteSiteMeta, classify: Classify) -> list[Finding]:
    if not site.active or not site.url.strip():
        return []
    dest = _how(classify(site.url), f"Remote Site Setting {site.name}")
    if not _reportable(dest):
        return []
    message = (f"Remote Site Setting {site.name} authorises Apex callouts to {describe(dest)}, an LLM API "
               f"outside the allowed jurisdictions: any Apex in the org may now send record data there "
               f"(defined in {site.location.path}).{_note(dest)}")
    step = Step(site.location, f"Remote Site Setting {site.name} allows callouts to {dest.host}")
    return [_finding("APX-CFG-001", site.location, message, dest, ((step,),), f"RemoteSiteSetting {site.name}")]


# --- APX-CFG-002: Named Credentials -------------------------------------------------------------


def _named_credential(credential: NamedCredentialMeta, classify: Classify) -> list[Finding]:
    if not credential.url.strip():
        return []
    dest = _how(classify(credential.url), f"Named Credential {credential.name}")
    if not _reportable(dest):
        return []
    auth = (f" Its External Credential {credential.external_credential} supplies the API key, so every "
            f"caller with access to the principal sends authenticated requests without handling the key."
            if credential.external_credential else "")
    message = (f"Named Credential {credential.name} points to {describe(dest)}, an LLM API outside the allowed "
               f"jurisdictions: Apex (callout:{credential.name}), Flow HTTP callouts and External Services "
               f"can send record data there (defined in {credential.location.path}).{auth}{_note(dest)}")
    step = Step(credential.location, f"Named Credential {credential.name} endpoint {credential.url}")
    return [_finding("APX-CFG-002", credential.location, message, dest, ((step,),),
                     f"NamedCredential {credential.name}")]


# --- APX-CFG-003: CSP Trusted Sites -------------------------------------------------------------


def _csp_trusted_site(site: CspTrustedSiteMeta,
                      classify_site: Callable[[str], tuple[Destination, tuple[Destination, ...]]]) -> list[Finding]:
    if not site.active or not site.connect_src or not site.url.strip():
        return []
    how = f"CSP Trusted Site {site.name}"
    dest, covered = classify_site(site.url)
    dest = _how(dest, how)
    # A wildcard that is no LLM host of its own is reported for the LLM hosts it covers.
    covered = tuple(_how(d, how) for d in covered if _reportable(d))
    if covered:
        dest = covered[0]
    elif not _reportable(dest):
        return []
    context = site.context or "LEX (the default)"
    scope = ("no isApplicableTo… element is true, so Salesforce applies every CSP directive"
             if site.all_directives_by_default else "isApplicableToConnectSrc is true")
    if covered:
        target = (f"any host under {site.url.strip()}, which includes LLM APIs outside the allowed "
                  f"jurisdictions: {_listing(describe(d) for d in covered)}")
    else:
        target = f"{describe(dest)}, an LLM API outside the allowed jurisdictions"
    message = (f"CSP Trusted Site {site.name} lets Lightning components in context {context} open connections "
               f"(fetch, XMLHttpRequest, WebSocket) to {target}. Browser code can send the record data it "
               f"displays there without any Apex callout ({scope}; defined in {site.location.path})."
               f"{_note(dest)}")
    step = Step(site.location, f"CSP Trusted Site {site.name} allows connect-src {site.url.strip()}")
    return [_finding("APX-CFG-003", site.location, message, dest, ((step,),), f"CspTrustedSite {site.name}",
                     confidence="medium" if covered else "high")]


# --- APX-CFG-004: External Services -------------------------------------------------------------


def _external_service(service: ExternalServiceMeta, metadata: ProjectMetadata,
                      classify: Classify) -> list[Finding]:
    if service.provider_type.lower() in IN_ORG_SERVICE_TYPES:
        return []
    operations = f" (operations {_listing(service.operations)})" if service.operations else ""
    credential = metadata.named_credential(service.named_credential) if service.named_credential else None
    context = f"ExternalServiceRegistration {service.name}"
    if credential is not None and credential.url.strip():
        dest = _how(classify(credential.url),
                    f"External Service {service.name} via Named Credential {credential.name}")
        if not _reportable(dest):
            return []
        message = (f"External Service {service.name}{operations} calls {describe(dest)} through Named Credential "
                   f"{credential.name}, an LLM API outside the allowed jurisdictions: every Flow or Apex action "
                   f"generated from this registration sends its inputs there (defined in "
                   f"{service.location.path}).{_note(dest)}")
        steps = (Step(credential.location, f"Named Credential {credential.name} endpoint {credential.url}"),
                 Step(service.location, f"External Service {service.name} calls through {credential.name}"))
        return [_finding("APX-CFG-004", service.location, message, dest, (steps,), context)]
    # The Named Credential is not in the project (or has no URL): the servers the registration
    # names are the only hint. Salesforce calls the credential's URL, so this is medium confidence.
    for server in service.servers:
        dest = _how(classify(server), f"External Service {service.name} schema server")
        if not _reportable(dest):
            continue
        missing = (f"Named Credential {service.named_credential} is not in the project"
                   if service.named_credential else "the registration names no Named Credential")
        message = (f"External Service {service.name}{operations} describes an API on {describe(dest)}, an LLM "
                   f"API outside the allowed jurisdictions; {missing}, so the host comes from the registration's "
                   f"own server list. Check where the credential points in the org (defined in "
                   f"{service.location.path}).{_note(dest)}")
        step = Step(service.location, f"External Service {service.name} names server {server}")
        return [_finding("APX-CFG-004", service.location, message, dest, ((step,),), context,
                         confidence="medium")]
    return []


# --- APX-CFG-005: Connected Apps ----------------------------------------------------------------


def _connected_app(app: ConnectedAppMeta, classify: Classify) -> list[Finding]:
    data = [s for s in app.scopes if s.lower() in DATA_SCOPES]
    long_lived = [s for s in app.scopes if s.lower() in LONG_LIVED_SCOPES]
    relaxation = app.ip_relaxation.upper()
    if not app.oauth or not data or relaxation == _IP_ENFORCED:
        return []
    if relaxation == "ENFORCE_RELAXREFRESH" and not long_lived:
        return []  # relaxed for refresh tokens only, and the app gets none
    callbacks = [_how(classify(url), f"Connected App {app.name} callback URL") for url in app.callback_urls]
    llm = [d for d in callbacks if d.provider]
    dest = (llm or callbacks or [Destination("", "", "", "", "", Verdict.UNKNOWN,
                                              f"Connected App {app.name}: no callback URL in the metadata")])[0]
    if relaxation:
        ip = f"{_IP_RELAXED.get(relaxation, 'relaxes IP restrictions')} (ipRelaxation {app.ip_relaxation})"
    else:
        ip = "sets no IP policy (no <oauthPolicy><ipRelaxation>), so the file does not enforce IP restrictions"
    extras = []
    if long_lived:
        lifetime = (" that never expire (refreshTokenPolicy infinite)"
                    if app.refresh_token_policy.lower() == "infinite" else "")
        extras.append(f"scope {_listing(long_lived)} issues refresh tokens{lifetime}")
    if app.client_credentials:
        extras.append("the client-credentials flow is on: whoever holds the consumer secret gets tokens "
                      "without any user signing in")
    if llm:
        extras.append(f"its callback URL is on {describe(llm[0])}, an LLM provider: the client is likely an "
                      f"AI service")
    tail = f" Also: {'; '.join(extras)}." if extras else ""
    message = (f"Connected App {app.name} grants API access to org data (scopes {_listing(data)}) and {ip}: an "
               f"external client, such as an AI service, can pull records from any network location "
               f"(defined in {app.location.path}).{tail}{_note(dest) if llm else ''}")
    steps = (Step(app.scopes_location, f"Connected App {app.name} grants scopes {_listing(app.scopes)}"),
             Step(app.ip_relaxation_location,
                  f"IP restrictions: {app.ip_relaxation or 'not set in the metadata'}"))
    if steps[0].location == steps[1].location:
        steps = steps[1:]
    return [_finding("APX-CFG-005", app.ip_relaxation_location, message, dest, (steps,),
                     f"ConnectedApp {app.name}", confidence="high" if relaxation else "medium")]


# --- APX-CFG-006 / 007: Workflow outbound messages ----------------------------------------------


def _outbound_message(message: OutboundMessageMeta, classify: Classify, catalog: FieldCatalog) -> list[Finding]:
    if not message.url.strip():
        return []
    label = f"{message.object}.{message.name}"
    dest = _how(classify(message.url), f"outbound message {label}")
    if dest.verdict in (Verdict.IN_ORG, Verdict.SOVEREIGN):
        return []
    classified: dict[FieldRef, tuple[FieldClass, Location]] = {}
    for entry in message.fields:
        ref = FieldRef(message.object, entry.name)
        if ref not in classified:
            classified[ref] = (catalog.classify(ref), entry.location)
    ordered = sorted(classified.items(), key=lambda item: (RANK[item[1][0].sensitivity], str(item[0])))
    sensitive = [ref for ref, (klass, _) in ordered if klass.sensitivity == Sensitivity.SENSITIVE]
    if _reportable(dest):
        rule = "APX-CFG-006"
        level = "" if sensitive or message.include_session_id else "warning"
        why = "an LLM API outside the allowed jurisdictions"
    elif sensitive or message.include_session_id:
        rule, level, why = "APX-CFG-007", "", "a host outside the org"
    else:
        return []
    sink = Step(message.url_location, f"sent by outbound message {label} to {describe(dest)}")
    paths = tuple((Step(where, f"{ref} ({klass.category}, {klass.sensitivity.value}) listed in outbound "
                                f"message {label}"), sink)
                  for ref, (klass, where) in ordered if klass.sensitivity != Sensitivity.NON_SENSITIVE)
    session = (" It also sends a session id (includeSessionId true): the receiver can call the org's API as "
               "the integration user and read any record that user can." if message.include_session_id else "")
    what = _fields_text(ordered) or "no record fields"
    message_text = (f"Outbound message {label} sends {what} to {describe(dest)}, {why}, whenever its workflow "
                    f"rule or flow fires (defined in {message.location.path}).{session}{_note(dest)}")
    return [dataclasses.replace(
        _finding(rule, message.url_location, message_text, dest, paths or ((sink,),), f"OutboundMessage {label}"),
        fields=tuple((ref, klass) for ref, (klass, _) in ordered), level=level)]


def _fields_text(ordered: list[tuple[FieldRef, tuple[FieldClass, Location]]]) -> str:
    names = [f"{ref} ({klass.category})" if klass.sensitivity != Sensitivity.NON_SENSITIVE else str(ref)
             for ref, (klass, _) in ordered]
    return _listing(names)


# --- APX-CFG-008: Data Loader extract jobs ------------------------------------------------------


def dataloader_fields(job: DataLoaderJob, catalog: FieldCatalog) -> list[tuple[FieldRef, FieldClass, bool]]:
    """(field, classification, whole record) of every field an extract job selects, most sensitive
    first; FIELDS(ALL|STANDARD|CUSTOM) is the whole record of its object."""
    out: dict[FieldRef, tuple[FieldClass, bool]] = {}
    for written in job.soql_fields:
        path = tuple(written.split("."))
        if path[-1].upper().startswith("FIELDS("):
            obj = catalog.resolve(job.soql_object, path[:-1] + ("*",)).object if len(path) > 1 else job.soql_object
            ref, klass, whole = FieldRef(obj, "*"), catalog.classify_object(obj), True
        else:
            ref = catalog.resolve(job.soql_object, tuple(p.lower() for p in path))
            if ref.field == ref.field.lower():  # not in the catalog or the org: spell it as the SOQL does
                ref = FieldRef(ref.object, path[-1])
            klass, whole = catalog.classify(ref), False
        out.setdefault(ref, (klass, whole))
    return sorted(((ref, klass, whole) for ref, (klass, whole) in out.items()),
                  key=lambda item: (RANK[item[1].sensitivity], str(item[0])))


_JDBC_HOST = re.compile(r"^jdbc:[^@/]*?(?://|@(?://)?)(?:[^@/]*@)?\[?([A-Za-z0-9._-]+)")


def dataloader_destination(job: DataLoaderJob, metadata: ProjectMetadata, classify: Classify) -> Destination:
    """Where an extract job writes: its CSV file, or the database of its database-conf.xml bean."""
    how = f"Data Loader process {job.process} (dataAccess.type {job.data_access_type or 'not set'})"
    if not job.to_database:
        where = job.data_access_name or "a file that dataAccess.name does not name"
        return Destination(job.data_access_name, "", "", "", "", Verdict.NOT_LLM, how,
                           note=f"a CSV file ({where}) on the machine that runs Data Loader")
    database = metadata.dataloader_database(job)
    url = database.url if database is not None else ""
    host = _JDBC_HOST.match(url)
    if host is not None:
        dest = classify(f"https://{host.group(1)}")
        return dataclasses.replace(dest, url=url, how=how,
                                   note=f"database bean {job.data_access_name} of database-conf.xml")
    if database is None:
        note = f"database bean {job.data_access_name} is not in the project"
    else:
        note = f"database bean {job.data_access_name}" + (f": {url}" if url else " names no data source URL")
    return Destination(url or f"database bean {job.data_access_name}", "", "", "", "", Verdict.NOT_LLM, how,
                       note=note)


def _dataloader_extract(job: DataLoaderJob, metadata: ProjectMetadata, classify: Classify,
                        catalog: FieldCatalog) -> list[Finding]:
    if not job.extract:
        return []
    fields = dataloader_fields(job, catalog)
    sensitive = [(ref, klass) for ref, klass, _ in fields if klass.sensitivity == Sensitivity.SENSITIVE]
    dest = dataloader_destination(job, metadata, classify)
    if not sensitive or dest.verdict in (Verdict.SOVEREIGN, Verdict.IN_ORG):
        return []
    if job.to_database:
        database = metadata.dataloader_database(job)
        known = f" ({database.url})" if database is not None and database.url else \
            " (no database-conf.xml bean of that name in the project)" if database is None else ""
        target = f"the database of bean {job.data_access_name or '(dataAccess.name is not set)'}{known}"
    else:
        target = f"the CSV file {job.data_access_name}" if job.data_access_name else \
            "a CSV file (dataAccess.name is not set)"
    def named(ref: FieldRef) -> str:
        return f"every field of {ref.object}" if ref.field == "*" else str(ref)

    what = _listing(f"{named(ref)} ({klass.category})" if klass.sensitivity != Sensitivity.NON_SENSITIVE
                    else named(ref) for ref, klass, _ in fields)
    deleted = " (deleted and archived ones too)" if job.operation.lower() == "extract_all" else ""
    org = f" in the org at {job.endpoint}" if job.endpoint else ""
    message = (f"Data Loader process {job.name} ({job.operation}) exports {what} of every {job.soql_object} record its "
               f"query matches{org}{deleted} into {target} each time it runs (defined in "
               f"{job.location.path}). The copy is outside Salesforce's sharing, field-level security, "
               f"encryption and audit trail.")
    sink = f"written by Data Loader process {job.name} to {target}"
    paths = tuple((Step(job.soql_location, f"{named(ref)} ({klass.category}, {klass.sensitivity.value}) selected by "
                                           f"sfdc.extractionSOQL and {sink}"),)
                  for ref, klass in sensitive)
    return [dataclasses.replace(
        _finding("APX-CFG-008", job.soql_location, message, dest, paths, f"DataLoaderProcess {job.process}"),
        fields=tuple((ref, klass) for ref, klass, _ in fields))]


# --- shared -------------------------------------------------------------------------------------


def _finding(rule: str, location: Location, message: str, dest: Destination,
             paths: tuple[tuple[Step, ...], ...], context: str, confidence: str = "high") -> Finding:
    """`context` names the metadata item ("NamedCredential OpenAI"): the fingerprint keeps two
    findings of one file (two outbound messages of a workflow) apart."""
    return Finding(rule_id=rule, location=location, message=message, destination=dest, paths=paths,
                   confidence=confidence, extra=(("context", context),))


def _how(dest: Destination, how: str) -> Destination:
    return dataclasses.replace(dest, how=how)


def _note(dest: Destination) -> str:
    """The registry's caveat as a closing sentence ("Global endpoint: routes to any region ...")."""
    note = dest.note.strip().rstrip(".")
    return f" {note[0].upper()}{note[1:]}." if note else ""


def _listing(names: Iterable[str]) -> str:
    names = list(names)
    more = len(names) - _LIST_LIMIT
    return ", ".join(names[:_LIST_LIMIT]) + (f" and {more} more" if more > 0 else "")
