"""Configuration keys (Mule properties, environment variables) as parts of endpoint strings.

A frontend writes ("config", path, key, default, what); the resolver reads the values that
configuration files of the unit holding `path` give the key (ProjectMetadata.config).
"""
from __future__ import annotations

from apexscan.engine.link import Linker
from apexscan.engine.model import Location, Verdict
from apexscan.frontends.metadata import ConfigValueMeta, MetadataFacts, merge
from apexscan.salesforce import hosts
from apexscan.salesforce.endpoints import ASSUMED, CONFIGURED, HOLE, Resolver
from apexscan.salesforce.policy import Policy


def value(scope: str, key: str, text: str, origin: str, confidence: str = "high") -> ConfigValueMeta:
    return ConfigValueMeta(scope, key, text, origin, confidence, Location(f"{scope}/{origin}".lstrip("/"), 1, 1))


def resolver(*values: ConfigValueMeta) -> Resolver:
    metadata = merge([MetadataFacts(config_values=values)])
    registry = hosts.load_registry()
    return Resolver(Linker([]), metadata, classify=lambda url: hosts.classify_url(url, Policy(), registry),
                    llm_path=lambda path: hosts.looks_like_llm_path(path, registry), name_hint=lambda _: "")


def config(path: str, key: str, default=(), what: str = "environment variable") -> tuple:
    return (("config", path, key, default, what), ("lit", "/v1/chat/completions"))


def test_the_units_configured_value_is_the_endpoint():
    r = resolver(value("svc/copilot", "LLM_URL", "https://api.openai.com", ".env"))
    (v,) = r.evaluate(config("svc/copilot/app/llm.py", "LLM_URL"), "")
    assert v.text == "https://api.openai.com/v1/chat/completions"
    assert v.how == (f"{CONFIGURED}environment variable LLM_URL in .env",)
    dest = r.destination(v)
    assert dest.provider == "OpenAI" and dest.verdict == Verdict.FOREIGN


def test_the_nearest_enclosing_unit_wins_over_the_repository_root():
    r = resolver(value("", "LLM_URL", "https://api.openai.com", "app.json"),
                 value("svc/eu", "LLM_URL", "https://api.mistral.ai", ".env"))
    assert [v.text for v in r.evaluate(config("svc/eu/main.py", "LLM_URL"), "")] == \
        ["https://api.mistral.ai/v1/chat/completions"]
    assert [v.text for v in r.evaluate(config("svc/us/main.py", "LLM_URL"), "")] == \
        ["https://api.openai.com/v1/chat/completions"]


def test_every_environment_file_of_a_unit_is_a_candidate():
    r = resolver(value("mule/app", "ai.url", "https://api.openai.com", "src/main/resources/prod.yaml"),
                 value("mule/app", "ai.url", "https://eu.llm.bank.example", "src/main/resources/dev.yaml"))
    texts = {v.text for v in r.evaluate(config("mule/app/src/main/mule/flow.xml", "ai.url", what="Mule property"), "")}
    assert texts == {"https://api.openai.com/v1/chat/completions", "https://eu.llm.bank.example/v1/chat/completions"}


def test_without_real_configuration_the_default_and_example_values_are_candidates():
    r = resolver(value("svc", "LLM_URL", "https://api.anthropic.com", ".env.example", confidence="low"))
    values = r.evaluate(config("svc/job.py", "LLM_URL", default=(("lit", "https://api.openai.com"),)), "")
    by_text = {v.text: v.how for v in values}
    assert by_text["https://api.openai.com/v1/chat/completions"][0] == f"{CONFIGURED}the default of environment variable LLM_URL"
    example = by_text["https://api.anthropic.com/v1/chat/completions"][0]
    assert ASSUMED in example and ".env.example" in example  # findings from it are medium confidence


def test_real_configuration_hides_examples_and_defaults():
    r = resolver(value("svc", "LLM_URL", "https://api.mistral.ai", ".env"),
                 value("svc", "LLM_URL", "https://api.anthropic.com", ".env.example", confidence="low"))
    values = r.evaluate(config("svc/job.py", "LLM_URL", default=(("lit", "https://api.openai.com"),)), "")
    assert [v.text for v in values] == ["https://api.mistral.ai/v1/chat/completions"]


def test_a_key_nobody_configures_is_unknown_and_named():
    r = resolver()
    (v,) = r.evaluate(config("svc/job.py", "LLM_URL"), "")
    assert v.text == HOLE + "/v1/chat/completions"
    assert v.unknown == ("environment variable LLM_URL has no value in this repository",)
    dest = r.destination(v)
    assert dest.verdict == Verdict.UNKNOWN and "LLM_URL" in dest.how


def test_many_harmless_alternatives_in_front_do_not_hide_the_last_endpoint():
    """A ternary chain of sixteen placeholders before api.openai.com: past the candidates the
    resolver follows, the rest is a hole, never silently dropped (the endpoint is then unknown)."""
    dummies = [(("lit", f"https://h{i}.example.com"),) for i in range(20)]
    expr = (("choice", *dummies, (("lit", "https://api.openai.com"),)), ("lit", "/v1/chat/completions"))
    values = resolver().evaluate(expr, "")
    assert len(values) == 16 and values[-1].text == HOLE + "/v1/chat/completions"
    assert "more than 16 possible values" in values[-1].unknown[0]
