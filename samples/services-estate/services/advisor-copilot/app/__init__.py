"""Advisor copilot: a FastAPI service on Heroku that briefs relationship managers."""
