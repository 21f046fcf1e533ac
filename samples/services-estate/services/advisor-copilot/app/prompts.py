"""Prompt building: f-strings, dicts and JSON."""
import json


def briefing_prompt(profile: dict) -> str:
    household = profile.get("Account") or {}
    facts = {
        "name": f"{profile['FirstName']} {profile['LastName']}",
        "assets": household.get("AnnualRevenue"),
    }
    return "Brief the advisor on this client:\n" + json.dumps(facts, indent=2)


def case_digest(cases: list[dict]) -> str:
    lines = [f"- {case['Subject']}: {case['Description']}" for case in cases]
    return "Summarise the open service cases:\n" + "\n".join(lines)


def campaign_prompt(names: list[str]) -> str:
    return "Suggest a subject line for these campaigns: " + ", ".join(names)
