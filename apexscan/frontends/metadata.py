"""Metadata XML -> facts: Named Credentials, Remote Sites, Custom Labels, Custom Metadata records,
custom fields and the custom-object facts later stages need, plus the admin configuration that
opens channels out of the org: CSP Trusted Sites, Connected Apps, External Service registrations,
Workflow outbound messages, External Client Apps (the app, its OAuth settings, policies and global
OAuth settings), Private Connect outbound network connections, the Einstein generative AI settings
(``settings/EinsteinGpt.settings-meta.xml``, ``EinsteinAI``), and Data Loader command-line jobs
(``process-conf.xml`` and the ``database-conf.xml`` next to it, which are never deployed and so may
sit in any folder).

Files are recognised by suffix, in source format (``Foo.namedCredential-meta.xml``) and in mdapi
format (``namedCredentials/Foo.namedCredential``; those must sit in their conventional folder, so
that a ``README.md`` is never taken for a custom-metadata record). Data Loader files are recognised
by their exact names (METADATA_FILE_NAMES). Any other file gives empty facts and no diagnostic. A
file that cannot be parsed gives empty facts and one Diagnostic.

``merge`` folds the facts of every file into ``ProjectMetadata``: read-only, case-insensitive
lookup tables (keys lower-cased, values keep the names as the files spell them).

Secrets are never read: a Connected App's consumer key, consumer secret and certificates (and its
contact details), an External Client App's consumer key and secret (only whether the global OAuth
settings hold a secret, and where), and Data Loader's user names, (encrypted) passwords and key
files, are not part of any fact, so no later stage can echo them.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from apexscan.engine.limits import LIMIT
from apexscan.engine.model import CustomFieldMeta, Diagnostic, Location, NamedCredentialMeta, RemoteSiteMeta
from apexscan.frontends.xmlsafe import Element, XmlError, parse

__all__ = [
    "METADATA_FILE_NAMES",
    "METADATA_FILE_SUFFIXES",
    "CmdtRecordMeta",
    "CmdtValue",
    "ConfigValueMeta",
    "ConnectedAppMeta",
    "ConnectorConfigMeta",
    "ConnectorUseMeta",
    "CspTrustedSiteMeta",
    "CustomObjectMeta",
    "DataLoaderDatabase",
    "DataLoaderJob",
    "EcaGlobalOauthMeta",
    "EcaOauthPolicyMeta",
    "EcaOauthSettingsMeta",
    "EinsteinSettingsMeta",
    "ExternalClientAppMeta",
    "ExternalServiceMeta",
    "NetworkConnectionMeta",
    "InboundMeta",
    "HerokuAppMeta",
    "HerokuConnectMapping",
    "LabelMeta",
    "MetadataFacts",
    "OutboundMessageMeta",
    "ProjectMetadata",
    "RequestMeta",
    "UnitMeta",
    "identity_digest",
    "merge",
    "parse_metadata_file",
    "soql_fields",
    "soql_select_items",
    "soql_select_list",
]


# --- facts -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelMeta:
    name: str  # <fullName>
    value: str
    location: Location  # the <labels> entry (or the <CustomLabel> root of a decomposed label)


@dataclass(frozen=True, slots=True)
class CmdtValue:
    field: str  # Endpoint__c
    value: str | None  # None for xsi:nil="true" (or a <values> entry without <value>)
    location: Location  # the <values> entry


@dataclass(frozen=True, slots=True)
class CmdtRecordMeta:
    """customMetadata/<Type>.<Record>.md-meta.xml"""

    type: str  # the type as the file names it, without __mdt: "AI_Config"
    record: str  # the record's DeveloperName: "OpenAI"
    values: tuple[CmdtValue, ...]
    location: Location  # the <CustomMetadata> root


@dataclass(frozen=True, slots=True)
class CustomObjectMeta:
    name: str  # "Account", "Loan__c", "Order_Event__e"
    platform_event: bool  # name ends with __e
    custom_settings_type: str  # "Hierarchy" or "List" for a custom setting, else ""
    event_type: str  # platform events: "HighVolume", "StandardVolume"; else ""
    location: Location


# CSP directives a trusted site can be allowed for: <isApplicableTo...> element -> directive.
CSP_DIRECTIVES = (
    ("isApplicableToConnectSrc", "connect-src"),  # fetch, XMLHttpRequest, WebSocket from LWC/Aura
    ("isApplicableToFrameSrc", "frame-src"),
    ("isApplicableToImgSrc", "img-src"),
    ("isApplicableToMediaSrc", "media-src"),
    ("isApplicableToFontSrc", "font-src"),
    ("isApplicableToStyleSrc", "style-src"),
)


@dataclass(frozen=True, slots=True)
class CspTrustedSiteMeta:
    """cspTrustedSites/<Name>.cspTrustedSite-meta.xml"""

    name: str  # the file stem
    url: str  # <endpointUrl>, may hold a wildcard host ("https://*.example.com")
    active: bool  # <isActive>; true when the element is missing
    context: str  # <context>: All, LEX, Communities, VisualForce, FieldServiceMobileExtension; "" = not set
    directives: tuple[str, ...]  # effective CSP directives, in CSP_DIRECTIVES order ("connect-src", ...)
    # True when no <isApplicableTo...> element is true: Salesforce then applies every directive
    # (documented for API 50+; files from before API 48 have no such elements at all).
    all_directives_by_default: bool
    location: Location  # the <endpointUrl> element (the root when it is missing)

    @property
    def connect_src(self) -> bool:
        return "connect-src" in self.directives


@dataclass(frozen=True, slots=True)
class ConnectedAppMeta:
    """connectedApps/<Name>.connectedApp-meta.xml: who may pull data through the API, and how.

    Deliberately without consumerKey, consumerSecret, certificate and contact details: the consumer
    key is kept only as its SHA-256, which joins the app to a Mule app's or a service's client
    configured with the same key (the estate inventory), without the key itself in any report."""

    name: str  # the file stem
    oauth: bool  # the file has an <oauthConfig>
    scopes: tuple[str, ...]  # <oauthConfig><scopes>, as written ("Api", "Full", "RefreshToken", ...)
    callback_urls: tuple[str, ...]  # every <callbackUrl> (repeated elements or one newline-separated value)
    client_credentials: bool  # <isClientCredentialEnabled>true: tokens for a server, without a user
    ip_relaxation: str  # <oauthPolicy><ipRelaxation>: ENFORCE, BYPASS, ENFORCE_ACTIVATED_DEVICES; "" = not set
    refresh_token_policy: str  # <oauthPolicy><refreshTokenPolicy>: infinite, zero, specific_lifetime, ...; ""
    location: Location  # the <oauthConfig> element (the root when there is none)
    scopes_location: Location  # the first <scopes> element (else `location`)
    ip_relaxation_location: Location  # the <ipRelaxation> element (else the <oauthPolicy>, else `location`)
    # identity_digest() of <consumerKey>: joins the app with the integrations that connect as it
    # (a Mule app's Salesforce config clientId) without keeping the key itself; "" when none
    consumer_key_digest: str = ""


@dataclass(frozen=True, slots=True)
class ExternalServiceMeta:
    """externalServiceRegistrations/<Name>.externalServiceRegistration-meta.xml"""

    name: str  # the file stem
    named_credential: str  # <namedCredential> or <namedCredentialReference>; "" when neither is set
    provider_type: str  # <registrationProviderType>: Custom, SchemaInferred, MuleSoft, ApexRest, ...; ""
    # Server URLs the registration itself names: OpenAPI servers[].url, Swagger host + basePath, and
    # <serviceBinding> host + basePath. Callouts go to the Named Credential's URL, never to these.
    servers: tuple[str, ...]
    operations: tuple[str, ...]  # names of the active <operations>
    location: Location  # the Named Credential element (the root when there is none)


@dataclass(frozen=True, slots=True)
class OutboundField:
    name: str  # as written in <fields>: "Email", "SSN__c"
    location: Location  # the <fields> element


@dataclass(frozen=True, slots=True)
class OutboundMessageMeta:
    """An <outboundMessages> entry of workflows/<Object>.workflow-meta.xml, or a decomposed
    workflows/<Object>/workflowOutboundMessages/<Name>.workflowOutboundMessage-meta.xml."""

    object: str  # the workflow's object: "Contact", "Loan__c"
    name: str  # <fullName>
    url: str  # <endpointUrl>
    fields: tuple[OutboundField, ...]  # exactly the fields the SOAP message carries
    include_session_id: bool  # <includeSessionId>true: a session id of the integration user goes too
    location: Location  # the <outboundMessages> element (the root of a decomposed file)
    url_location: Location  # the <endpointUrl> element (else `location`)


# Data Loader operations that read records out of the org (extract_all includes deleted and archived ones).
EXTRACT_OPERATIONS = ("extract", "extract_all")


@dataclass(frozen=True, slots=True)
class DataLoaderJob:
    """A Data Loader command-line process: a ``ProcessRunner`` <bean> of process-conf.xml and the
    keys of its ``configOverrideMap``. Never holds sfdc.username, sfdc.password or key files."""

    name: str  # the bean id: the process name given to process.bat / process.sh
    folder: str  # the project-relative folder of process-conf.xml ("" at the root); its
    #              database-conf.xml, which dataAccess.name may name a bean of, sits in the same folder
    operation: str  # process.operation as written: extract, extract_all, insert, upsert, ...; ""
    entity: str  # sfdc.entity
    soql: str  # sfdc.extractionSOQL, whitespace collapsed; ""
    soql_object: str  # the FROM object of the SOQL ("" when the SOQL cannot be read)
    soql_fields: tuple[str, ...]  # the select list as written ("Name", "Owner.Email", "FIELDS(ALL)")
    data_access_type: str  # dataAccess.type: csvWrite, databaseWrite, csvRead, databaseRead; ""
    data_access_name: str  # dataAccess.name: the CSV file, or the id of a database-conf.xml bean
    endpoint: str  # sfdc.endpoint: the login URL of the org the process connects to; ""
    location: Location  # the <bean>
    soql_location: Location  # the sfdc.extractionSOQL <entry> (else `location`)
    target_location: Location  # the dataAccess.name <entry> (else `location`)

    @property
    def process(self) -> str:
        """The name users see: the bean id, qualified by its folder ("dataloader/accountExtract")."""
        return f"{self.folder}/{self.name}" if self.folder else self.name

    @property
    def extract(self) -> bool:
        return self.operation.lower() in EXTRACT_OPERATIONS

    @property
    def to_database(self) -> bool:
        return self.data_access_type.lower().startswith("database")


@dataclass(frozen=True, slots=True)
class DataLoaderDatabase:
    """A ``DatabaseConfig`` <bean> of a Data Loader database-conf.xml: what ``dataAccess.name``
    names for databaseRead/databaseWrite. Never holds the user name or password of its data source."""

    name: str  # the bean id
    folder: str  # as DataLoaderJob.folder
    url: str  # the JDBC URL of its data source (its `dataSource` bean's `url` property); "" when not found
    location: Location  # the <bean>


@dataclass(frozen=True, slots=True)
class ConfigValueMeta:
    """One value a configuration file gives a key: a Mule property file's `http.host`, an
    `.env.example`'s `OPENAI_BASE_URL`, an app.json `env` entry. Code reads it through a
    ("config", path, key, default, what) string part (engine/facts.py)."""

    scope: str  # project-relative folder of the deployable unit it configures ("" = the project root)
    key: str  # as written (keys are case-sensitive: Mule properties, environment variables)
    value: str
    origin: str  # what the file is, for messages: "Mule property file src/main/resources/dev.yaml"
    confidence: str  # "high": the unit's real configuration; "low": an example or template of it
    location: Location


# --- integration units: deployable apps beside the org (Mule apps), and how they connect -----------
# Their code is lowered to FileFacts like any other language; these facts are what rules and the
# inventory need about the unit as a whole. StrExpr values (engine/facts.py) are resolved like
# endpoints, through the unit's configuration values.


@dataclass(frozen=True, slots=True)
class UnitMeta:
    """A deployable unit found in the repository (a Mule app), and where it is deployed."""

    scope: str  # its project-relative folder
    kind: str  # "Mule app"
    name: str  # its artifact name (pom.xml artifactId), else the folder name
    location: Location
    deployment: str = ""  # "CloudHub", "CloudHub 2", "Runtime Fabric"; "" when the repository does not say
    region: str = ""  # the deployment region or target as written ("us-east-2", "Cloudhub-EU-Central-1")
    region_code: str = ""  # the cloud region code it means ("eu-central-1"); "" when it names none
    region_location: Location | None = None


@dataclass(frozen=True, slots=True)
class ConnectorConfigMeta:
    """A named connection a unit declares: an AI connector, HTTP requester, Salesforce or MCP client
    configuration. Operations use it by name (`config-ref`)."""

    scope: str
    name: str  # as operations refer to it
    role: str  # "llm", "http", "salesforce", "mcp-client"
    what: str  # for messages: "ms-inference:text-generation-config (openai-connection)"
    endpoint: tuple  # StrExpr of where it sends (a URL, or ("model", ...) for Salesforce models); () when none
    model: tuple  # StrExpr of the model it names; () when none
    identity: tuple  # Salesforce: StrExpr of the client id / consumer key it connects as (never printed)
    user: tuple  # Salesforce: StrExpr of the user name it connects as; () when none
    location: Location


@dataclass(frozen=True, slots=True)
class ConnectorUseMeta:
    """An operation that uses a named connection (`config-ref`)."""

    scope: str
    name: str
    location: Location


@dataclass(frozen=True, slots=True)
class InboundMeta:
    """Where a unit receives data: an HTTP listener (maybe a Salesforce outbound message), an MCP
    tool, a Salesforce event channel."""

    scope: str
    kind: str  # "http-listener", "mcp-tool", "salesforce-channel"
    name: str  # the listener path, tool name or channel as written
    path: tuple  # http-listener: StrExpr of the full path (the config's basePath + path)
    port: tuple  # http-listener: StrExpr of the port
    function: str  # id of the function (flow) it starts
    node: str  # where an outbound message's record lands ("" when the flow reads none)
    location: Location


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """A request a unit sends whose answer becomes data in the unit (an HTTP request, an MCP
    client's tool calls): when another unit of the repository serves the URL, what that unit
    returns arrives at `result`."""

    scope: str
    kind: str  # "http", "mcp-client"
    url: tuple  # StrExpr of the URL
    result: str  # the node that receives the answer
    location: Location


@dataclass(frozen=True, slots=True)
class ExternalClientAppMeta:
    """externalClientApps/<Name>.eca-meta.xml: the app header (no contact details kept)."""

    name: str  # the file stem: what the other ECA files name in <externalClientApplication>
    label: str
    distribution_state: str  # Local, Packaged; ""
    location: Location


@dataclass(frozen=True, slots=True)
class EcaOauthSettingsMeta:
    """extlClntAppOauthSettings/<Name>.ecaOauth-meta.xml: the scopes an External Client App gets."""

    name: str  # the file stem
    app: str  # <externalClientApplication>
    scopes: tuple[str, ...]  # <commaSeparatedOauthScopes>, split, as written ("Api", "RefreshToken")
    trusted_ip_ranges: int  # <trustedIpRanges> entries
    location: Location  # the root
    scopes_location: Location  # the <commaSeparatedOauthScopes> element (else the root)


@dataclass(frozen=True, slots=True)
class EcaOauthPolicyMeta:
    """extlClntAppOauthPolicies/<Name>.ecaOauthPlcy-meta.xml: the admin policies of an External Client App."""

    name: str
    app: str  # <externalClientApplication>
    ip_relaxation: str  # <ipRelaxationPolicyType>: Enforce, Bypass, Bypass_2factor, Enforce_RelaxRefresh; ""
    refresh_token_policy: str  # <refreshTokenPolicyType>: Infinite, Zero, SpecificLifetime, ...; ""
    client_credentials: bool  # <isClientCredentialsFlowEnabled>
    location: Location  # the root
    ip_relaxation_location: Location  # the <ipRelaxationPolicyType> element (else the root)


@dataclass(frozen=True, slots=True)
class EcaGlobalOauthMeta:
    """extlClntAppGlobalOauthSets/<Name>.ecaGlblOauth-meta.xml: the app's global OAuth settings.
    Only whether a consumer secret is committed is kept, never the secret or the key."""

    name: str
    app: str  # <externalClientApplication>
    has_consumer_secret: bool  # a non-empty <consumerSecret>
    callback_urls: tuple[str, ...]  # <callbackUrl>, one or more (newline or comma separated)
    client_credentials: bool  # <isClientCredentialsFlowEnabled>
    location: Location  # the root
    secret_location: Location  # the <consumerSecret> element (else the root)


@dataclass(frozen=True, slots=True)
class NetworkConnectionMeta:
    """outboundNetworkConnections/<Name>.outboundNetworkConnection-meta.xml (Private Connect)."""

    name: str  # the file stem: what a Named Credential names
    connection_type: str  # AwsPrivateLink
    region: str  # the Region property ("eu-central-1"); "" when not set
    endpoint_service: str  # the AwsVpcEndpointServiceName property; ""
    active: bool  # <isActive>; true when the element is missing
    status: str  # <status>: Ready, PendingAcceptance, ...; ""
    location: Location  # the Region property's value (else the root)


@dataclass(frozen=True, slots=True)
class SettingFlag:
    name: str  # the element, as written ("disableAIProviderRegionFallback")
    value: str  # its text, stripped ("true", "false")
    location: Location


@dataclass(frozen=True, slots=True)
class EinsteinSettingsMeta:
    """settings/EinsteinGpt.settings-meta.xml (EinsteinGptSettings) or settings/EinsteinAI (EinsteinAISettings):
    every boolean-looking element, as written."""

    kind: str  # the root element: "EinsteinGptSettings" or "EinsteinAISettings"
    flags: tuple[SettingFlag, ...]
    location: Location  # the root

    def flag(self, name: str) -> SettingFlag | None:
        lower = name.lower()
        return next((f for f in self.flags if f.name.lower() == lower), None)


@dataclass(frozen=True, slots=True)
class HerokuConnectMapping:
    """One object a Heroku Connect mapping export (`heroku connect:export`) copies into Postgres:
    its fields land in table `<schema>.<lower-case object>` of the app's database."""

    object: str  # object_name as written: "Contact", "Loan__c"
    schema: str  # Postgres schema of the table, lower-case ("salesforce" unless the connection says otherwise)
    access: str  # "read_only", or "read_write" (changes in Postgres are written back to the org)
    fields: tuple[str, ...]  # config.fields, as written
    app_name: str  # connection.app_name ("" when the export does not say)
    folder: str  # project-relative folder of the export file ("" at the root)
    location: Location  # the mapping's "object_name" (the file's first line when it cannot be placed)


@dataclass(frozen=True, slots=True)
class HerokuAppMeta:
    """A Heroku app as the repository describes it (app.json, a Terraform heroku_app): what it is
    deployed with and where. Never a config var's value."""

    name: str  # the app's name as written ("" when absent)
    folder: str  # project-relative folder of the file: the service it deploys
    addons: tuple[str, ...]  # add-on plans as written ("heroku-postgresql:essential-0", "herokuconnect")
    llm_credentials: tuple[str, ...]  # `env` keys that hold an LLM API key (OPENAI_API_KEY, INFERENCE_KEY ...)
    location: Location  # the file's root object, or the Terraform resource
    region: str = ""  # Heroku region name ("eu", "frankfurt"); "" when the file does not say (app.json never does)
    origin: str = "app.json"  # "app.json", or "Terraform heroku_app <label>"


@dataclass(frozen=True, slots=True)
class MetadataFacts:
    """What one metadata file says."""

    named_credentials: tuple[NamedCredentialMeta, ...] = ()
    remote_sites: tuple[RemoteSiteMeta, ...] = ()
    labels: tuple[LabelMeta, ...] = ()
    cmdt_records: tuple[CmdtRecordMeta, ...] = ()
    custom_fields: tuple[CustomFieldMeta, ...] = ()
    custom_objects: tuple[CustomObjectMeta, ...] = ()
    csp_trusted_sites: tuple[CspTrustedSiteMeta, ...] = ()
    connected_apps: tuple[ConnectedAppMeta, ...] = ()
    external_services: tuple[ExternalServiceMeta, ...] = ()
    outbound_messages: tuple[OutboundMessageMeta, ...] = ()
    dataloader_jobs: tuple[DataLoaderJob, ...] = ()
    dataloader_databases: tuple[DataLoaderDatabase, ...] = ()
    config_values: tuple[ConfigValueMeta, ...] = ()
    external_client_apps: tuple[ExternalClientAppMeta, ...] = ()
    eca_oauth_settings: tuple[EcaOauthSettingsMeta, ...] = ()
    eca_oauth_policies: tuple[EcaOauthPolicyMeta, ...] = ()
    eca_global_oauth: tuple[EcaGlobalOauthMeta, ...] = ()
    network_connections: tuple[NetworkConnectionMeta, ...] = ()
    einstein_settings: tuple[EinsteinSettingsMeta, ...] = ()
    units: tuple[UnitMeta, ...] = ()
    connector_configs: tuple[ConnectorConfigMeta, ...] = ()
    connector_uses: tuple[ConnectorUseMeta, ...] = ()
    inbounds: tuple[InboundMeta, ...] = ()
    requests: tuple[RequestMeta, ...] = ()
    heroku_connect: tuple[HerokuConnectMapping, ...] = ()
    heroku_apps: tuple[HerokuAppMeta, ...] = ()


_EMPTY = MetadataFacts()
_Result = tuple[MetadataFacts, tuple[Diagnostic, ...]]


# --- recognising files -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Kind:
    suffix: str  # file suffix without "-meta.xml", as Salesforce spells it
    root: str  # expected root element
    mdapi_folder: str  # folder an mdapi-format file (no -meta.xml) must sit in, lower-case; "" = no mdapi form
    read: Callable[[str, str, Element], _Result]
    doctypes: tuple[str, ...] = ()  # DOCTYPEs (without internal subset) the file may carry: xmlsafe.load


def _kind_of(rel_path: str) -> tuple[_Kind, str] | None:
    """The metadata kind of a file and the file stem, or None when this module does not read it."""
    parts = rel_path.replace("\\", "/").split("/")
    name = parts[-1]
    named = _NAMED_FILES.get(name.lower())
    if named is not None:
        return named, name.rsplit(".", 1)[0]
    source_format = name.endswith("-meta.xml")
    base = name[: -len("-meta.xml")] if source_format else name
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem:
        return None
    kind = _KINDS.get(suffix.lower())
    if kind is None:
        return None
    if not source_format and (not kind.mdapi_folder or len(parts) < 2 or parts[-2].lower() != kind.mdapi_folder):
        return None
    return kind, stem


def parse_metadata_file(rel_path: str, data: bytes) -> tuple[MetadataFacts, tuple[Diagnostic, ...]]:
    """The facts in one metadata file; ``rel_path`` is the project-relative POSIX path used in Locations."""
    found = _kind_of(rel_path)
    if found is None:
        return _EMPTY, ()
    kind, stem = found
    tree = parse(data, doctypes=kind.doctypes)
    if isinstance(tree, XmlError):
        return _EMPTY, (tree.diagnostic(rel_path, "parse", not_analysed=True),)
    if kind.root and tree.tag != kind.root:
        message = f"expected a <{kind.root}> document for a .{kind.suffix} file, found <{tree.tag}>; file skipped"
        return _EMPTY, (Diagnostic(rel_path, "metadata", message, tree.line, not_analysed=True),)
    return kind.read(rel_path, stem, tree)


def _loc(rel_path: str, element: Element) -> Location:
    return Location(rel_path, element.line, element.col)


# --- readers, one per kind ---------------------------------------------------------------------


def _named_credential(rel_path: str, stem: str, root: Element) -> _Result:
    url_element = root.find("endpoint")  # legacy shape
    if url_element is not None and not url_element.text.strip():
        url_element = None
    external = root.findtext("externalCredential")
    # Private Connect: the legacy <outboundNetworkConnection>, or (API 56+, type PrivateEndpoint) a
    # parameter of type OutboundNetworkConnection naming it in its own <outboundNetworkConnection>.
    network = root.findtext("outboundNetworkConnection")
    for parameter in root.findall("namedCredentialParameters"):  # API 56+ shape
        if url_element is None and parameter.findtext("parameterType").lower() == "url":
            url_element = parameter.find("parameterValue")
        external = external or parameter.findtext("externalCredential")
        if parameter.findtext("parameterType").lower() == "outboundnetworkconnection":
            network = network or parameter.findtext("outboundNetworkConnection") or parameter.findtext("parameterValue")
    url = "" if url_element is None else url_element.text.strip()
    where = root if url_element is None else url_element
    credential = NamedCredentialMeta(name=stem, url=url, location=_loc(rel_path, where), external_credential=external,
                                     network_connection=network)
    return MetadataFacts(named_credentials=(credential,)), ()


def _remote_site(rel_path: str, stem: str, root: Element) -> _Result:
    url_element = root.find("url")
    active = root.findtext("isActive", "true").lower() != "false"
    site = RemoteSiteMeta(
        name=stem,
        url=root.findtext("url"),
        active=active,
        location=_loc(rel_path, root if url_element is None else url_element),
    )
    return MetadataFacts(remote_sites=(site,)), ()


def _labels(rel_path: str, _stem: str, root: Element) -> _Result:
    labels: list[LabelMeta] = []
    diagnostics: list[Diagnostic] = []
    for entry in root.findall("labels"):
        name = entry.findtext("fullName")
        if not name:
            diagnostics.append(Diagnostic(rel_path, "metadata", "custom label without <fullName>; skipped", entry.line))
            continue
        labels.append(LabelMeta(name, _text(entry, "value"), _loc(rel_path, entry)))
    return MetadataFacts(labels=tuple(labels)), tuple(diagnostics)


def _label(rel_path: str, stem: str, root: Element) -> _Result:
    name = root.findtext("fullName") or stem
    return MetadataFacts(labels=(LabelMeta(name, _text(root, "value"), _loc(rel_path, root)),)), ()


def _cmdt_record(rel_path: str, stem: str, root: Element) -> _Result:
    type_name, dot, record = stem.partition(".")
    if not dot or not type_name or not record:
        message = (f"custom metadata record file name {stem!r} is not <Type>.<Record>"
                   " (e.g. AI_Config.OpenAI.md-meta.xml); file skipped")
        return _EMPTY, (Diagnostic(rel_path, "metadata", message, root.line, not_analysed=True),)
    if type_name.lower().endswith("__mdt"):
        type_name = type_name[: -len("__mdt")]
    values: list[CmdtValue] = []
    for entry in root.findall("values"):
        field_name = entry.findtext("field")
        if not field_name:
            continue
        value_element = entry.find("value")
        if value_element is None or value_element.attrs.get("nil", "").lower() == "true":
            value = None
        else:
            value = value_element.text
        values.append(CmdtValue(field_name, value, _loc(rel_path, entry)))
    record_meta = CmdtRecordMeta(type_name, record, tuple(values), _loc(rel_path, root))
    return MetadataFacts(cmdt_records=(record_meta,)), ()


def _custom_field(rel_path: str, stem: str, root: Element) -> _Result:
    parts = rel_path.replace("\\", "/").split("/")
    if len(parts) < 3 or parts[-2].lower() != "fields":
        message = "cannot tell which object this field belongs to: expected objects/<Object>/fields/<Field>.field-meta.xml"
        return _EMPTY, (Diagnostic(rel_path, "metadata", message, root.line, not_analysed=True),)
    return MetadataFacts(custom_fields=(_field_meta(rel_path, parts[-3], stem, root),)), ()


def _custom_object(rel_path: str, stem: str, root: Element) -> _Result:
    obj = CustomObjectMeta(
        name=stem,
        platform_event=stem.lower().endswith("__e"),
        custom_settings_type=root.findtext("customSettingsType"),
        event_type=root.findtext("eventType"),
        location=_loc(rel_path, root),
    )
    fields: list[CustomFieldMeta] = []
    diagnostics: list[Diagnostic] = []
    for entry in root.findall("fields"):
        name = entry.findtext("fullName")
        if not name:
            diagnostics.append(Diagnostic(rel_path, "metadata", "<fields> entry without <fullName>; skipped", entry.line))
            continue
        fields.append(_field_meta(rel_path, stem, name, entry))
    return MetadataFacts(custom_fields=tuple(fields), custom_objects=(obj,)), tuple(diagnostics)


def _field_meta(rel_path: str, obj: str, name: str, element: Element) -> CustomFieldMeta:
    groups: list[str] = []
    for group_element in element.findall("complianceGroup"):
        for group in group_element.text.split(";"):
            group = group.strip()
            if group and group.lower() != "none" and group not in groups:
                groups.append(group)
    return CustomFieldMeta(
        object=obj,
        field=name,
        type=element.findtext("type"),
        security_classification=element.findtext("securityClassification"),
        compliance_groups=tuple(groups),
        encryption_scheme=element.findtext("encryptionScheme"),
        reference_to=element.findtext("referenceTo"),
        relationship_name=element.findtext("relationshipName"),
        location=_loc(rel_path, element),
    )


def _csp_trusted_site(rel_path: str, stem: str, root: Element) -> _Result:
    url_element = root.find("endpointUrl")
    flags = [(directive, _flag(root, tag, False)) for tag, directive in CSP_DIRECTIVES]
    by_default = not any(on for _, on in flags)
    site = CspTrustedSiteMeta(
        name=stem,
        url=root.findtext("endpointUrl"),
        active=_flag(root, "isActive", True),
        context=root.findtext("context"),
        directives=tuple(directive for directive, on in flags if on or by_default),
        all_directives_by_default=by_default,
        location=_loc(rel_path, root if url_element is None else url_element),
    )
    return MetadataFacts(csp_trusted_sites=(site,)), ()


def _connected_app(rel_path: str, stem: str, root: Element) -> _Result:
    # Only the elements named here are read: never consumerSecret or certificates, and the consumer
    # key only as a digest.
    oauth = root.find("oauthConfig")
    policy = root.find("oauthPolicy")
    where = _loc(rel_path, root if oauth is None else oauth)
    scopes: tuple[Element, ...] = () if oauth is None else oauth.findall("scopes")
    callbacks: list[str] = []
    for element in () if oauth is None else oauth.findall("callbackUrl"):
        for url in element.text.split():  # Setup stores several URLs in one value, one per line
            if url not in callbacks:
                callbacks.append(url)
    relaxation = None if policy is None else policy.find("ipRelaxation")
    if relaxation is not None:
        relaxation_where = _loc(rel_path, relaxation)
    else:
        relaxation_where = where if policy is None else _loc(rel_path, policy)
    app = ConnectedAppMeta(
        name=stem,
        oauth=oauth is not None,
        scopes=tuple(s.text.strip() for s in scopes if s.text.strip()),
        callback_urls=tuple(callbacks),
        client_credentials=oauth is not None and _flag(oauth, "isClientCredentialEnabled", False),
        ip_relaxation="" if relaxation is None else relaxation.text.strip(),
        refresh_token_policy="" if policy is None else policy.findtext("refreshTokenPolicy"),
        location=where,
        scopes_location=_loc(rel_path, scopes[0]) if scopes else where,
        ip_relaxation_location=relaxation_where,
        consumer_key_digest=identity_digest(oauth.findtext("consumerKey")) if oauth is not None else "",
    )
    return MetadataFacts(connected_apps=(app,)), ()


def identity_digest(value: str) -> str:
    """A one-way digest of an OAuth client id (a Connected App's consumer key, a Mule app's
    clientId): equal ids give equal digests, and the id itself is never kept."""
    value = value.strip()
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:24] if value else ""


