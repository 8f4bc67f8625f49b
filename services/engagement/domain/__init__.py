"""Pure Python: engagements, contact log entries, check-in words, schedules and silence rules."""
