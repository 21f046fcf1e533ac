"""Classifying endpoints: registry facts (provider, seat, region) and the policy's verdict."""
from __future__ import annotations

import dataclasses

import pytest

from apexscan.engine.model import Verdict
from apexscan.salesforce.hosts import (
    RegistryError,
    classify_model,
    classify_url,
    load_registry,
    looks_like_llm_path,
    parse_registry,
    shared_llm_path,
)
from apexscan.salesforce.policy import Policy

DEFAULT = Policy()
US_PROVIDERS_EU_REGIONS = Policy(allowed_jurisdictions=("EU", "EEA", "US"))
GATEWAY = Policy(allowed_hosts=("llm-gateway.bank.eu",))

BEDROCK_FRANKFURT = "https://bedrock-runtime.eu-central-1.amazonaws.com"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def classify(url, registry, policy=DEFAULT):
    return classify_url(url, policy, registry)


# --- the cases the policy exists for ----------------------------------------------------------


def test_openai_public_api_is_foreign_under_default_policy(registry):
    d = classify("https://api.openai.com/v1/chat/completions", registry)
    assert (d.verdict, d.provider, d.jurisdiction, d.region, d.host) == (
        Verdict.FOREIGN, "OpenAI", "US", "global", "api.openai.com")
    assert d.url == "https://api.openai.com/v1/chat/completions"
    assert (d.how, d.evidence) == ("", ())
    assert "provider seat US is not an allowed jurisdiction" in d.note
    assert "global endpoint" in d.note


def test_openai_global_endpoint_stays_foreign_even_when_us_providers_are_allowed(registry):
    d = classify("https://api.openai.com/v1/responses", registry, US_PROVIDERS_EU_REGIONS)
    assert d.verdict is Verdict.FOREIGN
    assert "processing region global is not an allowed region" in d.note


def test_openai_eu_residency_endpoint_is_sovereign_only_when_us_providers_are_allowed(registry):
    url = "https://eu.api.openai.com/v1/chat/completions"
    assert classify(url, registry).verdict is Verdict.FOREIGN
    d = classify(url, registry, US_PROVIDERS_EU_REGIONS)
    assert (d.verdict, d.region) == (Verdict.SOVEREIGN, "EU")


@pytest.mark.parametrize(("prefix", "region"), [("us", "US"), ("jp", "APAC"), ("au", "APAC"), ("in", "APAC")])
def test_openai_residency_prefix_gives_the_region(registry, prefix, region):
    assert classify(f"https://{prefix}.api.openai.com/v1/embeddings", registry).region == region


def test_mistral_eu_endpoint_is_sovereign(registry):
    d = classify("https://api.eu.mistral.ai/v1/chat/completions", registry)
    assert (d.verdict, d.provider, d.jurisdiction, d.region) == (Verdict.SOVEREIGN, "Mistral AI", "FR", "EU")


def test_mistral_global_endpoint_is_foreign_although_the_provider_is_french(registry):
    d = classify("https://api.mistral.ai/v1/chat/completions", registry)
    assert (d.verdict, d.jurisdiction, d.region) == (Verdict.FOREIGN, "FR", "global")
    assert "api.eu.mistral.ai" in d.note


VERTEX_EU = ("https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/"
             "publishers/google/models/gemini-1.5-pro:generateContent")


def test_vertex_eu_region_is_foreign_under_default_policy_because_google_is_us(registry):
    d = classify(VERTEX_EU, registry)
    assert (d.verdict, d.provider, d.jurisdiction, d.region) == (Verdict.FOREIGN, "Google Vertex AI", "US", "EU")
    assert "provider seat US" in d.note


def test_vertex_eu_region_is_sovereign_when_policy_allows_us_providers_in_eu_regions(registry):
    assert classify(VERTEX_EU, registry, US_PROVIDERS_EU_REGIONS).verdict is Verdict.SOVEREIGN


def test_vertex_us_region_is_foreign_even_when_us_providers_are_allowed(registry):
    url = ("https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/"
           "publishers/google/models/gemini-1.5-pro:generateContent")
    d = classify(url, registry, US_PROVIDERS_EU_REGIONS)
    assert (d.verdict, d.region) == (Verdict.FOREIGN, "US")


