"""One function per command, query, event and timer of the engagement service."""
