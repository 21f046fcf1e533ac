"""Arrivals at sinks -> findings: which rule, which fields, which destination, which paths.

The rule table is the cell (what reached the sink) x (where the sink sends it):
  sensitive fields      x foreign LLM  -> APX-LLM-001 (error)
  a whole record        x foreign/unknown LLM -> APX-LLM-002 (error), besides the field finding
  sensitive fields      x LLM of unknown jurisdiction -> APX-LLM-003 (warning)
  unclassified fields   x foreign LLM  -> APX-LLM-004 (warning)
  non-sensitive fields  x foreign LLM  -> APX-LLM-005 (note, for the inventory)
  a literal LLM URL in code (no Named Credential)  -> APX-LLM-006 (note)
Sovereign, in-org and non-LLM destinations produce no finding.

Records whose object is known only at run time (`Database.query('SELECT ... FROM ' + objectName)`,
a query string written by the model) are real data of unknown sensitivity: serialized whole they
are APX-LLM-002 at warning level and medium confidence, and they add no field-level finding.
"""
from __future__ import annotations

from dataclasses import dataclass

from apexscan.engine.model import (
    Destination,
    FieldClass,
    FieldRef,
    Finding,
    Location,
    Sensitivity,
    Step,
    Verdict,
)
from apexscan.salesforce.endpoints import ASSUMED

RANK = {Sensitivity.SENSITIVE: 0, Sensitivity.UNKNOWN: 1, Sensitivity.NON_SENSITIVE: 2}
RUNTIME_OBJECT = "SObject"  # the object of records whose type is known only at run time
FIELD_RULE = {Sensitivity.SENSITIVE: "APX-LLM-001", Sensitivity.UNKNOWN: "APX-LLM-004",
              Sensitivity.NON_SENSITIVE: "APX-LLM-005"}


@dataclass(frozen=True, slots=True)
class DataReach:
    """One field (or whole record) that reached a sink, with its witness path."""

    field: FieldRef
    klass: FieldClass
    whole: bool  # the record was serialized as a whole on the way
    steps: tuple[Step, ...]
    certain: bool = True  # False for "some fields of X" from a query whose select list is unknown


@dataclass(frozen=True, slots=True)
class SinkReach:
    """Everything known at one sink: its data, its destinations and any LLM evidence."""

    location: Location
    api: str
    data: tuple[DataReach, ...]
    destinations: tuple[Destination, ...]


def sink_findings(reach: SinkReach) -> list[Finding]:
    findings: list[Finding] = []
    if not reach.data:
        return findings
    for dest in reach.destinations:
        if dest.verdict == Verdict.FOREIGN:
            findings.extend(_foreign(reach, dest))
        elif dest.verdict == Verdict.UNKNOWN and (dest.evidence or dest.provider):
            findings.extend(_unknown(reach, dest))
    return findings


def _foreign(reach: SinkReach, dest: Destination) -> list[Finding]:
    out = []
    fielded = tuple(d for d in reach.data if not _runtime_record(d))
    if fielded:
        worst = min(RANK[d.klass.sensitivity] for d in fielded)
        rule = FIELD_RULE[next(s for s, r in RANK.items() if r == worst)]
        out.append(_finding(rule, reach, dest, fielded))
    out.extend(_whole_records(reach, dest, "high"))
    return out


def _unknown(reach: SinkReach, dest: Destination) -> list[Finding]:
    sensitive = tuple(d for d in reach.data if d.klass.sensitivity == Sensitivity.SENSITIVE)
    out = []
    if sensitive:
        out.append(_finding("APX-LLM-003", reach, dest, sensitive, confidence="medium"))
    out.extend(_whole_records(reach, dest, "medium"))
    return out


def _whole_records(reach: SinkReach, dest: Destination, confidence: str) -> list[Finding]:
    """APX-LLM-002; records of an object known only at run time alone make it a warning."""
    wholes = tuple(d for d in reach.data if d.whole)
    if not wholes:
        return []
    if all(_runtime_record(d) for d in wholes):
        return [_finding("APX-LLM-002", reach, dest, wholes, confidence="medium", level="warning")]
    return [_finding("APX-LLM-002", reach, dest, wholes, confidence=confidence)]


def _runtime_record(d: DataReach) -> bool:
    return d.field.object == RUNTIME_OBJECT and d.field.field == "*"


