"""HTTP routes of the copilot (FastAPI)."""
import json
import os

import httpx
from fastapi import FastAPI

from . import crm
from .llm import Summariser, complete, gateway, openai_client
from .masking import redact_pii
from .prompts import briefing_prompt, campaign_prompt, case_digest

app = FastAPI()
summariser = Summariser(model="gpt-4o-mini")
DEBUG_DUMPS = False


@app.get("/briefing/{contact_id}")
def briefing(contact_id: str) -> dict:
    profile = crm.client_profile(contact_id)
    return {"briefing": complete(gateway, briefing_prompt(profile))}


@app.get("/campaign-subjects")
def campaign_subjects() -> dict:
    return {"subjects": complete(openai_client, campaign_prompt(crm.campaign_names()))}


@app.get("/cases/{contact_id}")
def cases(contact_id: str) -> dict:
    return {"summary": summariser.summarise(case_digest(crm.open_cases(contact_id)))}


@app.post("/notes/{contact_id}")
def notes(contact_id: str) -> dict:
    record = crm.full_contact(contact_id)
    payload = {"model": "mistral-large-latest",
               "messages": [{"role": "user", "content": "Draft meeting notes for " + json.dumps(record)}]}
    reply = httpx.post(os.getenv("NOTES_LLM_URL", "https://api.mistral.ai/v1/chat/completions"), json=payload)  # expect: APX-LLM-001, APX-LLM-002
    return reply.json()


@app.post("/notes-masked/{contact_id}")
def notes_masked(contact_id: str) -> dict:
    profile = crm.client_profile(contact_id)
    text = redact_pii(f"{profile['FirstName']} {profile['Email']}")
    reply = httpx.post("https://api.eu.mistral.ai/v1/chat/completions",  # expect: APX-LLM-006
                       json={"model": "mistral-small-latest", "messages": [{"role": "user", "content": text}]})
    return reply.json()


if DEBUG_DUMPS:
    profile = crm.client_profile("003000000000001")
    openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": str(profile)}])  # ok: behind a constant-false switch
