"""One frontend per language: source bytes -> the facts of `apexscan.engine.facts` (code) or
metadata facts. Shared: `parsing` (tree-sitter), `xmlsafe` (the safe XML reader), `visitor` and
`common` (the lowering helpers the tree-sitter frontends share)."""
