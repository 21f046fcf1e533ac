"""Flow XML (*.flow-meta.xml, mdapi *.flow) -> facts, in the same shapes as Apex.

A flow becomes one function `flow:<name>`; its variables, formulas, text templates and element
outputs are that function's nodes. Merge fields (`{!Get_Case.Description}`) and element references
(`$Record.Email`) are read as field paths, so the linker and the search treat a flow exactly like
Apex: `$Record` and Get Records are sources, assignments/formulas/templates/loops propagate, Apex
actions call the class's @InvocableMethod, subflows call other flows, and External Service / HTTP
Callout actions are sinks.
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
from apexscan.salesforce.apex_models import is_config_object

REFERENCE = re.compile(r"^\$?[A-Za-z][\w$]*(?:\.[\w$]+)*$")
RECORD_TRIGGERS = {"recordaftersave", "recordbeforesave", "recordbeforedelete", "scheduled"}
# Flow action types that send data out of the org over HTTP.
HTTP_ACTIONS = {"externalservice": "External Service action", "httpcallout": "HTTP Callout action"}
# <status> of a flow version that can never run: no facts at all. (Draft flows are analysed: a draft is
# often the version about to be activated, and a screen flow can be run from the builder.)
INACTIVE_STATUSES = {"obsolete", "invaliddraft"}
# Global variables that are configuration, not data.
NOT_DATA = {"$label", "$flow", "$api", "$setup", "$permission", "$customMetadata".lower(), "$system"}


def flow_name(path: str) -> str:
    stem = path.rsplit("/", 1)[-1]
    for suffix in (".flow-meta.xml", ".flow"):
        if stem.lower().endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def lower_flow(path: str, data: bytes) -> FileFacts:
    root = parse_xml(data)
    if isinstance(root, XmlError):
        return FileFacts(path=path, diagnostics=(root.diagnostic(path, not_analysed=True),))
    if root.tag != "Flow":
        return FileFacts(path=path, diagnostics=(Diagnostic(path, "parse", f"not a Flow (root element <{root.tag}>)",
                                                               not_analysed=True),))
    if root.findtext("status").strip().lower() in INACTIVE_STATUSES:
        return FileFacts(path=path)  # an obsolete or invalid version never runs
    return FlowLowerer(path, flow_name(path), root).run()


class FlowLowerer:
    def __init__(self, path: str, name: str, root: Element):
        self.path = path
        self.name = name
        self.root = root
        self.fid = f"flow:{name.lower()}"
        self.assigns: list[Assign] = []
        self.calls: list[Call] = []
        self.sources: list[Source] = []
        self.sinks: list[Sink] = []
        self.endpoints: list[EndpointSet] = []
        self.seen_globals: set[str] = set()

    def loc(self, e: Element) -> Location:
        return Location(self.path, e.line, e.col)

    def node(self, name: str) -> str:
        return f"{self.fid}#{name.lower()}"

    # --- references -----------------------------------------------------------------------------

    def reference(self, text: str, at: Element) -> tuple[Inflow, ...]:
        """`Get_Case.Description` / `$Record.Owner.Email` -> the value it names."""
        parts = text.strip().split(".")
        head = parts[0].lower()
        if head in NOT_DATA or not REFERENCE.match(text.strip()):
            return ()
        if head == "$user" and head not in self.seen_globals:
            self.seen_globals.add(head)
            self.sources.append(Source(self.node("$user"), "User", (("*",),), ("*",), "$User", self.loc(at)))
        elif head == "$organization" or head.startswith("$"):
            if head not in ("$record", "$record__prior", "$user"):
                return ()
        path = tuple(p.lower() for p in parts[1:])
        return (Inflow(Ref(self.node(head), "", path), (), text.strip()),)

    def value(self, e: Element | None) -> tuple[Inflow, ...]:
        """A <value> (or any element holding one): elementReference, stringValue with merge fields."""
        if e is None:
            return ()
        ref = e.findtext("elementReference")
        if ref:
            return self.reference(ref, e)
        text = e.findtext("stringValue") or e.findtext("formulaExpression")
        return self.merge_fields(text, e) if text else ()

    def merge_fields(self, text: str, at: Element) -> tuple[Inflow, ...]:
        out: list[Inflow] = []
        for m in MERGE_FIELD.finditer(text):
            out.extend(Inflow(i.ref, i.ops + (CONCAT,), i.text) for i in self.reference(m.group(1).strip(), at))
        return tuple(out)

    def assign(self, target: str, value: tuple[Inflow, ...], verb: str, at: Element) -> None:
        if not value:
            return
        parts = target.strip().split(".")
        # `$Output.Prompt` (a template-triggered prompt flow's "Add Prompt Instructions"): what the
        # flow returns to the prompt template that runs it.
        head = "return" if parts[0].lower() == "$output" else parts[0]
        ref = Ref(self.node(head), "", tuple(p.lower() for p in parts[1:]))
        self.assigns.append(Assign(ref, value, verb, self.loc(at), self.fid))

    # --- elements -------------------------------------------------------------------------------

    def run(self) -> FileFacts:
        r = self.root
        params = []
        for var in r.findall("variables"):
            name = var.findtext("name")
            if name and var.findtext("isInput") == "true":
                params.append(Param(name.lower(), var.findtext("objectType").lower() or var.findtext("dataType").lower()))
            if name and var.findtext("isOutput") == "true":
                # Each output variable under its own name: a caller reads the ones it wants
                # (`outputAssignments`, Apex `getVariableValue('name')`).
                self.assigns.append(Assign(Ref(self.node("return"), "", (name.lower(),)),
                                           (Inflow(Ref(self.node(name)), (), name),),
                                           f"returned from flow {self.name} as {name}", self.loc(var), self.fid))
        self.start(r.find("start"))
        for e in r.findall("recordLookups"):
            self.record_lookup(e)
        for e in r.findall("assignments"):
            for item in e.findall("assignmentItems"):
                target = item.findtext("assignToReference")
                if target:
                    verb = "added to" if item.findtext("operator") == "Add" else "assigned to"
                    self.assign(target, self.value(item.find("value")), f"{verb} {target} in {e.findtext('name')}", item)
        for e in r.findall("formulas"):
            name = e.findtext("name")
            if name:
                self.assign(name, self.merge_fields(e.findtext("expression"), e), f"used in formula {name}", e)
        for e in r.findall("textTemplates"):
            name = e.findtext("name")
            if name:
                self.assign(name, self.merge_fields(e.findtext("text"), e), f"merged into text template {name}", e)
        for e in r.findall("loops"):
            name = e.findtext("name")
            coll = e.findtext("collectionReference")
            if name and coll:
                value = self.reference(coll, e)
                self.assign(name, value, f"iterated by loop {name}", e)
                item = e.findtext("assignNextValueToReference")
                if item:
                    self.assign(item, value, f"iterated by loop {name}", e)
        for e in r.findall("recordCreates"):
            self.record_create(e)
        for e in r.findall("actionCalls"):
            self.action(e)
        for e in r.findall("subflows"):
            self.subflow(e)
        for screen in r.findall("screens"):
            for e in screen.findall("actions"):
                self.action(e)
        function = Function(fid=self.fid, cls=self.fid, name=self.name.lower(), display=f"flow {self.name}",
                            params=tuple(params), is_static=True, annotations=("flow",),
                            location=Location(self.path, r.line, r.col))
        info = ClassInfo(name=self.fid, display=f"flow {self.name}", kind="flow", superclass="",
                         interfaces=(), fields=(), is_test=False, location=Location(self.path, r.line, r.col))
        return FileFacts(path=self.path, classes=(info,), functions=(function,), assigns=tuple(self.assigns),
                         calls=tuple(self.calls), sources=tuple(self.sources), endpoints=tuple(self.endpoints),
                         sinks=tuple(self.sinks))

    def start(self, e: Element | None) -> None:
        if e is None:
            return
        obj = e.findtext("object")
        trigger = e.findtext("triggerType").lower()
        if not obj:
            return
        if trigger == "platformevent":
            self.assigns.append(Assign(Ref(self.node("$record")), (Inflow(Ref(f"E:{obj.lower()}"), (), obj),),
                                       f"delivered to flow {self.name} as $Record", self.loc(e), self.fid))
        elif trigger in RECORD_TRIGGERS:
            for var in ("$Record", "$Record__Prior"):
                self.sources.append(Source(self.node(var), obj, (("*",),), ("*",),
                                           f"{var} of record-triggered flow {self.name}", self.loc(e)))

    def record_lookup(self, e: Element) -> None:
        name, obj = e.findtext("name"), e.findtext("object")
        if not name or not obj or is_config_object(obj):
            return
        fields = [f.text.strip() for f in e.findall("queriedFields") if f.text.strip()]
        output = e.findtext("outputReference") or name
        how = f"Get Records {name}"
        if fields:
            self.sources.append(Source(self.node(output), obj, tuple((f.lower(),) for f in fields),
                                       tuple(fields), how, self.loc(e)))
        elif e.findtext("storeOutputAutomatically") == "true" or e.findtext("outputReference"):
            self.sources.append(Source(self.node(output), obj, (("*",),), ("*",), how, self.loc(e)))
        for a in e.findall("outputAssignments"):
            target, field = a.findtext("assignToReference"), a.findtext("field")
            if target and field:
                self.sources.append(Source(self.node(target), obj, ((field.lower(),),), (field,), how,
                                           self.loc(a), scalar=True))

    def record_create(self, e: Element) -> None:
        obj = e.findtext("object")
        if not obj.lower().endswith("__e"):
            return  # a record written to the org is not egress; a platform event reaches subscribers
        for a in e.findall("inputAssignments"):
            field = a.findtext("field")
            value = self.value(a.find("value"))
            if field and value:
                self.assigns.append(Assign(Ref(f"E:{obj.lower()}", "", (field.lower(),)), value,
                                           f"published in platform event {obj}", self.loc(a), self.fid))

    def inputs(self, e: Element, tag: str = "inputParameters") -> tuple[tuple[str, ...], tuple]:
        names, values = [], []
        for p in e.findall(tag):
            name = p.findtext("name")
            if name:
                names.append(name.lower())
                values.append(self.value(p.find("value")))
        return tuple(names), tuple(values)

    def action(self, e: Element) -> None:
        name = e.findtext("name")
        kind = e.findtext("actionType").lower()
        action = e.findtext("actionName")
        if not name or not action:
            return
        result = self.node(name)
        names, values = self.inputs(e)
        site = f"{self.path}:{e.line}:{e.col}"
        if kind == "apex":
            cls = action.split("::")[-1].lower()
            self.calls.append(Call(site=site, caller=self.fid, name="*", receiver=(), static_type=cls,
                                   receiver_type="", args=values, arg_strs=tuple(() for _ in values),
                                   result=result, location=self.loc(e), text=f"Apex action {name} ({action})",
                                   kind="invocable", library="none", arg_names=names))
        elif kind in ("flow", "subflow"):
            self.calls.append(Call(site=site, caller=self.fid, name=action.lower(), receiver=(),
                                   static_type=action.lower(), receiver_type="", args=values,
                                   arg_strs=tuple(() for _ in values), result=result, location=self.loc(e),
                                   text=f"subflow {action}", kind="flow", library="none", arg_names=names))
        elif kind == "generatepromptresponse":  # a Prompt Builder template run by the flow
            self.calls.append(Call(site=site, caller=self.fid, name=action.lower(), receiver=(),
                                   static_type=action.lower(), receiver_type="", args=values,
                                   arg_strs=tuple(() for _ in values), result=result, location=self.loc(e),
                                   text=f"prompt template {action}", kind="template", library="none",
                                   arg_names=tuple(n.removeprefix("input:") for n in names)))
        elif kind in HTTP_ACTIONS:
            registration, _, operation = action.split("::")[-1].partition(".")
            for value in values:
                if value:
                    self.assigns.append(Assign(Ref(result), value, f"sent by {HTTP_ACTIONS[kind]} {name}",
                                               self.loc(e), self.fid))
            self.endpoints.append(EndpointSet(Ref(result), (("esr", registration, operation),), self.loc(e),
                                              f"{HTTP_ACTIONS[kind]} {name} ({action})"))
            self.sinks.append(Sink(Ref(result), "http", f"{HTTP_ACTIONS[kind]} {name}", self.fid,
                                   self.loc(e), action))
        for out in e.findall("outputParameters"):
            target = out.findtext("assignToReference")
            if target:
                self.assign(target, (self.output(result, out, name, kind in ("flow", "subflow")),), f"output of {name}", out)

    def subflow(self, e: Element) -> None:
        name, target = e.findtext("name"), e.findtext("flowName")
        if not name or not target:
            return
        names, values = self.inputs(e, "inputAssignments")
        result = self.node(name)
        self.calls.append(Call(site=f"{self.path}:{e.line}:{e.col}", caller=self.fid, name=target.lower(),
                               receiver=(), static_type=target.lower(), receiver_type="", args=values,
                               arg_strs=tuple(() for _ in values), result=result, location=self.loc(e),
                               text=f"subflow {target}", kind="flow", library="none", arg_names=names))
        for out in e.findall("outputAssignments"):
            to = out.findtext("assignToReference")
            if to:
                self.assign(to, (self.output(result, out, name, True),), f"output of subflow {name}", out)

    def output(self, result: str, out: Element, element: str, of_flow: bool) -> Inflow:
        """One output of an action or subflow: of another flow, just the output variable it names
        (a flow returns each output under its name); of any other action, its whole result."""
        param = out.findtext("name")
        if of_flow and param:
            return Inflow(Ref(result, "", (param.lower(),)), (), f"{element}.{param}")
        return Inflow(Ref(result), (), element)
