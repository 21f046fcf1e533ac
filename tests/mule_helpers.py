"""Helpers for the Mule tests: write Mule 4 apps on disk and scan them."""
from __future__ import annotations

import textwrap
from pathlib import Path

from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import scan
from apexscan.salesforce.policy import policy_from_dict

NS = {
    "": "http://www.mulesoft.org/schema/mule/core",
    "doc": "http://www.mulesoft.org/schema/mule/documentation",
    "http": "http://www.mulesoft.org/schema/mule/http",
    "salesforce": "http://www.mulesoft.org/schema/mule/salesforce",
    "ee": "http://www.mulesoft.org/schema/mule/ee/core",
    "batch": "http://www.mulesoft.org/schema/mule/batch",
    "mcp": "http://www.mulesoft.org/schema/mule/mcp",
    "ms-inference": "http://www.mulesoft.org/schema/mule/ms-inference",
    "mac-inference": "http://www.mulesoft.org/schema/mule/mac-inference",
    "ms-aichain": "http://www.mulesoft.org/schema/mule/ms-aichain",
    "ms-einstein-ai": "http://www.mulesoft.org/schema/mule/ms-einstein-ai",
    "ms-bedrock": "http://www.mulesoft.org/schema/mule/ms-bedrock",
    "db": "http://www.mulesoft.org/schema/mule/db",
    "os": "http://www.mulesoft.org/schema/mule/os",
}
EU = {"policy": {"allowed_jurisdictions": ["EU", "EEA"], "allowed_regions": ["EU", "EEA"],
                 "allowed_hosts": ["llm-gateway.bank.eu"]}}

POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>eu.bank</groupId>
  <artifactId>{name}</artifactId>
  <version>1.0.0</version>
  <packaging>mule-application</packaging>{build}
</project>
"""


def mule_xml(body: str, prefixes: dict[str, str] | None = None) -> str:
    """A Mule configuration file: `body` inside <mule>, with the usual namespaces declared (or
    `prefixes`, prefix -> URI, when a test binds its own)."""
    declared = prefixes if prefixes is not None else NS
    xmlns = " ".join(f'xmlns{":" + p if p else ""}="{uri}"' for p, uri in declared.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<mule {xmlns}>\n{textwrap.dedent(body).strip()}\n</mule>\n'


def write_app(root: Path, folder: str, flows: dict[str, str], resources: dict[str, str] | None = None,
              build: str = "", pom: bool = True) -> Path:
    """A Mule app at root/folder: pom.xml (or mule-artifact.json), src/main/mule/<name> for each of
    `flows` (bodies wrapped by mule_xml unless they start with "<?xml"), src/main/resources files."""
    app = root / folder if folder else root
    (app / "src/main/mule").mkdir(parents=True, exist_ok=True)
    if pom:
        (app / "pom.xml").write_text(POM.format(name=folder.rsplit("/", 1)[-1] or "app", build=build), "utf-8")
    else:
        (app / "mule-artifact.json").write_text('{"minMuleVersion": "4.6.0"}\n', "utf-8")
    for name, body in flows.items():
        text = body if body.lstrip().startswith("<?xml") else mule_xml(body)
        (app / "src/main/mule" / name).write_text(text, "utf-8")
    for name, text in (resources or {}).items():
        path = app / "src/main/resources" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), "utf-8")
    return app


def scan_tree(root: Path, policy: dict | None = None, inventory: bool = False):
    project = discover([root])
    return scan(project, policy_from_dict(policy or EU, "test policy"), strict=True, inventory=inventory)


def deployment(element: str, child: str, value: str, uri: str = "https://anypoint.mulesoft.com") -> str:
    return f"""
  <build><plugins><plugin>
    <groupId>org.mule.tools.maven</groupId><artifactId>mule-maven-plugin</artifactId>
    <configuration><{element}><uri>{uri}</uri><{child}>{value}</{child}></{element}></configuration>
  </plugin></plugins></build>"""


SALESFORCE = """
<salesforce:sfdc-config name="SF">
  <salesforce:oauth-client-credentials-connection>
    <salesforce:oauth-client-credentials clientId="${sf.clientId}" clientSecret="${secure::sf.secret}" tokenUrl="https://bank.my.salesforce.com/services/oauth2/token"/>
  </salesforce:oauth-client-credentials-connection>
</salesforce:sfdc-config>
<http:listener-config name="API"><http:listener-connection host="0.0.0.0" port="8081"/></http:listener-config>
"""
OPENAI = """
<ms-inference:text-generation-config name="OpenAI">
  <ms-inference:openai-connection apiKey="${secure::openai.key}" openAIModelName="gpt-4o-mini"/>
</ms-inference:text-generation-config>
"""
QUERY_CONTACT = """
<salesforce:query config-ref="SF" doc:name="Client">
  <salesforce:salesforce-query>SELECT Email, MailingCity, Industry__c FROM Contact WHERE Id = ':id'</salesforce:salesforce-query>
</salesforce:query>
"""


def fields(finding) -> set[str]:
    return {str(ref) for ref, _ in finding.fields}


def rules_at(result) -> set[tuple[str, int, str]]:
    return {(f.location.path.rsplit("/", 1)[-1], f.location.line, f.rule_id) for f in result.findings}


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of `path` containing `text`."""
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def by_rule(result, rule: str) -> list:
    return [f for f in result.findings if f.rule_id == rule]


def named(result, rule: str, root: Path) -> dict:
    """The findings of `rule`, by the doc:name of the element they are reported at."""
    import re
    out = {}
    for f in by_rule(result, rule):
        line = (root / f.location.path).read_text("utf-8").splitlines()[f.location.line - 1]
        m = re.search(r'doc:name="([^"]*)"', line)
        out[m.group(1) if m else f.location.line] = f
    return out