def _external_service(rel_path: str, stem: str, root: Element) -> _Result:
    credential = root.find("namedCredential")
    if credential is None or not credential.text.strip():
        credential = root.find("namedCredentialReference")
    if credential is not None and not credential.text.strip():
        credential = None
    schema_servers, problems = _schema_servers(root.findtext("schema"))
    binding_servers, binding_problems = _binding_server(root.findtext("serviceBinding"))
    servers = [*schema_servers, *binding_servers]
    service = ExternalServiceMeta(
        name=stem,
        named_credential="" if credential is None else credential.text.strip(),
        provider_type=root.findtext("registrationProviderType"),
        servers=tuple(dict.fromkeys(servers)),
        operations=tuple(
            op.findtext("name") for op in root.findall("operations")
            if op.findtext("name") and _flag(op, "active", True)),
        location=_loc(rel_path, root if credential is None else credential),
    )
    diagnostics = tuple(Diagnostic(rel_path, LIMIT, f"{what} is JSON nested too deeply to read; the servers "
                                   "it names are not known", root.line) for what in (*problems, *binding_problems))
    return MetadataFacts(external_services=(service,)), diagnostics


_YAML_KEY = re.compile(r"^([A-Za-z_$][\w$-]*)\s*:(.*)")  # the value is stripped after: `(.*?)\s*$` is quadratic
_YAML_SERVER_URL = re.compile(r"^\s*(?:-\s*)?url\s*:\s*[\"']?([^\"'#\s]+)")


