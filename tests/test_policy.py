"""Loading apexscan.toml: defaults, normalisation, and actionable errors."""
from __future__ import annotations

import dataclasses
from importlib.resources import files
from pathlib import Path

import pytest

from apexscan.salesforce.policy import Policy, PolicyError, load_policy

FULL_POLICY = """
exclude = ["force-app/legacy/**"]

[policy]
allowed_jurisdictions = ["EU", "EEA", "us"]
allowed_regions = ["EU", "global"]
allowed_hosts = ["LLM-Gateway.Bank.EU", "*.bank.eu"]
sanitizers = ["PiiMasker.mask"]
residency_guards = ["ResidencyGuard.assertSovereign"]
trust_salesforce_ai = true

[fields]
sensitive = ["Account.Risk_Score__c"]
non_sensitive = ["Account.Segment__c"]

[networks]
trusted = ["198.51.100.0/24", "2001:DB8::/32", "192.0.2.7"]

[networks.apps]
Research_Copilot = ["203.0.113.0/24"]
[rules]
disable = ["apx-llm-006"]
"""


def write_policy(root: Path, text: str, name: str = "apexscan.toml") -> Path:
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write_policy(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path, tmp_path)
    assert str(path) in caught.value.message
    return caught.value.message


def test_project_without_policy_file_gets_eu_eea_defaults(tmp_path):
    policy = load_policy(None, tmp_path)
    assert policy == Policy()
    assert policy.allowed_jurisdictions == ("EU", "EEA")
    assert policy.allowed_regions == ("EU", "EEA")
    assert policy.allowed_hosts == ()
    assert policy.trust_salesforce_ai is False


def test_apexscan_toml_at_project_root_is_read_when_no_path_is_given(tmp_path):
    write_policy(tmp_path, '[policy]\nallowed_hosts = ["llm-gateway.bank.eu"]\n')
    assert load_policy(None, tmp_path).allowed_hosts == ("llm-gateway.bank.eu",)


def test_explicit_path_wins_over_project_file(tmp_path):
    write_policy(tmp_path, '[policy]\nallowed_hosts = ["a.bank.eu"]\n')
    other = write_policy(tmp_path, '[policy]\nallowed_hosts = ["b.bank.eu"]\n', name="strict.toml")
    assert load_policy(other, tmp_path).allowed_hosts == ("b.bank.eu",)


def test_every_key_of_the_documented_shape_is_read_and_normalised(tmp_path):
    policy = load_policy(write_policy(tmp_path, FULL_POLICY), tmp_path)
    assert policy == Policy(
        allowed_jurisdictions=("EU", "EEA", "US"),
        allowed_regions=("EU", "GLOBAL"),
        allowed_hosts=("llm-gateway.bank.eu", "*.bank.eu"),
        sanitizers=("piimasker.mask",),
        residency_guards=("residencyguard.assertsovereign",),
        sensitive_fields=("account.risk_score__c",),
        non_sensitive_fields=("account.segment__c",),
        trust_salesforce_ai=True,
        trusted_networks=("198.51.100.0/24", "2001:db8::/32", "192.0.2.7/32"),
        app_networks=(("research_copilot", ("203.0.113.0/24",)),),
        exclude=("force-app/legacy/**",),
        disabled_rules=("APX-LLM-006",),
    )
    assert policy.networks_for("Research_Copilot") == ("198.51.100.0/24", "2001:db8::/32", "192.0.2.7/32",
                                                       "203.0.113.0/24")
    assert policy.networks_for("Advisor_Mobile") == policy.trusted_networks
    # every Policy field has a key in the file: none is left at its default
    defaults = Policy()
    for f in dataclasses.fields(Policy):
        assert getattr(policy, f.name) != getattr(defaults, f.name), f.name


