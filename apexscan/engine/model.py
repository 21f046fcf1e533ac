"""The shapes every stage shares: locations, diagnostics, metadata facts, sensitivity, destinations.

Frozen, slotted dataclasses, and the one total order of findings every report uses. Nothing here imports the rest of apexscan, so frontends, the
engine and the reporters can all depend on it without cycles.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True, order=True)
class Location:
    path: str  # project-relative POSIX path of the file
    line: int  # 1-based line of the exact construct (not of its enclosing statement)
    col: int  # 1-based column
    end_line: int = 0  # 0 when unknown
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """A problem with the scan itself (unreadable file, parse error), never with the scanned code.

    Fail closed: whatever a repository does must not make apexscan skip code silently. A
    diagnostic that means "this file (or folder) was not analysed" — unreadable, binary, nothing
    parseable, nested too deep, too large, timed out, unsafe XML, not the document its name says —
    is made with `not_analysed=True`; the scan turns each such diagnostic into an error-level
    APX-SCAN-001 finding at `path` (and `line`, else line 1), which fails the gate like a leak.
    One that means "part of the file was not analysed" (a syntax error tree-sitter recovered from:
    the rest was analysed) sets `partly=True` too: a warning-level APX-SCAN-001 finding. Any new
    limit (a size or time cap in a frontend) only has to return its diagnostic with
    `not_analysed=True` and `message` saying why, in a few words the finding quotes
    ("file larger than 20 MB"). Problems that lose nothing (an empty file, bad UTF-8 bytes
    replaced, one malformed entry of a labels file) stay plain diagnostics."""

    path: str
    stage: str  # "read", "parse", "metadata", "policy", ...
    message: str
    line: int = 0
    not_analysed: bool = False  # the file, or part of it (`partly`), was skipped: APX-SCAN-001
    partly: bool = False  # with not_analysed: only part of the file was skipped


# --- sensitivity -------------------------------------------------------------------------------


class Sensitivity(str, Enum):
    SENSITIVE = "sensitive"  # personal, financial, identifier, free text: sending it abroad is an error
    UNKNOWN = "unknown"  # record data the catalog, the org and the heuristics cannot place
    NON_SENSITIVE = "non-sensitive"  # a category or flag; listed for the inventory only


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A concrete SObject field, as the org names it (original case kept for messages)."""

    object: str
    field: str

    def __str__(self) -> str:
        return f"{self.object}.{self.field}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.object.lower(), self.field.lower())


@dataclass(frozen=True, slots=True)
class FieldClass:
    """How sensitive one field is, and why we think so (shown to the user)."""

    sensitivity: Sensitivity
    category: str  # "personal", "financial", "identifier", "free-text", "special-category", "other"
    reason: str  # "catalog", "securityClassification=Restricted", "name matches IBAN", "policy", ...


# --- metadata facts (from *-meta.xml) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomFieldMeta:
    """objects/<Object>/fields/<Field>.field-meta.xml (or a <fields> entry in an mdapi .object)."""

    object: str
    field: str
    type: str = ""  # Text, LongTextArea, Picklist, Checkbox, Lookup, EncryptedText, ...
    security_classification: str = ""  # Public, Internal, Confidential, Restricted, MissionCritical
    compliance_groups: tuple[str, ...] = ()  # PII, GDPR, PCI, ...
    encryption_scheme: str = ""  # None, ProbabilisticEncryption, ...
    reference_to: str = ""  # target object of a lookup / master-detail
    relationship_name: str = ""  # the __r name without the suffix
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class NamedCredentialMeta:
    name: str
    url: str  # "" when the file has no URL (then the host is unknown)
    location: Location
    external_credential: str = ""
    network_connection: str = ""  # the Private Connect outbound network connection it sends through


@dataclass(frozen=True, slots=True)
class RemoteSiteMeta:
    name: str
    url: str
    active: bool
    location: Location


# --- where data goes ---------------------------------------------------------------------------


class Verdict(str, Enum):
    SOVEREIGN = "sovereign"  # allowed by the policy: no finding
    FOREIGN = "foreign"  # an LLM outside the allowed jurisdictions/regions
    UNKNOWN = "unknown"  # an LLM (or LLM-shaped request) whose jurisdiction cannot be decided
    NOT_LLM = "not-llm"  # a known host that is not an LLM API: out of scope
    IN_ORG = "in-org"  # a callout to the org itself (/services/data, URL.getOrgDomainUrl())


@dataclass(frozen=True, slots=True)
class Destination:
    """One resolved (or unresolvable) endpoint, classified against the registry and the policy."""

    url: str  # the endpoint as far as it could be resolved ("" when nothing is known)
    host: str  # lower-case host, "" when unknown
    provider: str  # "OpenAI", "" when not a known LLM provider
    jurisdiction: str  # provider's legal seat, e.g. "US", "FR"; "" when unknown
    region: str  # data-processing region, e.g. "EU", "US", "global"; "" when unknown
    verdict: Verdict
    how: str  # "literal", "constant", "named credential OpenAI", "custom label X", "unresolved: ..."
    evidence: tuple[str, ...] = ()  # why we think this is an LLM call when the host says nothing
    note: str = ""  # registry or resolution caveat shown in the message
    # An LLM only by an API path that other kinds of API use too, on a host nobody knows: it stays
    # one only for a request whose body is shaped like a prompt (decided where the request is sent).
    needs_shape: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a witness path: where the data is and what just happened to it."""

    location: Location
    message: str


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    location: Location  # where data leaves the org (Http.send, the setEndpoint of a hard-coded URL ...)
    message: str
    destination: Destination
    fields: tuple[tuple[FieldRef, FieldClass], ...] = ()  # every field that reaches the sink, sorted
    paths: tuple[tuple[Step, ...], ...] = ()  # one witness path per source, each ending at `location`
    confidence: str = "high"  # "high", "medium", "low"
    level: str = ""  # overrides the rule's default level when set
    extra: tuple[tuple[str, str], ...] = field(default=())  # stable key/values for JSON output
    # The reason given by an inline `apexscan:ignore` comment that suppresses this finding ("" when
    # not suppressed). Set by suppress.py after the scan; a suppressed finding is still reported
    # (SARIF `suppressions`) but never fails the run.
    suppression: str = ""


def finding_order(finding: Finding) -> tuple:
    """Sort key: file, line, column, rule, then everything else so that the order is total."""
    loc = finding.location
    return (
        loc.path, loc.line, loc.col, finding.rule_id, loc.end_line, loc.end_col,
        finding.destination.host, finding.destination.url, finding.message,
        tuple(str(ref) for ref, _ in finding.fields), finding.confidence, finding.level,
        tuple(tuple((step.location, step.message) for step in path) for path in finding.paths),
        finding.extra,
    )


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=finding_order)