@pytest.mark.parametrize(
    ("host", "region", "verdict"),
    [
        ("aiplatform.eu.rep.googleapis.com", "EU", Verdict.SOVEREIGN),
        ("aiplatform.us.rep.googleapis.com", "US", Verdict.FOREIGN),
        ("aiplatform.googleapis.com", "global", Verdict.FOREIGN),
        ("europe-west2-aiplatform.googleapis.com", "GB", Verdict.FOREIGN),  # London is not in the EU
        ("generativelanguage.googleapis.com", "global", Verdict.FOREIGN),
    ],
)
def test_google_hosts_and_their_regions(registry, host, region, verdict):
    d = classify(f"https://{host}/v1/projects/p/locations/x/publishers/google/models/m:generateContent",
                 registry, US_PROVIDERS_EU_REGIONS)
    assert (d.region, d.verdict) == (region, verdict)


# --- Bedrock: the model id in the path decides --------------------------------------------------


def test_bedrock_eu_inference_profile_processes_in_the_eu(registry):
    d = classify(f"{BEDROCK_FRANKFURT}/model/eu.{CLAUDE}/invoke", registry, US_PROVIDERS_EU_REGIONS)
    assert (d.verdict, d.provider, d.region) == (Verdict.SOVEREIGN, "Amazon Bedrock", "EU")


def test_bedrock_us_inference_profile_leaves_the_eu_even_from_frankfurt(registry):
    d = classify(f"{BEDROCK_FRANKFURT}/model/us.{CLAUDE}/invoke", registry, US_PROVIDERS_EU_REGIONS)
    assert (d.verdict, d.region) == (Verdict.FOREIGN, "US")


def test_bedrock_global_inference_profile_is_foreign(registry):
    d = classify(f"{BEDROCK_FRANKFURT}/model/global.{CLAUDE}/converse", registry, US_PROVIDERS_EU_REGIONS)
    assert (d.verdict, d.region) == (Verdict.FOREIGN, "global")


def test_bedrock_base_model_runs_in_the_host_region(registry):
    encoded = CLAUDE.replace(":", "%3A")  # the AWS SDK percent-encodes the colon
    d = classify(f"{BEDROCK_FRANKFURT}/model/{encoded}/invoke", registry, US_PROVIDERS_EU_REGIONS)
    assert (d.verdict, d.region) == (Verdict.SOVEREIGN, "EU")
    d = classify(f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{CLAUDE}/invoke", registry,
                 US_PROVIDERS_EU_REGIONS)
    assert (d.verdict, d.region) == (Verdict.FOREIGN, "US")


def test_bedrock_without_model_path_cannot_be_decided_when_us_providers_are_allowed(registry):
    d = classify(BEDROCK_FRANKFURT, registry, US_PROVIDERS_EU_REGIONS)
    assert (d.verdict, d.region) == (Verdict.UNKNOWN, "")
    assert "model id" in d.note


def test_bedrock_without_model_path_is_foreign_under_default_policy_and_says_why(registry):
    d = classify(BEDROCK_FRANKFURT, registry)
    assert (d.verdict, d.region) == (Verdict.FOREIGN, "")
    assert "provider seat US is not an allowed jurisdiction" in d.note
    assert "processing region cannot be decided" in d.note


# --- hosts whose region is unknown ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "provider"),
    [
        ("https://contoso-eu.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01",
         "Azure OpenAI"),
        ("https://contoso.services.ai.azure.com/models/chat/completions", "Azure OpenAI"),
        ("https://router.huggingface.co/v1/chat/completions", "Hugging Face"),
        ("https://openrouter.ai/api/v1/chat/completions", "OpenRouter"),
        ("https://api.groq.com/openai/v1/chat/completions", "Groq"),
    ],
)
def test_us_hosts_with_undecidable_region_are_unknown_if_us_is_allowed_else_foreign(registry, url, provider):
    allowed = classify(url, registry, US_PROVIDERS_EU_REGIONS)
    assert (allowed.verdict, allowed.provider, allowed.region) == (Verdict.UNKNOWN, provider, "")
    assert classify(url, registry).verdict is Verdict.FOREIGN