def _json(text: str, what: str, problems: list[str]):
    """The JSON document in `text`, or None when it is not JSON; one nested deeper than Python's
    parser goes is None too, and named in `problems` (a diagnostic: not a silent skip)."""
    try:
        return json.loads(text)
    except ValueError:
        return None
    except RecursionError:
        problems.append(what)
        return None


def _schema_servers(schema: str) -> tuple[list[str], list[str]]:
    """Server URLs named by an OpenAPI 3 (servers[].url) or Swagger 2 (host + basePath) schema, in
    JSON or YAML, and what could not be read. A small reader on purpose: only top-level keys are
    needed, and a schema we cannot read simply names no server (the registration's Named
    Credential is what decides the host)."""
    schema = schema.strip()
    problems: list[str] = []
    if not schema:
        return [], problems
    if schema.startswith("{"):
        document = _json(schema, "<schema>", problems)
        if not isinstance(document, dict):
            return [], problems
        servers = document.get("servers")
        urls = [s["url"] for s in servers if isinstance(s, dict) and isinstance(s.get("url"), str)] \
            if isinstance(servers, list) else []
        host, base = document.get("host"), document.get("basePath", "")
        if isinstance(host, str) and host:
            urls.append(f"https://{host}{base if isinstance(base, str) else ''}")
        return urls, problems
    urls: list[str] = []
    top: dict[str, str] = {}
    section = ""
    for line in schema.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            match = _YAML_KEY.match(line)
            section = match.group(1) if match else ""
            value = match.group(2).strip() if match else ""
            if value:
                top[section] = value.strip("\"'")
            continue
        if section == "servers":
            match = _YAML_SERVER_URL.match(line)
            if match:
                urls.append(match.group(1))
    if top.get("host"):
        urls.append(f"https://{top['host']}{top.get('basePath', '')}")
    return urls, problems


