"""Print speed and memory figures for a generated repository of Mule 4 apps.

    python benchmarks/bench_mule.py [APPS]        # default 50 apps

Generates APPS apps into a temporary folder (nothing is written in the checkout): each has a
pom.xml with a CloudHub deployment, a global.xml (HTTP, Salesforce and AI connector configs), three
flow files of ten flows each (Salesforce queries and retrieves, transforms with DataWeave, variables,
flow-refs across files, choice, foreach, scatter-gather, try, batch, http:request and AI connector
operations), a DataWeave resource script and two property files. Then it runs
`apexscan scan --no-cache` in a new process with 1 and 2 jobs, and prints files per second and the
process's peak RSS (os.wait4).

Measured on the 2-core development machine (shared, so wall times vary by about 20 %):

    generated Mule repository: 50 apps, 400 files, 5.1 MB, 1500 flows and 1500 sub-flows
      cold, 1 job:   11.31 s,    35.4 files/s, peak RSS   660 MB
      cold, 2 jobs:   8.51 s,    47.0 files/s, peak RSS   666 MB

Every generated flow reads Salesforce data and calls LLMs (6,000 findings): most of the time and
memory is the data search, not the Mule frontend (about 35 ms per flow file).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NS = ('xmlns="http://www.mulesoft.org/schema/mule/core" xmlns:doc="http://www.mulesoft.org/schema/mule/documentation" '
      'xmlns:http="http://www.mulesoft.org/schema/mule/http" xmlns:salesforce="http://www.mulesoft.org/schema/mule/salesforce" '
      'xmlns:ee="http://www.mulesoft.org/schema/mule/ee/core" xmlns:batch="http://www.mulesoft.org/schema/mule/batch" '
      'xmlns:ms-inference="http://www.mulesoft.org/schema/mule/ms-inference" '
      'xmlns:ms-aichain="http://www.mulesoft.org/schema/mule/ms-aichain"')

POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion><groupId>eu.bank</groupId><artifactId>app-{n}</artifactId><version>1.0.0</version>
  <packaging>mule-application</packaging>
  <build><plugins><plugin><groupId>org.mule.tools.maven</groupId><artifactId>mule-maven-plugin</artifactId>
    <configuration><cloudHubDeployment><uri>https://anypoint.mulesoft.com</uri><region>{region}</region></cloudHubDeployment></configuration>
  </plugin></plugins></build>
</project>
"""

GLOBAL = f"""<?xml version="1.0" encoding="UTF-8"?>
<mule {NS}>
  <configuration-properties file="config.yaml"/>
  <http:listener-config name="API"><http:listener-connection host="0.0.0.0" port="${{http.port}}"/></http:listener-config>
  <http:request-config name="LLM" basePath="/v1"><http:request-connection protocol="HTTPS" host="${{llm.host}}" port="443"/></http:request-config>
  <salesforce:sfdc-config name="SF"><salesforce:oauth-client-credentials-connection>
    <salesforce:oauth-client-credentials clientId="${{sf.clientId}}" tokenUrl="https://bank.my.salesforce.com/services/oauth2/token"/>
  </salesforce:oauth-client-credentials-connection></salesforce:sfdc-config>
  <ms-inference:text-generation-config name="OpenAI"><ms-inference:openai-connection openAIModelName="${{openai.model}}"/></ms-inference:text-generation-config>
  <ms-inference:text-generation-config name="Gateway"><ms-inference:openai-compatible-connection openAICompatibleURL="https://llm-gateway.bank.eu/v1"/></ms-inference:text-generation-config>
  <ms-aichain:config name="Chain" llmType="MISTRAL_AI" modelName="mistral-large"/>
</mule>
"""