@pytest.mark.parametrize(
    ("url", "provider", "jurisdiction", "region"),
    [
        ("https://api.anthropic.com/v1/messages", "Anthropic", "US", "global"),
        ("https://api.cohere.com/v2/chat", "Cohere", "CA", ""),
        ("https://api.deepseek.com/chat/completions", "DeepSeek", "CN", ""),
        ("https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions", "Alibaba Cloud Model Studio (DashScope)",
         "CN", "CN"),
        ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions",
         "Alibaba Cloud Model Studio (DashScope)", "CN", "APAC"),
        ("https://api.moonshot.cn/v1/chat/completions", "Moonshot AI (Kimi)", "CN", "CN"),
        ("https://open.bigmodel.cn/api/paas/v4/chat/completions", "Zhipu AI (BigModel)", "CN", "CN"),
        ("https://api.z.ai/api/paas/v4/chat/completions", "Z.ai (Zhipu)", "CN", ""),
        ("https://api.x.ai/v1/chat/completions", "xAI", "US", "global"),
        ("https://eu-west-1.api.x.ai/v1/chat/completions", "xAI", "US", "EU"),
        ("https://eu-de.ml.cloud.ibm.com/ml/v1/text/generation?version=2024-05-01", "IBM watsonx.ai", "US", "EU"),
        ("https://eu-gb.ml.cloud.ibm.com/ml/v1/text/generation", "IBM watsonx.ai", "US", "GB"),
        ("https://abc123.eu-west-1.aws.endpoints.huggingface.cloud/v1/chat/completions",
         "Hugging Face Inference Endpoints", "US", "EU"),
        ("https://api.perplexity.ai/chat/completions", "Perplexity", "US", ""),
    ],
)
def test_registry_knows_provider_seat_and_region(registry, url, provider, jurisdiction, region):
    d = classify(url, registry)
    assert (d.provider, d.jurisdiction, d.region, d.verdict) == (provider, jurisdiction, region, Verdict.FOREIGN)


def test_aleph_alpha_is_german_and_processes_in_the_eu(registry):
    d = classify("https://api.aleph-alpha.com/complete", registry)
    assert (d.verdict, d.jurisdiction, d.region) == (Verdict.SOVEREIGN, "DE", "EU")


# --- country and region groups -------------------------------------------------------------------


def test_a_single_country_allows_only_that_country(registry):
    germany_only = Policy(allowed_jurisdictions=("DE",))
    assert classify("https://api.aleph-alpha.com/complete", registry, germany_only).verdict is Verdict.SOVEREIGN
    assert classify("https://api.eu.mistral.ai/v1/chat/completions", registry, germany_only).verdict is Verdict.FOREIGN


def test_eea_alone_accepts_eu_countries_and_eu_regions(registry):
    eea = Policy(allowed_jurisdictions=("EEA",), allowed_regions=("EEA",))
    assert classify("https://api.eu.mistral.ai/v1/chat/completions", registry, eea).verdict is Verdict.SOVEREIGN


def test_efta_and_uk_regions_need_to_be_allowed_explicitly(registry):
    zurich = "https://europe-west6-aiplatform.googleapis.com/v1/x:generateContent"
    london = f"https://bedrock-runtime.eu-west-2.amazonaws.com/model/{CLAUDE}/invoke"
    assert classify(zurich, registry, US_PROVIDERS_EU_REGIONS).region == "CH"
    assert classify(zurich, registry, US_PROVIDERS_EU_REGIONS).verdict is Verdict.FOREIGN
    wider = Policy(allowed_jurisdictions=("EU", "US"), allowed_regions=("EU", "EFTA", "UK"))
    assert classify(zurich, registry, wider).verdict is Verdict.SOVEREIGN
    assert classify(london, registry, wider).verdict is Verdict.SOVEREIGN


@pytest.mark.parametrize(
    ("code", "region"),
    [
        ("europe-west4", "EU"), ("europe-west2", "GB"), ("europe-west6", "CH"), ("eu-central-1", "EU"),
        ("eu-west-2", "GB"), ("eu-central-2", "CH"), ("eu-de", "EU"), ("eu-gb", "GB"), ("us-east-1", "US"),
        ("us-central1", "US"), ("northamerica-northeast1", "CA"), ("asia-northeast1", "APAC"),
        ("ap-southeast-1", "APAC"), ("me-central-1", "ME"), ("westeurope", "EU"), ("swedencentral", "EU"),
        ("uksouth", "GB"), ("switzerlandnorth", "CH"), ("eastus2", "US"), ("cn-hongkong", "APAC"),
        ("cn-beijing", "CN"), ("EU", "EU"), ("global", "global"), ("mars-north1", ""),
    ],
)
def test_cloud_region_codes_map_to_processing_regions(registry, code, region):
    assert registry.region_of(code) == region