def _binding_server(binding: str) -> tuple[list[str], list[str]]:
    """The host + basePath of a <serviceBinding> JSON value ({"host": "api.example.com", "basePath": "/v1"}),
    and what could not be read."""
    problems: list[str] = []
    document = _json(binding, "<serviceBinding>", problems) if binding.strip() else None
    if not isinstance(document, dict) or not isinstance(document.get("host"), str) or not document["host"]:
        return [], problems
    base = document.get("basePath")
    return [f"https://{document['host']}{base if isinstance(base, str) and base != '/' else ''}"], problems


def _workflow(rel_path: str, stem: str, root: Element) -> _Result:
    messages: list[OutboundMessageMeta] = []
    diagnostics: list[Diagnostic] = []
    for entry in root.findall("outboundMessages"):
        name = entry.findtext("fullName")
        if not name:
            diagnostics.append(Diagnostic(rel_path, "metadata", "<outboundMessages> entry without <fullName>; skipped",
                                          entry.line))
            continue
        messages.append(_outbound_message(rel_path, stem, name, entry))
    return MetadataFacts(outbound_messages=tuple(messages)), tuple(diagnostics)


def _external_client_app(rel_path: str, stem: str, root: Element) -> _Result:
    app = ExternalClientAppMeta(stem, root.findtext("label"), root.findtext("distributionState"), _loc(rel_path, root))
    return MetadataFacts(external_client_apps=(app,)), ()


