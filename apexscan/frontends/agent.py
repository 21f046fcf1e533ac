"""Agentforce metadata -> facts: agents, topics, actions and bots (genAiPlannerBundles, genAiPlanners,
genAiPlugins, genAiFunctions with their output/schema.json, bots).

An agent's planner model (Salesforce-managed, named in no metadata) sees what its actions return.
So an action is a function `agent-action:<name>` that runs its target — the Apex class's
@InvocableMethod, the flow, the prompt template — and whose result is sent to that model (a sink
at its `<invocationTarget>`): record data the target reads and returns reaches the model on a
path that runs from the SOQL or Get Records to the action. An output schema in which no property
is `copilotAction:isUsedByPlanner` keeps the result out of the model's context (a Barrier).

Topics (`agent-topic:`) and agents (`agent:`) call the actions they list, which gives the inventory
its entry points; a standard action that reads any record the user can see
(agent_models.RECORD_READING_ACTIONS) is a sink of records of an object chosen at run time where
the topic or agent lists it. A bot's context variables marked `includeInPrompt` send their fields. Agent Script
(`aiAuthoringBundles/<Agent>/<Agent>.agent`) is read for its actions' `target: "flow://..."`
(also `apex://`, `prompt://`, `generatePromptResponse://`, `standardInvocableAction://`) lines.
"""
from __future__ import annotations

import json
import re

from apexscan.engine.facts import (
    Assign,
    Barrier,
    Call,
    ClassInfo,
    EndpointSet,
    FileFacts,
    Function,
    Inflow,
    Ref,
    Sink,
    Source,
)
from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends.xmlsafe import Element, XmlError
from apexscan.frontends.xmlsafe import parse as parse_xml
from apexscan.salesforce import agent_models as A

# File suffixes (lower-case) -> what the file is. Bundles keep no -meta.xml on the planner bundle.
AGENT_SUFFIXES = {
    ".genaifunction-meta.xml": "function", ".genaifunction": "function",
    ".genaiplugin-meta.xml": "plugin", ".genaiplugin": "plugin",
    ".genaiplanner-meta.xml": "planner", ".genaiplanner": "planner",
    ".genaiplannerbundle-meta.xml": "planner", ".genaiplannerbundle": "planner",
    ".bot-meta.xml": "bot", ".botversion-meta.xml": "botversion",
}
ROOTS = {"function": ("GenAiFunction",), "plugin": ("GenAiPlugin",), "planner": ("GenAiPlanner", "GenAiPlannerBundle"),
         "bot": ("Bot",), "botversion": ("BotVersion",)}
PLANNER_KEY = "copilotAction:isUsedByPlanner"  # an output property the planner's model sees
RUNTIME_OBJECT = "SObject"  # records of an object known only at run time (salesforce.findings)


def agent_file(rel: str) -> str:
    """What an Agentforce file is ("function", "plugin", "planner", "bot", "botversion", "schema"),
    or "" when it is none: recognised by suffix, and an action's output schema by its folder."""
    lower = rel.lower()
    name = lower.rsplit("/", 1)[-1]
    for suffix, kind in AGENT_SUFFIXES.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return kind
    parts = lower.split("/")
    if name.endswith(".agent") and "aiauthoringbundles" in parts[:-1]:
        return "agentscript"
    if name == "schema.json" and len(parts) >= 4 and parts[-2] == "output" and \
            ("genaifunctions" in parts[:-3] or "localactions" in parts[:-3]):
        return "schema"
    return ""


def lower_agent(path: str, data: bytes) -> FileFacts:
    kind = agent_file(path)
    if kind == "schema":
        return _output_schema(path, data)
    if kind == "agentscript":
        return _agent_script(path, data)
    root = parse_xml(data)
    if isinstance(root, XmlError):
        return FileFacts(path=path, diagnostics=(root.diagnostic(path),))
    if root.tag not in ROOTS.get(kind, ()):
        return FileFacts(path=path, diagnostics=(Diagnostic(
            path, "parse", f"not a {' or '.join(ROOTS.get(kind, ('known Agentforce file',)))} (root element <{root.tag}>)"),))
    stem = _stem(path)
    facts = _Facts(path)
    if kind == "function":
        facts.function(root, stem)
    elif kind == "plugin":
        name = root.findtext("developerName") or stem
        facts.topic(root, name, f"agent-topic:{name.lower()}")
    elif kind == "planner":
        facts.planner(root, stem)
    elif kind == "bot":
        facts.bot(root, stem)
    else:
        facts.bot_version(root, _bot_of(path), stem)
    return facts.done()