# --- allowed hosts, the org itself, other hosts --------------------------------------------------


def test_bank_gateway_is_sovereign_when_allowed(registry):
    d = classify("https://llm-gateway.bank.eu/v1/chat", registry, GATEWAY)
    assert (d.verdict, d.host, d.provider) == (Verdict.SOVEREIGN, "llm-gateway.bank.eu", "")
    assert "allowed_hosts" in d.note
    assert classify("https://llm-gateway.bank.eu/v1/chat", registry).verdict is Verdict.NOT_LLM


def test_wildcard_allowed_host_covers_subdomains_only(registry):
    policy = Policy(allowed_hosts=("*.bank.eu",))
    assert classify("https://llm.eu-1.bank.eu/v1/chat/completions", registry, policy).verdict is Verdict.SOVEREIGN
    assert classify("https://bank.eu/v1/chat/completions", registry, policy).verdict is Verdict.NOT_LLM
    assert classify("https://evilbank.eu/v1/chat/completions", registry, policy).verdict is Verdict.NOT_LLM


def test_allowed_host_overrides_the_registry_but_keeps_its_facts(registry):
    policy = Policy(allowed_hosts=("contoso-eu.openai.azure.com",))
    d = classify("https://contoso-eu.openai.azure.com/openai/deployments/gpt-4o/chat/completions", registry, policy)
    assert (d.verdict, d.provider, d.jurisdiction) == (Verdict.SOVEREIGN, "Azure OpenAI", "US")


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.my.salesforce.com/services/data/v60.0/sobjects/Account",
        "https://acme--uat.sandbox.my.salesforce.com/services/apexrest/x",
        "https://acme.lightning.force.com/lightning/r/Account/001/view",
        "/services/data/v60.0/query?q=SELECT+Id+FROM+Account",
    ],
)
def test_callouts_to_the_org_itself_are_in_org(registry, url):
    assert classify(url, registry).verdict is Verdict.IN_ORG


@pytest.mark.parametrize(
    "url",
    [
        "https://maps.googleapis.com/maps/api/geocode/json?address=Paris",
        "https://execute-api.us-east-1.amazonaws.com/prod/score",
        "https://api.mixpanel.com/track",
        "http://localhost:11434/api/chat",
        "http://127.0.0.1:8000/v1/chat/completions",
    ],
)
def test_other_hosts_are_not_llm(registry, url):
    d = classify(url, registry)
    assert (d.verdict, d.provider, d.jurisdiction) == (Verdict.NOT_LLM, "", "")


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "api.openai.com/v1/chat/completions",
        "https://api.openai.com:443/v1/chat/completions",
        "https://user:secret@api.openai.com/v1/chat/completions",
        "HTTPS://API.OPENAI.COM/V1/CHAT/COMPLETIONS",
        "https://api.openai.com./v1/chat/completions",
        "  https://api.openai.com/v1/chat/completions?x=1#frag  ",
        "//api.openai.com/v1",
        "wss://api.openai.com/v1/realtime",
    ],
)
def test_url_variants_all_reach_the_same_host(registry, url):
    d = classify(url, registry)
    assert (d.host, d.provider, d.verdict) == ("api.openai.com", "OpenAI", Verdict.FOREIGN)


def test_internationalised_host_matches_its_punycode_form(registry):
    policy = Policy(allowed_hosts=("llm.bücher.eu",))
    d = classify("https://LLM.BÜCHER.EU/v1/chat/completions", registry, policy)
    assert (d.host, d.verdict) == ("llm.xn--bcher-kva.eu", Verdict.SOVEREIGN)


def test_url_without_host_but_with_llm_path_is_unknown(registry):
    d = classify("/v1/chat/completions", registry)
    assert (d.verdict, d.host) == (Verdict.UNKNOWN, "")
    assert "OpenAI-style chat API" in d.note


def test_unresolved_named_credential_is_judged_by_its_path(registry):
    assert classify("callout:OpenAI_NC/v1/chat/completions", registry).verdict is Verdict.UNKNOWN
    assert classify("callout:Mixpanel/track", registry).verdict is Verdict.NOT_LLM