def _eca_oauth_settings(rel_path: str, stem: str, root: Element) -> _Result:
    scopes_element = root.find("commaSeparatedOauthScopes")
    scopes = tuple(s.strip() for s in root.findtext("commaSeparatedOauthScopes").split(",") if s.strip())
    settings = EcaOauthSettingsMeta(
        name=stem, app=root.findtext("externalClientApplication") or stem, scopes=scopes,
        trusted_ip_ranges=len(root.findall("trustedIpRanges")), location=_loc(rel_path, root),
        scopes_location=_loc(rel_path, root if scopes_element is None else scopes_element))
    return MetadataFacts(eca_oauth_settings=(settings,)), ()


def _eca_oauth_policy(rel_path: str, stem: str, root: Element) -> _Result:
    relaxation = root.find("ipRelaxationPolicyType")
    policy = EcaOauthPolicyMeta(
        name=stem, app=root.findtext("externalClientApplication") or stem,
        ip_relaxation=root.findtext("ipRelaxationPolicyType"), refresh_token_policy=root.findtext("refreshTokenPolicyType"),
        client_credentials=_flag(root, "isClientCredentialsFlowEnabled", False), location=_loc(rel_path, root),
        ip_relaxation_location=_loc(rel_path, root if relaxation is None else relaxation))
    return MetadataFacts(eca_oauth_policies=(policy,)), ()


def _eca_global_oauth(rel_path: str, stem: str, root: Element) -> _Result:
    # Never the values of <consumerSecret> or <consumerKey>: only whether a secret is there.
    secret = root.find("consumerSecret")
    has_secret = secret is not None and bool(secret.text.strip())
    callbacks: list[str] = []
    for element in root.findall("callbackUrl"):
        for url in element.text.replace(",", " ").split():
            if url not in callbacks:
                callbacks.append(url)
    settings = EcaGlobalOauthMeta(
        name=stem, app=root.findtext("externalClientApplication") or stem, has_consumer_secret=has_secret,
        callback_urls=tuple(callbacks), client_credentials=_flag(root, "isClientCredentialsFlowEnabled", False),
        location=_loc(rel_path, root), secret_location=_loc(rel_path, secret if has_secret else root))
    return MetadataFacts(eca_global_oauth=(settings,)), ()


def _network_connection(rel_path: str, stem: str, root: Element) -> _Result:
    properties = {p.findtext("propertyName").lower(): p for p in root.findall("outboundNetworkConnProperties")}
    region = properties.get("region")
    value = None if region is None else region.find("propertyValue")
    connection = NetworkConnectionMeta(
        name=stem, connection_type=root.findtext("connectionType"),
        region="" if region is None else region.findtext("propertyValue"),
        endpoint_service="" if "awsvpcendpointservicename" not in properties
        else properties["awsvpcendpointservicename"].findtext("propertyValue"),
        active=_flag(root, "isActive", True), status=root.findtext("status"),
        location=_loc(rel_path, root if value is None else value))
    return MetadataFacts(network_connections=(connection,)), ()


# The settings files apexscan reads (one root each); any other settings file gives no facts.
EINSTEIN_SETTINGS = ("EinsteinGptSettings", "EinsteinAISettings")


def _settings(rel_path: str, _stem: str, root: Element) -> _Result:
    if root.tag not in EINSTEIN_SETTINGS:
        return _EMPTY, ()
    flags = tuple(SettingFlag(child.tag, child.text.strip(), _loc(rel_path, child))
                  for child in root.children if not child.children)
    return MetadataFacts(einstein_settings=(EinsteinSettingsMeta(root.tag, flags, _loc(rel_path, root)),)), ()


def _workflow_outbound_message(rel_path: str, stem: str, root: Element) -> _Result:
    parts = rel_path.replace("\\", "/").split("/")
    if len(parts) < 4 or parts[-2].lower() != "workflowoutboundmessages" or parts[-4].lower() != "workflows":
        message = ("cannot tell which object this outbound message belongs to: expected "
                   "workflows/<Object>/workflowOutboundMessages/<Name>.workflowOutboundMessage-meta.xml")
        return _EMPTY, (Diagnostic(rel_path, "metadata", message, root.line, not_analysed=True),)
    name = root.findtext("fullName") or stem
    return MetadataFacts(outbound_messages=(_outbound_message(rel_path, parts[-3], name, root),)), ()


def _outbound_message(rel_path: str, obj: str, name: str, element: Element) -> OutboundMessageMeta:
    url_element = element.find("endpointUrl")
    return OutboundMessageMeta(
        object=obj,
        name=name,
        url=element.findtext("endpointUrl"),
        fields=tuple(OutboundField(f.text.strip(), _loc(rel_path, f))
                     for f in element.findall("fields") if f.text.strip()),
        include_session_id=_flag(element, "includeSessionId", False),
        location=_loc(rel_path, element),
        url_location=_loc(rel_path, element if url_element is None else url_element),
    )


# --- Data Loader (process-conf.xml, database-conf.xml) -------------------------------------------
#
# Spring bean files read by Data Loader's command line (process.bat <config folder> <process>):
#
#   <bean id="accountExtract" class="com.salesforce.dataloader.process.ProcessRunner">
#     <property name="configOverrideMap"><map>
#       <entry key="process.operation" value="extract"/>
#       <entry key="sfdc.extractionSOQL" value="SELECT Id, Name FROM Account"/>
#       <entry key="dataAccess.type" value="csvWrite"/>
#       <entry key="dataAccess.name" value="/data/out/accounts.csv"/> ...
#
# An entry's key and value may also be child elements (<key><value>k</value></key><value>v</value>).
# Only the keys below are kept; credentials (sfdc.username, sfdc.password, process.encryptionKeyFile)
# are never read.

_PROCESS_RUNNER = "processrunner"  # the class's simple name, lower-case
_DATABASE_CONFIG = "databaseconfig"
_JOB_KEYS = ("process.operation", "sfdc.entity", "sfdc.extractionSOQL", "dataAccess.type", "dataAccess.name",
             "sfdc.endpoint")


