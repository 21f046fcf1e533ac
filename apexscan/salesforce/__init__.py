"""What apexscan knows: sensitive fields, LLM hosts and their jurisdictions, the policy, API models
of Salesforce and its integration libraries, endpoint resolution and the rule catalog (data files in
`data/`)."""
