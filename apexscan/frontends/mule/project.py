"""A Mule app's pom.xml and mule-artifact.json -> the app (`UnitMeta`) and where it is deployed.

The mule-maven-plugin's `<configuration>` says where `mvn deploy -DmuleDeploy` puts the app:
`<cloudHubDeployment><region>` (CloudHub), `<cloudhub2Deployment><target>` (a CloudHub 2 shared or
private space), `<runtimeFabricDeployment><target>`, and `<uri>` the Anypoint control plane (an EU
control plane keeps the app in the EU). `${...}` Maven properties are resolved from the pom's own
`<properties>`; what CI passes with `-D` is not in the repository.
"""
from __future__ import annotations

import re

from apexscan.engine.model import Diagnostic, Location
from apexscan.frontends.metadata import MetadataFacts, UnitMeta
from apexscan.frontends.mule.layout import MAX_POM_BYTES, app_root_of
from apexscan.frontends.xmlsafe import Element, XmlError
from apexscan.frontends.xmlsafe import parse as parse_xml
from apexscan.salesforce import mule_models as M

KIND = "Mule app"
DEPLOYMENT_NAMES = {"cloudHubDeployment": "CloudHub", "cloudhub2Deployment": "CloudHub 2",
                    "runtimeFabricDeployment": "Runtime Fabric"}
_MAVEN_PROPERTY = re.compile(r"\$\{([^{}]+)\}")


def parse_mule_project(rel: str, data: bytes) -> tuple[MetadataFacts, tuple[Diagnostic, ...]]:
    scope = app_root_of(rel)
    folder = scope.rsplit("/", 1)[-1] or "(the repository root)"
    if not rel.lower().endswith("pom.xml"):  # mule-artifact.json: the app exists, nothing more
        return MetadataFacts(units=(UnitMeta(scope, KIND, folder, Location(rel, 1, 1)),)), ()
    if len(data) > MAX_POM_BYTES:
        return MetadataFacts(), (Diagnostic(rel, "parse", f"pom.xml larger than {MAX_POM_BYTES} bytes; not read"),)
    root = parse_xml(data)
    if isinstance(root, XmlError):
        return MetadataFacts(), (root.diagnostic(rel),)
    if root.findtext("packaging") != "mule-application":
        return MetadataFacts(), ()
    properties = {c.tag: c.text.strip() for c in (root.find("properties") or Element("properties")).children}
    name = root.findtext("artifactId") or folder
    unit = UnitMeta(scope, KIND, _resolve(name, properties), Location(rel, root.line, root.col))
    for plugin in root.iter("plugin"):
        if plugin.findtext("artifactId") != "mule-maven-plugin":
            continue
        config = plugin.find("configuration")
        if config is None:
            continue
        for element, child in M.CLOUDHUB_DEPLOYMENTS.items():
            deployment = config.find(element)
            if deployment is None:
                continue
            target = deployment.find(child)
            uri = _resolve(deployment.findtext(M.CLOUDHUB["uri_element"]), properties)
            written = _resolve(target.text.strip(), properties) if target is not None else ""
            code = M.cloudhub_region_code(written) if written and "${" not in written else ""
            where = target if target is not None else deployment
            plane = next((region for host, region in M.CLOUDHUB_CONTROL_PLANES.items()
                          if host in uri.lower()), "") if uri else ""
            if not written and plane:
                written = f"{plane} control plane ({uri})"
            if not code and plane:
                code = plane.lower()  # the control plane's region code ("eu", "us")
            unit = UnitMeta(scope, KIND, unit.name, unit.location, DEPLOYMENT_NAMES[element], written, code,
                            Location(rel, where.line, where.col))
            break
    return MetadataFacts(units=(unit,)), ()


def _resolve(text: str, properties: dict[str, str]) -> str:
    """`${cloudhub.region}` from the pom's <properties> (a few levels of nesting)."""
    for _ in range(8):
        replaced = _MAVEN_PROPERTY.sub(lambda m: properties.get(m.group(1).strip(), m.group()), text)
        if replaced == text:
            break
        text = replaced
    return text