def _process_conf(rel_path: str, _stem: str, root: Element) -> _Result:
    folder = rel_path.replace("\\", "/").rpartition("/")[0]
    jobs: list[DataLoaderJob] = []
    diagnostics: list[Diagnostic] = []
    for bean in root.findall("bean"):
        if _simple_class(bean) != _PROCESS_RUNNER:
            continue
        name = bean.attrs.get("id") or bean.attrs.get("name") or _property_value(bean, "name")
        if not name:
            diagnostics.append(Diagnostic(rel_path, "metadata", "Data Loader process <bean> without an id; skipped",
                                          bean.line))
            continue
        entries = _override_map(bean)
        text = {key: " ".join(entries[key][0].split()) if key in entries else "" for key in _JOB_KEYS}
        where = {key: _loc(rel_path, entries[key][1]) if key in entries else _loc(rel_path, bean) for key in _JOB_KEYS}
        soql = text["sfdc.extractionSOQL"]
        obj, fields = soql_select_list(soql)
        job = DataLoaderJob(
            name=name, folder=folder, operation=text["process.operation"], entity=text["sfdc.entity"], soql=soql,
            soql_object=obj, soql_fields=fields, data_access_type=text["dataAccess.type"],
            data_access_name=text["dataAccess.name"], endpoint=text["sfdc.endpoint"], location=_loc(rel_path, bean),
            soql_location=where["sfdc.extractionSOQL"], target_location=where["dataAccess.name"])
        if job.extract and not (obj and fields):
            what = ("has no sfdc.extractionSOQL" if not soql
                    else "has a sfdc.extractionSOQL whose select list cannot be read")
            diagnostics.append(Diagnostic(rel_path, "metadata", f"Data Loader process {name} {what}; "
                                          "the fields it extracts are unknown", job.soql_location.line))
        jobs.append(job)
    return MetadataFacts(dataloader_jobs=tuple(jobs)), tuple(diagnostics)


def _database_conf(rel_path: str, _stem: str, root: Element) -> _Result:
    folder = rel_path.replace("\\", "/").rpartition("/")[0]
    beans = {bean.attrs["id"]: bean for bean in root.findall("bean") if bean.attrs.get("id")}
    databases = []
    for name, bean in beans.items():
        if _simple_class(bean) != _DATABASE_CONFIG:
            continue
        source = _property(bean, "dataSource")
        url = ""
        if source is not None:  # <property name="dataSource" ref="dbDataSource"/>, a <ref bean=""/> or a <bean>
            ref = source.attrs.get("ref", "")
            inner = source.find("ref")
            target = beans.get(ref or (inner.attrs.get("bean", "") if inner is not None else "")) \
                or source.find("bean")
            url = _property_value(target, "url") if target is not None else ""
        databases.append(DataLoaderDatabase(name, folder, url, _loc(rel_path, bean)))
    return MetadataFacts(dataloader_databases=tuple(databases)), ()


def _simple_class(bean: Element) -> str:
    return bean.attrs.get("class", "").rsplit(".", 1)[-1].lower()


def _property(bean: Element, name: str) -> Element | None:
    return next((p for p in bean.findall("property") if p.attrs.get("name") == name), None)


def _property_value(bean: Element, name: str) -> str:
    """A <property name="..." value="..."/> or <property name="..."><value>...</value></property>."""
    prop = _property(bean, name)
    if prop is None:
        return ""
    if "value" in prop.attrs:
        return prop.attrs["value"].strip()
    return prop.findtext("value")


def _override_map(bean: Element) -> dict[str, tuple[str, Element]]:
    """configOverrideMap's entries: key -> (value, the <entry>); the first of a repeated key wins."""
    prop = _property(bean, "configOverrideMap")
    found: dict[str, tuple[str, Element]] = {}
    for entries in () if prop is None else prop.findall("map"):
        for entry in entries.findall("entry"):
            key = entry.attrs.get("key")
            if key is None:
                key_element = entry.find("key")
                key = "" if key_element is None else key_element.findtext("value") or key_element.text
            key = key.strip()
            if "value" in entry.attrs:
                value = entry.attrs["value"]
            else:
                value_element = entry.find("value")
                value = "" if value_element is None else value_element.text
            if key and key not in found:
                found[key] = (value, entry)
    return found


_SOQL_SELECT = re.compile(r"\s*select\s", re.IGNORECASE)
_SOQL_FROM = re.compile(r"from\s+([A-Za-z_][\w]*)", re.IGNORECASE)
_SOQL_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_SOQL_FUNCTION = re.compile(r"([A-Za-z_]\w*)\s*\((.*)\)(?:\s+[A-Za-z_]\w*)?", re.DOTALL)
_SOQL_FIELD = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\s+[A-Za-z_]\w*)?")


def soql_select_list(soql: str, _inner: bool = False) -> tuple[str, tuple[str, ...]]:
    """The FROM object and the select list of a SOQL statement, each field as written: plain and
    relationship fields ("Owner.Email"), fields inside functions (toLabel(Status), MAX(Amount) m),
    sub-query fields prefixed with their relationship ("Contacts.Email"), and FIELDS(ALL|STANDARD|
    CUSTOM) upper-cased, standing for every field ("FIELDS(ALL)", "Contacts.FIELDS(ALL)").
    ("", ()) when the text is not a readable SELECT; items that name no field (COUNT(), TYPEOF ...
    END) are left out."""
    obj, items = soql_select_items(soql)
    return obj, soql_fields(items, _inner)


def soql_fields(items: tuple[str, ...], _inner: bool = False) -> tuple[str, ...]:
    """The fields that select items (of `soql_select_items`) name; see `soql_select_list`."""
    fields: list[str] = []
    for item in items:
        if item.startswith("("):  # a sub-query; SOQL nests them one level deep only
            relationship, inner = ("", ()) if _inner else soql_select_list(item[1:item.rfind(")")], True)
            fields.extend(f"{relationship}.{f}" for f in inner if relationship)
            continue
        function = _SOQL_FUNCTION.fullmatch(item)
        if function is not None:
            if function.group(1).upper() == "FIELDS":
                fields.append(f"FIELDS({function.group(2).strip().upper()})")
            else:
                fields.extend(_SOQL_PATH.findall(function.group(2)))
            continue
        field_match = _SOQL_FIELD.fullmatch(item)
        if field_match is not None:
            fields.append(field_match.group(1))
    return tuple(dict.fromkeys(fields))


def soql_select_items(soql: str) -> tuple[str, tuple[str, ...]]:
    """The FROM object and the items of the select list as written (stripped); ("", ()) when the
    text is not a readable SELECT."""
    start = _SOQL_SELECT.match(soql)
    if start is None:
        return "", ()
    items, depth, begin, i, quote = [], 0, start.end(), start.end(), False
    while i < len(soql):
        ch = soql[i]
        if quote:
            quote = ch != "'" or soql[i - 1] == "\\"
        elif ch == "'":
            quote = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and ch == ",":
            items.append(soql[begin:i])
            begin = i + 1
        elif depth == 0 and soql[i - 1].isspace() and _SOQL_FROM.match(soql, i):
            items.append(soql[begin:i])
            break
        i += 1
    else:
        return "", ()
    return _SOQL_FROM.match(soql, i).group(1), tuple(item.strip() for item in items)


def _flag(element: Element, tag: str, default: bool) -> bool:
    """A boolean child element; ``default`` when it is missing or empty."""
    value = element.findtext(tag).lower()
    return default if value not in ("true", "false") else value == "true"


def _text(element: Element, tag: str) -> str:
    """The unstripped text of a child: label and custom-metadata values are kept as written."""
    child = element.find(tag)
    return "" if child is None else child.text


