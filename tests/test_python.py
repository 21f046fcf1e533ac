"""Python services (frontends/python.py): each way of reading Salesforce data, each LLM SDK, and
each construct that carries data between them. Every project is a small service written to disk;
`# expect: RULE-ID` marks the lines that must be reported, and `assert_exact` requires exactly
those findings."""
from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest
from conftest import assert_exact, scan_tree

from apexscan.engine.model import Verdict
from apexscan.frontends.python import StrictError, lower_python, module_name
from apexscan.pipeline.project import discover

SF = '''
import os
from simple_salesforce import Salesforce

sf = Salesforce(username=os.environ["SF_USERNAME"], password=os.environ["SF_PASSWORD"], security_token="t")
'''


def service(root: Path, files: dict[str, str], policy: dict | None = None):
    return scan_tree(root, files, policy)


def code_only(result):
    """The result without configuration findings (APX-CFG-*, APX-HRK-*), for tests about code."""
    return dataclasses.replace(result, findings=tuple(f for f in result.findings if f.rule_id.startswith("APX-LLM")))


def findings(result, rule: str | None = None):
    return [f for f in result.findings if rule is None or f.rule_id == rule]


def fields(finding) -> list[str]:
    return [str(ref) for ref, _ in finding.fields]


def line_of(root: Path, rel: str, needle: str) -> int:
    return next(i for i, text in enumerate((root / rel).read_text("utf-8").splitlines(), 1) if needle in text)


def lower(source: str, path: str = "svc/app/main.py"):
    return lower_python(path, textwrap.dedent(source).lstrip("\n").encode(), strict=True)


# --- names and facts of one file -------------------------------------------------------------------

def test_module_names_come_from_the_path():
    assert module_name("services/copilot/app/llm.py") == "py.services.copilot.app.llm"
    assert module_name("services/copilot/app/__init__.py") == "py.services.copilot.app"
    assert module_name("main.py") == "py.main"


def test_a_module_is_a_class_of_its_own_realm_taking_any_arguments():
    facts = lower("""
        def ask(prompt, model="gpt-4o", *rest, **options):
            return prompt

        class LlmClient:
            def __init__(self, url):
                self.url = url
    """)
    module, cls = facts.classes
    assert (module.name, module.realm, module.any_arity) == ("py.svc.app.main", "py", True)
    assert cls.name == "py.svc.app.main.llmclient" and cls.fields == (("url", ""),)
    fids = {f.fid for f in facts.functions}
    assert {"py.svc.app.main.ask/4", "py.svc.app.main.llmclient.<init>/1"} <= fids  # `self` is no parameter


def test_strict_mode_raises_on_an_unknown_node_type_and_normal_mode_does_not(monkeypatch):
    from apexscan.frontends import python as frontend
    monkeypatch.delattr(frontend.PyLowerer, "stmt_while_statement")
    source = b"while x:\n    y = 1\n"
    with pytest.raises(StrictError):
        lower_python("a.py", source, strict=True)
    assert lower_python("a.py", source).diagnostics == ()


def test_an_empty_package_init_is_no_problem_and_a_syntax_error_is_a_diagnostic():
    assert lower_python("pkg/__init__.py", b"").diagnostics == ()
    broken = lower_python("a.py", b"def f(:\n    pass\nx = 1\n")
    assert [d.stage for d in broken.diagnostics] == ["parse"]


# --- Salesforce reads --------------------------------------------------------------------------------

def test_simple_salesforce_query_all_records_reach_openai(tmp_path):
    result = service(tmp_path, {"app/main.py": SF + '''
        from openai import OpenAI

        client = OpenAI()

        def brief(contact_id):
            rows = sf.query_all(f"SELECT Id, Email, Description FROM Contact WHERE Id = '{contact_id}'")["records"]
            contact = rows[0]
            prompt = f"Brief me on {contact['Email']}"
            return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])  # expect: APX-LLM-001
    '''})
    assert_exact(tmp_path, result)
    (finding,) = findings(result)
    assert fields(finding) == ["Contact.Email"]  # Description is read but not sent
    assert finding.destination.host == "api.openai.com"
    steps = [s.message for s in finding.paths[0]]
    assert steps[0] == "Contact.Email read by simple_salesforce query_all"
    assert steps[-1].startswith("sent by OpenAI SDK chat.completions.create to api.openai.com")


