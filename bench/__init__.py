"""Benchmarks of the Recovery Referral Network: ``python -m bench [--smoke] [--only NAME ...]``."""
