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
  Einstein generative AI settings let Salesforce-hosted models
    process outside the org's region (region fallback on, or a
    provider on that serves some models only in the US)              APX-CFG-009 (warning)
  External Client App: API scopes, IP restrictions bypassed and no
    trusted IP ranges                                                APX-CFG-010 (warning)
  External Client App global OAuth settings with a consumer secret
    committed to the repository                                      APX-CFG-011 (error)

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
from dataclasses import dataclass

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
    EcaGlobalOauthMeta,
    EcaOauthSettingsMeta,
    EinsteinSettingsMeta,
    ExternalServiceMeta,
    OutboundMessageMeta,
    ProjectMetadata,
    SettingFlag,
)
from apexscan.pipeline.heroku import heroku_findings
from apexscan.salesforce import agent_models as A
from apexscan.salesforce import hosts
from apexscan.salesforce.findings import RANK, describe
from apexscan.salesforce.policy import Policy
from apexscan.salesforce.sensitivity import FieldCatalog

__all__ = [
    "DATA_SCOPES",
    "IN_ORG_SERVICE_TYPES",
    "LONG_LIVED_SCOPES",
    "EinsteinRouting",
    "config_findings",
    "credential_destination",
    "dataloader_destination",
    "dataloader_fields",
    "einstein_routing",
]

# Connected App OAuth scopes that let the client read org data through an API (Metadata API
# ConnectedAppOauthAccessScope values): REST/SOAP/Bulk (Api), everything (Full), Connect REST
# (Chatter), CRM Analytics (Wave), Data Cloud queries and profiles (CDPQuery, CDPProfile).
DATA_SCOPES = frozenset({"api", "full", "chatter", "wave", "cdpquery", "cdpprofile"})
# External Client App scope tokens (commaSeparatedOauthScopes) with the same reach, plus MCP: an MCP
# client (an AI assistant) reading records through the org's MCP server tools.
ECA_DATA_SCOPES = DATA_SCOPES | {"mcp", "cdpqueryapi", "cdpprofileapi", "sfapiplatform"}
# ipRelaxationPolicyType values that let tokens be used from any network location.
ECA_IP_RELAXED = {"bypass": "bypasses IP restrictions", "bypass_2factor": "bypasses IP restrictions with "
                  "two-factor authentication", "enforce_relaxrefresh": "relaxes IP restrictions for refresh tokens"}
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
        findings.extend(_named_credential(credential, lambda url, c=credential: credential_destination(
            c, metadata, classify, policy, registry)))
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
    routing = einstein_routing(metadata)
    if routing is not None:
        findings.extend(_einstein_settings(routing, policy, registry))
    for settings in metadata.eca_oauth_settings.values():
        findings.extend(_external_client_app(settings, metadata, classify))
    for global_settings in metadata.eca_global_oauth.values():
        findings.extend(_eca_secret(global_settings))
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


def credential_destination(credential: NamedCredentialMeta, metadata: ProjectMetadata, classify: Classify,
                           policy: Policy, registry: hosts.Registry) -> Destination:
    """Where a Named Credential's URL leads, with the region of the Private Connect outbound
    network connection it is bound to."""
    dest = classify(credential.url)
    if not credential.network_connection:
        return dest
    connection = metadata.network_connection(credential.network_connection)
    if connection is None:
        return dataclasses.replace(dest, note=_join_note(dest.note, f"sent through outbound network connection "
                                                                    f"{credential.network_connection}, which is not in this project"))
    return hosts.with_network_region(dest, connection.region,
                                     f"Private Connect outbound network connection {connection.name}", policy, registry)


