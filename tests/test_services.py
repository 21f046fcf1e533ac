"""Services as part of a project: discovery, their configuration files, Heroku Connect, the SQL
reader, and a monorepo of an SFDX project with its services (one report, one inventory)."""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import OPENAI_NC, assert_exact, write_project

from apexscan.frontends.service_calls import kept_value
from apexscan.frontends.service_config import parse_app_json, parse_env_file, parse_json, parse_terraform
from apexscan.frontends.sql import select_reads
from apexscan.interfaces.cli import main
from apexscan.pipeline.inventory import build_inventory
from apexscan.pipeline.project import discover, file_kind
from apexscan.pipeline.scan import scan
from apexscan.salesforce.policy import Policy, policy_from_dict
from apexscan.salesforce.rules import load_catalog

LEAK_PY = '''
import os
from simple_salesforce import Salesforce
from openai import OpenAI

sf = Salesforce(username=os.environ["SF_USERNAME"], password=os.environ["SF_PASSWORD"], security_token="t")
client = OpenAI()


def brief(cid):
    c = sf.query_all(f"SELECT Email FROM Contact WHERE Id = '{cid}'")["records"][0]
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": c["Email"]}])  # expect: APX-LLM-001
'''


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


# --- discovery -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rel", "kind"), [
    ("services/copilot/app/main.py", "python"),
    ("services/nightly/src/job.ts", "node"),
    ("services/nightly/src/App.tsx", "node"),
    ("scripts/export.mjs", "node"),
    ("services/copilot/.env", "env-file"),
    ("services/copilot/.env.example", "env-file"),
    ("services/copilot/app.json", "app-json"),
    ("heroku/connect-export.json", "json"),
    ("infra/heroku.tf", "terraform"),
    ("force-app/main/default/lwc/card/card.js", "lwc"),
    ("services/copilot/tests/test_main.py", None),
    ("services/copilot/test_main.py", None),
    ("services/copilot/conftest.py", None),
    ("services/nightly/src/__tests__/job.js", None),
    ("services/nightly/src/job.test.ts", None),
    ("services/nightly/src/job.spec.js", None),
    ("services/nightly/dist/job.js", None),
    ("services/nightly/src/types.d.ts", None),
    ("public/vendor/jquery.min.js", None),
    ("services/nightly/vite.config.ts", None),
    ("services/nightly/package.json", None),
    ("services/nightly/tsconfig.json", None),
    ("services/copilot/.env.test", None),
    ("force-app/main/default/staticresources/chart.js", None),
])
def test_file_kinds_of_services(rel, kind):
    assert file_kind(rel) == kind


def test_installed_and_copied_code_is_not_walked(tmp_path):
    write(tmp_path, {"svc/app.py": LEAK_PY, "svc/node_modules/openai/index.js": "module.exports = {}",
                     "svc/.venv/lib/x.py": "x = 1", "svc/env/lib/site.py": "x = 1",
                     "svc/pyenv-custom/pyvenv.cfg": "home = /usr", "svc/pyenv-custom/lib/y.py": "y = 1"})
    assert [f.rel for f in discover([tmp_path]).files] == ["svc/app.py"]


def test_a_repository_of_services_only_scans(tmp_path):
    write(tmp_path, {"svc/app.py": LEAK_PY})
    r = CliRunner().invoke(main, ["scan", str(tmp_path), "--no-cache"])
    assert r.exit_code == 1, r.output
    assert "svc/app.py:11:12: error[APX-LLM-001]" in r.output
    clean = write(tmp_path / "clean", {"svc/app.py": "def f():\n    return 1\n"})
    assert CliRunner().invoke(main, ["scan", str(clean), "--no-cache"]).exit_code == 0


def test_services_beside_an_sfdx_project_are_found_outside_its_package_directories(tmp_path):
    write_project(tmp_path, {"/services/copilot/app.py": LEAK_PY, "/services/copilot/app.json": '{"name": "x"}'})
    rels = {f.rel for f in discover([tmp_path]).files}
    assert {"services/copilot/app.py", "services/copilot/app.json"} <= rels


# --- configuration files ---------------------------------------------------------------------------

