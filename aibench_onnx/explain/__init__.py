"""Where the time goes, and why: per-node profiles, sources, the fusion ledger and the attribution of effects."""