def test_simple_salesforce_query_iter_get_bulk_and_bulk2(tmp_path):
    result = service(tmp_path, {"app/main.py": SF + '''
        import json
        import requests

        URL = "https://api.openai.com/v1/chat/completions"

        def iterate():
            for rec in sf.query_all_iter("SELECT Name, Phone FROM Lead"):
                requests.post(URL, json={"messages": [rec["Phone"]]})  # expect: APX-LLM-001, APX-LLM-006

        def whole(contact_id):
            record = sf.Contact.get(contact_id)
            requests.post(URL, data=json.dumps(record))  # expect: APX-LLM-001, APX-LLM-002, APX-LLM-006

        def bulk():
            rows = sf.bulk.Account.query("SELECT Name, AnnualRevenue FROM Account")
            requests.post(URL, json={"prompt": [r["AnnualRevenue"] for r in rows]})  # expect: APX-LLM-001, APX-LLM-006

        def bulk2():
            for csv_text in sf.bulk2.Contact.query("SELECT Email FROM Contact"):
                requests.post(URL, json={"prompt": csv_text})  # expect: APX-LLM-001, APX-LLM-002, APX-LLM-006
    '''})
    assert_exact(tmp_path, result)
    by_line = {f.location.line: f for f in findings(result, "APX-LLM-001")}
    assert fields(by_line[line_of(tmp_path, "app/main.py", 'rec["Phone"]')]) == ["Lead.Phone"]
    assert fields(by_line[line_of(tmp_path, "app/main.py", "json.dumps(record)")]) == ["Contact.*"]
    assert fields(by_line[line_of(tmp_path, "app/main.py", 'r["AnnualRevenue"]')]) == ["Account.AnnualRevenue"]


def test_salesforce_bulk_results_of_a_query_batch(tmp_path):
    result = service(tmp_path, {"etl.py": '''
        from salesforce_bulk import SalesforceBulk
        from anthropic import Anthropic

        bulk = SalesforceBulk(username="u", password="p", security_token="t")
        claude = Anthropic()

        def run():
            job = bulk.create_query_job("Contact", contentType="JSON")
            batch = bulk.query(job, "SELECT Id, Email FROM Contact")
            for result in bulk.get_all_results_for_query_batch(batch, job):
                for row in result:
                    claude.messages.create(model="claude-3-5-sonnet", max_tokens=10, messages=[{"role": "user", "content": row["Email"]}])  # expect: APX-LLM-001
    '''})
    assert_exact(tmp_path, result)


def test_rest_query_with_requests_and_the_sobject_endpoint(tmp_path):
    result = service(tmp_path, {"app/rest.py": '''
        import requests
        from openai import OpenAI

        llm = OpenAI(base_url="https://eu.api.openai.com/v1")

        def fetch(instance, token, soql):
            response = requests.get(f"{instance}/services/data/v60.0/query", params={"q": soql},
                                    headers={"Authorization": f"Bearer {token}"})
            return response.json()["records"]

        def cases(instance, token):
            rows = fetch(instance, token, "SELECT Subject, Description FROM Case")
            llm.responses.create(model="gpt-4o", input=rows[0]["Description"])  # expect: APX-LLM-001, APX-LLM-006

        def record(instance, contact_id):
            contact = requests.get(f"{instance}/services/data/v60.0/sobjects/Contact/{contact_id}").json()
            llm.responses.create(model="gpt-4o", input=contact["MobilePhone"])  # expect: APX-LLM-001, APX-LLM-006
    ''', "app/.env": "OPENAI_API_KEY=sk-live-1\n"}, policy={"policy": {"allowed_regions": ["US"]}})
    assert_exact(tmp_path, result)
    (case,) = [f for f in findings(result, "APX-LLM-001")
               if f.location.line == line_of(tmp_path, "app/rest.py", 'rows[0]["Description"]')]
    assert case.destination.region == "EU" and case.destination.verdict == Verdict.FOREIGN
    assert fields(case) == ["Case.Description"]


