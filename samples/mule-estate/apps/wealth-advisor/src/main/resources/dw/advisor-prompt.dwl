%dw 2.0
output application/json
// The advisor brief: the client's name, revenue band and the advisor's own notes.
var client = vars.client[0]
---
{
    model: "claude-sonnet-4-5",
    max_tokens: 800,
    messages: [{
        role: "user",
        content: "Prepare a review brief for " ++ client.Name ++ " (annual revenue " ++ (client.AnnualRevenue as String) ++ "). Notes: " ++ (client.Description default "")
    }]
}
