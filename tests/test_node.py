"""Node.js services (frontends/node.py): the LWC JavaScript lowering with modules, classes and the
libraries of a server, in JavaScript and TypeScript. `// expect: RULE-ID` marks each line that
must be reported; `assert_exact` requires exactly those findings."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import assert_exact, scan_tree

from apexscan.frontends.lwc import StrictError
from apexscan.frontends.node import lower_node, module_name
from apexscan.pipeline.project import discover

JSFORCE = '''
import jsforce from "jsforce";

const conn = new jsforce.Connection({ loginUrl: process.env.SF_LOGIN_URL });
'''


def service(root: Path, files: dict[str, str], policy: dict | None = None):
    return scan_tree(root, files, policy)


def fields(finding) -> list[str]:
    return [str(ref) for ref, _ in finding.fields]


def test_module_names_come_from_the_path_without_extension_or_index():
    assert module_name("services/nightly/src/summarise.ts") == "js.services.nightly.src.summarise"
    assert module_name("services/nightly/src/llm/index.js") == "js.services.nightly.src.llm"


def test_each_class_of_a_module_is_a_class_of_its_own():
    facts = lower_node("svc/src/a.ts", textwrap.dedent('''
        export class Reader { constructor(private url: string) {} read(): string { return this.url; } }
        export class Writer { write(x: string) { return x; } }
    ''').encode(), strict=True)
    names = {c.name: c for c in facts.classes}
    assert set(names) == {"js.svc.src.a", "js.svc.src.a.reader", "js.svc.src.a.writer"}
    assert names["js.svc.src.a.reader"].fields == (("url", ""),)  # a TypeScript parameter property
    assert all(c.realm == "js" and c.any_arity for c in facts.classes)
    assert {f.fid for f in facts.functions} >= {"js.svc.src.a.reader.<init>/1", "js.svc.src.a.writer.write/1"}


def test_strict_mode_raises_on_an_unknown_node_type(monkeypatch):
    from apexscan.frontends import lwc
    monkeypatch.delattr(lwc.Lowerer, "stmt_while_statement")
    with pytest.raises(StrictError):
        lower_node("a.js", b"while (x) { y = 1; }\n", strict=True)


def test_a_minified_bundle_is_reported_not_analysed():
    facts = lower_node("public/app.js", b"var a=1;" * 1000)
    assert [d.stage for d in facts.diagnostics] == ["parse"] and "minified" in facts.diagnostics[0].message


# --- Salesforce reads --------------------------------------------------------------------------------

def test_jsforce_query_records_reach_openai(tmp_path):
    result = service(tmp_path, {"src/job.js": JSFORCE + '''
        import OpenAI from "openai";

        const openai = new OpenAI();

        export async function run(id) {
          const { records } = await conn.query(`SELECT Id, Email, Description FROM Contact WHERE Id = '${id}'`);
          const prompt = `Brief me on ${records[0].Email}`;
          return openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: prompt }] }); // expect: APX-LLM-001
        }
    '''})
    assert_exact(tmp_path, result)
    (finding,) = result.findings
    assert fields(finding) == ["Contact.Email"]
    assert finding.paths[0][0].message == "Contact.Email read by jsforce query"


def test_jsforce_sobject_find_retrieve_bulk_and_bulk2(tmp_path):
    result = service(tmp_path, {"src/reads.js": JSFORCE + '''
        import Anthropic from "@anthropic-ai/sdk";

        const claude = new Anthropic();
        const send = (text) => claude.messages.create({ model: "c", max_tokens: 9, messages: [{ role: "user", content: text }] }); // expect: APX-LLM-001, APX-LLM-002

        export async function reads(id) {
          const found = await conn.sobject("Contact").find({ AccountId: id }, ["Id", "MobilePhone"]);
          send(found[0].MobilePhone);
          const one = await conn.sobject("Lead").retrieve(id);
          send(JSON.stringify(one));
          const rows = await conn.bulk2.query("SELECT Name, AnnualRevenue FROM Account");
          send(rows.map((r) => r.AnnualRevenue).join(","));
        }
    '''})
    assert_exact(tmp_path, result)
    finding = next(f for f in result.findings if f.rule_id == "APX-LLM-001")
    assert set(fields(finding)) >= {"Contact.MobilePhone", "Account.AnnualRevenue", "Lead.*"}


def test_applink_data_api_and_node_postgres_on_heroku_connect(tmp_path):
    result = service(tmp_path, {"src/app.ts": '''
        import { Pool } from "pg";
        import OpenAI from "openai";

        const pool = new Pool({ connectionString: process.env.DATABASE_URL });
        const openai = new OpenAI();

        export async function applink(request: any) {
          const { context } = request.sdk;
          const result = await context.org.dataApi.query("SELECT Name, Email FROM Contact");
          const emails = result.records.map((r: any) => r.fields.Email);
          await openai.responses.create({ model: "gpt-4o", input: emails.join("\\n") }); // expect: APX-LLM-001
        }

        export async function fromPostgres(sfid: string) {
          const { rows } = await pool.query("SELECT email, birthdate FROM salesforce.contact WHERE sfid = $1", [sfid]);
          await openai.responses.create({ model: "gpt-4o", input: `${rows[0].birthdate}` }); // expect: APX-LLM-001
        }
    '''})
    assert_exact(tmp_path, result)
    applink, pg = result.findings
    assert fields(applink) == ["Contact.Email"] and fields(pg) == ["Contact.Birthdate"]
    assert "Heroku Connect table salesforce.contact" in pg.paths[0][0].message


def test_rest_query_through_fetch(tmp_path):
    result = service(tmp_path, {"src/rest.js": '''
        import OpenAI from "openai";

        const openai = new OpenAI();

        export async function cases(instanceUrl, token) {
          const soql = "SELECT Subject, Description FROM Case";
          const res = await fetch(`${instanceUrl}/services/data/v61.0/query?q=${encodeURIComponent(soql)}`, {
            headers: { Authorization: `Bearer ${token}` },
          });
          const body = await res.json();
          await openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: body.records[0].Description }] }); // expect: APX-LLM-001
        }
    '''})
    assert_exact(tmp_path, result)
    assert fields(result.findings[0]) == ["Case.Description"]


# --- LLM SDKs and HTTP -------------------------------------------------------------------------------

def test_bedrock_commands_azure_openai_and_the_ai_sdk(tmp_path):
    result = service(tmp_path, {"src/llm.ts": JSFORCE + '''
        import { BedrockRuntimeClient, ConverseCommand, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
        import { AzureOpenAI } from "openai";
        import { generateText } from "ai";
        import { openai } from "@ai-sdk/openai";

        const eu = new BedrockRuntimeClient({ region: "eu-west-1" });
        const azure = new AzureOpenAI({ endpoint: process.env.AZURE_OPENAI_ENDPOINT, apiVersion: "2024-10-21" });

        export async function go() {
          const { records } = await conn.query("SELECT Email FROM Contact");
          const text = records[0].Email;
          await eu.send(new InvokeModelCommand({ modelId: "eu.amazon.nova-pro-v1:0", body: JSON.stringify({ text }) })); // expect: APX-LLM-006
          await eu.send(new ConverseCommand({ modelId: "us.amazon.nova-pro-v1:0", messages: [{ role: "user", content: [{ text }] }] })); // expect: APX-LLM-001, APX-LLM-006
          await azure.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: text }] }); // expect: APX-LLM-003
          await generateText({ model: openai("gpt-4o"), prompt: text }); // expect: APX-LLM-001
        }
    '''}, policy={"policy": {"allowed_jurisdictions": ["EU", "US"]}})
    assert_exact(tmp_path, result)


def test_axios_and_a_client_with_a_base_url(tmp_path):
    result = service(tmp_path, {"src/http.js": JSFORCE + '''
        const axios = require("axios");

        const mistral = axios.create({ baseURL: "https://api.mistral.ai" });

        async function go() {
          const { records } = await conn.query("SELECT Email FROM Contact");
          await axios.post("https://api.openai.com/v1/chat/completions", { messages: [records[0].Email] }); // expect: APX-LLM-001, APX-LLM-006
          await mistral.post("/v1/chat/completions", { messages: [records[0].Email] }); // expect: APX-LLM-001, APX-LLM-006
          await axios.post("https://hooks.slack.com/services/T/B", { text: records[0].Email }); // ok: not an LLM
        }
        module.exports = { go };
    '''})
    assert_exact(tmp_path, result)


def test_langchain_js_model_and_pipe(tmp_path):
    result = service(tmp_path, {"src/lc.ts": JSFORCE + '''
        import { ChatAnthropic } from "@langchain/anthropic";
        import { ChatPromptTemplate } from "@langchain/core/prompts";

        const model = new ChatAnthropic({ model: "claude-3-5-sonnet-latest" });

        export async function go() {
          const { records } = await conn.query("SELECT Email FROM Contact");
          const chain = ChatPromptTemplate.fromTemplate("About {who}").pipe(model);
          await chain.invoke({ who: records[0].Email }); // expect: APX-LLM-001
        }
    '''})
    assert_exact(tmp_path, result)


# --- configuration ----------------------------------------------------------------------------------

def test_process_env_with_a_default_and_destructured(tmp_path):
    result = service(tmp_path, {"src/cfg.js": JSFORCE + '''
        import OpenAI from "openai";

        const { LLM_URL = "https://api.openai.com/v1" } = process.env;
        const primary = new OpenAI({ baseURL: process.env.PRIMARY_URL ?? "https://api.eu.mistral.ai/v1" });
        const secondary = new OpenAI({ baseURL: LLM_URL });

        export async function go() {
          const { records } = await conn.query("SELECT Email FROM Contact");
          await primary.chat.completions.create({ model: "m", messages: [records[0].Email] }); // ok: Mistral EU by default
          await secondary.chat.completions.create({ model: "m", messages: [records[0].Email] }); // expect: APX-LLM-001
        }
    ''', ".env.production": "PRIMARY_URL=https://api.eu.mistral.ai/v1\n"})
    assert_exact(tmp_path, result)
    assert "default of environment variable LLM_URL" in result.findings[0].destination.how


# --- constructs ------------------------------------------------------------------------------------

def test_modules_import_each_other_esm_and_commonjs(tmp_path):
    result = service(tmp_path, {
        "svc/src/salesforce.ts": JSFORCE + '''
            export async function contact(id: string) {
              const res = await conn.query(`SELECT Email FROM Contact WHERE Id = '${id}'`);
              return res.records[0];
            }
        ''',
        "svc/src/llm/index.js": '''
            const Anthropic = require("@anthropic-ai/sdk");
            const claude = new Anthropic();
            exports.ask = async function (text) {
              return claude.messages.create({ model: "c", max_tokens: 9, messages: [{ role: "user", content: text }] }); // expect: APX-LLM-001
            };
        ''',
        "svc/src/main.ts": '''
            import { contact } from "./salesforce.js";
            const llm = require("./llm");

            export default async function handler(id: string) {
              const c = await contact(id);
              return llm.ask(`Summarise ${c.Email}`);
            }
        '''})
    assert_exact(tmp_path, result)


def test_classes_fields_and_typed_parameters(tmp_path):
    result = service(tmp_path, {"svc/src/digest.ts": '''
        import { Connection } from "jsforce";
        import OpenAI from "openai";

        export class Digest {
          private client: OpenAI;

          constructor(private readonly conn: Connection) {
            this.client = new OpenAI();
          }

          async run(): Promise<void> {
            const res = await this.conn.query<any>("SELECT Name, Amount FROM Opportunity");
            await this.client.chat.completions.create({ model: "m", messages: [{ role: "user", content: JSON.stringify(res.records) }] }); // expect: APX-LLM-001, APX-LLM-002
          }
        }

        export async function nightly(conn: Connection) {
          await new Digest(conn).run();
        }
    '''})
    assert_exact(tmp_path, result)


def test_a_helper_shared_by_a_clean_and_a_dirty_caller_does_not_mix_them(tmp_path):
    result = service(tmp_path, {"svc/src/app.js": JSFORCE + '''
        import OpenAI from "openai";

        const gateway = new OpenAI({ baseURL: "https://llm-gateway.bank.eu/v1" });
        const publicApi = new OpenAI();

        function ask(client, text) {
          return client.chat.completions.create({ model: "m", messages: [{ role: "user", content: text }] }); // ok: per caller
        }

        export async function briefing() {
          const { records } = await conn.query("SELECT Email FROM Contact");
          return ask(gateway, records[0].Email);
        }

        export function faq() {
          return ask(publicApi, "Opening hours?");
        }
    '''}, policy={"policy": {"allowed_hosts": ["llm-gateway.bank.eu"]}})
    assert_exact(tmp_path, result)
    assert not result.findings


def test_code_behind_a_constant_false_guard_is_not_analysed(tmp_path):
    result = service(tmp_path, {"svc/src/g.js": JSFORCE + '''
        import OpenAI from "openai";

        const DEBUG = false;
        const openai = new OpenAI();

        export async function go() {
          const { records } = await conn.query("SELECT Email FROM Contact");
          if (false) {
            await openai.responses.create({ model: "m", input: records[0].Email }); // ok: if (false)
          }
          if (DEBUG) {
            await openai.responses.create({ model: "m", input: records[0].Email }); // ok: DEBUG is false
          } else {
            await openai.responses.create({ model: "m", input: records[0].Email }); // expect: APX-LLM-001
          }
        }
    '''})
    assert_exact(tmp_path, result)


def test_suppression_comments_in_typescript(tmp_path):
    from apexscan.pipeline.suppress import apply_in_project
    from apexscan.salesforce.rules import load_catalog

    result = service(tmp_path, {"svc/src/s.ts": JSFORCE + '''
        import OpenAI from "openai";

        const openai = new OpenAI();

        export async function go() {
          const { records } = await conn.query("SELECT Email FROM Contact");
          // apexscan:ignore APX-LLM-001 OpenAI EU data residency project, DPA 2025-114
          await openai.responses.create({ model: "m", input: records[0].Email });
        }
    '''})
    (finding,) = apply_in_project(discover([tmp_path]), result.findings, load_catalog())
    assert finding.suppression.startswith("OpenAI EU data residency")


def test_one_long_literal_line_in_source_is_no_bundle():
    source = b"const fixture = '" + b"x" * 8000 + b"';\n" + b"export const a = 1;\n" * 40
    assert lower_node("examples/fixture.ts", source).diagnostics == ()