def test_heroku_applink_data_api_query(tmp_path):
    result = service(tmp_path, {"app.py": '''
        from heroku_applink import get_client_context
        from groq import Groq

        groq = Groq()

        async def handler(request):
            context = get_client_context()
            result = await context.org.data_api.query("SELECT Name, Email FROM Contact")
            for record in result.records:
                groq.chat.completions.create(model="llama-3.3-70b", messages=[{"role": "user", "content": record.fields["Email"]}])  # expect: APX-LLM-001
    '''})
    assert_exact(tmp_path, result)
    assert findings(result)[0].destination.provider == "Groq"


def test_heroku_connect_sql_with_psycopg_and_sqlalchemy(tmp_path):
    mapping = '''{"mappings": [{"object_name": "Contact", "config": {"access": "read_only",
        "fields": {"Id": {}, "Email": {}, "Description": {}}}}], "connection": {"name": "app:DATABASE_URL:salesforce"}}'''
    result = service(tmp_path, {"worker/db.py": '''
        import psycopg
        from sqlalchemy import create_engine, text
        from openai import OpenAI

        client = OpenAI()
        engine = create_engine("postgresql://db")

        def with_psycopg(conn):
            cur = conn.cursor()
            cur.execute("SELECT sfid, email, mobilephone FROM salesforce.contact WHERE sfid = %s", ("x",))
            row = cur.fetchone()
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"{row['email']} {row['mobilephone']}"}])  # expect: APX-LLM-001

        def with_sqlalchemy():
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT * FROM salesforce.contact")).mappings().all()
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": str(rows)}])  # expect: APX-LLM-001, APX-LLM-002

        def app_table(conn):
            cur = conn.cursor()
            cur.execute("SELECT email FROM public.newsletter_signups")
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": str(cur.fetchall())}])  # ok: not a Heroku Connect table
    ''', "worker/mapping.json": mapping})
    assert_exact(tmp_path, code_only(result))  # (the export itself is APX-HRK-001: tests/test_services.py)
    psycopg_finding, sqlalchemy_finding = findings(result, "APX-LLM-001")
    assert fields(psycopg_finding) == ["Contact.Email"]  # mobilephone is not synced: not a Salesforce field there
    assert "on Heroku Connect table salesforce.contact" in psycopg_finding.paths[0][0].message
    assert fields(sqlalchemy_finding) == ["Contact.Description", "Contact.Email"]  # SELECT *: the synced fields


# --- LLM SDKs and where they send ----------------------------------------------------------------

def test_openai_azure_anthropic_and_their_base_urls(tmp_path):
    result = service(tmp_path, {"svc/llm.py": SF + '''
        import os
        from openai import AzureOpenAI, OpenAI
        import anthropic

        azure = AzureOpenAI(azure_endpoint="https://bank-eu.openai.azure.com", api_version="2024-06-01")
        gateway = OpenAI(base_url=os.getenv("OPENAI_BASE_URL", "https://llm-gateway.bank.eu/v1"))
        claude = anthropic.Anthropic(base_url="https://claude-proxy.bank.eu")

        def send(contact_id):
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            azure.chat.completions.create(model="gpt-4o-eu", messages=[{"role": "user", "content": c["Email"]}])  # expect: APX-LLM-001, APX-LLM-006
            gateway.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": c["Email"]}])  # ok: policy host
            claude.messages.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": c["Email"]}])  # expect: APX-LLM-003
    '''}, policy={"policy": {"allowed_hosts": ["llm-gateway.bank.eu"]}})
    assert_exact(tmp_path, result)
    azure = next(f for f in findings(result, "APX-LLM-001"))
    assert azure.destination.provider == "Azure OpenAI"
    unknown = findings(result, "APX-LLM-003")[0]
    assert "Anthropic SDK messages.create call" in unknown.message  # the SDK is the LLM evidence


