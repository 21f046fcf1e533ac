import { describe, expect, it } from "vitest";
import { openDeals } from "./salesforce.js";
import { DigestWriter } from "./summarise.js";

describe("digest", () => {
  it("summarises deals", async () => {
    const deals = await openDeals("005000000000001");
    expect(await new DigestWriter("claude-3-haiku").digest(JSON.stringify(deals))).toBeTruthy(); // ok: a test
  });
});
