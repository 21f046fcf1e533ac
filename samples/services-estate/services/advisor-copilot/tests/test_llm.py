"""Tests call the real client with fixtures: tests are never sinks."""
from app import crm
from app.llm import complete, openai_client


def test_complete_returns_text():
    profile = crm.client_profile("003000000000001")
    assert complete(openai_client, f"Hello {profile['Email']}")  # ok: a test, never run in production