def test_policy_built_in_code_is_normalised_like_a_loaded_one():
    policy = Policy(allowed_jurisdictions=["eu"], allowed_hosts=("Bücher.Bank.EU.",),
                    sanitizers=("PiiMasker.Mask",))
    assert policy.allowed_jurisdictions == ("EU",)
    assert policy.allowed_hosts == ("xn--bcher-kva.bank.eu",)
    assert policy.sanitizers == ("piimasker.mask",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.trust_salesforce_ai = True  # type: ignore[misc]


def test_starter_template_is_accepted_and_keeps_the_defaults(tmp_path):
    template = files("apexscan.salesforce.data").joinpath("policy_template.toml").read_text(encoding="utf-8")
    assert load_policy(write_policy(tmp_path, template), tmp_path) == Policy()
    # the commented examples are valid too: use them instead of the empty lists
    lines = [line for line in template.splitlines() if not line.endswith(" = []")]
    uncommented = "\n".join(line.removeprefix("# ") if " = [" in line else line for line in lines)
    policy = load_policy(write_policy(tmp_path, uncommented), tmp_path)
    assert policy.allowed_hosts == ("llm-gateway.bank.eu",)
    assert policy.sanitizers == ("piimasker.mask",)


def test_missing_explicit_policy_file_is_an_error(tmp_path):
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.toml", tmp_path)


def test_invalid_toml_names_the_file(tmp_path):
    message = load_error(tmp_path, "[policy\nallowed_regions = ['EU']\n")
    assert "not valid TOML" in message


def test_unknown_key_is_rejected_with_a_suggestion(tmp_path):
    message = load_error(tmp_path, '[policy]\nallowed_host = ["llm-gateway.bank.eu"]\n')
    assert "'allowed_host'" in message and "did you mean 'allowed_hosts'" in message


def test_unknown_table_and_unknown_field_key_are_rejected(tmp_path):
    assert "unknown top-level table 'polcy'" in load_error(tmp_path, "[polcy]\n")
    assert "unknown key in [fields] 'sensitive_fields'" in load_error(
        tmp_path, '[fields]\nsensitive_fields = ["Account.Name"]\n')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[policy]\nallowed_hosts = "llm-gateway.bank.eu"\n', "allowed_hosts: expected a list of host names"),
        ('[policy]\ntrust_salesforce_ai = "yes"\n', "trust_salesforce_ai: expected true or false, got a string"),
        ("[policy]\nallowed_regions = [1]\n", "allowed_regions[0]: expected a string, got an integer"),
        ('policy = "strict"\n', "[policy] must be a table"),
        ('[fields]\nsensitive = "Account.Name"\n', "[fields] sensitive: expected a list of Object.Field names"),
    ],
)
def test_wrong_types_say_which_key_and_what_was_expected(tmp_path, text, expected):
    assert expected in load_error(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[policy]\nallowed_hosts = ["https://llm-gateway.bank.eu/v1"]\n', "no scheme, port or path"),
        ('[policy]\nallowed_hosts = ["llm-gateway.bank.eu:443"]\n', "allowed_hosts[0]"),
        ('[policy]\nsanitizers = ["mask"]\n', "Class.method"),
        ('[fields]\nsensitive = ["Risk_Score__c"]\n', "Object.Field"),
        ('[policy]\nallowed_jurisdictions = ["E U"]\n', "ISO country codes"),
    ],
)
def test_malformed_values_are_rejected(tmp_path, text, expected):
    assert expected in load_error(tmp_path, text)


def test_field_listed_as_sensitive_and_non_sensitive_is_an_error(tmp_path):
    message = load_error(tmp_path, '[fields]\nsensitive = ["Account.Name"]\nnon_sensitive = ["account.name"]\n')
    assert "both sensitive and non_sensitive" in message


@pytest.mark.parametrize("text, message", [
    ('[networks]\ntrusted = ["10.0.0.1/16"]', "trusted[0]: '10.0.0.1/16' has host bits set; did you mean '10.0.0.0/16'?"),
    ('[networks]\ntrusted = ["10.0.0.0/33"]', "trusted[0]: '10.0.0.0/33' is not valid; expected a list of CIDR ranges"),
    ('[networks]\ntrusted = ["intranet"]', "trusted[0]: 'intranet' is not valid"),
    ('[networks]\ntrusted = "10.0.0.0/8"', "trusted: expected a list of CIDR ranges"),
    ('[networks]\ntrustd = []', "unknown key in [networks] 'trustd' (did you mean 'trusted'?)"),
    ('[networks.apps]\nResearch_Copilot = "203.0.113.0/24"', "[networks.apps] Research_Copilot: expected a list"),
    ('[networks.apps]\nResearch_Copilot = ["203.0.113.1/24"]', "did you mean '203.0.113.0/24'?"),
    ('[networks.apps]\n"research-copilot" = []', "'research-copilot' is not a Connected App API name"),
    ('[networks.apps]\nApp = []\napp = []', "an app is listed twice"),
    ('[networks]\napps = ["10.0.0.0/8"]', "[networks.apps]: expected a table"),
])
def test_trusted_networks_are_validated_like_the_other_keys(tmp_path, text, message):
    assert message in load_error(tmp_path, text)
