"""Write a generated estate: COPIES variants of samples/fintech-org, each a repository of its own.

    python benchmarks/gen_estate.py OUT [COPIES]      # default 10: ten times the sample
    apexscan inventory OUT/* -o estate.html --timestamp 2025-03-31T12:00:00Z

Each copy is the sample with its own names where an estate would differ: the org's folder, its
custom objects and platform event, its partners' and the bank's own hosts, and, for some copies,
another LLM provider in place of OpenAI. `variant` is the substitution alone, so that a test can
apply it to an inventory document as well as to the files (tests/test_inventory.py). Output is
not committed; the generator is deterministic.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "fintech-org"
PROVIDERS = ("api.openai.com", "api.mistral.ai", "api.anthropic.com", "generativelanguage.googleapis.com")


def variant(text: str, k: int) -> str:
    """The sample's text as copy k (0: the sample itself) of the estate names it."""
    if k == 0:
        return text
    out = text
    for old, new in (("fintech-org", f"fintech-org-{k:02d}"),
                     ("Portfolio__c", f"Portfolio{k:02d}__c"), ("Consent_Change__e", f"Consent_Change{k:02d}__e"),
                     ("Client_Meeting_Brief", f"Client_Meeting_Brief_{k:02d}"),
                     ("eventdesk-partner.com", f"eventdesk-partner-{k:02d}.com"),
                     ("branches.northbank.eu", f"branches-{k:02d}.northbank.eu"),
                     ("research-copilot.example", f"research-copilot-{k:02d}.example"),
                     ("llm-gateway.northbank.eu", f"llm-gateway-{k:02d}.northbank.eu"),
                     ("/srv/exports/", f"/srv/exports/unit{k:02d}/")):
        out = out.replace(old, new)
    if k % 3 == 1:  # a third of the copies send to another provider
        out = out.replace("api.openai.com", PROVIDERS[1 + (k // 3) % (len(PROVIDERS) - 1)])
    return out


def generate(target: Path, copies: int = 10) -> list[Path]:
    """COPIES repositories under `target` (fintech-org, fintech-org-01, ...); their paths."""
    out = []
    for k in range(copies):
        root = target / variant("fintech-org", k)
        for path in sorted(SAMPLE.rglob("*")):
            rel = variant(path.relative_to(SAMPLE).as_posix(), k)
            if path.is_dir():
                continue
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                dest.write_text(variant(path.read_text("utf-8"), k), "utf-8")
            except UnicodeDecodeError:
                shutil.copyfile(path, dest)
        out.append(root)
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    for made in generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else 10):
        print(made)