_KINDS: dict[str, _Kind] = {
    kind.suffix.lower(): kind
    for kind in (
        _Kind("namedCredential", "NamedCredential", "namedcredentials", _named_credential),
        _Kind("remoteSite", "RemoteSiteSetting", "remotesitesettings", _remote_site),
        _Kind("labels", "CustomLabels", "labels", _labels),
        _Kind("label", "CustomLabel", "", _label),
        _Kind("md", "CustomMetadata", "custommetadata", _cmdt_record),
        _Kind("field", "CustomField", "", _custom_field),
        _Kind("object", "CustomObject", "objects", _custom_object),
        _Kind("cspTrustedSite", "CspTrustedSite", "csptrustedsites", _csp_trusted_site),
        _Kind("connectedApp", "ConnectedApp", "connectedapps", _connected_app),
        _Kind("externalServiceRegistration", "ExternalServiceRegistration", "externalserviceregistrations",
              _external_service),
        _Kind("workflow", "Workflow", "workflows", _workflow),
        _Kind("workflowOutboundMessage", "WorkflowOutboundMessage", "", _workflow_outbound_message),
        _Kind("eca", "ExternalClientApplication", "externalclientapps", _external_client_app),
        _Kind("ecaOauth", "ExtlClntAppOauthSettings", "extlclntappoauthsettings", _eca_oauth_settings),
        _Kind("ecaOauthPlcy", "ExtlClntAppOauthConfigurablePolicies", "extlclntappoauthpolicies", _eca_oauth_policy),
        _Kind("ecaGlblOauth", "ExtlClntAppGlobalOauthSettings", "extlclntappglobaloauthsets", _eca_global_oauth),
        _Kind("outboundNetworkConnection", "OutboundNetworkConnection", "outboundnetworkconnections",
              _network_connection),
        _Kind("settings", "", "settings", _settings),  # the root names the settings: EINSTEIN_SETTINGS only
    )
}
# Files recognised by their whole name (lower-case), wherever they sit: Data Loader's configuration.
_NAMED_FILES: dict[str, _Kind] = {
    "process-conf.xml": _Kind("process-conf.xml", "beans", "", _process_conf, doctypes=("beans",)),
    "database-conf.xml": _Kind("database-conf.xml", "beans", "", _database_conf, doctypes=("beans",)),
}


def _suffixes() -> tuple[str, ...]:
    out: list[str] = []
    for kind in _KINDS.values():
        out.append(f".{kind.suffix}-meta.xml".lower())
        if kind.mdapi_folder:
            out.append(f".{kind.suffix}".lower())
    return tuple(out)


# Every file suffix this frontend reads, lower-case, source (-meta.xml) and mdapi forms: the
# file discovery in project.py (METADATA_SUFFIXES) must list each of them, or the file is never read.
METADATA_FILE_SUFFIXES: tuple[str, ...] = _suffixes()
# Every file name (lower-case) this frontend reads whatever its folder: project.py lists them too.
METADATA_FILE_NAMES: tuple[str, ...] = tuple(_NAMED_FILES)


# --- the whole project -------------------------------------------------------------------------


def _no_entries() -> Mapping[Any, Any]:
    return MappingProxyType({})


def _strip_namespace(name: str, namespace: str) -> str:
    prefix = namespace.lower() + "__"
    return name[len(prefix):] if namespace and name.startswith(prefix) else name


@dataclass(frozen=True, slots=True)
class ProjectMetadata:
    """Every metadata fact of the project, keyed case-insensitively (keys are lower-case)."""

    named_credentials: Mapping[str, NamedCredentialMeta]
    remote_sites: Mapping[str, RemoteSiteMeta]
    labels: Mapping[str, LabelMeta]
    cmdt: Mapping[tuple[str, str], Mapping[str, str | None]]  # (type w/o __mdt, record) -> {field: value}
    cmdt_records: Mapping[tuple[str, str], CmdtRecordMeta]  # same keys, with names and locations
    custom_fields: Mapping[tuple[str, str], CustomFieldMeta]  # (object, field)
    custom_objects: Mapping[str, CustomObjectMeta]
    diagnostics: tuple[Diagnostic, ...] = ()  # conflicting duplicate definitions
    # Admin configuration that opens channels out of the org (read by apexscan.pipeline.config_rules).
    csp_trusted_sites: Mapping[str, CspTrustedSiteMeta] = field(default_factory=_no_entries)
    connected_apps: Mapping[str, ConnectedAppMeta] = field(default_factory=_no_entries)
    external_services: Mapping[str, ExternalServiceMeta] = field(default_factory=_no_entries)
    # (object, name) -> the message; a Flow names it "Object.Name" (actionType outboundMessage)
    outbound_messages: Mapping[tuple[str, str], OutboundMessageMeta] = field(default_factory=_no_entries)
    # Data Loader: (folder, bean id) -> the process / the database-conf.xml bean, keys lower-case
    dataloader_jobs: Mapping[tuple[str, str], DataLoaderJob] = field(default_factory=_no_entries)
    dataloader_databases: Mapping[tuple[str, str], DataLoaderDatabase] = field(default_factory=_no_entries)
    # (scope, key) -> every value configuration files give the key in that unit, in path order
    config_values: Mapping[tuple[str, str], tuple[ConfigValueMeta, ...]] = field(default_factory=_no_entries)
    # External Client Apps: the app header, and its OAuth settings, policies and global OAuth
    # settings keyed by the app they name (<externalClientApplication>), lower-case
    external_client_apps: Mapping[str, ExternalClientAppMeta] = field(default_factory=_no_entries)
    eca_oauth_settings: Mapping[str, EcaOauthSettingsMeta] = field(default_factory=_no_entries)
    eca_oauth_policies: Mapping[str, EcaOauthPolicyMeta] = field(default_factory=_no_entries)
    eca_global_oauth: Mapping[str, EcaGlobalOauthMeta] = field(default_factory=_no_entries)
    network_connections: Mapping[str, NetworkConnectionMeta] = field(default_factory=_no_entries)
    # "einsteingptsettings" / "einsteinaisettings" -> the settings file
    einstein_settings: Mapping[str, EinsteinSettingsMeta] = field(default_factory=_no_entries)
    # integration units and their connections, in location order
    units: tuple[UnitMeta, ...] = ()
    connector_configs: tuple[ConnectorConfigMeta, ...] = ()
    connector_uses: tuple[ConnectorUseMeta, ...] = ()
    inbounds: tuple[InboundMeta, ...] = ()
    requests: tuple[RequestMeta, ...] = ()
    # Heroku: every object a Heroku Connect export maps, and every app.json, in location order
    heroku_connect: tuple[HerokuConnectMapping, ...] = ()
    heroku_apps: tuple[HerokuAppMeta, ...] = ()

    # Lookups take names as code spells them; `namespace` is the project's own namespace
    # (sfdx-project.json), which code may prefix and file names never carry.

    def named_credential(self, name: str, namespace: str = "") -> NamedCredentialMeta | None:
        return self.named_credentials.get(_strip_namespace(name.lower(), namespace))

    def remote_site(self, name: str, namespace: str = "") -> RemoteSiteMeta | None:
        return self.remote_sites.get(_strip_namespace(name.lower(), namespace))

    def label(self, name: str, namespace: str = "") -> LabelMeta | None:
        return self.labels.get(_strip_namespace(name.lower(), namespace))

    def cmdt_record(self, type_name: str, record: str, namespace: str = "") -> CmdtRecordMeta | None:
        return self.cmdt_records.get((_cmdt_type_key(type_name, namespace), record.lower()))

    def cmdt_type_records(self, type_name: str, namespace: str = "") -> tuple[CmdtRecordMeta, ...]:
        """Every record of a custom metadata type (for a dynamic DeveloperName), in path order."""
        key = _cmdt_type_key(type_name, namespace)
        return tuple(r for (t, _), r in self.cmdt_records.items() if t == key)

    def custom_field(self, obj: str, field: str, namespace: str = "") -> CustomFieldMeta | None:
        key = (_strip_namespace(obj.lower(), namespace), _strip_namespace(field.lower(), namespace))
        return self.custom_fields.get(key)

    def custom_object(self, name: str, namespace: str = "") -> CustomObjectMeta | None:
        return self.custom_objects.get(_strip_namespace(name.lower(), namespace))

    def csp_trusted_site(self, name: str, namespace: str = "") -> CspTrustedSiteMeta | None:
        return self.csp_trusted_sites.get(_strip_namespace(name.lower(), namespace))

    def connected_app(self, name: str, namespace: str = "") -> ConnectedAppMeta | None:
        return self.connected_apps.get(_strip_namespace(name.lower(), namespace))

    def external_service(self, name: str, namespace: str = "") -> ExternalServiceMeta | None:
        return self.external_services.get(_strip_namespace(name.lower(), namespace))

    def outbound_message(self, obj: str, name: str, namespace: str = "") -> OutboundMessageMeta | None:
        """A Flow's ``actionName`` ``Contact.Notify_Partner`` is ``outbound_message("Contact", "Notify_Partner")``."""
        key = (_strip_namespace(obj.lower(), namespace), _strip_namespace(name.lower(), namespace))
        return self.outbound_messages.get(key)

    def config(self, path: str, key: str) -> tuple[ConfigValueMeta, ...]:
        """The values configuration files give `key` for the unit holding file `path`: those of the
        nearest enclosing folder that configures the key at all (a service's own .env.example
        before the repository's), the unit's real configuration ("high") before examples ("low")."""
        folder = path.rpartition("/")[0]
        while True:
            found = self.config_values.get((folder, key))
            if found:
                return tuple(sorted(found, key=lambda v: v.confidence != "high"))
            if not folder:
                return ()
            folder = folder.rpartition("/")[0]

    def network_connection(self, name: str, namespace: str = "") -> NetworkConnectionMeta | None:
        return self.network_connections.get(_strip_namespace(name.lower(), namespace))

    def dataloader_database(self, job: DataLoaderJob) -> DataLoaderDatabase | None:
        """The database-conf.xml bean a databaseRead/databaseWrite process names (same folder)."""
        return self.dataloader_databases.get((job.folder.lower(), job.data_access_name.lower()))


