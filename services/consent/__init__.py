"""Consent service: Part 2 consents, the single authorization decision point, and the audit ledger."""