def test_bedrock_region_and_the_model_ids_inference_profile(tmp_path):
    """Under a policy that accepts US providers processing in the EU, the model id's profile decides.
    (A region or model written in the code is a hard-coded endpoint, APX-LLM-006.)"""
    files = {"svc/notes.py": SF + '''
        import json
        import boto3

        eu = boto3.client("bedrock-runtime", region_name="eu-central-1")
        session = boto3.Session(region_name="eu-west-1")
        ie = session.client("bedrock-runtime")
        s3 = boto3.client("s3", region_name="us-east-1")

        def note():
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            body = json.dumps({"messages": [{"role": "user", "content": c["Email"]}]})
            eu.invoke_model(modelId="eu.anthropic.claude-3-haiku-20240307-v1:0", body=body)  # expect: APX-LLM-006
            eu.invoke_model(modelId="us.anthropic.claude-3-haiku-20240307-v1:0", body=body)  # expect: APX-LLM-001, APX-LLM-006
            ie.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=[{"role": "user", "content": [{"text": c["Email"]}]}])  # expect: APX-LLM-006
            s3.put_object(Bucket="b", Key="k", Body=body)  # ok: not an LLM
    '''}
    result = service(tmp_path, files, policy={"policy": {"allowed_jurisdictions": ["EU", "US"]}})
    assert_exact(tmp_path, result)
    (us,) = findings(result, "APX-LLM-001")
    assert us.destination.region == "US" and us.destination.host == "bedrock-runtime.eu-central-1.amazonaws.com"


def test_google_genai_vertex_location_and_vertexai_init(tmp_path):
    result = service(tmp_path, {"svc/g.py": SF + '''
        from google import genai
        import vertexai
        from vertexai.generative_models import GenerativeModel

        gemini = genai.Client(api_key="k")
        vertex = genai.Client(vertexai=True, project="p", location="europe-west4")
        vertexai.init(project="p", location="us-central1")

        def go():
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            gemini.models.generate_content(model="gemini-2.0-flash", contents=c["Email"])  # expect: APX-LLM-001, APX-LLM-006
            vertex.models.generate_content(model="gemini-2.0-flash", contents=c["Email"])  # expect: APX-LLM-006
            GenerativeModel("gemini-1.5-pro").generate_content(c["Email"])  # expect: APX-LLM-001, APX-LLM-006
    '''}, policy={"policy": {"allowed_jurisdictions": ["EU", "US"]}})
    assert_exact(tmp_path, result)


def test_mistral_server_cohere_and_langchain(tmp_path):
    result = service(tmp_path, {"svc/m.py": SF + '''
        from mistralai import Mistral
        import cohere
        from langchain_openai import ChatOpenAI
        from langchain_aws import ChatBedrock
        from langchain_core.prompts import ChatPromptTemplate

        eu = Mistral(api_key="k", server="eu")
        world = Mistral(api_key="k")
        co = cohere.ClientV2()
        chat = ChatOpenAI(model="gpt-4o")
        bedrock = ChatBedrock(model_id="eu.anthropic.claude-3-haiku", region_name="eu-west-3")
        prompt = ChatPromptTemplate.from_template("Summarise {text}")
        chain = prompt | chat

        def go():
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            eu.chat.complete(model="mistral-small", messages=[{"role": "user", "content": c["Email"]}])  # expect: APX-LLM-006
            world.chat.complete(model="mistral-small", messages=[{"role": "user", "content": c["Email"]}])  # expect: APX-LLM-001, APX-LLM-006
            co.chat(model="command-r", messages=[{"role": "user", "content": c["Email"]}])  # expect: APX-LLM-001
            chain.invoke({"text": c["Email"]})  # expect: APX-LLM-001
            bedrock.invoke(c["Email"])  # expect: APX-LLM-001, APX-LLM-006
    '''})
    assert_exact(tmp_path, result)


def test_litellm_model_prefixes_and_api_base(tmp_path):
    result = service(tmp_path, {"svc/l.py": SF + '''
        import litellm

        def go(model_from_config):
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            messages = [{"role": "user", "content": c["Email"]}]
            litellm.completion(model="gpt-4o", messages=messages)  # expect: APX-LLM-001, APX-LLM-006
            litellm.completion(model="anthropic/claude-3-5-sonnet", messages=messages)  # expect: APX-LLM-001, APX-LLM-006
            litellm.completion(model="mistral/mistral-large", messages=messages, api_base="https://api.eu.mistral.ai/v1")  # expect: APX-LLM-006
            litellm.completion(model=model_from_config, messages=messages)  # expect: APX-LLM-003
    '''})
    assert_exact(tmp_path, result)