def test_configuration_values_keep_only_where_data_goes():
    assert kept_value("OPENAI_BASE_URL", "https://api.openai.com/v1") == "https://api.openai.com/v1"
    assert kept_value("DATABASE_URL", "postgres://user:s3cret@db.host:5432/app?sslmode=require") == \
        "postgres://db.host:5432/app"
    assert kept_value("AWS_REGION", "eu-west-1") == "eu-west-1"
    assert kept_value("LLM_MODEL", "gpt-4o") == "gpt-4o"
    assert kept_value("OPENAI_API_KEY", "sk-live-abc") is None
    assert kept_value("WEBHOOK_SECRET_URL", "https://hooks.example/x") is None  # a secret, even if a URL
    assert kept_value("GREETING", "hello") is None


def test_env_files_real_and_example():
    real, _ = parse_env_file("svc/.env", b"OPENAI_BASE_URL='https://api.openai.com/v1'\nOPENAI_API_KEY=sk-1\n"
                                         b"export AWS_REGION=eu-west-1 # Ireland\n# LLM_URL=https://x\n")
    assert [(v.scope, v.key, v.value, v.confidence) for v in real.config_values] == [
        ("svc", "OPENAI_BASE_URL", "https://api.openai.com/v1", "high"), ("svc", "AWS_REGION", "eu-west-1", "high")]
    example, _ = parse_env_file("svc/.env.example", b"OPENAI_BASE_URL=https://api.openai.com/v1\n")
    assert [v.confidence for v in example.config_values] == ["low"]
    assert "sk-1" not in repr(real)


def test_app_json_addons_llm_credentials_and_invalid_json():
    facts, diags = parse_app_json("svc/app.json", json.dumps({
        "name": "copilot", "addons": ["heroku-postgresql", {"plan": "heroku-inference:claude-4-sonnet"}],
        "env": {"OPENAI_API_KEY": {"required": True}, "OPENAI_BASE_URL": {"value": "https://api.openai.com/v1"},
                "SECRET_KEY": {"generator": "secret"}, "SF_PASSWORD": "hunter2"}}).encode())
    assert not diags
    (app,) = facts.heroku_apps
    assert app.addons == ("heroku-postgresql", "heroku-inference:claude-4-sonnet")
    assert app.llm_credentials == ("OPENAI_API_KEY",)
    assert [(v.key, v.confidence) for v in facts.config_values] == [("OPENAI_BASE_URL", "low")]
    assert "hunter2" not in repr(facts)
    _, diags = parse_app_json("svc/app.json", b'{"name": "x" "env": {}}')
    assert [d.stage for d in diags] == ["parse"]


def test_a_heroku_connect_export_is_recognised_by_content():
    export = {"mappings": [{"object_name": "Contact", "config": {"access": "read_write", "fields": {"Email": {}}}}],
              "connection": {"app_name": "copilot", "name": "app:DATABASE_URL:hc"}}
    facts, _ = parse_json("ops/anything.json", json.dumps(export, indent=2).encode())
    (mapping,) = facts.heroku_connect
    assert (mapping.object, mapping.schema, mapping.access, mapping.fields, mapping.app_name) == \
        ("Contact", "hc", "read_write", ("Email",), "copilot")
    assert mapping.location.line == 4
    assert parse_json("ops/other.json", b'{"mappings": {"a": 1}}') == (parse_json("x.json", b"{}")[0], ())


def test_terraform_heroku_app_region_directly_or_from_its_space():
    facts, _ = parse_terraform("infra/main.tf", textwrap.dedent('''
        resource "heroku_space" "eu" {
          name   = "bank-eu"
          region = "frankfurt"
        }
        resource "heroku_app" "copilot" {
          name  = "copilot"
          space = heroku_space.eu.name
        }
        resource "heroku_app" "worker" {
          name   = "worker"
          region = var.region
        }
    ''').encode())
    assert [(a.name, a.region) for a in facts.heroku_apps] == [("copilot", "frankfurt"), ("worker", "")]


# --- Heroku Connect --------------------------------------------------------------------------------

EXPORT = {"mappings": [
    {"object_name": "Contact", "config": {"access": "read_only", "fields": {"Id": {}, "Email": {}, "LeadSource": {}}}},
    {"object_name": "Campaign", "config": {"access": "read_only", "fields": {"Id": {}, "Name": {}, "IsActive": {}}}}],
    "connection": {"app_name": "copilot", "name": "app:DATABASE_URL:salesforce"}}


