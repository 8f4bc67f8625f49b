"""The notifications domain: plain Python, no nameko, no database, no I/O."""
