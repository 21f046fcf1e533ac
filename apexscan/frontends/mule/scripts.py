"""A DataWeave file of a Mule app (src/main/resources/**/*.dwl) -> a function its transforms call.

`<ee:set-payload resource="dw/toPrompt.dwl"/>` runs the script on the event: the frontend of the
flow file makes that a call of `flow:mule:<app>:dwl:<path under src/main/resources>`, and this file
defines the function: parameters `payload`, `vars`, `attributes`; it returns what the script does.
"""
from __future__ import annotations

from apexscan.engine.facts import Assign, ClassInfo, FileFacts, Function, Inflow, Param, Ref
from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends.mule import dataweave as dw
from apexscan.frontends.mule.expressions import blank_placeholders
from apexscan.frontends.mule.flows import dwl_fid
from apexscan.frontends.mule.layout import RESOURCES, app_root_of


def lower_dataweave(path: str, data: bytes) -> FileFacts:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return FileFacts(path=path, diagnostics=(Diagnostic(path, "read", "not UTF-8 text"),))
    scope = app_root_of(path)
    inside = path[len(scope):].lstrip("/") if scope else path
    resource = inside[len(RESOURCES) + 1:] if inside.startswith(RESOURCES + "/") else inside
    fid = dwl_fid(scope.lower(), resource)
    loc = Location(path, 1, 1)
    display = f"DataWeave script {resource}" + (f" (app {scope})" if scope else "")
    function = Function(fid, fid, fid.rsplit(":", 1)[-1], display,
                        (Param("payload", ""), Param("vars", ""), Param("attributes", "")), True, ("mule-flow",), loc)
    info = ClassInfo(fid, display, "mule-dataweave", "", (), (), False, location=loc)
    payload = dw.Value((Inflow(Ref(f"{fid}#payload"), (), "payload"),))

    def var(name: str) -> dw.Value:
        return dw.Value((Inflow(Ref(f"{fid}#vars", "", (name.lower(),)), (), f"vars.{name}"),))

    evaluator = dw.Evaluator(payload, var, lambda: dw.Value((Inflow(Ref(f"{fid}#vars"), (), "vars"),)),
                             dw.Value((Inflow(Ref(f"{fid}#attributes"), (), "attributes"),)))
    source = blank_placeholders(text)
    diags: tuple[Diagnostic, ...] = ()
    try:
        value = evaluator.run(dw.parse(source))
    except (dw.DataWeaveError, RecursionError) as exc:
        offset = getattr(exc, "offset", 0)
        line = text.count("\n", 0, offset) + 1
        diags = (Diagnostic(path, "parse", f"DataWeave not read: {exc}; the values it names are followed as "
                                           "whole values", line),)
        value = dw.mentions(source, payload, var)
    assigns = (Assign(Ref(f"{fid}#return"), value.flows, f"returned by {display}", loc, fid),) if value.flows else ()
    return FileFacts(path=path, classes=(info,), functions=(function,), assigns=assigns, diagnostics=diags)
