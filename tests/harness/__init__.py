"""What the end-to-end and contract suites share: a real network, its agencies, and the steps
a clinic system and a coordinator take through HTTP."""
