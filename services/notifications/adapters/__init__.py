"""Senders that talk to the outside world; each returns a ``SendOutcome``."""
