"""The two model endpoints of the copilot and the one helper that calls them."""
from openai import OpenAI

from app.settings import settings

# Briefings that carry client data go through the bank's EU gateway; marketing copy may use OpenAI.
gateway = OpenAI(base_url=settings.llm_gateway_url)
openai_client = OpenAI(base_url=settings.openai_base_url)


def complete(client: OpenAI, prompt: str, model: str = settings.copilot_model) -> str:
    """Shared by every caller: each one chooses the endpoint it may send its data to. The briefing's
    client data goes to the gateway only; what reaches OpenAI from here is campaign names."""
    response = client.chat.completions.create(  # expect: APX-LLM-004
        model=model,
        messages=[{"role": "system", "content": "You are a private-banking assistant."},
                  {"role": "user", "content": prompt}],
    )
    return response.choices[0].message.content


class Summariser:
    """Wraps the OpenAI client for case summaries."""

    def __init__(self, model: str):
        self.model = model
        self.client = OpenAI()

    def summarise(self, text: str) -> str:
        reply = self.client.responses.create(model=self.model, input=text)  # expect: APX-LLM-001
        return reply.output_text