def _finding(rule: str, reach: SinkReach, dest: Destination, data: tuple[DataReach, ...],
             confidence: str = "high", level: str = "") -> Finding:
    by_field: dict[FieldRef, DataReach] = {}
    for d in sorted(data, key=lambda d: (str(d.field), len(d.steps))):
        by_field.setdefault(d.field, d)
    ordered = sorted(by_field.values(), key=lambda d: (RANK[d.klass.sensitivity], str(d.field)))
    sink_step = Step(reach.location, f"sent by {reach.api} to {describe(dest)}")
    paths = tuple(d.steps + (sink_step,) if d.steps[-1] != sink_step else d.steps for d in ordered)
    if not all(d.certain for d in ordered) and confidence == "high":
        confidence = "medium"  # the fields come from a query built at run time
    if ASSUMED in dest.how and confidence == "high":
        confidence = "medium"  # the destination is inferred from names: its metadata is not in the project
    if dest.verdict == Verdict.UNKNOWN and not dest.provider:
        confidence = "low" if not dest.evidence else confidence
    return Finding(
        rule_id=rule, location=reach.location, message=_message(rule, reach, dest, ordered),
        destination=dest, fields=tuple((d.field, d.klass) for d in ordered), paths=paths,
        confidence=confidence, level=level)


def describe(dest: Destination) -> str:
    if dest.host:
        parts = [p for p in (dest.provider, dest.jurisdiction and f"seat {dest.jurisdiction}",
                             dest.region and f"region {dest.region}") if p]
        return f"{dest.host} ({', '.join(parts)})" if parts else dest.host
    if dest.url and dest.url != "{?}":
        return f"{dest.url} (only partly known)" if "{?}" in dest.url else dest.url
    return "an endpoint that cannot be determined"


def _fields_text(data: list[DataReach], limit: int = 6) -> str:
    def name(d: DataReach) -> str:
        if _runtime_record(d):
            return "records of an object chosen at run time"
        return f"every field of {d.field.object}" if d.field.field == "*" else str(d.field)
    names = [f"{name(d)} ({d.klass.category})" if d.klass.sensitivity != Sensitivity.NON_SENSITIVE
             else name(d) for d in data]
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" and {more} more" if more > 0 else "")


def _message(rule: str, reach: SinkReach, dest: Destination, data: list[DataReach]) -> str:
    fields = _fields_text(data)
    where = describe(dest)
    tail = f" Endpoint: {dest.how}." if dest.how else ""
    if dest.note:
        tail += f" {dest.note}"
    if rule == "APX-LLM-001":
        return (f"Sensitive data reaches a non-sovereign LLM: {fields} sent to {where} by "
                f"{reach.api}.{tail}")
    if rule == "APX-LLM-002":
        objs = sorted({d.field.object for d in data if not _runtime_record(d)})
        if any(_runtime_record(d) for d in data):
            if not objs:
                return (f"Records of an object chosen at run time are serialized into an LLM request to "
                        f"{where}: every field the query selects is sent, whatever object it names, so "
                        f"their sensitivity cannot be judged here.{tail}")
            objs.append("run-time chosen object")
        return (f"A whole {', '.join(objs)} record is serialized into an LLM request to {where}: every "
                f"queried field is sent, including fields added later.{tail}")
    if rule == "APX-LLM-003":
        evidence = "; ".join(dest.evidence) if dest.evidence else "the host is a known LLM provider"
        return (f"Sensitive data reaches an LLM endpoint whose jurisdiction cannot be determined: "
                f"{fields} sent to {where} by {reach.api}.{tail} LLM evidence: {evidence}.")
    if rule == "APX-LLM-004":
        return (f"Record data of unknown sensitivity reaches a non-sovereign LLM: {fields} sent to "
                f"{where} by {reach.api}; classify these fields.{tail}")
    return (f"Non-sensitive record data reaches a non-sovereign LLM: {fields} sent to {where} by "
            f"{reach.api}.{tail}")


def hardcoded_endpoint(location: Location, dest: Destination, text: str, service: bool = False) -> Finding:
    """`service`: the endpoint is in a service's code, which is configured by its environment."""
    instead = "configuration (an environment variable)" if service else "a Named Credential"
    return Finding(
        rule_id="APX-LLM-006", location=location,
        message=(f"LLM endpoint {dest.url} ({dest.provider}) is hard-coded ({dest.how}) instead of "
                 f"{instead}: admins cannot see or change where data goes."),
        destination=dest, paths=((Step(location, f"endpoint set here: {text}"),),))