def test_plain_http_to_an_llm_host_and_to_a_non_llm_host(tmp_path):
    result = service(tmp_path, {"svc/h.py": SF + '''
        import httpx

        http = httpx.Client(base_url="https://api.openai.com")

        def go():
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [c["Email"]]})  # expect: APX-LLM-001, APX-LLM-006
            httpx.post("https://hooks.slack.com/services/T0/B0", json={"text": c["Email"]})  # ok: not an LLM
    '''})
    assert_exact(tmp_path, result)


def test_heroku_managed_inference_is_judged_by_the_host_of_inference_url(tmp_path):
    code = SF + '''
        import os
        from openai import OpenAI

        inference = OpenAI(base_url=os.environ["INFERENCE_URL"] + "/v1", api_key=os.environ["INFERENCE_KEY"])

        def go():
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            inference.chat.completions.create(model=os.environ["INFERENCE_MODEL_ID"], messages=[{"role": "user", "content": c["Email"]}])  # expect: {rule}
    '''
    unknown = service(tmp_path / "a", {"svc/i.py": code.replace("{rule}", "APX-LLM-003")})
    assert_exact(tmp_path / "a", unknown)
    assert "environment variable INFERENCE_URL has no value in this repository" in unknown.findings[0].destination.how + \
        unknown.findings[0].message
    known = service(tmp_path / "b", {"svc/i.py": code.replace("{rule}", "APX-LLM-001"),
                                     "svc/.env.example": "INFERENCE_URL=https://us.inference.heroku.com\n"})
    assert_exact(tmp_path / "b", known)
    (finding,) = known.findings
    assert finding.destination.provider == "Heroku Managed Inference" and finding.confidence == "medium"


# --- configuration -----------------------------------------------------------------------------

def test_env_values_real_configuration_wins_over_the_code_default_and_examples(tmp_path):
    code = SF + '''
        import os
        from openai import OpenAI

        client = OpenAI(base_url=os.getenv("LLM_URL", "https://api.openai.com/v1"))

        def go():
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": c["Email"]}])  # expect: APX-LLM-001
    '''
    example = service(tmp_path / "a", {"svc/c.py": code, "svc/.env.example": "LLM_URL=https://api.eu.mistral.ai/v1\n"})
    assert_exact(tmp_path / "a", example)  # the default stays a candidate beside the example's value
    assert {f.destination.host for f in example.findings} == {"api.openai.com"}
    real = service(tmp_path / "b", {"svc/c.py": code.replace("  # expect: APX-LLM-001", "  # ok: .env says EU"),
                                    "svc/.env": "LLM_URL=https://api.eu.mistral.ai/v1\nOPENAI_API_KEY=sk-x\n"})
    assert_exact(tmp_path / "b", real)


def test_settings_modules_and_pydantic_settings(tmp_path):
    result = service(tmp_path, {
        "svc/app/config.py": '''
            import os
            from pydantic_settings import BaseSettings

            ANTHROPIC_URL = os.environ.get("ANTHROPIC_URL") or "https://api.anthropic.com"

            class Settings(BaseSettings):
                openai_base_url: str = "https://api.openai.com/v1"

            settings = Settings()
        ''',
        "svc/app/llm.py": SF + '''
            import anthropic
            from openai import OpenAI
            from app.config import ANTHROPIC_URL, settings

            claude = anthropic.Anthropic(base_url=ANTHROPIC_URL)
            gpt = OpenAI(base_url=settings.openai_base_url)

            def go():
                c = sf.query("SELECT Email FROM Contact")["records"][0]
                claude.messages.create(model="c", max_tokens=1, messages=[{"role": "user", "content": c["Email"]}])  # expect: APX-LLM-001
                gpt.chat.completions.create(model="m", messages=[{"role": "user", "content": c["Email"]}])  # expect: APX-LLM-001
        '''})
    assert_exact(tmp_path, result)
    claude, gpt = findings(result)
    assert "default of environment variable ANTHROPIC_URL" in claude.destination.how
    assert "default of environment variable OPENAI_BASE_URL" in gpt.destination.how


