"""Reads from the org through the REST API (simple_salesforce)."""
import os

from simple_salesforce import Salesforce, format_soql

sf = Salesforce(
    username=os.environ["SF_USERNAME"],
    password=os.environ["SF_PASSWORD"],
    security_token=os.environ["SF_SECURITY_TOKEN"],
    domain=os.getenv("SF_DOMAIN", "login"),
)


def client_profile(contact_id: str) -> dict:
    """The client as the briefing needs them: contact details and the household's assets."""
    soql = format_soql(
        "SELECT Id, FirstName, LastName, Email, Birthdate, Account.Name, Account.AnnualRevenue "
        "FROM Contact WHERE Id = {}", contact_id)
    records = sf.query_all(soql)["records"]
    return records[0] if records else {}


def open_cases(contact_id: str) -> list[dict]:
    result = sf.query(f"SELECT Id, Subject, Description FROM Case WHERE ContactId = '{contact_id}' AND IsClosed = false")
    return result["records"]


def full_contact(contact_id: str) -> dict:
    return sf.Contact.get(contact_id)


def campaign_names() -> list[str]:
    rows = sf.query_all("SELECT Name FROM Campaign WHERE IsActive = true")["records"]
    return [row["Name"] for row in rows]
