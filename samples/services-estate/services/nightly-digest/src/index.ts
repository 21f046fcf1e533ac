import { openDeals, stageNames } from "./salesforce.js";
import { DigestWriter, translate } from "./summarise.js";

const VERBOSE = false;

async function main(ownerId: string): Promise<void> {
  const deals = await openDeals(ownerId);
  const writer = new DigestWriter("claude-3-5-sonnet-latest");
  const lines = deals.map((d) => `${d.Name} (${d.StageName}): ${d.Amount} — ${d.Description}`);
  const digest = await writer.digest(`Summarise tonight's pipeline:\n${lines.join("\n")}`);
  const german = await translate(digest + JSON.stringify(deals));
  console.log(german);
  if (VERBOSE) {
    console.log(JSON.stringify(await stageNames()));
  }
}

main(process.argv[2] ?? "").catch((err) => {
  console.error(err);
  process.exit(1);
});