# --- constructs ------------------------------------------------------------------------------------

def test_string_building_and_literals(tmp_path):
    result = service(tmp_path, {"svc/s.py": SF + '''
        import json
        import requests

        URL = "https://api.openai.com/v1/chat/completions"

        def go():
            c = sf.query("SELECT Email, Phone, Birthdate, LeadSource FROM Contact")["records"][0]
            requests.post(URL, data="Email: %s" % c["Email"])  # expect: APX-LLM-001, APX-LLM-006
            requests.post(URL, data="Phone: {}".format(c["Phone"]))  # expect: APX-LLM-001, APX-LLM-006
            requests.post(URL, data="Born " + str(c["Birthdate"]))  # expect: APX-LLM-001, APX-LLM-006
            payload = {"messages": [{"role": "user", "content": f"{c['LeadSource']}"}]}
            requests.post(URL, json=payload)  # expect: APX-LLM-005, APX-LLM-006
            requests.post(URL, json={"n": len(c["Email"]), "known": bool(c["Phone"])})  # expect: APX-LLM-006
            requests.post(URL, data=json.dumps([x for x in [c["Email"]] if x]))  # expect: APX-LLM-001, APX-LLM-006
    '''})
    assert_exact(tmp_path, result)


def test_imports_between_modules_relative_absolute_and_aliased(tmp_path):
    result = service(tmp_path, {
        "svc/app/__init__.py": "",
        "svc/app/crm.py": SF + '''
            def contact(cid):
                return sf.query_all(f"SELECT Email FROM Contact WHERE Id = '{cid}'")["records"][0]
        ''',
        "svc/app/llm.py": '''
            from openai import OpenAI

            client = OpenAI()

            def ask(prompt, model="gpt-4o"):
                return client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}])  # expect: APX-LLM-001
        ''',
        "svc/app/main.py": '''
            from . import crm
            import app.llm as llm

            def route(cid):
                return llm.ask(prompt=crm.contact(cid)["Email"])
        '''})
    assert_exact(tmp_path, result)
    steps = [s.message for s in findings(result)[0].paths[0]]
    assert any("passed to llm.ask(prompt)" in s for s in steps)


def test_classes_attributes_and_methods(tmp_path):
    result = service(tmp_path, {"svc/app/assistant.py": SF + '''
        from openai import OpenAI

        class Assistant:
            def __init__(self):
                self.client = OpenAI()
                self.history = []

            def remember(self, text):
                self.history.append(text)

            def answer(self):
                return self.client.chat.completions.create(model="m", messages=self.history)  # expect: APX-LLM-001

        def route(cid):
            assistant = Assistant()
            assistant.remember(sf.query("SELECT Email FROM Contact")["records"][0]["Email"])
            return assistant.answer()
    '''})
    assert_exact(tmp_path, result)


def test_a_helper_shared_by_a_clean_and_a_dirty_caller_does_not_mix_them(tmp_path):
    result = service(tmp_path, {"svc/app/main.py": SF + '''
        from openai import OpenAI

        gateway = OpenAI(base_url="https://llm-gateway.bank.eu/v1")
        public = OpenAI()

        def ask(client, text):
            return client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])  # ok: per caller

        def briefing(cid):
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            return ask(gateway, c["Email"])

        def faq():
            return ask(public, "What are your opening hours?")
    '''}, policy={"policy": {"allowed_hosts": ["llm-gateway.bank.eu"]}})
    assert_exact(tmp_path, result)
    assert not result.findings


def test_lambdas_comprehensions_and_nested_functions(tmp_path):
    result = service(tmp_path, {"svc/f.py": SF + '''
        from openai import OpenAI

        client = OpenAI()

        def go():
            rows = sf.query("SELECT Email, Name FROM Contact")["records"]
            fmt = lambda r: r["Email"]
            def label(r):
                return r["Name"]
            texts = [fmt(r) for r in rows] + list(map(label, rows))
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "\\n".join(texts)}])  # expect: APX-LLM-001
    '''})
    assert_exact(tmp_path, result)
    assert fields(findings(result)[0]) == ["Contact.Email", "Contact.Name"]