@pytest.mark.parametrize("url", ["", "   ", "http://[::1", "mailto:dpo@bank.eu", "/static/logo.png"])
def test_url_without_host_and_without_llm_path_is_not_llm(registry, url):
    d = classify(url, registry)
    assert (d.verdict, d.host, d.provider) == (Verdict.NOT_LLM, "", "")


# --- Salesforce-managed models -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "provider"),
    [
        ("sfdc_ai__DefaultOpenAIGPT4OmniMini", "OpenAI via Salesforce"),
        ("sfdc_ai__DefaultBedrockAnthropicClaude3Haiku", "Anthropic on Amazon Bedrock via Salesforce"),
        ("sfdc_ai__DefaultAnthropicClaude35Sonnet", "Anthropic on Amazon Bedrock via Salesforce"),
        ("sfdc_ai__DefaultAzureOpenAIGPT4Omni", "Azure OpenAI via Salesforce"),
        ("sfdc_ai__DefaultVertexAIGemini25Flash001", "Google Vertex AI via Salesforce"),
        ("SFDC_AI__DEFAULTOPENAIGPT4OMNI", "OpenAI via Salesforce"),
        ("sfdc_ai__DefaultGPT4Omni", "Salesforce-managed model"),
        ("MyOrg_Custom_Llama", "Salesforce-managed model"),
    ],
)
def test_model_names_map_to_hosting_partners(registry, name, provider):
    d = classify_model(name, DEFAULT, registry)
    assert (d.provider, d.jurisdiction, d.region, d.verdict) == (provider, "US", "", Verdict.FOREIGN)
    assert name in d.note


def test_trusting_salesforce_ai_accepts_the_seat_but_not_an_unknown_region(registry):
    trusting = Policy(trust_salesforce_ai=True)
    d = classify_model("sfdc_ai__DefaultOpenAIGPT4OmniMini", trusting, registry)
    assert d.verdict is Verdict.UNKNOWN
    assert "Einstein Trust Layer" in d.note


def test_trusted_salesforce_model_in_an_allowed_region_is_sovereign():
    registry = parse_registry(
        '[[models]]\nname = "sfdc_ai__DefaultEU*"\nprovider = "Example EU model"\njurisdiction = "US"\n'
        'region = "EU"\nsource = "test"\n', "test")
    assert classify_model("sfdc_ai__DefaultEUModel", Policy(trust_salesforce_ai=True), registry).verdict \
        is Verdict.SOVEREIGN
    assert classify_model("sfdc_ai__DefaultEUModel", DEFAULT, registry).verdict is Verdict.FOREIGN


def test_models_rest_api_is_classified_by_the_model_in_its_path(registry):
    url = "https://api.salesforce.com/einstein/platform/v1/models/sfdc_ai__DefaultOpenAIGPT4OmniMini/generations"
    d = classify(url, registry)
    assert (d.verdict, d.provider, d.host, d.url) == (Verdict.FOREIGN, "OpenAI via Salesforce", "api.salesforce.com",
                                                       url)
    trusted = classify(url, registry, Policy(trust_salesforce_ai=True))
    assert trusted.verdict is Verdict.UNKNOWN
    other = classify("https://api.salesforce.com/einstein/platform/v1/models", registry)
    assert (other.provider, other.verdict) == ("Salesforce Models API", Verdict.FOREIGN)


# --- request shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/v1/chat/completions", "OpenAI-style chat API"),
        ("/openai/v1/chat/completions", "OpenAI-style chat API"),
        ("/v1/completions", "completions"),
        ("/v1/embeddings", "embeddings"),
        ("/v1/responses", "Responses API"),
        ("/v1/messages", "Anthropic"),
        ("/v1/complete", "Anthropic-style Text Completions"),
        ("/v1beta/models/gemini-2.0-flash-exp:generateContent", "Gemini"),
        ("/v1/projects/p/locations/eu/publishers/google/models/g:streamGenerateContent", "Gemini"),
        ("/v1beta/models/gemini-pro", "Gemini"),
        ("/openai/deployments/gpt-4o/chat/completions", "Azure OpenAI"),
        ("/api/generate", "Ollama"),
        ("/api/chat", "Ollama"),
        ("/compatible-mode/v1/chat/completions", "DashScope"),
        ("/einstein/platform/v1/models/sfdc_ai__DefaultGPT4Omni/generations", "Salesforce Models API"),
        (f"/model/eu.{CLAUDE}/invoke", "Bedrock"),
        ("https://llm.internal.example/v1/chat/completions?stream=true", "OpenAI-style chat API"),
    ],
)
def test_llm_request_paths_are_recognised(registry, path, words):
    evidence = looks_like_llm_path(path, registry)
    assert evidence.startswith("path /") and words in evidence


