"""The stages that join frontends and knowledge: discovery, lowering (with the facts cache), the
scan itself, configuration rules, the egress inventory, suppressions, baselines, fingerprints."""
