"""Prompt Builder templates (genAiPromptTemplates/*.genAiPromptTemplate-meta.xml) -> facts.

A template is an LLM request defined in XML: its merge fields pull record fields
(`{!$Input:Account.AnnualRevenue}`), related lists, the running user, and grounding from Apex or
Flow (`{!$Apex:Class.Prompt}`), and its `primaryModel` names the Salesforce-hosted model that
receives it. So the template is one function `template:<name>` whose content node is a sink to
that model; Apex grounding classes are called like Flow's Apex actions, and Apex or Flow data
providers receive the template's inputs named in their `<parameters>`. A File input
(`SOBJECT://ContentDocument`, the input of multimodal templates) sends the file's content with the
prompt whether or not a merge field names it.
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
# Input objects whose records are files: the model receives the file itself (its latest version's
# content), not only the fields merged into the text.
FILE_OBJECTS = {"contentdocument": "ContentDocument", "contentversion": "ContentVersion"}


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
    sources, calls, assigns = [], [], []
    for i in version.findall("inputs"):
        definition = i.findtext("definition")
        reference = i.findtext("referenceName").removeprefix("Input:")
        if definition.startswith("SOBJECT://") and reference:
            obj = definition[len("SOBJECT://"):]
            objects[reference.lower()] = obj
            if obj.lower() in FILE_OBJECTS:
                sources.append(Source(node, "ContentVersion", (("versiondata",),), ("VersionData",),
                                      f"file input {{!$Input:{reference}}} ({obj}) of prompt template {name}: "
                                      f"the file's content is sent with the prompt",
                                      Location(path, i.line, i.col), scalar=True))
        elif reference:
            params.append(Param(reference.lower(), definition.lower()))
    providers = _provider_inputs(version, fid, objects, {p.name for p in params}, path, name)
    sources.extend(src for _, _, found in providers.values() for src in found)
    text = content.text if content is not None else ""
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
            names, values, _ = providers.get((kind, target.lower()), ((), (), ()))
            calls.append(Call(site=f"{path}:{loc.line}:{kind}:{target}", caller=fid, name="*", receiver=(),
                              static_type=target.lower(), receiver_type="", args=values,
                              arg_strs=tuple(() for _ in values), result=result, location=loc,
                              text=f"grounding {{!${kind.capitalize()}:{ref}}}",
                              kind="invocable" if kind == "apex" else "flow", library="none", arg_names=names))
            assigns.append(Assign(Ref(node), (Inflow(Ref(result), (CONCAT,), f"{{!${kind}:{ref}}}"),),
                                  f"merged into prompt template {name}", loc, fid))
    for m in _merge_fields(text, USER_FIELD):
        sources.append(Source(node, "User", (tuple(p.lower() for p in m.group(1).split(".")),),
                              (m.group(1),), f"{{!$User.{m.group(1)}}} in prompt template {name}", loc, scalar=True))
    model = version.findtext("primaryModel")
    # A data provider whose output no merge field uses is still run with its inputs, but nothing it
    # returns is in the prompt: only the providers merged above are linked.
    endpoints = (EndpointSet(Ref(node), (("model", (("lit", model),) if model else (("unknown", "model chosen in Setup"),)),),
                             loc, f"prompt template {name}"),)
    sinks = (Sink(Ref(node), "model", f"prompt template {name}", fid, loc, name),)
    info = ClassInfo(name=fid, display=f"prompt template {name}", kind="template", superclass="",
                     interfaces=(), fields=(), is_test=False, location=Location(path, root.line, root.col))
    function = Function(fid=fid, cls=fid, name=name.lower(), display=f"prompt template {name}", params=tuple(params),
                        is_static=True, annotations=("template",), location=loc)
    return FileFacts(path=path, classes=(info,), functions=(function,), assigns=tuple(assigns),
                     calls=tuple(calls), sources=tuple(sources), endpoints=endpoints, sinks=sinks)


PROVIDER = re.compile(r"^(apex|flow)://(.+)$", re.IGNORECASE)


def _provider_inputs(version: Element, fid: str, objects: dict[str, str], params: set[str], path: str,
                     name: str) -> dict[tuple[str, str], tuple[tuple[str, ...], tuple, tuple[Source, ...]]]:
    """For each Apex or Flow data provider: the names and values of the inputs its `<parameters>`
    pass (`{!$Input:contactId}`, a record input as a whole), and the sources those values need."""
    out: dict[tuple[str, str], tuple[tuple[str, ...], tuple, tuple[Source, ...]]] = {}
    for provider in version.findall("templateDataProviders"):
        m = PROVIDER.match(provider.findtext("definition").strip())
        if m is None:
            continue
        names: list[str] = []
        values: list[tuple[Inflow, ...]] = []
        found: list[Source] = []
        for parameter in provider.findall("parameters"):
            pname = parameter.findtext("parameterName").strip()
            expression = parameter.findtext("valueExpression")
            value: list[Inflow] = []
            for merge in _merge_fields(expression, RESOURCE):
                if merge.group(1).lower() != "input":
                    continue
                parts = merge.group(2).split(".")
                head = parts[0].lower()
                where = Location(path, parameter.line, parameter.col)
                if head in objects:  # a record input: as a whole, or one of its fields
                    node = f"{fid}#input:{head}"
                    fields = (tuple(p.lower() for p in parts[1:]),) if len(parts) > 1 else (("*",),)
                    found.append(Source(node, objects[head], fields, (".".join(parts[1:]) or "*",),
                                        f"input {{!$Input:{merge.group(2)}}} of prompt template {name}", where,
                                        scalar=len(parts) > 1))
                    value.append(Inflow(Ref(node), (), f"{{!$Input:{merge.group(2)}}}"))
                elif head in params:
                    value.append(Inflow(Ref(f"{fid}#{head}"), (), f"{{!$Input:{merge.group(2)}}}"))
            if pname and value:
                names.append(pname.lower())
                values.append(tuple(value))
        out[(m.group(1).lower(), m.group(2).strip().lower())] = (tuple(names), tuple(values), tuple(found))
    return out