def test_evidence_quotes_the_path(registry):
    assert looks_like_llm_path("/v1/chat/completions", registry) == \
        "path /v1/chat/completions is an OpenAI-style chat API"


@pytest.mark.parametrize(
    ("path", "shared"),
    [("/v1/messages", True), ("/v1/complete", True), ("/api/chat", True), ("/v1/responses", True),
     ("/v1/chat/completions", False), ("/v1beta/models/gemini-pro:generateContent", False),
     ("/openai/deployments/gpt-4o/chat/completions", False), ("/v1/users/42", False)])
def test_paths_other_apis_use_too_need_a_prompt_shaped_body(registry, path, shared):
    assert shared_llm_path(path, registry) is shared


@pytest.mark.parametrize(
    "path", ["", "/services/data/v60.0/query", "/maps/api/geocode/json", "/v1/users/42", "/api/chatrooms/7",
             "/v1/messages/123/attachments"])
def test_ordinary_paths_are_not_llm_evidence(registry, path):
    assert looks_like_llm_path(path, registry) == ""


# --- the registry file -------------------------------------------------------------------------


def test_registry_is_frozen_and_every_row_cites_a_source(registry):
    with pytest.raises(dataclasses.FrozenInstanceError):
        registry.hosts = ()  # type: ignore[misc]
    rows = (*registry.hosts, *registry.models, *registry.in_org_hosts, *registry.in_org_paths,
            *registry.region_codes, *registry.llm_paths)
    assert all(row.source for row in rows)


HOST_ROW = 'provider = "P"\njurisdiction = "US"\nhost = "api.example.ai"\nregion = "EU"\nsource = "s"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[hosts]\n", "not valid TOML"),
        ("[[vendors]]\nx = 1\n", "unknown table(s) vendors"),
        (f"[[hosts]]\n{HOST_ROW}colour = 'red'\n", "[[hosts]] #1: unknown key(s) colour"),
        ('[[hosts]]\nprovider = "P"\njurisdiction = "US"\nhost = "a.ai"\nregion = "EU"\n', "missing key(s) source"),
        (f"[[hosts]]\n{HOST_ROW.replace('US', 'USA')}", "jurisdiction must be an upper-case ISO country code"),
        (f"[[hosts]]\n{HOST_ROW.replace('EU', '{region}')}", "neither host nor path captures a region"),
        (f"[[hosts]]\n{HOST_ROW}path = '(unclosed'\n", "path is not a valid regex"),
        (f"[[hosts]]\n{HOST_ROW.replace('api.example.ai', '{zone}.example.ai')}", "'*' and '{region}' only"),
        (f"[[hosts]]\n{HOST_ROW}trust_layer = 'yes'\n", "trust_layer must be a bool"),
        ('[[in_org]]\nsource = "s"\n', "give exactly one of host or path"),
        ('[[region_codes]]\ncode = "eu-*"\nregion = "unknown"\nsource = "s"\n', "region must be a region name"),
    ],
)
def test_malformed_registry_is_rejected_with_table_row_and_key(text, expected):
    with pytest.raises(RegistryError) as caught:
        parse_registry(text, "llm_hosts.toml")
    assert expected in str(caught.value) and "llm_hosts.toml" in str(caught.value)


@pytest.mark.parametrize("path, verdict", [
    ("/vision/v3.1/analyze", Verdict.NOT_LLM),
    ("/formrecognizer/documentModels/prebuilt-read:analyze", Verdict.NOT_LLM),
    ("/openai/deployments/gpt-4o/chat/completions", Verdict.FOREIGN),
    ("/models/chat/completions", Verdict.FOREIGN),
])
def test_azure_ai_services_host_is_an_llm_except_for_its_vision_speech_and_document_apis(registry, path, verdict):
    assert classify(f"https://acme-ai.cognitiveservices.azure.com{path}", registry).verdict == verdict