def _names(e: Element, lists: tuple[str, ...], child: str) -> list[tuple[str, Element]]:
    """(name, element naming it) of each entry of the lists `e` has (`<genAiFunctions><functionName>`)."""
    out = []
    for entry in (x for tag in lists for x in e.findall(tag)):
        named = entry.find(child)
        if named is not None and named.text.strip():
            out.append((named.text.strip(), named))
    return out


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    lower = name.lower()
    for suffix in AGENT_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _bot_of(path: str) -> str:
    """bots/<Bot>/v1.botVersion-meta.xml -> "<Bot>"."""
    parts = path.split("/")
    return parts[-2] if len(parts) >= 2 else _stem(path)


def action_fid(name: str) -> str:
    return f"agent-action:{name.lower()}"


class _Facts:
    """The facts of one Agentforce file, built element by element."""

    def __init__(self, path: str):
        self.path = path
        self.classes: list[ClassInfo] = []
        self.functions: list[Function] = []
        self.calls: list[Call] = []
        self.assigns: list[Assign] = []
        self.sources: list[Source] = []
        self.sinks: list[Sink] = []
        self.endpoints: list[EndpointSet] = []

    def loc(self, e: Element) -> Location:
        return Location(self.path, e.line, e.col)

    def done(self) -> FileFacts:
        return FileFacts(path=self.path, classes=tuple(self.classes), functions=tuple(self.functions),
                         assigns=tuple(self.assigns), calls=tuple(self.calls), sources=tuple(self.sources),
                         endpoints=tuple(self.endpoints), sinks=tuple(self.sinks))

    def define(self, fid: str, kind: str, display: str, at: Element) -> None:
        self.classes.append(ClassInfo(name=fid, display=display, kind=kind, superclass="", interfaces=(),
                                      fields=(), is_test=False, location=self.loc(at)))
        self.functions.append(Function(fid=fid, cls=fid, name=fid.split(":", 1)[1], display=display, params=(),
                                       is_static=True, annotations=(kind,), location=self.loc(at)))

    def to_model(self, node: str, api: str, caller: str, at: Element) -> None:
        """`node` is sent to the agents' planner model."""
        self.endpoints.append(EndpointSet(Ref(node), (("model", (("lit", A.PLANNER_MODEL),)),), self.loc(at), api))
        self.sinks.append(Sink(Ref(node), "agent", api, caller, self.loc(at), api))

    # --- actions ------------------------------------------------------------------------------

    def function(self, e: Element, name: str, fid: str = "") -> None:
        """A GenAiFunction (or a planner bundle's local action): it runs its target, and the
        planner's model gets what the target returns."""
        at = e.find("invocationTarget")
        self.action(fid or action_fid(e.findtext("developerName") or name), name,
                    e.findtext("invocationTargetType"), e.findtext("invocationTarget").split("://")[-1],
                    e if at is None else at, e)

    def action(self, fid: str, name: str, target_type: str, target: str, at: Element, defined: Element) -> None:
        display = f"agent action {name}"
        self.define(fid, "agent-action", display, defined)
        kind = A.TARGET_KINDS.get(target_type.lower(), "")
        result = f"{fid}#result"
        if target and kind in ("apex", "flow", "template"):
            call_kind = {"apex": "invocable", "flow": "flow", "template": "template"}[kind]
            self.calls.append(Call(
                site=f"{self.path}:{at.line}:{at.col}", caller=fid, name="*" if kind == "apex" else target.lower(),
                receiver=(), static_type=target.lower(), receiver_type="", args=(), arg_strs=(), result=result,
                location=self.loc(at), text=f"{target_type} {target}", kind=call_kind, library="none"))
        self.assigns.append(Assign(Ref(f"{fid}#output"), (Inflow(Ref(result), (), f"{target_type} {target}"),),
                                   f"returned to the agent by action {name}", self.loc(at), fid))
        self.to_model(f"{fid}#output", display, fid, at)

    def listed(self, caller: str, names: list[tuple[str, Element]], local: dict[str, str]) -> None:
        """Actions a topic or an agent lists: calls to those in the project (or defined in this
        file), and a sink for each standard action that reads arbitrary records."""
        for name, at in names:
            if name.lower() in A.RECORD_READING_ACTIONS:
                node = f"{caller}#standard:{name.lower()}"
                api = f"standard agent action {name}"
                self.sources.append(Source(node, RUNTIME_OBJECT, (("*",),), ("*",), api, self.loc(at)))
                self.to_model(node, api, caller, at)
                continue
            self.named_call(caller, local.get(name.lower(), action_fid(name)), name, at)

    def named_call(self, caller: str, callee: str, name: str, at: Element) -> None:
        self.calls.append(Call(
            site=f"{self.path}:{at.line}:{at.col}", caller=caller, name=callee, receiver=(), static_type=callee,
            receiver_type="", args=(), arg_strs=(), result=f"{caller}#@{at.line}.{at.col}", location=self.loc(at),
            text=name, kind="named", library="none"))

    # --- topics, agents, bots -----------------------------------------------------------------

    def topic(self, e: Element, name: str, fid: str, local: dict[str, str] | None = None) -> None:
        self.define(fid, "agent-topic", f"agent topic {name}", e)
        self.listed(fid, _names(e, ("genAiFunctions", "localActionLinks"), "functionName"), local or {})

    def planner(self, e: Element, name: str) -> None:
        fid = f"agent:{name.lower()}"
        self.define(fid, "agent", f"agent {name}", e)
        local_topics: dict[str, str] = {}
        for topic in e.findall("localTopics"):
            topic_name = topic.findtext("localDeveloperName") or topic.findtext("fullName")
            full = topic.findtext("fullName") or topic_name
            if not topic_name:
                continue
            topic_fid = f"agent-topic:{name.lower()}.{topic_name.lower()}"
            local_topics[full.lower()] = topic_fid
            actions: dict[str, str] = {}
            for action in topic.findall("localActions"):
                action_name = action.findtext("localDeveloperName") or action.findtext("fullName")
                if not action_name:
                    continue
                action_fid_ = f"agent-action:{name.lower()}.{topic_name.lower()}.{action_name.lower()}"
                actions[(action.findtext("fullName") or action_name).lower()] = action_fid_
                self.function(action, action_name, action_fid_)
            self.topic(topic, topic_name, topic_fid, actions)
        for plugin in e.findall("genAiPlugins"):
            customized = plugin.find("genAiCustomizedPlugin")
            plugin_name = plugin.findtext("genAiPluginName")
            if customized is not None:  # a standard topic adapted inside the agent: its own function list
                self.listed(fid, _names(customized, ("genAiFunctions",), "functionName"), {})
            elif plugin_name:
                self.named_call(fid, local_topics.get(plugin_name.lower(), f"agent-topic:{plugin_name.lower()}"),
                                plugin_name, plugin)
        for link in e.findall("localTopicLinks"):
            plugin_name = link.findtext("genAiPluginName")
            if plugin_name:
                self.named_call(fid, local_topics.get(plugin_name.lower(), f"agent-topic:{plugin_name.lower()}"),
                                plugin_name, link)
        self.listed(fid, _names(e, ("genAiFunctions",), "genAiFunctionName"), {})

    def bot(self, e: Element, name: str) -> None:
        """Context variables included in the prompt send their fields to the agent's model."""
        fid = f"agent-bot:{name.lower()}"
        self.define(fid, "agent", f"agent {name}", e)
        for variable in e.findall("contextVariables"):
            if variable.findtext("includeInPrompt").lower() != "true":
                continue
            node = f"{fid}#context:{variable.findtext('developerName').lower()}"
            seen: set[str] = set()
            for mapping in variable.findall("contextVariableMappings"):
                obj, _, field = mapping.findtext("fieldName").partition(".")
                if obj and field and field.lower() not in seen:
                    seen.add(field.lower())
                    self.sources.append(Source(node, obj, ((field.lower(),),), (field,),
                                               f"context variable {variable.findtext('developerName')} of agent {name}",
                                               self.loc(mapping), scalar=True))
            if seen:
                self.to_model(node, f"agent {name} context variable {variable.findtext('developerName')}", fid,
                              variable.find("includeInPrompt") or variable)

    def bot_version(self, e: Element, bot: str, version: str) -> None:
        fid = f"agent-bot:{bot.lower()}.{version.lower()}"
        self.define(fid, "agent", f"agent {bot}", e)
        for planner in e.findall("conversationDefinitionPlanners"):
            name = planner.findtext("genAiPlannerName")
            if name:
                self.named_call(fid, f"agent:{name.lower()}", name, planner)