def heroku(root: Path, extra: dict[str, str], policy: dict | None = None):
    write(root, {"svc/export.json": json.dumps(EXPORT, indent=2), **extra})
    result = scan(discover([root]), policy_from_dict(policy, "p") if policy else Policy(), strict=True)
    return {(f.rule_id, f.confidence) for f in result.findings}, result


def test_sensitive_sync_to_an_app_whose_region_nobody_records(tmp_path):
    rules, result = heroku(tmp_path, {"svc/app.json": '{"name": "copilot"}'})
    assert rules == {("APX-HRK-001", "medium")}
    (finding,) = result.findings
    assert "does not record" in finding.message and "Contact.Email" in finding.message


def test_sync_to_an_app_in_a_region_outside_the_policy_and_one_inside_it(tmp_path):
    us, _ = heroku(tmp_path / "us", {"infra/main.tf": 'resource "heroku_app" "c" {\n  name = "copilot"\n  region = "us"\n}\n'})
    assert us == {("APX-HRK-001", "high")}
    eu, _ = heroku(tmp_path / "eu", {"infra/main.tf": 'resource "heroku_app" "c" {\n  name = "copilot"\n  region = "eu"\n}\n'})
    assert eu == set()
    allowed, _ = heroku(tmp_path / "allowed", {"infra/main.tf": 'resource "heroku_app" "c" {\n  name = "copilot"\n  region = "us"\n}\n'},
                        policy={"policy": {"allowed_regions": ["EU", "US"]}})
    assert allowed == set()


def test_sync_beside_llm_credentials_or_an_inference_add_on(tmp_path):
    key, _ = heroku(tmp_path / "key", {"svc/app.json": '{"env": {"ANTHROPIC_API_KEY": {"required": true}}}',
                                       "svc/main.tf": 'resource "heroku_app" "c" {\n  region = "eu"\n}\n'})
    assert key == {("APX-HRK-002", "medium")}
    addon, result = heroku(tmp_path / "addon", {"svc/app.json": '{"addons": ["heroku-inference:claude-4-sonnet"]}'})
    assert addon == {("APX-HRK-001", "medium"), ("APX-HRK-002", "medium")}
    assert any("add-on heroku-inference:claude-4-sonnet" in f.message for f in result.findings)


def test_the_sql_reader():
    reads = select_reads("SELECT c.email, a.name FROM salesforce.contact c JOIN salesforce.account a "
                         "ON a.sfid = c.accountid WHERE c.sfid = \x00")
    assert [(r.schema, r.table, r.columns) for r in reads] == [
        ("salesforce", "account", ("name",)), ("salesforce", "contact", ("email",))]
    assert select_reads("SELECT \x00 FROM salesforce.contact")[0].columns == ("*",)
    assert select_reads("SELECT count(*) FROM salesforce.contact") == ()
    assert select_reads("UPDATE salesforce.contact SET email = NULL") == ()
    assert select_reads("SELECT (((((") == ()
    assert select_reads("SELECT email FROM salesforce.contact WHERE " + "x = 1 AND " * 5000 + "1 = 1") == ()


# --- one tree: an SFDX project and its services ----------------------------------------------------

APEX_LEAK = """
public with sharing class Briefing {
    public static void send(Id contactId) {
        Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];
        HttpRequest req = new HttpRequest();
        req.setEndpoint('callout:OpenAI/v1/chat/completions');
        req.setMethod('POST');
        req.setBody(JSON.serialize(new Map<String, Object>{'messages' => c.Email}));
        new Http().send(req); // expect: APX-LLM-001
    }
}
"""


