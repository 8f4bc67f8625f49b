"""What the matching service talks to: its database."""
