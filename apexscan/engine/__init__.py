"""The generic engine: the facts frontends emit, linking them into one graph, and the taint search.

Nothing here knows a language, a Salesforce API or a policy; the engine imports neither
`apexscan.frontends` nor `apexscan.salesforce` (an import-linter contract in pyproject.toml).
"""
