"""Configuration of the copilot, read from the environment (Heroku config vars, or .env locally)."""
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    openai_base_url: str = "https://api.openai.com/v1"
    llm_gateway_url: str = "https://llm-gateway.bank.eu/v1"
    copilot_model: str = "gpt-4o"
    sf_domain: str = "login"


settings = Settings()
