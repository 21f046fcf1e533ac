import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

const anthropic = new Anthropic();
// The bank's EU deployment of Mistral, through its OpenAI-compatible API.
const mistral = new OpenAI({ baseURL: process.env.MISTRAL_BASE_URL ?? "https://api.eu.mistral.ai/v1" });

export class DigestWriter {
  constructor(private readonly model: string) {}

  async digest(text: string): Promise<string> {
    const message = await anthropic.messages.create({  // expect: APX-LLM-001
      model: this.model,
      max_tokens: 800,
      messages: [{ role: "user", content: text }],
    });
    return message.content.map((block) => ("text" in block ? block.text : "")).join("");
  }
}

export async function translate(text: string): Promise<string> {
  const reply = await mistral.chat.completions.create({  // ok: Mistral's EU endpoint (seat FR, region EU)
    model: "mistral-small-latest",
    messages: [{ role: "user", content: `Translate to German: ${text}` }],
  });
  return reply.choices[0].message.content ?? "";
}