def test_code_behind_a_constant_false_guard_is_not_analysed(tmp_path):
    result = service(tmp_path, {"svc/g.py": SF + '''
        from typing import TYPE_CHECKING
        from openai import OpenAI

        DEBUG = False
        client = OpenAI()

        if TYPE_CHECKING:
            from openai.types import ChatCompletion

        def go():
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            if False:
                client.chat.completions.create(model="m", messages=[c["Email"]])  # ok: if False
            if DEBUG:
                client.chat.completions.create(model="m", messages=[c["Email"]])  # ok: DEBUG is False
            elif c:
                client.chat.completions.create(model="m", messages=[c["Email"]])  # expect: APX-LLM-001
    '''})
    assert_exact(tmp_path, result)


def test_suppression_comments_with_hash(tmp_path):
    from apexscan.pipeline.suppress import apply_in_project
    from apexscan.salesforce.rules import load_catalog

    result = service(tmp_path, {"svc/s.py": SF + '''
        from openai import OpenAI

        client = OpenAI()

        def go():
            c = sf.query("SELECT Email FROM Contact")["records"][0]
            # apexscan:ignore APX-LLM-001 DPA signed with OpenAI Ireland, EU data residency project
            client.chat.completions.create(model="m", messages=[c["Email"]])
    '''})
    (finding,) = apply_in_project(discover([tmp_path]), result.findings, load_catalog())
    assert finding.suppression.startswith("DPA signed")


def test_module_level_loops_and_pandas_renames(tmp_path):
    """A Streamlit-style script: module code, a DataFrame whose columns are renamed, a loop."""
    result = service(tmp_path, {"app.py": SF + '''
        import pandas as pd
        from openai import OpenAI

        client = OpenAI()
        records = sf.query("SELECT Id, Account.Name, Notes__c FROM Visit__c")["records"]
        df = pd.json_normalize(records)
        df.rename(columns={"Notes__c": "Note"}, inplace=True)
        for note in df["Note"]:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"Summarise {note}"}])  # expect: APX-LLM-001
    '''})
    assert_exact(tmp_path, result)
    assert fields(findings(result)[0]) == ["Visit__c.Notes__c"]
    assert any("renamed in df" in step.message for step in findings(result)[0].paths[0])


def test_applink_data_api_passed_as_a_parameter_and_a_model_in_a_field(tmp_path):
    result = service(tmp_path, {"app/routers/accounts.py": '''
        from langchain_openai import ChatOpenAI


        async def _accounts(data_api):
            result = await data_api.query("SELECT Id, Name, Phone FROM Account")
            return result.records


        class Assistant:
            def __init__(self, llm):
                self.llm = llm

            def answer(self, text):
                return self.llm.invoke(text)  # expect: APX-LLM-001


        async def route(context):
            records = await _accounts(context.org.data_api)
            return Assistant(ChatOpenAI(model="gpt-4o")).answer(records[0].fields["Phone"])
    '''})
    assert_exact(tmp_path, result)


@pytest.mark.parametrize("source", [
    "x = " + " + ".join(f"'{i}'" for i in range(3000)) + "\n",  # a long concatenation (SQL, prompts)
    "x = q" + ".a()" * 3000 + "\n",  # a builder chain
    "class A:\n    def m(self):\n        return self" + ".x" * 5000 + "\n",  # an attribute chain
    "x = " + " or ".join(f"os.getenv('K{i}')" for i in range(3000)) + "\n",
])
def test_deep_and_long_expressions_are_analysed(source):
    assert lower_python("deep.py", source.encode()).diagnostics == ()


def test_odd_files_are_diagnostics_not_crashes():
    assert [d.stage for d in lower_python("bin.py", b"\x00\x01\x02" * 100).diagnostics] == ["parse"]
    latin = lower_python("latin.py", "x = 'caf\xe9'\n".encode("latin-1"))
    assert [d.stage for d in latin.diagnostics] == ["read"]