def _join_note(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


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


# --- APX-CFG-009: Einstein generative AI settings ------------------------------------------------


@dataclass(frozen=True, slots=True)
class EinsteinRouting:
    """What the org's EinsteinGptSettings (and EinsteinAISettings) say about where Salesforce-hosted
    models run."""

    settings: EinsteinSettingsMeta
    platform_off: bool  # enableEinsteinGptPlatform false: no generative AI at all
    enabled: tuple[A.EinsteinProvider, ...]  # providers left on
    disabled: tuple[str, ...]  # providers turned off
    fallback_flag: SettingFlag | None  # disableAIProviderRegionFallback, when the file sets it
    pii_masking: str  # "on", "off", or "" when EinsteinAISettings is not in the project

    @property
    def fallback_disabled(self) -> bool:
        return self.fallback_flag is not None and self.fallback_flag.value.lower() == "true"

    def note(self) -> str:
        """One sentence for the Salesforce-hosted destinations of the inventory and the findings."""
        where = self.settings.location.path
        if self.platform_off:
            return f"Einstein settings ({where}): generative AI is off (enableEinsteinGptPlatform false)."
        on = ", ".join(p.provider for p in self.enabled) or "none"
        off = f"; turned off: {', '.join(self.disabled)}" if self.disabled else ""
        fallback = "disabled" if self.fallback_disabled else \
            "allowed (disableAIProviderRegionFallback " + ("false)" if self.fallback_flag is not None else "not set)")
        masking = {"on": "; Trust Layer data masking on (never for agents)", "off": "; Trust Layer data masking off",
                   "": ""}[self.pii_masking]
        return f"Einstein settings ({where}): providers on: {on}{off}; region fallback {fallback}{masking}."


def einstein_routing(metadata: ProjectMetadata) -> EinsteinRouting | None:
    """The org's Einstein generative AI routing settings, or None when EinsteinGptSettings is not in
    the project (then nothing is known about them)."""
    settings = metadata.einstein_settings.get("einsteingptsettings")
    if settings is None:
        return None
    platform = settings.flag(A.EINSTEIN_PLATFORM)
    enabled, disabled = [], []
    for provider in A.EINSTEIN_PROVIDERS:
        off = settings.flag(provider.disable)
        on = settings.flag(provider.enable)
        if (off is not None and off.value.lower() == "true") or (on is not None and on.value.lower() == "false"):
            disabled.append(provider.provider)
        else:
            enabled.append(provider)
    ai = metadata.einstein_settings.get("einsteinaisettings")
    masking = ai.flag(A.EINSTEIN_PII_MASKING) if ai is not None else None
    return EinsteinRouting(
        settings=settings, platform_off=platform is not None and platform.value.lower() == "false",
        enabled=tuple(enabled), disabled=tuple(disabled), fallback_flag=settings.flag(A.EINSTEIN_REGION_FALLBACK),
        pii_masking="" if masking is None else ("on" if masking.value.lower() == "true" else "off"))


def _einstein_settings(routing: EinsteinRouting, policy: Policy, registry: hosts.Registry) -> list[Finding]:
    if routing.platform_off or A.EINSTEIN_FALLBACK_REGION.upper() in registry.accepted(policy.allowed_regions):
        return []
    falling_back = [p for p in routing.enabled if p.fallback] if not routing.fallback_disabled else []
    leaving = [p for p in routing.enabled if p.leaves_region]
    if not falling_back and not leaving:
        return []
    reasons = []
    if falling_back:
        setting = "is false" if routing.fallback_flag is not None else "is not set (its default is false)"
        reasons.append(f"requests to {_listing(p.provider for p in falling_back)} fall back outside the model "
                       f"endpoint's region, to the {A.EINSTEIN_FALLBACK_REGION}, when no model is available there "
                       f"(disableAIProviderRegionFallback {setting})")
    for provider in leaving:
        reasons.append(f"{provider.provider} is on ({provider.disable} is not true): {provider.note}")
    settings = routing.settings
    at = routing.fallback_flag.location if falling_back and routing.fallback_flag is not None else next(
        (f.location for p in leaving for f in (settings.flag(p.disable),) if f is not None), settings.location)
    dest = Destination(settings.location.path, "", "Salesforce-hosted models (Einstein generative AI)", "US",
                       A.EINSTEIN_FALLBACK_REGION, Verdict.FOREIGN, "EinsteinGptSettings",
                       note=f"allowed regions: {', '.join(policy.allowed_regions) or 'none'}")
    message = (f"The Einstein generative AI settings let Salesforce-hosted models process prompts outside the org's "
               f"region: {'; '.join(reasons)}. Prompt templates, Agentforce agents and Models API calls can then be "
               f"processed in the {A.EINSTEIN_FALLBACK_REGION}, which the policy does not allow (allowed regions: "
               f"{', '.join(policy.allowed_regions) or 'none'}; defined in {settings.location.path}). "
               f"{routing.note()}")
    step = Step(at, f"EinsteinGptSettings: {'; '.join(reasons)}")
    confidence = "high" if (routing.fallback_flag is not None or not falling_back) else "medium"
    return [_finding("APX-CFG-009", at, message, dest, ((step,),), "EinsteinGptSettings EinsteinGpt",
                     confidence=confidence)]


# --- APX-CFG-010 / 011: External Client Apps -----------------------------------------------------


def _external_client_app(settings: EcaOauthSettingsMeta, metadata: ProjectMetadata,
                         classify: Classify) -> list[Finding]:
    data = [s for s in settings.scopes if s.lower() in ECA_DATA_SCOPES]
    policy = metadata.eca_oauth_policies.get(settings.app.lower())
    if not data or policy is None or settings.trusted_ip_ranges:
        return []  # without a policy file the org's default policy enforces IP restrictions
    relaxation = policy.ip_relaxation.lower()
    long_lived = [s for s in settings.scopes if s.lower() in LONG_LIVED_SCOPES]
    if relaxation not in ECA_IP_RELAXED or (relaxation == "enforce_relaxrefresh" and not long_lived):
        return []
    global_settings = metadata.eca_global_oauth.get(settings.app.lower())
    callbacks = [_how(classify(url), f"External Client App {settings.app} callback URL")
                 for url in (global_settings.callback_urls if global_settings is not None else ())]
    llm = [d for d in callbacks if d.provider]
    dest = (llm or callbacks or [Destination("", "", "", "", "", Verdict.UNKNOWN,
                                              f"External Client App {settings.app}: no callback URL in the metadata")])[0]
    extras = []
    if long_lived:
        lifetime = " that never expire (refreshTokenPolicyType Infinite)" if policy.refresh_token_policy.lower() \
            == "infinite" else ""
        extras.append(f"scope {_listing(long_lived)} issues refresh tokens{lifetime}")
    if policy.client_credentials or (global_settings is not None and global_settings.client_credentials):
        extras.append("the client-credentials flow is on: whoever holds the consumer secret gets tokens without any "
                      "user signing in")
    if llm:
        extras.append(f"its callback URL is on {describe(llm[0])}, an LLM provider: the client is likely an AI service")
    tail = f" Also: {'; '.join(extras)}." if extras else ""
    message = (f"External Client App {settings.app} grants API access to org data (scopes {_listing(data)}) and its "
               f"OAuth policy {ECA_IP_RELAXED[relaxation]} (ipRelaxationPolicyType {policy.ip_relaxation}) with no "
               f"trusted IP ranges in its OAuth settings: an external client, such as an AI service, can pull records "
               f"from any network location (defined in {policy.location.path} and {settings.location.path}).{tail}"
               f"{_note(dest) if llm else ''}")
    steps = (Step(settings.scopes_location, f"External Client App {settings.app} grants scopes {_listing(settings.scopes)}"),
             Step(policy.ip_relaxation_location, f"IP restrictions: {policy.ip_relaxation}; no trusted IP ranges"))
    return [_finding("APX-CFG-010", policy.ip_relaxation_location, message, dest, (steps,),
                     f"ExternalClientApp {settings.app}")]


def _eca_secret(settings: EcaGlobalOauthMeta) -> list[Finding]:
    if not settings.has_consumer_secret:
        return []
    dest = Destination("", "", "", "", "", Verdict.UNKNOWN, f"External Client App {settings.app} global OAuth settings")
    message = (f"The global OAuth settings of External Client App {settings.app} hold its consumer secret, committed "
               f"in {settings.location.path}: anyone who can read the repository (or its history) can obtain tokens "
               f"as the app{' without a user, through the client-credentials flow' if settings.client_credentials else ''}. "
               f"Salesforce keeps these settings out of source control for this reason: remove the file, add "
               f"extlClntAppGlobalOauthSets to .forceignore, and rotate the secret (the value is not shown here).")
    step = Step(settings.secret_location, f"consumerSecret of External Client App {settings.app} committed")
    return [_finding("APX-CFG-011", settings.secret_location, message, dest, ((step,),),
                     f"ExternalClientApp {settings.app}")]


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
