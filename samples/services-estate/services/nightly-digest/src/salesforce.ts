import jsforce from "jsforce";

export const conn = new jsforce.Connection({ loginUrl: process.env.SF_LOGIN_URL ?? "https://login.salesforce.com" });

export interface Deal {
  Id: string;
  Name: string;
  Amount: number;
  Description: string;
  StageName: string;
}

export async function openDeals(ownerId: string): Promise<Deal[]> {
  const result = await conn.query<Deal>(
    `SELECT Id, Name, Amount, Description, StageName FROM Opportunity WHERE OwnerId = '${ownerId}' AND IsClosed = false`,
  );
  return result.records;
}

export async function stageNames(): Promise<string[]> {
  const stages = await conn.sobject("OpportunityStage").find({ IsActive: true }, ["MasterLabel"]);
  return stages.map((s: { MasterLabel: string }) => s.MasterLabel);
}