def test_an_sfdx_project_and_its_services_give_one_report_and_one_inventory(tmp_path):
    write_project(tmp_path, {
        "classes/Briefing.cls": APEX_LEAK,
        "namedCredentials/OpenAI.namedCredential-meta.xml": OPENAI_NC,
        "/services/copilot/app/main.py": LEAK_PY,
        "/services/nightly/src/job.ts": '''
            import jsforce from "jsforce";
            import Anthropic from "@anthropic-ai/sdk";
            const conn = new jsforce.Connection({});
            const claude = new Anthropic();
            export async function run() {
              const { records } = await conn.query("SELECT Description FROM Opportunity");
              await claude.messages.create({ model: "c", max_tokens: 9, messages: [{ role: "user", content: records[0].Description }] }); // expect: APX-LLM-001
            }
        ''',
        "/services/copilot/export.json": json.dumps(EXPORT),
        "/services/copilot/app.json": '{"name": "copilot", "env": {"OPENAI_API_KEY": {}}}',
    })
    project = discover([tmp_path])
    result = scan(project, Policy(), strict=True, inventory=True)
    marked = [f for f in result.findings if not f.location.path.endswith(".json")]
    assert_exact(tmp_path, type(result)(result.root, tuple(marked), (), 0))
    assert {f.rule_id for f in result.findings if f.location.path.endswith("export.json")} == \
        {"APX-HRK-001", "APX-HRK-002"}
    for f in result.findings:
        assert f.paths and all(step.message for path in f.paths for step in path)
    catalog = load_catalog()
    doc = build_inventory(result.sinks, result.findings, result.metadata, Policy(),
                          {r.id: r.level for r in catalog}, project="p", generator="t")
    kinds = {c["kind"] for c in doc["channels"]}
    assert {"apex-callout", "python-request", "node-request", "named-credential", "heroku-connect"} <= kinds
    python = next(c for c in doc["channels"] if c["kind"] == "python-request")
    assert python["destinations"][0]["host"] == "api.openai.com"
    assert [e["kind"] for e in python["entry_points"]] == ["no-caller"]
    connect = next(c for c in doc["channels"] if c["kind"] == "heroku-connect" and c["name"].endswith("/Contact"))
    assert connect["details"]["access"] == "read_only" and connect["details"]["llm_credentials"] == ["OPENAI_API_KEY"]
    assert {d["field"] for d in connect["data"]["fields"]} >= {"Contact.Email"}
    cli = CliRunner().invoke(main, ["inventory", str(tmp_path), "--format", "json", "--no-cache"])
    assert cli.exit_code == 0, cli.output
    assert {c["kind"] for c in json.loads(cli.output)["channels"]} >= {"python-request", "heroku-connect"}


def test_a_route_handler_is_an_entry_point_of_the_inventory(tmp_path):
    write(tmp_path, {"svc/app.py": LEAK_PY.replace("def brief(cid):", "@app.get('/brief/{cid}')\ndef brief(cid):")
                     .replace("client = OpenAI()", "client = OpenAI()\napp = FastAPI()")})
    result = scan(discover([tmp_path]), Policy(), strict=True, inventory=True)
    doc = build_inventory(result.sinks, result.findings, result.metadata, Policy(), {}, project="p", generator="t")
    (channel,) = [c for c in doc["channels"] if c["kind"] == "python-request"]
    assert [(e["kind"], e["name"]) for e in channel["entry_points"]] == [("http-route", "app.brief")]


def test_services_facts_are_cached_and_reused(tmp_path):
    root = write(tmp_path / "p", {"svc/app.py": LEAK_PY, "svc/.env.example": "OPENAI_BASE_URL=https://x.example\n"})
    cache = tmp_path / "cache"
    first = CliRunner().invoke(main, ["scan", str(root), "--cache-dir", str(cache), "--format", "json"])
    second = CliRunner().invoke(main, ["scan", str(root), "--cache-dir", str(cache), "--format", "json"])
    assert first.output == second.output and first.exit_code == second.exit_code == 1
    assert any(os.scandir(cache))


def test_static_resource_sources_and_robot_suites_are_not_services():
    assert file_kind("StaticResourceSources/Bootstrap/js/bootstrap.js") is None
    assert file_kind("robot/Cumulus/resources/NPSP.py") is None
    assert file_kind("tasks/generate_data.py") == "python"


def test_a_huge_json_that_looks_like_a_mapping_export_is_a_diagnostic():
    data = b'{"mappings": [' + b'{"object_name": "Contact", "config": {}},' * 250_000 + b'{}]}'
    facts, diags = parse_json("dump.json", data)
    assert not facts.heroku_connect and [d.stage for d in diags] == ["parse"]
    assert parse_json("other.json", b'{"rows": [' + b"1," * 5_000_000 + b"1]}") == (parse_json("x.json", b"{}")[0], ())
