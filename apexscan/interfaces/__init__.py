"""How users reach apexscan: the command line, the language server and the report formats."""