# --- output schemas ---------------------------------------------------------------------------------


def _output_schema(path: str, data: bytes) -> FileFacts:
    """genAiFunctions/<Action>/output/schema.json (or a planner bundle's
    localActions/<Topic>/<Action>/output/schema.json): when no output property is used by the
    planner, the action's result never reaches the model."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        return FileFacts(path=path, diagnostics=(Diagnostic(path, "parse", f"not a JSON schema: {exc}"),))
    except RecursionError:  # nested deeper than the JSON reader goes: the result is taken to reach the model
        return FileFacts(path=path, diagnostics=(Diagnostic(path, "parse", "not a JSON schema: nested too deeply"),))
    properties = document.get("properties") if isinstance(document, dict) else None
    if not isinstance(properties, dict):
        return FileFacts(path=path)  # nothing to go by: the result is taken to reach the model
    used = [name for name, spec in properties.items() if not isinstance(spec, dict) or spec.get(PLANNER_KEY, True) is not False]
    if used:
        return FileFacts(path=path)
    parts = path.split("/")
    if "localActions" in parts[:-3] or "localactions" in [p.lower() for p in parts[:-3]]:
        at = [p.lower() for p in parts].index("localactions")
        agent, topic, action = parts[at - 1], parts[-4], parts[-3]
        fid = f"agent-action:{agent.lower()}.{topic.lower()}.{action.lower()}"
    else:
        fid = action_fid(parts[-3])
    reason = (f"no output of agent action {parts[-3]} is used by the planner ({PLANNER_KEY} is false for "
              f"{', '.join(sorted(properties)) or 'every property'}): the result is shown to the user, not sent to the model")
    return FileFacts(path=path, barriers=(Barrier(f"{fid}#output", reason, Location(path, 1, 1)),))


# --- Agent Script -----------------------------------------------------------------------------------

_TARGET = re.compile(r'^(\s*)target:\s*"(?P<scheme>[A-Za-z]+)://(?P<name>[^"]+)"')
_KEY = re.compile(r"^(\s*)(?P<key>[A-Za-z_][\w]*|\"[^\"]+\"):\s*(#.*)?$")
_DEVELOPER_NAME = re.compile(r'^\s*developer_name:\s*"([^"]+)"')
_HIDDEN = re.compile(r"^\s*(filter_from_agent:\s*True|is_used_by_planner:\s*False)\b")
_SHOWN = re.compile(r"^\s*(filter_from_agent:\s*False|is_used_by_planner:\s*True)\b")
# Agent Script target schemes -> GenAiFunction invocationTargetType
SCRIPT_SCHEMES = {"apex": "apex", "flow": "flow", "prompt": "generatePromptResponse",
                  "generatepromptresponse": "generatePromptResponse",
                  "standardinvocableaction": "standardInvocableAction"}


def _agent_script(path: str, data: bytes) -> FileFacts:
    """An Agent Script file: every action with a `target:` is an agent action; a standard record
    action is a sink of records of any object; an action whose outputs are all filtered from the
    agent (`filter_from_agent: True`, `is_used_by_planner: False`) hands the model nothing."""
    try:
        lines = data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        return FileFacts(path=path, diagnostics=(Diagnostic(path, "parse", f"not UTF-8 text: {exc}"),))
    agent = next((m.group(1) for m in map(_DEVELOPER_NAME.match, lines) if m), "") or path.split("/")[-2]
    facts = _Facts(path)
    agent_fid = f"agent:{agent.lower()}"
    top = Element("AgentScript", line=1, col=1)
    facts.define(agent_fid, "agent", f"agent {agent}", top)
    for number, line in enumerate(lines):
        m = _TARGET.match(line)
        if m is None:
            continue
        indent = len(m.group(1))
        start = next((i for i in range(number - 1, -1, -1) if (k := _KEY.match(lines[i])) is not None
                      and len(k.group(1)) < indent), None)
        if start is None:
            continue
        action = _KEY.match(lines[start]).group("key").strip('"')
        block = lines[start + 1:number]
        hidden = any(_HIDDEN.match(x) for x in block) and not any(_SHOWN.match(x) for x in block)
        at = Element("target", line=number + 1, col=indent + 1)
        target_type = SCRIPT_SCHEMES.get(m.group("scheme").lower(), m.group("scheme"))
        if target_type == "standardInvocableAction":
            facts.listed(agent_fid, [(m.group("name"), at)], {})
            continue
        fid = f"agent-action:{agent.lower()}.{action.lower()}"
        if hidden:
            facts.define(fid, "agent-action", f"agent action {action}", Element("action", line=start + 1, col=1))
        else:
            facts.action(fid, action, target_type, m.group("name"), at, Element("action", line=start + 1, col=1))
        facts.named_call(agent_fid, fid, action, at)
    return facts.done()
