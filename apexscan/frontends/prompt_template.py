"""Prompt Builder templates (genAiPromptTemplates/*.genAiPromptTemplate-meta.xml) -> facts.

A template is an LLM request defined in XML: its merge fields pull record fields
(`{!$Input:Account.AnnualRevenue}`), related lists, the running user, and grounding from Apex or
Flow (`{!$Apex:Class.Prompt}`), and its `primaryModel` names the Salesforce-hosted model that
receives it. So the template is one function `template:<name>` whose content node is a sink to
that model; Apex grounding classes are called like Flow's Apex actions.
"""
from __future__ import annotations

import re

from apexscan.engine.facts import (
    Assign,
    Call,
    ClassInfo,
    EndpointSet,
    FileFacts,
    Function,
    Inflow,
    Param,
    Ref,
    Sink,
    Source,
)
from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends.common import CONCAT, MERGE_FIELD
from apexscan.frontends.xmlsafe import Element, XmlError
from apexscan.frontends.xmlsafe import parse as parse_xml

# What a merge field of a template holds: a typed resource (`{!$Input:Account.AnnualRevenue}`,
# `{!$Apex:Class.Prompt}`) or a field of the running user (`{!$User.Email}`).
RESOURCE = re.compile(r"\$([A-Za-z]+):(.+)", re.DOTALL)
USER_FIELD = re.compile(r"\$User\.([\w.]+)")


def _merge_fields(text: str, pattern: re.Pattern) -> list[re.Match]:
    """What `pattern` matches in each merge field of `text` that it matches whole."""
    found = (pattern.fullmatch(m.group(1).strip()) for m in MERGE_FIELD.finditer(text))
    return [m for m in found if m is not None]


def template_name(path: str) -> str:
    stem = path.rsplit("/", 1)[-1]
    for suffix in (".genAiPromptTemplate-meta.xml", ".genAiPromptTemplate"):
        if stem.lower().endswith(suffix.lower()):
            return stem[: -len(suffix)]
    return stem


def lower_prompt_template(path: str, data: bytes) -> FileFacts:
    root = parse_xml(data)
    if isinstance(root, XmlError):
        return FileFacts(path=path, diagnostics=(root.diagnostic(path, not_analysed=True),))
    if root.tag != "GenAiPromptTemplate":
        return FileFacts(path=path, diagnostics=(
            Diagnostic(path, "parse", f"not a prompt template (root element <{root.tag}>)", not_analysed=True),))
    versions = root.findall("templateVersions")
    if not versions:
        return FileFacts(path=path)
    name = root.findtext("developerName") or template_name(path)
    active = root.findtext("activeVersionIdentifier")
    version = next((v for v in versions if active and v.findtext("versionIdentifier") == active), versions[-1])
    return _lower(path, name, root, version)


def _lower(path: str, name: str, root: Element, version: Element) -> FileFacts:
    fid = f"template:{name.lower()}"
    content = version.find("content")
    at = content if content is not None else version
    loc = Location(path, at.line, at.col)
    node = f"{fid}#content"
    objects, params = {}, []
    for i in version.findall("inputs"):
        definition = i.findtext("definition")
        reference = i.findtext("referenceName").removeprefix("Input:")
        if definition.startswith("SOBJECT://") and reference:
            objects[reference.lower()] = definition[len("SOBJECT://"):]
        elif reference:
            params.append(Param(reference.lower(), definition.lower()))
    text = content.text if content is not None else ""
    sources, calls, assigns = [], [], []
    for kind, ref in ((m.group(1).lower(), m.group(2)) for m in _merge_fields(text, RESOURCE)):
        parts = ref.split(".")
        if kind == "input" and parts[0].lower() in objects and len(parts) > 1:
            obj = objects[parts[0].lower()]
            sources.append(Source(node, obj, (tuple(p.lower() for p in parts[1:]),), (".".join(parts[1:]),),
                                  f"merge field {{!$Input:{ref}}} of prompt template {name}", loc, scalar=True))
        elif kind == "input" and parts[0].lower() in {p.name for p in params}:
            # A typed input filled by whoever runs the template (a Flow prompt action ...).
            assigns.append(Assign(Ref(node), (Inflow(Ref(f"{fid}#{parts[0].lower()}"), (CONCAT,), f"{{!$Input:{ref}}}"),),
                                  f"merged into prompt template {name}", loc, fid))
        elif kind == "relatedlist" and len(parts) >= 2:
            sources.append(Source(node, parts[0], ((parts[1].lower(),),), (parts[1],),
                                  f"related list {{!$RelatedList:{ref}}} of prompt template {name}", loc,
                                  scalar=True))
        elif kind in ("apex", "flow"):
            target = parts[0]
            result = f"{fid}#{kind}:{target.lower()}"
            calls.append(Call(site=f"{path}:{loc.line}:{kind}:{target}", caller=fid, name="*", receiver=(),
                              static_type=target.lower(), receiver_type="", args=(), arg_strs=(),
                              result=result, location=loc, text=f"grounding {{!${kind.capitalize()}:{ref}}}",
                              kind="invocable" if kind == "apex" else "flow", library="none"))
            assigns.append(Assign(Ref(node), (Inflow(Ref(result), (CONCAT,), f"{{!${kind}:{ref}}}"),),
                                  f"merged into prompt template {name}", loc, fid))
    for m in _merge_fields(text, USER_FIELD):
        sources.append(Source(node, "User", (tuple(p.lower() for p in m.group(1).split(".")),),
                              (m.group(1),), f"{{!$User.{m.group(1)}}} in prompt template {name}", loc, scalar=True))
    model = version.findtext("primaryModel")
    endpoints = (EndpointSet(Ref(node), (("model", (("lit", model),) if model else (("unknown", "model chosen in Setup"),)),),
                             loc, f"prompt template {name}"),)
    sinks = (Sink(Ref(node), "model", f"prompt template {name}", fid, loc, name),)
    info = ClassInfo(name=fid, display=f"prompt template {name}", kind="template", superclass="",
                     interfaces=(), fields=(), is_test=False, location=Location(path, root.line, root.col))
    function = Function(fid=fid, cls=fid, name=name.lower(), display=f"prompt template {name}", params=tuple(params),
                        is_static=True, annotations=("template",), location=loc)
    return FileFacts(path=path, classes=(info,), functions=(function,), assigns=tuple(assigns),
                     calls=tuple(calls), sources=tuple(sources), endpoints=endpoints, sinks=sinks)
