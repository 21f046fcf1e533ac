"""apexscan: keeps regulated Salesforce data inside its jurisdiction when an org talks to LLMs."""

__version__ = "0.1.0"