def _cmdt_type_key(type_name: str, namespace: str) -> str:
    key = _strip_namespace(type_name.lower(), namespace)
    return key.removesuffix("__mdt")


def merge(facts: Iterable[MetadataFacts]) -> ProjectMetadata:
    """Fold per-file facts into lookup tables.

    Items are taken in path order, so the result does not depend on the order files were read.
    When a name is defined twice the first definition is kept; a second one that differs gives a
    Diagnostic (one package directory overriding another is easy to miss).
    """
    facts = tuple(facts)
    diagnostics: list[Diagnostic] = []

    def table(items: Iterable[Any], key: Callable[[Any], Any], what: Callable[[Any], str],
              same: Callable[[Any], Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for item in sorted(items, key=lambda i: i.location):
            k = key(item)
            prior = out.get(k)
            if prior is None:
                out[k] = item
            elif same(prior) != same(item):
                diagnostics.append(Diagnostic(
                    item.location.path, "metadata",
                    f"{what(item)} is defined again with a different value; using the one at {prior.location}",
                    item.location.line,
                ))
        return out

    named_credentials = table(
        (c for f in facts for c in f.named_credentials), lambda c: c.name.lower(),
        lambda c: f"named credential {c.name!r}", lambda c: (c.url, c.external_credential, c.network_connection))
    remote_sites = table(
        (s for f in facts for s in f.remote_sites), lambda s: s.name.lower(),
        lambda s: f"remote site {s.name!r}", lambda s: (s.url, s.active))
    labels = table(
        (lb for f in facts for lb in f.labels), lambda lb: lb.name.lower(),
        lambda lb: f"custom label {lb.name!r}", lambda lb: lb.value)
    cmdt_records = table(
        (r for f in facts for r in f.cmdt_records), lambda r: (r.type.lower(), r.record.lower()),
        lambda r: f"custom metadata record {r.type}.{r.record}", lambda r: _cmdt_values(r))
    custom_fields = table(
        (c for f in facts for c in f.custom_fields), lambda c: (c.object.lower(), c.field.lower()),
        lambda c: f"field {c.object}.{c.field}", lambda c: replace(c, location=None))
    custom_objects = table(
        (o for f in facts for o in f.custom_objects), lambda o: o.name.lower(),
        lambda o: f"object {o.name}", lambda o: replace(o, location=None))
    csp_trusted_sites = table(
        (c for f in facts for c in f.csp_trusted_sites), lambda c: c.name.lower(),
        lambda c: f"CSP trusted site {c.name!r}", lambda c: (c.url, c.active, c.context, c.directives))
    connected_apps = table(
        (a for f in facts for a in f.connected_apps), lambda a: a.name.lower(),
        lambda a: f"connected app {a.name!r}",
        lambda a: (a.scopes, a.callback_urls, a.client_credentials, a.ip_relaxation, a.refresh_token_policy))
    external_services = table(
        (e for f in facts for e in f.external_services), lambda e: e.name.lower(),
        lambda e: f"external service {e.name!r}",
        lambda e: (e.named_credential, e.provider_type, e.servers, e.operations))
    outbound_messages = table(
        (m for f in facts for m in f.outbound_messages), lambda m: (m.object.lower(), m.name.lower()),
        lambda m: f"outbound message {m.object}.{m.name}",
        lambda m: (m.url, tuple(x.name for x in m.fields), m.include_session_id))
    dataloader_jobs = table(
        (j for f in facts for j in f.dataloader_jobs), lambda j: (j.folder.lower(), j.name.lower()),
        lambda j: f"Data Loader process {j.process}", lambda j: replace(j, location=None, soql_location=None,
                                                                         target_location=None))
    dataloader_databases = table(
        (d for f in facts for d in f.dataloader_databases), lambda d: (d.folder.lower(), d.name.lower()),
        lambda d: f"Data Loader database bean {d.name}", lambda d: d.url)
    external_client_apps = table(
        (a for f in facts for a in f.external_client_apps), lambda a: a.name.lower(),
        lambda a: f"external client app {a.name!r}", lambda a: replace(a, location=None))
    eca_oauth_settings = table(
        (o for f in facts for o in f.eca_oauth_settings), lambda o: o.app.lower(),
        lambda o: f"OAuth settings of external client app {o.app!r}",
        lambda o: replace(o, location=None, scopes_location=None))
    eca_oauth_policies = table(
        (o for f in facts for o in f.eca_oauth_policies), lambda o: o.app.lower(),
        lambda o: f"OAuth policies of external client app {o.app!r}",
        lambda o: replace(o, location=None, ip_relaxation_location=None))
    eca_global_oauth = table(
        (o for f in facts for o in f.eca_global_oauth), lambda o: o.app.lower(),
        lambda o: f"global OAuth settings of external client app {o.app!r}",
        lambda o: replace(o, location=None, secret_location=None))
    network_connections = table(
        (c for f in facts for c in f.network_connections), lambda c: c.name.lower(),
        lambda c: f"outbound network connection {c.name!r}", lambda c: replace(c, location=None))
    einstein_settings = table(
        (e for f in facts for e in f.einstein_settings), lambda e: e.kind.lower(),
        lambda e: f"settings {e.kind}", lambda e: tuple((x.name, x.value) for x in e.flags))
    cmdt = {key: MappingProxyType(_cmdt_values(record)) for key, record in cmdt_records.items()}
    config_values: dict[tuple[str, str], list[ConfigValueMeta]] = {}
    for value in sorted((v for f in facts for v in f.config_values), key=lambda v: v.location):
        config_values.setdefault((value.scope, value.key), []).append(value)
    return ProjectMetadata(
        named_credentials=MappingProxyType(named_credentials),
        remote_sites=MappingProxyType(remote_sites),
        labels=MappingProxyType(labels),
        cmdt=MappingProxyType(cmdt),
        cmdt_records=MappingProxyType(cmdt_records),
        custom_fields=MappingProxyType(custom_fields),
        custom_objects=MappingProxyType(custom_objects),
        diagnostics=tuple(diagnostics),
        csp_trusted_sites=MappingProxyType(csp_trusted_sites),
        connected_apps=MappingProxyType(connected_apps),
        external_services=MappingProxyType(external_services),
        outbound_messages=MappingProxyType(outbound_messages),
        dataloader_jobs=MappingProxyType(dataloader_jobs),
        dataloader_databases=MappingProxyType(dataloader_databases),
        config_values=MappingProxyType({k: tuple(v) for k, v in config_values.items()}),
        external_client_apps=MappingProxyType(external_client_apps),
        eca_oauth_settings=MappingProxyType(eca_oauth_settings),
        eca_oauth_policies=MappingProxyType(eca_oauth_policies),
        eca_global_oauth=MappingProxyType(eca_global_oauth),
        network_connections=MappingProxyType(network_connections),
        einstein_settings=MappingProxyType(einstein_settings),
        units=tuple(sorted((u for f in facts for u in f.units), key=lambda u: u.location)),
        connector_configs=tuple(sorted((c for f in facts for c in f.connector_configs), key=lambda c: c.location)),
        connector_uses=tuple(sorted((c for f in facts for c in f.connector_uses), key=lambda c: c.location)),
        inbounds=tuple(sorted((i for f in facts for i in f.inbounds), key=lambda i: i.location)),
        requests=tuple(sorted((r for f in facts for r in f.requests), key=lambda r: r.location)),
        heroku_connect=tuple(sorted((m for f in facts for m in f.heroku_connect), key=lambda m: m.location)),
        heroku_apps=tuple(sorted((a for f in facts for a in f.heroku_apps), key=lambda a: a.location)),
    )


def _cmdt_values(record: CmdtRecordMeta) -> dict[str, str | None]:
    return {value.field.lower(): value.value for value in record.values}