FLOW = """
  <flow name="{name}">
    <http:listener config-ref="API" path="/{name}/{{id}}" doc:name="Listener"/>
    <salesforce:query config-ref="SF" doc:name="Clients" target="clients">
      <salesforce:salesforce-query><![CDATA[SELECT Id, Name, Email, Phone, MailingCity, Segment__c, Notes__c
FROM Contact WHERE AccountId = ':id' LIMIT 50]]></salesforce:salesforce-query>
      <salesforce:parameters>#[{{id: attributes.uriParams.id}}]</salesforce:parameters>
    </salesforce:query>
    <salesforce:retrieve type="Account" config-ref="SF" doc:name="Account" target="account">
      <salesforce:retrieve-request>#[{{ids: [attributes.uriParams.id], fields: ["Name", "AnnualRevenue", "Industry"]}}]</salesforce:retrieve-request>
    </salesforce:retrieve>
    <choice doc:name="Route">
      <when expression="#[sizeOf(vars.clients) > 10]">
        <foreach collection="#[vars.clients]">
          <set-variable variableName="cities" value="#[(vars.cities default '') ++ payload.MailingCity]"/>
        </foreach>
      </when>
      <otherwise><set-variable variableName="cities" value="#['none']"/></otherwise>
    </choice>
    <ee:transform doc:name="Prompt">
      <ee:message><ee:set-payload><![CDATA[%dw 2.0
output application/json
var top = vars.clients filter ($.Segment__c == "A") map {{ name: $.Name, city: $.MailingCity }}
---
{{
  model: "gpt-4o-mini",
  messages: [{{ role: "user", content: "Summarise " ++ write(top) ++ " for " ++ vars.account[0].Name }}],
  segment: vars.clients[0].Segment__c default "none"
}}]]></ee:set-payload></ee:message>
      <ee:variables><ee:set-variable variableName="revenue">vars.account[0].AnnualRevenue</ee:set-variable></ee:variables>
    </ee:transform>
    <scatter-gather doc:name="Ask">
      <route><flow-ref name="{callee}"/></route>
      <route><ms-inference:chat-answer-prompt config-ref="Gateway" doc:name="Gateway"><ms-inference:prompt>#[write(payload)]</ms-inference:prompt></ms-inference:chat-answer-prompt></route>
    </scatter-gather>
    <try>
      <ms-aichain:chat-answer-prompt config-ref="Chain" doc:name="Tone" target="tone"><ms-aichain:prompt>#["Tone for " ++ vars.cities]</ms-aichain:prompt></ms-aichain:chat-answer-prompt>
      <error-handler><on-error-continue type="ANY"><logger level="WARN" message="#[error.description]"/></on-error-continue></error-handler>
    </try>
    <batch:job jobName="{name}-job"><batch:process-records><batch:step name="notes">
      <ee:transform><ee:message><ee:set-payload resource="dw/note.dwl"/></ee:message></ee:transform>
      <http:request method="POST" config-ref="LLM" path="/embeddings" doc:name="Embed" target="embedding"/>
    </batch:step></batch:process-records></batch:job>
  </flow>
  <sub-flow name="{sub}">
    <set-variable variableName="asked" value="#[payload.messages[0].content]"/>
    <http:request method="POST" config-ref="LLM" path="/chat/completions" doc:name="Chat">
      <http:body>#[{{model: "gpt-4o", messages: [{{role: "user", content: vars.asked}}]}}]</http:body>
    </http:request>
    <ms-inference:chat-answer-prompt config-ref="OpenAI" doc:name="Revenue" target="explained">
      <ms-inference:prompt>#["Explain revenue " ++ (vars.revenue as String)]</ms-inference:prompt>
    </ms-inference:chat-answer-prompt>
  </sub-flow>
"""

DWL = """%dw 2.0
output application/json
---
{ input: payload.Notes__c default "", owner: payload.Name }
"""


def generate(root: Path, apps: int) -> int:
    regions = ("eu-central-1", "us-east-2", "eu-west-1")
    files = 0
    for n in range(apps):
        app = root / "apps" / f"app-{n:03d}"
        (app / "src/main/mule").mkdir(parents=True)
        (app / "src/main/resources/dw").mkdir(parents=True)
        (app / "pom.xml").write_text(POM.format(n=n, region=regions[n % 3]), "utf-8")
        (app / "src/main/mule/global.xml").write_text(GLOBAL, "utf-8")
        for f in range(3):
            flows = "".join(FLOW.format(name=f"f{f}-{i}", callee=f"s{(f + 1) % 3}-{i}", sub=f"s{f}-{i}")
                            for i in range(10))
            (app / f"src/main/mule/flows-{f}.xml").write_text(
                f'<?xml version="1.0" encoding="UTF-8"?>\n<mule {NS}>{flows}</mule>\n', "utf-8")
        (app / "src/main/resources/dw/note.dwl").write_text(DWL, "utf-8")
        (app / "src/main/resources/config.yaml").write_text(
            "http:\n  port: '8081'\nllm:\n  host: api.openai.com\nopenai:\n  model: gpt-4o-mini\n", "utf-8")
        (app / "src/main/resources/dev.properties").write_text("sf.clientId=3MVG9.generated.client\n", "utf-8")
        files += 8
    return files


def run_scan(project: Path, *options: str) -> tuple[float, float]:
    command = [sys.executable, "-m", "apexscan", "scan", str(project), "--format", "json", "-o", os.devnull,
               "--fail-on", "never", "--no-cache", *options]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"apexscan failed on {project}:\n{errors}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    apps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory(prefix="apexscan-mule-bench-") as temp:
        root = Path(temp) / "mule-repo"
        files = generate(root, apps)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        print(f"generated Mule repository: {apps} apps, {files} files, {size / 1e6:.1f} MB, "
              f"{apps * 30} flows and {apps * 30} sub-flows")
        for jobs in ("1", "2"):
            wall, rss = run_scan(root, "--jobs", jobs)
            print(f"  cold, {jobs} job{'s' if jobs != '1' else ''}: {wall:6.2f} s, {files / wall:7.1f} files/s, "
                  f"peak RSS {rss:5.0f} MB")


if __name__ == "__main__":
    main()
