"""The consent service's tables and the code that reads and writes them."""
