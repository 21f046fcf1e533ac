"""Nightly risk notes: reads the Heroku Connect copy of the org and asks a model for a note."""
import json
import os

import boto3
import requests

from worker.db import connect

bedrock = boto3.client("bedrock-runtime", region_name=os.getenv("AWS_REGION", "eu-central-1"))
MODEL_ID = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
GATEWAY = "https://llm-gateway.bank.eu/v1/chat/completions"


def households(conn) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute("""
            SELECT a.sfid, a.name, a.annualrevenue, c.email, c.birthdate
            FROM salesforce.account a JOIN salesforce.contact c ON c.accountid = a.sfid
            WHERE a.isdeleted = false
        """)
        return cur.fetchall()


def risk_note(household: dict) -> str:
    prompt = f"Write a risk note for {household['name']} (assets {household['annualrevenue']}, born {household['birthdate']})."
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 400,
            "messages": [{"role": "user", "content": prompt}]}
    response = bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps(body))  # expect: APX-LLM-001
    return json.loads(response["body"].read())["content"][0]["text"]


def reviewer_note(household: dict) -> str:
    reply = requests.post(GATEWAY, json={"model": "bank-eu-large", "messages": [  # ok: the bank's EU gateway (allowed_hosts)
        {"role": "user", "content": f"Second opinion on {household['email']}"}]}, timeout=30)
    return reply.json()["choices"][0]["message"]["content"]


def main() -> None:
    conn = connect()
    for household in households(conn):
        note = risk_note(household)
        second = reviewer_note(household)
        with conn.cursor() as cur:
            cur.execute("INSERT INTO risk_notes (account_sfid, note, second) VALUES (%s, %s, %s)",
                        (household["sfid"], note, second))
    conn.commit()


if __name__ == "__main__":
    main()
