"""The engagement service: what happens between a participant and their peer group after the handoff."""
